//! Who may write what: the write table (role x resource type x interaction -> condition), pure,
//! and the [`Writer`] that checks a condition against the store inside the write's own
//! transaction, just before each write, with its references resolved (conditional references,
//! `urn:uuid:` full URLs) and nothing able to change underneath it.
//!
//! `system` is the deployment's own administration and trusted feeds (a demographics feed, the
//! importer): it writes whatever its SMART scopes grant and is not in the table. Every other role
//! writes only what the table lists, and only by create (plain or `If-None-Exist`) and update by
//! id: conditional update and delete, and delete, are for `system` (a write by criteria cannot be
//! checked against its target before the target is chosen; clients read, then update with
//! `If-Match`).
//!
//! | role | writes | condition |
//! |---|---|---|
//! | `link-worker` | Consent, QuestionnaireResponse, CarePlan, CareTeam: create, update | [`Condition::Related`] |
//! | `link-worker`, `cns`, `gp` | ServiceRequest: create, update; Task: create | [`Condition::Requester`] |
//! | `cns` | QuestionnaireResponse, CarePlan: create, update | [`Condition::Related`] |
//! | `cns` | CareTeam: create, update | [`Condition::OwnMembership`] |
//! | `link-worker`, `cns`, `gp`, `housing`, `social-care` | Task: update | [`Condition::Party`] |
//! | `patient` | Consent: create, update | [`Condition::OwnRecord`] |
//! | `link-worker`, `cns`, `gp`, `housing`, `social-care` | Subscription: create, update | [`Condition::Subscriber`] |
//! | `auditor` | nothing | |
//!
//! Nobody writes their way into a record: every condition but [`Condition::Party`] needs the
//! writer's organisation to be related to the patient already, by a relationship its role counts
//! (`consent::verdict::needed_relationships`), before the write. A write may relate *another*
//! organisation (a link worker's plan assigns an activity to housing; a referral is addressed to
//! its receiver): that is how a plan crosses boundaries, and the receiver then sees only what the
//! person's consent lets it. Refusals are 403 naming the element, and say the same of an unknown
//! patient as of an unrelated one. Updates replace only what the writer can see (404 otherwise,
//! `rest::write`); what a party to a referral may change of its Task is the workflow's
//! (`crate::referral`).

use serde_json::Value;

use super::relationships::restrict;
use crate::auth::Role;
use crate::consent::decision::patient_of;
use crate::consent::verdict::needed_relationships;
use crate::error::Error;
use crate::fhir::ids::{OrganizationId, PatientId};
use crate::fhir::{OutcomeIssue, ResourceType};
use crate::interaction::Interaction;
use crate::search::{Filter, Predicate, SearchQuery};
use crate::store::Tx;

/// The kind of write, as the table counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteKind {
    /// `POST [type]`, plain or with `If-None-Exist`.
    Create,
    /// `PUT [type]/[id]`.
    Update,
}

impl WriteKind {
    /// Every kind the table has rows for.
    pub const ALL: [WriteKind; 2] = [WriteKind::Create, WriteKind::Update];

    fn verb(self) -> &'static str {
        match self {
            WriteKind::Create => "create",
            WriteKind::Update => "update",
        }
    }
}

/// What must hold, against the store, for a listed write to be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// The resource is the writer's own record (a patient's consent).
    OwnRecord,
    /// The resource's patient is related to the writer's organisation.
    Related,
    /// [`Condition::Related`], and the writer's organisation is the referral's (or its Task's)
    /// `requester`; an update must keep it so.
    Requester,
    /// [`Condition::Related`], and only care-team participants that are the writer's own
    /// organisation are added, changed or removed.
    OwnMembership,
    /// The writer's organisation is the Task's `owner` or `requester` (the workflow decides
    /// which changes each may make).
    Party,
    /// The Subscription's subscriber is the writer's organisation (`super::subscriber`), before
    /// and after.
    Subscriber,
}

/// The condition under which `role` may make a write of `kind` on `rtype`, or `None` when it may
/// not at all (the table in the module docs). `system` is not in the table.
pub fn write_rule(role: Role, rtype: ResourceType, kind: WriteKind) -> Option<Condition> {
    use Condition::*;
    use ResourceType as T;
    use WriteKind::*;
    match (role, rtype, kind) {
        (Role::Patient, T::Consent, _) => Some(OwnRecord),
        (
            Role::LinkWorker,
            T::Consent | T::QuestionnaireResponse | T::CarePlan | T::CareTeam,
            _,
        )
        | (Role::Cns, T::QuestionnaireResponse | T::CarePlan, _) => Some(Related),
        (Role::Cns, T::CareTeam, _) => Some(OwnMembership),
        (Role::LinkWorker | Role::Cns | Role::Gp, T::ServiceRequest, _)
        | (Role::LinkWorker | Role::Cns | Role::Gp, T::Task, Create) => Some(Requester),
        (
            Role::LinkWorker | Role::Cns | Role::Gp | Role::Housing | Role::SocialCare,
            T::Task,
            Update,
        ) => Some(Party),
        (
            Role::LinkWorker | Role::Cns | Role::Gp | Role::Housing | Role::SocialCare,
            T::Subscription,
            _,
        ) => Some(Subscriber),
        _ => None,
    }
}

/// 403 unless a role other than `system` may make write interaction `i` at all (the table, and
/// no conditional update or delete, no delete). A bundle's entries are checked one by one.
pub fn permits(role: Role, i: &Interaction) -> Result<(), Error> {
    let refuse = |what: String| {
        Err(Error::Forbidden(format!(
            "The '{role}' role may not {what}"
        )))
    };
    let (rtype, kind) = match i {
        Interaction::Bundle => return Ok(()),
        Interaction::Create { rtype, .. } => (*rtype, WriteKind::Create),
        // A conditional patch finds its one match as the caller's own search, then patches it
        // by id under every check of a patch (`rest::patch`): an update of what the caller sees.
        Interaction::Update { rtype, .. }
        | Interaction::Patch { rtype, .. }
        | Interaction::ConditionalPatch { rtype, .. } => (*rtype, WriteKind::Update),
        Interaction::ConditionalUpdate { rtype, .. } => {
            return refuse(format!(
                "update {rtype} by criteria: read it, then update it by id with If-Match"
            ));
        }
        Interaction::Delete { rtype, .. } | Interaction::ConditionalDelete { rtype, .. } => {
            return refuse(format!("delete {rtype}"));
        }
        _ => return Ok(()),
    };
    match write_rule(role, rtype, kind) {
        Some(_) => Ok(()),
        None => refuse(format!("{} {rtype}", kind.verb())),
    }
}

/// Who is writing, as the in-transaction checks need it: `None` inside for the gateway itself
/// and `system` callers, who are bounded by their scopes only.
#[derive(Debug, Clone)]
pub struct Writer(Option<Organisational>);

/// A writer bound by the table.
#[derive(Debug, Clone)]
struct Organisational {
    role: Role,
    /// Ids of the Organization resources carrying the writer's ODS code.
    organizations: Vec<OrganizationId<'static>>,
    /// A patient token's own patient.
    patient: Option<String>,
}

impl Writer {
    /// The gateway itself, or a `system` caller.
    pub fn unrestricted() -> Self {
        Writer(None)
    }

    /// A caller of `role` acting for `organizations` (or as `patient`).
    pub fn new(
        role: Role,
        organizations: Vec<OrganizationId<'static>>,
        patient: Option<String>,
    ) -> Self {
        if role == Role::System {
            return Writer(None);
        }
        Writer(Some(Organisational {
            role,
            organizations,
            patient,
        }))
    }

    /// The writer's role (`None` when unrestricted).
    pub fn role(&self) -> Option<Role> {
        self.0.as_ref().map(|o| o.role)
    }

    /// The writer's organisations (`None` when unrestricted).
    pub fn organizations(&self) -> Option<&[OrganizationId<'static>]> {
        self.0.as_ref().map(|o| o.organizations.as_slice())
    }

    /// Whether `reference` (`Organization/<id>`) names one of the writer's organisations.
    pub fn is_own(&self, reference: Option<&str>) -> bool {
        let id = reference.and_then(OrganizationId::from_reference);
        match (&self.0, id) {
            (Some(o), Some(id)) => o.organizations.iter().any(|x| x.as_str() == id.as_str()),
            _ => false,
        }
    }

    /// 403 (naming the element) unless this writer may write `body` as `rtype`, replacing
    /// `current` (an update's current version, as stored), in `tx`.
    pub fn check(
        &self,
        tx: &mut dyn Tx,
        rtype: ResourceType,
        body: &Value,
        current: Option<&Value>,
    ) -> Result<(), Error> {
        let Some(w) = &self.0 else {
            return Ok(());
        };
        let kind = match current {
            Some(_) => WriteKind::Update,
            None => WriteKind::Create,
        };
        let Some(condition) = write_rule(w.role, rtype, kind) else {
            return Err(Error::Forbidden(format!(
                "The '{}' role may not {} {rtype}",
                w.role,
                kind.verb()
            )));
        };
        let patient = patient_of(rtype, body);
        let subject = subject_path(rtype);
        match condition {
            Condition::OwnRecord => {
                if patient.is_none()
                    || patient.as_ref().map(PatientId::as_str) != w.patient.as_deref()
                {
                    return Err(refused(
                        subject,
                        "A patient may write only their own record",
                    ));
                }
            }
            Condition::Party => {
                let party = |v: &Value| {
                    ["owner", "requester"]
                        .iter()
                        .any(|k| self.is_own(reference(v, k)))
                };
                if !party(body) || !current.is_none_or(party) {
                    return Err(refused(
                        "Task.owner",
                        "Only the receiving (owner) or sending (requester) organisation of a referral writes its Task",
                    ));
                }
            }
            Condition::Subscriber => {
                let own = |v: &Value| super::subscriber::subscribed_by(v, &w.organizations);
                if !own(body) || !current.is_none_or(own) {
                    return Err(refused(
                        "Subscription.meta.tag",
                        "A Subscription's subscriber is your own organisation",
                    ));
                }
            }
            Condition::Related | Condition::Requester | Condition::OwnMembership => {
                let related = match &patient {
                    Some(p) => related_in(tx, p, &w.organizations, w.role)?,
                    None => false,
                };
                if !related {
                    return Err(refused(
                        subject,
                        "Your organisation may write this only for a person it already cares for",
                    ));
                }
                if condition == Condition::Requester {
                    let own = |v: &Value| self.is_own(reference(v, "requester"));
                    if !own(body) || !current.is_none_or(own) {
                        return Err(refused(
                            &format!("{rtype}.requester"),
                            "The requester must be your own organisation",
                        ));
                    }
                }
                if condition == Condition::OwnMembership {
                    own_membership(self, body, current)?;
                }
            }
        }
        Ok(())
    }
}

/// Where a resource names its patient, for messages.
fn subject_path(rtype: ResourceType) -> &'static str {
    match rtype {
        ResourceType::Consent => "Consent.patient",
        ResourceType::Task => "Task.for",
        ResourceType::QuestionnaireResponse => "QuestionnaireResponse.subject",
        ResourceType::CarePlan => "CarePlan.subject",
        ResourceType::CareTeam => "CareTeam.subject",
        ResourceType::ServiceRequest => "ServiceRequest.subject",
        _ => "subject",
    }
}

fn refused(expression: &str, message: &str) -> Error {
    Error::ForbiddenContent(vec![
        OutcomeIssue::error("forbidden", message).at(expression.to_owned()),
    ])
}

/// The `reference` of element `key` (a Reference, or the first of a list of them).
pub fn reference<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    let r = match v.get(key)? {
        Value::Array(a) => a.first()?,
        r => r,
    };
    r.get("reference").and_then(Value::as_str)
}

/// Whether `patient` is related to `organizations` as `role` counts relationships, now, in `tx`.
fn related_in(
    tx: &mut dyn Tx,
    patient: &PatientId<'_>,
    organizations: &[OrganizationId<'_>],
    role: Role,
) -> Result<bool, Error> {
    let links = needed_relationships(role);
    if organizations.is_empty() || links.is_empty() {
        return Ok(false);
    }
    let mut q = SearchQuery::all(ResourceType::Patient, 1);
    q.filters
        .push(Filter(vec![Predicate::Id(patient.to_string())]));
    restrict(&mut q, "_id", organizations, links);
    Ok(!tx.search_ids(&q, 1)?.is_empty())
}

/// A CNS changes only its own organisation's membership of a care team: every participant whose
/// member is not the writer's organisation is the same before and after (in any order).
fn own_membership(writer: &Writer, body: &Value, current: Option<&Value>) -> Result<(), Error> {
    let others = |v: Option<&Value>| -> Vec<String> {
        let mut out: Vec<String> = v
            .and_then(|v| v.get("participant"))
            .and_then(Value::as_array)
            .map(|ps| {
                ps.iter()
                    .filter(|p| !writer.is_own(reference(p, "member")))
                    .map(|p| p.to_string())
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    };
    if others(Some(body)) != others(current) {
        return Err(refused(
            "CareTeam.participant",
            "A hospital team may add, change or remove only its own organisation's membership of a care team",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
