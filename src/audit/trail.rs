//! The audit trail of a running gateway: its journal (where events become durable), the copy of
//! the journal into the store (where auditors read), and how events are rendered.

use std::path::Path;
use std::sync::Arc;

use super::event::{Record, Source};
use super::ingest::{IngestError, Ingester};
use super::journal::{Head, Journal, JournalError};
use crate::store::{Store, StoreError, audit_sql};

/// Why the trail could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum TrailError {
    /// Reading the chain's head from the store.
    #[error("reading the audit log: {0}")]
    Store(#[from] StoreError),
    /// Opening the journal.
    #[error("opening the audit journal in {dir}: {reason}")]
    Journal {
        /// The journal directory.
        dir: String,
        /// What went wrong.
        reason: String,
    },
    /// Recovering the journal into the store.
    #[error("recovering the audit journal: {0}")]
    Ingest(#[from] IngestError),
}

/// A gateway's audit trail.
pub struct Trail {
    journal: Journal,
    writes_chain: Arc<str>,
    ingester: Arc<Ingester>,
    base_url: String,
    canonical: String,
}

impl Trail {
    /// Opens the journal of `chain` in `dir`, continuing the chain the store holds, and copies
    /// into the store whatever an earlier run left in the journal.
    pub async fn open(
        store: &Store,
        dir: &Path,
        chain: &str,
        base_url: &str,
        canonical: &str,
    ) -> Result<Trail, TrailError> {
        let head = store
            .backend()
            .audit_select(&audit_sql::chain_head(chain))
            .await?
            .pop()
            .map(|r| Head {
                seq: r.seq,
                hash: r.hash,
            })
            .unwrap_or_default();
        let stored = head.seq;
        let journal = Journal::open(dir, chain, head).map_err(|e| TrailError::Journal {
            dir: dir.display().to_string(),
            reason: e.to_string(),
        })?;
        let ingester = Ingester::new(journal.clone(), store.clone(), stored);
        let recovered = ingester.catch_up().await?;
        if recovered > 0 {
            tracing::info!(
                recovered,
                "audit events recovered from the journal into the store"
            );
        }
        Ok(Trail {
            writes_chain: format!("{chain}.writes").into(),
            journal,
            ingester,
            base_url: base_url.to_owned(),
            canonical: canonical.to_owned(),
        })
    }

    /// This process's chain of write events, committed with the writes (`audit::write`).
    pub fn writes_chain(&self) -> Arc<str> {
        Arc::clone(&self.writes_chain)
    }

    /// Starts the background copy into the store.
    pub fn start_copying(&self) -> tokio::task::JoinHandle<()> {
        self.ingester.spawn()
    }

    /// Records `record`; returns once it is durable.
    pub async fn record(&self, record: &Record) -> Result<(), JournalError> {
        let text = record.to_text();
        #[cfg(feature = "bench-no-audit")]
        {
            // Bench-only build (never a production configuration): the event is built and
            // serialised as usual, and the durable write is skipped, so the benchmark measures
            // exactly what the write costs.
            let _ = text;
            Ok(())
        }
        #[cfg(not(feature = "bench-no-audit"))]
        self.journal
            .append(record.recorded, &text)
            .await
            .map(|_| ())
    }

    /// Copies every durable event into the store (before an auditor query).
    pub async fn catch_up(&self) -> Result<usize, IngestError> {
        self.ingester.catch_up().await
    }

    /// How this gateway's events are rendered.
    pub fn source<'a>(&'a self, chain: &'a str) -> Source<'a> {
        Source {
            chain,
            base_url: &self.base_url,
            canonical: &self.canonical,
        }
    }

    /// Writes what is queued, then copies it into the store (shutdown).
    pub async fn close(&self) {
        self.journal.close();
        if let Err(e) = self.ingester.catch_up().await {
            tracing::warn!(error = %e, "audit journal not fully copied at shutdown; it will be at the next start");
        }
    }
}
