//! Explaining dropped choice elements (`value[x]`, `onset[x]`, …).
//!
//! fhir-sdk models a choice element as `#[serde(flatten)] Option<enum>`, and serde turns *any*
//! error inside a flattened `Option` into `None`. So `"valueInteger": "five"` does not fail the
//! typed parse: the element silently disappears, and the key comparison sees it as missing.
//! Reporting that as "Unknown element" would be misleading, so for keys shaped like a choice
//! element (`<name><FHIR type>`) we re-check the value against the type named by the suffix.

use std::str::FromStr;

use fhir_sdk::{Base64Binary, Date, DateTime, Instant, Time};
use serde_json::Value;

use crate::IssueKind;

/// FHIR primitive type names, as they appear as choice suffixes, and the JSON they require.
const PRIMITIVES: &[&str] = &[
    "Base64Binary",
    "Boolean",
    "Canonical",
    "Code",
    "Date",
    "DateTime",
    "Decimal",
    "Id",
    "Instant",
    "Integer",
    "Markdown",
    "Oid",
    "PositiveInt",
    "String",
    "Time",
    "UnsignedInt",
    "Uri",
    "Url",
    "Uuid",
];

/// FHIR complex type names that can appear as choice suffixes (all JSON objects).
const COMPLEX: &[&str] = &[
    "Address",
    "Age",
    "Annotation",
    "Attachment",
    "CodeableConcept",
    "Coding",
    "ContactDetail",
    "ContactPoint",
    "Contributor",
    "Count",
    "DataRequirement",
    "Distance",
    "Dosage",
    "Duration",
    "Expression",
    "HumanName",
    "Identifier",
    "Meta",
    "Money",
    "ParameterDefinition",
    "Period",
    "Quantity",
    "Range",
    "Ratio",
    "Reference",
    "RelatedArtifact",
    "SampledData",
    "Signature",
    "Timing",
    "TriggerDefinition",
    "UsageContext",
];

/// Kind and message for a key that vanished in the round trip, or `None` when the key does
/// not look like a choice element (then it is simply unknown).
pub(crate) fn explain_dropped(key: &str, value: &Value) -> Option<(IssueKind, String)> {
    let type_name = choice_suffix(key)?;
    let shown = crate::paths::clip(key);
    if COMPLEX.contains(&type_name) {
        if value.is_object() {
            let message = format!("Unknown element '{shown}', or its content is invalid");
            return Some((IssueKind::Structure, message));
        }
        let message = format!("Wrong type for '{shown}': expected an object");
        return Some((IssueKind::Structure, message));
    }
    match primitive_problem(type_name, value) {
        Some(problem) => {
            let kind = if value.is_object() || value.is_array() {
                IssueKind::Structure
            } else {
                IssueKind::Value
            };
            Some((kind, format!("Invalid value for '{shown}': {problem}")))
        }
        // The value is fine for its type, so the type (or element) is not allowed here, or a
        // second form of the same choice element was given.
        None => Some((IssueKind::Structure, format!("Unknown element '{shown}'"))),
    }
}

/// The FHIR type named at the end of a choice-shaped key (`valueDateTime` -> `DateTime`).
fn choice_suffix(key: &str) -> Option<&'static str> {
    if !key.starts_with(|c: char| c.is_ascii_lowercase())
        || !key.chars().all(|c| c.is_ascii_alphanumeric())
    {
        return None;
    }
    PRIMITIVES
        .iter()
        .chain(COMPLEX)
        .filter(|name| key.len() > name.len() && key.ends_with(*name))
        .max_by_key(|name| name.len())
        .copied()
}

/// What is wrong with `value` as a FHIR primitive of type `type_name`, if anything.
fn primitive_problem(type_name: &str, value: &Value) -> Option<&'static str> {
    match (type_name, value) {
        ("Boolean", Value::Bool(_)) => None,
        ("Boolean", _) => Some("expected true or false"),
        ("Decimal", Value::Number(_)) => None,
        ("Decimal", _) => Some("expected a number"),
        ("Integer", Value::Number(n)) => in_range(n, i64::from(i32::MIN), i64::from(i32::MAX)),
        ("UnsignedInt", Value::Number(n)) => in_range(n, 0, i64::from(u32::MAX)),
        ("PositiveInt", Value::Number(n)) => in_range(n, 1, i64::from(u32::MAX)),
        ("Integer" | "UnsignedInt" | "PositiveInt", _) => Some("expected an integer"),
        (_, Value::String(text)) => string_problem(type_name, text, value),
        _ => Some("expected a string"),
    }
}

/// `None` if `n` is an integer in `min..=max`.
fn in_range(n: &serde_json::Number, min: i64, max: i64) -> Option<&'static str> {
    match n.as_i64() {
        Some(i) if (min..=max).contains(&i) => None,
        Some(_) => Some("integer out of range"),
        None if n.is_u64() => Some("integer out of range"),
        None => Some("expected an integer"),
    }
}

/// Format check for string-valued primitives that fhir-sdk parses (dates, times, base64).
fn string_problem(type_name: &str, text: &str, value: &Value) -> Option<&'static str> {
    let ok = match type_name {
        "Date" => Date::from_str(text).is_ok(),
        "DateTime" => DateTime::from_str(text).is_ok(),
        "Instant" => Instant::from_str(text).is_ok(),
        "Time" => serde_json::from_value::<Time>(value.clone()).is_ok(),
        "Base64Binary" => serde_json::from_value::<Base64Binary>(value.clone()).is_ok(),
        _ => true,
    };
    if ok {
        None
    } else {
        Some("not a valid value of its type")
    }
}
