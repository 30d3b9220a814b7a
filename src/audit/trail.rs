//! The audit trail of a running gateway: its journal (where events become durable), the copy of
//! the journal into the store (where auditors read), its verification, and how events are
//! rendered.
//!
//! A break found in the journal while copying (a line altered, removed or reordered before its
//! copy) stops the copy there for good, but not the gateway: requests go on being recorded in the
//! journal, auditor queries answer 503 (the log cannot be read completely), and
//! [`Trail::verify`] (`$audit-verify`) reports the break.

use std::path::Path;
use std::sync::Arc;

use super::event::{Record, Source};
use super::ingest::{IngestError, Ingester};
use super::journal::{Head, Journal, JournalError};
use super::verify::{Fault, Place, Report};
use crate::error::Error;
use crate::store::{Store, StoreError};

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

/// The background copy of the journal into the store ([`Trail::start_copying`]).
pub struct Copying {
    task: tokio::task::JoinHandle<()>,
    stop: Arc<tokio::sync::Notify>,
}

impl Copying {
    /// Stops the copy once the slice under way is stored (never in the middle of its
    /// transaction, which would leave the copy's cursor behind what the store holds).
    pub async fn stop(self) {
        self.stop.notify_one();
        if let Err(e) = self.task.await {
            tracing::warn!(error = %e, "the audit copy ended abnormally");
        }
    }
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
    /// Opens the journal of `chain` in `dir` (segments of `segment_bytes`), continuing the chain
    /// the store holds, and copies into the store whatever an earlier run left in the journal (up
    /// to a break, which is logged and does not stop the gateway).
    pub async fn open(
        store: &Store,
        dir: &Path,
        chain: &str,
        segment_bytes: u64,
        base_url: &str,
        canonical: &str,
    ) -> Result<Trail, TrailError> {
        let head = super::stored::head(store.backend(), chain)
            .await?
            .map(|(seq, hash)| Head { seq, hash })
            .unwrap_or_default();
        let journal = Journal::open_with(dir, chain, head.clone(), segment_bytes).map_err(|e| {
            TrailError::Journal {
                dir: dir.display().to_string(),
                reason: e.to_string(),
            }
        })?;
        let ingester = Ingester::new(journal.clone(), store.clone(), head);
        let recovered = match ingester.catch_up().await {
            Ok(n) => n,
            // Logged when found; recording goes on, and verification reports it.
            Err(IngestError::Broken(_)) => 0,
            Err(e) => return Err(e.into()),
        };
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

    /// The highest sequence number this process's journal made durable.
    pub fn durable(&self) -> u64 {
        self.journal.durable()
    }

    /// Events chained but not yet durable (waiting for the journal's next sync).
    pub fn backlog(&self) -> u64 {
        self.journal.backlog()
    }

    /// Durable events not yet copied into the store, where auditors search.
    pub fn copy_lag(&self) -> u64 {
        self.journal
            .durable()
            .saturating_sub(self.ingester.stored())
    }

    /// Why events cannot be recorded, when they cannot (the journal failed): the gateway can then
    /// serve nothing, and says so on `/readyz`.
    pub fn failure(&self) -> Option<JournalError> {
        self.journal.failure()
    }

    /// This process's chain of write events, committed with the writes (`audit::write`).
    pub fn writes_chain(&self) -> Arc<str> {
        Arc::clone(&self.writes_chain)
    }

    /// Starts the background copy into the store; it runs until [`Copying::stop`].
    pub fn start_copying(&self) -> Copying {
        let stop = Arc::new(tokio::sync::Notify::new());
        Copying {
            task: self.ingester.spawn(Arc::clone(&stop)),
            stop,
        }
    }

    /// Announces a request that will record an event ([`super::journal::Journal::expect`]).
    pub fn expect(&self) -> super::journal::Expected {
        self.journal.expect()
    }

    /// Records `record`; returns once it is durable.
    pub async fn record(&self, record: &Record) -> Result<(), JournalError> {
        self.record_expected(record, None).await
    }

    /// [`Trail::record`] for the request that `expected` announced.
    pub async fn record_expected(
        &self,
        record: &Record,
        expected: Option<super::journal::Expected>,
    ) -> Result<(), JournalError> {
        let text = record.to_text();
        #[cfg(feature = "bench-no-audit")]
        {
            // Bench-only build (never a production configuration): the event is built and
            // serialised as usual, and the durable write is skipped, so the benchmark measures
            // exactly what the write costs.
            let _ = (text, expected);
            Ok(())
        }
        #[cfg(not(feature = "bench-no-audit"))]
        self.journal
            .append_expected(record.recorded, &text, expected)
            .await
            .map(|_| ())
    }

    /// Copies every durable event into the store (before an auditor query).
    pub async fn catch_up(&self) -> Result<usize, IngestError> {
        self.ingester.catch_up().await
    }

    /// Copies every durable event into the store, then verifies every stored chain and the
    /// journal lines not yet stored ([`super::verify::all`]); a break in the journal is reported
    /// in the [`Report`] (with its segment and line), not as an error. Fails (503) only when the
    /// copy fails for a reason that may pass, or the store or journal cannot be read.
    pub async fn verify(&self, store: &Store) -> Result<Report, Error> {
        let copy_broke = match self.ingester.catch_up().await {
            Ok(_) => None,
            Err(IngestError::Broken(b)) => Some(b),
            Err(e) => {
                tracing::error!(error = %e, "audit journal not copied before verifying");
                return Err(Error::Unavailable(
                    "The audit log cannot be read completely just now; try again".into(),
                ));
            }
        };
        let mut report = super::verify::all(store, Some(self.journal.dir())).await?;
        if report.broken.is_none()
            && let Some(b) = copy_broke
        {
            // Found while copying, and no longer in the journal as it was (changed again since):
            // still a break, and still where the copy stopped.
            let fault = Fault {
                at: b.at,
                place: Place::Journal(b.line),
            };
            report.broken = Some((b.chain, fault));
        }
        Ok(report)
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
        match self.ingester.catch_up().await {
            Ok(_) | Err(IngestError::Broken(_)) => {}
            Err(e) => {
                tracing::warn!(error = %e, "audit journal not fully copied at shutdown; it will be at the next start");
            }
        }
    }
}
