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

/// Where a subscription's delivery stands.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Delivery {
    /// Events matched so far (the highest event number).
    pub events: u64,
    /// The highest event number sent, or passed over because consent no longer lets the
    /// subscriber see it.
    pub delivered: u64,
    /// Failed attempts at the next event since the last success.
    pub attempts: u64,
    /// Not before this instant (ms) is the next attempt made.
    pub next_attempt: i64,
    /// Whether delivery gave up (the subscription is in error).
    pub failed: bool,
    /// When the subscription is next due a request with no event in it: its handshake (at once,
    /// for a `requested` one) or a heartbeat; `i64::MAX` when never.
    pub next_contact: i64,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// The subscriber's role when it wrote the Subscription.
    pub role: Option<String>,
    /// The signing secret the subscriber gave.
    pub secret: Option<String>,
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
    /// Where `subscription`'s delivery stands (`None`: nothing recorded yet).
    async fn delivery(&self, subscription: &str) -> Result<Option<Delivery>, StoreError>;
    /// Takes, in one statement, up to `limit` subscriptions that are due at `now` and that no
    /// process holds, until `until`, as `holder`; each id with its state when taken. Two processes
    /// asking at once never take the same one.
    async fn claim_due(
        &self,
        now: i64,
        until: i64,
        holder: &str,
        limit: usize,
    ) -> Result<Vec<(String, Delivery)>, StoreError>;
    /// Lets go of every subscription `holder` holds: a process starting again under its chain
    /// name takes back at once what its previous life held when it died, rather than waiting out
    /// the leases. How many it held.
    async fn release(&self, holder: &str) -> Result<u64, StoreError>;
    /// Records the outcome of an attempt and lets the subscription go.
    async fn settle(&self, subscription: &str, outcome: &Settled) -> Result<(), StoreError>;
}

/// The outcome of a delivery attempt, as [`OutboxStore::settle`] records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settled {
    /// The highest event number now sent (or passed over).
    pub delivered: u64,
    /// Failed attempts in a row.
    pub attempts: u64,
    /// Not before this instant is the next attempt made.
    pub next_attempt: i64,
    /// Whether delivery gave up.
    pub failed: bool,
    /// When the next handshake or heartbeat is due (`i64::MAX`: never).
    pub next_contact: i64,
    /// Why the attempt failed.
    pub error: Option<String>,
}

/// The state's columns, in [`Delivery`]'s order, for the selects below.
const STATE_COLUMNS: &str =
    "events, delivered, attempts, next_attempt, failed, next_contact, last_error, role, secret";

/// A subscription's state (placeholder 1: its id).
pub fn select_state(placeholder: fn(usize) -> String) -> String {
    format!(
        "SELECT {STATE_COLUMNS} FROM notify_state WHERE subscription = {}",
        placeholder(1)
    )
}

/// Takes due subscriptions (1: now, 2: until, 3: holder, 4: limit), returning each one's state
/// then its id (column 9). The outer `lease` test is evaluated again on a row another
/// transaction changed meanwhile (PostgreSQL's READ COMMITTED re-check; SQLite has one writer), so
/// no subscription is taken twice.
pub fn claim_due(placeholder: fn(usize) -> String) -> String {
    let now = placeholder(1);
    format!(
        "UPDATE notify_state SET lease = {}, holder = {} WHERE lease <= {now} AND subscription IN \
         (SELECT subscription FROM notify_state WHERE (delivered < events OR next_contact <= {now}) \
         AND failed = 0 AND next_attempt <= {now} AND lease <= {now} ORDER BY next_attempt LIMIT {}) \
         RETURNING {STATE_COLUMNS}, subscription",
        placeholder(2),
        placeholder(3),
        placeholder(4),
    )
}

/// Lets go of a holder's subscriptions (1: holder).
pub fn release(placeholder: fn(usize) -> String) -> String {
    format!(
        "UPDATE notify_state SET lease = 0 WHERE holder = {} AND lease > 0",
        placeholder(1)
    )
}

/// Settles an attempt (1: id, 2: delivered, 3: attempts, 4: next attempt, 5: failed, 6: error,
/// 7: next contact).
pub fn settle(placeholder: fn(usize) -> String) -> String {
    format!(
        "UPDATE notify_state SET delivered = {}, attempts = {}, next_attempt = {}, failed = {}, \
         last_error = {}, next_contact = {}, lease = 0 WHERE subscription = {}",
        placeholder(2),
        placeholder(3),
        placeholder(4),
        placeholder(5),
        placeholder(6),
        placeholder(7),
        placeholder(1)
    )
}

/// Records a subscriber's role and, when given, its signing secret (1: id, 2: role, 3: secret),
/// and makes its next contact due at once (a handshake for a `requested` one; the delivery looks
/// at the Subscription's status then).
pub fn keep_subscriber(placeholder: fn(usize) -> String) -> String {
    format!(
        "INSERT INTO notify_state (subscription, role, secret) VALUES ({}, {}, {}) \
         ON CONFLICT (subscription) DO UPDATE SET role = excluded.role, \
         secret = COALESCE(excluded.secret, notify_state.secret), failed = 0, attempts = 0, \
         next_attempt = 0, next_contact = 0",
        placeholder(1),
        placeholder(2),
        placeholder(3)
    )
}

/// A state from its columns (in [`STATE_COLUMNS`] order).
#[allow(clippy::too_many_arguments)]
pub fn delivery(
    events: i64,
    delivered: i64,
    attempts: i64,
    next_attempt: i64,
    failed: i64,
    next_contact: i64,
    last_error: Option<String>,
    role: Option<String>,
    secret: Option<String>,
) -> Delivery {
    let n = |v: i64| u64::try_from(v).unwrap_or(0);
    Delivery {
        events: n(events),
        delivered: n(delivered),
        attempts: n(attempts),
        next_attempt,
        failed: failed != 0,
        next_contact,
        last_error,
        role,
        secret,
    }
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
    events BIGINT NOT NULL DEFAULT 0,
    delivered BIGINT NOT NULL DEFAULT 0,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt BIGINT NOT NULL DEFAULT 0,
    lease BIGINT NOT NULL DEFAULT 0,
    failed BIGINT NOT NULL DEFAULT 0,
    next_contact BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    role TEXT,
    secret TEXT
);
"#;

/// Who holds a subscription's delivery: the process's audit chain (migration 10 of
/// `super::schema`). Live processes have distinct chains (`crate::config`), so a process may
/// release what its chain holds when it starts.
pub const HOLDER_MIGRATION: &str = "ALTER TABLE notify_state ADD COLUMN holder TEXT;";

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
