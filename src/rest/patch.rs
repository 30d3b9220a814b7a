//! `PATCH [type]/[id]` and `PATCH [type]?criteria` with a JSON Patch (RFC 6902,
//! `crate::fhir::json_patch`) or a FHIRPath Patch (a `Parameters` body,
//! `crate::fhir::fhirpath_patch`): the patch is applied to the current version and the result goes
//! through the update path, so it is validated, checked by the write table and the referral
//! workflow, and audited exactly like a PUT of the same result. In a transaction a patch entry
//! becomes the update it makes (`super::batch`), checked and written with the other entries.
//!
//! Decisions:
//! - The patched version is the current one; `If-Match` (when given) must name it (412 otherwise).
//!   Without it the patch still replaces only the version it was applied to (a concurrent change
//!   makes it 412, never a lost update); Tasks and referrals need `If-Match` (428), as a PUT does.
//! - Only a caller who sees the resource whole may patch it: a patch applied to a redacted view
//!   would drop what the view withholds, and one applied to the stored resource could `test` what
//!   the caller may not see. A redacted view answers 403; a hidden resource 404.
//! - A conditional patch finds its one match as the caller's search would: none is 404, more
//!   than one 412 (as a conditional update), and the one match is then patched as by id.
//! - In a bundle, an entry's patch is its `resource`: a `Parameters` (FHIRPath Patch) or a
//!   `Binary` whose `contentType` is `application/json-patch+json` and whose `data` is the JSON
//!   Patch, base64-encoded.

use serde_json::Value;

use super::{Body, Engine, Reply, Return};
use crate::access::Gate;
use crate::audit::write::Recording;
use crate::error::Error;
use crate::fhir::ResourceType;
use crate::search::SearchQuery;

impl Engine {
    /// `PATCH [type]/[id]` with `patch` (a JSON Patch or a FHIRPath Patch `Parameters`).
    #[allow(clippy::too_many_arguments)]
    pub async fn patch(
        &self,
        rtype: ResourceType,
        id: &str,
        patch: Value,
        if_match: Option<u64>,
        ret: Return,
        gate: &Gate,
        audit: &Recording,
    ) -> Result<Reply, Error> {
        let (patched, version) = self.patched(rtype, id, &patch, if_match, gate).await?;
        self.update(rtype, id, patched, Some(version), ret, gate, audit)
            .await
    }

    /// `PATCH [type]?criteria`: the one resource the caller's search of `criteria` finds, patched.
    #[allow(clippy::too_many_arguments)]
    pub async fn conditional_patch(
        &self,
        rtype: ResourceType,
        criteria: &SearchQuery,
        patch: Value,
        if_match: Option<u64>,
        ret: Return,
        gate: &Gate,
        audit: &Recording,
    ) -> Result<Reply, Error> {
        let id = self.one_match(rtype, criteria, gate).await?;
        self.patch(rtype, &id, patch, if_match, ret, gate, audit)
            .await
    }

    /// The id of the one resource the caller's search of `criteria` finds: 404 for none, 412 for
    /// several.
    pub(super) async fn one_match(
        &self,
        rtype: ResourceType,
        criteria: &SearchQuery,
        gate: &Gate,
    ) -> Result<String, Error> {
        let walk = self.walk(criteria, gate).await?;
        let mut found: Vec<String> = Vec::new();
        let mut after = 0;
        loop {
            let page = self.walk_page(&walk, after, 100, gate).await?;
            found.extend(page.matches.into_iter().map(|(_, r, _)| r.id));
            if found.len() > 1 {
                return Err(Error::MultipleMatches(
                    "The criteria matched more than one resource".into(),
                ));
            }
            match page.next {
                Some(next) => after = next,
                None => break,
            }
        }
        // No match is 404, as FHIR says for a conditional patch; the id names the search.
        found.pop().ok_or_else(|| Error::NotFound {
            rtype,
            id: "?criteria".into(),
        })
    }

    /// The current version of `rtype/id` with `patch` applied, and the version it replaces
    /// (`If-Match`'s, checked again when written). Only a caller shown the resource whole may
    /// patch it.
    pub(super) async fn patched(
        &self,
        rtype: ResourceType,
        id: &str,
        patch: &Value,
        if_match: Option<u64>,
        gate: &Gate,
    ) -> Result<(Value, u64), Error> {
        let not_found = || Error::NotFound {
            rtype,
            id: id.to_owned(),
        };
        let current = self
            .store
            .backend()
            .read(rtype, id)
            .await?
            .filter(|r| !r.deleted)
            .ok_or_else(not_found)?;
        match gate.admit(&current).await? {
            Some(Body::Raw(_)) => {}
            Some(Body::Json(_)) => {
                return Err(Error::Forbidden(format!(
                    "{rtype}/{id} is shown to this caller redacted and cannot be patched"
                )));
            }
            None => {
                gate.attempted(&current);
                return Err(not_found());
            }
        }
        if if_match.is_none() && crate::referral::settle::Touched::concerns(rtype) {
            return Err(Error::PreconditionRequired(format!(
                "A patch of {rtype}/{id} must say which version it changes (If-Match)"
            )));
        }
        let stored: Value = serde_json::from_str(&current.body)
            .map_err(|e| Error::internal_from(format!("stored {rtype}/{id}"), e))?;
        let patched = apply(&stored, patch)?;
        Ok((patched, if_match.unwrap_or(current.version)))
    }
}

/// `patch` applied to `stored`: a FHIRPath Patch when it is a `Parameters`, else a JSON Patch.
fn apply(stored: &Value, patch: &Value) -> Result<Value, Error> {
    if patch.get("resourceType").and_then(Value::as_str) == Some("Parameters") {
        return Ok(crate::fhir::fhirpath_patch::apply(stored, patch)?);
    }
    if !patch.is_array() {
        return Err(Error::BadRequest(
            "A PATCH body is a JSON Patch (application/json-patch+json, a list of operations) or a FHIRPath Patch (a Parameters resource)"
                .into(),
        ));
    }
    Ok(crate::fhir::json_patch::apply(stored, patch)?)
}

/// The patch a bundle entry carries as its `resource`: a FHIRPath Patch `Parameters`, or a
/// `Binary` holding a JSON Patch (`contentType` `application/json-patch+json`, base64 `data`).
pub(super) fn entry_patch(resource: Option<Value>) -> Result<Value, String> {
    let r = resource
        .ok_or("resource is missing: a Parameters (FHIRPath Patch) or a Binary (JSON Patch)")?;
    match r.get("resourceType").and_then(Value::as_str) {
        Some("Parameters") => Ok(r),
        Some("Binary") => {
            let ctype = r
                .get("contentType")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if ctype.split(';').next().map(str::trim) != Some("application/json-patch+json") {
                return Err(
                    "a Binary patch must have contentType application/json-patch+json".into(),
                );
            }
            use base64::Engine as _;
            let data = r.get("data").and_then(Value::as_str).unwrap_or_default();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(data)
                .map_err(|_| "the Binary's data is not base64".to_owned())?;
            serde_json::from_slice(&bytes)
                .map_err(|_| "the Binary's data is not a JSON Patch".to_owned())
        }
        _ => Err(
            "a patch entry's resource is a Parameters (FHIRPath Patch) or a Binary (JSON Patch)"
                .into(),
        ),
    }
}
