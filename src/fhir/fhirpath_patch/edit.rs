//! The changes of FHIRPath Patch on FHIR JSON, at the locations a path selected. They keep FHIR
//! JSON's shape: no list or object left empty, and the `_name` companions (the ids and extensions
//! of primitives) following their element.

use serde_json::{Map, Value};

use super::path::Seg;

/// The element at `loc`, if it is there.
fn at_mut<'a>(doc: &'a mut Value, loc: &[Seg]) -> Option<&'a mut Value> {
    loc.iter().try_fold(doc, |v, seg| match seg {
        Seg::Key(k) => v.get_mut(k.as_str()),
        Seg::Idx(i) => v.get_mut(*i),
    })
}

/// The element at `loc`, which must be one with children.
fn object_at<'a>(doc: &'a mut Value, loc: &[Seg]) -> Result<&'a mut Map<String, Value>, String> {
    at_mut(doc, loc)
        .and_then(Value::as_object_mut)
        .ok_or_else(|| "the element selected is a primitive, not one with children".into())
}

/// Where an element is: the object holding it, its member name, and its item when in a list.
fn holder(loc: &[Seg]) -> Option<(&[Seg], &str, Option<usize>)> {
    match loc {
        [init @ .., Seg::Key(k), Seg::Idx(i)] => Some((init, k, Some(*i))),
        [init @ .., Seg::Key(k)] => Some((init, k, None)),
        _ => None,
    }
}

/// The member holding the ids and extensions of primitive member `key`.
fn companion(key: &str) -> String {
    format!("_{key}")
}

/// `add`: child `name` of the element at `loc`, appended when it is a list.
pub(super) fn add(doc: &mut Value, loc: &[Seg], name: &str, value: Value) -> Result<(), String> {
    let obj = object_at(doc, loc)?;
    match obj.get(name) {
        Some(Value::Array(items)) => {
            let end = items.len();
            edit_list(obj, name, ListEdit::Insert(end), value)
        }
        Some(_) => Err(format!("the element already has '{name}'")),
        None if obj.contains_key(&companion(name)) => Err(format!(
            "the element already has '{name}' (with extensions only)"
        )),
        None => {
            obj.insert(name.to_owned(), value);
            Ok(())
        }
    }
}

/// An `insert` or `move` in list `member` of the element at `loc`.
pub(super) fn edit_at(
    doc: &mut Value,
    loc: &[Seg],
    member: &str,
    edit: ListEdit,
    value: Value,
) -> Result<(), String> {
    let obj = object_at(doc, loc)?;
    match (obj.get(member), edit) {
        (Some(Value::Array(_)), _) => edit_list(obj, member, edit, value),
        (Some(_), _) => Err(format!("'{member}' is not a list")),
        (None, ListEdit::Insert(0)) => {
            obj.insert(member.to_owned(), Value::Array(vec![value]));
            Ok(())
        }
        (None, ListEdit::Insert(i)) => Err(format!(
            "index {i} is out of range (there is no '{member}' yet)"
        )),
        (None, _) => Err(format!("there is no '{member}'")),
    }
}

/// `replace`: the element at `loc` becomes `value`.
pub(super) fn replace(doc: &mut Value, loc: &[Seg], value: Value) -> Result<(), String> {
    let (at, key, item) = holder(loc).ok_or("the resource itself cannot be replaced")?;
    let obj = object_at(doc, at)?;
    match item {
        Some(i) => edit_list(obj, key, ListEdit::Set(i), value),
        None => {
            obj.insert(key.to_owned(), value);
            obj.shift_remove(&companion(key));
            Ok(())
        }
    }
}

/// Deletes the element at `loc`, then every object that leaves empty, up to the resource.
pub(super) fn delete(doc: &mut Value, loc: &[Seg]) -> Result<(), String> {
    let mut loc = loc;
    loop {
        let (at, key, item) = holder(loc).ok_or("the resource itself cannot be deleted")?;
        let obj = object_at(doc, at)?;
        match item {
            Some(i) => edit_list(obj, key, ListEdit::Remove(i), Value::Null)?,
            None => {
                obj.shift_remove(key);
                obj.shift_remove(&companion(key));
            }
        }
        if at.is_empty() || !obj.is_empty() {
            return Ok(());
        }
        loc = at;
    }
}

/// A change to a list's items.
#[derive(Clone, Copy)]
pub(super) enum ListEdit {
    Insert(usize),
    Remove(usize),
    Set(usize),
    Move(usize, usize),
}

/// `edit` on list `key` of `obj`, with `value` for what it puts in. `_key` (the ids and extensions
/// of a list of primitives) is kept parallel; either list is removed when it has nothing left.
fn edit_list(
    obj: &mut Map<String, Value>,
    key: &str,
    edit: ListEdit,
    value: Value,
) -> Result<(), String> {
    let items = obj
        .get_mut(key)
        .and_then(Value::as_array_mut)
        .ok_or_else(|| format!("'{key}' is not a list"))?;
    let len = items.len();
    edit_items(items, edit, value)?;
    let emptied = items.is_empty();
    let extra = companion(key);
    if let Some(Value::Array(ext)) = obj.get_mut(&extra) {
        if ext.len() < len {
            ext.resize(len, Value::Null);
        }
        // Cannot fail: `ext` is at least as long as the list the edit was checked against.
        edit_items(ext, edit, Value::Null)?;
        if ext.iter().all(Value::is_null) {
            obj.shift_remove(&extra);
        }
    }
    if emptied {
        obj.shift_remove(key);
        obj.shift_remove(&extra);
    }
    Ok(())
}

/// `edit` on `items`, with `value` for what it puts in; an index out of range changes nothing.
fn edit_items(items: &mut Vec<Value>, edit: ListEdit, value: Value) -> Result<(), String> {
    let len = items.len();
    let below = |i: usize, bound: usize| {
        (i < bound)
            .then_some(i)
            .ok_or_else(|| format!("index {i} is out of range (the list has {len} items)"))
    };
    match edit {
        ListEdit::Insert(i) => items.insert(below(i, len + 1)?, value),
        ListEdit::Remove(i) => {
            items.remove(below(i, len)?);
        }
        ListEdit::Set(i) => {
            let i = below(i, len)?;
            if let Some(item) = items.get_mut(i) {
                *item = value;
            }
        }
        ListEdit::Move(from, to) => {
            let (from, to) = (below(from, len)?, below(to, len)?);
            let item = items.remove(from);
            items.insert(to, item);
        }
    }
    Ok(())
}
