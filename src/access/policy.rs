//! Who may do what: every rule of the gateway's access control that does not need the store,
//! taking the one parsed [`Request`] and the caller. The HTTP layer parses and calls [`permits`];
//! bundle entries are checked by the same call, one by one; the gate narrows searches and decides
//! what a role can ever see by [`remit`]. Answering "may housing do X?" takes this file (and, for
//! what housing sees *within* its remit, the consent engine in `src/consent`).
//!
//! | rule | who |
//! |---|---|
//! | SMART scopes ([`needs`]) | every caller: each interaction needs its permission on its type(s) |
//! | break the glass | purpose `BTG` needs a reason (`X-Break-Glass-Reason`), or the request is refused |
//! | the audit log is append-only | create, update, delete of AuditEvent: 405 for everyone, `system` too |
//! | writes | `system` (the deployment's administration and trusted feeds): what its scopes grant. Every other role: the write table of [`super::writes`] (create and update by id only, each under a condition checked in the write's transaction). |
//! | AuditEvent read and search | auditors and `system`; a patient for their own access report |
//! | `$consent-explain`, `$audit-verify`, `$audit-export` | auditors and `system` |
//! | `$hna-outcomes` | `system` (figures over every patient) |
//! | `$export` (Bulk Data) | every role: each type as a search of it by the caller (an explicit `_type` it may not search is 403); the audit log to auditors and `system` only; a job's status, files and deletion to the caller who started it (`crate::export`) |
//! | `$extract` | whoever may read the HNA; `store=true` is also a CarePlan create (the write rule) |
//! | `$validate` | whoever may make the write it rehearses: a create of the type (type level) or an update of it (instance level), by scopes and the write table; an instance the caller cannot see is 404 |
//! | `$process-message` | roles that send referrals (the write table's ServiceRequest create); each entry of the transaction the message becomes is checked as sent alone |
//! | type and system `_history` | `system` without scope constraints (a filtered history would have gaps that count hidden versions) |
//! | chained and reverse-chained (`_has`) search | every role: the chain is resolved as the caller's own search of its target, `_has` as the caller's own search of its source (`rest::chain`); in conditional criteria, through patient data, `system` only |
//!
//! What a role can see at all ([`remit`]), before consent decides within it:
//!
//! | role | remit |
//! |---|---|
//! | `system` | every type (its scopes decide); the only role that sees Groups (cohorts) |
//! | `link-worker`, `cns`, `gp`, `housing`, `social-care` | their organisation's own Subscriptions (`crate::notify`) |
//! | every role | the directory: Organization, Practitioner, PractitionerRole and conformance resources |
//! | `auditor` | the audit log; no patient data |
//! | `patient` | their own record |
//! | `link-worker`, `cns`, `gp` | patient data of patients their organisation is related to |
//! | `housing`, `social-care` | CarePlan, ServiceRequest and Task of patients related to them (within which consent shows only what is addressed to them) |

use crate::auth::scopes::{Context as ScopeContext, Permission};
use crate::auth::{Principal, Role};
use crate::consent::Rule;
use crate::consent::verdict::BREAK_GLASS;
use crate::error::Error;
use crate::fhir::ResourceType;
use crate::interaction::{Interaction, Operation, Request, Target};
use crate::search::{Filter, Predicate};

/// What one interaction needs of the token's scopes: a permission on a type, or on every type
/// (`None`).
pub type Need = (Option<ResourceType>, Permission);

/// 403 (405 for the append-only audit log) unless `principal` may make `request`.
/// `break_glass_reason` tells whether the request gave a reason for breaking the glass.
pub fn permits(
    principal: &Principal,
    request: &Request,
    break_glass_reason: bool,
) -> Result<(), Error> {
    let i = &request.interaction;
    if principal.purpose == BREAK_GLASS && !break_glass_reason {
        return Err(Error::Forbidden(
            "Breaking the glass (purpose of use BTG) needs a reason in the X-Break-Glass-Reason header".into(),
        ));
    }
    if rewrites_audit(i) {
        return Err(Error::MethodNotAllowed);
    }
    scopes_grant(principal, &needs(i))?;
    role_permits(principal, i)
}

/// Whether `i` would create, change or delete an AuditEvent.
fn rewrites_audit(i: &Interaction) -> bool {
    i.writes() && i.resource_type() == Some(ResourceType::AuditEvent)
}

/// The SMART permissions `i` needs: `r` to read, vread or page an instance's history; `s` to
/// search or page a type's history (and on every type for the system's); `c`, `u`, `d` to write,
/// with `s` too when the write is conditional (its criteria are a search). Operations need what
/// they read. A bundle needs nothing itself: each entry is checked on its own.
pub fn needs(i: &Interaction) -> Vec<Need> {
    use Interaction::*;
    use Permission::{Create as C, Delete as D, Read as R, Search as S, Update as U};
    use ResourceType as T;
    let on = |t: ResourceType, p: Permission| (Some(t), p);
    match i {
        Capabilities | SmartConfiguration | Bundle => Vec::new(),
        // Each type of an export is authorised as a search of it when the export is planned
        // (`crate::export::plan`); a job's URLs are its owner's only.
        Export { spec, .. } => spec.types.iter().flatten().map(|t| on(*t, S)).collect(),
        ExportStatus { .. } | ExportCancel { .. } | ExportFile { .. } => Vec::new(),
        // A message becomes a transaction whose entries are each checked on their own.
        Operation {
            operation: self::Operation::ProcessMessage,
            ..
        } => Vec::new(),
        Read { rtype, .. } | VRead { rtype, .. } | HistoryInstance { rtype, .. } => {
            vec![on(*rtype, R)]
        }
        Search { rtype, .. } | HistoryType { rtype } => vec![on(*rtype, S)],
        HistorySystem => vec![(None, S)],
        Create {
            rtype,
            if_none_exist,
        } => match if_none_exist {
            Some(_) => vec![on(*rtype, C), on(*rtype, S)],
            None => vec![on(*rtype, C)],
        },
        Update { rtype, .. } | Patch { rtype, .. } => vec![on(*rtype, U)],
        ConditionalUpdate { rtype, .. } | ConditionalPatch { rtype, .. } => {
            vec![on(*rtype, U), on(*rtype, S)]
        }
        Delete { rtype, .. } => vec![on(*rtype, D)],
        ConditionalDelete { rtype, .. } => vec![on(*rtype, D), on(*rtype, S)],
        Operation { operation, target } => match operation {
            self::Operation::Extract => vec![on(T::QuestionnaireResponse, R), on(T::CarePlan, R)],
            self::Operation::Validate => match rehearsed(target) {
                Some(Create { rtype, .. }) => vec![on(rtype, C)],
                Some(Update { rtype, .. }) => vec![on(rtype, U)],
                _ => Vec::new(),
            },
            self::Operation::HnaOutcomes => [
                T::QuestionnaireResponse,
                T::Patient,
                T::CarePlan,
                T::Organization,
            ]
            .into_iter()
            .map(|t| on(t, S))
            .collect(),
            self::Operation::ConsentExplain => vec![on(T::Consent, S)],
            self::Operation::AuditVerify | self::Operation::AuditExport => {
                vec![on(T::AuditEvent, S)]
            }
            self::Operation::ProcessMessage => Vec::new(),
            // The subscriber's own subscription, as a read of it (the gate then says whose it is).
            self::Operation::SubscriptionStatus | self::Operation::SubscriptionEvents => {
                vec![on(T::Subscription, R)]
            }
        },
    }
}

/// 403 unless the token's scopes grant every need.
fn scopes_grant(principal: &Principal, needs: &[Need]) -> Result<(), Error> {
    let context = ScopeContext::of(principal.role);
    for (t, p) in needs {
        let granted = match t {
            Some(t) => principal.grants.allows(context, t.as_str(), *p),
            None => ResourceType::ALL
                .iter()
                .all(|t| principal.grants.allows(context, t.as_str(), *p)),
        };
        if !granted {
            let on = t.map_or("every type".to_owned(), |t| t.to_string());
            return Err(Error::Forbidden(format!(
                "The token's scopes do not grant '{}' on {on}",
                p.letter()
            )));
        }
    }
    Ok(())
}

fn forbidden(principal: &Principal, what: &str) -> Error {
    Error::Forbidden(format!("The '{}' role may not {what}", principal.role))
}

/// The rules of each role (the table in the module docs).
fn role_permits(principal: &Principal, i: &Interaction) -> Result<(), Error> {
    use Interaction::*;
    let role = principal.role;
    if role == Role::System {
        return match i {
            HistoryType { .. } | HistorySystem if principal.grants.constrained() => Err(
                Error::Forbidden(
                    "Type and system history need scopes without constraints; ask for one resource's history".into(),
                ),
            ),
            _ => Ok(()),
        };
    }
    match i {
        Operation { operation, target } => match operation {
            self::Operation::HnaOutcomes => Err(forbidden(principal, "run $hna-outcomes")),
            self::Operation::Validate => match rehearsed(target) {
                Some(write) => super::writes::permits(role, &write)
                    .map_err(|_| forbidden(principal, "validate writes it may not make")),
                None => Err(Error::NoRoute),
            },
            // Only a role that sends referrals has messages to send; each entry of the
            // transaction the message becomes is then checked as sent alone.
            self::Operation::ProcessMessage => {
                let sends = Interaction::Create {
                    rtype: ResourceType::ServiceRequest,
                    if_none_exist: None,
                };
                super::writes::permits(role, &sends)
                    .map_err(|_| forbidden(principal, "send referral messages"))
            }
            self::Operation::ConsentExplain
            | self::Operation::AuditVerify
            | self::Operation::AuditExport
                if role != Role::Auditor =>
            {
                Err(forbidden(
                    principal,
                    "run this information-governance operation",
                ))
            }
            _ => Ok(()),
        },
        HistoryType { .. } | HistorySystem => Err(Error::Forbidden(
            "Type and system history are open to system callers only; ask for one resource's history".into(),
        )),
        Read { rtype, .. } | Search { rtype, .. } if *rtype == ResourceType::AuditEvent => {
            if matches!(role, Role::Auditor | Role::Patient) {
                Ok(())
            } else {
                Err(Error::Forbidden(
                    "The audit log is for auditors, and for patients about their own record"
                        .into(),
                ))
            }
        }
        Create {
            if_none_exist: Some(criteria),
            ..
        } => {
            refuse_hidden_chains(&criteria.filters)?;
            super::writes::permits(role, i)
        }
        _ if i.writes() => super::writes::permits(role, i),
        _ => Ok(()),
    }
}

/// The write a `$validate` at `target` rehearses: a create of the type, or an update of the
/// instance.
fn rehearsed(target: &Target) -> Option<Interaction> {
    match target {
        Target::Type(rtype) => Some(Interaction::Create {
            rtype: *rtype,
            if_none_exist: None,
        }),
        Target::Instance(rtype, id) => Some(Interaction::Update {
            rtype: *rtype,
            id: id.clone(),
        }),
        Target::System => None,
    }
}

/// 403 for a chained parameter through patient data in conditional criteria (`If-None-Exist`):
/// unlike a search's, they are matched in the write's transaction, where the chain would test
/// content the caller may not see.
fn refuse_hidden_chains(filters: &[Filter]) -> Result<(), Error> {
    for Filter(alternatives) in filters {
        for p in alternatives {
            if let Predicate::Chain { param, target, .. } = p
                && !is_directory(*target)
            {
                return Err(Error::Forbidden(format!(
                    "Conditional criteria chained through {target} ('{param}.') are only open to system callers: use the patient's id or identifier instead"
                )));
            }
            if let Predicate::Has { source, .. } = p {
                return Err(Error::Forbidden(format!(
                    "Conditional criteria reverse-chained through {source} (_has) are only open to system callers"
                )));
            }
        }
    }
    Ok(())
}

/// Types whose content belongs to no patient: readable by any authenticated caller.
pub fn is_directory(rtype: ResourceType) -> bool {
    use ResourceType::*;
    matches!(
        rtype,
        Organization
            | Practitioner
            | PractitionerRole
            | Questionnaire
            | StructureDefinition
            | CodeSystem
            | ValueSet
            | MessageDefinition
            | OperationDefinition
    )
}

/// What of a resource type a role can ever be shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remit {
    /// All of it, as stored (the rule says why: a system token, the directory, the audit log).
    Everything(Rule),
    /// The caller's own record only (patients).
    OwnRecord,
    /// Records of patients the caller's organisation is related to, as consent decides.
    Related,
    /// Nothing (the rule says why).
    Nothing(Rule),
    /// The Subscriptions whose subscriber is the caller's organisation.
    OwnSubscriptions,
}

/// What `role` can ever see of `rtype` (the second table in the module docs).
pub fn remit(role: Role, rtype: ResourceType) -> Remit {
    use ResourceType::{AuditEvent, CarePlan, Group, ServiceRequest, Subscription, Task};
    if role == Role::System {
        return Remit::Everything(Rule::System);
    }
    if is_directory(rtype) {
        return Remit::Everything(Rule::Directory);
    }
    match role {
        // Cohorts (a Group's members) are the deployment's own: no other role's remit yet.
        _ if rtype == Group => Remit::Nothing(Rule::OutsideRemit),
        // A Subscription belongs to no patient: an organisation's systems see their own.
        Role::LinkWorker | Role::Cns | Role::Gp | Role::Housing | Role::SocialCare
            if rtype == Subscription =>
        {
            Remit::OwnSubscriptions
        }
        _ if rtype == Subscription => Remit::Nothing(Rule::OutsideRemit),
        Role::Auditor if rtype == AuditEvent => Remit::Everything(Rule::AuditOnly),
        Role::Auditor => Remit::Nothing(Rule::AuditOnly),
        _ if rtype == AuditEvent => Remit::Nothing(Rule::AuditOnly),
        Role::Patient => Remit::OwnRecord,
        role if role.addressed_only() && !matches!(rtype, CarePlan | ServiceRequest | Task) => {
            Remit::Nothing(Rule::OutsideRemit)
        }
        _ => Remit::Related,
    }
}

/// The create `$extract` makes with `store=true`: checked as a create of the plan would be.
pub fn extract_store() -> Request {
    Request {
        interaction: Interaction::Create {
            rtype: ResourceType::CarePlan,
            if_none_exist: None,
        },
        params: Vec::new(),
        head: false,
        if_match: None,
        fresh: None,
    }
}

#[cfg(test)]
mod tests;
