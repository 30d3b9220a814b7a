//! Retention: sealing the audit log recorded before a date into an archive file and removing it
//! from the live store (`carebridge audit archive`), and reading archives offline, without a
//! store (`carebridge audit verify-archive`, `carebridge audit search --archive`).
//!
//! Sealing writes every chain's events recorded before the date (each chain's oldest events up to
//! its first one recorded at or after it: a chain is cut, never holed), verifying each link as it
//! goes; syncs the file and renames it into place; reads it back and verifies it again; and only
//! then, in one transaction, removes those events from the store and records each chain's
//! *anchor*, the sequence number and hash of the last event archived. The live chain then
//! verifies from its anchor ([`super::verify::stored`]), and the archive's last hash for a chain is
//! exactly the anchor, so archive and store together verify end to end. Sealing is itself an
//! event, appended to the store's chain with the period and the file's SHA-256: an anchor moved
//! by hand would not match the archive an auditor holds, and the archive's digest is on record.
//! Nothing is removed when any step fails, and a file already at the destination is never
//! overwritten.
//!
//! The file is NDJSON, one object per line, each with a `kind`:
//! - `chain`: where a chain's archived part starts (`after`, the sequence number before its first
//!   event, and `prev`, that event's hash; 0 and the genesis hash for a chain from its start);
//! - `event`: `chain`, `seq`, `recorded`, `hash` and `body`, the record's JSON text exactly as
//!   hashed, in chain order;
//! - `end`: the chain's `last` sequence number, its `head` hash and its `events`;
//! - `archive`, the last line: the format, the period's end (`before`, epoch ms), when it was
//!   sealed and how many events it holds. A file without it was cut short and does not verify.

use std::io::{BufRead as _, Write as _};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::chain::{Break, GENESIS, Link, Verified, Verifier, hex};
use super::event::Record;
use super::search::matches;
use super::stored;
use crate::fhir::instant::now_ms;
use crate::store::audit::{AuditSelect, Filter};
use crate::store::{Store, StoreError};

/// The file format written.
pub const FORMAT: u32 = 1;

/// Events read from the store per page while sealing.
const PAGE: usize = 10_000;

/// Why an archive could not be sealed or read.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// Reading or writing the file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The destination already exists.
    #[error("{0} already exists: an archive is never overwritten")]
    Exists(PathBuf),
    /// The store.
    #[error("the store: {0}")]
    Store(#[from] StoreError),
    /// A chain does not verify: nothing is archived until it does.
    #[error("chain {chain} breaks at event {seq}: {reason}")]
    Broken {
        /// The chain.
        chain: String,
        /// Where.
        seq: u64,
        /// How.
        reason: String,
    },
    /// The file is not a complete, well-formed archive.
    #[error("line {line}: {reason}")]
    Malformed {
        /// 1-based line number (0: the file as a whole).
        line: u64,
        /// What is wrong.
        reason: String,
    },
}

/// One line of an archive file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Entry {
    /// Where a chain's archived part starts.
    Chain {
        /// The chain.
        chain: String,
        /// Sequence number before its first event here.
        after: u64,
        /// That event's hash.
        prev: String,
    },
    /// One event as hashed.
    Event(Event),
    /// Where a chain's archived part ends.
    End {
        /// The chain.
        chain: String,
        /// Its last sequence number here.
        last: u64,
        /// That event's hash: the live chain's anchor.
        head: String,
        /// How many events of the chain the file holds.
        events: u64,
    },
    /// The file's last line.
    Archive {
        /// [`FORMAT`].
        format: u32,
        /// Everything recorded before this (epoch ms) when sealed.
        before: i64,
        /// When it was sealed (epoch ms).
        sealed: i64,
        /// Events in the file.
        events: u64,
    },
}

/// An archived event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// The chain.
    pub chain: String,
    /// Sequence number.
    pub seq: u64,
    /// Recording time, epoch ms.
    pub recorded: i64,
    /// Chain hash.
    pub hash: String,
    /// The record's JSON text.
    pub body: String,
}

/// One chain's part of an archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The chain.
    pub chain: String,
    /// Sequence number before its first archived event.
    pub after: u64,
    /// Its last archived event.
    pub last: u64,
    /// That event's hash.
    pub head: String,
    /// Events archived.
    pub events: u64,
}

/// What an archive holds (sealed, or read back and verified).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Each chain's part, in the file's order.
    pub parts: Vec<Part>,
    /// Events in all.
    pub events: u64,
    /// The period's end, epoch ms.
    pub before: i64,
    /// SHA-256 of the file, hex.
    pub sha256: String,
}

/// Seals the events recorded before `before` (epoch ms) into a new file at `path`, verifies it,
/// and removes them from the store (see the module docs). A period with nothing in it writes
/// nothing and removes nothing.
pub async fn seal(store: &Store, before: i64, path: &Path) -> Result<Summary, ArchiveError> {
    if path.exists() {
        return Err(ArchiveError::Exists(path.to_owned()));
    }
    let partial = path.with_extension("partial");
    let io = |source| ArchiveError::Io {
        path: partial.clone(),
        source,
    };
    let file = std::fs::File::create_new(&partial).map_err(io)?;
    let mut out = Hashing::new(std::io::BufWriter::with_capacity(1 << 20, file));
    let written = write_parts(store, before, &mut out)
        .await
        .and_then(|parts| parts.map_err(io));
    let parts = match written {
        Ok(parts) => parts,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    let events = parts.iter().map(|p| p.events).sum();
    if events == 0 {
        let _ = std::fs::remove_file(&partial);
        return Ok(Summary {
            parts,
            events,
            before,
            sha256: String::new(),
        });
    }
    let trailer = Entry::Archive {
        format: FORMAT,
        before,
        sealed: now_ms(),
        events,
    };
    out.line(&trailer).map_err(io)?;
    let (file, digest) = out.finish().map_err(io)?;
    file.sync_all().map_err(io)?;
    drop(file);
    std::fs::rename(&partial, path).map_err(io)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io)?;
    }
    // Read back what the disk holds before removing anything from the store.
    let check = verify_file(path)?;
    if check.parts != parts || check.sha256 != digest {
        return Err(ArchiveError::Malformed {
            line: 0,
            reason: "the file read back differs from what was written; nothing was removed".into(),
        });
    }
    let cuts = parts.clone();
    let sealed = now_ms();
    store
        .transaction(move |tx| {
            for p in &cuts {
                let chain = tx.audit_term(&p.chain)?;
                tx.audit_cut(chain, p.last, &stored::hash_bytes(&p.head), sealed)?;
            }
            Ok::<_, StoreError>(())
        })
        .await?;
    let record = Record {
        recorded: sealed,
        method: "POST".into(),
        path: "/$audit-archive".into(),
        query: format!("before={before}&events={events}&sha256={digest}"),
        status: 200,
        interaction: Some("operation".into()),
        ..Record::default()
    };
    super::stored::append_by_tool(store, sealed, record.to_text()).await?;
    Ok(Summary {
        parts,
        events,
        before,
        sha256: digest,
    })
}

/// Writes every chain's part, verifying as it goes; a chain with nothing before `before` has no
/// part.
/// (The outer error is the store's or the chain's, the inner one the file's.)
async fn write_parts(
    store: &Store,
    before: i64,
    out: &mut Hashing,
) -> Result<std::io::Result<Vec<Part>>, ArchiveError> {
    let backend = store.backend();
    let anchors = stored::anchors(backend).await?;
    let mut chains: Vec<String> = stored::select(backend, &AuditSelect::ChainStarts)
        .await?
        .into_iter()
        .map(|r| r.chain)
        .collect();
    chains.sort();
    chains.dedup();
    let mut parts = Vec::new();
    for chain in chains {
        let (after, prev) = anchors
            .iter()
            .find(|(c, _, _)| *c == chain)
            .map_or((0, GENESIS.to_owned()), |(_, s, h)| (*s, h.clone()));
        let mut v = Verifier::resume(Verified {
            count: 0,
            head_seq: after,
            head_hash: prev.clone(),
        });
        let mut cursor = after;
        let mut started = false;
        'pages: loop {
            let page = AuditSelect::ChainPage {
                chain: &chain,
                after: cursor,
                limit: PAGE,
            };
            let rows = stored::select(backend, &page).await?;
            let Some(last) = rows.last() else {
                break;
            };
            cursor = last.seq;
            for r in rows {
                if r.recorded >= before {
                    break 'pages;
                }
                let link = Link {
                    seq: r.seq,
                    recorded: r.recorded,
                    hash: &r.hash,
                    body: &r.body,
                };
                v.check(&link).map_err(|b| broken(&chain, &b))?;
                if !started {
                    let start = Entry::Chain {
                        chain: chain.clone(),
                        after,
                        prev: prev.clone(),
                    };
                    if let Err(e) = out.line(&start) {
                        return Ok(Err(e));
                    }
                    started = true;
                }
                let event = Entry::Event(Event {
                    chain: r.chain,
                    seq: r.seq,
                    recorded: r.recorded,
                    hash: r.hash,
                    body: r.body,
                });
                if let Err(e) = out.line(&event) {
                    return Ok(Err(e));
                }
            }
        }
        let done = v.finish();
        if started {
            let end = Entry::End {
                chain: chain.clone(),
                last: done.head_seq,
                head: done.head_hash.clone(),
                events: done.count,
            };
            if let Err(e) = out.line(&end) {
                return Ok(Err(e));
            }
            parts.push(Part {
                chain,
                after,
                last: done.head_seq,
                head: done.head_hash,
                events: done.count,
            });
        }
    }
    Ok(Ok(parts))
}

fn broken(chain: &str, b: &Break) -> ArchiveError {
    ArchiveError::Broken {
        chain: chain.to_owned(),
        seq: b.seq(),
        reason: b.to_string(),
    }
}

/// Reads an archive and verifies every chain part in it from its start to its end, without a
/// store; what it holds, or where it fails.
pub fn verify_file(path: &Path) -> Result<Summary, ArchiveError> {
    let mut parts = Vec::new();
    let mut trailer = None;
    scan(path, |line, entry, state| {
        match entry {
            Entry::Chain { chain, after, prev } => {
                state.open(line, chain, after, prev)?;
            }
            Entry::Event(e) => state.event(line, &e)?,
            Entry::End {
                chain,
                last,
                head,
                events,
            } => parts.push(state.end(line, &chain, last, &head, events)?),
            Entry::Archive { before, events, .. } => trailer = Some((before, events)),
        }
        Ok(())
    })
    .and_then(|digest| {
        let (before, events) = trailer.ok_or_else(|| malformed(0, "no closing line"))?;
        let counted: u64 = parts.iter().map(|p| p.events).sum();
        if counted != events {
            return Err(malformed(0, "the closing line counts other events"));
        }
        Ok(Summary {
            parts,
            events,
            before,
            sha256: digest,
        })
    })
}

/// Verifies `path` (as [`verify_file`]) and hands each event that passes `filter` to `found`, in
/// the file's order; returns how many passed.
pub fn search(
    path: &Path,
    filter: &Filter,
    mut found: impl FnMut(&Event, Option<&Record>) -> std::io::Result<()>,
) -> Result<u64, ArchiveError> {
    verify_file(path)?;
    let mut n = 0;
    scan(path, |line, entry, _| {
        if let Entry::Event(e) = entry {
            let record = Record::from_text(&e.body);
            let hit = match &record {
                Some(r) => matches(r, filter),
                // A tool's event has no keys: only an unconditional search finds it.
                None => filter.conditions.is_empty() && in_period(e.recorded, filter),
            };
            if hit {
                n += 1;
                found(&e, record.as_ref()).map_err(|source| ArchiveError::Io {
                    path: PathBuf::from(format!("(output, at line {line})")),
                    source,
                })?;
            }
        }
        Ok(())
    })?;
    Ok(n)
}

fn in_period(recorded: i64, f: &Filter) -> bool {
    f.from.is_none_or(|from| recorded >= from) && f.to.is_none_or(|to| recorded < to)
}

/// Where a verification of a file stands.
#[derive(Default)]
struct State {
    open: Option<(String, u64, Verifier)>,
    closed: Vec<String>,
}

impl State {
    fn open(
        &mut self,
        line: u64,
        chain: String,
        after: u64,
        prev: String,
    ) -> Result<(), ArchiveError> {
        if self.open.is_some() || self.closed.contains(&chain) {
            return Err(malformed(line, "a chain starts twice or inside another"));
        }
        let v = Verifier::resume(Verified {
            count: 0,
            head_seq: after,
            head_hash: prev,
        });
        self.open = Some((chain, after, v));
        Ok(())
    }

    fn event(&mut self, line: u64, e: &Event) -> Result<(), ArchiveError> {
        let Some((chain, _, v)) = self.open.as_mut().filter(|(c, _, _)| *c == e.chain) else {
            return Err(malformed(line, "an event outside its chain's part"));
        };
        let link = Link {
            seq: e.seq,
            recorded: e.recorded,
            hash: &e.hash,
            body: &e.body,
        };
        v.check(&link).map_err(|b| broken(chain, &b))
    }

    fn end(
        &mut self,
        line: u64,
        chain: &str,
        last: u64,
        head: &str,
        events: u64,
    ) -> Result<Part, ArchiveError> {
        let Some((open, after, v)) = self.open.take().filter(|(c, _, _)| c == chain) else {
            return Err(malformed(line, "a chain ends that did not start"));
        };
        let done = v.finish();
        if done.head_seq != last || done.head_hash != head || done.count != events {
            return Err(malformed(line, "the chain's end does not match its events"));
        }
        self.closed.push(open.clone());
        Ok(Part {
            chain: open,
            after,
            last,
            head: head.to_owned(),
            events,
        })
    }
}

/// Reads `path` line by line into `each`; returns the file's SHA-256. After the closing line
/// nothing may follow, and every chain must have ended.
fn scan(
    path: &Path,
    mut each: impl FnMut(u64, Entry, &mut State) -> Result<(), ArchiveError>,
) -> Result<String, ArchiveError> {
    let io = |source| ArchiveError::Io {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
    let mut sha = Sha256::new();
    let mut state = State::default();
    let mut text = String::new();
    let mut line = 0;
    let mut closed = false;
    loop {
        text.clear();
        if reader.read_line(&mut text).map_err(io)? == 0 {
            break;
        }
        line += 1;
        sha.update(text.as_bytes());
        if closed {
            return Err(malformed(line, "a line after the closing line"));
        }
        let entry: Entry = serde_json::from_str(text.trim_end_matches('\n'))
            .map_err(|e| malformed(line, &format!("not an archive line: {e}")))?;
        closed = matches!(entry, Entry::Archive { .. });
        if closed && state.open.is_some() {
            return Err(malformed(line, "the file closes inside a chain"));
        }
        each(line, entry, &mut state)?;
    }
    Ok(hex(&sha.finalize()))
}

fn malformed(line: u64, reason: &str) -> ArchiveError {
    ArchiveError::Malformed {
        line,
        reason: reason.to_owned(),
    }
}

/// A writer of archive lines that hashes what it writes.
struct Hashing {
    out: std::io::BufWriter<std::fs::File>,
    sha: Sha256,
    line: Vec<u8>,
}

impl Hashing {
    fn new(out: std::io::BufWriter<std::fs::File>) -> Self {
        Hashing {
            out,
            sha: Sha256::new(),
            line: Vec::with_capacity(1024),
        }
    }

    fn line(&mut self, entry: &Entry) -> std::io::Result<()> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, entry)?;
        self.line.push(b'\n');
        self.sha.update(&self.line);
        self.out.write_all(&self.line)
    }

    fn finish(self) -> std::io::Result<(std::fs::File, String)> {
        let file = self.out.into_inner().map_err(|e| e.into_error())?;
        Ok((file, hex(&self.sha.finalize())))
    }
}

#[cfg(test)]
mod tests;
