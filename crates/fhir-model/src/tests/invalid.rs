//! Invalid resources must fail with the right path, kind and message.

use serde_json::{Value, json};

use super::{assert_valid, care_plan, questionnaire_response, single_issue};
use crate::{IssueKind, validate};

#[test]
fn unknown_top_level_element() {
    let issue = single_issue("Patient", &json!({"resourceType": "Patient", "foo": 1}));
    assert_eq!(issue.path, "Patient.foo");
    assert_eq!(issue.kind, IssueKind::Structure);
    assert_eq!(issue.message, "Unknown element 'foo'");
}

#[test]
fn unknown_nested_elements_have_indexed_paths() {
    let patient = json!({"resourceType": "Patient", "identifier": [{"value": "a"}, {"value": "b", "sytem": "x"}]});
    let issue = single_issue("Patient", &patient);
    assert_eq!(issue.path, "Patient.identifier[1].sytem");
    assert_eq!(issue.kind, IssueKind::Structure);

    let mut qr = questionnaire_response();
    qr["item"][1]["item"][0]["answer"][0]["item"][0]["bogus"] = json!({"x": 1});
    qr["item"][2]["answer"][1]["valueFoo"] = json!("x");
    let Err(issues) = validate("QuestionnaireResponse", &qr) else {
        panic!("unknown elements accepted")
    };
    let paths: Vec<&str> = issues.iter().map(|i| i.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "QuestionnaireResponse.item[1].item[0].answer[0].item[0].bogus",
            "QuestionnaireResponse.item[2].answer[1].valueFoo",
        ]
    );
    assert!(
        issues
            .iter()
            .all(|i| i.kind == IssueKind::Structure && i.message.starts_with("Unknown element"))
    );
}

#[test]
fn unknown_element_inside_contained_resource() {
    let mut patient = json!({"resourceType": "Patient", "contained": [{"resourceType": "Organization", "id": "o", "name": "GP"}]});
    assert_valid("Patient", &patient);
    patient["contained"][0]["colour"] = json!("blue");
    assert_eq!(
        single_issue("Patient", &patient).path,
        "Patient.contained[0].colour"
    );
}

#[test]
fn wrong_primitive_type() {
    let issue = single_issue(
        "Patient",
        &json!({"resourceType": "Patient", "birthDate": 12}),
    );
    assert_eq!(issue.path, "Patient.birthDate");
    assert_eq!(issue.kind, IssueKind::Value);
    assert_eq!(
        issue.message,
        "Wrong type: found integer, expected a string"
    );
}

#[test]
fn wrong_json_shape_is_structure() {
    let issue = single_issue(
        "Patient",
        &json!({"resourceType": "Patient", "name": "Smith"}),
    );
    assert_eq!(
        (issue.path.as_str(), issue.kind),
        ("Patient.name", IssueKind::Structure)
    );
    let issue = single_issue(
        "Patient",
        &json!({"resourceType": "Patient", "name": [{"given": "Jo"}]}),
    );
    assert_eq!(
        (issue.path.as_str(), issue.kind),
        ("Patient.name[0].given", IssueKind::Structure)
    );
}

#[test]
fn bad_code() {
    let issue = single_issue(
        "Patient",
        &json!({"resourceType": "Patient", "gender": "unknown-x"}),
    );
    assert_eq!(issue.path, "Patient.gender");
    assert_eq!(issue.kind, IssueKind::Value);
    assert_eq!(issue.message, "Invalid code 'unknown-x'");
    // Codes of contained resources' types go through serde's enum machinery instead.
    let patient = json!({"resourceType": "Patient", "contained": [{"resourceType": "Bogus"}]});
    let issue = single_issue("Patient", &patient);
    assert_eq!(
        (issue.path.as_str(), issue.kind),
        ("Patient.contained[0].resourceType", IssueKind::Value)
    );
    assert!(
        issue
            .message
            .starts_with("Invalid code 'Bogus' (expected one of: "),
        "{}",
        issue.message
    );
}

#[test]
fn bad_dates() {
    for date in ["2020-13-45", "2020-02-30", "yesterday"] {
        let issue = single_issue(
            "Patient",
            &json!({"resourceType": "Patient", "birthDate": date}),
        );
        assert_eq!(
            (issue.path.as_str(), issue.kind),
            ("Patient.birthDate", IssueKind::Value),
            "{date}"
        );
    }
    // Parsed as year 12 by fhir-sdk but refused on re-serialisation.
    let issue = single_issue(
        "Patient",
        &json!({"resourceType": "Patient", "birthDate": "12"}),
    );
    assert_eq!(
        (issue.path.as_str(), issue.kind),
        ("Patient.birthDate", IssueKind::Value)
    );
}

#[test]
fn bad_choice_values_are_value_issues() {
    let mut qr = questionnaire_response();
    qr["item"][0]["answer"][0] = json!({"valueInteger": "five"});
    let issue = single_issue("QuestionnaireResponse", &qr);
    assert_eq!(
        issue.path,
        "QuestionnaireResponse.item[0].answer[0].valueInteger"
    );
    assert_eq!(issue.kind, IssueKind::Value);
    assert_eq!(
        issue.message,
        "Invalid value for 'valueInteger': expected an integer"
    );

    let mut qr = questionnaire_response();
    qr["item"][2]["answer"][1]["valueDate"] = json!("2020-13-45");
    let issue = single_issue("QuestionnaireResponse", &qr);
    assert_eq!(
        issue.path,
        "QuestionnaireResponse.item[2].answer[1].valueDate"
    );
    assert_eq!(issue.kind, IssueKind::Value);

    // A well-formed value of a type the choice does not allow is an unknown element.
    let mut qr = questionnaire_response();
    qr["item"][0]["answer"][0] = json!({"valueCodeableConcept": {"text": "x"}});
    let issue = single_issue("QuestionnaireResponse", &qr);
    assert_eq!(issue.kind, IssueKind::Structure);
    assert_eq!(
        issue.path,
        "QuestionnaireResponse.item[0].answer[0].valueCodeableConcept"
    );
}

#[test]
fn missing_required_elements() {
    let mut qr = questionnaire_response();
    qr.as_object_mut().map(|o| o.remove("status"));
    let issue = single_issue("QuestionnaireResponse", &qr);
    assert_eq!(issue.path, "QuestionnaireResponse.status");
    assert_eq!(issue.kind, IssueKind::Required);
    assert_eq!(issue.message, "Missing required element 'status'");

    for field in ["intent", "subject", "status"] {
        let mut plan = care_plan();
        plan.as_object_mut().map(|o| o.remove(field));
        let issue = single_issue("CarePlan", &plan);
        assert_eq!(issue.path, format!("CarePlan.{field}"));
        assert_eq!(issue.kind, IssueKind::Required);
    }

    let mut plan = care_plan();
    plan["activity"][0]["detail"]
        .as_object_mut()
        .map(|o| o.remove("status"));
    let issue = single_issue("CarePlan", &plan);
    assert_eq!(issue.path, "CarePlan.activity[0].detail.status");
    assert_eq!(issue.kind, IssueKind::Required);
}

#[test]
fn resource_type_must_match() {
    let issue = single_issue("Patient", &json!({"resourceType": "Practitioner"}));
    assert_eq!(
        (issue.path.as_str(), issue.kind),
        ("Patient.resourceType", IssueKind::Structure)
    );
    let issue = single_issue("Patient", &json!({"id": "x"}));
    assert_eq!(
        (issue.path.as_str(), issue.kind),
        ("Patient.resourceType", IssueKind::Required)
    );
    let issue = single_issue("Patient", &json!({"resourceType": 7}));
    assert_eq!(
        (issue.path.as_str(), issue.kind),
        ("Patient.resourceType", IssueKind::Structure)
    );
}

#[test]
fn unsupported_type() {
    let issue = single_issue("Observation", &json!({"resourceType": "Observation"}));
    assert_eq!(
        (issue.path.as_str(), issue.kind),
        ("Observation", IssueKind::Structure)
    );
}

#[test]
fn required_choice_element() {
    let questionnaire = |enable_when: Value| {
        json!({"resourceType": "Questionnaire", "status": "active", "item": [
            {"linkId": "1", "type": "boolean"},
            {"linkId": "2", "type": "string", "enableWhen": [enable_when]}
        ]})
    };
    let ok = json!({"question": "1", "operator": "=", "answerBoolean": true});
    assert_valid("Questionnaire", &questionnaire(ok));
    let missing = json!({"question": "1", "operator": "="});
    let issue = single_issue("Questionnaire", &questionnaire(missing));
    assert_eq!(issue.path, "Questionnaire.item[1].enableWhen[0]");
    assert_eq!(issue.kind, IssueKind::Required);
    let wrong = json!({"question": "1", "operator": "=", "answerBoolean": "yes"});
    let issue = single_issue("Questionnaire", &questionnaire(wrong));
    assert_eq!(issue.path, "Questionnaire.item[1].enableWhen[0]");
    assert_eq!(issue.kind, IssueKind::Value);
}
