//! Copying the journal into the database, where auditors search, export and verify it.
//!
//! The copy runs in the background every [`INTERVAL`] in large transactions (throttled while
//! the gateway is very busy: [`BUSY_EVENTS_PER_SECOND`]), and in full before every auditor query
//! ([`Ingester::catch_up`]), so an auditor sees every event made durable before their request.
//! Events not yet copied are as safe in the journal as copied ones; only a query waits for them.
//! Only durable lines are copied; a segment is deleted once it is copied and a newer one exists.
//! At start-up the same copy recovers whatever a crash left in the journal.
//!
//! Each line is checked before it is stored: its sequence number continues the stored head and
//! its hash is the chain hash of the previous one and its own content ([`super::chain`]). The
//! journal is a file anyone with access to the disk can edit; without the check, an edited line
//! would be stored as it was found and the store's chain re-made around it. A line that does not
//! continue the chain ([`IngestError::Broken`]) is never copied: the copy stops there, logs it
//! (chain, segment, line) and remembers it, so that every later copy stops there too rather than
//! skipping past it, while requests go on being recorded in the journal. Verification reports
//! the break ([`super::verify`], [`super::Trail::verify`]).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::chain::{Break, Link, Verified, Verifier};
use super::event::Record;
use super::journal::{Head, Journal, LineAt, Written, entries, segments};
use super::stored::{self, Dictionary, Fresh, Prepared};
use crate::store::{ChainedEvent, Store, StoreError};

/// How often the background copy runs (each copy is one store transaction per [`BATCH`]). Ten
/// times a second, so that a busy second's share is copied in ten small slices rather than one
/// burst: a 2,000-event copy is about 70 million instructions on the writer, and taken at once
/// it held a core for 20-30 ms every second, which was the p99 of a worklist at 5,000 reads a
/// second on two cores (`bench/referrals.sh`).
pub const INTERVAL: Duration = Duration::from_millis(100);

/// Copies per second ([`INTERVAL`]).
const TICKS_PER_SECOND: u64 = 10;

/// Above this many events a second the copy is throttled. Copying an event costs the store about
/// 34,000 instructions (an event row and two index entries; `bench/audit_instructions.sh`); at the
/// read benchmark's 26-32k events a second, copying as fast as events came took 24-30% of read
/// throughput and put p99 latency up to 130 ms, against 3% throttled (`bench/audit.sh`, records of
/// 2026-11-25). Real deployments record hundreds of events a second, far below this, and copy
/// everything at once.
pub const BUSY_EVENTS_PER_SECOND: u64 = 2_000;

/// Events copied a second while busy (about 4% of a core).
pub const BUSY_COPY_PER_SECOND: usize = 2_000;

/// Events copied per tick while quiet: about 50 ms of the writer (a 400,000-event backlog, say
/// the audit of a bulk load, drains in under a minute), so that a copy begun in a quiet moment
/// has ended before load returns, rather than running on for seconds under it (at 5,000
/// worklist reads a second that turned p99 from 5 ms into 380 ms). Auditor queries and shutdown
/// still copy everything ([`Ingester::catch_up`]).
pub const QUIET_COPY_PER_TICK: usize = 5_000;

/// Most events copied in one store transaction.
const BATCH: usize = 50_000;

/// Most journal bytes read in one step.
const READ_BYTES: u64 = 32 * 1024 * 1024;

/// Journal bytes read per event wanted (an event is 1-3 kB; a longer line is read again whole).
const BYTES_PER_EVENT: u64 = 4 * 1024;

/// Fewest journal bytes read in one step.
const MIN_READ_BYTES: u64 = 256 * 1024;

/// Where the copy has got to.
#[derive(Debug)]
struct Cursor {
    /// The last event stored.
    head: Head,
    /// The segment being read, the offset of its first unread line and the lines before it.
    segment: Option<(PathBuf, u64, u64)>,
    /// Whether a line after the stored head has been checked: until then, lines at or below the
    /// head are ones an earlier run copied; after it, such a line is out of order.
    checked: bool,
    /// The first line found not to continue the chain; nothing is copied past it.
    broken: Option<JournalBreak>,
}

/// A journal line that does not continue its chain, found while copying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalBreak {
    /// The chain.
    pub chain: String,
    /// Where and how it breaks.
    pub at: Break,
    /// The line.
    pub line: LineAt,
}

/// Copies one journal into the store.
pub struct Ingester {
    journal: Journal,
    store: Store,
    cursor: tokio::sync::Mutex<Cursor>,
    /// The cursor's sequence number, readable without waiting for a copy under way (metrics).
    stored: std::sync::atomic::AtomicU64,
    /// The audit term and caller numbers already stored.
    dictionary: Arc<Dictionary>,
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
    /// A journal line does not continue the chain: it and everything after it stay in the
    /// journal, not copied, and every later copy stops there too (not transient).
    #[error("the audit journal of chain {} breaks at {}: {}", .0.chain, .0.line, .0.at)]
    Broken(JournalBreak),
}

impl Ingester {
    /// An ingester for `journal`, whose chain's events up to `stored` are already in `store`.
    pub fn new(journal: Journal, store: Store, stored: Head) -> Arc<Ingester> {
        Arc::new(Ingester {
            journal,
            store,
            stored: std::sync::atomic::AtomicU64::new(stored.seq),
            dictionary: Arc::default(),
            cursor: tokio::sync::Mutex::new(Cursor {
                head: stored,
                segment: None,
                checked: false,
                broken: None,
            }),
        })
    }

    /// The last event of the chain copied into the store.
    pub fn stored(&self) -> u64 {
        self.stored.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Copies every durable event not yet stored; returns how many were copied.
    pub async fn catch_up(&self) -> Result<usize, IngestError> {
        self.copy(usize::MAX).await
    }

    /// Copies durable events not yet stored, at most `most` of them, each only after checking
    /// that it continues the chain.
    async fn copy(&self, most: usize) -> Result<usize, IngestError> {
        let mut cursor = self.cursor.lock().await;
        if let Some(b) = &cursor.broken {
            return Err(IngestError::Broken(b.clone()));
        }
        let mut copied = 0;
        loop {
            let durable = self.journal.durable();
            let all = segments(self.journal.dir(), self.journal.chain())?;
            let Some(index) = current(&all, &cursor) else {
                return Ok(copied);
            };
            let (_, path) = &all[index];
            let (offset, before) = match &cursor.segment {
                Some((p, o, n)) if p == path => (*o, *n),
                _ => (0, 0),
            };
            let newest = index + 1 == all.len();
            let chain = self.journal.chain();
            let mut verifier = Verifier::resume(Verified {
                count: 0,
                head_seq: cursor.head.seq,
                head_hash: cursor.head.hash.clone(),
            });
            let mut checked = cursor.checked;
            let step = read_from(
                path,
                chain,
                offset,
                &mut verifier,
                &mut checked,
                Limits {
                    durable,
                    most: most - copied,
                    newest,
                },
            )?;
            for chunk in step.events.chunks(BATCH) {
                copied += chunk.len();
                // Parsed and encoded here, numbered in the transaction.
                let prepared = chunk.to_vec();
                let chain = chain.to_owned();
                let dictionary = Arc::clone(&self.dictionary);
                let fresh = self
                    .store
                    .transaction(move |tx| {
                        let mut fresh = Fresh::default();
                        let mut already: Option<(u64, u64, usize)> = None;
                        for p in &prepared {
                            if !stored::insert(tx, p, &dictionary, &mut fresh)? {
                                let seq = p.seq();
                                let (first, _, n) = already.unwrap_or((seq, seq, 0));
                                already = Some((first, seq, n + 1));
                            }
                        }
                        if let Some((first, last, n)) = already {
                            tracing::error!(chain = %chain, first, last, events = n,
                                "audit events already stored under this chain: is a second gateway using the same audit_chain?");
                        }
                        Ok::<_, StoreError>(fresh)
                    })
                    .await?;
                self.dictionary.keep(fresh);
            }
            let head = verifier.finish();
            self.stored
                .store(head.head_seq, std::sync::atomic::Ordering::Relaxed);
            cursor.head = Head {
                seq: head.head_seq,
                hash: head.head_hash,
            };
            cursor.checked = checked;
            cursor.segment = Some((path.clone(), offset + step.used, before + step.lines));
            if let Some((number, at)) = step.broken {
                let line = LineAt {
                    segment: path.clone(),
                    line: before + number,
                };
                tracing::error!(chain = %chain, segment = %path.display(), line = line.line,
                    reason = %at,
                    "audit journal line does not continue the chain: it and everything after it are not copied into the store (`carebridge audit verify` reports it)");
                let b = JournalBreak {
                    chain: chain.to_owned(),
                    at,
                    line,
                };
                cursor.broken = Some(b.clone());
                return Err(IngestError::Broken(b));
            }
            if !newest && step.end.is_some_and(|end| offset + step.used >= end) {
                // Read to its end, and the flusher has moved on to a newer segment (after syncing
                // this one): everything in it is stored, so it is no longer needed.
                std::fs::remove_file(path)?;
                cursor.segment = None;
                continue;
            }
            // Nothing more to read for now (the rest is not yet durable), or enough for this turn.
            if step.used == 0 || copied >= most {
                return Ok(copied);
            }
        }
    }

    /// Copies every [`INTERVAL`] until `stop` is notified: [`QUIET_COPY_PER_TICK`] events while
    /// fewer than [`BUSY_EVENTS_PER_SECOND`] a second are being recorded, else
    /// [`BUSY_COPY_PER_SECOND`] a second (the rest waits in the journal for a quieter second).
    /// Stops at a break in the journal (logged once, when found). A stop waits for the copy under
    /// way: a copy dropped while its transaction commits would leave the cursor behind the store.
    pub fn spawn(self: &Arc<Self>, stop: Arc<tokio::sync::Notify>) -> tokio::task::JoinHandle<()> {
        let me = Arc::clone(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(INTERVAL);
            let mut seen = me.journal.durable();
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    () = stop.notified() => return,
                }
                let now = me.journal.durable();
                let most = slice(now.saturating_sub(seen));
                seen = now;
                match me.copy(most).await {
                    Ok(_) => {}
                    Err(IngestError::Broken(_)) => return,
                    Err(e) => {
                        tracing::warn!(error = %e, "audit events not copied to the store yet; retrying");
                    }
                }
            }
        })
    }
}

/// How many events one tick copies, when `recorded` were recorded during the last tick.
fn slice(recorded: u64) -> usize {
    if recorded.saturating_mul(TICKS_PER_SECOND) < BUSY_EVENTS_PER_SECOND {
        QUIET_COPY_PER_TICK
    } else {
        BUSY_COPY_PER_SECOND / TICKS_PER_SECOND as usize
    }
}

/// The index of the segment to read next: the cursor's, or the oldest.
fn current(all: &[(u64, PathBuf)], cursor: &Cursor) -> Option<usize> {
    match &cursor.segment {
        Some((p, _, _)) => all.iter().position(|(_, q)| q == p).or(Some(0)),
        None => Some(0),
    }
    .filter(|_| !all.is_empty())
}

/// What one step may read.
struct Limits {
    /// The highest sequence number on disk: later lines wait.
    durable: u64,
    /// Most events.
    most: usize,
    /// Whether the segment is the newest (the only one whose last line may still be being
    /// written).
    newest: bool,
}

/// What one step read.
struct Step {
    /// The events to store, each checked.
    events: Vec<Prepared>,
    /// Bytes and lines read past: these events, and lines an earlier run copied.
    used: u64,
    lines: u64,
    /// Where the segment's written data ends (its first NUL, else its length), once this step
    /// read that far.
    end: Option<u64>,
    /// The first line that does not continue the chain: its number after those read past, and
    /// why.
    broken: Option<(u64, Break)>,
}

/// The durable events after the verifier's head in `path` from `offset`, each checked to continue
/// the chain (the verifier moves on with them); stops at the first line not yet durable, or at
/// the first that breaks the chain.
fn read_from(
    path: &PathBuf,
    chain: &str,
    offset: u64,
    verifier: &mut Verifier,
    checked: &mut bool,
    limits: Limits,
) -> Result<Step, std::io::Error> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let mut file = std::fs::File::open(path)?;
    let file_len = file.metadata()?.len();
    file.seek(SeekFrom::Start(offset))?;
    // Up to the written end: a preallocated segment's zeros are read a chunk at most, not to the
    // end of the file every tick.
    let mut data = Written::new(file.take(file_len.saturating_sub(offset)));
    // Read about what `most` events take, not the whole backlog: a busy second's slice is a few
    // hundred events, and reading 32 MB of backlog for each of them was a stall of its own every
    // tick. A line longer than the guess is read on until it ends.
    let guess = u64::try_from(limits.most)
        .unwrap_or(u64::MAX)
        .saturating_mul(BYTES_PER_EVENT)
        .clamp(MIN_READ_BYTES, READ_BYTES);
    let mut text = Vec::new();
    (&mut data).take(guess).read_to_end(&mut text)?;
    let read = u64::try_from(text.len()).unwrap_or(u64::MAX);
    if !text.contains(&b'\n') && !data.ended() && read < READ_BYTES {
        (&mut data).take(READ_BYTES - read).read_to_end(&mut text)?;
    }
    let end = data
        .ended()
        .then(|| offset + u64::try_from(text.len()).unwrap_or(u64::MAX));
    let mut step = Step {
        events: Vec::new(),
        used: 0,
        lines: 0,
        end,
        broken: None,
    };
    let mut next = verifier.verified().head_seq + 1;
    let mut stopped = false;
    for (line, end) in entries(&text) {
        if step.events.len() >= limits.most {
            stopped = true;
            break;
        }
        let Some(line) = line else {
            step.broken = Some((step.lines + 1, Break::Unreadable { seq: next }));
            return Ok(step);
        };
        let head = verifier.verified().head_seq;
        if !*checked && line.seq <= head {
            // Copied by an earlier run (the segment was not yet finished then).
            next = line.seq + 1;
            step.used = u64::try_from(end).unwrap_or(u64::MAX);
            step.lines += 1;
            continue;
        }
        *checked = true;
        if line.seq == head + 1 && line.seq > limits.durable {
            stopped = true;
            break;
        }
        let link = Link {
            seq: line.seq,
            recorded: line.recorded,
            hash: &line.hash,
            body: &line.body,
        };
        if let Err(at) = verifier.check(&link) {
            step.broken = Some((step.lines + 1, at));
            return Ok(step);
        }
        next = line.seq + 1;
        step.used = u64::try_from(end).unwrap_or(u64::MAX);
        step.lines += 1;
        // Parsed once: for its search keys and its compact form.
        let record = Record::from_text(&line.body);
        let event = ChainedEvent {
            chain: chain.to_owned(),
            seq: line.seq,
            recorded: line.recorded,
            keys: record.as_ref().map(Record::keys).unwrap_or_default(),
            hash: line.hash,
            body: line.body,
        };
        step.events
            .push(stored::prepare_parsed(&event, record.as_ref()));
    }
    if !stopped
        && !limits.newest
        && let Some(end) = step.end
        && offset + step.used < end
    {
        // A finished segment whose data ends in the middle of a line: the flusher only starts a
        // new segment after a whole batch is on disk, so this line was cut short afterwards.
        step.broken = Some((step.lines + 1, Break::Unreadable { seq: next }));
    }
    Ok(step)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::journal::Head;

    #[test]
    fn a_tick_copies_a_bounded_slice_quiet_or_busy() {
        assert_eq!(slice(0), QUIET_COPY_PER_TICK);
        assert_eq!(
            slice(BUSY_EVENTS_PER_SECOND / TICKS_PER_SECOND - 1),
            QUIET_COPY_PER_TICK
        );
        let busy = BUSY_COPY_PER_SECOND / TICKS_PER_SECOND as usize;
        assert_eq!(slice(BUSY_EVENTS_PER_SECOND / TICKS_PER_SECOND), busy);
        assert_eq!(slice(u64::MAX), busy);
        assert!(busy < QUIET_COPY_PER_TICK);
    }

    /// A store on a new SQLite file in a temporary directory (kept alive by the returned guard).
    async fn sqlite_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(&format!("sqlite://{}", dir.path().join("s.db").display()))
            .await
            .expect("store");
        (dir, store)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_durable_event_is_copied_once_and_copied_segments_go() {
        let (dir, store) = sqlite_store().await;
        let journal_dir = dir.path().join("audit");
        let journal =
            Journal::open_with(&journal_dir, "gw", Head::default(), 300).expect("journal");
        for i in 0..30 {
            journal
                .append(i, &format!("{{\"n\":{i}}}"))
                .await
                .expect("appended");
        }
        let ingester = Ingester::new(journal.clone(), store.clone(), Head::default());
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
        let report = crate::audit::verify::stored(&store).await.expect("verify");
        assert_eq!((report.count(), report.broken), (30, None));
        journal.close();
    }

    /// A finished segment with zeros after its lines (the journal was reopened with smaller
    /// segments) is copied whole and removed once a newer one exists; the newest, preallocated,
    /// is copied to the end of its lines and stays.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn preallocated_segments_are_copied_whole_and_go_once_a_newer_exists() {
        let (dir, store) = sqlite_store().await;
        let journal_dir = dir.path().join("audit");
        let journal =
            Journal::open_with(&journal_dir, "gw", Head::default(), 64 * 1024).expect("journal");
        for i in 0..10 {
            journal
                .append(i, &format!("{{\"n\":{i}}}"))
                .await
                .expect("appended");
        }
        let ingester = Ingester::new(journal.clone(), store.clone(), Head::default());
        assert_eq!(ingester.catch_up().await.expect("copied"), 10);
        assert_eq!(ingester.catch_up().await.expect("copied"), 0, "not twice");
        journal.close();
        let (_, first) = segments(&journal_dir, "gw")
            .expect("segments")
            .pop()
            .expect("a segment");
        assert_eq!(
            std::fs::metadata(&first).expect("metadata").len(),
            64 * 1024,
            "preallocated, zeros after its lines"
        );

        // Reopened with small segments: the next event fills this one, and it rolls over with
        // zeros after its lines.
        let text = std::fs::read(&first).expect("read");
        let (lines, _) = crate::audit::journal::complete_lines(&text);
        let (last, _) = lines.last().expect("lines");
        let stored = Head {
            seq: last.seq,
            hash: last.hash.clone(),
        };
        let journal = Journal::open_with(&journal_dir, "gw", stored.clone(), 64).expect("journal");
        for i in 10..15 {
            journal
                .append(i, &format!("{{\"n\":{i}}}"))
                .await
                .expect("appended");
        }
        assert!(segments(&journal_dir, "gw").expect("segments").len() > 2);
        let ingester = Ingester::new(journal.clone(), store.clone(), stored);
        assert_eq!(ingester.catch_up().await.expect("copied"), 5);
        let left = segments(&journal_dir, "gw").expect("segments");
        assert_eq!(
            left.len(),
            1,
            "only the segment still being written remains"
        );
        assert!(!first.exists(), "the finished preallocated segment went");
        let report = crate::audit::verify::stored(&store).await.expect("verify");
        assert_eq!((report.count(), report.broken), (15, None));
        journal.close();
    }

    /// A throttled copy reads about what its events take; an event longer than that guess (an
    /// export file's, naming thousands of resources) is read whole, never skipped or stuck on.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_throttled_copy_reads_a_long_event_whole() {
        let (dir, store) = sqlite_store().await;
        let journal =
            Journal::open(&dir.path().join("audit"), "gw", Head::default()).expect("journal");
        let long = "x".repeat(usize::try_from(MIN_READ_BYTES).unwrap_or(0) * 2);
        journal
            .append(0, &format!("{{\"n\":0,\"pad\":\"{long}\"}}"))
            .await
            .expect("appended");
        journal.append(1, "{\"n\":1}").await.expect("appended");
        let ingester = Ingester::new(journal.clone(), store.clone(), Head::default());
        assert_eq!(ingester.copy(1).await.expect("copied"), 1, "the long one");
        assert_eq!(ingester.copy(1).await.expect("copied"), 1, "then the next");
        assert_eq!(ingester.catch_up().await.expect("copied"), 0);
        let report = crate::audit::verify::stored(&store).await.expect("verify");
        assert_eq!((report.count(), report.broken), (2, None));
        journal.close();
    }

    /// A running copy meets a line edited after the previous copy: the lines before it are
    /// stored, it and the rest are not, now or at any later copy, and recording goes on.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_line_that_does_not_continue_the_chain_stops_the_copy_for_good() {
        let (dir, store) = sqlite_store().await;
        let journal_dir = dir.path().join("audit");
        let journal = Journal::open(&journal_dir, "gw", Head::default()).expect("journal");
        let append = |n: u64| {
            let journal = journal.clone();
            async move {
                journal
                    .append(0, &format!("{{\"n\":{n}}}"))
                    .await
                    .expect("appended")
            }
        };
        for n in 1..=3 {
            append(n).await;
        }
        let ingester = Ingester::new(journal.clone(), store.clone(), Head::default());
        assert_eq!(ingester.catch_up().await.expect("copied"), 3);
        for n in 4..=6 {
            append(n).await;
        }
        let (_, path) = segments(&journal_dir, "gw")
            .expect("segments")
            .pop()
            .expect("a segment");
        let text = std::fs::read_to_string(&path).expect("read");
        std::fs::write(&path, text.replace("{\"n\":5}", "{\"n\":50}")).expect("edited");

        let expected = JournalBreak {
            chain: "gw".into(),
            at: Break::Altered { seq: 5 },
            line: LineAt {
                segment: path.clone(),
                line: 5,
            },
        };
        for _ in 0..2 {
            match ingester.catch_up().await {
                Err(IngestError::Broken(b)) => assert_eq!(b, expected),
                other => panic!("{other:?}"),
            }
            let report = crate::audit::verify::stored(&store).await.expect("verify");
            assert_eq!((report.count(), report.broken), (4, None), "event 4 only");
            assert!(append(7).await > 6, "recording goes on");
        }
        let report = crate::audit::verify::all(&store, Some(&journal_dir))
            .await
            .expect("verify");
        let (chain, fault) = report.broken.expect("a break");
        assert_eq!(
            (chain.as_str(), fault.at, fault.place),
            (
                "gw",
                expected.at,
                crate::audit::verify::Place::Journal(expected.line)
            )
        );
        journal.close();
    }

    /// A line that is not an event, before the newest segment's end, is a break, not where the
    /// journal ends for now (which would stop the copy there without a word).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_line_that_is_not_an_event_is_a_break() {
        let (dir, store) = sqlite_store().await;
        let journal_dir = dir.path().join("audit");
        let journal = Journal::open(&journal_dir, "gw", Head::default()).expect("journal");
        for n in 1..=3 {
            journal
                .append(0, &format!("{{\"n\":{n}}}"))
                .await
                .expect("appended");
        }
        let (_, path) = segments(&journal_dir, "gw")
            .expect("segments")
            .pop()
            .expect("a segment");
        let text = std::fs::read_to_string(&path).expect("read");
        std::fs::write(&path, text.replacen('\t', " ", 1)).expect("edited");
        let ingester = Ingester::new(journal.clone(), store.clone(), Head::default());
        match ingester.catch_up().await {
            Err(IngestError::Broken(b)) => {
                assert_eq!((b.at, b.line.line), (Break::Unreadable { seq: 1 }, 1));
            }
            other => panic!("{other:?}"),
        }
        journal.close();
    }
}
