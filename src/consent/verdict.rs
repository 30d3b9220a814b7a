//! The decision for one piece of content: may this recipient see content of this class and data
//! (concern domain and concern), for this patient, now? Everything here is pure.
//!
//! Order of the rules, first that applies wins:
//! 1. No care relationship of the kind the role needs (docs/design.md section 3): deny.
//! 2. Break the glass (purpose `BTG`, a role the policy lets break it, a reason): permit, flagged.
//! 3. Across the patient's active consents, any deny provision that matches: deny.
//! 4. Any permit provision that matches: permit; but a sensitive domain reaches a role outside
//!    health care only when the permitting provision (or one it is nested in) names that data.
//! 5. The default: the plan's own sharing choice for a GP reading a PCSP plan, otherwise the
//!    deployment policy's default for the role; sensitive domains never by default outside health care.

use crate::auth::Role;
use crate::fhir::ResourceType;
use crate::fhir::ids::OrganizationId;
use crate::fhir::ods::OdsCode;
use crate::search::CareLink;

use super::policy::{DefaultDecision, Policy};
use super::record::{Actor, ConsentRecord, Kind, OrgRef, Provision};

/// The purpose of use that breaks the glass.
pub const BREAK_GLASS: &str = "BTG";

/// Who is asking, as the consent engine needs it. Built per request from borrowed parts: nothing
/// in it is allocated.
#[derive(Debug, Clone)]
pub struct Recipient<'a> {
    /// The sharing role.
    pub role: Role,
    /// The token's ODS organisation code (`None` when it has none, or one that is not an ODS
    /// code: `crate::access::gate` treats that as no organisation).
    pub ods: Option<OdsCode<'a>>,
    /// Ids of the Organization resources carrying that code.
    pub organizations: &'a [OrganizationId<'static>],
    /// Purpose of use (v3-ActReason).
    pub purpose: &'a str,
    /// The reason given for breaking the glass, if any.
    pub break_glass_reason: Option<&'a str>,
}

impl Recipient<'_> {
    /// Whether Organization `id` is the recipient's organisation.
    pub fn is_organization(&self, id: &OrganizationId<'_>) -> bool {
        self.organizations.iter().any(|o| o == id)
    }

    fn matches(&self, actor: &Actor) -> bool {
        let role = actor.role.is_none_or(|r| r == self.role);
        let org = match &actor.organization {
            None => true,
            Some(OrgRef::Id(id)) => self.is_organization(id),
            Some(OrgRef::Ods(code)) => self.ods.as_ref() == Some(code),
            Some(OrgRef::Unrecognised) => false,
        };
        role && org
    }
}

/// What the engine knows of the patient.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    /// Whether the recipient's organisation has a care relationship with the patient of a kind
    /// its role needs ([`needed_relationships`]).
    pub related: bool,
    /// The patient's sharing consents (any status; only active ones apply).
    pub consents: &'a [ConsentRecord],
}

/// The content asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Content<'a> {
    /// Its resource type.
    pub class: ResourceType,
    /// Its concern domain, if it has one.
    pub domain: Option<&'a str>,
    /// Its concern, if it is one.
    pub concern: Option<&'a str>,
}

/// Which rule decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// A `system` token: an integration of the deployment, bounded by its scopes.
    System,
    /// Directory content (organisations, practitioners, conformance): no patient data.
    Directory,
    /// A patient reading their own record.
    OwnRecord,
    /// A patient token asking for another person's record, or for the audit trail.
    NotOwnRecord,
    /// Auditors see the audit trail and the directory only, never clinical content.
    AuditOnly,
    /// Patient data that names no patient cannot be tied to a relationship or a consent.
    NoPatient,
    /// Housing and social care see only care-plan activities and referrals addressed to their
    /// organisation.
    OutsideRemit,
    /// The recipient's organisation has no care relationship of the kind its role needs.
    NoRelationship,
    /// Purpose BTG with a reason: emergency access, reported.
    BreakGlass,
    /// A provision of a Consent.
    Provision {
        /// The Consent's id.
        consent: String,
        /// The provision's FHIRPath in it.
        path: String,
        /// Permit or deny.
        kind: Kind,
    },
    /// A sensitive domain, not named by the permitting provision, outside health care.
    Sensitive {
        /// The Consent whose permit did not name the domain, if a consent permitted at all.
        consent: Option<String>,
    },
    /// The plan's own record of whom the person shared it with (PCSP `shared-with`).
    PlanSharing {
        /// Whether the plan is shared with the recipient's kind.
        shared: bool,
    },
    /// The deployment policy's default for the role.
    Default(DefaultDecision),
    /// A subscriber's own Subscription (its organisation is the subscriber).
    OwnSubscription,
    /// Another organisation's Subscription.
    OtherSubscriber,
}

impl Rule {
    /// A short code for the rule (explanations, audit).
    pub fn code(&self) -> &'static str {
        match self {
            Rule::System => "system",
            Rule::Directory => "directory",
            Rule::OwnRecord => "own-record",
            Rule::NotOwnRecord => "not-own-record",
            Rule::AuditOnly => "audit-only",
            Rule::NoPatient => "no-patient",
            Rule::OutsideRemit => "outside-remit",
            Rule::NoRelationship => "no-relationship",
            Rule::BreakGlass => "break-glass",
            Rule::Provision { .. } => "consent-provision",
            Rule::Sensitive { .. } => "sensitive-domain",
            Rule::PlanSharing { .. } => "plan-sharing",
            Rule::Default(_) => "policy-default",
            Rule::OwnSubscription => "own-subscription",
            Rule::OtherSubscriber => "other-subscriber",
        }
    }

    /// What the rule means, in words for an information-governance lead.
    pub fn describe(&self) -> String {
        match self {
            Rule::System => "A system token is served within its SMART scopes".into(),
            Rule::Directory => "Directory resources hold no patient data and are readable by any authenticated caller".into(),
            Rule::OwnRecord => "A patient sees their own record".into(),
            Rule::NotOwnRecord => "A patient token sees only that patient's own record".into(),
            Rule::AuditOnly => "Auditors see the audit trail and the directory, never clinical content".into(),
            Rule::NoPatient => "Patient data that names no patient is shared with nobody outside the deployment's systems".into(),
            Rule::OutsideRemit => "Housing and social care see only care-plan activities and referrals addressed to their organisation".into(),
            Rule::NoRelationship => "The recipient's organisation has no care relationship with the patient of the kind its role needs".into(),
            Rule::BreakGlass => "Break the glass: emergency access with a stated reason, reported to information governance".into(),
            Rule::Provision { consent, path, kind } => format!(
                "Consent/{consent} {path} {} it",
                match kind { Kind::Permit => "permits", Kind::Deny => "denies" }
            ),
            Rule::Sensitive { consent: Some(c) } => format!(
                "A sensitive domain: Consent/{c} permits sharing but does not name the domain, and the recipient is outside health care"
            ),
            Rule::Sensitive { consent: None } => "A sensitive domain is never shared outside health care unless a consent names it".into(),
            Rule::PlanSharing { shared: true } => "The person shared this care plan with their GP".into(),
            Rule::PlanSharing { shared: false } => "The person did not share this care plan with their GP".into(),
            Rule::Default(DefaultDecision::Permit) => "No consent decides: the deployment policy shares with this role (implied consent for direct care)".into(),
            Rule::Default(DefaultDecision::Deny) => "No consent decides: the deployment policy does not share with this role until the person permits it".into(),
            Rule::OwnSubscription => "An organisation sees the Subscriptions it made".into(),
            Rule::OtherSubscriber => "A Subscription is seen by its subscriber's organisation only".into(),
        }
    }

    /// The Consent this rule comes from, if any.
    pub fn consent(&self) -> Option<&str> {
        match self {
            Rule::Provision { consent, .. } => Some(consent),
            Rule::Sensitive { consent } => consent.as_deref(),
            _ => None,
        }
    }
}

/// A decision on one piece of content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Whether it may be seen.
    pub permit: bool,
    /// Why.
    pub rule: Rule,
}

/// The relationships that let `role` see anything of a patient (docs/design.md section 3).
pub fn needed_relationships(role: Role) -> &'static [CareLink] {
    use crate::search::CareLink::*;
    match role {
        Role::LinkWorker => &[ManagingOrganization, CareTeam],
        Role::Cns => &[CareTeam, ReferralRequester, ReferralPerformer],
        Role::Gp => &[RegisteredPractice],
        Role::Housing | Role::SocialCare => &[PlanActivityPerformer, ReferralPerformer],
        Role::Patient | Role::Auditor | Role::System => &[],
    }
}

/// Whether the recipient breaks the glass with a reason and may.
pub fn breaks_glass(recipient: &Recipient<'_>, policy: &Policy) -> bool {
    recipient.purpose == BREAK_GLASS
        && recipient
            .break_glass_reason
            .is_some_and(|r| !r.trim().is_empty())
        && policy.may_break_glass(recipient.role)
}

/// The verdict on `content` for `recipient`. `plan_shared` is the plan's own sharing record for
/// the recipient's kind (`Some(true)` when a PCSP plan lists it, `Some(false)` when it lists others
/// only, `None` when it says nothing or the content is not a plan).
pub fn verdict(
    recipient: &Recipient<'_>,
    content: Content<'_>,
    facts: Facts<'_>,
    policy: &Policy,
    plan_shared: Option<bool>,
    now: i64,
) -> Verdict {
    if !facts.related {
        return Verdict {
            permit: false,
            rule: Rule::NoRelationship,
        };
    }
    if breaks_glass(recipient, policy) {
        return Verdict {
            permit: true,
            rule: Rule::BreakGlass,
        };
    }
    let health_care = policy.is_health_care(recipient.role);
    let sensitive = content.domain.is_some_and(|d| policy.is_sensitive(d));
    let mut permit: Option<(&ConsentRecord, &Provision, bool)> = None;
    for c in facts.consents.iter().filter(|c| c.active) {
        if let Some((p, named)) = deciding(&c.root, recipient, content, now, false) {
            match p.kind {
                Kind::Deny => {
                    return Verdict {
                        permit: false,
                        rule: Rule::Provision {
                            consent: c.id.clone(),
                            path: p.path.clone(),
                            kind: Kind::Deny,
                        },
                    };
                }
                Kind::Permit => {
                    // Prefer a permit that names the data: it is the one that can share a
                    // sensitive domain.
                    if permit.is_none_or(|(_, _, n)| named && !n) {
                        permit = Some((c, p, named));
                    }
                }
            }
        }
    }
    if let Some((c, p, named)) = permit {
        if sensitive && !health_care && !named {
            return Verdict {
                permit: false,
                rule: Rule::Sensitive {
                    consent: Some(c.id.clone()),
                },
            };
        }
        return Verdict {
            permit: true,
            rule: Rule::Provision {
                consent: c.id.clone(),
                path: p.path.clone(),
                kind: Kind::Permit,
            },
        };
    }
    if sensitive && !health_care {
        return Verdict {
            permit: false,
            rule: Rule::Sensitive { consent: None },
        };
    }
    if let Some(shared) = plan_shared {
        return Verdict {
            permit: shared,
            rule: Rule::PlanSharing { shared },
        };
    }
    let d = policy.default_for(recipient.role);
    Verdict {
        permit: d == DefaultDecision::Permit,
        rule: Rule::Default(d),
    }
}

/// The deepest provision under (and including) `p` that matches, with whether it or one of its
/// ancestors names the content's data. `None` when `p` itself does not match.
fn deciding<'p>(
    p: &'p Provision,
    recipient: &Recipient<'_>,
    content: Content<'_>,
    now: i64,
    named_above: bool,
) -> Option<(&'p Provision, bool)> {
    if !matches(p, recipient, content, now) {
        return None;
    }
    let named = named_above || p.names_data();
    for n in &p.nested {
        if let Some(found) = deciding(n, recipient, content, now, named) {
            return Some(found);
        }
    }
    Some((p, named))
}

fn matches(p: &Provision, recipient: &Recipient<'_>, content: Content<'_>, now: i64) -> bool {
    let actor = p.actors.is_empty() || p.actors.iter().any(|a| recipient.matches(a));
    let class = p.classes.is_empty() || p.classes.contains(&content.class);
    let data = !p.names_data()
        || content
            .domain
            .is_some_and(|d| p.domains.iter().any(|x| x == d))
        || content
            .concern
            .is_some_and(|c| p.concerns.iter().any(|x| x == c));
    let purpose = p.purposes.is_empty() || p.purposes.iter().any(|x| x == recipient.purpose);
    actor && class && data && purpose && p.period.contains(now)
}
