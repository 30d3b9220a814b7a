//! The export tables on SQLite: writes through the writer thread, reads on a reader connection.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

use super::SqliteBackend;
use crate::store::StoreError;
use crate::store::exports::{ExportFile, ExportRow, ExportStore};

impl SqliteBackend {
    /// Runs `f` on the writer, returning the count it reports.
    pub(super) async fn counted(
        &self,
        f: impl FnOnce(&rusqlite::Connection) -> Result<u64, StoreError> + Send + 'static,
    ) -> Result<u64, StoreError> {
        let n = Arc::new(AtomicU64::new(0));
        let out = Arc::clone(&n);
        self.writer
            .submit_raw(Box::new(move |conn| {
                out.store(f(conn)?, Ordering::Relaxed);
                Ok(())
            }))
            .await?;
        Ok(n.load(Ordering::Relaxed))
    }
}

#[async_trait]
impl ExportStore for SqliteBackend {
    async fn create_job(&self, job: &ExportRow) -> Result<(), StoreError> {
        let job = job.clone();
        self.counted(move |c| {
            c.execute(
                "INSERT INTO export_jobs (id, owner, created, updated, state) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![job.id, job.owner, job.created, job.updated, job.state],
            )?;
            Ok(1)
        })
        .await
        .map(|_| ())
    }

    async fn update_job(&self, job: &ExportRow) -> Result<bool, StoreError> {
        let job = job.clone();
        let n = self
            .counted(move |c| {
                let n = c.execute(
                    "UPDATE export_jobs SET updated = ?2, state = ?3 WHERE id = ?1",
                    params![job.id, job.updated, job.state],
                )?;
                Ok(n as u64)
            })
            .await?;
        Ok(n > 0)
    }

    async fn load_job(&self, id: &str) -> Result<Option<ExportRow>, StoreError> {
        self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT id, owner, created, updated, state FROM export_jobs WHERE id = ?1",
            )?
            .query_row(params![id], |r| {
                Ok(ExportRow {
                    id: r.get(0)?,
                    owner: r.get(1)?,
                    created: r.get(2)?,
                    updated: r.get(3)?,
                    state: r.get(4)?,
                })
            })
            .optional()?)
        })
    }

    async fn save_file(&self, job: &str, n: u32, file: &ExportFile) -> Result<(), StoreError> {
        let (job, file) = (job.to_owned(), file.clone());
        self.counted(move |c| {
            c.execute(
                "INSERT INTO export_files (job, n, body, audit) VALUES (?1, ?2, ?3, ?4)",
                params![job, i64::from(n), file.body, file.audit],
            )?;
            Ok(1)
        })
        .await
        .map(|_| ())
    }

    async fn load_file(&self, job: &str, n: u32) -> Result<Option<ExportFile>, StoreError> {
        self.read(|c| {
            Ok(
                c.prepare_cached("SELECT body, audit FROM export_files WHERE job = ?1 AND n = ?2")?
                    .query_row(params![job, i64::from(n)], |r| {
                        Ok(ExportFile {
                            body: r.get(0)?,
                            audit: r.get(1)?,
                        })
                    })
                    .optional()?,
            )
        })
    }

    async fn remove_job(&self, job: &str) -> Result<bool, StoreError> {
        let job = job.to_owned();
        let n = self
            .counted(move |c| {
                c.execute("DELETE FROM export_files WHERE job = ?1", params![job])?;
                Ok(c.execute("DELETE FROM export_jobs WHERE id = ?1", params![job])? as u64)
            })
            .await?;
        Ok(n > 0)
    }

    async fn expire_jobs(&self, before: i64) -> Result<u64, StoreError> {
        self.counted(move |c| {
            c.execute(
                "DELETE FROM export_files WHERE job IN (SELECT id FROM export_jobs WHERE updated < ?1)",
                params![before],
            )?;
            Ok(c.execute("DELETE FROM export_jobs WHERE updated < ?1", params![before])? as u64)
        })
        .await
    }

    async fn secret(&self, name: &str, fresh: &str, now: i64) -> Result<String, StoreError> {
        let (key, value) = (name.to_owned(), fresh.to_owned());
        self.counted(move |c| {
            c.execute(
                "INSERT INTO deployment_secrets (name, value, created) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (name) DO NOTHING",
                params![key, value, now],
            )?;
            Ok(0)
        })
        .await?;
        self.read(|c| {
            Ok(
                c.prepare_cached("SELECT value FROM deployment_secrets WHERE name = ?1")?
                    .query_row(params![name], |r| r.get(0))?,
            )
        })
    }
}
