//! Valid resources must pass: no false positives from the typed parse or the key comparison.

use serde_json::json;

use super::{assert_valid, care_plan, questionnaire_response, single_issue};
use crate::{IssueKind, SUPPORTED_TYPES, is_supported, validate};

#[test]
fn supported_types_are_exactly_the_served_ones() {
    assert_eq!(SUPPORTED_TYPES.len(), 23);
    assert!(SUPPORTED_TYPES.iter().all(|t| is_supported(t)));
    assert!(!is_supported("Observation"));
    assert!(!is_supported("patient"));
    // Every supported type dispatches to a model: its minimal body is not "unsupported".
    for t in SUPPORTED_TYPES {
        let result = validate(t, &json!({"resourceType": t}));
        let unsupported = result
            .err()
            .into_iter()
            .flatten()
            .any(|i| i.path == *t && i.message.contains("Unsupported"));
        assert!(!unsupported, "{t}");
    }
}

#[test]
fn valid_minimal_and_typical_patient() {
    assert_valid("Patient", &json!({"resourceType": "Patient"}));
    assert_valid(
        "Patient",
        &json!({
            "resourceType": "Patient", "id": "p1", "meta": {"versionId": "1"},
            "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9000000009"}],
            "name": [{"family": "Smith", "given": ["Jo", "Ann"]}],
            "gender": "female", "birthDate": "1970-01-31", "active": true,
            "deceasedBoolean": false,
            "extension": [{"url": "https://example.org/ext", "valueDecimal": 1.0}]
        }),
    );
}

#[test]
fn valid_questionnaire_response_with_nested_items() {
    assert_valid("QuestionnaireResponse", &questionnaire_response());
}

#[test]
fn valid_care_plan_with_activities() {
    assert_valid("CarePlan", &care_plan());
}

#[test]
fn primitive_extensions_are_accepted() {
    let ext = json!({"extension": [{"url": "https://example.org/precision", "valueCode": "day"}]});
    assert_valid(
        "Patient",
        &json!({
            "resourceType": "Patient", "birthDate": "1970-01-01", "_birthDate": ext,
            "name": [{"given": ["Jo", "Ann"], "_given": [null, {"id": "g2"}]}]
        }),
    );
    // Extension-only primitive (no value) is allowed in FHIR and by the model.
    assert_valid(
        "Patient",
        &json!({"resourceType": "Patient", "_gender": ext}),
    );
    // But the extension object itself is still checked for unknown keys.
    let issue = single_issue(
        "Patient",
        &json!({"resourceType": "Patient", "_birthDate": {"bogus": 1}}),
    );
    assert_eq!(issue.path, "Patient._birthDate.bogus");
}

#[test]
fn decimals_do_not_cause_false_unknown_elements() {
    let questionnaire = json!({
        "resourceType": "Questionnaire", "status": "active",
        "item": [{"linkId": "w", "type": "decimal", "initial": [{"valueDecimal": 1.0}, {"valueDecimal": 1}, {"valueDecimal": 0.1}],
                  "extension": [{"url": "https://example.org/max", "valueDecimal": 250.50}]}]
    });
    assert_valid("Questionnaire", &questionnaire);
    let goal = json!({
        "resourceType": "Goal", "lifecycleStatus": "active",
        "description": {"text": "Lose weight"}, "subject": {"reference": "Patient/1"},
        "target": [{"detailQuantity": {"value": 70, "unit": "kg"}, "dueDate": "2025-01-01"}]
    });
    assert_valid("Goal", &goal);
}

#[test]
fn empty_and_null_values_are_not_unknown_elements() {
    assert_valid(
        "Patient",
        &json!({"resourceType": "Patient", "identifier": [], "birthDate": null, "meta": {}}),
    );
    // fhir-sdk itself rejects null for a repeating element (FHIR forbids null anyway).
    let issue = single_issue(
        "Patient",
        &json!({"resourceType": "Patient", "telecom": null}),
    );
    assert_eq!(
        (issue.path.as_str(), issue.kind),
        ("Patient.telecom", IssueKind::Structure)
    );
}
