//! The de-identified form of each resource of the extract, built by allow-list: a new resource
//! holding only the elements named here, so that anything a record gains later (a new extension,
//! a note, a name) stays out of the extract until someone decides it belongs in it.
//!
//! | type | kept |
//! |---|---|
//! | `Patient` | pseudonym, `gender`, the year of `birthDate` |
//! | `QuestionnaireResponse` | pseudonym, `questionnaire`, `status`, `subject` (pseudonym), the date of `authored`, `author` (the Organization), the items of the HNA questionnaire with integer, coded or boolean answers (never free text: `what-matters-most` and every string answer are dropped) |
//! | `CarePlan` | pseudonym, `status`, `intent`, `category`, `subject` (pseudonym), the date of `created`, `supportingInfo` to HNAs of the extract (pseudonyms), the shared-with extension; per activity its coded `outcomeCodeableConcept` and `detail` (`kind`, `code`, `reasonCode`, `status`, the domain extension, Organization performers) |
//! | `Organization` | `id`, ODS `identifier`, `active`, `type`, `name` (organisations are not people; the tables group by them) |
//!
//! Codings keep `system` and `code` only; every `text` and `display` goes, as does every
//! narrative, note, period, identifier of a person and reference to a person. Pseudonymised
//! resources carry the `PSEUDED` security label.

use std::collections::HashSet;
use std::sync::LazyLock;

use serde_json::{Map, Value, json};

use super::pseudonym::Pseudonyms;
use crate::fhir::ResourceType;
use crate::fhir::reference::ref_id;
use crate::hna::catalogue::{DOMAINS, concerns};
use crate::hna::{Canonical, LINK_COMPLETED_BY, LINK_DISTRESS, LINK_PATHWAY, LINK_SETTING};

// The ODS organisation code system: the only identifier an Organization keeps.

/// The security label of a pseudonymised resource (HL7 v3 ObservationValue `PSEUDED`).
fn pseudonymised() -> Value {
    json!({"security": [{
        "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
        "code": "PSEUDED"
    }]})
}

/// The HNA questionnaire's items whose answers are scores or codes: the domain groups, the
/// concerns, the Distress Thermometer and the coded context items.
static KEPT_ITEMS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    concerns()
        .iter()
        .map(|c| c.code.as_str())
        .chain(DOMAINS.iter().map(|(code, _)| *code))
        .chain([LINK_DISTRESS, LINK_PATHWAY, LINK_SETTING, LINK_COMPLETED_BY])
        .collect()
});

/// The de-identified Patient `id`.
pub fn patient(p: &Pseudonyms, id: &str, body: &Value) -> Value {
    let mut out = head(ResourceType::Patient, p.of(ResourceType::Patient, id));
    copy_str(body, &mut out, "gender");
    if let Some(year) = body
        .get("birthDate")
        .and_then(Value::as_str)
        .and_then(|d| d.get(0..4))
        .filter(|y| y.bytes().all(|b| b.is_ascii_digit()))
    {
        out.insert("birthDate".into(), json!(year));
    }
    Value::Object(out)
}

/// The de-identified HNA `id` about `patient` (an HNA without a Patient subject has none).
pub fn hna(p: &Pseudonyms, id: &str, patient: Option<&str>, body: &Value) -> Value {
    let rtype = ResourceType::QuestionnaireResponse;
    let mut out = head(rtype, p.of(rtype, id));
    copy_str(body, &mut out, "questionnaire");
    copy_str(body, &mut out, "status");
    if let Some(patient) = patient {
        out.insert(
            "subject".into(),
            json!({"reference": p.reference(ResourceType::Patient, patient)}),
        );
    }
    if let Some(day) = date_of(body.get("authored")) {
        out.insert("authored".into(), json!(day));
    }
    if let Some(org) = organization_ref(body.get("author")) {
        out.insert("author".into(), org);
    }
    let items = items(body.get("item"));
    if !items.is_empty() {
        out.insert("item".into(), Value::Array(items));
    }
    Value::Object(out)
}

/// The de-identified care plan `id`, citing only the HNAs in `hnas`; `None` when its subject is
/// not a Patient (the PCSP profile requires one).
pub fn plan(
    p: &Pseudonyms,
    id: &str,
    body: &Value,
    hnas: &HashSet<String>,
    canonical: &Canonical,
) -> Option<Value> {
    let subject = ref_id(body.pointer("/subject/reference")?.as_str()?, "Patient")?;
    let mut out = head(ResourceType::CarePlan, p.of(ResourceType::CarePlan, id));
    let shared = canonical.shared_with_extension();
    let extensions = extensions(body.get("extension"), &shared);
    if !extensions.is_empty() {
        out.insert("extension".into(), Value::Array(extensions));
    }
    copy_str(body, &mut out, "status");
    copy_str(body, &mut out, "intent");
    let category = concepts(body.get("category"));
    if !category.is_empty() {
        out.insert("category".into(), Value::Array(category));
    }
    out.insert(
        "subject".into(),
        json!({"reference": p.reference(ResourceType::Patient, subject)}),
    );
    if let Some(day) = date_of(body.get("created")) {
        out.insert("created".into(), json!(day));
    }
    let cited: Vec<Value> = array(body.get("supportingInfo"))
        .filter_map(|r| ref_id(r.get("reference")?.as_str()?, "QuestionnaireResponse"))
        .filter(|id| hnas.contains(*id))
        .map(|id| json!({"reference": p.reference(ResourceType::QuestionnaireResponse, id)}))
        .collect();
    if !cited.is_empty() {
        out.insert("supportingInfo".into(), Value::Array(cited));
    }
    let domain = canonical.domain_extension();
    let activities: Vec<Value> = array(body.get("activity"))
        .filter_map(|a| activity(a, &domain))
        .collect();
    if !activities.is_empty() {
        out.insert("activity".into(), Value::Array(activities));
    }
    Some(Value::Object(out))
}

/// The Organizations the extract names (authors and performers), as published bodies.
pub fn organization(body: &Value) -> Value {
    let mut out = Map::new();
    out.insert("resourceType".into(), json!("Organization"));
    copy_str(body, &mut out, "id");
    let ods: Vec<Value> = array(body.get("identifier"))
        .filter(|i| i.get("system").and_then(Value::as_str) == Some(crate::fhir::ods::SYSTEM))
        .filter_map(|i| {
            let value = i.get("value")?.as_str()?;
            Some(json!({"system": crate::fhir::ods::SYSTEM, "value": value}))
        })
        .collect();
    if !ods.is_empty() {
        out.insert("identifier".into(), Value::Array(ods));
    }
    if let Some(active) = body.get("active").filter(|a| a.is_boolean()) {
        out.insert("active".into(), active.clone());
    }
    let types = concepts(body.get("type"));
    if !types.is_empty() {
        out.insert("type".into(), Value::Array(types));
    }
    copy_str(body, &mut out, "name");
    Value::Object(out)
}

/// The ids of the Organizations a care plan's activities name as performers.
pub fn performers(body: &Value) -> impl Iterator<Item = &str> {
    array(body.get("activity"))
        .flat_map(|a| array(a.pointer("/detail/performer")))
        .filter_map(|r| ref_id(r.get("reference")?.as_str()?, "Organization"))
}

/// `resourceType`, `id` and the pseudonymised label.
fn head(rtype: ResourceType, id: String) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("resourceType".into(), json!(rtype.as_str()));
    out.insert("id".into(), json!(id));
    out.insert("meta".into(), pseudonymised());
    out
}

fn copy_str(from: &Value, to: &mut Map<String, Value>, key: &str) {
    if let Some(v) = from.get(key).filter(|v| v.is_string()) {
        to.insert(key.to_owned(), v.clone());
    }
}

fn array(v: Option<&Value>) -> impl Iterator<Item = &Value> {
    v.and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
}

/// The `YYYY-MM-DD` of a date or dateTime (a partial date is left out).
fn date_of(v: Option<&Value>) -> Option<&str> {
    let day = v?.as_str()?.get(0..10)?;
    crate::fhir::days::parse_ymd(day).map(|_| day)
}

/// A reference to an Organization, as `Organization/<id>`.
fn organization_ref(v: Option<&Value>) -> Option<Value> {
    let id = ref_id(v?.get("reference")?.as_str()?, "Organization")?;
    Some(json!({"reference": format!("Organization/{id}")}))
}

/// A Coding's `system` and `code`.
fn coding(c: &Value) -> Option<Value> {
    let code = c.get("code")?.as_str()?;
    let mut out = Map::new();
    if let Some(system) = c.get("system").and_then(Value::as_str) {
        out.insert("system".into(), json!(system));
    }
    out.insert("code".into(), json!(code));
    Some(Value::Object(out))
}

/// A CodeableConcept's codings, without its text; `None` when no coding has a code.
fn concept(c: &Value) -> Option<Value> {
    let codings: Vec<Value> = array(c.get("coding")).filter_map(coding).collect();
    (!codings.is_empty()).then(|| json!({"coding": codings}))
}

fn concepts(v: Option<&Value>) -> Vec<Value> {
    array(v).filter_map(concept).collect()
}

/// The extensions at `url` with a code or Coding value.
fn extensions(v: Option<&Value>, url: &str) -> Vec<Value> {
    array(v)
        .filter(|e| e.get("url").and_then(Value::as_str) == Some(url))
        .filter_map(|e| {
            if let Some(code) = e.get("valueCode").and_then(Value::as_str) {
                Some(json!({"url": url, "valueCode": code}))
            } else {
                let c = coding(e.get("valueCoding")?)?;
                Some(json!({"url": url, "valueCoding": c}))
            }
        })
        .collect()
}

/// A plan activity's coded outcome and detail; `None` without a detail (a reference-only activity
/// points at a resource the extract does not hold).
fn activity(a: &Value, domain_extension: &str) -> Option<Value> {
    let d = a.get("detail")?;
    let mut detail = Map::new();
    let ext = extensions(d.get("extension"), domain_extension);
    if !ext.is_empty() {
        detail.insert("extension".into(), Value::Array(ext));
    }
    copy_str(d, &mut detail, "kind");
    if let Some(code) = d.get("code").and_then(concept) {
        detail.insert("code".into(), code);
    }
    let reasons = concepts(d.get("reasonCode"));
    if !reasons.is_empty() {
        detail.insert("reasonCode".into(), Value::Array(reasons));
    }
    copy_str(d, &mut detail, "status");
    let performers: Vec<Value> = array(d.get("performer"))
        .filter_map(|r| organization_ref(Some(r)))
        .collect();
    if !performers.is_empty() {
        detail.insert("performer".into(), Value::Array(performers));
    }
    let mut out = Map::new();
    let outcomes = concepts(a.get("outcomeCodeableConcept"));
    if !outcomes.is_empty() {
        out.insert("outcomeCodeableConcept".into(), Value::Array(outcomes));
    }
    out.insert("detail".into(), Value::Object(detail));
    Some(Value::Object(out))
}

/// The HNA questionnaire's items with their score, code or boolean answers; an item left with
/// neither an answer nor a child is dropped.
fn items(v: Option<&Value>) -> Vec<Value> {
    array(v)
        .filter_map(|item| {
            let link = item.get("linkId")?.as_str()?;
            if !KEPT_ITEMS.contains(link) {
                return None;
            }
            let answers: Vec<Value> = array(item.get("answer")).filter_map(answer).collect();
            let children = items(item.get("item"));
            if answers.is_empty() && children.is_empty() {
                return None;
            }
            let mut out = Map::new();
            out.insert("linkId".into(), json!(link));
            if !answers.is_empty() {
                out.insert("answer".into(), Value::Array(answers));
            }
            if !children.is_empty() {
                out.insert("item".into(), Value::Array(children));
            }
            Some(Value::Object(out))
        })
        .collect()
}

fn answer(a: &Value) -> Option<Value> {
    if let Some(n) = a.get("valueInteger").filter(|n| n.is_i64()) {
        Some(json!({"valueInteger": n}))
    } else if let Some(b) = a.get("valueBoolean").filter(|b| b.is_boolean()) {
        Some(json!({"valueBoolean": b}))
    } else {
        Some(json!({"valueCoding": coding(a.get("valueCoding")?)?}))
    }
}

#[cfg(test)]
mod tests;
