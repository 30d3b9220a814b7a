//! Tamper-evident audit (docs/design.md section 5): one BALP-shaped AuditEvent per interaction,
//! durable before the response is released, hash-chained, searchable by auditors and by the
//! patient.
//!
//! - [`event`]: what is recorded of an interaction (a compact [`event::Record`]) and the
//!   AuditEvent rendered from it.
//! - [`journal`]: where a gateway process makes events durable (chained, group-committed with one
//!   `fdatasync` per batch).
//! - [`ingest`]: the copy of the journal into the store, in large batches, each line checked to
//!   continue the chain first (a line that does not is never copied; the copy stops there).
//! - [`archive`]: retention: a period sealed into a verifiable, searchable archive file and
//!   removed from the store, each chain continuing from its anchor.
//! - [`chain`]: the hash chain; [`log`]: verifying the stored chains, exporting a period, the
//!   `carebridge audit` commands.
//! - [`verify`]: verifying the whole trail, the stored chains and then the journal lines not yet
//!   copied, so that a journal altered before its copy is reported like an altered stored event
//!   (`carebridge audit verify`, and `$audit-verify` through [`Trail::verify`]).
//! - [`search`]: the auditors' search and the patient access report.
//! - [`stored`]: the audit log in the store (events in, decoded rows out), in the [`compact`]
//!   form.
//! - [`write`]: the event of a write, committed in the write's own transaction.
//! - [`trail`]: the running gateway's journal, copy and rendering together.
//!
//! History: a first middleware appended each event through the store's writer thread and cut
//! consent-filtered reads from about 63k to 24k requests/s (`bench/results/consent-2026-11-24T212107Z.md`);
//! batching those appends or dropping the per-commit fsync did not move it (the
//! `consent-2026-11-24T2135*`/`T2137*` records). Hence the journal, whose cost `bench/audit.sh`
//! measures against a bench-only build without the durable write (`bench/results/audit-*`).

pub mod archive;
pub mod chain;
pub mod compact;
pub mod event;
pub mod ingest;
pub mod journal;
pub mod log;
pub mod search;
pub mod stored;
pub mod trail;
pub mod verify;
pub mod write;

pub use trail::Trail;

use crate::store::{Store, StoreError};

/// Opens the store `url` names with its audit log in the current form: events stored before the
/// compact form move into it ([`stored::upgrade`]) before anything reads the log. The gateway and
/// every command open their store through this; the store itself knows nothing of the audit's
/// encoding.
pub async fn open_store(url: &str) -> Result<Store, StoreError> {
    let store = Store::open(url).await?;
    stored::upgrade(&store).await?;
    Ok(store)
}
