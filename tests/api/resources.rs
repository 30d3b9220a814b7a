//! Small, valid R4 resources for the tests, shaped like what UK clients send.

use serde_json::{Value, json};

use crate::helpers::NHS;

/// The NHS number the brief's examples use (valid check digit).
pub const JANE_NHS: &str = "9434765919";

/// A local hospital identifier system (MRN), for token searches that need a non-NHS system.
pub const MRN: &str = "https://fhir.leedsth.nhs.uk/Id/mrn";

/// The ODS code system.
pub const ODS: &str = "https://fhir.nhs.uk/Id/ods-organization-code";

/// A valid NHS number (Modulus 11) for each `seed`; different seeds give different numbers.
pub fn nhs_number(seed: u32) -> String {
    // Of two neighbouring bases, at most one has check digit 10, so one of them is always valid.
    let first = 900_000_000 + seed * 2;
    [first, first + 1]
        .iter()
        .find_map(|base| {
            let digits = format!("{base:09}");
            let sum: u32 = digits
                .chars()
                .filter_map(|c| c.to_digit(10))
                .zip((2..=10).rev())
                .map(|(d, w)| d * w)
                .sum();
            match 11 - sum % 11 {
                10 => None,
                11 => Some(format!("{digits}0")),
                c => Some(format!("{digits}{c}")),
            }
        })
        .expect("one of two neighbouring bases has a valid check digit")
}

/// A Patient with an NHS number and a name.
pub fn patient(nhs: &str, family: &str, given: &str) -> Value {
    json!({
        "resourceType": "Patient",
        "identifier": [{"system": NHS, "value": nhs}],
        "name": [{"use": "official", "family": family, "given": [given]}],
        "gender": "female",
        "birthDate": "1961-07-14"
    })
}

/// A Patient with only a family name (for string searches).
pub fn patient_named(family: &str) -> Value {
    json!({"resourceType": "Patient", "name": [{"family": family, "given": ["Alex"]}]})
}

/// A Patient with the given identifiers (`(system, value)`; an empty system is left out).
pub fn patient_with_identifiers(ids: &[(&str, &str)]) -> Value {
    let identifiers: Vec<Value> = ids
        .iter()
        .map(|(s, v)| {
            if s.is_empty() {
                json!({"value": v})
            } else {
                json!({"system": s, "value": v})
            }
        })
        .collect();
    json!({"resourceType": "Patient", "identifier": identifiers})
}

/// An Organization with an ODS code.
pub fn organization(ods: &str, name: &str) -> Value {
    json!({
        "resourceType": "Organization",
        "identifier": [{"system": ODS, "value": ods}],
        "active": true,
        "name": name
    })
}

/// A personalised care and support plan for `subject` (a reference such as `Patient/x`).
pub fn care_plan(subject: &str, status: &str) -> Value {
    json!({
        "resourceType": "CarePlan",
        "status": status,
        "intent": "plan",
        "title": "Personalised care and support plan",
        "subject": {"reference": subject}
    })
}

/// An HNA QuestionnaireResponse for `subject`, authored at `authored`, with one scored concern.
pub fn hna(subject: &str, authored: &str) -> Value {
    json!({
        "resourceType": "QuestionnaireResponse",
        "questionnaire": "https://fhir.carebridge.uk/Questionnaire/hna",
        "status": "completed",
        "subject": {"reference": subject},
        "authored": authored,
        "item": [
            {"linkId": "physical", "item": [
                {"linkId": "fatigue", "text": "Tired, exhausted or fatigued", "answer": [{"valueInteger": 7}]}
            ]},
            {"linkId": "distress-thermometer", "answer": [{"valueInteger": 5}]},
            {"linkId": "point-of-pathway", "answer": [{"valueCoding": {
                "system": "https://fhir.carebridge.uk/CodeSystem/hna-point-of-pathway", "code": "diagnosis"}}]}
        ]
    })
}

/// A referral for `subject` to `performer`, from a hospital.
pub fn referral(subject: &str, performer: &str, status: &str) -> Value {
    json!({
        "resourceType": "ServiceRequest",
        "status": status,
        "intent": "order",
        "category": [{"coding": [{"system": "http://snomed.info/sct", "code": "3457005"}]}],
        "code": {"text": "Referral to community link worker"},
        "subject": {"reference": subject},
        "authoredOn": "2026-11-20",
        "requester": {"reference": "Organization/city-hospital"},
        "performer": [{"reference": performer}]
    })
}

/// A Provenance recording who wrote `target`.
pub fn provenance(target: &str) -> Value {
    json!({
        "resourceType": "Provenance",
        "target": [{"reference": target}],
        "recorded": "2026-02-10T14:31:00Z",
        "agent": [{"who": {"reference": "PractitionerRole/cns-okafor"}}]
    })
}

/// A transaction or batch Bundle entry.
pub fn entry(method: &str, url: &str, resource: Option<Value>) -> Value {
    let mut e = json!({"request": {"method": method, "url": url}});
    if let Some(r) = resource {
        e["resource"] = r;
    }
    e
}

/// A Bundle of `kind` (`transaction` or `batch`).
pub fn bundle(kind: &str, entries: Vec<Value>) -> Value {
    json!({"resourceType": "Bundle", "type": kind, "entry": entries})
}
