//! The notification outbox on SQLite: read on a reader connection.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

use super::SqliteBackend;
use crate::store::StoreError;
use crate::store::outbox::{
    Change, Event, OutboxStore, change, event, select_count, select_events, select_pending,
};

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
}
