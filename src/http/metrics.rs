//! The metrics listener: `/metrics`, and the probes again (`/healthz`, `/readyz`), in plain HTTP
//! on its own address. The probes are here too because an orchestrator cannot present a client
//! certificate: with `tls_client_auth = required` on the FHIR port it can still ask this one.

use std::fmt::Write as _;

use actix_web::web::{self, Data};
use actix_web::{App, HttpResponse, HttpServer};

use super::Readiness;
use crate::audit::Trail;
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
        .body(render(&engine, &trail, &readiness).await)
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
            .route("/healthz", web::get().to(super::healthz))
            .route("/readyz", web::get().to(super::readyz))
    })
    .workers(1)
    .disable_signals()
    .bind(addr)?
    .run();
    Ok(server)
}

/// The page: the registry's counters and histograms, then what the store and journal say now.
pub async fn render(engine: &Engine, trail: &Trail, readiness: &Readiness) -> String {
    let mut out = crate::metrics::global().render();
    let journal_ok = u8::from(trail.failure().is_none());
    let connections = engine.store().backend().connections();
    let pending = engine
        .store()
        .backend()
        .outbox()
        .pending(MAX_PENDING_COUNTED)
        .await
        .map(|p| p.len())
        .ok();
    let _ = writeln!(
        out,
        "# HELP carebridge_audit_journal_writable Whether the audit journal records (1) or has failed (0).\n\
         # TYPE carebridge_audit_journal_writable gauge\n\
         carebridge_audit_journal_writable {journal_ok}\n\
         # HELP carebridge_audit_journal_durable_sequence The highest audit event made durable by this process's journal.\n\
         # TYPE carebridge_audit_journal_durable_sequence gauge\n\
         carebridge_audit_journal_durable_sequence {}\n\
         # HELP carebridge_audit_journal_backlog_events Audit events chained and waiting for the journal's next sync.\n\
         # TYPE carebridge_audit_journal_backlog_events gauge\n\
         carebridge_audit_journal_backlog_events {}\n\
         # HELP carebridge_audit_copy_lag_events Durable audit events not yet copied into the store (where auditors search).\n\
         # TYPE carebridge_audit_copy_lag_events gauge\n\
         carebridge_audit_copy_lag_events {}\n\
         # HELP carebridge_store_connections Store connections open.\n\
         # TYPE carebridge_store_connections gauge\n\
         carebridge_store_connections {}\n\
         # HELP carebridge_store_connections_idle Store connections idle.\n\
         # TYPE carebridge_store_connections_idle gauge\n\
         carebridge_store_connections_idle {}\n\
         # HELP carebridge_store_waiting Requests waiting for a pooled connection (PostgreSQL) or for the writer thread (SQLite).\n\
         # TYPE carebridge_store_waiting gauge\n\
         carebridge_store_waiting {}\n\
         # HELP carebridge_stopping Whether the process is stopping (readiness off).\n\
         # TYPE carebridge_stopping gauge\n\
         carebridge_stopping {}",
        trail.durable(),
        trail.backlog(),
        trail.copy_lag(),
        connections.open,
        connections.idle,
        connections.waiting,
        u8::from(readiness.stopping()),
    );
    if let Some(n) = pending {
        let _ = writeln!(
            out,
            "# HELP carebridge_notify_outbox_pending Committed changes not yet matched to subscriptions (counted up to {MAX_PENDING_COUNTED}).\n\
             # TYPE carebridge_notify_outbox_pending gauge\n\
             carebridge_notify_outbox_pending {n}"
        );
    }
    out
}

/// Most outbox rows counted for the page (a backlog beyond it shows as this).
const MAX_PENDING_COUNTED: usize = 10_000;
