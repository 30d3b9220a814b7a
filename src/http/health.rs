//! Liveness (`/healthz`: the process answers) and readiness (`/readyz`: it can serve), for load
//! balancers and orchestrators. Neither needs authentication nor touches patient data.
//!
//! Ready means: not stopping ([`Readiness`], turned off first on SIGTERM so that load balancers
//! stop sending before the listener closes), the audit journal records (every FHIR request needs
//! it: when it cannot, each is 503, so the gateway must not look ready), and the store answers.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use actix_web::HttpResponse;
use actix_web::web::Data;

use crate::audit::Trail;
use crate::error::Error;
use crate::rest::Engine;

/// Whether the process is stopping (shared with the signal handling of `crate::startup`).
#[derive(Debug, Clone, Default)]
pub struct Readiness {
    stopping: Arc<AtomicBool>,
}

impl Readiness {
    /// From now on `/readyz` answers 503.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    /// Whether [`Readiness::stop`] was called.
    pub fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }
}

/// `GET /healthz`.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(r#"{"status":"ok"}"#)
}

/// `GET /readyz`: 503 while stopping, when the audit journal cannot record, or when the store does
/// not answer.
pub async fn readyz(
    engine: Data<Engine>,
    trail: Data<Trail>,
    readiness: Data<Readiness>,
) -> Result<HttpResponse, Error> {
    if readiness.stopping() {
        return Err(Error::Unavailable("stopping".into()));
    }
    if let Some(e) = trail.failure() {
        return Err(Error::Unavailable(e.to_string()));
    }
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
