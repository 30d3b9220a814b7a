//! What may change of a Task or referral that already exists, and by whom (pure). The elements
//! that tie a Task to its referral, and a referral to its patient and parties, never change. Of a
//! Task, the owner moves the status as the machine lets it ([`super::status`]) and may add notes
//! and outputs and set `businessStatus`, `executionPeriod` and `lastModified`; the requester
//! cancels (status and reason). Of a referral, the requester may revoke it and change its
//! details (reason, notes, supporting information, priority); its status otherwise follows its
//! Task. The gateway itself (`system` callers) may change any other element, but moves statuses
//! only as the machine allows. A party changing what is not its to change gets 403 naming the
//! element; an illegal move is 422 (`business-rule`) naming the status.

use serde_json::Value;

use super::status::{Mover, TaskStatus};
use crate::error::Error;
use crate::fhir::OutcomeIssue;

/// Who is changing the resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// The gateway itself, or a `system` caller.
    Gateway,
    /// An organisation: whether it is the referral's receiver (owner), its sender (requester).
    Party {
        /// The receiving organisation (`Task.owner`, `ServiceRequest.performer`).
        owner: bool,
        /// The sending organisation (`requester`).
        requester: bool,
    },
}

impl Actor {
    fn may(self, mover: Mover) -> bool {
        match self {
            Actor::Gateway => true,
            Actor::Party { owner, requester } => match mover {
                Mover::Owner => owner,
                Mover::Requester => requester,
            },
        }
    }
}

/// Task elements that tie it to its referral: nobody changes them.
const TASK_FIXED: &[&str] = &[
    "focus",
    "for",
    "owner",
    "requester",
    "code",
    "intent",
    "basedOn",
    "partOf",
    "authoredOn",
];

/// What the owner may change of its Task besides its status.
const OWNER_MAY: &[&str] = &[
    "status",
    "statusReason",
    "businessStatus",
    "note",
    "output",
    "executionPeriod",
    "lastModified",
];

/// What the requester may change of the Task: its status (to cancel it) and why.
const REQUESTER_MAY: &[&str] = &["status", "statusReason", "lastModified"];

/// Elements a party may only add to, never change or remove.
const APPEND_ONLY: &[&str] = &["note", "output"];

/// Referral elements nobody changes once it is sent.
const REQUEST_FIXED: &[&str] = &["subject", "requester", "performer", "intent", "category"];

/// OK when `actor` may change Task `before` into `after` (both as JSON).
pub fn task(before: &Value, after: &Value, actor: Actor) -> Result<(), Error> {
    fixed(before, after, TASK_FIXED, "Task", actor)?;
    let status = |v: &Value| {
        v.get("status")
            .and_then(Value::as_str)
            .and_then(TaskStatus::from_code)
    };
    let (from, to) = (status(before), status(after));
    if from != to {
        let (Some(from), Some(to)) = (from, to) else {
            return Err(rule(
                "Task.status",
                "This Task's status cannot change".into(),
            ));
        };
        let Some(mover) = from.mover(to) else {
            return Err(rule(
                "Task.status",
                format!("A referral's Task cannot move from {from} to {to}"),
            ));
        };
        if !actor.may(mover) {
            let who = match mover {
                Mover::Owner => "the receiving organisation (owner)",
                Mover::Requester => "the sending organisation (requester)",
            };
            return Err(forbidden(
                "Task.status",
                format!("Only {who} moves a Task from {from} to {to}"),
            ));
        }
    }
    let Actor::Party { owner, requester } = actor else {
        return Ok(());
    };
    for key in changed(before, after) {
        if TASK_FIXED.contains(&key) {
            continue;
        }
        let allowed =
            (owner && OWNER_MAY.contains(&key)) || (requester && REQUESTER_MAY.contains(&key));
        if !allowed {
            return Err(forbidden(
                &format!("Task.{key}"),
                format!("Task.{key} is not yours to change"),
            ));
        }
        if APPEND_ONLY.contains(&key) && !appended(before.get(key), after.get(key)) {
            return Err(forbidden(
                &format!("Task.{key}"),
                format!("Task.{key} is added to, never changed or removed"),
            ));
        }
    }
    Ok(())
}

/// OK when `actor` may change referral `before` into `after`. Status moves here are the ones a
/// writer makes (revoke, draft to active, hold); the ones that follow a Task are the gateway's.
pub fn request(before: &Value, after: &Value, actor: Actor) -> Result<(), Error> {
    fixed(before, after, REQUEST_FIXED, "ServiceRequest", actor)?;
    if let Actor::Party {
        requester: false, ..
    } = actor
    {
        return Err(forbidden(
            "ServiceRequest.requester",
            "Only the sending organisation changes its referral".into(),
        ));
    }
    let status = |v: &Value| v.get("status").and_then(Value::as_str).map(str::to_owned);
    let (from, to) = (status(before), status(after));
    if from == to {
        return Ok(());
    }
    let legal = matches!(
        (from.as_deref(), to.as_deref()),
        (Some("draft"), Some("active"))
            | (Some("draft" | "active" | "on-hold"), Some("revoked"))
            | (Some("active"), Some("on-hold"))
            | (Some("on-hold"), Some("active"))
    ) || (actor == Actor::Gateway && to.as_deref() == Some("entered-in-error"));
    if !legal {
        return Err(rule(
            "ServiceRequest.status",
            format!(
                "A referral cannot be moved from {} to {} (its completion follows its Task)",
                from.as_deref().unwrap_or("no status"),
                to.as_deref().unwrap_or("no status")
            ),
        ));
    }
    Ok(())
}

/// The fixed elements must be equal; a party is refused (403), the gateway told the rule (422).
fn fixed(
    before: &Value,
    after: &Value,
    keys: &[&str],
    rtype: &str,
    actor: Actor,
) -> Result<(), Error> {
    for key in keys {
        if before.get(*key) != after.get(*key) {
            let path = format!("{rtype}.{key}");
            let message = format!("{path} cannot change once the referral is made");
            return Err(match actor {
                Actor::Gateway => rule(&path, message),
                Actor::Party { .. } => forbidden(&path, message),
            });
        }
    }
    Ok(())
}

/// The top-level elements whose values differ (`meta`, `id`, `resourceType` are the server's).
fn changed<'v>(before: &'v Value, after: &'v Value) -> Vec<&'v str> {
    let keys = |v: &'v Value| {
        v.as_object()
            .into_iter()
            .flat_map(|o| o.keys().map(String::as_str))
    };
    let mut out: Vec<&str> = keys(before)
        .chain(keys(after))
        .filter(|k| !matches!(*k, "meta" | "id" | "resourceType"))
        .filter(|k| before.get(*k) != after.get(*k))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Whether `after` is `before` with entries added at the end.
fn appended(before: Option<&Value>, after: Option<&Value>) -> bool {
    fn list(v: Option<&Value>) -> &[Value] {
        v.and_then(Value::as_array).map_or(&[][..], Vec::as_slice)
    }
    let (b, a) = (list(before), list(after));
    a.len() >= b.len() && a[..b.len()] == *b
}

fn rule(path: &str, message: String) -> Error {
    Error::BusinessRule(vec![
        OutcomeIssue::error("business-rule", message).at(path.to_owned()),
    ])
}

fn forbidden(path: &str, message: String) -> Error {
    Error::ForbiddenContent(vec![
        OutcomeIssue::error("forbidden", message).at(path.to_owned()),
    ])
}

#[cfg(test)]
mod tests;
