//! A gateway's audit journal as a test prepares it: events recorded as a gateway records them
//! (through `audit::journal`), some of them copied into the store as the gateway copies them
//! (through `audit::ingest`), and one line tampered with before its copy. Shared by the api, cli
//! and store suites (`#[path]`), each of which uses part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use carebridge::audit::ingest::Ingester;
use carebridge::audit::journal::{Head, Journal, segments};
use carebridge::store::Store;

/// The recording time of event `seq`.
pub fn recorded(seq: u64) -> i64 {
    1_790_000_000_000 + i64::try_from(seq).unwrap_or(0)
}

/// The text of event `seq` (not a record of a real request: what it says does not matter here).
pub fn body(seq: u64) -> String {
    format!("{{\"event\":{seq},\"status\":200}}")
}

/// The head of `chain` in `store`.
pub async fn stored_head(store: &Store, chain: &str) -> Head {
    carebridge::audit::stored::head(store.backend(), chain)
        .await
        .expect("the head")
        .map(|(seq, hash)| Head { seq, hash })
        .unwrap_or_default()
}

/// Records `n` more events of `chain` in the journal in `dir`, continuing the chain (from the
/// store's head when the journal has none), and closes the journal, as a stopped gateway leaves
/// it.
pub async fn record(store: &Store, dir: &Path, chain: &str, n: u64) {
    record_from(dir, chain, stored_head(store, chain).await, n).await;
}

/// [`record`] over a store whose head of `chain` is `head`.
pub async fn record_from(dir: &Path, chain: &str, head: Head, n: u64) {
    let journal = Journal::open(dir, chain, head).expect("the journal opens");
    for _ in 0..n {
        let next = journal.durable() + 1;
        journal
            .append(recorded(next), &body(next))
            .await
            .expect("recorded");
    }
    journal.close();
}

/// Copies the journal of `chain` in `dir` into `store` as a gateway does; the copy's result.
pub async fn copy(
    store: &Store,
    dir: &Path,
    chain: &str,
) -> Result<usize, carebridge::audit::ingest::IngestError> {
    let head = stored_head(store, chain).await;
    let journal = Journal::open(dir, chain, head.clone()).expect("the journal opens");
    let ingester = Ingester::new(journal.clone(), store.clone(), head);
    let copied = ingester.catch_up().await;
    journal.close();
    copied
}

/// The sequence numbers of `chain` in `store`.
pub async fn stored_seqs(store: &Store, chain: &str) -> Vec<u64> {
    carebridge::audit::stored::select(
        store.backend(),
        &carebridge::store::audit::AuditSelect::ChainPage {
            chain,
            after: 0,
            limit: 10_000,
        },
    )
    .await
    .expect("the chain")
    .iter()
    .map(|r| r.seq)
    .collect()
}

/// The only segment of `chain` in `dir`.
pub fn segment(dir: &Path, chain: &str) -> PathBuf {
    let mut all = segments(dir, chain).expect("segments");
    assert_eq!(all.len(), 1, "one segment");
    all.remove(0).1
}

/// Where the written lines of a segment's `text` end: its first NUL (segments are made of zeros),
/// else its end.
pub fn written_end(text: &[u8]) -> usize {
    carebridge::audit::journal::written(text).len()
}

/// Ways of changing a journal line before its copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    /// The record's text edited (its hash left as it was).
    Body,
    /// The hash replaced.
    Hash,
    /// The line removed.
    Delete,
    /// The line swapped with the next.
    Swap,
}

impl Tamper {
    /// Every way.
    pub const ALL: [Tamper; 4] = [Tamper::Body, Tamper::Hash, Tamper::Delete, Tamper::Swap];

    /// Applies this to line `number` (from 1) of the only segment of `chain` in `dir` (its
    /// written lines; the zeros after them stay as they are).
    pub fn apply(self, dir: &Path, chain: &str, number: usize) {
        let path = segment(dir, chain);
        let file = std::fs::read(&path).expect("the segment");
        let end = written_end(&file);
        let text = std::str::from_utf8(&file[..end]).expect("text");
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        let i = number - 1;
        match self {
            Tamper::Body => {
                lines[i] = lines[i].replace("\"status\":200", "\"status\":404");
            }
            Tamper::Hash => {
                let mut fields: Vec<String> = lines[i].splitn(4, '\t').map(str::to_owned).collect();
                fields[2] = fields[2]
                    .chars()
                    .map(|c| if c == '0' { '1' } else { '0' })
                    .collect();
                lines[i] = fields.join("\t");
            }
            Tamper::Delete => {
                lines.remove(i);
            }
            Tamper::Swap => lines.swap(i, i + 1),
        }
        let mut out = lines.join("\n").into_bytes();
        out.push(b'\n');
        out.extend_from_slice(&file[end..]);
        std::fs::write(&path, out).expect("tampered");
    }

    /// What the verification says of the event on that line.
    pub fn reason(self) -> &'static str {
        match self {
            Tamper::Body | Tamper::Hash => "altered",
            Tamper::Delete | Tamper::Swap => "missing",
        }
    }
}
