//! Reading a FHIRPath Patch `Parameters` into [`Operation`]s: every fault of the request is found
//! here, before anything is applied, and answered 400.

use serde_json::{Map, Value};

use super::path::{self, Path, shown};
use super::{Operation, malformed};
use crate::fhir::Refusal;

/// The names an operation's parts may have.
const PART_NAMES: &[&str] = &[
    "type",
    "path",
    "name",
    "value",
    "index",
    "source",
    "destination",
];

/// How deep `part`s may nest in a value (a bound on recursion over the request).
const MAX_DEPTH: usize = 32;

/// The operations of `patch`, in order; 400 naming the first that is malformed.
pub(super) fn operations(patch: &Value) -> Result<Vec<Operation>, Refusal> {
    if patch.get("resourceType").and_then(Value::as_str) != Some("Parameters") {
        return Err(Refusal::Malformed(
            "A FHIRPath Patch is a Parameters resource".into(),
        ));
    }
    let params = match patch.get("parameter") {
        None => return Ok(Vec::new()),
        Some(Value::Array(params)) => params,
        Some(_) => {
            return Err(Refusal::Malformed(
                "A FHIRPath Patch's 'parameter' is a list".into(),
            ));
        }
    };
    params
        .iter()
        .enumerate()
        .map(|(i, p)| operation(p).map_err(|e| malformed(i, &e)))
        .collect()
}

/// One `operation` parameter, read and checked.
fn operation(param: &Value) -> Result<Operation, String> {
    if param.get("name").and_then(Value::as_str) != Some("operation") {
        return Err("a parameter that is not named 'operation'".into());
    }
    let parts = Parts::read(param)?;
    let kind = parts.text("type")?;
    let path = path::parse(parts.text("path")?)
        .map_err(|e| format!("'path' is not in the supported FHIRPath subset: {e}"))?;
    Ok(match kind {
        "add" => Operation::Add {
            path,
            name: parts.element_name()?,
            value: parts.value()?,
        },
        "insert" => {
            let (list, member) = list(path, kind)?;
            Operation::Insert {
                list,
                member,
                index: parts.integer("index")?,
                value: parts.value()?,
            }
        }
        "delete" => Operation::Delete { path },
        "replace" => Operation::Replace {
            path,
            value: parts.value()?,
        },
        "move" => {
            let (list, member) = list(path, kind)?;
            Operation::Move {
                list,
                member,
                source: parts.integer("source")?,
                destination: parts.integer("destination")?,
            }
        }
        other => return Err(format!("'{}' is not an operation type", shown(other))),
    })
}

/// The path of an `insert` or `move` split into the element holding the list, and its name.
fn list(path: Path, kind: &str) -> Result<(Path, String), String> {
    path.split_member()
        .ok_or_else(|| format!("the 'path' of '{kind}' must end with the list's name"))
}

/// An operation's parts, by name.
struct Parts<'a>(Vec<(&'a str, &'a Value)>);

impl<'a> Parts<'a> {
    /// The parts of `param`, each name known and given once.
    fn read(param: &'a Value) -> Result<Self, String> {
        let list = param
            .get("part")
            .and_then(Value::as_array)
            .ok_or("the operation has no 'part's")?;
        let mut parts: Vec<(&str, &Value)> = Vec::new();
        for (j, part) in list.iter().enumerate() {
            let name = part
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("part[{j}] has no 'name'"))?;
            if !PART_NAMES.contains(&name) {
                return Err(format!("'{}' is not a part of an operation", shown(name)));
            }
            if parts.iter().any(|(n, _)| *n == name) {
                return Err(format!("'{name}' is given twice"));
            }
            parts.push((name, part));
        }
        Ok(Parts(parts))
    }

    fn part(&self, name: &str) -> Result<&'a Value, String> {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, p)| *p)
            .ok_or_else(|| format!("'{name}' is missing"))
    }

    /// The `value[x]` of part `name`.
    fn primitive(&self, name: &str) -> Result<&'a Value, String> {
        value_x(self.part(name)?, name)?.ok_or_else(|| format!("'{name}' has no value"))
    }

    fn text(&self, name: &str) -> Result<&'a str, String> {
        self.primitive(name)?
            .as_str()
            .ok_or_else(|| format!("'{name}' is not a string"))
    }

    fn integer(&self, name: &str) -> Result<i64, String> {
        self.primitive(name)?
            .as_i64()
            .ok_or_else(|| format!("'{name}' is not an integer"))
    }

    fn element_name(&self) -> Result<String, String> {
        let name = self.text("name")?;
        if is_element_name(name) {
            Ok(name.to_owned())
        } else {
            Err(format!("'name' '{}' is not an element name", shown(name)))
        }
    }

    fn value(&self) -> Result<Value, String> {
        part_value(self.part("value")?, "value", 0)
    }
}

/// A FHIR element's JSON name: a letter, then letters and digits (not `_x`, a primitive's ids
/// and extensions).
fn is_element_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric())
}

/// `valueXxx` (a letter after `value` says it is a type name).
fn is_value_x(key: &str) -> bool {
    key.strip_prefix("value")
        .and_then(|rest| rest.chars().next())
        .is_some_and(|c| c.is_ascii_uppercase())
}

/// The part's one `value[x]`, if it has one.
fn value_x<'a>(part: &'a Value, name: &str) -> Result<Option<&'a Value>, String> {
    let mut found = None;
    for (key, v) in part.as_object().into_iter().flatten() {
        if key.strip_prefix('_').is_some_and(is_value_x) {
            return Err(format!(
                "'{name}' has extensions on its value, which are not supported"
            ));
        }
        if is_value_x(key) && found.replace(v).is_some() {
            return Err(format!("'{name}' has several value[x]"));
        }
    }
    Ok(found)
}

/// The value a part gives: its `value[x]`, or the object of its parts.
fn part_value(part: &Value, name: &str, depth: usize) -> Result<Value, String> {
    if depth > MAX_DEPTH {
        return Err("the parts of 'value' nest too deeply".into());
    }
    match (value_x(part, name)?, part.get("part")) {
        (Some(_), Some(_)) => Err(format!("'{name}' has both a value[x] and parts")),
        (Some(v), None) => plain(v, name),
        (None, Some(Value::Array(parts))) if !parts.is_empty() => object_of(parts, depth),
        (None, _) => Err(format!("'{name}' has no value[x] and no parts")),
    }
}

/// A `value[x]`: FHIR JSON has no null, list or empty object there.
fn plain(v: &Value, name: &str) -> Result<Value, String> {
    match v {
        Value::Null | Value::Array(_) => Err(format!("'{name}' is not a FHIR value")),
        Value::Object(m) if m.is_empty() => Err(format!("'{name}' is empty")),
        v => Ok(v.clone()),
    }
}

fn object_of(parts: &[Value], depth: usize) -> Result<Value, String> {
    let mut obj = Map::new();
    for part in parts {
        let name = part
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| is_element_name(n))
            .ok_or("a part of 'value' has no element name")?;
        let v = part_value(part, name, depth + 1)?;
        match obj.get_mut(name) {
            None => {
                obj.insert(name.to_owned(), v);
            }
            Some(Value::Array(items)) => items.push(v),
            Some(first) => *first = Value::Array(vec![first.take(), v]),
        }
    }
    Ok(Value::Object(obj))
}
