//! Storage: one interface ([`Backend`] for reads, [`Tx`] inside a write transaction) with two
//! implementations that pass one test suite: SQLite (embedded default) and PostgreSQL (scale-out).
//!
//! Every write makes a new version row in `versions` and replaces the current row in `resources`;
//! deletes are logical (a version marked deleted). Search-index rows are rewritten in the same
//! transaction, so an index never disagrees with the data. The write path runs as a synchronous
//! closure over a [`Tx`], on the backend's own thread (SQLite: the single writer thread, which groups
//! commits; PostgreSQL: a blocking pool thread), so conditional interactions and transaction bundles
//! check and write atomically.

pub mod audit;
pub mod audit_sql;
pub mod exports;
pub mod outbox;
pub mod postgres;
pub mod schema;
pub mod search_sql;
pub mod sqlite;
pub mod traced;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::fhir::ResourceType;
use crate::search::{Include, IndexEntry, SearchQuery};

pub use audit::{
    AuditAgent, AuditDictionary, AuditInsert, AuditKeys, AuditRow, AuditStored, ChainedEvent,
    STORE_CHAIN,
};

/// The internal row key of a current resource; never leaves the gateway.
pub type RowId = i64;

/// One stored version of a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResource {
    /// The type.
    pub rtype: ResourceType,
    /// The logical id.
    pub id: String,
    /// The version number, from 1.
    pub version: u64,
    /// When this version was written, epoch milliseconds.
    pub last_updated: i64,
    /// True for the version a delete made; `body` is then empty.
    pub deleted: bool,
    /// The resource JSON exactly as served, with `id` and `meta` set.
    pub body: String,
}

impl StoredResource {
    /// `Type/id/_history/version`: the reference to this version, as the audit records it and
    /// `Location` and history entries give it (under the base URL).
    pub fn version_reference(&self) -> String {
        format!("{}/{}/_history/{}", self.rtype, self.id, self.version)
    }
}

/// Which interaction made a version (recorded for history `request.method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMethod {
    /// POST.
    Create,
    /// PUT.
    Update,
    /// DELETE.
    Delete,
}

impl WriteMethod {
    /// The database code of the method.
    pub fn code(self) -> &'static str {
        match self {
            WriteMethod::Create => "POST",
            WriteMethod::Update => "PUT",
            WriteMethod::Delete => "DELETE",
        }
    }

    /// The method for a database code (unknown codes read as PUT).
    pub fn from_code(code: &str) -> Self {
        match code {
            "POST" => WriteMethod::Create,
            "DELETE" => WriteMethod::Delete,
            _ => WriteMethod::Update,
        }
    }
}

/// A new version to write.
#[derive(Debug, Clone)]
pub struct VersionWrite {
    /// The stored version's metadata and body.
    pub resource: StoredResource,
    /// How it was made.
    pub method: WriteMethod,
    /// Its search-index values (empty for deletes).
    pub index: Vec<IndexEntry>,
}

/// Store failures. Internal details are logged, never shown to clients.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached or refused the operation.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Two writers raced for the same version; the loser may retry.
    #[error("concurrent write to the same resource")]
    Conflict,
    /// Anything else from the database.
    #[error("database error: {0}")]
    Database(String),
    /// The transaction was rolled back because its job failed (the job's own error is returned).
    #[error("rolled back")]
    RolledBack,
}

/// What a store failure is to a client: the error table's entry (a conflict is retryable; details
/// of a database failure go to the log only). A failure that is ours keeps the `StoreError` as its
/// source, so the log reads the database's own message under the request's error.
impl From<StoreError> for crate::error::Error {
    fn from(e: StoreError) -> Self {
        use crate::error::Error;
        match e {
            StoreError::Unavailable(m) => Error::Unavailable(m),
            StoreError::Conflict => {
                Error::Conflict("The resource was changed by another request; retry".into())
            }
            e @ (StoreError::Database(_) | StoreError::RolledBack) => {
                Error::internal_from("the store failed", e)
            }
        }
    }
}

/// Operations available inside a write transaction.
pub trait Tx {
    /// The current version (possibly deleted) of a resource.
    fn current(
        &mut self,
        rtype: ResourceType,
        id: &str,
    ) -> Result<Option<StoredResource>, StoreError>;
    /// Ids of live resources matching `query`, at most `limit`, in the query's order.
    fn search_ids(&mut self, query: &SearchQuery, limit: usize) -> Result<Vec<String>, StoreError>;
    /// Writes a new version, replacing the current row and its index rows.
    fn put(&mut self, write: &VersionWrite) -> Result<(), StoreError>;
    /// Serialises transactions that take the same key until commit (conditional creates on a shared
    /// database); a no-op where there is a single writer.
    fn lock(&mut self, key: &str) -> Result<(), StoreError>;
    /// Keeps the reply to a message in this transaction, so that it commits with the message's
    /// writes or not at all; `false` (nothing written) when the caller already has a reply for
    /// that request id: a concurrent repeat committed first.
    fn record_message(&mut self, message: &MessageRecord) -> Result<bool, StoreError>;
    /// Records in the notification outbox that this transaction made `version` of `rtype/id`
    /// ([`outbox`]): committed with the change or not at all.
    fn enqueue_change(
        &mut self,
        rtype: ResourceType,
        id: &str,
        version: u64,
        recorded: i64,
    ) -> Result<(), StoreError>;
    /// Records, with a Subscription's write, its subscriber's `role` and signing `secret` (a
    /// `None` secret keeps the one recorded before); a rewritten Subscription is tried afresh.
    fn keep_subscriber(
        &mut self,
        subscription: &str,
        role: &str,
        secret: Option<&str>,
    ) -> Result<(), StoreError>;
    /// Removes outbox row `row`; `false` when it was already gone (another process handled it).
    fn take_change(&mut self, row: i64) -> Result<bool, StoreError>;
    /// Numbers `event` as its subscription's next event (its `number` is ignored) and records
    /// it; returns the number.
    fn append_event(&mut self, event: &outbox::Event) -> Result<u64, StoreError>;
    /// The number of audit term `text` (`audit_sql`), stored now if it is new.
    fn audit_term(&mut self, text: &str) -> Result<i64, StoreError>;
    /// The number of audit caller `agent`, stored now if it is new.
    fn audit_agent(&mut self, agent: &AuditAgent) -> Result<i64, StoreError>;
    /// Stores an audit event with its `audit_ref` rows; `false` when its chain already holds its
    /// sequence number (stored before), which leaves the stored one alone.
    fn audit_insert(&mut self, event: &AuditInsert) -> Result<bool, StoreError>;
    /// `seq, hash` of the last stored event of chain (term) `chain`, or of its archive anchor.
    fn audit_head(&mut self, chain: i64) -> Result<Option<(u64, Vec<u8>)>, StoreError>;
    /// Takes up to `limit` events of the text-form table of migration 4 (`audit_event_text`), in
    /// storage order, removing them; empty once that table is empty.
    fn audit_take_text(&mut self, limit: usize) -> Result<Vec<AuditRow>, StoreError>;
    /// Removes chain (term) `chain`'s events up to sequence number `seq` (with their `audit_ref`
    /// rows) and records `seq, hash` as the anchor the chain continues from; returns how many
    /// events went (`crate::audit::archive`).
    fn audit_cut(
        &mut self,
        chain: i64,
        seq: u64,
        hash: &[u8],
        archived: i64,
    ) -> Result<u64, StoreError>;
}

/// The reply the gateway gave to one message (`$process-message`, `crate::messaging`), kept so
/// that a repeat (the same caller and `X-Request-ID`) is answered again without a second write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRecord {
    /// Who sent it: the token's subject (request ids are the sender's, not global).
    pub caller: String,
    /// `X-Request-ID`.
    pub request_id: String,
    /// `X-Correlation-ID`.
    pub correlation_id: String,
    /// A digest of the message as sent, to tell a repeat from a different message.
    pub digest: String,
    /// When it was processed, epoch milliseconds.
    pub recorded: i64,
    /// The reply message Bundle as sent.
    pub reply: String,
}

/// A write job: runs inside one transaction; an `Err` rolls it back.
pub type TxJob = Box<dyn FnOnce(&mut dyn Tx) -> Result<(), StoreError> + Send>;

/// Which versions a history request lists.
#[derive(Debug, Clone, Default)]
pub struct HistoryFilter {
    /// One type (type or instance history), or all (system history).
    pub rtype: Option<ResourceType>,
    /// One resource (instance history).
    pub id: Option<String>,
    /// Only versions written at or after this time (`_since`).
    pub since: Option<i64>,
    /// Only versions below this cursor (paging); newest first.
    pub before: Option<i64>,
    /// Page size.
    pub count: usize,
}

/// A history page: versions newest first, with the cursor of each.
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    /// The version.
    pub resource: StoredResource,
    /// How it was made.
    pub method: WriteMethod,
    /// Paging cursor of this entry.
    pub cursor: i64,
}

/// How a backend's connections are used at one moment: what an operator watches to see a pool
/// too small or a writer falling behind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Connections {
    /// Connections open (in use or idle).
    pub open: usize,
    /// Connections idle, ready for a request.
    pub idle: usize,
    /// Requests waiting: for a pooled connection (PostgreSQL) or for the writer thread (SQLite's
    /// queued write transactions).
    pub waiting: usize,
}

/// The store interface every backend implements.
#[async_trait]
pub trait Backend: Send + Sync {
    /// The current version of a resource, deleted or not.
    async fn read(
        &self,
        rtype: ResourceType,
        id: &str,
    ) -> Result<Option<StoredResource>, StoreError>;
    /// One version of a resource.
    async fn vread(
        &self,
        rtype: ResourceType,
        id: &str,
        version: u64,
    ) -> Result<Option<StoredResource>, StoreError>;
    /// Row ids of live resources matching `query` in its order, at most `limit`.
    async fn search(&self, query: &SearchQuery, limit: usize) -> Result<Vec<RowId>, StoreError>;
    /// How many live resources match `query`.
    async fn count(&self, query: &SearchQuery) -> Result<u64, StoreError>;
    /// The current versions of `rows`, in the given order; rows deleted since are left out.
    async fn fetch(&self, rows: &[RowId]) -> Result<Vec<(RowId, StoredResource)>, StoreError>;
    /// Live resources that `rows` (all of type `include.source`) reference through `include.param`.
    async fn included(
        &self,
        rows: &[RowId],
        include: &Include,
    ) -> Result<Vec<(RowId, StoredResource)>, StoreError>;
    /// Live resources of `include.source` whose `include.param` references one of `targets`.
    async fn revincluded(
        &self,
        targets: &[(ResourceType, String)],
        include: &Include,
    ) -> Result<Vec<(RowId, StoredResource)>, StoreError>;
    /// Versions matching `filter`, newest first.
    async fn history(&self, filter: &HistoryFilter) -> Result<Vec<HistoryEntry>, StoreError>;
    /// Runs `job` in one transaction; returns after it committed (or failed).
    async fn transact(&self, job: TxJob) -> Result<(), StoreError>;
    /// The reply kept for `caller`'s message `request_id`, if one was processed.
    async fn message(
        &self,
        caller: &str,
        request_id: &str,
    ) -> Result<Option<MessageRecord>, StoreError>;
    /// Row ids of live resources matching `query` (which has no `_sort`) after row `after`, in
    /// row order, at most `limit`: an export's pages, over results of any size.
    async fn search_after(
        &self,
        query: &SearchQuery,
        after: RowId,
        limit: usize,
    ) -> Result<Vec<RowId>, StoreError>;
    /// The bulk export jobs and their files.
    fn exports(&self) -> &dyn exports::ExportStore;
    /// The notification outbox.
    fn outbox(&self) -> &dyn outbox::OutboxStore;
    /// Saves a search's ordered result rows for paging; returns nothing, keyed by `key`.
    async fn save_snapshot(&self, key: &str, rows: &[RowId]) -> Result<(), StoreError>;
    /// Loads a saved search; `None` once expired or unknown.
    async fn load_snapshot(&self, key: &str) -> Result<Option<Vec<RowId>>, StoreError>;
    /// Checks that the database answers (readiness).
    async fn ping(&self) -> Result<(), StoreError>;
    /// How its connections are used just now (the metrics page).
    fn connections(&self) -> Connections;
    /// The audit log's reads ([`audit::AuditStore`]): typed, so no SQL crosses this interface.
    fn audit(&self) -> &dyn audit::AuditStore;
    /// A token that changes whenever a write commits, in this process or another sharing the
    /// database (never goes back to an earlier value while the database lives). Caches of what
    /// was read from the store are keyed by it, so nothing cached outlives a committed change.
    async fn generation(&self) -> Result<String, StoreError>;
    /// [`Backend::read`] together with the generation it was read at, from one snapshot where the
    /// backend can (reads that go on to consult facts cached by generation). The default asks for
    /// the generation first, so that it is never newer than the resource.
    async fn read_at_generation(
        &self,
        rtype: ResourceType,
        id: &str,
    ) -> Result<(Option<StoredResource>, String), StoreError> {
        let generation = self.generation().await?;
        Ok((self.read(rtype, id).await?, generation))
    }
    /// Tunes the backend for a batch job that reads much of the database once (reports): SQLite then
    /// memory-maps the file on its read connections instead of copying each page. Not used by the
    /// server, whose resident memory it would inflate.
    fn prefer_bulk_reads(&self) {}
    /// Called once at shutdown after the last request: leaves the database tidy (SQLite folds its
    /// write-ahead log back into the file). Writes were already durable; this only saves the next
    /// start-up some work.
    async fn close(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// The store as the rest of the gateway uses it: a backend plus typed transactions.
#[derive(Clone)]
pub struct Store {
    backend: Arc<dyn Backend>,
}

impl Store {
    /// Wraps a backend.
    pub fn new(backend: Arc<dyn Backend>) -> Self {
        Store { backend }
    }

    /// Opens the backend a database URL names: `sqlite://path` (or a bare path) or `postgres://...`.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let (backend, system): (Arc<dyn Backend>, _) =
            if url.starts_with("postgres://") || url.starts_with("postgresql://") {
                (
                    Arc::new(postgres::PostgresBackend::connect(url).await?),
                    "postgresql",
                )
            } else {
                let path = url.strip_prefix("sqlite://").unwrap_or(url);
                (Arc::new(sqlite::SqliteBackend::open(path)?), "sqlite")
            };
        // Spans around store calls only when traces are exported (`traced`).
        let backend = if crate::telemetry::exporting() {
            Arc::new(traced::Traced::new(backend, system))
        } else {
            backend
        };
        // The gateway opens it through `crate::audit::open_store`, which also brings the audit log
        // stored before the compact form into it.
        Ok(Store { backend })
    }

    /// The backend, for reads.
    pub fn backend(&self) -> &dyn Backend {
        self.backend.as_ref()
    }

    /// Runs `f` in one write transaction and returns its value once committed. If `f` fails, the
    /// transaction is rolled back and `f`'s error returned; if the commit fails, the store's error.
    pub async fn transaction<T, E>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let slot: Arc<Mutex<Option<Result<T, E>>>> = Arc::new(Mutex::new(None));
        let job_slot = Arc::clone(&slot);
        let job: TxJob = Box::new(move |tx| {
            let result = f(tx);
            let failed = result.is_err();
            if let Ok(mut s) = job_slot.lock() {
                *s = Some(result);
            }
            if failed {
                Err(StoreError::RolledBack)
            } else {
                Ok(())
            }
        });
        let committed = self.backend.transact(job).await;
        let outcome = slot.lock().ok().and_then(|mut s| s.take());
        match (committed, outcome) {
            (Ok(()), Some(Ok(v))) => Ok(v),
            (_, Some(Err(e))) => Err(e),
            (Err(e), _) => Err(E::from(e)),
            (Ok(()), None) => Err(E::from(StoreError::Database(
                "transaction job did not run".into(),
            ))),
        }
    }
}
