//! References inside resources being written: conditional references (`Patient?identifier=s|v`) are
//! resolved to the one resource they match, and references to other entries of a transaction
//! (`urn:uuid:`) are replaced by the ids assigned. Unresolvable ones refuse the write.

use std::collections::HashMap;

use serde_json::Value;

use super::Engine;
use super::write::matches_in;
use crate::error::Error;
use crate::search::SearchQuery;
use crate::store::Tx;

impl Engine {
    /// Every `Type?criteria` reference in `resource`, parsed, keyed by its text.
    pub(super) fn conditional_references_of(
        &self,
        resource: &Value,
    ) -> Result<HashMap<String, SearchQuery>, Error> {
        let mut refs = Vec::new();
        conditional_references(resource, &mut refs);
        let mut out = HashMap::new();
        for reference in refs {
            if let Some((t, q)) = reference.split_once('?') {
                let query = self.criteria(super::parse_type(t)?, q)?;
                out.insert(reference.to_owned(), query);
            }
        }
        Ok(out)
    }
}

/// Resolves each conditional reference inside the transaction: exactly one match, or 412.
pub fn resolve_conditional_in(
    tx: &mut dyn Tx,
    refs: &HashMap<String, SearchQuery>,
    aliases: &mut HashMap<String, String>,
) -> Result<(), Error> {
    for (reference, q) in refs {
        match matches_in(tx, q)?.as_slice() {
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
    match v {
        // One pass over the keys rather than a hashed lookup of `reference` in every object: most
        // objects are small, and this walk visits every one of a large transaction's.
        Value::Object(obj) => {
            for (key, child) in obj.iter_mut() {
                match child {
                    Value::String(r) if key == "reference" => {
                        if let Some(new) = aliases.get(r.as_str()) {
                            r.clone_from(new);
                        } else if r.starts_with("urn:uuid:") || r.starts_with("urn:oid:") {
                            return Err(Error::BadRequest(format!(
                                "Reference {} names no entry of this transaction",
                                clip(r)
                            )));
                        }
                    }
                    Value::Object(_) | Value::Array(_) => rewrite_references(child, aliases)?,
                    _ => {}
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                rewrite_references(item, aliases)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Every conditional (`Type?criteria`) `reference` value in `v`, borrowed.
fn conditional_references<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(obj) => {
            for (key, child) in obj {
                match child {
                    Value::String(r) if key == "reference" && r.contains('?') => out.push(r),
                    Value::Object(_) | Value::Array(_) => conditional_references(child, out),
                    _ => {}
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|c| conditional_references(c, out)),
        _ => {}
    }
}

fn clip(s: &str) -> String {
    s.chars().take(80).collect()
}
