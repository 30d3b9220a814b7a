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

/// One subscription's notification event: a change it was told of (or will be), numbered from 1
/// in the order the gateway matched it (the backport's `eventNumber`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The Subscription's id.
    pub subscription: String,
    /// Its number among the subscription's events.
    pub number: u64,
    /// The topic's code.
    pub topic: String,
    /// The focus: the changed resource's type, id and version.
    pub rtype: ResourceType,
    /// Its id.
    pub id: String,
    /// The version the change made.
    pub version: u64,
    /// When the change was written, ms since the epoch.
    pub recorded: i64,
}

/// The outbox of a backend, as its handlers see it.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// The oldest `limit` changes waiting, in row order.
    async fn pending(&self, limit: usize) -> Result<Vec<Change>, StoreError>;
    /// Subscription `subscription`'s events numbered after `after`, at most `limit`, in order.
    async fn events(
        &self,
        subscription: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Event>, StoreError>;
    /// How many events subscription `subscription` has had (its highest event number).
    async fn event_count(&self, subscription: &str) -> Result<u64, StoreError>;
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

/// The events and each subscription's count of them (migration 9 of `super::schema`).
pub const EVENTS_MIGRATION: &str = r#"
CREATE TABLE notify_events (
    subscription TEXT NOT NULL,
    number BIGINT NOT NULL,
    topic TEXT NOT NULL,
    rtype TEXT NOT NULL,
    id TEXT NOT NULL,
    version BIGINT NOT NULL,
    recorded BIGINT NOT NULL,
    PRIMARY KEY (subscription, number)
);
CREATE TABLE notify_state (
    subscription TEXT PRIMARY KEY,
    events BIGINT NOT NULL
);
"#;

/// Removes one outbox row (`1` placeholder: its `row_id`); a count of 0 means another process
/// handled it first.
pub fn delete_row(placeholder: fn(usize) -> String) -> String {
    format!(
        "DELETE FROM notify_outbox WHERE row_id = {}",
        placeholder(1)
    )
}

/// Counts one more event for a subscription (`1`: its id) and returns the new count.
pub fn next_number(placeholder: fn(usize) -> String) -> String {
    format!(
        "INSERT INTO notify_state (subscription, events) VALUES ({}, 1) \
         ON CONFLICT (subscription) DO UPDATE SET events = notify_state.events + 1 RETURNING events",
        placeholder(1)
    )
}

/// Inserts an event: subscription, number, topic, type, id, version, recorded.
pub fn insert_event(placeholder: fn(usize) -> String) -> String {
    let p: Vec<String> = (1..=7).map(placeholder).collect();
    format!(
        "INSERT INTO notify_events (subscription, number, topic, rtype, id, version, recorded) \
         VALUES ({})",
        p.join(", ")
    )
}

/// A subscription's events after a number (placeholders 1: id, 2: after, 3: limit).
pub fn select_events(placeholder: fn(usize) -> String) -> String {
    format!(
        "SELECT subscription, number, topic, rtype, id, version, recorded FROM notify_events \
         WHERE subscription = {} AND number > {} ORDER BY number LIMIT {}",
        placeholder(1),
        placeholder(2),
        placeholder(3)
    )
}

/// A subscription's count of events (placeholder 1: its id).
pub fn select_count(placeholder: fn(usize) -> String) -> String {
    format!(
        "SELECT events FROM notify_state WHERE subscription = {}",
        placeholder(1)
    )
}

/// An event from its columns; `None` for a type this gateway no longer serves.
#[allow(clippy::too_many_arguments)]
pub fn event(
    subscription: String,
    number: i64,
    topic: String,
    rtype: &str,
    id: String,
    version: i64,
    recorded: i64,
) -> Option<Event> {
    Some(Event {
        subscription,
        number: u64::try_from(number).ok()?,
        topic,
        rtype: rtype.parse().ok()?,
        id,
        version: u64::try_from(version).ok()?,
        recorded,
    })
}

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
