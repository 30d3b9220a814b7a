//! What a request is, worked out once.
//!
//! Every HTTP request to the FHIR API and every entry of a batch or transaction Bundle is parsed by
//! [`parse`] (a bundle entry through [`parse_entry`]) into one [`Request`]: the [`Interaction`]
//! (kind, resource type, id, version, operation, conditional criteria, search query), its decoded
//! query parameters, whether it was a `HEAD`, and its preconditions (`If-Match`, and the
//! conditional read's `If-None-Match` / `If-Modified-Since`). Scopes, role rules,
//! consent, the audit event and execution all take that value; nothing downstream looks at the
//! raw path, URL or method again, so two shapes of the same intent cannot be told apart by one
//! part of the gateway and confused by another.
//!
//! How shapes are reduced to one value:
//! - the path is split into segments and each is percent-decoded once (`%24audit-export` is the
//!   operation `$audit-export`; `Patient%2F1` is a type named `Patient/1`, which does not exist);
//!   one trailing slash is ignored, any other empty segment matches nothing;
//! - a bundle entry's `request.url` may be relative (`Patient/1`), an absolute path under the base
//!   (`/fhir/Patient/1`) or an absolute URL under the base (`http://host/fhir/Patient/1`); a URL
//!   under any other base, or of another scheme (`urn:`), is refused ([`RequestError::OtherServer`]);
//! - `HEAD` is `GET` without a body ([`Request::head`]), in a request as in an entry;
//! - control characters (below U+0020, and U+007F) in a decoded path segment or parameter are
//!   refused: FHIR forbids them, and PostgreSQL rejects NUL;
//! - anything that is not one of the interactions below is refused: there is no pass-through.

mod error;
mod export;
mod parse;
mod precondition;
mod url;

pub use error::RequestError;
pub use export::{ExportLevel, ExportSpec, in_patient_compartment};
pub use parse::{
    Conditions, Context, decode_path, decode_query, parse, parse_criteria, parse_entry,
};
pub use precondition::{Freshness, parse_freshness, parse_if_match};

use crate::ResourceType;
use crate::search::SearchQuery;

/// A FHIR operation the gateway serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// `QuestionnaireResponse/$extract` and `QuestionnaireResponse/[id]/$extract` (HL7 SDC), `POST`.
    Extract,
    /// `$hna-outcomes`, `GET` or `POST`.
    HnaOutcomes,
    /// `$consent-explain`, `GET`.
    ConsentExplain,
    /// `$audit-verify`, `GET`.
    AuditVerify,
    /// `$audit-export`, `GET`.
    AuditExport,
    /// `$process-message` (FHIR messaging, as the NHS Booking and Referral Standard uses it),
    /// `POST` at system level.
    ProcessMessage,
    /// `[type]/$validate` and `[type]/[id]/$validate`, `POST`: would this resource be accepted?
    /// Never stores anything. Not on AuditEvent, which nobody writes.
    Validate,
    /// `Subscription/[id]/$status` (Subscriptions backport), `GET`.
    SubscriptionStatus,
    /// `Subscription/[id]/$events` (Subscriptions backport), `GET`: events a subscriber missed.
    SubscriptionEvents,
}

impl Operation {
    /// Every operation.
    pub const ALL: [Operation; 9] = [
        Operation::Extract,
        Operation::HnaOutcomes,
        Operation::ConsentExplain,
        Operation::AuditVerify,
        Operation::AuditExport,
        Operation::ProcessMessage,
        Operation::Validate,
        Operation::SubscriptionStatus,
        Operation::SubscriptionEvents,
    ];

    /// Its name in URLs, with the `$`.
    pub fn name(self) -> &'static str {
        match self {
            Operation::Extract => "$extract",
            Operation::HnaOutcomes => "$hna-outcomes",
            Operation::ConsentExplain => "$consent-explain",
            Operation::AuditVerify => "$audit-verify",
            Operation::AuditExport => "$audit-export",
            Operation::ProcessMessage => "$process-message",
            Operation::Validate => "$validate",
            Operation::SubscriptionStatus => "$status",
            Operation::SubscriptionEvents => "$events",
        }
    }

    /// The operation named `name` (with its `$`), if the gateway serves one.
    pub fn named(name: &str) -> Option<Operation> {
        Operation::ALL.into_iter().find(|o| o.name() == name)
    }

    /// Whether it may be invoked at `level` (`None`: system level; `Some(t)`: type `t`, and its
    /// instances when `instance`).
    fn invocable(self, rtype: Option<ResourceType>, instance: bool) -> bool {
        match self {
            Operation::Extract => rtype == Some(ResourceType::QuestionnaireResponse),
            Operation::Validate => rtype.is_some_and(|t| t != ResourceType::AuditEvent),
            Operation::SubscriptionStatus | Operation::SubscriptionEvents => {
                rtype == Some(ResourceType::Subscription) && instance
            }
            _ => rtype.is_none() && !instance,
        }
    }

    /// Whether it takes `method` (`GET` here also stands for `HEAD`).
    fn takes(self, method: &str) -> bool {
        match self {
            Operation::Extract | Operation::ProcessMessage | Operation::Validate => {
                method == "POST"
            }
            Operation::HnaOutcomes => matches!(method, "GET" | "POST"),
            _ => method == "GET",
        }
    }
}

/// Where an operation is invoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `[base]/$op`.
    System,
    /// `[base]/[type]/$op`.
    Type(ResourceType),
    /// `[base]/[type]/[id]/$op`.
    Instance(ResourceType, String),
}

/// The interaction a request asks for (FHIR RESTful API, plus the operations served).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Interaction {
    /// `GET metadata`.
    Capabilities,
    /// `GET .well-known/smart-configuration` under the FHIR base.
    SmartConfiguration,
    /// `GET [type]/[id]`.
    Read {
        /// The type.
        rtype: ResourceType,
        /// A valid FHIR id.
        id: String,
    },
    /// `GET [type]/[id]/_history/[vid]`.
    VRead {
        /// The type.
        rtype: ResourceType,
        /// A valid FHIR id.
        id: String,
        /// The version asked for.
        version: u64,
    },
    /// `GET [type]/[id]/_history`.
    HistoryInstance {
        /// The type.
        rtype: ResourceType,
        /// A valid FHIR id.
        id: String,
    },
    /// `GET [type]/_history`.
    HistoryType {
        /// The type.
        rtype: ResourceType,
    },
    /// `GET _history`.
    HistorySystem,
    /// `GET [type]?...` or `POST [type]/_search`.
    Search {
        /// The type.
        rtype: ResourceType,
        /// The parsed query; `None` for AuditEvent, whose search the audit log answers with its
        /// own parameters (from [`Request::params`]).
        query: Option<Box<SearchQuery>>,
    },
    /// `POST [type]`, conditional when `if_none_exist` is given.
    Create {
        /// The type.
        rtype: ResourceType,
        /// The `If-None-Exist` criteria.
        if_none_exist: Option<Box<SearchQuery>>,
    },
    /// `PUT [type]/[id]`.
    Update {
        /// The type.
        rtype: ResourceType,
        /// A valid FHIR id.
        id: String,
    },
    /// `PATCH [type]/[id]` (JSON Patch).
    Patch {
        /// The type.
        rtype: ResourceType,
        /// A valid FHIR id.
        id: String,
    },
    /// `PATCH [type]?criteria`.
    ConditionalPatch {
        /// The type.
        rtype: ResourceType,
        /// The criteria (at least one filter).
        criteria: Box<SearchQuery>,
    },
    /// `PUT [type]?criteria`.
    ConditionalUpdate {
        /// The type.
        rtype: ResourceType,
        /// The criteria (at least one filter).
        criteria: Box<SearchQuery>,
    },
    /// `DELETE [type]/[id]`.
    Delete {
        /// The type.
        rtype: ResourceType,
        /// A valid FHIR id.
        id: String,
    },
    /// `DELETE [type]?criteria`.
    ConditionalDelete {
        /// The type.
        rtype: ResourceType,
        /// The criteria (at least one filter).
        criteria: Box<SearchQuery>,
    },
    /// `POST [base]` with a batch or transaction Bundle (each entry is parsed on its own).
    Bundle,
    /// An operation.
    Operation {
        /// Which.
        operation: Operation,
        /// Where it is invoked.
        target: Target,
    },
    /// `GET [base]/$export`, `[base]/Patient/$export` or `[base]/Group/[id]/$export`: a FHIR Bulk
    /// Data kick-off (`super::export`).
    Export {
        /// Where it was invoked.
        level: ExportLevel,
        /// Its parameters.
        spec: Box<ExportSpec>,
    },
    /// `GET [base]/_export/[job]`: how an export is getting on, or its manifest.
    ExportStatus {
        /// The job.
        job: String,
    },
    /// `DELETE [base]/_export/[job]`: cancel an export, or delete its files.
    ExportCancel {
        /// The job.
        job: String,
    },
    /// `GET [base]/_export/[job]/[n]`: an export's n-th output file.
    ExportFile {
        /// The job.
        job: String,
        /// The file's number.
        file: u32,
    },
}

impl Interaction {
    /// The resource type the interaction is about, if one.
    pub fn resource_type(&self) -> Option<ResourceType> {
        use Interaction::*;
        match self {
            Read { rtype, .. }
            | VRead { rtype, .. }
            | HistoryInstance { rtype, .. }
            | HistoryType { rtype }
            | Search { rtype, .. }
            | Create { rtype, .. }
            | Update { rtype, .. }
            | Patch { rtype, .. }
            | ConditionalPatch { rtype, .. }
            | ConditionalUpdate { rtype, .. }
            | Delete { rtype, .. }
            | ConditionalDelete { rtype, .. } => Some(*rtype),
            Operation { target, .. } => match target {
                Target::System => None,
                Target::Type(t) | Target::Instance(t, _) => Some(*t),
            },
            Export { level, .. } => match level {
                ExportLevel::System => None,
                ExportLevel::Patient => Some(ResourceType::Patient),
                ExportLevel::Group(_) => Some(ResourceType::Group),
            },
            Capabilities | SmartConfiguration | HistorySystem | Bundle => None,
            ExportStatus { .. } | ExportCancel { .. } | ExportFile { .. } => None,
        }
    }

    /// The id of the one resource the interaction names, if it names one.
    pub fn id(&self) -> Option<&str> {
        use Interaction::*;
        match self {
            Read { id, .. }
            | VRead { id, .. }
            | HistoryInstance { id, .. }
            | Update { id, .. }
            | Patch { id, .. }
            | Delete { id, .. } => Some(id),
            Operation {
                target: Target::Instance(_, id),
                ..
            } => Some(id),
            Export {
                level: ExportLevel::Group(id),
                ..
            } => Some(id),
            _ => None,
        }
    }

    /// Whether it may change stored resources: the RESTful writes, bundles and
    /// `$process-message` (whose message becomes a transaction). `$extract` with `store=true`
    /// also writes; its caller decides that from its parameters.
    pub fn writes(&self) -> bool {
        use Interaction::*;
        matches!(
            self,
            Create { .. }
                | Update { .. }
                | Patch { .. }
                | ConditionalPatch { .. }
                | ConditionalUpdate { .. }
                | Delete { .. }
                | ConditionalDelete { .. }
                | Bundle
                | Operation {
                    operation: self::Operation::ProcessMessage,
                    ..
                }
        )
    }

    /// The `http://hl7.org/fhir/restful-interaction` code (the audit event's subtype).
    pub fn code(&self) -> &'static str {
        use Interaction::*;
        match self {
            Capabilities | SmartConfiguration => "capabilities",
            Read { .. } => "read",
            VRead { .. } => "vread",
            HistoryInstance { .. } => "history-instance",
            HistoryType { .. } => "history-type",
            HistorySystem => "history-system",
            Search { .. } => "search-type",
            Create { .. } => "create",
            Update { .. } | ConditionalUpdate { .. } => "update",
            Patch { .. } | ConditionalPatch { .. } => "patch",
            Delete { .. } | ConditionalDelete { .. } => "delete",
            // The body says batch or transaction; the restful-interaction code covers both here.
            Bundle => "transaction",
            Operation { .. } | Export { .. } => "operation",
            ExportStatus { .. } | ExportCancel { .. } | ExportFile { .. } => "operation",
        }
    }

    /// The audit event's action code: `C`reate, `R`ead, `U`pdate, `D`elete or `E`xecute (searches
    /// and operations, as IHE BALP records them).
    pub fn action(&self) -> &'static str {
        use Interaction::*;
        match self {
            Create { .. } => "C",
            Update { .. } | ConditionalUpdate { .. } | Patch { .. } | ConditionalPatch { .. } => {
                "U"
            }
            Delete { .. } | ConditionalDelete { .. } => "D",
            Search { .. } | Bundle | Operation { .. } | Export { .. } => "E",
            ExportCancel { .. } => "D",
            _ => "R",
        }
    }
}

/// One parsed request (or bundle entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// What it asks for.
    pub interaction: Interaction,
    /// Its query parameters, percent-decoded, in order (for `POST _search`, the URL's and then
    /// the form body's).
    pub params: Vec<(String, String)>,
    /// A `HEAD`: answered as the `GET` would be, without the body.
    pub head: bool,
    /// `If-Match` (`ifMatch` in an entry): the version an update, patch or delete must replace.
    pub if_match: Option<u64>,
    /// `If-None-Match` / `If-Modified-Since` of a read or vread: 304 when unchanged.
    pub fresh: Option<Freshness>,
}

impl Request {
    /// What the request is about, for its audit event and for people: `Type/id` for an
    /// instance, `Type` for a type, the operation's name for a system operation.
    pub fn target(&self) -> Option<String> {
        let i = &self.interaction;
        match (i.resource_type(), i.id()) {
            (Some(t), Some(id)) => Some(format!("{t}/{id}")),
            (Some(t), None) => Some(t.to_string()),
            (None, _) => match i {
                Interaction::Operation { operation, .. } => Some(operation.name().to_owned()),
                Interaction::Export { .. } => Some("$export".to_owned()),
                Interaction::ExportStatus { job }
                | Interaction::ExportCancel { job }
                | Interaction::ExportFile { job, .. } => Some(format!("_export/{job}")),
                _ => None,
            },
        }
    }
}

#[cfg(test)]
mod tests;
