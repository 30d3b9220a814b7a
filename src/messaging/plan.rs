//! The transaction a message becomes (pure): a new referral with its fulfilment Task, or the
//! replacement of a stored referral at the version the gateway found. The transaction is then
//! parsed, authorised and run as a client's would be.

use serde_json::{Value, json};

use crate::referral::{FULFILL, TASK_CODE_SYSTEM};

/// The `fullUrl` of the new referral inside its transaction (the Task's focus points at it).
const REFERRAL_URL: &str = "urn:uuid:00000000-0000-4000-8000-00000000b4a5";

/// The transaction of a new referral: the referral (entry 0) and its fulfilment Task (entry 1:
/// `requested`, for the referral's subject, from its requester, owned by its performer),
/// authored at `now` (an instant).
pub fn new_referral(referral: Value, now: &str) -> Value {
    let task = json!({
        "resourceType": "Task",
        "status": "requested",
        "intent": "order",
        "code": {"coding": [{"system": TASK_CODE_SYSTEM, "code": FULFILL}]},
        "focus": {"reference": REFERRAL_URL},
        "for": referral["subject"].clone(),
        "requester": referral["requester"].clone(),
        "owner": referral["performer"][0].clone(),
        "authoredOn": now,
    });
    json!({
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"fullUrl": REFERRAL_URL, "resource": referral,
                "request": {"method": "POST", "url": "ServiceRequest"}},
            {"resource": task, "request": {"method": "POST", "url": "Task"}},
        ],
    })
}

/// The transaction of an update: stored referral `id`, found at `version`, replaced with the
/// message's (a concurrent change in between is 412, never overwritten).
pub fn update_referral(mut referral: Value, id: &str, version: u64) -> Value {
    referral["id"] = json!(id);
    json!({
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"resource": referral, "request": {
            "method": "PUT",
            "url": format!("ServiceRequest/{id}"),
            "ifMatch": format!("W/\"{version}\""),
        }}],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_referral_brings_its_task_from_the_same_parties() {
        let sr = json!({"resourceType": "ServiceRequest",
            "subject": {"reference": "Patient?identifier=s|1"},
            "requester": {"reference": "Organization/a"},
            "performer": [{"reference": "Organization/b"}]});
        let t = new_referral(sr, "2026-12-03T10:00:00Z");
        let task = &t["entry"][1]["resource"];
        assert_eq!(task["focus"]["reference"], t["entry"][0]["fullUrl"]);
        assert_eq!(task["for"]["reference"], "Patient?identifier=s|1");
        assert_eq!(task["requester"]["reference"], "Organization/a");
        assert_eq!(task["owner"]["reference"], "Organization/b");
        assert_eq!(task["status"], "requested");
    }

    #[test]
    fn an_update_replaces_the_version_it_found() {
        let t = update_referral(json!({"resourceType": "ServiceRequest"}), "r1", 3);
        let e = &t["entry"][0];
        assert_eq!(e["request"]["url"], "ServiceRequest/r1");
        assert_eq!(e["request"]["ifMatch"], "W/\"3\"");
        assert_eq!(e["resource"]["id"], "r1");
    }
}
