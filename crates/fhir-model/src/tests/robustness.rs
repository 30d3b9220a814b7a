//! Hostile or odd input: no panics, bounded output.

use serde_json::json;

use super::{assert_valid, single_issue};
use crate::validate;

#[test]
fn unknown_elements_are_capped() {
    let mut patient = json!({"resourceType": "Patient"});
    for i in 0..120 {
        patient[format!("x{i:03}")] = json!(i);
    }
    let Err(issues) = validate("Patient", &patient) else {
        panic!("unknown elements accepted")
    };
    assert_eq!(issues.len(), 51);
    assert_eq!(issues[50].message, "70 further unknown elements not listed");
}

#[test]
fn odd_inputs_do_not_panic_and_messages_stay_small() {
    let huge = "x".repeat(1_000_000);
    let mut deep = json!("leaf");
    for _ in 0..1_000 {
        deep = json!([deep]);
    }
    let odd = [
        json!(null),
        json!([]),
        json!([{"resourceType": "Patient"}]),
        json!(3.5),
        json!("Patient"),
        json!(true),
        json!({}),
        json!({"resourceType": "Patient", "foo": deep}),
        json!({"resourceType": "Patient", "gender": huge}),
        json!({"resourceType": "Patient", "birthDate": huge}),
        json!({"resourceType": "Patient", "name": [{"family": 1}], huge.clone(): 1}),
        json!({"resourceType": "Patient", huge.clone(): {"a": 1}}),
        json!({"resourceType": "Patient", "contained": [{"resourceType": huge}]}),
        json!({"resourceType": "Patient", "contained": [{"resourceType": "Patient", "gender": 1}]}),
        json!({"resourceType": "Patient", "contained": [7]}),
        json!({"resourceType": "Patient", "identifier": [null, 1, "x"]}),
        json!({"resourceType": "Patient", "multipleBirthInteger": 1e300}),
        json!({"resourceType": "Patient", "extension": [{"url": "u", "valueInteger": 99_999_999_999_i64}]}),
    ];
    for resource_type in [
        "Patient",
        "QuestionnaireResponse",
        "Observation",
        huge.as_str(),
        "",
    ] {
        for value in &odd {
            if let Err(issues) = validate(resource_type, value) {
                assert!(!issues.is_empty());
                for issue in issues {
                    assert!(
                        issue.message.len() < 400,
                        "message of {} bytes",
                        issue.message.len()
                    );
                    assert!(issue.path.len() < 400, "path of {} bytes", issue.path.len());
                }
            }
        }
    }
    // The depth guard, specifically.
    let deep_body = json!({"resourceType": "Patient", "foo": deep});
    let issue = single_issue("Patient", &deep_body);
    assert!(issue.message.contains("nested"), "{issue:?}");
}

#[test]
fn deep_but_legal_nesting_is_fine() {
    let mut item = json!({"linkId": "leaf", "answer": [{"valueString": "x"}]});
    for level in 0..30 {
        item = json!({"linkId": format!("l{level}"), "answer": [{"valueInteger": level, "item": [item]}]});
    }
    let qr =
        json!({"resourceType": "QuestionnaireResponse", "status": "completed", "item": [item]});
    assert_valid("QuestionnaireResponse", &qr);
}
