//! Verifying the whole trail: every stored chain ([`super::log::verify`]), then, for each chain
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
use super::log::{Fault, Place, Report, continue_chain};
use crate::error::Error;
use crate::store::Store;

/// A journal line longer than this is not an event (records are a few kilobytes).
const MAX_LINE: u64 = 16 * 1024 * 1024;

/// Verifies every stored chain and then the journal in `journal_dir` (when given), up to the
/// first break.
pub async fn all(store: &Store, journal_dir: Option<&Path>) -> Result<Report, Error> {
    let mut report = super::log::verify(store).await?;
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
