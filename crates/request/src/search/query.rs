//! A parsed search: what the client asked for, checked against the registry, independent of SQL.

use super::date::Range;
use crate::ResourceType;

/// Comparison prefix of a date (or `_lastUpdated`) value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Prefix {
    /// Equal: the value's period contains the resource's.
    Eq,
    /// Not equal.
    Ne,
    /// After the value's period.
    Gt,
    /// Before the value's period.
    Lt,
    /// At or after the start of the value's period.
    Ge,
    /// Before the end of the value's period.
    Le,
    /// Starts after the value's period.
    Sa,
    /// Ends before the value's period.
    Eb,
    /// Overlaps the value's period.
    Ap,
}

/// How a string parameter matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StringMatch {
    /// Case-insensitive prefix (the default).
    StartsWith,
    /// Case-sensitive, whole value (`:exact`).
    Exact,
    /// Case-insensitive substring (`:contains`).
    Contains,
}

/// The system part of a token value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SystemMatch {
    /// `code`: any system.
    Any,
    /// `|code`: no system.
    None,
    /// `system|code` or `system|`.
    Is(String),
}

/// One condition on one parameter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Predicate {
    /// `_id`.
    Id(String),
    /// `_lastUpdated` with a prefix.
    LastUpdated(Prefix, Range),
    /// Token parameters; `code: None` for `system|`; `negate` for `:not`.
    Token {
        param: &'static str,
        system: SystemMatch,
        code: Option<String>,
        negate: bool,
    },
    /// String parameters.
    String {
        param: &'static str,
        value: String,
        mode: StringMatch,
    },
    /// Date parameters.
    Date {
        param: &'static str,
        prefix: Prefix,
        range: Range,
    },
    /// Reference parameters: `Type/id` or a bare `id` (`rtype: None`).
    Reference {
        param: &'static str,
        rtype: Option<ResourceType>,
        id: String,
    },
    /// `param:identifier=system|value`: Reference.identifier, or the referenced resource's identifier.
    RefIdentifier {
        param: &'static str,
        system: SystemMatch,
        code: String,
    },
    /// Uri parameters, exact match.
    Uri { param: &'static str, value: String },
    /// `param.sub=value` or `param:Type.sub=value`: resources whose `param` points at a `target`
    /// matching `inner`.
    Chain {
        param: &'static str,
        target: ResourceType,
        inner: Box<Predicate>,
    },
    /// `_has:Source:param:inner=value` (reverse chaining): resources that some `source` resource
    /// matching `inner` references through its parameter `param`.
    Has {
        source: ResourceType,
        param: &'static str,
        inner: Box<Predicate>,
    },
    /// Never from a client: resources of patients with whom one of `organizations` has one of the
    /// care relationships `links`, the patient found through `patient_param` (`_id` for Patient).
    /// Access control adds it to searches, so that paging and totals only ever see related records.
    Related {
        patient_param: &'static str,
        organizations: Vec<String>,
        links: Vec<CareLink>,
    },
}

/// A care relationship between an organisation and a patient (docs/design.md section 3), as the
/// search index records it. Retracted sources (`entered-in-error`, an `inactive` care team) and
/// deleted ones count for nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CareLink {
    /// The patient's registered GP practice (`Patient.generalPractitioner`).
    RegisteredPractice,
    /// The organisation managing the patient's record (`Patient.managingOrganization`).
    ManagingOrganization,
    /// A member of the patient's care team (`CareTeam.participant.member`).
    CareTeam,
    /// Performs an activity of the patient's care plan (`CarePlan.activity.detail.performer`).
    PlanActivityPerformer,
    /// Sent a referral for the patient (`ServiceRequest.requester`) that was not revoked
    /// (rejected, cancelled, failed).
    ReferralRequester,
    /// Received a referral for the patient (`ServiceRequest.performer`) that was not revoked:
    /// from the moment it is addressed until it is rejected or cancelled.
    ReferralPerformer,
}

impl CareLink {
    /// Every kind.
    pub const ALL: [CareLink; 6] = [
        CareLink::RegisteredPractice,
        CareLink::ManagingOrganization,
        CareLink::CareTeam,
        CareLink::PlanActivityPerformer,
        CareLink::ReferralRequester,
        CareLink::ReferralPerformer,
    ];

    /// A code for explanations.
    pub fn code(self) -> &'static str {
        match self {
            CareLink::RegisteredPractice => "registered-practice",
            CareLink::ManagingOrganization => "managing-organization",
            CareLink::CareTeam => "care-team",
            CareLink::PlanActivityPerformer => "plan-activity-performer",
            CareLink::ReferralRequester => "referral-requester",
            CareLink::ReferralPerformer => "referral-performer",
        }
    }

    /// Where the index records it: the type holding the reference, the organisation parameter, and
    /// the statuses that retract it.
    pub fn source(self) -> (ResourceType, &'static str, &'static [&'static str]) {
        use ResourceType::*;
        match self {
            CareLink::RegisteredPractice => (Patient, "general-practitioner", &[]),
            CareLink::ManagingOrganization => (Patient, "organization", &[]),
            CareLink::CareTeam => (CareTeam, "participant", &["entered-in-error", "inactive"]),
            CareLink::PlanActivityPerformer => (CarePlan, "performer", &["entered-in-error"]),
            CareLink::ReferralRequester => (
                ServiceRequest,
                "requester",
                &["entered-in-error", "revoked"],
            ),
            CareLink::ReferralPerformer => (
                ServiceRequest,
                "performer",
                &["entered-in-error", "revoked"],
            ),
        }
    }
}

/// Alternatives (comma-separated values): any one matches.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Filter(pub Vec<Predicate>);

/// What a sort key orders by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortBy {
    /// `_lastUpdated`.
    LastUpdated,
    /// `_id`.
    Id,
    /// A date parameter (by the start of its earliest value).
    Date(&'static str),
    /// A string parameter (by its lowest normalised value).
    String(&'static str),
    /// A token parameter (by its lowest code).
    Token(&'static str),
}

/// One `_sort` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortKey {
    /// What to order by.
    pub by: SortBy,
    /// `-` prefix.
    pub descending: bool,
}

/// `_include` (source type's reference parameter) or `_revinclude` (a type that points at results).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Include {
    /// The type that holds the reference parameter.
    pub source: ResourceType,
    /// The reference parameter.
    pub param: &'static str,
    /// Restricts the target type (`_include=CarePlan:subject:Patient`).
    pub target: Option<ResourceType>,
}

/// `_summary`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Summary {
    /// The whole resource.
    #[default]
    False,
    /// Only the count.
    Count,
    /// Without `text`.
    Data,
    /// `text`, `id`, `meta` and mandatory top-level elements only.
    Text,
}

/// A whole search of one type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    /// The type searched.
    pub rtype: ResourceType,
    /// Conditions, all of which must hold.
    pub filters: Vec<Filter>,
    /// Order; empty means the store's natural (insertion) order.
    pub sort: Vec<SortKey>,
    /// Page size.
    pub count: usize,
    /// `_include`s.
    pub includes: Vec<Include>,
    /// `_revinclude`s.
    pub revincludes: Vec<Include>,
    /// `_summary`.
    pub summary: Summary,
    /// `_elements`, when given.
    pub elements: Option<Vec<String>>,
    /// The parameters used, in canonical form, for the `self` link.
    pub canonical: Vec<(String, String)>,
}

impl SearchQuery {
    /// An unfiltered search of `rtype` (used by conditional interactions and tests).
    pub fn all(rtype: ResourceType, count: usize) -> Self {
        SearchQuery {
            rtype,
            filters: Vec::new(),
            sort: Vec::new(),
            count,
            includes: Vec::new(),
            revincludes: Vec::new(),
            summary: Summary::False,
            elements: None,
            canonical: Vec::new(),
        }
    }
}
