use std::collections::HashSet;

use serde_json::{Value, json};

use super::*;

const C: &str = "https://fhir.carebridge.uk";

fn pseudonyms() -> Pseudonyms {
    Pseudonyms::new("key", "group")
}

/// Every string in `v`, keys and values.
fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().flat_map(strings).collect(),
        Value::Object(o) => o
            .iter()
            .flat_map(|(k, v)| std::iter::once(k.clone()).chain(strings(v)))
            .collect(),
        _ => Vec::new(),
    }
}

fn leaks(v: &Value, secrets: &[&str]) -> Vec<String> {
    let text = v.to_string();
    secrets
        .iter()
        .filter(|s| text.contains(**s))
        .map(|s| (*s).to_owned())
        .collect()
}

#[test]
fn a_patient_keeps_gender_and_birth_year_only() {
    let body = json!({"resourceType": "Patient", "id": "ann", "gender": "female",
        "birthDate": "1956-05-10", "name": [{"family": "Abbott", "given": ["Ann"]}],
        "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765919"}],
        "address": [{"postalCode": "LS1 4AB"}], "telecom": [{"value": "0113 496 0000"}],
        "generalPractitioner": [{"reference": "Organization/gp1"}],
        "text": {"status": "generated", "div": "<div>Ann Abbott</div>"}});
    let p = pseudonyms();
    let out = patient(&p, "ann", &body);
    assert_eq!(
        out,
        json!({"resourceType": "Patient", "id": p.of(ResourceType::Patient, "ann"),
            "meta": {"security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
                "code": "PSEUDED"}]},
            "gender": "female", "birthDate": "1956"})
    );
    assert!(
        leaks(
            &out,
            &["ann", "Abbott", "9434765919", "LS1", "gp1", "05-10"]
        )
        .is_empty()
    );
}

#[test]
fn an_hna_keeps_scores_and_codes_and_drops_free_text() {
    let body = json!({"resourceType": "QuestionnaireResponse", "id": "h1",
    "meta": {"profile": [format!("{C}/StructureDefinition/hna-questionnaireresponse")]},
    "text": {"status": "generated", "div": "<div>Ann's HNA</div>"},
    "identifier": {"system": format!("{C}/Id/legacy-hna"), "value": "site:123"},
    "questionnaire": format!("{C}/Questionnaire/hna"), "status": "completed",
    "subject": {"reference": "Patient/ann", "display": "Ann Abbott"},
    "author": {"reference": "Organization/lw1", "display": "Link workers"},
    "source": {"reference": "Practitioner/pr1"},
    "authored": "2026-02-01T09:30:00Z",
    "item": [
        {"linkId": "physical", "text": "Physical", "item": [
            {"linkId": "breathing", "text": "Breathing", "answer": [{"valueInteger": 6}]},
            {"linkId": "pain", "answer": [{"valueInteger": 0}]}]},
        {"linkId": "distress-thermometer", "answer": [{"valueInteger": 5}]},
        {"linkId": "what-matters-most", "answer": [{"valueString": "Getting home to Leeds"}]},
        {"linkId": "point-of-pathway", "answer": [{"valueCoding": {
            "system": format!("{C}/CodeSystem/hna-point-of-pathway"), "code": "diagnosis",
            "display": "At diagnosis"}}]},
        {"linkId": "unknown-item", "answer": [{"valueInteger": 1}]},
        {"linkId": "emotional", "item": [
            {"linkId": "worry-fear-anxiety", "answer": [{"valueString": "Scared"}]}]}
    ]});
    let p = pseudonyms();
    let out = hna(&p, "h1", Some("ann"), &body);
    assert_eq!(
        out["id"],
        json!(p.of(ResourceType::QuestionnaireResponse, "h1"))
    );
    assert_eq!(
        out["subject"],
        json!({"reference": p.reference(ResourceType::Patient, "ann")})
    );
    assert_eq!(out["authored"], "2026-02-01");
    assert_eq!(out["author"], json!({"reference": "Organization/lw1"}));
    assert_eq!(out["status"], "completed");
    assert_eq!(
        out["item"],
        json!([
            {"linkId": "physical", "item": [
                {"linkId": "breathing", "answer": [{"valueInteger": 6}]},
                {"linkId": "pain", "answer": [{"valueInteger": 0}]}]},
            {"linkId": "distress-thermometer", "answer": [{"valueInteger": 5}]},
            {"linkId": "point-of-pathway", "answer": [{"valueCoding": {
                "system": format!("{C}/CodeSystem/hna-point-of-pathway"), "code": "diagnosis"}}]}
        ])
    );
    let secrets = [
        "h1",
        "Patient/ann",
        "Abbott",
        "Leeds",
        "Scared",
        "site:123",
        "pr1",
        "09:30",
        "Ann's",
        "hna-questionnaireresponse",
        "unknown-item",
    ];
    assert!(
        leaks(&out, &secrets).is_empty(),
        "{:?}",
        leaks(&out, &secrets)
    );
}

#[test]
fn a_plan_keeps_its_coded_activities_and_the_extracts_hnas_only() {
    let canonical = Canonical::new(C);
    let body = json!({"resourceType": "CarePlan", "id": "cp1", "status": "active",
    "intent": "plan", "title": "Ann's plan", "description": "Lives alone on Elm Street",
    "note": [{"text": "Daughter helps"}],
    "extension": [
        {"url": canonical.shared_with_extension(), "valueCode": "gp"},
        {"url": "https://example.org/other", "valueString": "x"}],
    "category": [{"coding": [{"system": "http://snomed.info/sct", "code": "734163000",
        "display": "Care plan"}], "text": "PCSP"}],
    "subject": {"reference": "Patient/ann", "display": "Ann"},
    "created": "2026-02-02T10:00:00Z",
    "period": {"start": "2026-02-02"},
    "author": {"reference": "Practitioner/pr1"},
    "supportingInfo": [{"reference": "QuestionnaireResponse/h1"},
        {"reference": "QuestionnaireResponse/h-elsewhere"}, {"reference": "Condition/c1"}],
    "activity": [
        {"outcomeCodeableConcept": [{"coding": [{"system": "http://snomed.info/sct",
            "code": "385669000"}], "text": "Moved flat"}],
         "progress": [{"text": "Called on Monday"}],
         "detail": {"extension": [{"url": canonical.domain_extension(), "valueCoding": {
                "system": format!("{C}/CodeSystem/hna-domain"), "code": "practical"}}],
            "kind": "ServiceRequest",
            "code": {"coding": [{"system": format!("{C}/CodeSystem/pcsp-action-type"),
                "code": "referral"}], "text": "Refer to housing"},
            "reasonCode": [{"coding": [{"system": format!("{C}/CodeSystem/hna-concern"),
                "code": "housing"}]}],
            "status": "in-progress", "description": "Call Mrs Abbott's landlord",
            "performer": [{"reference": "Organization/housing1"},
                {"reference": "Practitioner/pr2", "display": "J Smith"}]}},
        {"reference": {"reference": "ServiceRequest/sr1"}}
    ]});
    let p = pseudonyms();
    let hnas: HashSet<String> = ["h1".to_owned()].into();
    let out = plan(&p, "cp1", &body, &hnas, &canonical).expect("a Patient subject");
    assert_eq!(
        out["supportingInfo"],
        json!([{"reference": p.reference(ResourceType::QuestionnaireResponse, "h1")}])
    );
    assert_eq!(
        out["extension"],
        json!([{"url": canonical.shared_with_extension(), "valueCode": "gp"}])
    );
    assert_eq!(out["created"], "2026-02-02");
    assert_eq!(out["activity"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        out["activity"][0]["detail"]["performer"],
        json!([{"reference": "Organization/housing1"}])
    );
    assert_eq!(
        out["activity"][0]["detail"]["code"]["coding"][0]["code"],
        "referral"
    );
    assert_eq!(out["activity"][0]["detail"]["status"], "in-progress");
    let secrets = [
        "cp1",
        "Patient/ann",
        "Ann",
        "Elm",
        "Daughter",
        "Moved",
        "Monday",
        "Abbott",
        "pr1",
        "pr2",
        "Smith",
        "h-elsewhere",
        "Condition",
        "sr1",
        "PCSP",
        "Refer to",
        "other",
    ];
    assert!(
        leaks(&out, &secrets).is_empty(),
        "{:?}",
        leaks(&out, &secrets)
    );
    assert_eq!(performers(&body).collect::<Vec<_>>(), vec!["housing1"]);

    let mut group_plan = body.clone();
    group_plan["subject"] = json!({"reference": "Group/g1"});
    assert!(plan(&p, "cp1", &group_plan, &hnas, &canonical).is_none());
}

#[test]
fn an_organization_keeps_what_it_publishes() {
    let body = json!({"resourceType": "Organization", "id": "lw1", "name": "Link workers",
        "active": true, "telecom": [{"value": "0113 496 0001"}],
        "identifier": [{"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "TST01"},
            {"system": "https://example.org/internal", "value": "secret-42"}],
        "contact": [{"name": {"family": "Jones"}}]});
    let out = organization(&body);
    assert_eq!(
        out,
        json!({"resourceType": "Organization", "id": "lw1",
            "identifier": [{"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "TST01"}],
            "active": true, "name": "Link workers"})
    );
    assert!(
        strings(&out)
            .iter()
            .all(|s| s != "secret-42" && s != "Jones")
    );
}
