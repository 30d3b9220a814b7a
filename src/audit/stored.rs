//! The audit log as the store keeps it: events go in through [`insert`] (a journal's copy) and
//! [`append`] (a write's own event, or a tool's), and come back decoded through [`select`].
//!
//! What is stored is the compact form ([`super::compact`]): terms and callers numbered once in
//! the store, a 32-byte hash, a body of about 25 bytes. Numbering needs the store, so an event is
//! [`prepare`]d outside the transaction (parsed, encoded with its texts) and only numbered inside
//! it. The numbers already known are kept in a [`Dictionary`]; numbers met in a transaction join
//! it only once that transaction has committed ([`Dictionary::keep`]), so a rolled-back term can
//! never be named by a later event.
//!
//! Encodings, each unambiguous: a hash is its 32 bytes when it is 64 lower-case hex digits (as
//! every hash the gateway makes is), else its text behind a marker byte ([`hash_bytes`]); a body
//! is the compact form (first byte [`super::compact::FORMAT`]) or the text, behind a 0 byte when
//! it starts with either (`body_bytes`). A stored event that cannot be decoded (a term removed
//! by hand) reads back as [`UNREADABLE`], which no hash covers, so verification reports it.

use std::collections::HashMap;
use std::sync::Mutex;

use super::chain::{self, GENESIS};
use super::compact::{self, Draft, FORMAT};
use super::event::{Agent, Record};
use crate::store::audit::AuditSelect;
use crate::store::audit_sql::kind_code;
use crate::store::{
    AuditAgent, AuditDictionary, AuditInsert, AuditKeys, AuditRow, AuditStored, Backend,
    ChainedEvent, STORE_CHAIN, Store, StoreError, Tx,
};

/// The body of a stored event that cannot be decoded.
pub const UNREADABLE: &str = "(stored event cannot be decoded)";

/// Most numbers a [`Dictionary`] keeps before starting afresh (terms are about as many as the
/// resource versions audited; this bounds the memory, not correctness).
const MOST_KEPT: usize = 200_000;

/// Events of migration 4's text-form table moved per transaction by [`upgrade`].
const UPGRADE_BATCH: usize = 5_000;

/// The term and caller numbers a process has seen committed.
#[derive(Debug, Default)]
pub struct Dictionary {
    terms: Mutex<HashMap<String, i64>>,
    agents: Mutex<HashMap<AuditAgent, i64>>,
}

/// Numbers met in one transaction, not yet known to be committed.
#[derive(Debug, Default)]
pub struct Fresh {
    terms: HashMap<String, i64>,
    agents: HashMap<AuditAgent, i64>,
}

impl Dictionary {
    /// Keeps the numbers of a transaction that committed.
    pub fn keep(&self, fresh: Fresh) {
        fn merge<K: std::hash::Hash + Eq>(kept: &Mutex<HashMap<K, i64>>, new: HashMap<K, i64>) {
            if let Ok(mut kept) = kept.lock() {
                if kept.len() + new.len() > MOST_KEPT {
                    kept.clear();
                }
                kept.extend(new);
            }
        }
        merge(&self.terms, fresh.terms);
        merge(&self.agents, fresh.agents);
    }

    fn term(&self, tx: &mut dyn Tx, fresh: &mut Fresh, text: &str) -> Result<i64, StoreError> {
        let kept = self.terms.lock().ok().and_then(|t| t.get(text).copied());
        if let Some(id) = kept.or_else(|| fresh.terms.get(text).copied()) {
            return Ok(id);
        }
        let id = tx.audit_term(text)?;
        fresh.terms.insert(text.to_owned(), id);
        Ok(id)
    }

    fn agent(
        &self,
        tx: &mut dyn Tx,
        fresh: &mut Fresh,
        agent: &AuditAgent,
    ) -> Result<i64, StoreError> {
        let kept = self.agents.lock().ok().and_then(|a| a.get(agent).copied());
        if let Some(id) = kept.or_else(|| fresh.agents.get(agent).copied()) {
            return Ok(id);
        }
        let id = tx.audit_agent(agent)?;
        fresh.agents.insert(agent.clone(), id);
        Ok(id)
    }
}

/// An event ready to be numbered and stored.
#[derive(Debug, Clone)]
pub struct Prepared {
    chain: String,
    seq: u64,
    recorded: i64,
    hash: Vec<u8>,
    body: Body,
    kind: i64,
    agent: Option<AuditAgent>,
    refs: Vec<String>,
}

impl Prepared {
    /// Its sequence number in its chain.
    pub fn seq(&self) -> u64 {
        self.seq
    }
}

#[derive(Debug, Clone)]
enum Body {
    Compact(Draft),
    Text(Vec<u8>),
}

/// Parses and encodes `e` (no store needed: done before the transaction).
pub fn prepare(e: &ChainedEvent) -> Prepared {
    prepare_parsed(e, Record::from_text(&e.body).as_ref())
}

/// [`prepare`] of an event whose body was already parsed (`record`, `None` when it is not one).
pub fn prepare_parsed(e: &ChainedEvent, record: Option<&Record>) -> Prepared {
    let k = &e.keys;
    let agent = (!k.agent.is_empty() || !k.role.is_empty()).then(|| AuditAgent {
        sub: k.agent.clone(),
        user: k.user.clone(),
        role: k.role.clone(),
        org: k.org.clone(),
        purpose: k.purpose.clone(),
    });
    let record_agent = agent.as_ref().map(agent_of);
    let draft = record
        .filter(|r| r.recorded == e.recorded)
        .and_then(|r| Draft::of(r, &e.body, record_agent.as_ref()));
    let mut refs: Vec<String> = k.patients.iter().chain(&k.entities).cloned().collect();
    refs.sort();
    refs.dedup();
    Prepared {
        chain: e.chain.clone(),
        seq: e.seq,
        recorded: e.recorded,
        hash: hash_bytes(&e.hash),
        body: draft.map_or_else(|| Body::Text(body_bytes(&e.body)), Body::Compact),
        kind: kind_code(&k.subtype, &k.outcome),
        agent,
        refs,
    }
}

/// Stores `p` in `tx`, numbering its texts through `dictionary` (new numbers go to `fresh`);
/// `false` when its chain already holds its sequence number.
pub fn insert(
    tx: &mut dyn Tx,
    p: &Prepared,
    dictionary: &Dictionary,
    fresh: &mut Fresh,
) -> Result<bool, StoreError> {
    let chain = dictionary.term(tx, fresh, &p.chain)?;
    let agent = match &p.agent {
        Some(a) => dictionary.agent(tx, fresh, a)?,
        None => 0,
    };
    let body = match &p.body {
        Body::Compact(draft) => draft.write(|t| {
            dictionary
                .term(tx, fresh, t)
                .map(|id| u64::try_from(id).unwrap_or(0))
        })?,
        Body::Text(bytes) => bytes.clone(),
    };
    let refs = p
        .refs
        .iter()
        .map(|r| dictionary.term(tx, fresh, r))
        .collect::<Result<Vec<_>, _>>()?;
    tx.audit_insert(&AuditInsert {
        chain,
        seq: p.seq,
        recorded: p.recorded,
        hash: p.hash.clone(),
        body,
        kind: p.kind,
        agent,
        refs,
    })
}

/// Stores one event chained elsewhere, numbering in `tx` alone (tools and tests; the journal's
/// copy keeps a [`Dictionary`]).
pub fn insert_one(tx: &mut dyn Tx, e: &ChainedEvent) -> Result<bool, StoreError> {
    insert(
        tx,
        &prepare(e),
        &Dictionary::default(),
        &mut Fresh::default(),
    )
}

/// Appends `body` (recorded at `recorded`) to `chain` in `tx`, chained to its last stored event
/// (or its archive anchor): the event of a write commits with the write or not at all. Appends
/// to one chain are serialised across every process sharing the database (a transaction-scoped
/// lock). Returns its sequence number.
pub fn append(
    tx: &mut dyn Tx,
    chain: &str,
    recorded: i64,
    body: &str,
    keys: &AuditKeys,
) -> Result<u64, StoreError> {
    tx.lock(&format!("carebridge:audit:{chain}"))?;
    let term = tx.audit_term(chain)?;
    let (prev_seq, prev_hash) = match tx.audit_head(term)? {
        Some((seq, hash)) => (seq, hash_text(&hash)),
        None => (0, GENESIS.to_owned()),
    };
    let seq = prev_seq + 1;
    let event = ChainedEvent {
        chain: chain.to_owned(),
        seq,
        recorded,
        hash: chain::hash(&prev_hash, seq, recorded, body),
        body: body.to_owned(),
        keys: keys.clone(),
    };
    insert_one(tx, &event)?;
    Ok(seq)
}

/// Appends `body` (recorded at `recorded`, epoch milliseconds) to the store's chain in a
/// transaction of its own, without search keys (tools and tests); returns its sequence number.
pub async fn append_by_tool(store: &Store, recorded: i64, body: String) -> Result<u64, StoreError> {
    store
        .transaction(move |tx| append(tx, STORE_CHAIN, recorded, &body, &AuditKeys::default()))
        .await
}

/// The events `what` selects, decoded.
pub async fn select(
    backend: &dyn Backend,
    what: &AuditSelect<'_>,
) -> Result<Vec<AuditRow>, StoreError> {
    let rows = backend.audit().select(what).await?;
    let mut terms: Vec<i64> = rows.iter().map(|r| r.chain).collect();
    for r in &rows {
        if r.body.first() == Some(&(FORMAT as u8)) {
            terms.extend(
                compact::terms(&r.body)
                    .into_iter()
                    .filter_map(|t| i64::try_from(t).ok()),
            );
        }
    }
    terms.sort_unstable();
    terms.dedup();
    let mut agents: Vec<i64> = rows.iter().map(|r| r.agent).filter(|a| *a != 0).collect();
    agents.sort_unstable();
    agents.dedup();
    let dictionary = backend.audit().dictionary(&terms, &agents).await?;
    Ok(rows.iter().map(|r| decode(r, &dictionary)).collect())
}

/// Where each archived chain continues: its name, and the sequence number and hash of the last
/// event the archive holds (`super::archive`).
pub async fn anchors(backend: &dyn Backend) -> Result<Vec<(String, u64, String)>, StoreError> {
    let rows = backend.audit().select(&AuditSelect::Anchors).await?;
    let chains: Vec<i64> = rows.iter().map(|r| r.chain).collect();
    let d = backend.audit().dictionary(&chains, &[]).await?;
    Ok(rows
        .iter()
        .map(|r| {
            let chain = d.terms.get(&r.chain).cloned();
            let chain = chain.unwrap_or_else(|| format!("(chain {})", r.chain));
            (chain, r.seq, hash_text(&r.hash))
        })
        .collect())
}

/// The last event of `chain` the store knows: its newest stored event, or, when every event was
/// archived, the archive's last (`seq, hash`); `None` for a chain never stored.
pub async fn head(backend: &dyn Backend, chain: &str) -> Result<Option<(u64, String)>, StoreError> {
    if let Some(r) = select(backend, &AuditSelect::ChainHead(chain)).await?.pop() {
        return Ok(Some((r.seq, r.hash)));
    }
    Ok(anchors(backend)
        .await?
        .into_iter()
        .find(|(c, _, _)| c == chain)
        .map(|(_, seq, hash)| (seq, hash)))
}

/// A stored row as text.
fn decode(r: &AuditStored, d: &AuditDictionary) -> AuditRow {
    let chain = d
        .terms
        .get(&r.chain)
        .cloned()
        .unwrap_or_else(|| format!("(chain {})", r.chain));
    let body = match r.body.split_first() {
        Some((&b, _)) if u64::from(b) == FORMAT => {
            let agent = match r.agent {
                0 => Some(None),
                a => d.agents.get(&a).map(|a| Some(agent_of(a))),
            };
            agent
                .and_then(|agent| {
                    compact::read(&r.body, r.recorded, agent, |t| {
                        d.terms.get(&i64::try_from(t).ok()?).map(String::as_str)
                    })
                })
                .map_or_else(|| UNREADABLE.to_owned(), |rec| rec.to_text())
        }
        Some((0, text)) => String::from_utf8_lossy(text).into_owned(),
        _ => String::from_utf8_lossy(&r.body).into_owned(),
    };
    AuditRow {
        id: r.id,
        chain,
        seq: r.seq,
        recorded: r.recorded,
        hash: hash_text(&r.hash),
        body,
    }
}

/// Moves the events of migration 4's text-form table into the compact form, in storage order,
/// a batch per transaction (each batch leaves the old table as it takes from it, so a stop
/// resumes where it was). Run when the store opens; returns how many moved.
pub async fn upgrade(store: &Store) -> Result<u64, StoreError> {
    let mut moved = 0;
    loop {
        let n = store
            .transaction(|tx| {
                tx.lock("carebridge:audit:upgrade")?;
                let rows = tx.audit_take_text(UPGRADE_BATCH)?;
                let dictionary = Dictionary::default();
                let mut fresh = Fresh::default();
                for r in &rows {
                    let keys = Record::from_text(&r.body)
                        .map(|rec| rec.keys())
                        .unwrap_or_default();
                    let event = ChainedEvent {
                        chain: r.chain.clone(),
                        seq: r.seq,
                        recorded: r.recorded,
                        hash: r.hash.clone(),
                        body: r.body.clone(),
                        keys,
                    };
                    insert(tx, &prepare(&event), &dictionary, &mut fresh)?;
                }
                Ok::<_, StoreError>(rows.len() as u64)
            })
            .await?;
        if n == 0 {
            break;
        }
        moved += n;
        tracing::info!(moved, "audit log: events moved to the compact form");
    }
    Ok(moved)
}

/// The event's caller as a record names it.
fn agent_of(a: &AuditAgent) -> Agent {
    let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    Agent {
        sub: a.sub.clone(),
        user: some(&a.user),
        role: a.role.clone(),
        org: some(&a.org),
        purpose: a.purpose.clone(),
    }
}

/// The stored form of a hash: 32 bytes for 64 lower-case hex digits; any other text behind a
/// marker, 0 (or 1, with a trailing 1, when that would make it 32 bytes long).
pub fn hash_bytes(hash: &str) -> Vec<u8> {
    if let Some(digest) = chain::digest(hash) {
        return digest.to_vec();
    }
    let mut out = Vec::with_capacity(hash.len() + 2);
    if hash.len() + 1 == 32 {
        out.push(1);
        out.extend_from_slice(hash.as_bytes());
        out.push(1);
    } else {
        out.push(0);
        out.extend_from_slice(hash.as_bytes());
    }
    out
}

/// The text of a stored hash ([`hash_bytes`] read back).
pub fn hash_text(stored: &[u8]) -> String {
    match stored.split_first() {
        _ if stored.len() == 32 => chain::hex(stored),
        Some((1, rest)) => {
            String::from_utf8_lossy(rest.split_last().map_or(rest, |(_, r)| r)).into_owned()
        }
        Some((_, rest)) => String::from_utf8_lossy(rest).into_owned(),
        None => String::new(),
    }
}

/// The stored form of a body that is not compact: its text, behind a 0 byte when it starts with
/// 0 or the compact form's first byte.
fn body_bytes(text: &str) -> Vec<u8> {
    let starts = text.as_bytes().first().copied();
    if starts == Some(0) || starts.map(u64::from) == Some(FORMAT) {
        let mut out = Vec::with_capacity(text.len() + 1);
        out.push(0);
        out.extend_from_slice(text.as_bytes());
        return out;
    }
    text.as_bytes().to_vec()
}

#[cfg(test)]
mod tests;
