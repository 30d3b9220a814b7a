//! Where bulk export jobs (`crate::export`) keep their state and their output files: in the
//! database, beside the data, so that any gateway process sharing it can answer a status poll or
//! serve a file, and a file fetched is the one the job wrote. Rows are the job's own text (its
//! state as JSON, a file as NDJSON with the audit of what it discloses); the store does not read
//! them.

use async_trait::async_trait;

use super::StoreError;

/// One export job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRow {
    /// The job id (in its URLs).
    pub id: String,
    /// Whose job it is (a digest of the caller; only they may poll, fetch or delete).
    pub owner: String,
    /// When it was kicked off, ms since the epoch.
    pub created: i64,
    /// When the job last saved its progress (its heartbeat), ms since the epoch.
    pub updated: i64,
    /// The job's state, as the export module writes it.
    pub state: String,
}

/// One output file of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportFile {
    /// NDJSON: one resource per line.
    pub body: String,
    /// What fetching it discloses, for the fetch's audit event (the export module's JSON).
    pub audit: String,
}

/// The export tables of a backend.
#[async_trait]
pub trait ExportStore: Send + Sync {
    /// Records a new job.
    async fn create_job(&self, job: &ExportRow) -> Result<(), StoreError>;
    /// Saves a job's state and heartbeat; `false` when the job is gone (cancelled).
    async fn update_job(&self, job: &ExportRow) -> Result<bool, StoreError>;
    /// The job `id`, if it exists.
    async fn load_job(&self, id: &str) -> Result<Option<ExportRow>, StoreError>;
    /// Saves output file `n` of `job`.
    async fn save_file(&self, job: &str, n: u32, file: &ExportFile) -> Result<(), StoreError>;
    /// Output file `n` of `job`, if it exists.
    async fn load_file(&self, job: &str, n: u32) -> Result<Option<ExportFile>, StoreError>;
    /// Deletes `job` and its files; `false` when there was no such job.
    async fn remove_job(&self, job: &str) -> Result<bool, StoreError>;
    /// Deletes every job (and its files) last updated before `before`; how many.
    async fn expire_jobs(&self, before: i64) -> Result<u64, StoreError>;
    /// The deployment secret called `name`, storing `fresh` as it first (at `now`) when there is
    /// none yet. Every process sharing the database gets the same value, whichever stored it.
    async fn secret(&self, name: &str, fresh: &str, now: i64) -> Result<String, StoreError>;
}

/// Secrets the deployment makes for itself and keeps beside its data (migration 7 of
/// `super::schema`): the de-identified extract's pseudonymisation key (`crate::export`). Kept in
/// the database so that every replica pseudonymises alike; never served.
pub const SECRETS_MIGRATION: &str = r#"
CREATE TABLE deployment_secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created BIGINT NOT NULL
);
"#;

/// The tables (migration 6 of `super::schema`).
pub const MIGRATION: &str = r#"
CREATE TABLE export_jobs (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL,
    state TEXT NOT NULL
);
CREATE INDEX export_jobs_updated ON export_jobs (updated);
CREATE TABLE export_files (
    job TEXT NOT NULL,
    n BIGINT NOT NULL,
    body TEXT NOT NULL,
    audit TEXT NOT NULL,
    PRIMARY KEY (job, n)
);
"#;
