//! Copying the journal into the database, where auditors search, export and verify it.
//!
//! The copy runs in the background every [`INTERVAL`] in large transactions (throttled while
//! the gateway is very busy: [`BUSY_EVENTS_PER_SECOND`]), and in full before every auditor query
//! ([`Ingester::catch_up`]), so an auditor sees every event made durable before their request.
//! Events not yet copied are as safe in the journal as copied ones; only a query waits for them. Only durable lines are copied; a segment is deleted once it is copied and a newer
//! one exists. At start-up the same copy recovers whatever a crash left in the journal.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::event::Record;
use super::journal::{Journal, complete_lines, segments};
use crate::store::{ChainedEvent, Store, StoreError};

/// How often the background copy runs (each copy is one store transaction per [`BATCH`]).
pub const INTERVAL: Duration = Duration::from_secs(1);

/// Above this many events a second the copy is throttled. Copying an event costs the store about
/// 34,000 instructions (an event row and two index entries; `bench/audit_instructions.sh`); at the
/// read benchmark's 26-32k events a second, copying as fast as events came took 24-30% of read
/// throughput and put p99 latency up to 130 ms, against 3% throttled (`bench/audit.sh`, records of
/// 2026-11-25). Real deployments record hundreds of events a second, far below this, and copy
/// everything at once.
pub const BUSY_EVENTS_PER_SECOND: u64 = 2_000;

/// Events copied a second while busy (about 4% of a core).
pub const BUSY_COPY_PER_SECOND: usize = 2_000;

/// Most events copied in one store transaction.
const BATCH: usize = 50_000;

/// Most journal bytes read in one step.
const READ_BYTES: u64 = 32 * 1024 * 1024;

/// Where the copy has got to.
#[derive(Debug, Default)]
struct Cursor {
    /// The highest sequence number stored.
    stored: u64,
    /// The segment being read and the offset of its first uncopied line.
    segment: Option<(PathBuf, u64)>,
}

/// Copies one journal into the store.
pub struct Ingester {
    journal: Journal,
    store: Store,
    cursor: tokio::sync::Mutex<Cursor>,
}

/// Why a copy failed.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Reading the journal.
    #[error("reading the audit journal: {0}")]
    Io(#[from] std::io::Error),
    /// Writing the store.
    #[error("storing audit events: {0}")]
    Store(#[from] StoreError),
}

impl Ingester {
    /// An ingester for `journal`, whose chain's events up to `stored` are already in `store`.
    pub fn new(journal: Journal, store: Store, stored: u64) -> Arc<Ingester> {
        Arc::new(Ingester {
            journal,
            store,
            cursor: tokio::sync::Mutex::new(Cursor {
                stored,
                segment: None,
            }),
        })
    }

    /// Copies every durable event not yet stored; returns how many were copied.
    pub async fn catch_up(&self) -> Result<usize, IngestError> {
        self.copy(usize::MAX).await
    }

    /// Copies durable events not yet stored, at most `most` of them.
    async fn copy(&self, most: usize) -> Result<usize, IngestError> {
        let mut cursor = self.cursor.lock().await;
        let mut copied = 0;
        loop {
            let durable = self.journal.durable();
            let all = segments(self.journal.dir(), self.journal.chain())?;
            let Some(index) = current(&all, &cursor) else {
                return Ok(copied);
            };
            let (_, path) = &all[index];
            let offset = match &cursor.segment {
                Some((p, o)) if p == path => *o,
                _ => 0,
            };
            let chain = self.journal.chain();
            let (events, used, len) =
                read_from(path, chain, offset, cursor.stored, durable, most - copied)?;
            let last = events.last().map(|e| e.seq);
            for chunk in events.chunks(BATCH) {
                let chunk = chunk.to_vec();
                copied += chunk.len();
                let chain = chain.to_owned();
                self.store
                    .transaction(move |tx| {
                        for e in &chunk {
                            if !tx.insert_audit(e)? {
                                tracing::error!(chain = %chain, seq = e.seq,
                                    "audit event already stored under this chain: is a second gateway using the same audit_chain?");
                            }
                        }
                        Ok::<_, StoreError>(())
                    })
                    .await?;
            }
            if let Some(last) = last {
                cursor.stored = last;
            }
            cursor.segment = Some((path.clone(), offset + used));
            let newest = index + 1 == all.len();
            if !newest && offset + used >= len {
                // Read to its end, and the flusher has moved on to a newer segment (after syncing
                // this one): everything in it is stored, so it is no longer needed.
                std::fs::remove_file(path)?;
                cursor.segment = None;
                continue;
            }
            // Nothing more to read for now (the rest is not yet durable), or enough for this turn.
            if used == 0 || copied >= most {
                return Ok(copied);
            }
        }
    }

    /// Copies every [`INTERVAL`] until the process ends: everything while fewer than
    /// [`BUSY_EVENTS_PER_SECOND`] events a second are being recorded, else
    /// [`BUSY_COPY_PER_SECOND`] (the rest waits in the journal for a quieter second).
    pub fn spawn(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let me = Arc::clone(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(INTERVAL);
            let mut seen = me.journal.durable();
            loop {
                tick.tick().await;
                let now = me.journal.durable();
                let rate = now.saturating_sub(seen);
                seen = now;
                let most = if rate < BUSY_EVENTS_PER_SECOND {
                    usize::MAX
                } else {
                    BUSY_COPY_PER_SECOND
                };
                if let Err(e) = me.copy(most).await {
                    tracing::warn!(error = %e, "audit events not copied to the store yet; retrying");
                }
            }
        })
    }
}

/// The index of the segment to read next: the cursor's, or the oldest.
fn current(all: &[(u64, PathBuf)], cursor: &Cursor) -> Option<usize> {
    match &cursor.segment {
        Some((p, _)) => all.iter().position(|(_, q)| q == p).or(Some(0)),
        None => Some(0),
    }
    .filter(|_| !all.is_empty())
}

/// The durable events after `stored` in `path` from `offset`, the bytes they (and any lines
/// already stored) cover, and the file's length; stops at the first line not yet durable.
fn read_from(
    path: &PathBuf,
    chain: &str,
    offset: u64,
    stored: u64,
    durable: u64,
    most: usize,
) -> Result<(Vec<ChainedEvent>, u64, u64), std::io::Error> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let mut file = std::fs::File::open(path)?;
    file.seek(SeekFrom::Start(offset))?;
    let mut text = Vec::new();
    let file_len = file.metadata()?.len();
    let len = file_len.saturating_sub(offset).min(READ_BYTES);
    file.take(len).read_to_end(&mut text)?;
    let (mut lines, _) = complete_lines(&text);
    lines.truncate(most);
    let mut used = 0u64;
    let mut events = Vec::new();
    for (line, end) in lines {
        if line.seq > durable {
            break;
        }
        used = u64::try_from(end).unwrap_or(u64::MAX);
        if line.seq <= stored {
            continue;
        }
        let keys = Record::from_text(&line.body)
            .map(|r| r.keys())
            .unwrap_or_default();
        events.push(ChainedEvent {
            chain: chain.to_owned(),
            seq: line.seq,
            recorded: line.recorded,
            hash: line.hash,
            body: line.body,
            keys,
        });
    }
    Ok((events, used, file_len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::journal::Head;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_durable_event_is_copied_once_and_copied_segments_go() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(&format!("sqlite://{}", dir.path().join("s.db").display()))
            .await
            .expect("store");
        let journal_dir = dir.path().join("audit");
        let journal =
            Journal::open_with(&journal_dir, "gw", Head::default(), 300).expect("journal");
        for i in 0..30 {
            journal
                .append(i, &format!("{{\"n\":{i}}}"))
                .await
                .expect("appended");
        }
        let ingester = Ingester::new(journal.clone(), store.clone(), 0);
        assert_eq!(
            ingester.copy(7).await.expect("copied"),
            7,
            "a throttled turn"
        );
        assert_eq!(
            ingester.catch_up().await.expect("copied"),
            23,
            "the rest, once"
        );
        assert_eq!(ingester.catch_up().await.expect("copied"), 0);
        let left = segments(&journal_dir, "gw").expect("segments");
        assert_eq!(
            left.len(),
            1,
            "only the segment still being written remains"
        );
        let report = crate::audit::log::verify(&store).await.expect("verify");
        assert_eq!((report.count(), report.broken), (30, None));
        journal.close();
    }
}
