//! Extraction of search-index values from a resource at write time. The store writes these rows next to
//! the resource in the same transaction, so an index never disagrees with the data it points to.

use serde_json::Value;

use super::date::{self, Range};
use super::registry::{self, ParamDef, ParamKind};
use crate::{ResourceType, id};

/// One value of one search parameter of a resource.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum IndexValue {
    /// A coded value or identifier; `system` is `None` when the element carries none.
    Token {
        system: Option<String>,
        code: String,
    },
    /// A string as written; the store keeps a normalised copy for case-insensitive search.
    String(String),
    /// A time range `[lo, hi)` in epoch milliseconds.
    Date(Range),
    /// A literal reference to a served resource.
    Reference { rtype: ResourceType, id: String },
    /// `Reference.identifier`, searched with the `:identifier` modifier.
    RefIdentifier {
        system: Option<String>,
        code: String,
    },
    /// A uri or canonical, matched exactly.
    Uri(String),
}

/// A parameter name with one extracted value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct IndexEntry {
    /// The parameter's name, e.g. `patient`.
    pub param: &'static str,
    /// The value.
    pub value: IndexValue,
}

/// Every index entry of `resource` (of type `rtype`), duplicates removed. Only relative references
/// are indexed; see [`extract_with_base`] for absolute ones to this server.
pub fn extract(rtype: ResourceType, resource: &Value) -> Vec<IndexEntry> {
    extract_with_base(rtype, resource, "")
}

/// As [`extract`], also indexing absolute references that start with this server's `base` URL as the
/// local resources they name (so `subject=Patient/1` finds `http://host/fhir/Patient/1`).
pub fn extract_with_base(rtype: ResourceType, resource: &Value, base: &str) -> Vec<IndexEntry> {
    let mut out = Vec::new();
    for def in registry::all_params(rtype) {
        for path in def.paths {
            let mut leaves = Vec::new();
            collect(resource, path.split('.'), &mut leaves);
            for leaf in leaves {
                values_of(def, leaf, base, &mut out);
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

fn collect<'a>(v: &'a Value, mut path: std::str::Split<'_, char>, out: &mut Vec<&'a Value>) {
    match v {
        Value::Array(items) => {
            for item in items {
                collect(item, path.clone(), out);
            }
        }
        _ => match path.next() {
            None => out.push(v),
            Some(step) => {
                if let Some(child) = v.get(step) {
                    collect(child, path, out);
                }
            }
        },
    }
}

fn values_of(def: &'static ParamDef, leaf: &Value, base: &str, out: &mut Vec<IndexEntry>) {
    let mut push = |value| {
        out.push(IndexEntry {
            param: def.name,
            value,
        })
    };
    match def.kind {
        ParamKind::Token => tokens(leaf, &mut |system, code| {
            push(IndexValue::Token { system, code })
        }),
        ParamKind::String => strings(leaf, &mut |s| push(IndexValue::String(s))),
        ParamKind::Date => {
            if let Some(r) = date_range(leaf) {
                push(IndexValue::Date(r));
            }
        }
        ParamKind::Uri => {
            if let Some(s) = leaf.as_str() {
                push(IndexValue::Uri(s.to_owned()));
            }
        }
        ParamKind::Reference => {
            // A narrowed parameter's literal references are the rows of the one it narrows.
            if def.narrows.is_none()
                && let Some((rtype, id)) = leaf
                    .get("reference")
                    .and_then(Value::as_str)
                    .map(|r| local_part(r, base))
                    .and_then(id::parse_relative)
                && (def.targets.is_empty() || def.targets.contains(&rtype))
            {
                push(IndexValue::Reference {
                    rtype,
                    id: id.to_owned(),
                });
            }
            if let Some(ident) = leaf.get("identifier") {
                tokens(ident, &mut |system, code| {
                    push(IndexValue::RefIdentifier { system, code })
                });
            }
        }
    }
}

/// `Type/id` for an absolute reference under `base`; anything else unchanged.
fn local_part<'a>(reference: &'a str, base: &str) -> &'a str {
    if base.is_empty() {
        return reference;
    }
    reference
        .strip_prefix(base)
        .and_then(|r| r.strip_prefix('/'))
        .unwrap_or(reference)
}

fn tokens(v: &Value, push: &mut dyn FnMut(Option<String>, String)) {
    let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    match v {
        Value::String(s) => push(None, s.clone()),
        Value::Bool(b) => push(None, b.to_string()),
        Value::Number(n) => push(None, n.to_string()),
        Value::Object(o) if o.contains_key("coding") => {
            if let Some(Value::Array(codings)) = o.get("coding") {
                for c in codings {
                    tokens(c, push);
                }
            }
        }
        Value::Object(_) => {
            // Coding {system, code}; Identifier {system, value}; ContactPoint {system, value}.
            if let Some(code) = text("code").or_else(|| text("value")) {
                push(text("system"), code);
            }
        }
        _ => {}
    }
}

fn strings(v: &Value, push: &mut dyn FnMut(String)) {
    match v {
        Value::String(s) => push(s.clone()),
        Value::Object(o) => {
            for key in [
                "text",
                "family",
                "given",
                "prefix",
                "suffix",
                "line",
                "city",
                "district",
                "state",
                "postalCode",
                "country",
            ] {
                match o.get(key) {
                    Some(Value::String(s)) => push(s.clone()),
                    Some(Value::Array(items)) => items
                        .iter()
                        .filter_map(Value::as_str)
                        .for_each(|s| push(s.to_owned())),
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

fn date_range(v: &Value) -> Option<Range> {
    match v {
        Value::String(s) => date::parse_range(s),
        Value::Object(o) => {
            let start = o
                .get("start")
                .and_then(Value::as_str)
                .and_then(date::parse_range);
            let end = o
                .get("end")
                .and_then(Value::as_str)
                .and_then(date::parse_range);
            if start.is_none() && end.is_none() {
                return None;
            }
            Some(Range {
                lo: start.map_or(i64::MIN, |r| r.lo),
                hi: end.map_or(i64::MAX, |r| r.hi),
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn find<'a>(entries: &'a [IndexEntry], param: &str) -> Vec<&'a IndexValue> {
        entries
            .iter()
            .filter(|e| e.param == param)
            .map(|e| &e.value)
            .collect()
    }

    #[test]
    fn patient_identifiers_names_and_dates_are_indexed() {
        let p = json!({"resourceType": "Patient",
            "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765919"}],
            "name": [{"family": "Smith", "given": ["Ann", "Marie"]}],
            "birthDate": "1960-04-02", "gender": "female",
            "generalPractitioner": [{"reference": "Organization/gp1"}],
            "meta": {"tag": [{"system": "s", "code": "t"}]}});
        let e = extract(ResourceType::Patient, &p);
        assert_eq!(
            find(&e, "identifier"),
            vec![&IndexValue::Token {
                system: Some("https://fhir.nhs.uk/Id/nhs-number".into()),
                code: "9434765919".into()
            }]
        );
        assert_eq!(find(&e, "given").len(), 2);
        assert_eq!(find(&e, "name").len(), 3);
        assert_eq!(
            find(&e, "gender"),
            vec![&IndexValue::Token {
                system: None,
                code: "female".into()
            }]
        );
        assert_eq!(
            find(&e, "general-practitioner"),
            vec![&IndexValue::Reference {
                rtype: ResourceType::Organization,
                id: "gp1".into()
            }]
        );
        assert!(matches!(find(&e, "birthdate")[..], [IndexValue::Date(_)]));
        assert_eq!(find(&e, "_tag").len(), 1);
    }

    #[test]
    fn patient_parameters_keep_only_patient_references() {
        let plan = json!({"resourceType": "CarePlan", "subject": {"reference": "Group/g1"},
            "activity": [{"detail": {"performer": [{"reference": "Organization/h1"},
                {"identifier": {"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "X1"}}]}}]});
        let e = extract(ResourceType::CarePlan, &plan);
        assert!(find(&e, "patient").is_empty());
        assert_eq!(
            find(&e, "performer"),
            vec![
                &IndexValue::Reference {
                    rtype: ResourceType::Organization,
                    id: "h1".into()
                },
                &IndexValue::RefIdentifier {
                    system: Some("https://fhir.nhs.uk/Id/ods-organization-code".into()),
                    code: "X1".into()
                },
            ]
        );
    }

    #[test]
    fn open_periods_extend_to_the_end_of_time() {
        let plan = json!({"resourceType": "CarePlan", "period": {"start": "2026-01-01"}});
        let e = extract(ResourceType::CarePlan, &plan);
        match find(&e, "date")[..] {
            [IndexValue::Date(r)] => assert_eq!(r.hi, i64::MAX),
            ref other => panic!("unexpected {other:?}"),
        }
    }
}
