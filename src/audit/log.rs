//! The stored audit log: appending an event (chained, in the caller's store transaction or one of
//! its own), verifying the stored chains page by page, and exporting a period. Its commands are
//! [`crate::commands::audit`].

use super::chain::{Break, Link, Verified, Verifier};
use super::event::{Record, Source, build};
use super::journal::LineAt;
use crate::error::Error;
use crate::store::{AuditKeys, AuditRow, STORE_CHAIN, Store, StoreError, audit_sql};

/// Rows read per page while verifying.
const PAGE: usize = 10_000;

/// Appends `body` (recorded at `recorded`, epoch milliseconds) to the store's chain in a
/// transaction of its own, without search keys (tools and tests); returns its sequence number.
pub async fn append(store: &Store, recorded: i64, body: String) -> Result<u64, StoreError> {
    store
        .transaction(move |tx| {
            super::stored::append(tx, STORE_CHAIN, recorded, &body, &AuditKeys::default())
        })
        .await
}

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
/// are not read: [`super::verify::all`] continues with them.
pub async fn verify(store: &Store) -> Result<Report, Error> {
    let mut report = Report::default();
    let anchors = super::stored::anchors(store.backend()).await?;
    let mut chains: Vec<String> = super::stored::select(store.backend(), &audit_sql::chains())
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
        let rows =
            super::stored::select(store.backend(), &audit_sql::chain_page(chain, after, PAGE))
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

/// A period of recording times: epoch milliseconds, half open, either end open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Period {
    /// From (inclusive).
    pub from: Option<i64>,
    /// To (exclusive).
    pub to: Option<i64>,
}

impl Period {
    /// From FHIR dates or dateTimes: `start` from the beginning of what it names, `end` to the end
    /// of what it names (`end=2026-11-30` includes that whole day).
    pub fn parse(start: Option<&str>, end: Option<&str>) -> Result<Period, String> {
        let bound = |name: &str, v: Option<&str>| {
            v.map(|s| {
                crate::search::date::parse_range(s)
                    .ok_or_else(|| format!("'{name}' is not a FHIR date or dateTime"))
            })
            .transpose()
        };
        let period = Period {
            from: bound("start", start)?.map(|r| r.lo),
            to: bound("end", end)?.map(|r| r.hi),
        };
        if let (Some(f), Some(t)) = (period.from, period.to)
            && f >= t
        {
            return Err("'start' must come before 'end'".into());
        }
        Ok(period)
    }
}

/// One page of an NDJSON export: the events stored after `after` (storage order) recorded in
/// `period`, one AuditEvent per line with its storage id as `id`, and the last id read; `None`
/// once the log is exhausted.
pub async fn export_page(
    store: &Store,
    render: &Source<'_>,
    period: Period,
    after: i64,
) -> Result<Option<(String, i64)>, Error> {
    let rows = super::stored::select(
        store.backend(),
        &audit_sql::export_page(after, period.from, period.to, PAGE),
    )
    .await?;
    let Some(last) = rows.last().map(|r| r.id) else {
        return Ok(None);
    };
    let mut text = String::new();
    for r in &rows {
        text.push_str(&render_row(r, render).to_string());
        text.push('\n');
    }
    Ok(Some((text, last)))
}

/// The AuditEvent of a stored row (a row whose text is not a record, written by an older version
/// or a tool, is given as stored, with its id).
pub fn render_row(r: &AuditRow, render: &Source<'_>) -> serde_json::Value {
    let id = r.id.to_string();
    let source = Source {
        chain: &r.chain,
        ..render.clone()
    };
    match Record::from_text(&r.body) {
        Some(record) => build(&record, &source, Some(&id)),
        None => {
            let mut v: serde_json::Value =
                serde_json::from_str(&r.body).unwrap_or(serde_json::Value::Null);
            if let Some(obj) = v.as_object_mut() {
                obj.insert("id".into(), serde_json::Value::String(id));
            }
            v
        }
    }
}
