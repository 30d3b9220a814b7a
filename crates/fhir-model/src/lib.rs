//! The typed FHIR model boundary of carebridge.
//!
//! fhir-sdk's generated models are huge: every crate that instantiates serde for them pays a long
//! compile. All typed-model code therefore lives here, behind a small, non-generic API
//! ([`validate`], [`is_supported`], [`SUPPORTED_TYPES`]), so editing the server never recompiles it.
//!
//! Validation is structural: a typed parse with fhir-sdk's R4B models (which also covers the R4
//! shape of the resources the gateway serves), plus detection of unknown elements, which fhir-sdk
//! would otherwise drop silently. Business rules (NHS number, id and reference formats) are the
//! server's job, not this crate's.

mod choice;
mod mirror;
mod paths;
mod typed;
mod unknown;

#[cfg(test)]
mod tests;

use serde_json::Value;

/// One problem found in a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// Where: a FHIRPath-style location rooted at the resource type, e.g. `Patient.identifier[0].system`,
    /// `QuestionnaireResponse.item[2].answer[0].valueInteger`, or just `Patient` when no finer path is known.
    pub path: String,
    /// What kind of problem (maps to an OperationOutcome issue code in the server).
    pub kind: IssueKind,
    /// Human-readable, safe to show to the client (no internals, no echo of large input).
    pub message: String,
}

/// What kind of problem an [`Issue`] is; the server maps it to an OperationOutcome issue code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueKind {
    /// Unknown element, wrong JSON shape (object vs array vs primitive), wrong or missing
    /// `resourceType`, unsupported resource type.
    Structure,
    /// Missing required element.
    Required,
    /// Bad primitive value: wrong primitive JSON type (e.g. number for a string), bad code, bad
    /// date, out-of-range number.
    Value,
}

/// The resource types the gateway serves or produces (`MeasureReport`: the outcome report);
/// anything else is rejected by [`validate`] so that the typed model code (and its compile time)
/// stays limited to what we actually use.
pub const SUPPORTED_TYPES: &[&str] = &[
    "Patient",
    "Practitioner",
    "PractitionerRole",
    "Organization",
    "CareTeam",
    "Questionnaire",
    "QuestionnaireResponse",
    "CarePlan",
    "Goal",
    "Condition",
    "ServiceRequest",
    "Task",
    "Consent",
    "AuditEvent",
    "Provenance",
    "StructureDefinition",
    "CodeSystem",
    "ValueSet",
    "MessageDefinition",
    "MeasureReport",
    "Group",
    "OperationDefinition",
    "Subscription",
];

/// Whether `resource_type` is one of [`SUPPORTED_TYPES`] (exact, case-sensitive match, as in FHIR).
#[must_use]
pub fn is_supported(resource_type: &str) -> bool {
    SUPPORTED_TYPES.contains(&resource_type)
}

/// Deepest container nesting accepted. Equal to serde_json's own parser limit, so no body the
/// server parsed with serde_json is refused; it only guards against hand-built deeper values,
/// which would otherwise risk exhausting the stack in the recursive serde code.
const MAX_DEPTH: usize = 128;

/// Validates `resource` (already parsed JSON) as an R4 resource of `resource_type`.
///
/// Checks, in order: the type is supported; the body is an object whose `resourceType` equals
/// `resource_type`; a typed parse succeeds (the first error is reported, with its path); no
/// element is unknown to the model (all unknown elements are reported, up to a cap).
///
/// # Errors
///
/// Returns at least one [`Issue`] when the resource is invalid.
pub fn validate(resource_type: &str, resource: &Value) -> Result<(), Vec<Issue>> {
    let root = paths::clip(resource_type);
    if !is_supported(resource_type) {
        return Err(vec![Issue {
            path: root.clone(),
            kind: IssueKind::Structure,
            message: format!("Unsupported resource type '{root}'"),
        }]);
    }
    check_envelope(resource_type, resource).map_err(|issue| vec![issue])?;
    let issues = typed::parse_and_compare(resource_type, resource).map_err(|issue| vec![issue])?;
    if issues.is_empty() {
        Ok(())
    } else {
        Err(issues)
    }
}

/// Checks what the typed parse cannot be trusted with: the body is an object, its
/// `resourceType` is the one the request is for, and it is not absurdly deep.
fn check_envelope(resource_type: &str, resource: &Value) -> Result<(), Issue> {
    let issue = |path: String, kind, message: String| Issue {
        path,
        kind,
        message,
    };
    let Value::Object(map) = resource else {
        return Err(issue(
            resource_type.to_owned(),
            IssueKind::Structure,
            format!("A {resource_type} resource must be a JSON object"),
        ));
    };
    let type_path = format!("{resource_type}.resourceType");
    match map.get("resourceType") {
        None => {
            return Err(issue(
                type_path,
                IssueKind::Required,
                "Missing required element 'resourceType'".to_owned(),
            ));
        }
        Some(Value::String(found)) if found == resource_type => {}
        Some(Value::String(found)) => {
            return Err(issue(
                type_path,
                IssueKind::Structure,
                format!(
                    "resourceType '{}' does not match the expected type '{resource_type}'",
                    paths::clip(found)
                ),
            ));
        }
        Some(_) => {
            return Err(issue(
                type_path,
                IssueKind::Structure,
                "resourceType must be a string".to_owned(),
            ));
        }
    }
    if exceeds_depth(resource, MAX_DEPTH) {
        return Err(issue(
            resource_type.to_owned(),
            IssueKind::Structure,
            format!("Resource is nested more than {MAX_DEPTH} levels deep"),
        ));
    }
    Ok(())
}

/// Whether `value` nests objects/arrays more than `max` levels deep. Iterative, so it cannot
/// overflow the stack itself however deep the input is.
fn exceeds_depth(value: &Value, max: usize) -> bool {
    let mut stack = vec![(value, 0_usize)];
    while let Some((value, depth)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match value {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(map) => Box::new(map.values()),
            _ => continue,
        };
        if depth + 1 > max {
            return true;
        }
        stack.extend(children.map(|child| (child, depth + 1)));
    }
    false
}
