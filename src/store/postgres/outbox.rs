//! The notification outbox on PostgreSQL.

use async_trait::async_trait;
use tokio_postgres::types::Type;

use super::PostgresBackend;
use super::codec::db_error;
use crate::store::StoreError;
use crate::store::outbox::{Change, OutboxStore, change, select_pending};

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
}
