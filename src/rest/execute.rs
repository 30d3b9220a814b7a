//! Running one parsed, authorised request: the interaction decides which engine function runs,
//! with the ids, criteria and query the parse found. Nothing here reads a path or URL.

use serde_json::Value;

use super::{Engine, Reply, Return};
use crate::access::Gate;
use crate::audit::write::Recording;
use crate::error::Error;
use crate::fhir::ResourceType;
use crate::interaction::{Interaction, Operation as Op, Request, Target};

impl Engine {
    /// Runs `request` (already authorised) for the gate's caller. `body` is the resource of a
    /// create or update, or the `Parameters` of an operation; `audit` records writes; `ret` is the
    /// client's `Prefer: return=`. The capability statement, the audit log, the operations over
    /// the whole store and bundles are answered by their own callers: asked here (as an entry of
    /// a bundle), they are refused.
    pub async fn execute(
        &self,
        request: &Request,
        body: Option<Value>,
        gate: &Gate,
        audit: &Recording,
        ret: Return,
    ) -> Result<Reply, Error> {
        use Interaction::*;
        let resource = || {
            body.clone()
                .ok_or_else(|| Error::BadRequest("The request carries no resource".into()))
        };
        let params = &request.params;
        match &request.interaction {
            Read { rtype, .. }
            | Search { rtype, .. }
            | VRead { rtype, .. }
            | HistoryInstance { rtype, .. }
            | HistoryType { rtype }
                if *rtype == ResourceType::AuditEvent =>
            {
                Err(not_here())
            }
            Read { rtype, id } => {
                let r = self.read(*rtype, id, gate).await?;
                Ok(r.unless_fresh(request.fresh.as_ref()))
            }
            VRead { rtype, id, version } => {
                let r = self.vread(*rtype, id, *version, gate).await?;
                Ok(r.unless_fresh(request.fresh.as_ref()))
            }
            HistoryInstance { rtype, id } => {
                self.history(Some(*rtype), Some(id), params, gate).await
            }
            HistoryType { rtype } => self.history(Some(*rtype), None, params, gate).await,
            HistorySystem => self.history(None, None, params, gate).await,
            Search {
                query: Some(query), ..
            } => self.search(query, params, gate).await,
            Create {
                rtype,
                if_none_exist,
            } => {
                self.create(
                    *rtype,
                    resource()?,
                    if_none_exist.as_deref(),
                    ret,
                    gate,
                    audit,
                )
                .await
            }
            Update { rtype, id } => {
                self.update(*rtype, id, resource()?, request.if_match, ret, gate, audit)
                    .await
            }
            ConditionalUpdate { rtype, criteria } => {
                let body = resource()?;
                let precondition = (criteria.as_ref(), request.if_match);
                self.conditional_update(*rtype, precondition, body, ret, gate, audit)
                    .await
            }
            Patch { rtype, id } => {
                self.patch(*rtype, id, resource()?, request.if_match, ret, gate, audit)
                    .await
            }
            ConditionalPatch { rtype, criteria } => {
                let patch = resource()?;
                self.conditional_patch(*rtype, criteria, patch, request.if_match, ret, gate, audit)
                    .await
            }
            Delete { rtype, id } => self.delete(*rtype, id, request.if_match, gate, audit).await,
            ConditionalDelete { rtype, criteria } => {
                self.conditional_delete(*rtype, criteria, gate, audit).await
            }
            Interaction::Operation {
                operation: Op::Extract,
                target,
            } => {
                let id = match target {
                    Target::Instance(_, id) => Some(id.as_str()),
                    _ => None,
                };
                let params_body =
                    body.unwrap_or_else(|| serde_json::json!({"resourceType": "Parameters"}));
                self.extract(id, params_body, params, gate, audit).await
            }
            Interaction::Operation {
                operation: Op::Validate,
                target,
            } => self.validate_resource(target, body, params, gate).await,
            Search { query: None, .. }
            | Capabilities
            | SmartConfiguration
            | Bundle
            | Interaction::Operation { .. }
            | Export { .. }
            | ExportStatus { .. }
            | ExportCancel { .. }
            | ExportFile { .. } => Err(not_here()),
        }
    }
}

fn not_here() -> Error {
    Error::BadRequest(
        "This interaction is not available inside a batch or transaction; send it on its own"
            .into(),
    )
}
