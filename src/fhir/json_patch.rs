//! JSON Patch (RFC 6902) applied to a resource: `add`, `remove`, `replace`, `move`, `copy` and
//! `test`, with JSON Pointers (RFC 6901: `~0`, `~1`, `-` to append). All or nothing: the patch is
//! applied to a copy, and the first operation that cannot be applied refuses the whole patch.
//!
//! Errors: a document that is not a list of operations, or an operation without its members, is
//! 400 (the request is malformed, naming `op[i]`); an operation that cannot be applied to this
//! resource (a missing path, a failed `test`) is 422, as RFC 5789 suggests.

use serde_json::Value;

use crate::fhir::OutcomeIssue;
use crate::fhir::Refusal;

/// `patch` applied to `target`.
pub fn apply(target: &Value, patch: &Value) -> Result<Value, Refusal> {
    let ops = patch
        .as_array()
        .ok_or_else(|| Refusal::Malformed("A JSON Patch is a list of operations".into()))?;
    let mut doc = target.clone();
    for (i, op) in ops.iter().enumerate() {
        apply_one(&mut doc, op, i)?;
    }
    Ok(doc)
}

fn malformed(i: usize, what: &str) -> Refusal {
    Refusal::Malformed(format!("JSON Patch op[{i}]: {what}"))
}

fn unapplicable(i: usize, what: String) -> Refusal {
    Refusal::BusinessRule(vec![OutcomeIssue::error(
        "processing",
        format!("JSON Patch op[{i}] cannot be applied: {what}"),
    )])
}

fn apply_one(doc: &mut Value, op: &Value, i: usize) -> Result<(), Refusal> {
    let text = |name: &str| op.get(name).and_then(Value::as_str);
    let name = text("op").ok_or_else(|| malformed(i, "'op' is missing"))?;
    let path = text("path").ok_or_else(|| malformed(i, "'path' is missing"))?;
    let path = pointer(path).ok_or_else(|| malformed(i, "'path' is not a JSON Pointer"))?;
    let value = || {
        op.get("value")
            .cloned()
            .ok_or_else(|| malformed(i, "'value' is missing"))
    };
    let from = || {
        let f = text("from").ok_or_else(|| malformed(i, "'from' is missing"))?;
        pointer(f).ok_or_else(|| malformed(i, "'from' is not a JSON Pointer"))
    };
    match name {
        "add" => add(doc, &path, value()?).map_err(|e| unapplicable(i, e)),
        "remove" => remove(doc, &path)
            .map(|_| ())
            .map_err(|e| unapplicable(i, e)),
        "replace" => {
            let v = value()?;
            remove(doc, &path).map_err(|e| unapplicable(i, e))?;
            add(doc, &path, v).map_err(|e| unapplicable(i, e))
        }
        "move" => {
            let from = from()?;
            if path.len() > from.len() && path.starts_with(&from) {
                return Err(unapplicable(i, "a value cannot move into itself".into()));
            }
            let v = remove(doc, &from).map_err(|e| unapplicable(i, e))?;
            add(doc, &path, v).map_err(|e| unapplicable(i, e))
        }
        "copy" => {
            let v = get(doc, &from()?)
                .cloned()
                .ok_or_else(|| unapplicable(i, "'from' names nothing".into()))?;
            add(doc, &path, v).map_err(|e| unapplicable(i, e))
        }
        "test" => {
            let want = value()?;
            if get(doc, &path) == Some(&want) {
                Ok(())
            } else {
                Err(unapplicable(i, "the test failed".into()))
            }
        }
        other => Err(malformed(
            i,
            &format!(
                "'{}' is not an operation",
                other.chars().take(32).collect::<String>()
            ),
        )),
    }
}

/// The reference tokens of a JSON Pointer (`""` is the whole document).
fn pointer(p: &str) -> Option<Vec<String>> {
    if p.is_empty() {
        return Some(Vec::new());
    }
    let rest = p.strip_prefix('/')?;
    Some(
        rest.split('/')
            .map(|t| t.replace("~1", "/").replace("~0", "~"))
            .collect(),
    )
}

fn get<'a>(doc: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(doc, |v, t| match v {
        Value::Object(m) => m.get(t),
        Value::Array(a) => index(t, a.len()).and_then(|i| a.get(i)),
        _ => None,
    })
}

/// An array index token: digits without a leading zero, below `len`.
fn index(t: &str, len: usize) -> Option<usize> {
    if t.is_empty() || (t.len() > 1 && t.starts_with('0')) || !t.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    t.parse().ok().filter(|i| *i < len)
}

fn parent<'a>(doc: &'a mut Value, path: &[String]) -> Result<(&'a mut Value, String), String> {
    let (last, init) = path
        .split_last()
        .ok_or_else(|| "the whole resource cannot be replaced this way".to_owned())?;
    let mut v = doc;
    for t in init {
        v = match v {
            Value::Object(m) => m.get_mut(t),
            Value::Array(a) => {
                let n = a.len();
                index(t, n).and_then(move |i| a.get_mut(i))
            }
            _ => None,
        }
        .ok_or_else(|| format!("'{t}' is not there"))?;
    }
    Ok((v, last.clone()))
}

fn add(doc: &mut Value, path: &[String], value: Value) -> Result<(), String> {
    let (p, last) = parent(doc, path)?;
    match p {
        Value::Object(m) => {
            m.insert(last, value);
            Ok(())
        }
        Value::Array(a) => {
            let at = if last == "-" {
                a.len()
            } else {
                index(&last, a.len() + 1).ok_or_else(|| format!("'{last}' is not an index here"))?
            };
            a.insert(at, value);
            Ok(())
        }
        _ => Err("the parent is not an object or a list".into()),
    }
}

fn remove(doc: &mut Value, path: &[String]) -> Result<Value, String> {
    let (p, last) = parent(doc, path)?;
    match p {
        Value::Object(m) => m
            .remove(&last)
            .ok_or_else(|| format!("'{last}' is not there")),
        Value::Array(a) => {
            let i =
                index(&last, a.len()).ok_or_else(|| format!("'{last}' is not an index here"))?;
            Ok(a.remove(i))
        }
        _ => Err("the parent is not an object or a list".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patched(doc: Value, ops: Value) -> Result<Value, u16> {
        apply(&doc, &ops).map_err(|e| crate::error::Error::from(e).status().as_u16())
    }

    #[test]
    fn operations_apply_in_order() {
        let doc = json!({"status": "active", "note": [{"text": "a"}], "a/b": 1, "m~n": 2});
        let out = patched(
            doc,
            json!([
                {"op": "replace", "path": "/status", "value": "completed"},
                {"op": "add", "path": "/note/-", "value": {"text": "b"}},
                {"op": "add", "path": "/note/0", "value": {"text": "z"}},
                {"op": "remove", "path": "/a~1b"},
                {"op": "copy", "from": "/m~0n", "path": "/copied"},
                {"op": "move", "from": "/copied", "path": "/moved"},
                {"op": "test", "path": "/note/1/text", "value": "a"},
            ]),
        );
        assert_eq!(
            out,
            Ok(
                json!({"status": "completed", "note": [{"text": "z"}, {"text": "a"}, {"text": "b"}],
                "m~n": 2, "moved": 2})
            )
        );
    }

    #[test]
    fn what_cannot_apply_is_422_and_what_is_malformed_400() {
        let doc = json!({"status": "active", "note": []});
        for ops in [
            json!([{"op": "remove", "path": "/missing"}]),
            json!([{"op": "replace", "path": "/note/0", "value": 1}]),
            json!([{"op": "test", "path": "/status", "value": "draft"}]),
            json!([{"op": "add", "path": "/note/5", "value": 1}]),
            json!([{"op": "move", "from": "/note", "path": "/note/x"}]),
            json!([{"op": "remove", "path": ""}]),
        ] {
            assert_eq!(patched(doc.clone(), ops.clone()), Err(422), "{ops}");
        }
        for ops in [
            json!({"op": "add"}),
            json!([{"op": "frobnicate", "path": "/x"}]),
            json!([{"op": "add", "path": "/x"}]),
            json!([{"op": "add", "path": "x", "value": 1}]),
            json!([{"path": "/x"}]),
        ] {
            assert_eq!(patched(doc.clone(), ops.clone()), Err(400), "{ops}");
        }
    }
}
