//! Authentication of a request to the FHIR API: a request without a valid bearer token gets 401
//! and runs nothing, so it changes and reveals nothing. Which requests need a token is decided on
//! the parsed interaction (the capability statement and the SMART configuration do not), so an
//! encoded path cannot make a public endpoint of a private one or the reverse.

use std::sync::Arc;

use actix_web::HttpRequest;
use actix_web::http::header::AUTHORIZATION;

use crate::auth::{Principal, Verifier};
use crate::error::Error;
use crate::tls::binding::{self, PeerCertificate};

/// The verified caller of `req`, or 401 (the same answer whatever check failed): the token must
/// verify and fit the connection's client certificate ([`crate::tls::binding`]).
pub async fn authenticate(req: &HttpRequest, verifier: &Verifier) -> Result<Arc<Principal>, Error> {
    let header = req.headers().get(AUTHORIZATION);
    let presented = header.is_some();
    let refused = |reason: &dyn std::fmt::Display| {
        tracing::info!(%reason, "request not authenticated");
        Error::Unauthenticated {
            token_presented: presented,
        }
    };
    let principal = verifier
        .authenticate_refreshing(header.and_then(|v| v.to_str().ok()))
        .await
        .map_err(|reason| refused(&reason))?;
    let peer = req.conn_data::<PeerCertificate>();
    binding::check(&principal, peer).map_err(|reason| refused(&reason))?;
    Ok(principal)
}
