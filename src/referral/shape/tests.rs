use serde_json::{Value, json};

use super::*;

const CONCERNS: &str = "https://fhir.carebridge.uk/CodeSystem/hna-concern";

fn referral() -> Value {
    json!({"resourceType": "ServiceRequest", "status": "active", "intent": "order",
        "category": [{"coding": [{"system": SNOMED, "code": REFERRAL_CATEGORY}]}],
        "subject": {"reference": "Patient/p1"},
        "requester": {"reference": "Organization/hospital"},
        "performer": [{"reference": "Organization?identifier=https://fhir.nhs.uk/Id/ods-organization-code|H0001"}],
        "authoredOn": "2026-12-01",
        "reasonCode": [{"coding": [{"system": CONCERNS, "code": "housing"}]}]})
}

fn task() -> Value {
    json!({"resourceType": "Task", "status": "requested", "intent": "order",
        "code": {"coding": [{"system": TASK_CODE_SYSTEM, "code": FULFILL}]},
        "focus": {"reference": "urn:uuid:0b1c"}, "for": {"reference": "Patient/p1"},
        "requester": {"reference": "Organization/hospital"},
        "owner": {"reference": "Organization/housing"}})
}

fn paths(issues: &[OutcomeIssue]) -> Vec<&str> {
    issues
        .iter()
        .filter_map(|i| i.expression.as_deref())
        .collect()
}

#[test]
fn a_complete_referral_and_task_pass() {
    assert_eq!(
        paths(&check_request(&referral(), CONCERNS)),
        Vec::<&str>::new()
    );
    assert_eq!(paths(&check_task(&task())), Vec::<&str>::new());
}

#[test]
fn each_missing_or_wrong_referral_element_is_named() {
    let cases: Vec<(&str, Value, &str)> = vec![
        ("intent", json!("proposal"), "ServiceRequest.intent"),
        ("status", json!("unknown"), "ServiceRequest.status"),
        (
            "category",
            json!([{"text": "referral"}]),
            "ServiceRequest.category",
        ),
        (
            "subject",
            json!({"reference": "Group/g1"}),
            "ServiceRequest.subject",
        ),
        (
            "requester",
            json!({"reference": "Practitioner/x"}),
            "ServiceRequest.requester",
        ),
        ("performer", json!([]), "ServiceRequest.performer"),
        (
            "performer",
            json!([{"reference": "Organization/a"}, {"reference": "Organization/b"}]),
            "ServiceRequest.performer",
        ),
        (
            "performer",
            json!([{"reference": "Organization"}]),
            "ServiceRequest.performer[0]",
        ),
        (
            "reasonCode",
            json!([{"coding": [{"system": CONCERNS, "code": "not-a-concern"}]}]),
            "ServiceRequest.reasonCode[0].coding[0].code",
        ),
    ];
    for (key, value, path) in cases {
        let mut sr = referral();
        sr[key] = value;
        assert_eq!(paths(&check_request(&sr, CONCERNS)), vec![path], "{key}");
    }
    let mut sr = referral();
    sr.as_object_mut().map(|o| o.remove("authoredOn"));
    assert_eq!(
        paths(&check_request(&sr, CONCERNS)),
        vec!["ServiceRequest.authoredOn"]
    );
}

#[test]
fn each_missing_or_wrong_task_element_is_named() {
    let cases: Vec<(&str, Value, &str)> = vec![
        ("status", json!("draft"), "Task.status"),
        ("status", json!("rejected"), "Task.statusReason"),
        ("intent", json!("plan"), "Task.intent"),
        ("code", json!({"text": "do it"}), "Task.code"),
        ("focus", json!({"reference": "CarePlan/c1"}), "Task.focus"),
        ("for", json!({"reference": "Organization/o"}), "Task.for"),
        ("owner", json!({"display": "Housing"}), "Task.owner"),
    ];
    for (key, value, path) in cases {
        let mut t = task();
        t[key] = value;
        assert_eq!(paths(&check_task(&t)), vec![path], "{key}");
    }
    let mut t = task();
    t["status"] = json!("rejected");
    t["statusReason"] = json!({"text": "No capacity"});
    assert!(check_task(&t).is_empty());
}
