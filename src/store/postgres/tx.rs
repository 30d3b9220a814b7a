//! Write transactions: the synchronous [`TxJob`] runs on a blocking thread with a pooled connection in
//! a transaction, and each [`Tx`] call drives the async client with [`Handle::block_on`].
//!
//! Several processes may write one database, so what SQLite gets from its single writer is done with
//! locks here: [`Tx::current`] locks the resource row (`FOR UPDATE`) so read-modify-write of one
//! resource serialises, [`Tx::lock`] takes a transaction-scoped advisory lock (conditional creates),
//! and a concurrent insert of the same resource or version surfaces as [`StoreError::Conflict`].

use deadpool_postgres::{Object, Pool, Transaction};
use tokio::runtime::Handle;
use tokio_postgres::Row;
use tokio_postgres::types::{ToSql, Type};

use super::codec::{self, db_error};
use super::index;
use crate::fhir::ResourceType;
use crate::search::SearchQuery;
use crate::store::search_sql::{self, CURRENT};
use crate::store::{AuditAgent, AuditInsert, AuditRow, audit_sql};
use crate::store::{MessageRecord, StoreError, StoredResource, Tx, TxJob, VersionWrite};

/// Runs `job` in one transaction on `client`; returns once COMMIT succeeded, or with the job's error
/// after rolling back. The job runs on a blocking thread because it is synchronous and may make many
/// round trips; the connection's I/O stays on the runtime.
pub(super) async fn run(client: Object, terms: Pool, job: TxJob) -> Result<(), StoreError> {
    let handle = Handle::current();
    tokio::task::spawn_blocking(move || run_blocking(&handle, client, &terms, job))
        .await
        .map_err(|e| StoreError::Database(format!("transaction job did not finish: {e}")))?
}

fn run_blocking(
    handle: &Handle,
    mut client: Object,
    terms: &Pool,
    job: TxJob,
) -> Result<(), StoreError> {
    let (result, healthy) = {
        let tx = handle.block_on(client.transaction()).map_err(db_error)?;
        let mut pg = PgTx {
            handle,
            tx,
            terms,
            failed: None,
        };
        let outcome = job(&mut pg);
        let PgTx { tx, failed, .. } = pg;
        match (outcome, failed) {
            (Ok(()), None) => {
                let committed = handle.block_on(tx.commit()).map_err(db_error);
                let healthy = committed.is_ok();
                (committed, healthy)
            }
            // A statement failed but the job carried on: PostgreSQL has aborted the transaction and
            // would turn COMMIT into a silent ROLLBACK, so report the failure instead of success.
            (Ok(()), Some(e)) | (Err(e), _) => {
                let healthy = handle.block_on(tx.rollback()).is_ok();
                (Err(e), healthy)
            }
        }
    };
    if !healthy {
        // The connection's state is unknown (a failed COMMIT or ROLLBACK): never hand it out again.
        drop(Object::take(client));
    }
    result
}

/// [`Tx`] over a PostgreSQL transaction.
struct PgTx<'h, 'c> {
    handle: &'h Handle,
    tx: Transaction<'c>,
    /// Where new audit terms are stored, outside this transaction.
    terms: &'h Pool,
    /// The first error a statement met; the transaction is aborted from then on.
    failed: Option<StoreError>,
}

impl PgTx<'_, '_> {
    /// The id `find` gives in this transaction; else the one `insert` (then `find`) gives on a
    /// connection of the term pool, committed at once (see `PostgresBackend::terms`). A row stored
    /// there for a transaction that then rolls back stays, unused: terms are only ever added.
    fn find_or_store(
        &mut self,
        find: &str,
        insert: &str,
        types: &[Type],
        values: &[&(dyn ToSql + Sync)],
    ) -> Result<i64, StoreError> {
        let found = self.step(async |tx| {
            let rows = query(tx, find, types, values).await?;
            rows.first()
                .map(|r| r.try_get(0).map_err(db_error))
                .transpose()
        })?;
        if let Some(id) = found {
            return Ok(id);
        }
        let pool = self.terms;
        self.step(async |_| {
            let client = pool.get().await.map_err(|e| {
                StoreError::Unavailable(format!("no connection to store audit terms: {e}"))
            })?;
            for text in [insert, find] {
                let stmt = client
                    .prepare_typed_cached(text, types)
                    .await
                    .map_err(db_error)?;
                let rows = client.query(&stmt, values).await.map_err(db_error)?;
                if let Some(r) = rows.first() {
                    return r.try_get(0).map_err(db_error);
                }
            }
            Err(StoreError::Database("an audit term was not stored".into()))
        })
    }

    /// Runs one step, remembering its failure. After a failure every step fails the same way without
    /// a round trip (PostgreSQL would only answer "transaction is aborted").
    fn step<T>(
        &mut self,
        f: impl AsyncFnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if let Some(e) = &self.failed {
            return Err(codec::copy(e));
        }
        let result = self.handle.block_on(f(&self.tx));
        if let Err(e) = &result {
            self.failed = Some(codec::copy(e));
        }
        result
    }
}

/// Runs `text` in `tx` through the connection's statement cache.
pub(super) async fn query(
    tx: &Transaction<'_>,
    text: &str,
    types: &[Type],
    values: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Row>, StoreError> {
    let stmt = codec::prepare(&tx.statement_cache, tx.client(), text, types).await?;
    tx.query(&stmt, values).await.map_err(db_error)
}

/// Runs shared SQL (`?` placeholders, [`search_sql::Sql`]) in `tx`.
async fn query_shared(tx: &Transaction<'_>, q: &search_sql::Sql) -> Result<Vec<Row>, StoreError> {
    let values = codec::values(&q.params);
    query(
        tx,
        &search_sql::numbered(&q.text),
        &codec::types(&q.params),
        &values,
    )
    .await
}

/// Like [`query`], for statements whose rows are not needed.
pub(super) async fn execute(
    tx: &Transaction<'_>,
    text: &str,
    types: &[Type],
    values: &[&(dyn ToSql + Sync)],
) -> Result<u64, StoreError> {
    let stmt = codec::prepare(&tx.statement_cache, tx.client(), text, types).await?;
    tx.execute(&stmt, values).await.map_err(db_error)
}

impl Tx for PgTx<'_, '_> {
    fn current(
        &mut self,
        rtype: ResourceType,
        id: &str,
    ) -> Result<Option<StoredResource>, StoreError> {
        self.step(async |tx| {
            // Lock first, then read in a second statement: under READ COMMITTED a statement that waited
            // for the lock still reads with its old snapshot, so a join in the locking statement could
            // miss the version the other writer just committed. The second statement sees it.
            let text = "SELECT rid FROM resources WHERE rtype = $1 AND id = $2 FOR UPDATE";
            let locked =
                query(tx, text, &[Type::TEXT, Type::TEXT], &[&rtype.as_str(), &id]).await?;
            let Some(rid) = codec::first::<i64>(&locked)?.pop() else {
                return Ok(None);
            };
            let text = format!("{CURRENT} WHERE r.rid = $1");
            let rows = query(tx, &text, &[Type::INT8], &[&rid]).await?;
            Ok(codec::resources(&rows)?.pop().map(|(_, r)| r))
        })
    }

    fn search_ids(
        &mut self,
        search: &SearchQuery,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let q = search_sql::search_ids(search, limit);
        self.step(async |tx| codec::first(&query_shared(tx, &q).await?))
    }

    fn put(&mut self, w: &VersionWrite) -> Result<(), StoreError> {
        self.step(async |tx| put(tx, w).await)
    }

    fn audit_term(&mut self, text: &str) -> Result<i64, StoreError> {
        const FIND: &str = "SELECT id FROM audit_term WHERE text = $1";
        const INSERT: &str = "INSERT INTO audit_term (text) VALUES ($1) \
             ON CONFLICT (text) DO NOTHING RETURNING id";
        self.find_or_store(FIND, INSERT, &[Type::TEXT], &[&text])
    }

    fn audit_agent(&mut self, a: &AuditAgent) -> Result<i64, StoreError> {
        const FIND: &str = "SELECT id FROM audit_agent WHERE sub = $1 AND user_ref = $2 \
             AND role = $3 AND org = $4 AND purpose = $5";
        const INSERT: &str = "INSERT INTO audit_agent (sub, user_ref, role, org, purpose) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (sub, user_ref, role, org, purpose) \
             DO NOTHING RETURNING id";
        let values: [&(dyn ToSql + Sync); 5] = [&a.sub, &a.user, &a.role, &a.org, &a.purpose];
        self.find_or_store(FIND, INSERT, &[Type::TEXT; 5], &values)
    }

    fn audit_insert(&mut self, e: &AuditInsert) -> Result<bool, StoreError> {
        self.step(async |tx| {
            let seq = i64::try_from(e.seq).unwrap_or(i64::MAX);
            let rows = query(
                tx,
                "INSERT INTO audit_event (chain, seq, recorded, hash, body, kind, agent) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (chain, seq) DO NOTHING \
                 RETURNING id",
                &[
                    Type::INT8,
                    Type::INT8,
                    Type::INT8,
                    Type::BYTEA,
                    Type::BYTEA,
                    Type::INT8,
                    Type::INT8,
                ],
                &[
                    &e.chain,
                    &seq,
                    &e.recorded,
                    &e.hash,
                    &e.body,
                    &e.kind,
                    &e.agent,
                ],
            )
            .await?;
            let Some(row) = rows.first() else {
                return Ok(false);
            };
            let id: i64 = row.try_get(0).map_err(db_error)?;
            for key in &e.refs {
                execute(
                    tx,
                    "INSERT INTO audit_ref (key, event) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    &[Type::INT8, Type::INT8],
                    &[key, &id],
                )
                .await?;
            }
            Ok(true)
        })
    }

    fn audit_head(&mut self, chain: i64) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        self.step(async |tx| {
            for text_sql in [
                "SELECT seq, hash FROM audit_event WHERE chain = $1 ORDER BY seq DESC LIMIT 1",
                "SELECT seq, hash FROM audit_anchor WHERE chain = $1",
            ] {
                let rows = query(tx, text_sql, &[Type::INT8], &[&chain]).await?;
                if let Some(r) = rows.first() {
                    let seq: i64 = r.try_get(0).map_err(db_error)?;
                    let hash: Vec<u8> = r.try_get(1).map_err(db_error)?;
                    return Ok(Some((u64::try_from(seq).unwrap_or(0), hash)));
                }
            }
            Ok(None)
        })
    }

    fn audit_take_text(&mut self, limit: usize) -> Result<Vec<AuditRow>, StoreError> {
        self.step(async |tx| {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = query(
                tx,
                "SELECT id, chain, seq, recorded, hash, body FROM audit_event_text \
                 ORDER BY id LIMIT $1",
                &[Type::INT8],
                &[&limit],
            )
            .await?;
            let rows = rows
                .iter()
                .map(|r| {
                    Ok(AuditRow {
                        id: r.try_get(0).map_err(db_error)?,
                        chain: r.try_get(1).map_err(db_error)?,
                        seq: u64::try_from(r.try_get::<_, i64>(2).map_err(db_error)?).unwrap_or(0),
                        recorded: r.try_get(3).map_err(db_error)?,
                        hash: r.try_get(4).map_err(db_error)?,
                        body: r.try_get(5).map_err(db_error)?,
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            if let Some(last) = rows.last() {
                execute(
                    tx,
                    "DELETE FROM audit_event_text WHERE id <= $1",
                    &[Type::INT8],
                    &[&last.id],
                )
                .await?;
            }
            Ok(rows)
        })
    }

    fn audit_cut(
        &mut self,
        chain: i64,
        seq: u64,
        hash: &[u8],
        archived: i64,
    ) -> Result<u64, StoreError> {
        self.step(async |tx| {
            let seq = i64::try_from(seq).unwrap_or(i64::MAX);
            let pair = [Type::INT8, Type::INT8];
            execute(tx, audit_sql::CUT_REFS, &pair, &[&chain, &seq]).await?;
            let removed = execute(tx, audit_sql::CUT_EVENTS, &pair, &[&chain, &seq]).await?;
            execute(
                tx,
                audit_sql::ANCHOR,
                &[Type::INT8, Type::INT8, Type::BYTEA, Type::INT8],
                &[&chain, &seq, &hash, &archived],
            )
            .await?;
            Ok(removed)
        })
    }

    fn record_message(&mut self, m: &MessageRecord) -> Result<bool, StoreError> {
        // A concurrent insert of the same key waits for the other transaction; once it commits,
        // this one inserts nothing.
        self.step(async |tx| {
            execute(
                tx,
                "INSERT INTO messages (caller, request_id, correlation_id, digest, recorded, reply) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (caller, request_id) DO NOTHING",
                &[Type::TEXT, Type::TEXT, Type::TEXT, Type::TEXT, Type::INT8, Type::TEXT],
                &[
                    &m.caller,
                    &m.request_id,
                    &m.correlation_id,
                    &m.digest,
                    &m.recorded,
                    &m.reply,
                ],
            )
            .await
            .map(|n| n == 1)
        })
    }

    fn enqueue_change(
        &mut self,
        rtype: ResourceType,
        id: &str,
        version: u64,
        recorded: i64,
    ) -> Result<(), StoreError> {
        static INSERT: std::sync::LazyLock<String> =
            std::sync::LazyLock::new(|| crate::store::outbox::insert(|n| format!("${n}")));
        let version = i64::try_from(version).unwrap_or(i64::MAX);
        self.step(async |tx| {
            execute(
                tx,
                &INSERT,
                &[Type::TEXT, Type::TEXT, Type::INT8, Type::INT8],
                &[&rtype.as_str(), &id, &version, &recorded],
            )
            .await
            .map(|_| ())
        })
    }

    fn keep_subscriber(
        &mut self,
        subscription: &str,
        role: &str,
        secret: Option<&str>,
    ) -> Result<(), StoreError> {
        static KEEP: std::sync::LazyLock<String> =
            std::sync::LazyLock::new(|| crate::store::outbox::keep_subscriber(|n| format!("${n}")));
        self.step(async |tx| {
            execute(
                tx,
                &KEEP,
                &[Type::TEXT, Type::TEXT, Type::TEXT],
                &[&subscription, &role, &secret],
            )
            .await
            .map(|_| ())
        })
    }

    fn take_change(&mut self, row: i64) -> Result<bool, StoreError> {
        static DELETE: std::sync::LazyLock<String> =
            std::sync::LazyLock::new(|| crate::store::outbox::delete_row(|n| format!("${n}")));
        self.step(async |tx| {
            execute(tx, &DELETE, &[Type::INT8], &[&row])
                .await
                .map(|n| n == 1)
        })
    }

    fn append_event(&mut self, e: &crate::store::outbox::Event) -> Result<u64, StoreError> {
        use crate::store::outbox::{insert_event, next_number};
        static NEXT: std::sync::LazyLock<String> =
            std::sync::LazyLock::new(|| next_number(|n| format!("${n}")));
        static INSERT: std::sync::LazyLock<String> =
            std::sync::LazyLock::new(|| insert_event(|n| format!("${n}")));
        let version = i64::try_from(e.version).unwrap_or(i64::MAX);
        self.step(async |tx| {
            let rows = query(tx, &NEXT, &[Type::TEXT], &[&e.subscription]).await?;
            let number = codec::first::<i64>(&rows)?
                .pop()
                .ok_or_else(|| StoreError::Database("no event number".into()))?;
            execute(
                tx,
                &INSERT,
                &[
                    Type::TEXT,
                    Type::INT8,
                    Type::TEXT,
                    Type::TEXT,
                    Type::TEXT,
                    Type::INT8,
                    Type::INT8,
                ],
                &[
                    &e.subscription,
                    &number,
                    &e.topic,
                    &e.rtype.as_str(),
                    &e.id,
                    &version,
                    &e.recorded,
                ],
            )
            .await?;
            Ok(u64::try_from(number).unwrap_or(0))
        })
    }

    fn lock(&mut self, key: &str) -> Result<(), StoreError> {
        self.step(async |tx| {
            execute(
                tx,
                "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                &[Type::TEXT],
                &[&key],
            )
            .await
            .map(|_| ())
        })
    }
}

/// What the SQLite writer does for a put: upsert the current row, add the version (a duplicate
/// version is a [`StoreError::Conflict`]), and replace the index rows.
async fn put(tx: &Transaction<'_>, w: &VersionWrite) -> Result<(), StoreError> {
    let r = &w.resource;
    let rtype = r.rtype.as_str();
    let version = i64::try_from(r.version).unwrap_or(i64::MAX);
    let deleted = i16::from(r.deleted);
    let rows = query(
        tx,
        "INSERT INTO resources (rtype, id, version, last_updated, deleted) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (rtype, id) DO UPDATE SET version = excluded.version, \
         last_updated = excluded.last_updated, deleted = excluded.deleted RETURNING rid",
        &[Type::TEXT, Type::TEXT, Type::INT8, Type::INT8, Type::INT2],
        &[&rtype, &r.id, &version, &r.last_updated, &deleted],
    )
    .await?;
    let Some(rid) = codec::first::<i64>(&rows)?.pop() else {
        return Err(StoreError::Database("upsert returned no row id".into()));
    };
    execute(
        tx,
        "INSERT INTO versions (rid, rtype, version, last_updated, deleted, method, body) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            Type::INT8,
            Type::TEXT,
            Type::INT8,
            Type::INT8,
            Type::INT2,
            Type::TEXT,
            Type::TEXT,
        ],
        &[
            &rid,
            &rtype,
            &version,
            &r.last_updated,
            &deleted,
            &w.method.code(),
            &r.body,
        ],
    )
    .await?;
    if r.version > 1 {
        index::clear(tx, rid).await?;
    }
    index::write(tx, rtype, rid, &w.index).await
}
