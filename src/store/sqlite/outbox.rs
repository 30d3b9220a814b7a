//! The notification outbox on SQLite: read on a reader connection.

use async_trait::async_trait;
use rusqlite::params;

use super::SqliteBackend;
use crate::store::StoreError;
use crate::store::outbox::{Change, OutboxStore, change, select_pending};

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
}
