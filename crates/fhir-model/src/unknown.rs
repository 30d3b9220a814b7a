//! Detecting elements fhir-sdk dropped: compare the input's keys with the re-serialised model's.
//!
//! Only the *set of keys* is compared, recursively (arrays element-wise by index), never the
//! values: re-serialisation legitimately changes number formatting (`1.0` vs `1`), date
//! precision, key order and so on. A key present in the input but absent from the output is
//! one the model does not know (or, for choice elements, could not parse: see `choice`).

use serde_json::{Map, Value};

use crate::paths::{clip, push_index, push_key};
use crate::{Issue, IssueKind, choice};

/// Most unknown-element issues reported; the rest are summarised in one extra issue so that a
/// hostile body cannot make the OperationOutcome arbitrarily large.
const MAX_ISSUES: usize = 50;

/// Issues for every input key missing from `output`, with FHIRPath-style paths (the comparison of
/// two trees, for shapes the [`crate::mirror`] does not follow).
pub(crate) fn unknown_elements(resource_type: &str, input: &Value, output: &Value) -> Vec<Issue> {
    let mut found = Found::new(resource_type);
    found.compare(input, output);
    found.finish(resource_type)
}

/// Unknown elements found so far, and the path of the element being looked at: one string,
/// extended and cut back as the walk goes, so that nothing is allocated per element (the walk
/// visits every element of every resource written).
pub(crate) struct Found {
    issues: Vec<Issue>,
    omitted: usize,
    /// The current element's path.
    pub(crate) path: String,
}

impl Found {
    /// Nothing found yet, at the root.
    pub(crate) fn new(resource_type: &str) -> Self {
        Found {
            issues: Vec::new(),
            omitted: 0,
            path: resource_type.to_owned(),
        }
    }

    /// Records that `key` of `parent` (at the current path), with `value`, was not written by the
    /// model, unless the value is empty (dropped for known elements too).
    pub(crate) fn dropped(&mut self, key: &str, value: &Value, parent: &Map<String, Value>) {
        if is_empty(value) {
            return;
        }
        if self.issues.len() >= MAX_ISSUES {
            self.omitted += 1;
            return;
        }
        let len = self.path.len();
        push_key(&mut self.path, key);
        let issue = dropped(self.path.clone(), key, value, parent);
        self.path.truncate(len);
        self.issues.push(issue);
    }

    /// The issues, with a summary of those over the cap.
    pub(crate) fn finish(self, resource_type: &str) -> Vec<Issue> {
        let mut issues = self.issues;
        if self.omitted > 0 {
            issues.push(Issue {
                path: resource_type.to_owned(),
                kind: IssueKind::Structure,
                message: format!("{} further unknown elements not listed", self.omitted),
            });
        }
        issues
    }

    /// Recursive, in input order; the depth was bounded by the envelope check before the parse.
    fn compare(&mut self, input: &Value, output: &Value) {
        match (input, output) {
            (Value::Object(input_map), Value::Object(output_map)) => {
                for (key, value) in input_map {
                    match output_map.get(key) {
                        Some(out) if matches!(value, Value::Object(_) | Value::Array(_)) => {
                            let len = self.path.len();
                            push_key(&mut self.path, key);
                            self.compare(value, out);
                            self.path.truncate(len);
                        }
                        Some(_) => {}
                        None => self.dropped(key, value, input_map),
                    }
                }
            }
            (Value::Array(input), Value::Array(output)) => {
                for (i, (a, b)) in input.iter().zip(output).enumerate() {
                    if matches!(a, Value::Object(_) | Value::Array(_)) {
                        let len = self.path.len();
                        push_index(&mut self.path, i);
                        self.compare(a, b);
                        self.path.truncate(len);
                    }
                }
            }
            // Primitives: values are deliberately not compared. A shape change (object in,
            // primitive out) cannot happen without the typed parse failing first.
            _ => {}
        }
    }
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
fn dropped(path: String, key: &str, value: &Value, parent: &Map<String, Value>) -> Issue {
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
