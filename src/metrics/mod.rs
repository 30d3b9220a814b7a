//! Metrics in the Prometheus text format (version 0.0.4), served on their own listener
//! (`metrics_listen`) so that scrapers never reach the FHIR port and the FHIR port's clients never
//! see them.
//!
//! Decisions:
//! - **One registry per process** ([`global`]): requests and consent decisions are counted where
//!   they happen without threading a handle through every layer; what the store and the journal
//!   know is read when the page is scraped ([`render`]).
//! - **Labels are codes, never data**: interaction, resource type, status, consent outcome and
//!   rule. No identifier, search value or organisation is a label (they would be personal data
//!   or unbounded).
//! - Hand-written: a dozen metric families do not justify a metrics framework's dependencies.
//! - Import progress is not here: `carebridge import` is its own process (a bar on a terminal,
//!   else a log line every [`crate::import::PROGRESS_EVERY`]).

pub mod registry;
pub mod server;

pub use registry::{Registry, global};

use std::fmt::Write as _;

/// The page: the registry's counters and histograms, then what the store and journal say now.
pub async fn render(
    engine: &crate::rest::Engine,
    trail: &crate::audit::Trail,
    readiness: &crate::http::Readiness,
) -> String {
    let mut out = global().render();
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
