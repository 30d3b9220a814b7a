//! The audit log's storage, typed: the rows an event is stored as ([`AuditInsert`], written in a
//! [`super::Tx`]), the rows read back ([`AuditStored`], decoded by `crate::audit::stored`), and the
//! reads themselves ([`AuditStore`], which each backend implements beside [`super::Backend`]).
//! Which rows to read is a value ([`AuditSelect`], or a search [`Filter`]); the SQL it becomes is
//! the store's own business ([`super::audit_sql`]), so the audit layer never writes SQL.

use async_trait::async_trait;

use super::StoreError;
use super::audit_sql;
pub use super::audit_sql::{Filter, Key};
use super::search_sql::Sql;

/// Which audit events to read, in the order each names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditSelect<'a> {
    /// An auditor's search: its page of matches, in its order.
    Search(&'a Filter),
    /// Events of `chain` after sequence number `after`, in sequence order, at most `limit`.
    ChainPage {
        /// The chain.
        chain: &'a str,
        /// The last sequence number already read (0: from the start).
        after: u64,
        /// Most events.
        limit: usize,
    },
    /// The last event of a chain.
    ChainHead(&'a str),
    /// The first stored event of every chain (verifying must see a chain whose first events
    /// were archived away).
    ChainStarts,
    /// Every chain's archive anchor, as a row: sequence number and hash of the event an archive
    /// ended with, its time the archiving time; no body.
    Anchors,
    /// Events stored after `after` (storage order) recorded in `[from, to)`, at most `limit`.
    ExportPage {
        /// The last storage id already read (0: from the start).
        after: i64,
        /// Recorded at or after (epoch ms).
        from: Option<i64>,
        /// Recorded before (epoch ms).
        to: Option<i64>,
        /// Most events.
        limit: usize,
    },
}

impl AuditSelect<'_> {
    /// The SQL of this selection (every select returns `id, chain, seq, recorded, hash, body,
    /// agent`).
    pub(super) fn sql(&self) -> Sql {
        match *self {
            AuditSelect::Search(f) => audit_sql::search(f),
            AuditSelect::ChainPage {
                chain,
                after,
                limit,
            } => audit_sql::chain_page(chain, after, limit),
            AuditSelect::ChainHead(chain) => audit_sql::chain_head(chain),
            AuditSelect::ChainStarts => audit_sql::chains(),
            AuditSelect::Anchors => audit_sql::anchors(),
            AuditSelect::ExportPage {
                after,
                from,
                to,
                limit,
            } => audit_sql::export_page(after, from, to, limit),
        }
    }
}

/// The audit log's reads, which each backend implements beside [`super::Backend`].
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// The events `what` selects, as stored.
    async fn select(&self, what: &AuditSelect<'_>) -> Result<Vec<AuditStored>, StoreError>;
    /// How many events `filter` matches, whatever its page (`after` and `limit` ignored).
    async fn count(&self, filter: &Filter) -> Result<u64, StoreError>;
    /// The texts of audit terms `terms` and callers `agents` (unknown numbers are left out).
    async fn dictionary(
        &self,
        terms: &[i64],
        agents: &[i64],
    ) -> Result<AuditDictionary, StoreError>;
}

/// The chain of audit events appended by tools (`crate::audit::stored::append`).
pub const STORE_CHAIN: &str = "store";

/// What auditors search an event by (`audit_event` columns and `audit_ref` rows); empty text where
/// the event has no such key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditKeys {
    /// REST interaction code.
    pub subtype: String,
    /// `C`, `R`, `U`, `D`, `E`.
    pub action: String,
    /// `0`, `4`, `8`.
    pub outcome: String,
    /// The token subject.
    pub agent: String,
    /// The caller's `fhirUser` reference.
    pub user: String,
    /// The caller's ODS organisation code.
    pub org: String,
    /// The caller's sharing role code.
    pub role: String,
    /// The purpose of use code.
    pub purpose: String,
    /// Patients whose records were touched (ids).
    pub patients: Vec<String>,
    /// Resources disclosed or written, `Type/id`.
    pub entities: Vec<String>,
}

/// An event with its place in a chain, as a journal or a write recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainedEvent {
    /// The chain.
    pub chain: String,
    /// Sequence number in the chain, from 1.
    pub seq: u64,
    /// Recording time, epoch milliseconds.
    pub recorded: i64,
    /// The chain hash.
    pub hash: String,
    /// The event text.
    pub body: String,
    /// Search keys.
    pub keys: AuditKeys,
}

/// One stored audit-log row, decoded (`crate::audit::stored::select`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    /// Storage order (ascending in the order events were stored).
    pub id: i64,
    /// The chain.
    pub chain: String,
    /// Sequence number in the chain, from 1.
    pub seq: u64,
    /// Recording time, epoch milliseconds.
    pub recorded: i64,
    /// The chain hash.
    pub hash: String,
    /// The event text.
    pub body: String,
}

/// An audit caller as `audit_agent` keeps it (empty text where the token had no such claim).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct AuditAgent {
    /// Token subject.
    pub sub: String,
    /// `fhirUser`.
    pub user: String,
    /// Sharing role code.
    pub role: String,
    /// ODS organisation code.
    pub org: String,
    /// Purpose of use code.
    pub purpose: String,
}

/// An audit event in its stored form (`audit_sql`): terms and agents already numbered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditInsert {
    /// The chain's term.
    pub chain: i64,
    /// Sequence number in the chain.
    pub seq: u64,
    /// Recording time, epoch milliseconds.
    pub recorded: i64,
    /// The chain hash (32 bytes, or the text of a hash that is not one).
    pub hash: Vec<u8>,
    /// The compact body, or the text behind a 0 byte.
    pub body: Vec<u8>,
    /// [`audit_sql::kind_code`].
    pub kind: i64,
    /// The caller's `audit_agent` number, 0 for none.
    pub agent: i64,
    /// The terms of its patients and resources (`audit_ref`).
    pub refs: Vec<i64>,
}

/// An audit event as a select of [`audit_sql`] reads it, before decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditStored {
    /// Storage order.
    pub id: i64,
    /// The chain's term.
    pub chain: i64,
    /// Sequence number in the chain.
    pub seq: u64,
    /// Recording time, epoch milliseconds.
    pub recorded: i64,
    /// The stored hash.
    pub hash: Vec<u8>,
    /// The stored body.
    pub body: Vec<u8>,
    /// The caller's `audit_agent` number, 0 for none.
    pub agent: i64,
}

/// The texts of audit terms and callers, by number.
#[derive(Debug, Clone, Default)]
pub struct AuditDictionary {
    /// Terms.
    pub terms: std::collections::HashMap<i64, String>,
    /// Callers.
    pub agents: std::collections::HashMap<i64, AuditAgent>,
}
