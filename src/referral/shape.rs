//! The referral profiles' rules (`profiles/StructureDefinition-referral-*.json`), checked on every
//! write of a ServiceRequest or Task before its transaction; each broken rule is one issue naming
//! its element (422). References may be literal (`Patient/1`), conditional
//! (`Patient?identifier=...`) or a transaction's `urn:uuid:`; the writer's transaction resolves
//! them before anything else is checked.

use serde_json::Value;

use super::status::TaskStatus;
use super::{FULFILL, REFERRAL_CATEGORY, SNOMED, TASK_CODE_SYSTEM};
use crate::fhir::OutcomeIssue;
use crate::hna::catalogue;

/// Referral statuses (`ServiceRequest.status` without `unknown`, which no referral can be).
const REQUEST_STATUSES: &[&str] = &[
    "draft",
    "active",
    "on-hold",
    "revoked",
    "completed",
    "entered-in-error",
];

/// The issues of a referral (`ServiceRequest`) against the referral profile; `concern_system` is
/// the concern catalogue's code system.
pub fn check_request(sr: &Value, concern_system: &str) -> Vec<OutcomeIssue> {
    let mut out = Vec::new();
    let status = text(sr, "status");
    if !status.is_some_and(|s| REQUEST_STATUSES.contains(&s)) {
        out.push(bad(
            "ServiceRequest.status",
            "A referral's status is draft, active, on-hold, revoked, completed or entered-in-error",
        ));
    }
    if !matches!(text(sr, "intent"), Some("order" | "plan")) {
        out.push(bad(
            "ServiceRequest.intent",
            "A referral's intent is order or plan",
        ));
    }
    let referral = array(sr, "category")
        .iter()
        .flat_map(|c| array(c, "coding"))
        .any(|c| text(c, "system") == Some(SNOMED) && text(c, "code") == Some(REFERRAL_CATEGORY));
    if !referral {
        out.push(missing(
            "ServiceRequest.category",
            "A referral carries the category SNOMED CT 3457005 (Patient referral)",
        ));
    }
    reference_to(&mut out, sr, "subject", "Patient", "ServiceRequest.subject");
    reference_to(
        &mut out,
        sr,
        "requester",
        "Organization",
        "ServiceRequest.requester",
    );
    match array(sr, "performer") {
        [one] => reference_to_value(&mut out, one, "Organization", "ServiceRequest.performer[0]"),
        _ => out.push(missing(
            "ServiceRequest.performer",
            "A referral names exactly one receiving Organization as its performer",
        )),
    }
    if text(sr, "authoredOn").is_none() {
        out.push(missing(
            "ServiceRequest.authoredOn",
            "A referral says when it was made (authoredOn)",
        ));
    }
    for (i, cc) in array(sr, "reasonCode").iter().enumerate() {
        for (j, c) in array(cc, "coding").iter().enumerate() {
            if text(c, "system") == Some(concern_system)
                && text(c, "code").is_none_or(|code| catalogue::concern(code).is_none())
            {
                out.push(bad(
                    &format!("ServiceRequest.reasonCode[{i}].coding[{j}].code"),
                    "Not a concern of the HNA concern catalogue",
                ));
            }
        }
    }
    out
}

/// The issues of a fulfilment Task against the referral Task profile.
pub fn check_task(task: &Value) -> Vec<OutcomeIssue> {
    let mut out = Vec::new();
    match text(task, "status").and_then(TaskStatus::from_code) {
        None => out.push(bad(
            "Task.status",
            "A referral's Task is requested, received, accepted, rejected, cancelled, in-progress, on-hold, completed or failed",
        )),
        Some(s) if s.needs_reason() && task.get("statusReason").is_none() => out.push(missing(
            "Task.statusReason",
            &format!("A {s} Task says why (statusReason)"),
        )),
        Some(_) => {}
    }
    if text(task, "intent") != Some("order") {
        out.push(bad("Task.intent", "A referral's Task has intent order"));
    }
    let fulfil = task
        .get("code")
        .map(|c| array(c, "coding"))
        .unwrap_or_default()
        .iter()
        .any(|c| text(c, "system") == Some(TASK_CODE_SYSTEM) && text(c, "code") == Some(FULFILL));
    if !fulfil {
        out.push(missing(
            "Task.code",
            "A referral's Task has code fulfill (http://hl7.org/fhir/CodeSystem/task-code)",
        ));
    }
    reference_to(&mut out, task, "focus", "ServiceRequest", "Task.focus");
    reference_to(&mut out, task, "for", "Patient", "Task.for");
    reference_to(
        &mut out,
        task,
        "requester",
        "Organization",
        "Task.requester",
    );
    reference_to(&mut out, task, "owner", "Organization", "Task.owner");
    out
}

fn reference_to(out: &mut Vec<OutcomeIssue>, v: &Value, key: &str, rtype: &str, path: &str) {
    match v.get(key) {
        Some(r) => reference_to_value(out, r, rtype, path),
        None => out.push(missing(
            path,
            &format!("Required: a reference to a {rtype}"),
        )),
    }
}

/// A reference to `rtype`: `rtype/id`, `rtype?criteria`, or a transaction's `urn:uuid:`.
fn reference_to_value(out: &mut Vec<OutcomeIssue>, r: &Value, rtype: &str, path: &str) {
    let ok = r.get("reference").and_then(Value::as_str).is_some_and(|s| {
        s.starts_with("urn:uuid:")
            || s.strip_prefix(rtype).is_some_and(|rest| {
                rest.len() > 1 && (rest.starts_with('/') || rest.starts_with('?'))
            })
    });
    if !ok {
        out.push(bad(path, &format!("Must reference a {rtype}")));
    }
}

fn text<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Value::as_str)
}

fn array<'v>(v: &'v Value, key: &str) -> &'v [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn bad(path: &str, message: &str) -> OutcomeIssue {
    OutcomeIssue::error("value", message).at(path.to_owned())
}

fn missing(path: &str, message: &str) -> OutcomeIssue {
    OutcomeIssue::error("required", message).at(path.to_owned())
}

#[cfg(test)]
mod tests;
