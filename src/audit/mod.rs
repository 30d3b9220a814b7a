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
//! - [`chain`]: the hash chain, and the only place events are hashed.
//! - [`verify`]: verifying the whole trail, the stored chains and then the journal lines not yet
//!   copied, so that a journal altered before its copy is reported like an altered stored event
//!   (`carebridge audit verify`, and `$audit-verify` through [`Trail::verify`]).
//! - [`export`]: a period of the stored log as NDJSON (`$audit-export`, `carebridge audit export`).
//! - [`search`]: the auditors' search and the patient access report, parsed and run (paged by
//!   cursor over the store's typed audit reads, `crate::store::audit`).
//! - [`stored`]: the audit log in the store (events in, decoded rows out), in the [`compact`]
//!   form.
//! - [`write`]: the event of a write, committed in the write's own transaction.
//! - [`trail`]: the running gateway's journal, copy and rendering together.
//!
//! Why a journal rather than a store write per event: `bench/README.md`, "Decisions measured".

pub mod archive;
pub mod chain;
pub mod compact;
pub mod event;
pub mod export;
pub mod ingest;
pub mod journal;
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
