//! The audit middleware (design.md section 5): every request to the FHIR API, served, refused or
//! failed, leaves one AuditEvent in the hash-chained log, and the response is released only once
//! that event is durable in the gateway's journal ([`crate::audit::journal`]). If it cannot be
//! stored the client gets 503 and none of the response.
//!
//! It sits outside authentication, so unauthenticated (401) and refused (403) requests are
//! recorded too, with whatever is known of the caller. The journal commits concurrent events
//! together (group commit); shutdown writes what is queued, and no response waits on an event
//! that was not written.
//!
//! What the event names comes from the request (method, path, query), the verified principal, the
//! access gate (the resources served, their patients, the deciding consents, broken glass) and, for
//! writes, the `Location` of the version written. The health probes and the SMART configuration
//! are not audited: they carry no data.

use std::sync::Arc;

use actix_web::HttpMessage as _;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web::Data;

use super::FHIR_PATH;
use crate::access::Gate;
use crate::audit::Trail;
use crate::audit::event::{Agent, Disclosed, Record, sanitised_query};
use crate::audit::write::{CallerSlot, Draft};
use crate::auth::Principal;
use crate::error::Error;
use crate::fhir::instant::now_ms;
use crate::rest::Engine;

/// The middleware (for `middleware::from_fn`).
pub async fn audit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(path) = req.path().strip_prefix(FHIR_PATH).map(str::to_owned) else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    if path.trim_matches('/') == ".well-known/smart-configuration" {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    }
    let engine = req
        .app_data::<Data<Engine>>()
        .cloned()
        .ok_or_else(|| Error::Internal("no engine configured".into()))?;
    let trail = req
        .app_data::<Data<Trail>>()
        .cloned()
        .ok_or_else(|| Error::Internal("no audit trail configured".into()))?;
    let writes = matches!(req.method().as_str(), "POST" | "PUT" | "DELETE");
    // The request itself cannot be kept across the call (routing needs it unshared); the caller
    // is left in this slot by authentication, for requests that end in its error.
    let slot = CallerSlot::default();
    req.extensions_mut().insert(slot.clone());
    let draft = Draft::new(
        trail.writes_chain(),
        req.method().as_str().to_owned(),
        path,
        sanitised_query(req.query_string()),
        slot.clone(),
    );
    let result = crate::audit::write::scope(Arc::clone(&draft), next.call(req)).await;
    let (status, location) = match &result {
        Ok(res) => (
            res.status().as_u16(),
            res.headers()
                .get(actix_web::http::header::LOCATION)
                .or_else(|| res.headers().get(actix_web::http::header::CONTENT_LOCATION))
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        ),
        Err(e) => (e.as_response_error().status_code().as_u16(), None),
    };
    if draft.recorded_status() == Some(status) {
        // The write's transaction committed its event (`audit::write`).
        return result.map(ServiceResponse::map_into_boxed_body);
    }
    let (principal, gate) = match &result {
        Ok(res) => {
            let ext = res.request().extensions();
            (
                ext.get::<Arc<Principal>>().cloned(),
                ext.get::<Arc<Gate>>().cloned(),
            )
        }
        Err(_) => (slot.get(), None),
    };
    let disclosures = gate.as_ref().map(|g| g.disclosures()).unwrap_or_default();
    let mut disclosed = disclosures.resources;
    if writes
        && status < 300
        && let Some(l) = location
    {
        let reference = l
            .strip_prefix(engine.base_url())
            .unwrap_or(&l)
            .trim_start_matches('/')
            .to_owned();
        disclosed.push(Disclosed {
            reference,
            redacted: false,
            patient: None,
        });
    }
    let (method, path, query) = draft.into_request();
    let record = Record {
        recorded: now_ms(),
        method,
        path,
        query,
        status,
        agent: principal.map(|p| Agent::of(&p)),
        patients: disclosures.patients.into_iter().collect(),
        disclosed,
        consents: disclosures.consents.into_iter().collect(),
        break_glass: disclosures
            .break_glass
            .then(|| {
                gate.as_ref()
                    .and_then(|g| g.break_glass_reason().map(str::to_owned))
            })
            .flatten(),
    };
    if let Err(e) = trail.record(&record).await {
        tracing::error!(error = %e, status, "audit event not stored: response withheld");
        return Err(Error::Unavailable(
            "The access could not be recorded in the audit trail, so nothing was served; try again"
                .into(),
        )
        .into());
    }
    result.map(ServiceResponse::map_into_boxed_body)
}
