//! Validation of an incoming resource before anything is written: structure and types through the
//! typed model (`carebridge-model`, fhir-sdk), then this gateway's own rules: id grammar and URL/body
//! agreement, reference format, and NHS number check digits. Every issue names its element.

use std::fmt::Write as _;

use serde_json::Value;

use super::{OutcomeIssue, ResourceType, id, nhs_number};
use crate::fhir::Refusal;

/// What the URL says about the body's id.
#[derive(Debug, Clone, Copy)]
pub enum IdRule<'a> {
    /// Create: any id in the body is ignored (the server assigns one).
    Ignored,
    /// Update: the body's id must be present and equal this.
    MustEqual(&'a str),
}

/// Checks `body` as a resource of `rtype`. Structural faults are 400; business rules (NHS numbers)
/// are 422.
pub fn validate(rtype: ResourceType, body: &Value, id_rule: IdRule<'_>) -> Result<(), Refusal> {
    let root = rtype.as_str();
    let Some(obj) = body.as_object() else {
        return Err(Refusal::Invalid(vec![
            OutcomeIssue::error("structure", "The body must be a JSON object").at(root),
        ]));
    };
    match obj.get("resourceType").and_then(Value::as_str) {
        Some(t) if t == root => {}
        Some(_) => {
            return Err(Refusal::Invalid(vec![
                OutcomeIssue::error(
                    "invalid",
                    format!("resourceType must be {root} for this URL"),
                )
                .at(format!("{root}.resourceType")),
            ]));
        }
        None => {
            return Err(Refusal::Invalid(vec![
                OutcomeIssue::error("required", "resourceType is missing")
                    .at(format!("{root}.resourceType")),
            ]));
        }
    }
    check_id(root, obj.get("id"), id_rule)?;
    let mut structural = Vec::new();
    let mut business = Vec::new();
    walk(body, &mut root.to_owned(), &mut structural, &mut business);
    if !structural.is_empty() {
        return Err(Refusal::Invalid(structural));
    }
    if let Err(issues) = carebridge_model::validate(root, body) {
        return Err(Refusal::Invalid(
            issues.into_iter().map(model_issue).collect(),
        ));
    }
    if !business.is_empty() {
        return Err(Refusal::BusinessRule(business));
    }
    Ok(())
}

fn check_id(root: &str, body_id: Option<&Value>, rule: IdRule<'_>) -> Result<(), Refusal> {
    let at = format!("{root}.id");
    let bad = |code, msg: &str| {
        Err(Refusal::Invalid(vec![
            OutcomeIssue::error(code, msg).at(at.clone()),
        ]))
    };
    match (rule, body_id) {
        (IdRule::Ignored, _) => Ok(()),
        (IdRule::MustEqual(_), None) => bad(
            "required",
            "The resource must carry the id given in the URL",
        ),
        (IdRule::MustEqual(url_id), Some(Value::String(s))) => {
            if !id::is_valid_id(s) {
                bad("value", "id must be 1-64 letters, digits, '-' or '.'")
            } else if s != url_id {
                bad(
                    "invalid",
                    "The id in the body differs from the id in the URL",
                )
            } else {
                Ok(())
            }
        }
        (IdRule::MustEqual(_), Some(_)) => bad("structure", "id must be a string"),
    }
}

fn model_issue(i: carebridge_model::Issue) -> OutcomeIssue {
    let code = match i.kind {
        carebridge_model::IssueKind::Structure => "structure",
        carebridge_model::IssueKind::Required => "required",
        carebridge_model::IssueKind::Value => "value",
    };
    OutcomeIssue::error(code, i.message).at(i.path)
}

/// `obj[name]` by a scan of the keys: FHIR objects are small, and comparing a few keys is cheaper
/// than hashing the name, which this walk would do for every object of every resource written.
fn field<'a>(obj: &'a serde_json::Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.iter().find(|(k, _)| *k == name).map(|(_, v)| v)
}

/// Walks every element, checking references and NHS numbers, tracking the FHIRPath of each.
fn walk(
    v: &Value,
    path: &mut String,
    structural: &mut Vec<OutcomeIssue>,
    business: &mut Vec<OutcomeIssue>,
) {
    match v {
        Value::Object(obj) => {
            if let Some(Value::String(r)) = field(obj, "reference")
                && !is_valid_reference(r)
            {
                structural.push(
                    OutcomeIssue::error("value", "Malformed reference: expected Type/id, Type?criteria, an absolute URL, urn:uuid: or #id")
                        .at(format!("{path}.reference")),
                );
            }
            if field(obj, "system").and_then(Value::as_str) == Some(nhs_number::SYSTEM)
                && let Some(Value::String(n)) = field(obj, "value")
                && !nhs_number::is_valid(n)
            {
                business.push(
                    OutcomeIssue::error(
                        "value",
                        "Invalid NHS number: it must be 10 digits with a valid check digit",
                    )
                    .at(format!("{path}.value")),
                );
            }
            for (key, child) in obj {
                let empty = match child {
                    Value::Object(o) => o.is_empty(),
                    Value::Array(a) => a.is_empty(),
                    Value::String(s) => s.is_empty(),
                    _ => false,
                };
                if empty {
                    // FHIR JSON forbids empty objects, arrays and strings: an element is present with
                    // content, or absent.
                    structural.push(
                        OutcomeIssue::error(
                            "structure",
                            "Empty elements are not allowed; leave the element out",
                        )
                        .at(format!("{path}.{key}")),
                    );
                } else if matches!(child, Value::Object(_) | Value::Array(_)) {
                    let len = path.len();
                    path.push('.');
                    path.push_str(key);
                    walk(child, path, structural, business);
                    path.truncate(len);
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                if matches!(item, Value::Object(o) if o.is_empty()) {
                    structural.push(
                        OutcomeIssue::error(
                            "structure",
                            "Empty elements are not allowed; leave the element out",
                        )
                        .at(format!("{path}[{i}]")),
                    );
                    continue;
                }
                if !matches!(item, Value::Object(_) | Value::Array(_)) {
                    continue;
                }
                let len = path.len();
                // Infallible: writing to a String.
                let _ = write!(path, "[{i}]");
                walk(item, path, structural, business);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// Literal reference forms accepted: `Type/id[/_history/v]` (any FHIR type name), absolute http(s)
/// URLs, `urn:uuid:`, `urn:oid:` and local `#id`.
pub fn is_valid_reference(r: &str) -> bool {
    if let Some(rest) = r.strip_prefix('#') {
        return rest.is_empty() || id::is_valid_id(rest);
    }
    if let Some(u) = r.strip_prefix("urn:uuid:") {
        return uuid::Uuid::parse_str(u).is_ok();
    }
    if let Some(o) = r.strip_prefix("urn:oid:") {
        return !o.is_empty()
            && o.split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    }
    if r.starts_with("http://") || r.starts_with("https://") {
        return !r.contains(char::is_whitespace);
    }
    if let Some((t, q)) = r.split_once('?') {
        // A conditional reference, resolved to one resource when written.
        return t.parse::<ResourceType>().is_ok() && !q.is_empty();
    }
    let mut parts = r.split('/');
    let type_ok = parts.next().is_some_and(|t| {
        t.starts_with(|c: char| c.is_ascii_uppercase())
            && t.bytes().all(|b| b.is_ascii_alphabetic())
    });
    let id_ok = parts.next().is_some_and(id::is_valid_id);
    let rest: Vec<&str> = parts.collect();
    let tail_ok = matches!(rest.as_slice(), [] | ["_history", _]);
    type_ok && id_ok && tail_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn references_take_the_standard_forms() {
        for ok in [
            "Patient/1",
            "Encounter/a.b/_history/2",
            "https://x/fhir/Patient/1",
            "#c1",
            "urn:uuid:2f1c8a7e-9f5b-4f43-9a6b-1d0b7a8c9e10",
            "urn:oid:1.2.3",
        ] {
            assert!(is_valid_reference(ok), "{ok}");
        }
        assert!(is_valid_reference("Patient?identifier=s|1"));
        for bad in [
            "Patient",
            "patient/1",
            "Nope?x=1",
            "Patient/1 2",
            "urn:uuid:nope",
            "Patient/1/x",
            "",
        ] {
            assert!(!is_valid_reference(bad), "{bad}");
        }
    }

    #[test]
    fn a_wrong_nhs_number_is_a_business_rule_with_its_path() {
        let p = json!({"resourceType": "Patient", "identifier": [
            {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765919"},
            {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765918"}]});
        match validate(ResourceType::Patient, &p, IdRule::Ignored) {
            Err(Refusal::BusinessRule(issues)) => {
                assert_eq!(
                    issues[0].expression.as_deref(),
                    Some("Patient.identifier[1].value")
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_malformed_reference_is_named() {
        let p = json!({"resourceType": "CarePlan", "status": "active", "intent": "plan",
            "subject": {"reference": "Patient/has space"}});
        match validate(ResourceType::CarePlan, &p, IdRule::Ignored) {
            Err(Refusal::Invalid(issues)) => {
                assert_eq!(
                    issues[0].expression.as_deref(),
                    Some("CarePlan.subject.reference")
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn empty_arrays_objects_and_strings_are_refused_with_their_path() {
        let p = json!({"resourceType": "Patient", "name": [{"family": "X", "given": []}], "telecom": [{}], "gender": ""});
        match validate(ResourceType::Patient, &p, IdRule::Ignored) {
            Err(Refusal::Invalid(issues)) => {
                let paths: Vec<_> = issues
                    .iter()
                    .filter_map(|i| i.expression.as_deref())
                    .collect();
                assert!(paths.contains(&"Patient.name[0].given"), "{paths:?}");
                assert!(paths.contains(&"Patient.telecom[0]"), "{paths:?}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn update_ids_must_agree_with_the_url() {
        let p = json!({"resourceType": "Patient", "id": "a"});
        assert!(validate(ResourceType::Patient, &p, IdRule::MustEqual("a")).is_ok());
        assert!(matches!(
            validate(ResourceType::Patient, &p, IdRule::MustEqual("b")),
            Err(Refusal::Invalid(_))
        ));
        let no_id = json!({"resourceType": "Patient"});
        assert!(matches!(
            validate(ResourceType::Patient, &no_id, IdRule::MustEqual("b")),
            Err(Refusal::Invalid(_))
        ));
        let wrong_type = json!({"resourceType": "Practitioner"});
        assert!(matches!(
            validate(ResourceType::Patient, &wrong_type, IdRule::Ignored),
            Err(Refusal::Invalid(_))
        ));
    }
}
