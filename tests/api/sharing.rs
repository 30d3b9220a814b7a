//! Fixtures shared by the consent tests: organisations with ODS codes, PCSP care plans whose
//! activities carry a domain, concern and performer, and sharing Consents.

use serde_json::{Value, json};

/// The project's canonical base (the tests' servers keep the default).
pub const CANON: &str = "https://fhir.carebridge.uk";
/// The ODS organisation code system.
pub const ODS: &str = "https://fhir.nhs.uk/Id/ods-organization-code";

/// `{"reference": "Type/id"}`.
pub fn reference(t: &str, id: &str) -> Value {
    json!({"reference": format!("{t}/{id}")})
}

/// An Organization with ODS code `code`.
pub fn org(name: &str, code: &str) -> Value {
    json!({"resourceType": "Organization", "name": name,
        "identifier": [{"system": ODS, "value": code}]})
}

/// A care-plan activity about `concern` (of `domain`), performed by Organization `performer`.
pub fn activity(domain: &str, concern: &str, performer: Option<&str>) -> Value {
    let mut detail = json!({
        "extension": [{"url": format!("{CANON}/StructureDefinition/concern-domain"),
            "valueCoding": {"system": format!("{CANON}/CodeSystem/hna-domain"), "code": domain}}],
        "reasonCode": [{"coding": [{"system": format!("{CANON}/CodeSystem/hna-concern"), "code": concern}]}],
        "status": "not-started"});
    if let Some(p) = performer {
        detail["performer"] = json!([reference("Organization", p)]);
    }
    json!({"detail": detail})
}

/// A care plan of `patient` that the person shared with `shared_with` (`gp`, `cns`...).
pub fn plan(patient: &str, shared_with: &str, activities: Vec<Value>) -> Value {
    json!({"resourceType": "CarePlan", "status": "active", "intent": "plan",
        "subject": reference("Patient", patient),
        "extension": [{"url": format!("{CANON}/StructureDefinition/pcsp-shared-with"), "valueCode": shared_with}],
        "description": "Distress 7/10; what matters most: my children",
        "activity": activities})
}

/// An active sharing Consent of `patient` with `provision`.
pub fn consent(patient: &str, provision: Value) -> Value {
    json!({"resourceType": "Consent", "status": "active",
        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": reference("Patient", patient), "provision": provision})
}

/// A provision actor naming a sharing role (and an organisation, or none).
pub fn role_actor(role: &str, organization: Option<&str>) -> Value {
    let who = match organization {
        Some(o) => reference("Organization", o),
        None => json!({"display": "any organisation in that role"}),
    };
    json!({"role": {"coding": [{"system": format!("{CANON}/CodeSystem/sharing-role"), "code": role}]},
        "reference": who})
}

/// The concerns of a care plan's activities, in order.
pub fn concerns(plan: &Value) -> Vec<String> {
    plan["activity"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["detail"]["reasonCode"][0]["coding"][0]["code"].as_str())
        .map(str::to_owned)
        .collect()
}
