//! `PATCH [type]/[id]` with a JSON Patch (RFC 6902, `crate::fhir::json_patch`): the patch is applied
//! to the current version and the result goes through the update path, so it is validated, checked
//! by the write table and the referral workflow, and audited exactly like a PUT of the same result.
//!
//! Decisions:
//! - The patched version is the current one; `If-Match` (when given) must name it (412 otherwise).
//!   Without it the patch still replaces only the version it was applied to (a concurrent change
//!   makes it 412, never a lost update); Tasks and referrals need `If-Match` (428), as a PUT does.
//! - Only a caller who sees the resource whole may patch it: a patch applied to a redacted view
//!   would drop what the view withholds, and one applied to the stored resource could `test` what
//!   the caller may not see. A redacted view answers 403; a hidden resource 404.
//! - FHIRPath Patch (a `Parameters` body) is not supported yet (501); nor is PATCH inside a
//!   batch or transaction (its entry would carry a `Binary`).

use serde_json::Value;

use super::{Body, Engine, Reply, Return};
use crate::access::Gate;
use crate::audit::write::Recording;
use crate::error::Error;
use crate::fhir::ResourceType;

impl Engine {
    /// `PATCH [type]/[id]` with the JSON Patch `patch`.
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
        if patch.get("resourceType").and_then(Value::as_str) == Some("Parameters") {
            return Err(Error::NotImplemented(
                "FHIRPath Patch is not supported yet: send a JSON Patch (application/json-patch+json)"
                    .into(),
            ));
        }
        if !patch.is_array() {
            return Err(Error::BadRequest(
                "A PATCH body is a JSON Patch: a list of operations (application/json-patch+json)"
                    .into(),
            ));
        }
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
            .map_err(|e| Error::Internal(format!("stored {rtype}/{id}: {e}")))?;
        let patched = crate::fhir::json_patch::apply(&stored, &patch)?;
        let version = if_match.unwrap_or(current.version);
        self.update(rtype, id, patched, Some(version), ret, gate, audit)
            .await
    }
}
