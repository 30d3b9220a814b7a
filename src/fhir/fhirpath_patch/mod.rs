//! FHIRPath Patch (FHIR R4, <https://hl7.org/fhir/R4/fhirpatch.html>) applied to a resource: a
//! `Parameters` whose `operation` parameters `add`, `insert`, `delete`, `replace` and `move`
//! elements named by FHIRPath. The twin of [`super::json_patch`], and like it all or nothing: the
//! operations are applied in order to a copy, and the first that cannot be applied refuses the
//! whole patch.
//!
//! Errors: a body that is not a `Parameters` of operations, an operation without the parts its
//! type needs, or a path outside the subset below is 400, naming `operation[i]` (every operation
//! is read before any is applied, so a malformed patch is 400 whatever the resource); an operation
//! that cannot be applied to this resource is 422 (a path that selects nothing where it must
//! select one element, or several, an index out of range, ...).
//!
//! # The FHIRPath subset
//!
//! ```text
//! path      = TypeName step*                 TypeName must be the resource's type (else 422)
//! step      = "." name | "[" digits "]" | ".first()" | ".last()" | ".where(" cond ("and" cond)* ")"
//! cond      = ("$this" | name) ("." name)* "=" literal
//! literal   = 'string' | number | -number | true | false
//! name      = [A-Za-z_][A-Za-z0-9_]* | `any text`
//! ```
//!
//! With FHIRPath's semantics: a step over a list maps over its items (`CarePlan.activity.detail`
//! is the `detail` of every activity); `[n]`, `first()` and `last()` take from the whole
//! collection; `=` is true when the left side is exactly one value equal to the literal (strings
//! with FHIRPath's escapes, numbers by value, booleans). Choice elements are named by their JSON
//! name (`valueString`, not `value`). `resourceType` is not an element. Anything else (other
//! functions and operators, `or`, `!=`, `resolve()`, `ofType()`, comments) is 400.
//!
//! # Operations
//!
//! - `add` (`path`, `name`, `value`): the path selects one element, which gets child `name`. When
//!   that child is a list the value is appended; when it is already there and not a list, 422:
//!   without the model, whether it repeats cannot be known, so it is not turned into a list.
//! - `insert` (`path`, `index`, `value`): the path ends in `.name`; what comes before selects one
//!   element, and the value goes into its list `name` at `index` (0 to the list's length; a list
//!   not there yet is created at index 0). An element there that is not a list is 422.
//! - `delete` (`path`): the path selects at most one element; none is no change (the spec's
//!   "if found"). Deleting the last item of a list removes the list, and an object left empty by
//!   a delete is removed in turn, up to the resource: FHIR JSON has no empty lists or objects.
//! - `replace` (`path`, `value`): the path selects one element, which becomes the value.
//! - `move` (`path`, `source`, `destination`): the path ends in `.name` like an `insert`'s; the
//!   item at `source` is taken out and put back at `destination` (both below the list's length).
//!
//! The resource itself (a path that is only the type) cannot be deleted or replaced (422).
//!
//! Without the model, a value is put in as given: `add` of a repeating element the resource does
//! not have yet (`Task.note` on a Task without notes) makes it one value, not a list of one, which
//! the validation of the result then refuses; `insert` at index 0 is the way to start a list.
//!
//! # Values
//!
//! A `value` part's `value[x]` is the value as it is in JSON (`valueDate` a string,
//! `valueCodeableConcept` an object). A `value` part with `part`s instead (the spec's way to give
//! an element that has no data type, such as `Patient.contact`) is the object of those parts:
//! each part's `name` is a member, with the part's `value[x]` or, in turn, its parts; a name given
//! twice makes a list (a name given once stays one value: the model would be needed to know it
//! repeats). Primitive extensions on a value (`_valueString`) are 400: not supported.
//!
//! The ids and extensions of the resource's primitives (`_birthDate`, `_given`) follow their
//! element: removed when it is deleted or replaced, kept parallel when its list changes.
//!
//! Layout: `path` parses and evaluates the subset, `read` turns the `Parameters` into operations
//! (every 400), `edit` changes the JSON at the locations a path selected.

mod edit;
mod path;
mod read;
#[cfg(test)]
mod tests;

use serde_json::Value;

use self::edit::{ListEdit, add, delete, edit_at, replace};
use self::path::{Path, Seg, shown};
use crate::fhir::OutcomeIssue;
use crate::fhir::Refusal;

/// `patch` (a `Parameters` resource) applied to `target`: the patched copy, or why not.
pub fn apply(target: &Value, patch: &Value) -> Result<Value, Refusal> {
    let ops = read::operations(patch)?;
    let mut doc = target.clone();
    for (i, op) in ops.into_iter().enumerate() {
        op.apply(&mut doc).map_err(|e| unapplicable(i, e))?;
    }
    Ok(doc)
}

/// 400: the request is wrong whatever the resource.
fn malformed(i: usize, what: &str) -> Refusal {
    Refusal::Malformed(format!("FHIRPath Patch operation[{i}]: {what}"))
}

/// 422: the operation cannot be applied to this resource.
fn unapplicable(i: usize, what: String) -> Refusal {
    Refusal::BusinessRule(vec![OutcomeIssue::error(
        "processing",
        format!("FHIRPath Patch operation[{i}] cannot be applied: {what}"),
    )])
}

/// One operation, read and checked.
enum Operation {
    Add {
        path: Path,
        name: String,
        value: Value,
    },
    Insert {
        list: Path,
        member: String,
        index: i64,
        value: Value,
    },
    Delete {
        path: Path,
    },
    Replace {
        path: Path,
        value: Value,
    },
    Move {
        list: Path,
        member: String,
        source: i64,
        destination: i64,
    },
}

impl Operation {
    /// Applies the operation to `doc`, or says why it cannot be applied.
    fn apply(self, doc: &mut Value) -> Result<(), String> {
        match self {
            Operation::Add { path, name, value } => add(doc, &one(doc, &path)?, &name, value),
            Operation::Insert {
                list,
                member,
                index,
                value,
            } => {
                let at = one(doc, &list)?;
                let edit = ListEdit::Insert(position(index)?);
                edit_at(doc, &at, &member, edit, value)
            }
            Operation::Delete { path } => match at_most_one(doc, &path)? {
                Some(loc) => delete(doc, &loc),
                None => Ok(()),
            },
            Operation::Replace { path, value } => replace(doc, &one(doc, &path)?, value),
            Operation::Move {
                list,
                member,
                source,
                destination,
            } => {
                let at = one(doc, &list)?;
                let edit = ListEdit::Move(position(source)?, position(destination)?);
                edit_at(doc, &at, &member, edit, Value::Null)
            }
        }
    }
}

/// A list position given as an integer; a negative one is out of every list's range.
fn position(i: i64) -> Result<usize, String> {
    usize::try_from(i).map_err(|_| format!("index {i} is out of range"))
}

/// The locations `path` selects, once its type is checked against the resource's.
fn locate(doc: &Value, path: &Path) -> Result<Vec<Vec<Seg>>, String> {
    let actual = doc.get("resourceType").and_then(Value::as_str);
    if actual != Some(path.root.as_str()) {
        return Err(format!(
            "'{}' does not start with the resource's type ({})",
            shown(&path.to_string()),
            shown(actual.unwrap_or("none"))
        ));
    }
    Ok(path::select(doc, &path.steps)
        .into_iter()
        .map(|n| n.loc)
        .collect())
}

/// The one location `path` selects, if any; several is an error.
fn at_most_one(doc: &Value, path: &Path) -> Result<Option<Vec<Seg>>, String> {
    let mut locs = locate(doc, path)?;
    if locs.len() > 1 {
        return Err(format!(
            "'{}' selects {} elements, not one",
            shown(&path.to_string()),
            locs.len()
        ));
    }
    Ok(locs.pop())
}

/// The one location `path` selects.
fn one(doc: &Value, path: &Path) -> Result<Vec<Seg>, String> {
    at_most_one(doc, path)?.ok_or_else(|| format!("'{}' selects nothing", shown(&path.to_string())))
}
