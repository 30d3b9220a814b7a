//! Unit tests for [`crate::validate`]. Each builds a small resource, validates it and checks the
//! exact outcome, so a regression in the parse, the key comparison or the paths fails a test.

mod invalid;
mod robustness;
mod valid;

use serde_json::{Value, json};

use crate::{Issue, validate};

/// Validates and returns the single issue, failing the test if there is not exactly one.
pub(super) fn single_issue(resource_type: &str, resource: &Value) -> Issue {
    match validate(resource_type, resource) {
        Ok(()) => panic!("expected an issue, got Ok for {resource}"),
        Err(mut issues) if issues.len() == 1 => issues.remove(0),
        Err(issues) => panic!("expected one issue, got {issues:?}"),
    }
}

/// Asserts the resource is valid, printing the issues otherwise.
pub(super) fn assert_valid(resource_type: &str, resource: &Value) {
    assert_eq!(validate(resource_type, resource), Ok(()), "{resource}");
}

pub(super) fn questionnaire_response() -> Value {
    json!({
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "questionnaire": "https://example.org/Questionnaire/phq9",
        "subject": {"reference": "Patient/123"},
        "authored": "2024-05-01T10:15:00Z",
        "item": [
            {"linkId": "1", "text": "Age", "answer": [{"valueInteger": 42}]},
            {"linkId": "2", "item": [
                {"linkId": "2.1", "answer": [
                    {"valueString": "fine", "item": [{"linkId": "2.1.1", "answer": [{"valueBoolean": true}]}]}
                ]},
                {"linkId": "2.2", "answer": [{"valueCoding": {"system": "http://loinc.org", "code": "LA6568-5"}}]}
            ]},
            {"linkId": "3", "answer": [{"valueDecimal": 1.0}, {"valueDate": "2024-05-01"}]}
        ]
    })
}

pub(super) fn care_plan() -> Value {
    json!({
        "resourceType": "CarePlan",
        "status": "active",
        "intent": "plan",
        "subject": {"reference": "Patient/123"},
        "period": {"start": "2024-01-01"},
        "activity": [
            {"detail": {
                "kind": "ServiceRequest",
                "code": {"coding": [{"system": "http://snomed.info/sct", "code": "229065009"}]},
                "status": "scheduled",
                "scheduledPeriod": {"start": "2024-02-01", "end": "2024-03-01"},
                "description": "Physiotherapy"
            }},
            {"reference": {"reference": "ServiceRequest/9"}, "progress": [{"text": "Booked"}]}
        ]
    })
}
