//! Unit tests for [`crate::validate`]. Each builds a small resource, validates it and checks the
//! exact outcome, so a regression in the parse, the key comparison or the paths fails a test.

use serde_json::{Value, json};

use crate::{Issue, IssueKind, SUPPORTED_TYPES, is_supported, validate};

/// Validates and returns the single issue, failing the test if there is not exactly one.
fn single_issue(resource_type: &str, resource: &Value) -> Issue {
    match validate(resource_type, resource) {
        Ok(()) => panic!("expected an issue, got Ok for {resource}"),
        Err(mut issues) if issues.len() == 1 => issues.remove(0),
        Err(issues) => panic!("expected one issue, got {issues:?}"),
    }
}

/// Asserts the resource is valid, printing the issues otherwise.
fn assert_valid(resource_type: &str, resource: &Value) {
    assert_eq!(validate(resource_type, resource), Ok(()), "{resource}");
}

fn questionnaire_response() -> Value {
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

fn care_plan() -> Value {
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

#[test]
fn supported_types_are_exactly_the_served_ones() {
    assert_eq!(SUPPORTED_TYPES.len(), 18);
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
