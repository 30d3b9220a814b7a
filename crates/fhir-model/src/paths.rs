//! Turning serde errors into [`Issue`]s: FHIRPath-style paths and client-safe messages.
//!
//! serde's messages are written for developers and may echo input (`invalid type: string
//! "<the whole string>"`), so they are never passed through verbatim: we classify them and
//! rebuild a short message from the parts that come from the schema, clipping any input echo.

use std::fmt::Write as _;

use serde_path_to_error::{Path, Segment};

use crate::{Issue, IssueKind};

/// Longest piece of input (a key, a code, a type name) echoed back in a path or message.
const MAX_ECHO: usize = 64;

/// Most allowed codes listed in an "invalid code" message.
const MAX_LISTED_CODES: usize = 12;

/// `text` shortened to [`MAX_ECHO`] characters (with an ellipsis), so input echoed back to the
/// client stays small whatever was sent.
pub(crate) fn clip(text: &str) -> String {
    match text.char_indices().nth(MAX_ECHO) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// Appends one JSON object key as a path step, e.g. `.identifier`.
pub(crate) fn push_key(path: &mut String, key: &str) {
    path.push('.');
    match key.char_indices().nth(MAX_ECHO) {
        Some(_) => path.push_str(&clip(key)),
        None => path.push_str(key),
    }
}

/// Appends one array index as a path step, e.g. `[2]`.
pub(crate) fn push_index(path: &mut String, index: usize) {
    // Writing to a String cannot fail.
    let _ = write!(path, "[{index}]");
}

/// Converts serde's path (`item[2].answer[0]`) into a FHIRPath-style one rooted at the
/// resource type (`QuestionnaireResponse.item[2].answer[0]`).
fn fhir_path(resource_type: &str, path: &Path) -> String {
    let mut out = resource_type.to_owned();
    for segment in path {
        match segment {
            Segment::Seq { index } => push_index(&mut out, *index),
            Segment::Map { key } => push_key(&mut out, key),
            // Externally tagged enums: the variant name is the JSON key.
            Segment::Enum { variant } => push_key(&mut out, variant),
            // serde could not tell (e.g. inside buffered content): stop at what we know.
            Segment::Unknown => break,
        }
    }
    out
}

/// Issue for a failed typed parse.
pub(crate) fn de_issue(
    resource_type: &str,
    error: &serde_path_to_error::Error<serde_json::Error>,
) -> Issue {
    let mut path = fhir_path(resource_type, error.path());
    let (kind, message, missing) = classify(&error.inner().to_string());
    if let Some(field) = missing {
        push_key(&mut path, &field);
    }
    Issue {
        path,
        kind,
        message,
    }
}

/// Issue for a failed re-serialisation: always a value the model parsed but cannot represent
/// (e.g. a date whose year is not 4 digits).
pub(crate) fn ser_issue(
    resource_type: &str,
    error: &serde_path_to_error::Error<serde_json::Error>,
) -> Issue {
    Issue {
        path: fhir_path(resource_type, error.path()),
        kind: IssueKind::Value,
        message: format!("Invalid value: {}", clip(&error.inner().to_string())),
    }
}

/// Classifies a serde(-json) error message. Returns the kind, a client-safe message and, for a
/// missing field, the field name (serde reports that error at the enclosing object).
///
/// `invalid type` is `Structure` when an object or array is involved on either side (the JSON
/// shape is wrong) and `Value` when both sides are primitives (e.g. `"birthDate": 12`), since
/// the element is in the right place and only its primitive value is wrong.
fn classify(raw: &str) -> (IssueKind, String, Option<String>) {
    if let Some(rest) = raw.strip_prefix("missing field ") {
        let field = rest.trim_matches('`');
        let message = format!("Missing required element '{}'", clip(field));
        return (IssueKind::Required, message, Some(field.to_owned()));
    }
    if let Some(rest) = raw.strip_prefix("unknown variant ") {
        return (IssueKind::Value, unknown_code_message(rest), None);
    }
    if let Some(code) = raw.strip_prefix("Unknown value: ") {
        // fhir-sdk's code enums (`FromStr` error); they do not list the allowed codes.
        return (
            IssueKind::Value,
            format!("Invalid code '{}'", clip(code)),
            None,
        );
    }
    if raw.starts_with("no variant of enum ") {
        // A required choice element (`x[x]`) is absent from a flattened object.
        let message = "Missing required choice element (one of its [x] forms)".to_owned();
        return (IssueKind::Required, message, None);
    }
    for (prefix, what) in [
        ("invalid type: ", "Wrong type"),
        ("invalid value: ", "Invalid value"),
    ] {
        if let Some(rest) = raw.strip_prefix(prefix) {
            let (found, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
            let found = describe_found(found);
            let expected = describe_expected(expected);
            let shape = |s: &str| s.contains("object") || s.contains("array");
            let kind = if prefix.starts_with("invalid type") && (shape(&found) || shape(&expected))
            {
                IssueKind::Structure
            } else {
                IssueKind::Value
            };
            return (
                kind,
                format!("{what}: found {found}, expected {expected}"),
                None,
            );
        }
    }
    if let Some(rest) = raw.strip_prefix("invalid length ") {
        let message = format!("Invalid number of entries: {}", clip(rest));
        return (IssueKind::Structure, message, None);
    }
    // Custom messages from fhir-sdk's own parsers (dates, times, base64, integers as strings).
    // They describe the problem without echoing the input.
    (
        IssueKind::Value,
        format!("Invalid value: {}", clip(raw)),
        None,
    )
}

/// Message for serde's `unknown variant `x`, expected one of `a`, `b`` (a bad code).
fn unknown_code_message(rest: &str) -> String {
    let (code, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
    let code = clip(code.trim_matches('`'));
    let allowed: Vec<&str> = expected
        .trim_start_matches("one of ")
        .split('`')
        .skip(1)
        .step_by(2)
        .collect();
    if allowed.is_empty() {
        return format!("Invalid code '{code}'");
    }
    let mut list = allowed
        .iter()
        .take(MAX_LISTED_CODES)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if allowed.len() > MAX_LISTED_CODES {
        list.push_str(", …");
    }
    format!("Invalid code '{code}' (expected one of: {list})")
}

/// The kind of JSON value serde found, without its (possibly huge) content: `integer `12``
/// becomes `integer`, `string "…"` becomes `string`.
fn describe_found(found: &str) -> String {
    let kind = found.split([' ', '`', '"']).next().unwrap_or(found);
    match kind {
        "map" => "object".to_owned(),
        "sequence" => "array".to_owned(),
        "floating" => "number".to_owned(),
        "" => "value".to_owned(),
        other => clip(other),
    }
}

/// Plain-language form of serde's expectation, which may name Rust types (`i32`, `struct X`).
fn describe_expected(expected: &str) -> String {
    let plain = match expected {
        "i32" | "i64" => "an integer",
        "u32" | "u64" => "a non-negative integer",
        "f64" | "f32" => "a decimal number",
        "a sequence" => "an array",
        "a map" => "an object",
        "" => "a different value",
        other if other.starts_with("struct ") || other.contains("tagged enum") => "an object",
        other => return clip(other),
    };
    plain.to_owned()
}
