//! The single SQLite writer thread with group commit.
//!
//! Jobs queue on a channel. The thread takes every job waiting (up to [`MAX_GROUP`]), runs each in its
//! own savepoint inside one `BEGIN IMMEDIATE` transaction, commits once, and only then answers each
//! job. A failed job rolls back to its savepoint and leaves the others alone; a failed commit fails
//! every job in the group, so no caller is ever told a write succeeded that is not on disk.
//! When the store is dropped the channel closes and the thread finishes the queued work first.

use std::collections::{HashMap, HashSet};
use std::sync::mpsc;

use rusqlite::{Connection, OptionalExtension, ToSql, params, params_from_iter};
use tokio::sync::oneshot;

use super::checkpoint::Checkpointer;
use super::{READ_CURRENT, resource_from_row};
use crate::fhir::ResourceType;
use crate::search::SearchQuery;
use crate::store::search_sql::{self, IndexRow};
use crate::store::{AuditAgent, AuditInsert, AuditRow, audit_sql};
use crate::store::{MessageRecord, StoreError, StoredResource, Tx, TxJob, VersionWrite};

/// Most jobs committed together.
const MAX_GROUP: usize = 256;

/// A job that works on the raw connection (snapshots); runs in its own savepoint like any other.
pub type RawJob = Box<dyn FnOnce(&Connection) -> Result<(), StoreError> + Send>;

enum Job {
    Tx(TxJob),
    Raw(RawJob),
}

type Reply = oneshot::Sender<Result<(), StoreError>>;

/// Handle to the writer thread.
pub struct Writer {
    queue: mpsc::Sender<(Job, Reply)>,
    /// Jobs sent and not yet taken by the thread.
    queued: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Writer {
    /// Starts the thread that owns `conn`.
    pub fn start(conn: Connection, checkpointer: Checkpointer) -> Result<Self, StoreError> {
        let (queue, jobs) = mpsc::channel::<(Job, Reply)>();
        let queued = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let taken = std::sync::Arc::clone(&queued);
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run(conn, jobs, checkpointer, &taken))
            .map_err(|e| StoreError::Unavailable(format!("cannot start writer: {e}")))?;
        Ok(Writer { queue, queued })
    }

    /// Jobs waiting for the thread (the metrics page's writer queue).
    pub fn queued(&self) -> usize {
        self.queued.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Queues a transaction job and waits until it is committed or failed.
    pub async fn submit(&self, job: TxJob) -> Result<(), StoreError> {
        self.send(Job::Tx(job)).await
    }

    /// Queues a raw-connection job.
    pub async fn submit_raw(&self, job: RawJob) -> Result<(), StoreError> {
        self.send(Job::Raw(job)).await
    }

    async fn send(&self, job: Job) -> Result<(), StoreError> {
        let (tx, rx) = oneshot::channel();
        self.queued
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.queue
            .send((job, tx))
            .map_err(|_| StoreError::Unavailable("writer stopped".into()))?;
        rx.await
            .map_err(|_| StoreError::Unavailable("writer stopped".into()))?
    }
}

fn run(
    conn: Connection,
    jobs: mpsc::Receiver<(Job, Reply)>,
    checkpointer: Checkpointer,
    queued: &std::sync::atomic::AtomicUsize,
) {
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(j) => group.push(j),
                Err(_) => break,
            }
        }
        queued.fetch_sub(group.len(), std::sync::atomic::Ordering::Relaxed);
        commit_group(&conn, group);
        checkpointer.after_commit(&conn);
    }
}

fn commit_group(conn: &Connection, group: Vec<(Job, Reply)>) {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        let msg = e.to_string();
        for (_, reply) in group {
            let _ = reply.send(Err(StoreError::Unavailable(msg.clone())));
        }
        return;
    }
    // A lone job needs no savepoint: its failure rolls back the whole transaction. (Inside a
    // savepoint every statement pays for statement-level rollback, which grows with the pages the
    // transaction has dirtied; large transaction bundles alone cost a third more with one.)
    if group.len() == 1 {
        let mut group = group;
        if let Some((job, reply)) = group.pop() {
            let result = run_job(conn, job);
            let end = match &result {
                Ok(()) => conn.execute_batch("COMMIT"),
                Err(_) => conn.execute_batch("ROLLBACK"),
            };
            let reply_with = match (result, end) {
                (Ok(()), Err(e)) => {
                    tracing::error!(error = %e, "commit failed");
                    let _ = conn.execute_batch("ROLLBACK");
                    Err(StoreError::Unavailable(e.to_string()))
                }
                (result, _) => result,
            };
            let _ = reply.send(reply_with);
        }
        return;
    }
    let mut outcomes = Vec::with_capacity(group.len());
    for (job, reply) in group {
        let result = run_in_savepoint(conn, job);
        outcomes.push((reply, result));
    }
    match conn.execute_batch("COMMIT") {
        Ok(()) => {
            for (reply, result) in outcomes {
                let _ = reply.send(result);
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "group commit failed");
            let _ = conn.execute_batch("ROLLBACK");
            for (reply, _) in outcomes {
                let _ = reply.send(Err(StoreError::Unavailable(e.to_string())));
            }
        }
    }
}

/// Runs a job; a panicking job must not take the writer (and every later write) down with it.
fn run_job(conn: &Connection, job: Job) -> Result<(), StoreError> {
    let run = std::panic::AssertUnwindSafe(|| match job {
        Job::Tx(f) => f(&mut SqliteTx { conn }),
        Job::Raw(f) => f(conn),
    });
    std::panic::catch_unwind(run)
        .unwrap_or_else(|_| Err(StoreError::Database("write job panicked".into())))
}

fn run_in_savepoint(conn: &Connection, job: Job) -> Result<(), StoreError> {
    conn.execute_batch("SAVEPOINT job")?;
    let result = run_job(conn, job);
    let end = match &result {
        Ok(()) => conn.execute_batch("RELEASE job"),
        Err(_) => conn.execute_batch("ROLLBACK TO job; RELEASE job"),
    };
    end?;
    result
}

/// [`Tx`] over the writer's connection.
struct SqliteTx<'c> {
    conn: &'c Connection,
}

impl Tx for SqliteTx<'_> {
    fn current(
        &mut self,
        rtype: ResourceType,
        id: &str,
    ) -> Result<Option<StoredResource>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&READ_CURRENT)?;
        Ok(stmt
            .query_row(params![rtype.as_str(), id], resource_from_row)
            .optional()?
            .map(|(_, r)| r))
    }

    fn search_ids(&mut self, query: &SearchQuery, limit: usize) -> Result<Vec<String>, StoreError> {
        let q = search_sql::search_ids(query, limit);
        let mut stmt = self.conn.prepare_cached(&q.text)?;
        let rows = stmt.query_map(params_from_iter(q.params.iter()), |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn put(&mut self, w: &VersionWrite) -> Result<(), StoreError> {
        // No savepoint of its own: each job already runs in one, and a job that ignores a failed
        // `put` and still returns Ok is a bug the job's callers cannot make (every caller propagates
        // with `?`). A savepoint per write cost up to half the CPU of large transaction bundles.
        self.put_rows(w)
    }

    fn lock(&mut self, _key: &str) -> Result<(), StoreError> {
        Ok(())
    }

    fn record_message(&mut self, m: &MessageRecord) -> Result<bool, StoreError> {
        let changed = self
            .conn
            .prepare_cached(
                "INSERT INTO messages (caller, request_id, correlation_id, digest, recorded, reply) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (caller, request_id) DO NOTHING",
            )?
            .execute(params![
                m.caller,
                m.request_id,
                m.correlation_id,
                m.digest,
                m.recorded,
                m.reply
            ])?;
        Ok(changed == 1)
    }

    fn enqueue_change(
        &mut self,
        rtype: ResourceType,
        id: &str,
        version: u64,
        recorded: i64,
    ) -> Result<(), StoreError> {
        static INSERT: std::sync::LazyLock<String> =
            std::sync::LazyLock::new(|| crate::store::outbox::insert(|n| format!("?{n}")));
        let version = i64::try_from(version).unwrap_or(i64::MAX);
        self.conn.prepare_cached(&INSERT)?.execute(params![
            rtype.as_str(),
            id,
            version,
            recorded
        ])?;
        Ok(())
    }

    fn keep_subscriber(
        &mut self,
        subscription: &str,
        role: &str,
        secret: Option<&str>,
    ) -> Result<(), StoreError> {
        static KEEP: std::sync::LazyLock<String> =
            std::sync::LazyLock::new(|| crate::store::outbox::keep_subscriber(|n| format!("?{n}")));
        self.conn
            .prepare_cached(&KEEP)?
            .execute(params![subscription, role, secret])?;
        Ok(())
    }

    fn take_change(&mut self, row: i64) -> Result<bool, StoreError> {
        static DELETE: std::sync::LazyLock<String> =
            std::sync::LazyLock::new(|| crate::store::outbox::delete_row(|n| format!("?{n}")));
        Ok(self.conn.prepare_cached(&DELETE)?.execute(params![row])? == 1)
    }

    fn append_event(&mut self, e: &crate::store::outbox::Event) -> Result<u64, StoreError> {
        use crate::store::outbox::{insert_event, next_number};
        static NEXT: std::sync::LazyLock<String> =
            std::sync::LazyLock::new(|| next_number(|n| format!("?{n}")));
        static INSERT: std::sync::LazyLock<String> =
            std::sync::LazyLock::new(|| insert_event(|n| format!("?{n}")));
        let number: i64 = self
            .conn
            .prepare_cached(&NEXT)?
            .query_row(params![e.subscription], |r| r.get(0))?;
        let version = i64::try_from(e.version).unwrap_or(i64::MAX);
        self.conn.prepare_cached(&INSERT)?.execute(params![
            e.subscription,
            number,
            e.topic,
            e.rtype.as_str(),
            e.id,
            version,
            e.recorded
        ])?;
        Ok(u64::try_from(number).unwrap_or(0))
    }

    fn audit_term(&mut self, text: &str) -> Result<i64, StoreError> {
        let found = self
            .conn
            .prepare_cached("SELECT id FROM audit_term WHERE text = ?1")?
            .query_row(params![text], |r| r.get(0))
            .optional()?;
        if let Some(id) = found {
            return Ok(id);
        }
        self.conn
            .prepare_cached("INSERT INTO audit_term (text) VALUES (?1)")?
            .execute(params![text])?;
        Ok(self.conn.last_insert_rowid())
    }

    fn audit_agent(&mut self, a: &AuditAgent) -> Result<i64, StoreError> {
        let found = self
            .conn
            .prepare_cached(
                "SELECT id FROM audit_agent WHERE sub = ?1 AND user_ref = ?2 AND role = ?3 \
                 AND org = ?4 AND purpose = ?5",
            )?
            .query_row(params![a.sub, a.user, a.role, a.org, a.purpose], |r| {
                r.get(0)
            })
            .optional()?;
        if let Some(id) = found {
            return Ok(id);
        }
        self.conn
            .prepare_cached(
                "INSERT INTO audit_agent (sub, user_ref, role, org, purpose) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![a.sub, a.user, a.role, a.org, a.purpose])?;
        Ok(self.conn.last_insert_rowid())
    }

    fn audit_insert(&mut self, e: &AuditInsert) -> Result<bool, StoreError> {
        // `INSERT OR IGNORE` without `RETURNING`: SQLite answers `RETURNING` through an ephemeral
        // table whose page cache it creates and zeroes per statement (about 119,000 instructions
        // an event, callgrind, `bench/audit_instructions.sh`).
        let changed = self
            .conn
            .prepare_cached(
                "INSERT OR IGNORE INTO audit_event (chain, seq, recorded, hash, body, kind, agent) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                e.chain,
                i64::try_from(e.seq).unwrap_or(i64::MAX),
                e.recorded,
                e.hash,
                e.body,
                e.kind,
                e.agent
            ])?;
        if changed == 0 {
            return Ok(false);
        }
        let id = self.conn.last_insert_rowid();
        let mut stmt = self
            .conn
            .prepare_cached("INSERT OR IGNORE INTO audit_ref (key, event) VALUES (?1, ?2)")?;
        for key in &e.refs {
            stmt.execute(params![key, id])?;
        }
        Ok(true)
    }

    fn audit_head(&mut self, chain: i64) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        let row = |r: &rusqlite::Row<'_>| {
            Ok((u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0), r.get(1)?))
        };
        let last = self
            .conn
            .prepare_cached(
                "SELECT seq, hash FROM audit_event WHERE chain = ?1 ORDER BY seq DESC LIMIT 1",
            )?
            .query_row(params![chain], row)
            .optional()?;
        if last.is_some() {
            return Ok(last);
        }
        Ok(self
            .conn
            .prepare_cached("SELECT seq, hash FROM audit_anchor WHERE chain = ?1")?
            .query_row(params![chain], row)
            .optional()?)
    }

    fn audit_take_text(&mut self, limit: usize) -> Result<Vec<AuditRow>, StoreError> {
        let rows: Vec<AuditRow> = self
            .conn
            .prepare_cached(
                "SELECT id, chain, seq, recorded, hash, body FROM audit_event_text \
                 ORDER BY id LIMIT ?1",
            )?
            .query_map(params![i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
                Ok(AuditRow {
                    id: r.get(0)?,
                    chain: r.get(1)?,
                    seq: u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
                    recorded: r.get(3)?,
                    hash: r.get(4)?,
                    body: r.get(5)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        if let Some(last) = rows.last() {
            self.conn
                .prepare_cached("DELETE FROM audit_event_text WHERE id <= ?1")?
                .execute(params![last.id])?;
        }
        Ok(rows)
    }

    fn audit_cut(
        &mut self,
        chain: i64,
        seq: u64,
        hash: &[u8],
        archived: i64,
    ) -> Result<u64, StoreError> {
        let seq = i64::try_from(seq).unwrap_or(i64::MAX);
        self.conn
            .prepare_cached(audit_sql::CUT_REFS)?
            .execute(params![chain, seq])?;
        let removed = self
            .conn
            .prepare_cached(audit_sql::CUT_EVENTS)?
            .execute(params![chain, seq])?;
        self.conn
            .prepare_cached(audit_sql::ANCHOR)?
            .execute(params![chain, seq, hash, archived])?;
        Ok(removed as u64)
    }
}

impl SqliteTx<'_> {
    fn put_rows(&mut self, w: &VersionWrite) -> Result<(), StoreError> {
        let r = &w.resource;
        let version = i64::try_from(r.version).unwrap_or(i64::MAX);
        let deleted = i64::from(r.deleted);
        let rid: i64 = self
            .conn
            .prepare_cached(
                "INSERT INTO resources (rtype, id, version, last_updated, deleted) VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT (rtype, id) DO UPDATE SET version = excluded.version, \
                 last_updated = excluded.last_updated, deleted = excluded.deleted RETURNING rid",
            )?
            .query_row(params![r.rtype.as_str(), r.id, version, r.last_updated, deleted], |row| row.get(0))?;
        self.conn
            .prepare_cached(
                "INSERT INTO versions (rid, rtype, version, last_updated, deleted, method, body) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                rid,
                r.rtype.as_str(),
                version,
                r.last_updated,
                deleted,
                w.method.code(),
                r.body
            ])
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(f, _)
                    if f.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    StoreError::Conflict
                }
                other => other.into(),
            })?;
        let rows: Vec<IndexRow<'_>> = w.index.iter().map(search_sql::index_row).collect();
        if r.version == 1 {
            return write_index(self.conn, r.rtype.as_str(), rid, &rows);
        }
        // A new version changes few index rows (a Task's status, an update's date): only those
        // are deleted and inserted. Rewriting all of them was a fifth of a Task update's time on
        // the writer thread, which every write waits for.
        let stored = stored_index(self.conn, rid)?;
        let wanted: HashSet<RowKey> = rows.iter().map(row_key).collect();
        for (key, table) in stored.iter().filter(|(k, _)| !wanted.contains(k)) {
            let (_, param, a, b) = key;
            let text = DELETES[*table];
            let mut stmt = self.conn.prepare_cached(text)?;
            if *table == 2 {
                let (lo, hi) = (a.parse::<i64>().unwrap_or(0), b.parse::<i64>().unwrap_or(0));
                stmt.execute(params![r.rtype.as_str(), param, lo, hi, rid])?;
            } else {
                stmt.execute(params![r.rtype.as_str(), param, a, b, rid])?;
            }
        }
        let fresh: Vec<IndexRow<'_>> = rows
            .into_iter()
            .filter(|row| !stored.contains_key(&row_key(row)))
            .collect();
        write_index(self.conn, r.rtype.as_str(), rid, &fresh)
    }
}

/// An index row as compared between versions: (table, param, and its two value columns in
/// table order; a date's as text of its numbers).
type RowKey = (usize, String, String, String);

fn row_key(row: &IndexRow<'_>) -> RowKey {
    match row {
        IndexRow::Token {
            param,
            system,
            code,
        } => (0, param.clone(), (*code).to_owned(), (*system).to_owned()),
        IndexRow::String { param, norm, exact } => {
            (1, (*param).to_owned(), norm.clone(), (*exact).to_owned())
        }
        IndexRow::Date { param, lo, hi } => {
            (2, (*param).to_owned(), lo.to_string(), hi.to_string())
        }
        IndexRow::Ref {
            param,
            target_type,
            target_id,
        } => (
            3,
            (*param).to_owned(),
            (*target_id).to_owned(),
            (*target_type).to_owned(),
        ),
    }
}

/// The index rows stored for `rid`, with the table each is in.
fn stored_index(conn: &Connection, rid: i64) -> Result<HashMap<RowKey, usize>, StoreError> {
    let mut out = HashMap::new();
    for (table, select) in SELECTS.iter().enumerate() {
        let mut stmt = conn.prepare_cached(select)?;
        let rows = stmt.query_map([rid], |r| {
            let value = |i: usize| -> rusqlite::Result<String> {
                if table == 2 {
                    Ok(r.get::<_, i64>(i)?.to_string())
                } else {
                    r.get(i)
                }
            };
            Ok((table, r.get::<_, String>(0)?, value(1)?, value(2)?))
        })?;
        for row in rows {
            out.insert(row?, table);
        }
    }
    Ok(out)
}

/// The stored rows of one resource, per index table (param and the two value columns, in
/// [`RowKey`] order).
const SELECTS: [&str; 4] = [
    "SELECT param, code, system FROM sp_token WHERE rid = ?1",
    "SELECT param, norm, exact FROM sp_string WHERE rid = ?1",
    "SELECT param, lo, hi FROM sp_date WHERE rid = ?1",
    "SELECT param, target_id, target_type FROM sp_ref WHERE rid = ?1",
];

/// One stored row removed, by its whole primary key.
const DELETES: [&str; 4] = [
    "DELETE FROM sp_token WHERE rtype = ?1 AND param = ?2 AND code = ?3 AND system = ?4 AND rid = ?5",
    "DELETE FROM sp_string WHERE rtype = ?1 AND param = ?2 AND norm = ?3 AND exact = ?4 AND rid = ?5",
    "DELETE FROM sp_date WHERE rtype = ?1 AND param = ?2 AND lo = ?3 AND hi = ?4 AND rid = ?5",
    "DELETE FROM sp_ref WHERE rtype = ?1 AND param = ?2 AND target_id = ?3 AND target_type = ?4 AND rid = ?5",
];

/// Index rows per INSERT statement at most: one statement per few rows rather than per row
/// (statement overhead was a fifth of the writer's SQL time in a bulk import). Chunks are powers of
/// two so that few distinct statements are prepared and cached.
const ROWS_PER_INSERT: usize = 16;

fn write_index(
    conn: &Connection,
    rtype: &str,
    rid: i64,
    rows: &[IndexRow<'_>],
) -> Result<(), StoreError> {
    let mut tables: [Vec<[&dyn ToSql; 5]>; 4] = Default::default();
    for row in rows {
        match row {
            IndexRow::Token {
                param,
                system,
                code,
            } => {
                tables[0].push([&rtype, param, code, system, &rid]);
            }
            IndexRow::String { param, norm, exact } => {
                tables[1].push([&rtype, param, norm, exact, &rid]);
            }
            IndexRow::Date { param, lo, hi } => tables[2].push([&rtype, param, lo, hi, &rid]),
            IndexRow::Ref {
                param,
                target_type,
                target_id,
            } => tables[3].push([&rtype, param, target_id, target_type, &rid]),
        }
    }
    for (table, mut values) in tables.iter().map(Vec::as_slice).enumerate() {
        while !values.is_empty() {
            let n = chunk_len(values.len());
            let (chunk, rest) = values.split_at(n);
            let params: Vec<&dyn ToSql> = chunk.iter().flatten().copied().collect();
            let text = &INSERTS[table][n.trailing_zeros() as usize];
            conn.prepare_cached(text)?.execute(params.as_slice())?;
            values = rest;
        }
    }
    Ok(())
}

/// `INSERT OR IGNORE` statements per index table (token, string, date, reference) and per chunk
/// size (1, 2, 4, ... [`ROWS_PER_INSERT`] rows).
static INSERTS: std::sync::LazyLock<[Vec<String>; 4]> = std::sync::LazyLock::new(|| {
    let columns = [
        "sp_token (rtype, param, code, system, rid)",
        "sp_string (rtype, param, norm, exact, rid)",
        "sp_date (rtype, param, lo, hi, rid)",
        "sp_ref (rtype, param, target_id, target_type, rid)",
    ];
    columns.map(|c| {
        (0..=ROWS_PER_INSERT.trailing_zeros())
            .map(|k| {
                let rows = vec!["(?, ?, ?, ?, ?)"; 1 << k].join(", ");
                format!("INSERT OR IGNORE INTO {c} VALUES {rows}")
            })
            .collect()
    })
});

/// The largest power of two no greater than `left` or [`ROWS_PER_INSERT`].
fn chunk_len(left: usize) -> usize {
    let n = left.min(ROWS_PER_INSERT);
    1 << (usize::BITS - 1 - n.leading_zeros())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_rows_go_in_power_of_two_chunks() {
        let mut left = 37;
        let mut sizes = Vec::new();
        while left > 0 {
            let n = chunk_len(left);
            sizes.push(n);
            left -= n;
        }
        assert_eq!(sizes, [16, 16, 4, 1]);
        assert!(INSERTS[3][2].starts_with("INSERT OR IGNORE INTO sp_ref"));
        assert_eq!(INSERTS[0][4].matches("(?, ?, ?, ?, ?)").count(), 16);
    }
}
