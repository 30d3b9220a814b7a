//! The notification outbox (`crate::notify`): one row per committed change of a watched type,
//! written in the change's own transaction ([`super::Tx::enqueue_change`]), so a committed change
//! always has its row and a rolled-back one never does. The row names the version; what it
//! triggers is worked out when the row is handled, from that version and the one before it.

use async_trait::async_trait;

use super::StoreError;
use crate::fhir::ResourceType;

/// One change waiting to be matched to subscriptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The outbox row (ascending in insertion order within a process; rows of concurrent
    /// transactions may commit out of that order).
    pub row: i64,
    /// The resource's type.
    pub rtype: ResourceType,
    /// Its id.
    pub id: String,
    /// The version the change made (a deletion's version is the deleted one).
    pub version: u64,
    /// When it was written, ms since the epoch.
    pub recorded: i64,
}

/// The outbox of a backend, as its handlers see it.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// The oldest `limit` changes waiting, in row order.
    async fn pending(&self, limit: usize) -> Result<Vec<Change>, StoreError>;
}

/// The table (migration 8 of `super::schema`).
pub const MIGRATION: &str = r#"
CREATE TABLE notify_outbox (
    row_id {rowid},
    rtype TEXT NOT NULL,
    id TEXT NOT NULL,
    version BIGINT NOT NULL,
    recorded BIGINT NOT NULL
);
"#;

/// The insert, with the backend's placeholders (`?n` or `$n`): type, id, version, recorded.
pub fn insert(placeholder: fn(usize) -> String) -> String {
    format!(
        "INSERT INTO notify_outbox (rtype, id, version, recorded) VALUES ({}, {}, {}, {})",
        placeholder(1),
        placeholder(2),
        placeholder(3),
        placeholder(4)
    )
}

/// The oldest rows, with the backend's placeholder for the limit.
pub fn select_pending(limit: &str) -> String {
    format!(
        "SELECT row_id, rtype, id, version, recorded FROM notify_outbox ORDER BY row_id LIMIT {limit}"
    )
}

/// A change from its columns; `None` for a type this gateway no longer serves.
pub fn change(row: i64, rtype: &str, id: String, version: i64, recorded: i64) -> Option<Change> {
    Some(Change {
        row,
        rtype: rtype.parse().ok()?,
        id,
        version: u64::try_from(version).ok()?,
        recorded,
    })
}
