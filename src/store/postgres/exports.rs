//! The export tables on PostgreSQL.

use async_trait::async_trait;
use tokio_postgres::types::Type;

use super::PostgresBackend;
use crate::store::StoreError;
use crate::store::exports::{ExportFile, ExportRow, ExportStore};

#[async_trait]
impl ExportStore for PostgresBackend {
    async fn create_job(&self, job: &ExportRow) -> Result<(), StoreError> {
        self.query_typed(
            "INSERT INTO export_jobs (id, owner, created, updated, state) VALUES ($1, $2, $3, $4, $5)",
            &[Type::TEXT, Type::TEXT, Type::INT8, Type::INT8, Type::TEXT],
            &[&job.id, &job.owner, &job.created, &job.updated, &job.state],
        )
        .await
        .map(|_| ())
    }

    async fn update_job(&self, job: &ExportRow) -> Result<bool, StoreError> {
        let rows = self
            .query_typed(
                "UPDATE export_jobs SET updated = $2, state = $3 WHERE id = $1 RETURNING id",
                &[Type::TEXT, Type::INT8, Type::TEXT],
                &[&job.id, &job.updated, &job.state],
            )
            .await?;
        Ok(!rows.is_empty())
    }

    async fn load_job(&self, id: &str) -> Result<Option<ExportRow>, StoreError> {
        let rows = self
            .query_typed(
                "SELECT id, owner, created, updated, state FROM export_jobs WHERE id = $1",
                &[Type::TEXT],
                &[&id],
            )
            .await?;
        rows.first()
            .map(|r| {
                Ok(ExportRow {
                    id: r.try_get(0).map_err(super::codec::db_error)?,
                    owner: r.try_get(1).map_err(super::codec::db_error)?,
                    created: r.try_get(2).map_err(super::codec::db_error)?,
                    updated: r.try_get(3).map_err(super::codec::db_error)?,
                    state: r.try_get(4).map_err(super::codec::db_error)?,
                })
            })
            .transpose()
    }

    async fn save_file(&self, job: &str, n: u32, file: &ExportFile) -> Result<(), StoreError> {
        self.query_typed(
            "INSERT INTO export_files (job, n, body, audit) VALUES ($1, $2, $3, $4)",
            &[Type::TEXT, Type::INT8, Type::TEXT, Type::TEXT],
            &[&job, &i64::from(n), &file.body, &file.audit],
        )
        .await
        .map(|_| ())
    }

    async fn load_file(&self, job: &str, n: u32) -> Result<Option<ExportFile>, StoreError> {
        let rows = self
            .query_typed(
                "SELECT body, audit FROM export_files WHERE job = $1 AND n = $2",
                &[Type::TEXT, Type::INT8],
                &[&job, &i64::from(n)],
            )
            .await?;
        rows.first()
            .map(|r| {
                Ok(ExportFile {
                    body: r.try_get(0).map_err(super::codec::db_error)?,
                    audit: r.try_get(1).map_err(super::codec::db_error)?,
                })
            })
            .transpose()
    }

    async fn remove_job(&self, job: &str) -> Result<bool, StoreError> {
        let rows = self
            .query_typed(
                "WITH files AS (DELETE FROM export_files WHERE job = $1) \
                 DELETE FROM export_jobs WHERE id = $1 RETURNING id",
                &[Type::TEXT],
                &[&job],
            )
            .await?;
        Ok(!rows.is_empty())
    }

    async fn expire_jobs(&self, before: i64) -> Result<u64, StoreError> {
        let rows = self
            .query_typed(
                "WITH gone AS (DELETE FROM export_jobs WHERE updated < $1 RETURNING id), \
                 files AS (DELETE FROM export_files WHERE job IN (SELECT id FROM gone)) \
                 SELECT id FROM gone",
                &[Type::INT8],
                &[&before],
            )
            .await?;
        Ok(rows.len() as u64)
    }

    async fn secret(&self, name: &str, fresh: &str, now: i64) -> Result<String, StoreError> {
        self.query_typed(
            "INSERT INTO deployment_secrets (name, value, created) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING",
            &[Type::TEXT, Type::TEXT, Type::INT8],
            &[&name, &fresh, &now],
        )
        .await?;
        let rows = self
            .query_typed(
                "SELECT value FROM deployment_secrets WHERE name = $1",
                &[Type::TEXT],
                &[&name],
            )
            .await?;
        let row = rows
            .first()
            .ok_or_else(|| StoreError::Database(format!("deployment secret {name} not kept")))?;
        row.try_get(0).map_err(super::codec::db_error)
    }
}
