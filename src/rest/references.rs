//! References inside resources being written: conditional references (`Patient?identifier=s|v`) are
//! resolved to the one resource they match, and references to other entries of a transaction
//! (`urn:uuid:`) are replaced by the ids assigned. Unresolvable ones refuse the write.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde_json::Value;

use super::Engine;
use super::write::{Visible, matches_in};
use crate::error::Error;
use crate::search::SearchQuery;
use crate::store::Tx;

impl Engine {
    /// Every `Type?criteria` reference in `resource`, parsed, keyed by its text.
    pub(super) fn conditional_references_of(
        &self,
        resource: &Value,
    ) -> Result<HashMap<String, SearchQuery>, Error> {
        self.conditional_references_at(resource, &reference_pointers(resource))
    }

    /// Like [`Engine::conditional_references_of`], given where the references are.
    pub(super) fn conditional_references_at(
        &self,
        resource: &Value,
        pointers: &[String],
    ) -> Result<HashMap<String, SearchQuery>, Error> {
        let mut out = HashMap::new();
        for pointer in pointers {
            let Some(reference) = resource.pointer(pointer).and_then(Value::as_str) else {
                continue;
            };
            if let Some((t, q)) = reference.split_once('?') {
                let query = self.criteria(super::parse_type(t)?, q)?;
                out.insert(reference.to_owned(), query);
            }
        }
        Ok(out)
    }
}

/// Resolves each conditional reference inside the transaction: exactly one match, or 412.
/// Only resources the caller can see (`visible`) are candidates.
pub fn resolve_conditional_in(
    tx: &mut dyn Tx,
    refs: &HashMap<String, SearchQuery>,
    visible: &Visible,
    aliases: &mut HashMap<String, String>,
) -> Result<(), Error> {
    for (reference, q) in refs {
        match matches_in(tx, q, visible)?.as_slice() {
            [one] => {
                aliases.insert(reference.clone(), format!("{}/{one}", q.rtype));
            }
            [] => {
                return Err(Error::PreconditionFailed(format!(
                    "Conditional reference {} matched nothing",
                    clip(reference)
                )));
            }
            _ => {
                return Err(Error::MultipleMatches(format!(
                    "Conditional reference {} matched more than one resource",
                    clip(reference)
                )));
            }
        }
    }
    Ok(())
}

/// Replaces `reference` values that name another entry (by fullUrl) or a resolved condition.
pub fn rewrite_references(v: &mut Value, aliases: &HashMap<String, String>) -> Result<(), Error> {
    let pointers = reference_pointers(v);
    rewrite_at(v, &pointers, aliases)
}

/// The JSON pointers of every `reference` string in `v`. Found once, before a transaction reaches
/// the store's writer, so that the writer rewrites references at these places instead of walking
/// every element of every resource again.
pub fn reference_pointers(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut path = String::new();
    pointers(v, &mut path, &mut out);
    out
}

fn pointers(v: &Value, path: &mut String, out: &mut Vec<String>) {
    let len = path.len();
    match v {
        Value::Object(obj) => {
            for (key, child) in obj {
                match child {
                    Value::String(_) if key == "reference" => {
                        out.push(format!("{path}/reference"));
                    }
                    Value::Object(_) | Value::Array(_) => {
                        path.push('/');
                        // RFC 6901 escapes; FHIR element names never need them, so the common
                        // case copies the key as it is (this walk visits every element).
                        if key.contains(['~', '/']) {
                            path.push_str(&key.replace('~', "~0").replace('/', "~1"));
                        } else {
                            path.push_str(key);
                        }
                        pointers(child, path, out);
                        path.truncate(len);
                    }
                    _ => {}
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                if matches!(item, Value::Object(_) | Value::Array(_)) {
                    path.push('/');
                    // Infallible: writing to a String.
                    let _ = write!(path, "{i}");
                    pointers(item, path, out);
                    path.truncate(len);
                }
            }
        }
        _ => {}
    }
}

/// [`rewrite_references`] at the given pointers only (from [`reference_pointers`] of this value).
pub fn rewrite_at(
    v: &mut Value,
    pointers: &[String],
    aliases: &HashMap<String, String>,
) -> Result<(), Error> {
    for pointer in pointers {
        if let Some(Value::String(r)) = v.pointer_mut(pointer) {
            rewrite_one(r, aliases)?;
        }
    }
    Ok(())
}

fn rewrite_one(r: &mut String, aliases: &HashMap<String, String>) -> Result<(), Error> {
    if let Some(new) = aliases.get(r.as_str()) {
        r.clone_from(new);
    } else if r.starts_with("urn:uuid:") || r.starts_with("urn:oid:") {
        return Err(Error::BadRequest(format!(
            "Reference {} names no entry of this transaction",
            clip(r)
        )));
    }
    Ok(())
}

fn clip(s: &str) -> String {
    s.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn references_are_rewritten_wherever_they_are() {
        let mut plan = json!({
            "subject": {"reference": "urn:uuid:p"},
            "activity": [{"detail": {"performer": [{"reference": "urn:uuid:o"}, {"display": "x"}]}}],
            "supportingInfo": [{"reference": "QuestionnaireResponse/q"}]
        });
        let pointers = reference_pointers(&plan);
        assert_eq!(
            pointers,
            [
                "/subject/reference",
                "/activity/0/detail/performer/0/reference",
                "/supportingInfo/0/reference"
            ]
        );
        let aliases: HashMap<String, String> = [
            ("urn:uuid:p".to_owned(), "Patient/1".to_owned()),
            ("urn:uuid:o".to_owned(), "Organization/2".to_owned()),
        ]
        .into();
        let mut walked = plan.clone();
        rewrite_at(&mut plan, &pointers, &aliases).expect("rewrites");
        rewrite_references(&mut walked, &aliases).expect("rewrites");
        assert_eq!(plan, walked);
        assert_eq!(
            plan["activity"][0]["detail"]["performer"][0]["reference"],
            "Organization/2"
        );
        let mut dangling = json!({"subject": {"reference": "urn:uuid:nobody"}});
        let pointers = reference_pointers(&dangling);
        assert!(rewrite_at(&mut dangling, &pointers, &aliases).is_err());
    }
}
