//! Verifying the whole trail: every stored chain ([`stored`]), then, for each chain
//! with segments in the journal directory, the journal lines not yet copied into the store,
//! continuing from the stored head. An event is therefore covered from the moment it is durable,
//! and a journal line altered, removed, inserted or reordered before its copy is reported like a
//! stored break (with its segment and line).
//!
//! Reading the journal never changes it, and tolerates a running gateway: a segment's data ends
//! at its first NUL byte (segments are preallocated as zeros, [`journal::written`]); an
//! incomplete last line of the newest segment is one still being written and is left for the
//! next time; a segment
//! that goes while being read was copied and removed by the gateway, so the events the store
//! gained meanwhile are verified there and the journal is read again from the new head.

use std::io::{BufRead as _, Read as _};
use std::path::{Path, PathBuf};

use super::chain::{Break, Link, Verified, Verifier};
use super::journal::{self, Line, LineAt};
use crate::error::Error;
use crate::store::Store;
use crate::store::audit::AuditSelect;

/// A journal line longer than this is not an event (records are a few kilobytes).
const MAX_LINE: u64 = 16 * 1024 * 1024;

/// Stored rows read per page.
const PAGE: usize = 10_000;

/// Where a break lies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// In the store, among the copied events.
    Store,
    /// In the journal, among the lines not yet copied into the store.
    Journal(LineAt),
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::Store => f.write_str("in the store"),
            Place::Journal(at) => write!(f, "in the journal ({at})"),
        }
    }
}

/// A break in a chain, and where it lies.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at}, {place}")]
pub struct Fault {
    /// How the chain breaks.
    pub at: Break,
    /// Where.
    pub place: Place,
}

impl Fault {
    /// The sequence number of the first event at fault.
    pub fn seq(&self) -> u64 {
        self.at.seq()
    }
}

/// What verifying found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    /// Each chain checked, with what verified (up to its break, for a broken one): its stored
    /// events, then its journal lines not yet stored.
    pub chains: Vec<(String, Verified)>,
    /// Of those, the journal lines verified, for each chain with a journal.
    pub journal: Vec<(String, u64)>,
    /// The first break found: its chain, how and where (verification stops there).
    pub broken: Option<(String, Fault)>,
}

impl Report {
    /// Events verified, over every chain.
    pub fn count(&self) -> u64 {
        self.chains.iter().map(|(_, v)| v.count).sum()
    }

    /// Journal lines verified, over every chain.
    pub fn journal_count(&self) -> u64 {
        self.journal.iter().map(|(_, n)| n).sum()
    }
}

/// Verifies every stored chain from its first event, or from its archive anchor (the last event
/// an archive took, `super::archive`): one per gateway process and the store's own, each on its
/// own (their events interleave in time but not in hashes). The journal's lines not yet stored
/// are not read: [`all`] continues with them.
pub async fn stored(store: &Store) -> Result<Report, Error> {
    let mut report = Report::default();
    let anchors = super::stored::anchors(store.backend()).await?;
    let mut chains: Vec<String> = super::stored::select(store.backend(), &AuditSelect::ChainStarts)
        .await?
        .into_iter()
        .map(|r| r.chain)
        .chain(anchors.iter().map(|(c, _, _)| c.clone()))
        .collect();
    chains.sort();
    chains.dedup();
    for chain in chains {
        let mut v = match anchors.iter().find(|(c, _, _)| *c == chain) {
            Some((_, seq, hash)) => Verifier::resume(Verified {
                count: 0,
                head_seq: *seq,
                head_hash: hash.clone(),
            }),
            None => Verifier::default(),
        };
        let broken = continue_chain(store, &chain, &mut v).await?;
        report.chains.push((chain.clone(), v.finish()));
        if let Some(at) = broken {
            let fault = Fault {
                at,
                place: Place::Store,
            };
            report.broken = Some((chain, fault));
            break;
        }
    }
    Ok(report)
}

/// Verifies the stored events of `chain` after the verifier's head, page by page, up to the
/// first break.
pub async fn continue_chain(
    store: &Store,
    chain: &str,
    v: &mut Verifier,
) -> Result<Option<Break>, Error> {
    let mut after = v.verified().head_seq;
    loop {
        let rows = super::stored::select(
            store.backend(),
            &AuditSelect::ChainPage {
                chain,
                after,
                limit: PAGE,
            },
        )
        .await?;
        let Some(last) = rows.last() else {
            return Ok(None);
        };
        after = last.seq;
        for r in &rows {
            let link = Link {
                seq: r.seq,
                recorded: r.recorded,
                hash: &r.hash,
                body: &r.body,
            };
            if let Err(at) = v.check(&link) {
                return Ok(Some(at));
            }
        }
    }
}

/// Verifies every stored chain and then the journal in `journal_dir` (when given), up to the
/// first break.
pub async fn all(store: &Store, journal_dir: Option<&Path>) -> Result<Report, Error> {
    let mut report = stored(store).await?;
    let Some(dir) = journal_dir else {
        return Ok(report);
    };
    if report.broken.is_some() {
        return Ok(report);
    }
    let owned = dir.to_owned();
    let chains = blocking(move || journal::chains(&owned)).await?;
    for chain in chains {
        let index = match report.chains.iter().position(|(c, _)| *c == chain) {
            Some(i) => i,
            None => {
                report
                    .chains
                    .push((chain.clone(), Verifier::default().finish()));
                report.chains.len() - 1
            }
        };
        let stored = report.chains[index].1.clone();
        let (verified, lines, fault) = journal_chain(store, dir, &chain, stored).await?;
        report.chains[index].1 = verified;
        report.journal.push((chain.clone(), lines));
        if let Some(fault) = fault {
            report.broken = Some((chain, fault));
            break;
        }
    }
    Ok(report)
}

/// Continues `chain`, verified up to `stored`, through its journal lines: what verified, how
/// many journal lines that took, and the first break.
async fn journal_chain(
    store: &Store,
    dir: &Path,
    chain: &str,
    stored: Verified,
) -> Result<(Verified, u64, Option<Fault>), Error> {
    let mut v = Verifier::resume(stored);
    let mut lines = 0;
    loop {
        let (dir, name) = (dir.to_owned(), chain.to_owned());
        let (back, scan) = blocking(move || {
            let mut v = v;
            let scan = scan(&dir, &name, &mut v);
            Ok((v, scan))
        })
        .await?;
        v = back;
        let scan = scan.map_err(io_error)?;
        lines += scan.lines;
        let (found, gone) = match scan.end {
            End::Complete => return Ok((v.finish(), lines, None)),
            End::Break(at, line) => {
                let place = Place::Journal(line);
                (Some(Fault { at, place }), None)
            }
            End::Vanished(path) => (None, Some(path)),
        };
        // A running gateway may have copied lines into the store (and removed their segment)
        // since the store was read: verify what the store holds past this head, then read the
        // journal again from there. Without progress there, the break stands.
        let before = v.verified().head_seq;
        if let Some(at) = continue_chain(store, chain, &mut v).await? {
            let fault = Fault {
                at,
                place: Place::Store,
            };
            return Ok((v.finish(), lines, Some(fault)));
        }
        if v.verified().head_seq > before {
            continue;
        }
        if let Some(fault) = found {
            return Ok((v.finish(), lines, Some(fault)));
        }
        if let Some(path) = gone
            && std::fs::symlink_metadata(&path).is_ok()
        {
            // Still listed, yet it cannot be opened (a link to nothing): not a race.
            return Err(Error::internal(format!(
                "reading the audit journal: {} cannot be opened",
                path.display()
            )));
        }
    }
}

/// How a read of one chain's journal ended.
enum End {
    /// Every complete line read.
    Complete,
    /// A line that does not continue the chain.
    Break(Break, LineAt),
    /// A listed segment was gone when opened.
    Vanished(PathBuf),
}

/// One read of a chain's journal: the lines verified, and how it ended.
struct Scan {
    lines: u64,
    end: End,
}

/// Reads the segments of `chain` in order, verifying each line after the verifier's head (lines
/// at or below it, before the first line past it, were copied into the store already).
fn scan(dir: &Path, chain: &str, v: &mut Verifier) -> std::io::Result<Scan> {
    let all = match journal::segments(dir, chain) {
        Ok(all) => all,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    let mut lines = 0;
    let mut past_head = false;
    let newest = all.len().saturating_sub(1);
    for (index, (first, path)) in all.iter().enumerate() {
        let file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Scan {
                    lines,
                    end: End::Vanished(path.clone()),
                });
            }
            Err(e) => return Err(e),
        };
        // As many bytes as it holds now (a line appended meanwhile is for the next time; a device
        // in its place reads as empty), up to the end of its written data (a preallocated
        // segment's zeros are not lines).
        let len = file.metadata()?.len();
        let data = journal::Written::new(file.take(len));
        let mut reader = std::io::BufReader::with_capacity(1 << 20, data);
        let mut text = Vec::new();
        let mut number = 0;
        let mut next = *first;
        loop {
            text.clear();
            let read = (&mut reader).take(MAX_LINE).read_until(b'\n', &mut text)?;
            if read == 0 {
                break;
            }
            number += 1;
            let at = |line| LineAt {
                segment: path.clone(),
                line,
            };
            let unreadable = |seq| Break::Unreadable { seq };
            let Some(body) = text.strip_suffix(b"\n") else {
                if index == newest && (read as u64) < MAX_LINE {
                    // Still being written (or never acknowledged): not an event yet.
                    break;
                }
                return Ok(Scan {
                    lines,
                    end: End::Break(unreadable(next), at(number)),
                });
            };
            let Some(line) = std::str::from_utf8(body).ok().and_then(Line::parse) else {
                return Ok(Scan {
                    lines,
                    end: End::Break(unreadable(next), at(number)),
                });
            };
            next = line.seq.saturating_add(1);
            if !past_head && line.seq <= v.verified().head_seq {
                continue;
            }
            past_head = true;
            let link = Link {
                seq: line.seq,
                recorded: line.recorded,
                hash: &line.hash,
                body: &line.body,
            };
            if let Err(b) = v.check(&link) {
                return Ok(Scan {
                    lines,
                    end: End::Break(b, at(number)),
                });
            }
            lines += 1;
        }
    }
    Ok(Scan {
        lines,
        end: End::Complete,
    })
}

/// Runs file work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::internal_from("reading the audit journal", e))?
        .map_err(io_error)
}

fn io_error(e: std::io::Error) -> Error {
    Error::internal_from("reading the audit journal", e)
}

#[cfg(test)]
mod tests;
