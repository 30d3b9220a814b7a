//! Detecting elements fhir-sdk dropped: compare the input's keys with the re-serialised model's.
//!
//! Only the *set of keys* is compared, recursively (arrays element-wise by index), never the
//! values: re-serialisation legitimately changes number formatting (`1.0` vs `1`), date
//! precision, key order and so on. A key present in the input but absent from the output is
//! one the model does not know (or, for choice elements, could not parse: see `choice`).

use serde_json::Value;

use crate::paths::{clip, push_index, push_key};
use crate::{Issue, IssueKind, choice};

/// Most unknown-element issues reported; the rest are summarised in one extra issue so that a
/// hostile body cannot make the OperationOutcome arbitrarily large.
const MAX_ISSUES: usize = 50;

/// Issues for every input key missing from `output`, with FHIRPath-style paths.
pub(crate) fn unknown_elements(resource_type: &str, input: &Value, output: &Value) -> Vec<Issue> {
    let mut issues = Vec::new();
    let mut omitted = 0_usize;
    // Explicit stack rather than recursion; pushed in reverse so issues come out in input order.
    let mut stack = vec![(resource_type.to_owned(), input, output)];
    while let Some((path, input, output)) = stack.pop() {
        match (input, output) {
            (Value::Object(input), Value::Object(output)) => {
                let mut children = Vec::new();
                for (key, value) in input {
                    let mut child = path.clone();
                    push_key(&mut child, key);
                    match output.get(key) {
                        Some(out) => children.push((child, value, out)),
                        None if is_empty(value) => {}
                        None if issues.len() < MAX_ISSUES => {
                            issues.push(dropped(child, key, value, input));
                        }
                        None => omitted += 1,
                    }
                }
                stack.extend(children.into_iter().rev());
            }
            (Value::Array(input), Value::Array(output)) => {
                let children = input.iter().zip(output).enumerate().map(|(i, (a, b))| {
                    let mut child = path.clone();
                    push_index(&mut child, i);
                    (child, a, b)
                });
                let children: Vec<_> = children.collect();
                stack.extend(children.into_iter().rev());
            }
            // Primitives: values are deliberately not compared. A shape change (object in,
            // primitive out) cannot happen without the typed parse failing first.
            _ => {}
        }
    }
    if omitted > 0 {
        issues.push(Issue {
            path: resource_type.to_owned(),
            kind: IssueKind::Structure,
            message: format!("{omitted} further unknown elements not listed"),
        });
    }
    issues
}

/// `null`, `{}` and `[]` are dropped by the model even for known elements, so their absence
/// from the output says nothing about the key. (FHIR JSON forbids them, but that is not an
/// unknown element and we do not second-guess it here.)
fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Object(map) => map.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

/// The issue for `key` (with `value`, in object `parent`) that vanished in the round trip.
fn dropped(
    path: String,
    key: &str,
    value: &Value,
    parent: &serde_json::Map<String, Value>,
) -> Issue {
    if let Some((kind, message)) = choice::explain_dropped(key, value) {
        return Issue {
            path,
            kind,
            message,
        };
    }
    // `_x` next to a present `x` is a primitive extension whose content the model rejected
    // (this only happens for choice elements, whose errors serde swallows).
    let base_present = key
        .strip_prefix('_')
        .is_some_and(|base| parent.contains_key(base));
    let message = if base_present {
        format!("Invalid primitive extension '{}'", clip(key))
    } else {
        format!("Unknown element '{}'", clip(key))
    };
    Issue {
        path,
        kind: IssueKind::Structure,
        message,
    }
}
