//! Liveness (`/healthz`: the process answers) and readiness (`/readyz`: the store answers too), for
//! load balancers and orchestrators. Neither needs authentication nor touches patient data.

use actix_web::HttpResponse;
use actix_web::web::Data;

use crate::error::Error;
use crate::rest::Engine;

/// `GET /healthz`.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(r#"{"status":"ok"}"#)
}

/// `GET /readyz`: 503 when the store does not answer.
pub async fn readyz(engine: Data<Engine>) -> Result<HttpResponse, Error> {
    engine
        .store()
        .backend()
        .ping()
        .await
        .map_err(|e| Error::Unavailable(e.to_string()))?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(r#"{"status":"ready"}"#))
}
