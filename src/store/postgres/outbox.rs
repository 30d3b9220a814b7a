//! The notification outbox on PostgreSQL.

use async_trait::async_trait;
use tokio_postgres::types::Type;

use super::PostgresBackend;
use super::codec::db_error;
use crate::store::StoreError;
use crate::store::outbox::{
    Change, Event, OutboxStore, change, event, select_count, select_events, select_pending,
};

#[async_trait]
impl OutboxStore for PostgresBackend {
    async fn pending(&self, limit: usize) -> Result<Vec<Change>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .query_typed(&select_pending("$1"), &[Type::INT8], &[&limit])
            .await?;
        let mut out = Vec::new();
        for r in &rows {
            let rtype: String = r.try_get(1).map_err(db_error)?;
            out.extend(change(
                r.try_get(0).map_err(db_error)?,
                &rtype,
                r.try_get(2).map_err(db_error)?,
                r.try_get(3).map_err(db_error)?,
                r.try_get(4).map_err(db_error)?,
            ));
        }
        Ok(out)
    }

    async fn events(
        &self,
        subscription: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Event>, StoreError> {
        static SELECT: std::sync::LazyLock<String> =
            std::sync::LazyLock::new(|| select_events(|n| format!("${n}")));
        let after = i64::try_from(after).unwrap_or(i64::MAX);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .query_typed(
                &SELECT,
                &[Type::TEXT, Type::INT8, Type::INT8],
                &[&subscription, &after, &limit],
            )
            .await?;
        let mut out = Vec::new();
        for r in &rows {
            let rtype: String = r.try_get(3).map_err(db_error)?;
            out.extend(event(
                r.try_get(0).map_err(db_error)?,
                r.try_get(1).map_err(db_error)?,
                r.try_get(2).map_err(db_error)?,
                &rtype,
                r.try_get(4).map_err(db_error)?,
                r.try_get(5).map_err(db_error)?,
                r.try_get(6).map_err(db_error)?,
            ));
        }
        Ok(out)
    }

    async fn event_count(&self, subscription: &str) -> Result<u64, StoreError> {
        static SELECT: std::sync::LazyLock<String> =
            std::sync::LazyLock::new(|| select_count(|n| format!("${n}")));
        let rows = self
            .query_typed(&SELECT, &[Type::TEXT], &[&subscription])
            .await?;
        match rows.first() {
            Some(r) => {
                let n: i64 = r.try_get(0).map_err(db_error)?;
                Ok(u64::try_from(n).unwrap_or(0))
            }
            None => Ok(0),
        }
    }
}
