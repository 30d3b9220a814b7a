//! The notification outbox on SQLite: read on a reader connection.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

use super::SqliteBackend;
use crate::store::StoreError;
use crate::store::outbox::Settled;
use std::sync::{Arc, Mutex};

use crate::store::outbox::{
    Change, Delivery, Event, OutboxStore, change, claim_due, delivery, event, release,
    select_count, select_events, select_pending, select_state, settle,
};

/// A state row read in [`crate::store::outbox`]'s column order.
fn state_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Delivery> {
    Ok(delivery(
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
    ))
}

#[async_trait]
impl OutboxStore for SqliteBackend {
    async fn pending(&self, limit: usize) -> Result<Vec<Change>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(|c| {
            let mut stmt = c.prepare_cached(&select_pending("?1"))?;
            let rows = stmt.query_map(params![limit], |r| {
                Ok((
                    r.get(0)?,
                    r.get::<_, String>(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (row, rtype, id, version, recorded) = row?;
                out.extend(change(row, &rtype, id, version, recorded));
            }
            Ok(out)
        })
    }

    async fn events(
        &self,
        subscription: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Event>, StoreError> {
        static SELECT: std::sync::LazyLock<String> =
            std::sync::LazyLock::new(|| select_events(|n| format!("?{n}")));
        let after = i64::try_from(after).unwrap_or(i64::MAX);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(|c| {
            let mut stmt = c.prepare_cached(&SELECT)?;
            let rows = stmt.query_map(params![subscription, after, limit], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get::<_, String>(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (s, n, t, rtype, id, v, at) = row?;
                out.extend(event(s, n, t, &rtype, id, v, at));
            }
            Ok(out)
        })
    }

    async fn event_count(&self, subscription: &str) -> Result<u64, StoreError> {
        static SELECT: std::sync::LazyLock<String> =
            std::sync::LazyLock::new(|| select_count(|n| format!("?{n}")));
        self.read(|c| {
            let n: Option<i64> = c
                .prepare_cached(&SELECT)?
                .query_row(params![subscription], |r| r.get(0))
                .optional()?;
            Ok(n.and_then(|n| u64::try_from(n).ok()).unwrap_or(0))
        })
    }

    async fn delivery(&self, subscription: &str) -> Result<Option<Delivery>, StoreError> {
        static SELECT: std::sync::LazyLock<String> =
            std::sync::LazyLock::new(|| select_state(|n| format!("?{n}")));
        self.read(|c| {
            Ok(c.prepare_cached(&SELECT)?
                .query_row(params![subscription], state_row)
                .optional()?)
        })
    }

    async fn claim_due(
        &self,
        now: i64,
        until: i64,
        holder: &str,
        limit: usize,
    ) -> Result<Vec<(String, Delivery)>, StoreError> {
        static CLAIM: std::sync::LazyLock<String> =
            std::sync::LazyLock::new(|| claim_due(|n| format!("?{n}")));
        type Taken = Vec<(String, Delivery)>;
        let taken: Arc<Mutex<Taken>> = Arc::default();
        let slot = Arc::clone(&taken);
        let holder = holder.to_owned();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.counted(move |c| {
            let mut stmt = c.prepare_cached(&CLAIM)?;
            let rows = stmt.query_map(params![now, until, holder, limit], |r| {
                Ok((r.get(9)?, state_row(r)?))
            })?;
            let rows: Taken = rows.collect::<Result<_, _>>()?;
            let n = rows.len() as u64;
            if let Ok(mut s) = slot.lock() {
                *s = rows;
            }
            Ok(n)
        })
        .await?;
        Ok(taken
            .lock()
            .map(|mut s| std::mem::take(&mut *s))
            .unwrap_or_default())
    }

    async fn release(&self, holder: &str) -> Result<u64, StoreError> {
        static RELEASE: std::sync::LazyLock<String> =
            std::sync::LazyLock::new(|| release(|n| format!("?{n}")));
        let holder = holder.to_owned();
        self.counted(move |c| Ok(c.prepare_cached(&RELEASE)?.execute(params![holder])? as u64))
            .await
    }

    async fn settle(&self, subscription: &str, outcome: &Settled) -> Result<(), StoreError> {
        static SETTLE: std::sync::LazyLock<String> =
            std::sync::LazyLock::new(|| settle(|n| format!("?{n}")));
        let (id, o) = (subscription.to_owned(), outcome.clone());
        self.counted(move |c| {
            c.prepare_cached(&SETTLE)?.execute(params![
                id,
                i64::try_from(o.delivered).unwrap_or(i64::MAX),
                i64::try_from(o.attempts).unwrap_or(i64::MAX),
                o.next_attempt,
                i64::from(o.failed),
                o.error,
                o.next_contact
            ])?;
            Ok(0)
        })
        .await
        .map(|_| ())
    }
}
