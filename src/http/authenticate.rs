//! Authentication in front of every route but the public ones (`/metadata`, SMART configuration,
//! health probes): a request without a valid bearer token gets 401 and reaches no handler, so it
//! changes and reveals nothing. The verified [`Principal`] is left in the request's extensions for
//! the handlers (bundles check their entries' scopes there) and consent. Scopes are checked here
//! for every other route (see [`super::authorise`]).
//!
//! What each role may do besides reading through consent is checked here too
//! ([`super::access::role_permits`]).

use std::sync::Arc;

use actix_web::HttpMessage as _;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::AUTHORIZATION;
use actix_web::middleware::Next;
use actix_web::web::Data;

use super::{FHIR_PATH, authorise};
use crate::auth::{Principal, Verifier};
use crate::error::Error;

/// Paths served without a token.
fn is_public(path: &str) -> bool {
    matches!(
        path,
        "/healthz" | "/readyz" | "/.well-known/smart-configuration"
    ) || path.strip_prefix(FHIR_PATH).is_some_and(|rest| {
        matches!(
            rest,
            "/metadata" | "/metadata/" | "/.well-known/smart-configuration"
        )
    })
}

/// The middleware (for `middleware::from_fn`).
pub async fn authenticate(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if is_public(req.path()) {
        return next.call(req).await;
    }
    let verifier = req
        .app_data::<Data<Verifier>>()
        .cloned()
        .ok_or_else(|| Error::Internal("no token verifier configured".into()))?;
    let header = req.headers().get(AUTHORIZATION);
    let presented = header.is_some();
    let principal = verifier
        .authenticate_refreshing(header.and_then(|v| v.to_str().ok()))
        .await
        .map_err(|reason| {
            tracing::info!(%reason, path = req.path(), "request not authenticated");
            Error::Unauthenticated {
                token_presented: presented,
            }
        })?;
    let fhir_path = req.path().strip_prefix(FHIR_PATH).unwrap_or("");
    let conditional = req.headers().contains_key("if-none-exist");
    let needs = authorise::needs(req.method().as_str(), fhir_path, conditional);
    // Known before the checks, so that the audit event of a refused request names the caller.
    if let Some(slot) = req.extensions().get::<crate::audit::write::CallerSlot>() {
        slot.set(Arc::clone(&principal));
    }
    req.extensions_mut()
        .insert::<Arc<Principal>>(Arc::clone(&principal));
    super::access::role_permits(&principal, req.request(), fhir_path, needs.as_deref())?;
    if let Some(needs) = &needs {
        authorise::check(&principal, needs)?;
    }
    next.call(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_metadata_and_probes_are_public() {
        assert!(is_public("/fhir/metadata"));
        assert!(is_public("/healthz"));
        assert!(is_public("/fhir/.well-known/smart-configuration"));
        assert!(!is_public("/fhir/Patient"));
        assert!(!is_public("/fhir/metadata/x"));
        assert!(!is_public("/fhir"));
        assert!(!is_public("/fhir/"));
    }
}
