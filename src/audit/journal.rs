//! The audit journal: where a gateway process makes each event durable before its response is
//! released (docs/design.md section 5), cheaply enough to do on every request.
//!
//! A request thread chains its event (a short critical section: the next sequence number and the
//! SHA-256 link to the previous event, [`super::chain`]) and queues the line; one flusher thread
//! writes everything queued with one `write` and one `fdatasync`, then wakes every request whose
//! event that covered (group commit). A request therefore waits for at most two flushes, and the
//! cost per event is a hash, a copy and a share of one system call.
//!
//! Why a file and not the database: recording through the store's writer thread cost most of a
//! read's throughput (bench/README.md, "Decisions measured"); the database copy is made
//! afterwards, in large batches, by [`super::ingest`], from which auditors search.
//!
//! Layout: one directory per gateway, segments `<chain>.<first seq, 20 digits>.log` of lines
//! `seq TAB recorded TAB hash TAB record-json LF` (the JSON never holds a raw tab, newline or NUL).
//! A new segment starts once one passes [`SEGMENT_BYTES`]; ingestion deletes segments it has
//! copied.
//!
//! Segments are preallocated: each is made at its full size by writing zeros and syncing them,
//! and lines are written over the zeros. A sync after a write that grows the file also commits the
//! new size and extents through the file system's own journal (ext4); over blocks already written
//! it has only the data to write (`fallocate` would not do: its unwritten extents still need that
//! on their first write); over zeros a sync is about a third cheaper (bench/README.md, "Decisions
//! measured"; `cargo bench --bench journal_sync`). The next segment is made
//! by a thread of its own once the current one is half full, as `<chain>.next` (never read as a
//! segment), and renamed into place when it is needed, so rolling over does not hold the flusher
//! up for the zero fill; the journal therefore takes room for two segments besides those not yet
//! copied (`audit_segment_bytes` makes them smaller for a small disk). Every reader takes a
//! segment's data to end at its first NUL ([`written`]); a segment written before preallocation
//! has none and reads as it always did.
//!
//! Direct writes (`O_DIRECT | O_DSYNC`) were tried and not kept: they rewrite the last block
//! from memory, which would undo a change made on disk to acknowledged lines, and saved no
//! measurable CPU (bench/README.md, "Decisions measured").
//!
//! At start the newest segment is read to find the chain's head (the one before it, when it has
//! no line yet: a stop just after rolling over); an incomplete last line (a write cut short by
//! power loss, never acknowledged) gets zeros back (in a segment from before preallocation, it is
//! cut off), and nothing else: a complete line that is not an event was changed after it was
//! written, and stays for verification to report.
//!
//! The journal is part of the tamper-evident log, not a buffer in front of it: its lines carry
//! the chain's hashes, ingestion copies a line only once it continues the stored chain
//! ([`super::ingest`]), and `carebridge audit verify` / `$audit-verify` verify the lines not yet
//! copied after the stored events ([`super::verify`]), reading the segments without changing them
//! while a gateway may be appending (only the newest segment may end in the middle of a line).
//!
//! Failure is fail-closed: once a write or sync fails, every event not yet durable fails (its
//! request answers 503, and `/readyz` says the gateway cannot serve), and so does every later one
//! until the journal can write again. What is on disk after a failed `write` or `fdatasync` is
//! unknown, so recovery does not trust it: whatever was written past the last successful sync gets
//! zeros back (what grew the file past its preallocated length is cut off), the chain's head goes
//! back to the last durable event, and a scratch write must succeed before events are taken again
//! (a full disk has room, a failed device writes). A next segment that cannot be made (a full
//! disk) fails the journal the same way, and is made again on recovery. The chain then continues
//! from its last durable event: no gap, no event twice, and nothing acknowledged lost. The journal
//! tries every [`RETRY_INTERVAL`], without a restart.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write as _};
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Condvar, Mutex};

use super::chain::{self, GENESIS};

/// Longest time between the starts of two syncs while requests that will record are still on
/// their way. The flusher waits for the requests already under way when it begins gathering a
/// batch ([`Announced`]), and no longer than this window: waiting lets their events share one
/// sync rather than each paying for one, and a request that arrives later goes to the next batch.
///
/// One millisecond keeps syncs few enough for searches, whose CPU they would take, and the
/// gathering rule keeps reads from waiting it out (bench/README.md, "Decisions measured").
pub const SYNC_WINDOW: std::time::Duration = std::time::Duration::from_micros(1000);

/// A segment is closed once it is this large, and a new one is made this large from the start
/// (zeros, module docs).
pub const SEGMENT_BYTES: u64 = 64 * 1024 * 1024;

/// Most bytes a reader takes from a segment in one read: past the written data it reads at most
/// this many zeros, rather than the rest of the preallocated segment.
const READ_CHUNK: usize = 64 * 1024;

/// Zeros written at a time when preparing a segment or clearing a range.
const ZERO_CHUNK: usize = 1024 * 1024;

/// Why an event could not be made durable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JournalError {
    /// Writing or syncing the journal failed (this or an earlier flush).
    #[error("the audit journal cannot be written: {0}")]
    Io(String),
    /// The journal was closed (shutdown).
    #[error("the audit journal is closed")]
    Closed,
}

/// One line of a segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Sequence number in the chain.
    pub seq: u64,
    /// Recording time, epoch milliseconds.
    pub recorded: i64,
    /// Chain hash.
    pub hash: String,
    /// The record's JSON.
    pub body: String,
}

impl Line {
    /// Parses one line (without its newline).
    pub fn parse(text: &str) -> Option<Line> {
        let mut parts = text.splitn(4, '\t');
        Some(Line {
            seq: parts.next()?.parse().ok()?,
            recorded: parts.next()?.parse().ok()?,
            hash: parts.next()?.to_owned(),
            body: parts.next()?.to_owned(),
        })
    }
}

/// The chain's last event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// Its sequence number (0 before the first).
    pub seq: u64,
    /// Its hash ([`GENESIS`] before the first).
    pub hash: String,
}

impl Default for Head {
    fn default() -> Self {
        Head {
            seq: 0,
            hash: GENESIS.to_owned(),
        }
    }
}

/// A request that will record an event ([`Journal::expect`]); dropping it without recording
/// withdraws it.
pub struct Expected {
    inner: Option<Arc<Inner>>,
    /// The flusher's gathering it was announced in ([`Announced`]).
    generation: u64,
}

impl Expected {
    /// Withdraws the announcement from `s`; true when it was the last one the flusher is
    /// waiting for.
    fn settle(mut self, s: &mut State) -> bool {
        self.inner.take().is_some() && s.announced.withdraw(self.generation)
    }
}

impl Drop for Expected {
    fn drop(&mut self) {
        let Some(inner) = self.inner.take() else {
            return;
        };
        let last = inner
            .state
            .lock()
            .is_ok_and(|mut s| s.announced.withdraw(self.generation));
        if last {
            inner.work.notify_one();
        }
    }
}

/// Requests announced ([`Journal::expect`]) that have not yet queued their event, split where
/// the flusher last began gathering a batch: it waits only for those announced `before` then,
/// whose events are near; one announced `since` (in a closed loop, typically the next request of
/// a client whose response the last sync released) goes to the next batch. Waiting for every
/// request under way instead never ends while clients keep the gateway busy, so each batch waited
/// out the whole window.
#[derive(Default)]
struct Announced {
    /// The current gathering's number.
    generation: u64,
    before: usize,
    since: usize,
}

impl Announced {
    /// Counts a new announcement; returns its generation.
    fn announce(&mut self) -> u64 {
        self.since += 1;
        self.generation
    }

    /// Withdraws an announcement made in `generation`; true when it was the last of those the
    /// flusher is waiting for.
    fn withdraw(&mut self, generation: u64) -> bool {
        if generation < self.generation {
            self.before = self.before.saturating_sub(1);
            self.before == 0
        } else {
            self.since = self.since.saturating_sub(1);
            false
        }
    }

    /// Begins gathering a batch: every request announced so far is now one to wait for.
    fn gather(&mut self) {
        self.generation += 1;
        self.before += self.since;
        self.since = 0;
    }
}

/// A request waiting for its event: told once that event is on disk (or failed), and not before;
/// waking only the requests a flush covered keeps the wake-ups to one per event.
type Waiter = tokio::sync::oneshot::Sender<Result<(), JournalError>>;

struct State {
    head: Head,
    pending: Vec<u8>,
    /// Waiters in sequence order (queued under the same lock as their lines).
    waiting: std::collections::VecDeque<(u64, Waiter)>,
    /// The highest sequence number on disk.
    durable: u64,
    /// The event at `durable`: where the chain resumes after a failure.
    durable_head: Head,
    failed: Option<JournalError>,
    closing: bool,
    /// Requests that will record an event and have not yet queued it.
    announced: Announced,
}

struct Inner {
    /// Longest a batch is gathered for ([`SYNC_WINDOW`]).
    window: std::time::Duration,
    chain: String,
    segment_bytes: u64,
    dir: PathBuf,
    state: Mutex<State>,
    work: Condvar,
}

/// A gateway process's audit journal (cheap to clone; the flusher stops when [`Journal::close`]
/// is called or the last clone is dropped).
#[derive(Clone)]
pub struct Journal {
    inner: Arc<Inner>,
    flusher: Arc<Flusher>,
}

/// Stops the flusher when the last [`Journal`] clone goes.
struct Flusher {
    inner: Arc<Inner>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Flusher {
    fn stop(&self) {
        if let Ok(mut s) = self.inner.state.lock() {
            s.closing = true;
        }
        self.inner.work.notify_one();
        let handle = self.thread.lock().ok().and_then(|mut h| h.take());
        if let Some(h) = handle {
            let _ = h.join();
        }
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The segments of `chain` in `dir`, oldest first, with their first sequence numbers.
pub fn segments(dir: &Path, chain: &str) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let prefix = format!("{chain}.");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if let Some(first) = name
            .strip_prefix(&prefix)
            .and_then(|r| r.strip_suffix(".log"))
            .filter(|n| n.len() == 20)
            .and_then(|n| n.parse::<u64>().ok())
        {
            found.push((first, path));
        }
    }
    found.sort();
    Ok(found)
}

fn segment_path(dir: &Path, chain: &str, first: u64) -> PathBuf {
    dir.join(format!("{chain}.{first:020}.log"))
}

/// Where the next segment is preallocated: not a segment's name, so that nothing reads it (or
/// takes the current segment for finished) until it is renamed into place.
fn next_path(dir: &Path, chain: &str) -> PathBuf {
    dir.join(format!("{chain}.next"))
}

/// The bytes of zeros a segment is made of: its size, at most [`SEGMENT_BYTES`] (tests that never
/// roll ask for `u64::MAX`).
fn preallocated(segment_bytes: u64) -> u64 {
    segment_bytes.min(SEGMENT_BYTES)
}

/// The chains that have segments in `dir`, in name order (none when `dir` does not exist).
pub fn chains(dir: &Path) -> std::io::Result<Vec<String>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut found = std::collections::BTreeSet::new();
    for entry in entries {
        let name = entry?.file_name();
        let Some((chain, first)) = name
            .to_str()
            .and_then(|n| n.strip_suffix(".log"))
            .and_then(|n| n.rsplit_once('.'))
        else {
            continue;
        };
        if !chain.is_empty() && first.len() == 20 && first.parse::<u64>().is_ok() {
            found.insert(chain.to_owned());
        }
    }
    Ok(found.into_iter().collect())
}

/// Where a line is: its segment and its number there (from 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineAt {
    /// The segment file.
    pub segment: PathBuf,
    /// The line's number in it, from 1.
    pub line: u64,
}

impl std::fmt::Display for LineAt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = self.segment.file_name().unwrap_or(self.segment.as_os_str());
        write!(f, "segment {}, line {}", name.to_string_lossy(), self.line)
    }
}

/// The written part of a segment's `text`: up to its first NUL byte. A segment is made of zeros
/// and written from its start, and no line holds a NUL (the record's JSON escapes control
/// characters; the other fields are digits and hex), so a NUL is where the data ends. A NUL inside
/// a line ends it too: a reader can see a write in progress with a page still zero before a
/// later one already copied, and a crash can leave a batch's pages so; either way, what follows
/// was never acknowledged. A segment from before preallocation holds no NUL and is read whole.
pub fn written(text: &[u8]) -> &[u8] {
    text.iter()
        .position(|b| *b == 0)
        .map_or(text, |end| &text[..end])
}

/// A reader of a segment's written data ([`written`]): it ends at the first NUL, and reads at most
/// 64 KiB at a time, so that reading at the end of the data reads a chunk of zeros, not the rest
/// of the segment.
pub struct Written<R> {
    inner: R,
    ended: bool,
}

impl<R: Read> Written<R> {
    /// Reads the written data of `inner` (a segment from where its data is to be read).
    pub fn new(inner: R) -> Self {
        Written {
            inner,
            ended: false,
        }
    }

    /// Whether the end of the written data (a NUL, or the end of `inner`) has been reached.
    pub fn ended(&self) -> bool {
        self.ended
    }
}

impl<R: Read> Read for Written<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.ended || buf.is_empty() {
            return Ok(0);
        }
        let most = buf.len().min(READ_CHUNK);
        let read = self.inner.read(&mut buf[..most])?;
        match buf[..read].iter().position(|b| *b == 0) {
            Some(end) => {
                self.ended = true;
                Ok(end)
            }
            None => {
                self.ended = read == 0;
                Ok(read)
            }
        }
    }
}

/// The complete (newline-terminated) lines of `text`'s written part ([`written`]), each parsed
/// (`None` for a line that is not a well-formed event) with the offset just past it; an
/// unterminated tail is left out.
pub fn entries(text: &[u8]) -> impl Iterator<Item = (Option<Line>, usize)> + '_ {
    let text = written(text);
    let mut used = 0;
    std::iter::from_fn(move || {
        let end = text[used..].iter().position(|b| *b == b'\n')?;
        let line = std::str::from_utf8(&text[used..used + end])
            .ok()
            .and_then(Line::parse);
        used += end + 1;
        Some((line, used))
    })
}

/// The complete lines of `text`'s written part ([`written`]), each with the offset just past it,
/// and the byte length they cover (an unterminated or unreadable tail is left out).
pub fn complete_lines(text: &[u8]) -> (Vec<(Line, usize)>, usize) {
    let mut lines = Vec::new();
    let mut used = 0;
    for (line, end) in entries(text) {
        let Some(line) = line else {
            break;
        };
        used = end;
        lines.push((line, used));
    }
    (lines, used)
}

/// Opens the newest segment to continue after its last complete line; returns it (`None` when
/// there is none) and the last event's head.
///
/// What follows the last complete line was never acknowledged (a write cut short by a crash). A
/// preallocated segment gets zeros back over it, keeping its space, and over anything else
/// not zero further on (a cut-short batch's pages reach the disk in any order), so that later
/// writes never run into old bytes; a segment from before preallocation is cut back, as it was.
fn open_newest(dir: &Path, chain: &str) -> std::io::Result<Option<(Segment, Option<Head>)>> {
    let all = segments(dir, chain)?;
    let Some((_, path)) = all.last() else {
        return Ok(None);
    };
    let file = OpenOptions::new().read(true).write(true).open(path)?;
    // As many bytes as the file holds (a device in its place reads as empty).
    let len = file.metadata()?.len();
    let mut text = Vec::new();
    Written::new((&file).take(len)).read_to_end(&mut text)?;
    // Only an unterminated tail can be a write cut short. A complete line that is not an event
    // was changed afterwards: it stays, for verification to report, rather than being cut off
    // with every later (acknowledged) line, which would hide the change.
    let used = text.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let (used_bytes, data) = (byte_count(used), byte_count(text.len()));
    let allocated = if data == len {
        // No zeros: written before segments were preallocated (or filled to its end).
        if used_bytes < len {
            let kept = keep_discarded(path, &file, used_bytes, len)?;
            tracing::warn!(segment = %path.display(), bytes = len - used_bytes, kept = %kept.display(),
                "audit journal: cutting off an incomplete last line (never acknowledged)");
            file.set_len(used_bytes)?;
            file.sync_data()?;
        }
        used_bytes
    } else {
        let dirty = nonzero_end(&file, data, len)?.max(data);
        if dirty > used_bytes {
            let kept = keep_discarded(path, &file, used_bytes, dirty)?;
            tracing::warn!(segment = %path.display(), bytes = dirty - used_bytes, kept = %kept.display(),
                "audit journal: zeroing an incomplete last line (never acknowledged)");
            write_zeros(&file, used_bytes, dirty)?;
            file.sync_data()?;
        }
        len
    };
    let mut last = last_event(path, &text[..used]);
    if used == 0 {
        // A segment started and not yet written (a crash or stop just after rolling over): the
        // chain's head is in an older one, unless ingestion removed those.
        for (_, older) in all.iter().rev().skip(1) {
            let mut text = Vec::new();
            match File::open(older) {
                Ok(f) => {
                    let len = f.metadata()?.len();
                    Written::new(f.take(len)).read_to_end(&mut text)?;
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            }
            if text.contains(&b'\n') {
                last = last_event(older, &text);
                break;
            }
        }
    }
    let head = last.map(|l| Head {
        seq: l.seq,
        hash: l.hash,
    });
    let segment = Segment {
        file,
        synced: used_bytes,
        touched: used_bytes,
        allocated,
        next: None,
    };
    Ok(Some((segment, head)))
}

/// The last event among the complete lines of `text` (of the segment at `path`).
fn last_event(path: &Path, text: &[u8]) -> Option<Line> {
    let mut last = None;
    let mut last_is_event = true;
    for (line, _) in entries(text) {
        last_is_event = line.is_some();
        last = line.or(last);
    }
    if !last_is_event {
        tracing::error!(segment = %path.display(),
            "audit journal: the last line is not an event (changed after it was written); the chain continues from the last one that is, and verification reports the line");
    }
    last
}

fn byte_count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// Copies bytes `from..to` of the segment at `path` to a file beside it, synced with its
/// directory, before start-up clears them; returns the copy's path. Normally they are a write that
/// power loss cut short and that was never acknowledged. But a reader takes a segment to end at
/// its first NUL, so a NUL that corruption put inside an acknowledged line makes everything after
/// it look unwritten: the copy keeps those events for an operator to recover and compare
/// (`<segment>.<offset>.discarded`, never read as a segment). If it cannot be made, the journal
/// does not open, and nothing is cleared.
fn keep_discarded(path: &Path, file: &File, from: u64, to: u64) -> std::io::Result<PathBuf> {
    let mut bytes = vec![0u8; usize::try_from(to - from).map_err(std::io::Error::other)?];
    file.read_exact_at(&mut bytes, from)?;
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{from}.discarded"));
    let kept = path.with_file_name(name);
    let mut copy = File::create(&kept)?;
    copy.write_all(&bytes)?;
    copy.sync_all()?;
    if let Some(dir) = path.parent() {
        sync_dir(dir)?;
    }
    Ok(kept)
}

/// The offset just past the last byte of `file` in `[from, to)` that is not zero (`from` when
/// all are).
fn nonzero_end(file: &File, from: u64, to: u64) -> std::io::Result<u64> {
    let mut buf = vec![0u8; ZERO_CHUNK];
    let mut end = from;
    let mut at = from;
    while at < to {
        let want = usize::try_from(to - at).map_or(buf.len(), |n| n.min(buf.len()));
        let read = file.read_at(&mut buf[..want], at)?;
        if read == 0 {
            break;
        }
        if let Some(i) = buf[..read].iter().rposition(|b| *b != 0) {
            end = at + byte_count(i + 1);
        }
        at += byte_count(read);
    }
    Ok(end)
}

/// Writes zeros over `[from, to)` of `file` (not synced).
fn write_zeros(file: &File, from: u64, to: u64) -> std::io::Result<()> {
    let zeros = vec![0u8; ZERO_CHUNK];
    let mut at = from;
    while at < to {
        let n = usize::try_from(to - at).map_or(zeros.len(), |n| n.min(zeros.len()));
        file.write_all_at(&zeros[..n], at)?;
        at += byte_count(n);
    }
    Ok(())
}

/// Makes the next segment of `chain` ([`next_path`]): `bytes` of zeros, synced with its
/// metadata, and the directory synced. Stops when `cancel` is set (the journal closing). What a
/// failure leaves is removed, so that a full disk gets its space back.
fn prepare(dir: &Path, chain: &str, bytes: u64, cancel: &AtomicBool) -> std::io::Result<()> {
    let path = next_path(dir, chain);
    let made = (|| {
        let mut file = File::create(&path)?;
        let zeros = vec![0u8; ZERO_CHUNK];
        let mut left = bytes;
        while left > 0 {
            if cancel.load(std::sync::atomic::Ordering::Relaxed) {
                return Err(std::io::Error::other("the audit journal is closing"));
            }
            let n = usize::try_from(left).map_or(zeros.len(), |n| n.min(zeros.len()));
            file.write_all(&zeros[..n])?;
            left -= byte_count(n);
        }
        file.sync_all()?;
        sync_dir(dir)
    })();
    if made.is_err() {
        let _ = std::fs::remove_file(&path);
    }
    made
}

/// The next segment, being made by a thread of its own while the current one fills, so that
/// rolling over does not hold up the flusher for the zero fill.
struct Preparing {
    cancel: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl Preparing {
    /// Starts making the next segment of `chain` (`None` if no thread can be started: the
    /// segment is then made when it is needed).
    fn start(dir: &Path, chain: &str, bytes: u64) -> Option<Preparing> {
        let cancel = Arc::new(AtomicBool::new(false));
        let (dir, chain, stop) = (dir.to_owned(), chain.to_owned(), Arc::clone(&cancel));
        let thread = std::thread::Builder::new()
            .name("audit-segment".into())
            .spawn(move || prepare(&dir, &chain, bytes, &stop));
        match thread {
            Ok(thread) => Some(Preparing {
                cancel,
                thread: Some(thread),
            }),
            Err(e) => {
                tracing::warn!(error = %e, "audit journal: cannot start preparing the next segment ahead");
                None
            }
        }
    }

    /// Waits for the segment to be made.
    fn wait(mut self) -> std::io::Result<()> {
        match self.thread.take().map(std::thread::JoinHandle::join) {
            Some(Ok(made)) => made,
            Some(Err(_)) => Err(std::io::Error::other(
                "preparing the next audit journal segment panicked",
            )),
            None => Err(std::io::Error::other(
                "the next audit journal segment was not prepared",
            )),
        }
    }
}

impl Drop for Preparing {
    /// A journal closing stops the fill (its file is removed) rather than waiting for it, and
    /// leaves no thread writing behind it.
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            self.cancel
                .store(true, std::sync::atomic::Ordering::Relaxed);
            let _ = thread.join();
        }
    }
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

impl Journal {
    /// Opens (creating) the journal of `chain` in `dir`. `stored` is the chain's head in the
    /// database: the chain continues from whichever of it and the journal's head is further on
    /// (a journal removed after ingestion leaves the database ahead).
    pub fn open(dir: &Path, chain: &str, stored: Head) -> std::io::Result<Journal> {
        Self::open_with(dir, chain, stored, SEGMENT_BYTES)
    }

    /// [`Journal::open`] with segments of `segment_bytes` (tests use small ones).
    pub fn open_with(
        dir: &Path,
        chain: &str,
        stored: Head,
        segment_bytes: u64,
    ) -> std::io::Result<Journal> {
        Self::open_windowed(dir, chain, stored, segment_bytes, SYNC_WINDOW)
    }

    /// [`Journal::open_with`] gathering batches for at most `window` (tests use long ones, so
    /// that only an announcement can make the flusher wait).
    fn open_windowed(
        dir: &Path,
        chain: &str,
        stored: Head,
        segment_bytes: u64,
        window: std::time::Duration,
    ) -> std::io::Result<Journal> {
        std::fs::create_dir_all(dir)?;
        // Made ahead by an earlier run: it holds no event, and may be cut short.
        match std::fs::remove_file(next_path(dir, chain)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let (segment, journal_head) = match open_newest(dir, chain)? {
            Some(found) => found,
            None => {
                let first = Segment::start(dir, chain, segment_bytes, stored.seq + 1, None)?;
                (first, None)
            }
        };
        let head = match journal_head {
            Some(h) if h.seq >= stored.seq => h,
            _ => stored,
        };
        let durable = head.seq;
        let durable_head = head.clone();
        let inner = Arc::new(Inner {
            window,
            chain: chain.to_owned(),
            segment_bytes,
            dir: dir.to_owned(),
            state: Mutex::new(State {
                head,
                pending: Vec::with_capacity(64 * 1024),
                waiting: std::collections::VecDeque::new(),
                durable,
                durable_head,
                failed: None,
                closing: false,
                announced: Announced::default(),
            }),
            work: Condvar::new(),
        });
        let flusher_inner = Arc::clone(&inner);
        let flusher = std::thread::Builder::new()
            .name("audit-journal".into())
            .spawn(move || flush_loop(&flusher_inner, segment))?;
        Ok(Journal {
            flusher: Arc::new(Flusher {
                inner: Arc::clone(&inner),
                thread: Mutex::new(Some(flusher)),
            }),
            inner,
        })
    }

    /// The chain this journal writes.
    pub fn chain(&self) -> &str {
        &self.inner.chain
    }

    /// The directory of its segments.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Why the journal refuses events, once a write or sync failed (`None` while it works).
    pub fn failure(&self) -> Option<JournalError> {
        self.inner.state.lock().ok().and_then(|s| s.failed.clone())
    }

    /// The highest sequence number known durable.
    pub fn durable(&self) -> u64 {
        self.inner.state.lock().map(|s| s.durable).unwrap_or(0)
    }

    /// Events chained but not yet durable.
    pub fn backlog(&self) -> u64 {
        self.inner
            .state
            .lock()
            .map(|s| s.head.seq.saturating_sub(s.durable))
            .unwrap_or(0)
    }

    /// Says that a request will record an event: a flusher gathering a batch waits for it
    /// (within [`SYNC_WINDOW`]) if it was announced before the gathering began, until its event
    /// is queued or the guard dropped.
    pub fn expect(&self) -> Expected {
        let generation = self.inner.state.lock().map(|mut s| s.announced.announce());
        Expected {
            inner: generation.is_ok().then(|| Arc::clone(&self.inner)),
            generation: generation.unwrap_or(0),
        }
    }

    /// Chains `body` (recorded at `recorded`) and returns once it is on disk, with its sequence
    /// number.
    pub async fn append(&self, recorded: i64, body: &str) -> Result<u64, JournalError> {
        self.append_expected(recorded, body, None).await
    }

    /// [`Journal::append`] for the request that `expected` announced.
    pub async fn append_expected(
        &self,
        recorded: i64,
        body: &str,
        expected: Option<Expected>,
    ) -> Result<u64, JournalError> {
        let (seq, done) = self.enqueue(recorded, body, expected)?;
        match done.await {
            Ok(Ok(())) => Ok(seq),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(JournalError::Closed),
        }
    }

    /// Chains and queues one event; returns its sequence number and what says it is on disk.
    fn enqueue(
        &self,
        recorded: i64,
        body: &str,
        expected: Option<Expected>,
    ) -> Result<
        (
            u64,
            tokio::sync::oneshot::Receiver<Result<(), JournalError>>,
        ),
        JournalError,
    > {
        let mut s = self
            .inner
            .state
            .lock()
            .map_err(|_| JournalError::Io("journal lock poisoned".into()))?;
        // Under the lock, so that a flusher deciding whether to wait sees the event and the
        // count change together.
        let last_expected = expected.is_some_and(|e| e.settle(&mut s));
        if let Some(e) = &s.failed {
            return Err(e.clone());
        }
        if s.closing {
            return Err(JournalError::Closed);
        }
        let seq = s.head.seq + 1;
        let hash = chain::hash(&s.head.hash, seq, recorded, body);
        let was_empty = s.pending.is_empty();
        let line = &mut s.pending;
        let _ = write!(line, "{seq}\t{recorded}\t{hash}\t");
        line.extend_from_slice(body.as_bytes());
        line.push(b'\n');
        s.head = Head { seq, hash };
        let (tx, rx) = tokio::sync::oneshot::channel();
        s.waiting.push_back((seq, tx));
        drop(s);
        if was_empty || last_expected {
            self.inner.work.notify_one();
        }
        Ok((seq, rx))
    }

    /// Writes what is queued, stops the flusher and waits for it.
    pub fn close(&self) {
        self.flusher.stop();
    }
}

/// The segment the flusher writes, with the length known to be on disk.
struct Segment {
    file: File,
    /// Bytes synced: the written data ends here, and everything past it was never acknowledged.
    synced: u64,
    /// The end of the furthest write since the last sync: what a failed write may have touched.
    touched: u64,
    /// Zeros (or, in a segment from before preallocation, its data when opened) up to here; a
    /// write past it grew the file.
    allocated: u64,
    /// The next segment, made while this one fills.
    next: Option<Preparing>,
}

impl Segment {
    /// Puts a new segment in place whose first event is `first`: the one `preparing` made, else
    /// one made now (also when `preparing` failed: the disk may have room by now). Renamed into
    /// place and the directory synced before anything is written to it.
    fn start(
        dir: &Path,
        chain: &str,
        segment_bytes: u64,
        first: u64,
        preparing: Option<Preparing>,
    ) -> std::io::Result<Segment> {
        if !matches!(preparing.map(Preparing::wait), Some(Ok(()))) {
            prepare(
                dir,
                chain,
                preallocated(segment_bytes),
                &AtomicBool::new(false),
            )?;
        }
        let path = segment_path(dir, chain, first);
        std::fs::rename(next_path(dir, chain), &path)?;
        sync_dir(dir)?;
        let file = OpenOptions::new().read(true).write(true).open(&path)?;
        let allocated = file.metadata()?.len();
        Ok(Segment {
            file,
            synced: 0,
            touched: 0,
            allocated,
            next: None,
        })
    }

    /// Writes `bytes` after the data and syncs them; the synced length moves only when both
    /// succeed. Into preallocated zeros, the sync has only the data to write, not the file's
    /// size and extents as well (module docs).
    fn append(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.touched = self.touched.max(self.synced + byte_count(bytes.len()));
        self.file.write_all_at(bytes, self.synced)?;
        self.file.sync_data()?;
        self.synced += byte_count(bytes.len());
        Ok(())
    }

    /// Starts the segment whose first event is `first` once this one is full; starts making it
    /// once this one is half full.
    fn roll_if_full(&mut self, inner: &Inner, first: u64) -> std::io::Result<()> {
        if self.synced < inner.segment_bytes {
            if self.next.is_none() && self.synced >= inner.segment_bytes / 2 {
                self.next =
                    Preparing::start(&inner.dir, &inner.chain, preallocated(inner.segment_bytes));
            }
            return Ok(());
        }
        *self = Segment::start(
            &inner.dir,
            &inner.chain,
            inner.segment_bytes,
            first,
            self.next.take(),
        )?;
        Ok(())
    }

    /// Puts the segment back as it was after its last sync: whatever a failed write or sync left
    /// past that point (part of a batch, pages of unknown state) gets zeros back (the file keeps
    /// its preallocated length; what grew past that is cut off), and that is synced.
    fn restore(&mut self) -> std::io::Result<()> {
        let zeros_to = self.touched.min(self.allocated);
        if zeros_to > self.synced {
            write_zeros(&self.file, self.synced, zeros_to)?;
        }
        let length = self.allocated.max(self.synced);
        if self.touched > length {
            self.file.set_len(length)?;
        }
        self.file.sync_data()?;
        self.touched = self.synced;
        Ok(())
    }
}

/// The flusher: takes everything queued, writes and syncs it, publishes the new durable point;
/// starts a new segment when the current one is full. After a failure it [`recover`]s.
fn flush_loop(inner: &Inner, mut segment: Segment) {
    let mut spare: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut last_sync = std::time::Instant::now();
    loop {
        let (last, closing) = {
            let Ok(mut s) = inner.state.lock() else {
                return;
            };
            while s.pending.is_empty() && !s.closing {
                s = match inner.work.wait(s) {
                    Ok(s) => s,
                    Err(_) => return,
                };
            }
            // Gather the events of the requests already under way, for at most the rest of the
            // window since the last sync: one sync for all of them ([`Announced`]).
            s.announced.gather();
            let deadline = last_sync + inner.window;
            while !s.closing && s.announced.before > 0 {
                let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) else {
                    break;
                };
                s = match inner.work.wait_timeout(s, left) {
                    Ok((s, _)) => s,
                    Err(_) => return,
                };
            }
            if s.pending.is_empty() {
                return;
            }
            spare.clear();
            std::mem::swap(&mut spare, &mut s.pending);
            (s.head.clone(), s.closing)
        };
        last_sync = std::time::Instant::now();
        let failed = match segment.append(&spare) {
            Ok(()) => {
                crate::metrics::global().journal_sync(last_sync.elapsed());
                publish(inner, &last);
                segment.roll_if_full(inner, last.seq + 1).err()
            }
            Err(e) => Some(e),
        };
        if let Some(e) = failed {
            if !fail(inner, &e) || !recover(inner, &mut segment) {
                return;
            }
            continue;
        }
        if closing
            && inner
                .state
                .lock()
                .map(|s| s.pending.is_empty())
                .unwrap_or(true)
        {
            return;
        }
    }
}

/// Marks everything up to `last` durable and tells the requests waiting for it.
fn publish(inner: &Inner, last: &Head) {
    let covered: Vec<Waiter> = {
        let Ok(mut s) = inner.state.lock() else {
            return;
        };
        s.durable = last.seq;
        s.durable_head = last.clone();
        let n = s
            .waiting
            .iter()
            .take_while(|(seq, _)| *seq <= last.seq)
            .count();
        s.waiting.drain(..n).map(|(_, w)| w).collect()
    };
    for waiter in covered {
        let _ = waiter.send(Ok(()));
    }
}

/// Refuses everything not yet durable after a failed write or sync: the waiting requests fail
/// (they answer 503, so nothing unrecorded is served), their events are dropped from the queue,
/// and the chain's head goes back to the last durable event, so the chain resumes from there
/// with no gap and no event twice. Returns false when the state cannot be reached.
fn fail(inner: &Inner, e: &std::io::Error) -> bool {
    tracing::error!(error = %e, "audit journal write failed: requests answer 503 until it can write again");
    let error = JournalError::Io(e.to_string());
    let refused: Vec<(u64, Waiter)> = {
        let Ok(mut s) = inner.state.lock() else {
            return false;
        };
        s.failed = Some(error.clone());
        s.pending.clear();
        s.head = s.durable_head.clone();
        s.waiting.drain(..).collect()
    };
    for (_, waiter) in refused {
        let _ = waiter.send(Err(error.clone()));
    }
    true
}

/// How often a failed journal tries to write again.
pub const RETRY_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// Bytes a failed journal must be able to write and sync, in a scratch file, before it takes
/// events again: room for a large batch, so that a nearly full disk does not flap between
/// refusing and accepting.
const PROBE_BYTES: usize = 256 * 1024;

/// Tries, every [`RETRY_INTERVAL`], to put the segment back as it was at its last sync and to
/// write and sync [`PROBE_BYTES`] beside it (a full disk must have room again; a failed device
/// must write again); then takes events again. Returns false when the journal closes first.
fn recover(inner: &Inner, segment: &mut Segment) -> bool {
    let probe = inner.dir.join(format!(".{}.probe", inner.chain));
    loop {
        let next = {
            let Ok(s) = inner.state.lock() else {
                return false;
            };
            if s.closing {
                return false;
            }
            let Ok((s, _)) = inner.work.wait_timeout(s, RETRY_INTERVAL) else {
                return false;
            };
            if s.closing {
                return false;
            }
            s.durable + 1
        };
        let attempt = segment
            .restore()
            .and_then(|()| write_probe(&probe))
            .and_then(|()| segment.roll_if_full(inner, next));
        let _ = std::fs::remove_file(&probe);
        match attempt {
            Ok(()) => {
                if let Ok(mut s) = inner.state.lock() {
                    s.failed = None;
                }
                tracing::warn!(
                    durable = next - 1,
                    "audit journal writes again: the chain resumes after its last durable event"
                );
                return true;
            }
            Err(e) => tracing::debug!(error = %e, "audit journal still cannot write"),
        }
    }
}

fn write_probe(path: &Path) -> std::io::Result<()> {
    let mut file = File::create(path)?;
    file.write_all(&[0u8; PROBE_BYTES])?;
    file.sync_data()
}

#[cfg(test)]
mod tests;
