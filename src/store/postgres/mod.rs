//! PostgreSQL backend (scale-out): several gateway processes share one database.
//!
//! Reads run on a pooled connection (deadpool-postgres) with cached prepared statements, using the
//! same SQL as SQLite (`store::search_sql`) with numbered placeholders. Writes run the synchronous transaction
//! job on a blocking thread (see `tx.rs`); row locks and advisory locks make concurrent processes
//! serialise where SQLite relies on its single writer.

mod codec;
mod exports;
mod index;
mod outbox;
pub mod tls;
mod tx;

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio_postgres::config::Host;
use tokio_postgres::types::{ToSql, Type};

use self::codec::{Values, db_error};
use super::audit::{AuditSelect, AuditStore, Filter};
use super::audit_sql;
use super::schema::{self, MIGRATIONS};
use super::search_sql::{self, CURRENT, Param};
use super::{
    AuditAgent, AuditDictionary, AuditStored, Backend, HistoryEntry, HistoryFilter, MessageRecord,
    RowId, StoreError, StoredResource, TxJob, WriteMethod,
};
use crate::fhir::ResourceType;
use crate::search::{Include, SearchQuery};

/// Advisory lock key that serialises migrations across processes starting at once (any constant;
/// this is "carebridge" in ASCII, truncated to eight bytes).
const MIGRATION_LOCK: i64 = 0x6361_7265_6272_6964;

/// How long to wait for a TCP connection when the URL does not say (`connect_timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a request waits for a free pooled connection before the store reports itself unavailable.
const POOL_WAIT: Duration = Duration::from_secs(30);

/// Connections of the audit-term pool ([`PostgresBackend::terms`]).
const TERM_CONNECTIONS: usize = 2;

/// PostgreSQL-backed store.
pub struct PostgresBackend {
    pool: Pool,
    /// Connections that store new audit terms and callers, each in a transaction of its own
    /// (`tx::PgTx::audit_term`): inside the writing transaction, two transactions inserting the
    /// same new texts in different orders would wait for each other (a deadlock, answered 503).
    /// A pool of their own, so that a transaction waiting for one never waits on itself.
    terms: Pool,
    /// `host:port/database`, for error messages (never the password).
    server: String,
}

impl PostgresBackend {
    /// Connects to the `postgres://` URL and applies pending migrations. Fails with
    /// [`StoreError::Unavailable`] when the URL is malformed (including its TLS settings, see [`tls`])
    /// or the database cannot be reached, so start-up stops with a clear message rather than serving
    /// without a store.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let (mut config, tls) = tls::configure(url)?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("carebridge");
        }
        let server = describe(&config);
        let build = |max: Option<usize>| {
            let manager = Manager::from_config(
                config.clone(),
                tls.clone(),
                ManagerConfig {
                    recycling_method: RecyclingMethod::Fast,
                },
            );
            let mut builder = Pool::builder(manager)
                .runtime(Runtime::Tokio1)
                .wait_timeout(Some(POOL_WAIT))
                .create_timeout(Some(CONNECT_TIMEOUT))
                .recycle_timeout(Some(CONNECT_TIMEOUT));
            if let Some(max) = max {
                builder = builder.max_size(max);
            }
            builder
                .build()
                .map_err(|e| StoreError::Unavailable(format!("PostgreSQL pool for {server}: {e}")))
        };
        let pool = build(None)?;
        let terms = build(Some(TERM_CONNECTIONS))?;
        let backend = PostgresBackend {
            pool,
            terms,
            server,
        };
        backend.migrate().await?;
        Ok(backend)
    }

    /// A pooled connection.
    async fn client(&self) -> Result<Object, StoreError> {
        self.pool
            .get()
            .await
            .map_err(|e| codec::pool_error(e, &self.server))
    }

    /// Applies the migrations not yet recorded in `schema_migrations`, all in one transaction that
    /// first takes a transaction-scoped advisory lock: processes starting together wait for each other,
    /// then see the tables the first one committed (each statement reads afresh under READ COMMITTED),
    /// and the lock is released even if a migration fails or the connection drops.
    async fn migrate(&self) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_error)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(db_error)?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY)",
        )
        .await
        .map_err(db_error)?;
        let applied: i64 = tx
            .query_one("SELECT COUNT(*) FROM schema_migrations", &[])
            .await
            .and_then(|r| r.try_get(0))
            .map_err(db_error)?;
        for (i, m) in MIGRATIONS
            .iter()
            .enumerate()
            .skip(usize::try_from(applied).unwrap_or(0))
        {
            let sql = schema::render(
                m,
                &schema::Dialect {
                    rowid: "BIGSERIAL PRIMARY KEY",
                    without_rowid: "",
                    collate_c: "COLLATE \"C\"",
                    blob: "BYTEA",
                },
            );
            tx.batch_execute(&sql).await.map_err(db_error)?;
            let version = i64::try_from(i + 1).unwrap_or(i64::MAX);
            tx.execute(
                "INSERT INTO schema_migrations (version) VALUES ($1)",
                &[&version],
            )
            .await
            .map_err(db_error)?;
        }
        tx.commit().await.map_err(db_error)
    }

    /// Runs `text` with explicitly typed parameters through the statement cache.
    async fn query_typed(
        &self,
        text: &str,
        types: &[Type],
        values: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>, StoreError> {
        let client = self.client().await?;
        let stmt = codec::prepare(&client.statement_cache, &client, text, types).await?;
        client.query(&stmt, values).await.map_err(db_error)
    }

    /// Runs shared SQL (`?` placeholders) with its parameters.
    async fn query(
        &self,
        text: &str,
        params: &[Param],
    ) -> Result<Vec<tokio_postgres::Row>, StoreError> {
        let values: Values<'_> = codec::values(params);
        self.query_typed(&search_sql::numbered(text), &codec::types(params), &values)
            .await
    }

    /// Current resources selected by shared SQL.
    async fn resources(
        &self,
        text: &str,
        params: &[Param],
    ) -> Result<Vec<(RowId, StoredResource)>, StoreError> {
        codec::resources(&self.query(text, params).await?)
    }
}

/// `host:port/database` of a connection configuration.
fn describe(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        Some(Host::Unix(p)) => p.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config
        .get_dbname()
        .or(config.get_user())
        .unwrap_or("postgres");
    format!("{host}:{port}/{db}")
}

#[async_trait]
impl Backend for PostgresBackend {
    async fn read(
        &self,
        rtype: ResourceType,
        id: &str,
    ) -> Result<Option<StoredResource>, StoreError> {
        let text = format!("{CURRENT} WHERE r.rtype = $1 AND r.id = $2");
        let rows = self
            .query_typed(&text, &[Type::TEXT, Type::TEXT], &[&rtype.as_str(), &id])
            .await?;
        Ok(codec::resources(&rows)?.pop().map(|(_, r)| r))
    }

    async fn vread(
        &self,
        rtype: ResourceType,
        id: &str,
        version: u64,
    ) -> Result<Option<StoredResource>, StoreError> {
        let Ok(version) = i64::try_from(version) else {
            return Ok(None);
        };
        let rows = self
            .query_typed(
                "SELECT r.rid, r.rtype, r.id, v.version, v.last_updated, v.deleted, v.body \
                 FROM resources r JOIN versions v ON v.rid = r.rid \
                 WHERE r.rtype = $1 AND r.id = $2 AND v.version = $3",
                &[Type::TEXT, Type::TEXT, Type::INT8],
                &[&rtype.as_str(), &id, &version],
            )
            .await?;
        Ok(codec::resources(&rows)?.pop().map(|(_, r)| r))
    }

    async fn search(&self, query: &SearchQuery, limit: usize) -> Result<Vec<RowId>, StoreError> {
        let q = search_sql::search_rows(query, limit);
        codec::first(&self.query(&q.text, &q.params).await?)
    }

    async fn search_after(
        &self,
        query: &SearchQuery,
        after: RowId,
        limit: usize,
    ) -> Result<Vec<RowId>, StoreError> {
        let q = search_sql::search_rows_after(query, Some(after), limit);
        codec::first(&self.query(&q.text, &q.params).await?)
    }

    fn exports(&self) -> &dyn crate::store::exports::ExportStore {
        self
    }

    fn outbox(&self) -> &dyn crate::store::outbox::OutboxStore {
        self
    }

    fn audit(&self) -> &dyn AuditStore {
        self
    }

    async fn count(&self, query: &SearchQuery) -> Result<u64, StoreError> {
        let q = search_sql::count_rows(query);
        let n: Vec<i64> = codec::first(&self.query(&q.text, &q.params).await?)?;
        Ok(n.first().map_or(0, |n| u64::try_from(*n).unwrap_or(0)))
    }

    async fn fetch(&self, rows: &[RowId]) -> Result<Vec<(RowId, StoredResource)>, StoreError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        // One array parameter rather than a placeholder per row: a single cached statement.
        let text = format!("{CURRENT} WHERE r.deleted = 0 AND r.rid = ANY($1)");
        let found = self
            .query_typed(&text, &[Type::INT8_ARRAY], &[&rows])
            .await?;
        let mut found = codec::resources(&found)?;
        let position: HashMap<RowId, usize> =
            rows.iter().enumerate().map(|(i, r)| (*r, i)).collect();
        found.sort_by_key(|(rid, _)| position.get(rid).copied());
        Ok(found)
    }

    async fn included(
        &self,
        rows: &[RowId],
        include: &Include,
    ) -> Result<Vec<(RowId, StoredResource)>, StoreError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let (text, params) = search_sql::included(rows, include);
        self.resources(&text, &params).await
    }

    async fn revincluded(
        &self,
        targets: &[(ResourceType, String)],
        include: &Include,
    ) -> Result<Vec<(RowId, StoredResource)>, StoreError> {
        // `IN (VALUES )` is not SQL: nothing can point at no targets.
        if targets.is_empty() {
            return Ok(Vec::new());
        }
        let (text, params) = search_sql::revincluded(targets, include);
        self.resources(&text, &params).await
    }

    async fn history(&self, filter: &HistoryFilter) -> Result<Vec<HistoryEntry>, StoreError> {
        let (text, params) = search_sql::history(filter);
        let rows = self.query(&text, &params).await?;
        rows.iter()
            .map(|row| {
                let (cursor, resource) = codec::resource(row)?;
                let method: &str = row
                    .try_get(7)
                    .map_err(|e| StoreError::Database(format!("column 7: {e}")))?;
                Ok(HistoryEntry {
                    resource,
                    method: WriteMethod::from_code(method),
                    cursor,
                })
            })
            .collect()
    }

    async fn transact(&self, job: TxJob) -> Result<(), StoreError> {
        let client = self.client().await?;
        tx::run(client, self.terms.clone(), job).await
    }

    async fn message(
        &self,
        caller: &str,
        request_id: &str,
    ) -> Result<Option<MessageRecord>, StoreError> {
        let rows = self
            .query_typed(
                "SELECT correlation_id, digest, recorded, reply FROM messages \
                 WHERE caller = $1 AND request_id = $2",
                &[Type::TEXT, Type::TEXT],
                &[&caller, &request_id],
            )
            .await?;
        rows.first()
            .map(|r| {
                Ok(MessageRecord {
                    caller: caller.to_owned(),
                    request_id: request_id.to_owned(),
                    correlation_id: r.try_get(0).map_err(db_error)?,
                    digest: r.try_get(1).map_err(db_error)?,
                    recorded: r.try_get(2).map_err(db_error)?,
                    reply: r.try_get(3).map_err(db_error)?,
                })
            })
            .transpose()
    }

    async fn save_snapshot(&self, key: &str, rows: &[RowId]) -> Result<(), StoreError> {
        let now = crate::fhir::instant::now_ms();
        let csv = schema::rows_to_csv(rows);
        // Expired snapshots go in the same statement, as SQLite does in the same transaction.
        self.query_typed(
            "WITH expired AS (DELETE FROM search_snapshots WHERE created < $1) \
             INSERT INTO search_snapshots (key, created, rows_csv) VALUES ($2, $3, $4) \
             ON CONFLICT (key) DO NOTHING",
            &[Type::INT8, Type::TEXT, Type::INT8, Type::TEXT],
            &[&(now - schema::SNAPSHOT_TTL_MS), &key, &now, &csv],
        )
        .await
        .map(|_| ())
    }

    async fn load_snapshot(&self, key: &str) -> Result<Option<Vec<RowId>>, StoreError> {
        let oldest = crate::fhir::instant::now_ms() - schema::SNAPSHOT_TTL_MS;
        let rows = self
            .query_typed(
                "SELECT rows_csv FROM search_snapshots WHERE key = $1 AND created >= $2",
                &[Type::TEXT, Type::INT8],
                &[&key, &oldest],
            )
            .await?;
        let csv: Vec<String> = codec::first(&rows)?;
        Ok(csv.first().map(|s| schema::rows_from_csv(s)))
    }

    /// The current snapshot (`xmin:xmax:in-progress`): any commit removes a transaction from it or
    /// moves its bounds, whichever gateway made it. A sequence maximum would not do: PostgreSQL
    /// commits out of sequence order, so a late commit below the maximum would go unseen.
    async fn generation(&self) -> Result<String, StoreError> {
        let client = self.client().await?;
        let rows = client
            .simple_query("SELECT txid_current_snapshot()::text")
            .await
            .map_err(db_error)?;
        rows.iter()
            .find_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_owned),
                _ => None,
            })
            .ok_or_else(|| StoreError::Database("no snapshot".into()))
    }

    fn connections(&self) -> super::Connections {
        let status = self.pool.status();
        super::Connections {
            open: status.size,
            idle: status.available,
            waiting: status.waiting,
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .simple_query("SELECT 1")
            .await
            .map(|_| ())
            .map_err(db_error)
    }
}

#[async_trait]
impl AuditStore for PostgresBackend {
    async fn select(&self, what: &AuditSelect<'_>) -> Result<Vec<AuditStored>, StoreError> {
        let q = &what.sql();
        let rows = self.query(&q.text, &q.params).await?;
        rows.iter()
            .map(|r| {
                Ok(AuditStored {
                    id: r.try_get(0).map_err(db_error)?,
                    chain: r.try_get(1).map_err(db_error)?,
                    seq: u64::try_from(r.try_get::<_, i64>(2).map_err(db_error)?).unwrap_or(0),
                    recorded: r.try_get(3).map_err(db_error)?,
                    hash: r.try_get(4).map_err(db_error)?,
                    body: r.try_get(5).map_err(db_error)?,
                    agent: r.try_get(6).map_err(db_error)?,
                })
            })
            .collect()
    }

    async fn dictionary(
        &self,
        terms: &[i64],
        agents: &[i64],
    ) -> Result<AuditDictionary, StoreError> {
        let mut d = AuditDictionary::default();
        for ids in terms.chunks(audit_sql::LOOKUP_CHUNK) {
            let q = audit_sql::terms(ids);
            for r in self.query(&q.text, &q.params).await? {
                d.terms.insert(
                    r.try_get(0).map_err(db_error)?,
                    r.try_get(1).map_err(db_error)?,
                );
            }
        }
        for ids in agents.chunks(audit_sql::LOOKUP_CHUNK) {
            let q = audit_sql::agents(ids);
            for r in self.query(&q.text, &q.params).await? {
                let text = |i| r.try_get::<_, String>(i).map_err(db_error);
                let agent = AuditAgent {
                    sub: text(1)?,
                    user: text(2)?,
                    role: text(3)?,
                    org: text(4)?,
                    purpose: text(5)?,
                };
                d.agents.insert(r.try_get(0).map_err(db_error)?, agent);
            }
        }
        Ok(d)
    }

    async fn count(&self, filter: &Filter) -> Result<u64, StoreError> {
        let q = &audit_sql::count(filter);
        let n: Vec<i64> = codec::first(&self.query(&q.text, &q.params).await?)?;
        Ok(n.first().map_or(0, |n| u64::try_from(*n).unwrap_or(0)))
    }
}
