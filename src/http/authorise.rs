//! SMART scope checks per permission: which resource types and permissions a request needs, read
//! off its method and path (and, for bundles, off every entry's request), checked against the
//! principal's grants. 403 before any handler runs, so a refused request changes nothing.
//!
//! What each request needs:
//! - read, vread, instance history: `r`; search (GET or `POST _search`), type history: `s`;
//!   create: `c` (and `s` with `If-None-Exist`); update: `u`; conditional update or delete: `u`/`d`
//!   and `s` (the condition is a search); delete: `d`;
//! - system history: `s` on every type;
//! - `QuestionnaireResponse/$extract`: `r` on QuestionnaireResponse and `r` on CarePlan, and at
//!   instance level `c` on CarePlan too (it may store the draft);
//! - `$hna-outcomes`: `s` on QuestionnaireResponse, Patient, CarePlan and Organization;
//! - `$consent-explain`: `s` on Consent; `$audit-verify` and `$audit-export`: `s` on AuditEvent;
//! - a batch or transaction: what each entry needs; one entry not granted refuses the whole bundle
//!   (fail closed, and a transaction could not be half done anyway).

use std::sync::Arc;

use serde_json::Value;

use crate::auth::Principal;
use crate::auth::scopes::{Context, Permission};
use crate::error::Error;
use crate::fhir::ResourceType;

use Permission::{Create, Delete, Read, Search, Update};

/// One need: an permission on a resource type (by name, as the path gives it).
pub type Need = (String, Permission);

/// What a request to `path` (below the FHIR base, e.g. `/Patient/1`) needs; `None` for paths the
/// router answers without touching data (unknown routes, the bundle endpoint, checked per entry).
pub fn needs(method: &str, path: &str, conditional_create: bool) -> Option<Vec<Need>> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let one = |t: &str, i: Permission| Some(vec![(t.to_owned(), i)]);
    let with_search =
        |t: &str, i: Permission| Some(vec![(t.to_owned(), i), (t.to_owned(), Search)]);
    match (method, parts.as_slice()) {
        (_, [""]) | (_, ["metadata"]) => None,
        ("GET" | "POST", ["$hna-outcomes"]) => Some(
            [
                "QuestionnaireResponse",
                "Patient",
                "CarePlan",
                "Organization",
            ]
            .iter()
            .map(|t| ((*t).to_owned(), Search))
            .collect(),
        ),
        ("GET", ["$consent-explain"]) => Some(vec![("Consent".to_owned(), Search)]),
        ("GET", ["$audit-verify" | "$audit-export"]) => {
            Some(vec![("AuditEvent".to_owned(), Search)])
        }
        ("POST", ["QuestionnaireResponse", "$extract"]) => Some(vec![
            ("QuestionnaireResponse".to_owned(), Read),
            ("CarePlan".to_owned(), Read),
        ]),
        ("POST", ["QuestionnaireResponse", _, "$extract"]) => Some(vec![
            ("QuestionnaireResponse".to_owned(), Read),
            ("CarePlan".to_owned(), Read),
            ("CarePlan".to_owned(), Create),
        ]),
        ("GET", ["_history"]) => Some(
            ResourceType::ALL
                .iter()
                .map(|t| (t.to_string(), Search))
                .collect(),
        ),
        ("GET", [t]) => one(t, Search),
        ("POST", [t]) if conditional_create => with_search(t, Create),
        ("POST", [t]) => one(t, Create),
        ("PUT", [t]) => with_search(t, Update),
        ("DELETE", [t]) => with_search(t, Delete),
        ("POST", [t, "_search"]) | ("GET", [t, "_history"]) => one(t, Search),
        ("GET", [t, _]) | ("GET", [t, _, "_history"]) | ("GET", [t, _, "_history", _]) => {
            one(t, Read)
        }
        ("PUT", [t, _]) => one(t, Update),
        ("DELETE", [t, _]) => one(t, Delete),
        _ => None,
    }
}

/// 403 unless `principal` is granted every need.
pub fn check(principal: &Principal, needs: &[Need]) -> Result<(), Error> {
    let context = Context::of(principal.role);
    match needs
        .iter()
        .find(|(t, i)| !principal.grants.allows(context, t, *i))
    {
        None => Ok(()),
        Some((t, i)) => Err(Error::Forbidden(format!(
            "The token's scopes do not grant '{}' on {t}",
            i.letter()
        ))),
    }
}

/// What every entry of a batch or transaction needs.
pub fn bundle_needs(bundle: &Value) -> Vec<Need> {
    let entries = bundle
        .get("entry")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut out = Vec::new();
    for e in entries {
        let request = e.get("request");
        let method = request
            .and_then(|r| r.get("method"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let url = request
            .and_then(|r| r.get("url"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let path = url.split_once('?').map_or(url, |(p, _)| p);
        let conditional = request.and_then(|r| r.get("ifNoneExist")).is_some();
        // Entries the router would refuse are the engine's to answer (400); they need nothing here.
        out.extend(needs(method, path, conditional).unwrap_or_default());
    }
    out
}

/// The principal the authentication middleware left on the request.
pub fn principal(req: &actix_web::HttpRequest) -> Result<Arc<Principal>, Error> {
    use actix_web::HttpMessage as _;
    req.extensions()
        .get::<Arc<Principal>>()
        .cloned()
        .ok_or_else(|| Error::Internal("no principal on an authenticated route".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn need(path: &str, method: &str) -> Option<Vec<Need>> {
        needs(method, path, false)
    }

    #[test]
    fn each_interaction_needs_its_letter() {
        let n = |t: &str, i| vec![(t.to_owned(), i)];
        assert_eq!(need("/Patient/1", "GET"), Some(n("Patient", Read)));
        assert_eq!(
            need("/Patient/1/_history/2", "GET"),
            Some(n("Patient", Read))
        );
        assert_eq!(need("/Patient", "GET"), Some(n("Patient", Search)));
        assert_eq!(need("/Patient/_search", "POST"), Some(n("Patient", Search)));
        assert_eq!(need("/Patient", "POST"), Some(n("Patient", Create)));
        assert_eq!(need("/Patient/1", "PUT"), Some(n("Patient", Update)));
        assert_eq!(need("/Patient/1", "DELETE"), Some(n("Patient", Delete)));
        assert_eq!(
            needs("POST", "/Patient", true),
            Some(vec![("Patient".into(), Create), ("Patient".into(), Search)])
        );
        assert_eq!(need("/", "POST"), None);
        assert_eq!(need("/metadata", "GET"), None);
    }

    #[test]
    fn a_bundle_needs_what_its_entries_need() {
        let b = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
            {"request": {"method": "POST", "url": "Patient", "ifNoneExist": "identifier=x|1"}},
            {"request": {"method": "GET", "url": "CarePlan?subject=Patient/1"}},
            {"request": {"method": "DELETE", "url": "Task/9"}}]});
        assert_eq!(
            bundle_needs(&b),
            vec![
                ("Patient".to_owned(), Create),
                ("Patient".to_owned(), Search),
                ("CarePlan".to_owned(), Search),
                ("Task".to_owned(), Delete),
            ]
        );
    }
}
