//! The metrics listener: `/metrics`, and the probes again (`/healthz`, `/readyz`), in plain HTTP
//! on its own address. The probes are here too because an orchestrator cannot present a client
//! certificate: with `tls_client_auth = required` on the FHIR port it can still ask this one.

use actix_web::web::{self, Data};
use actix_web::{App, HttpResponse, HttpServer};

use crate::audit::Trail;
use crate::http::Readiness;
use crate::rest::Engine;

/// The text format's media type.
pub const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

async fn metrics(
    engine: Data<Engine>,
    trail: Data<Trail>,
    readiness: Data<Readiness>,
) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(TEXT_FORMAT)
        .body(super::render(&engine, &trail, &readiness).await)
}

/// Binds the metrics listener on `addr` (one worker: scrapes are rare and cheap).
pub fn bind(
    addr: std::net::SocketAddr,
    engine: Data<Engine>,
    trail: Data<Trail>,
    readiness: Data<Readiness>,
) -> std::io::Result<actix_web::dev::Server> {
    let server = HttpServer::new(move || {
        App::new()
            .app_data(engine.clone())
            .app_data(trail.clone())
            .app_data(readiness.clone())
            .route("/metrics", web::get().to(metrics))
            .route("/healthz", web::get().to(crate::http::healthz))
            .route("/readyz", web::get().to(crate::http::readyz))
    })
    .workers(1)
    .disable_signals()
    .bind(addr)?
    .run();
    Ok(server)
}
