//! Conversions between the store's types and tokio-postgres: bound parameters, result rows, errors,
//! and the bounded statement cache every query goes through.

use std::error::Error as _;

use deadpool_postgres::{PoolError, StatementCache};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Row, Statement};

use crate::fhir::ResourceType;
use crate::store::search_sql::Param;
use crate::store::{RowId, StoreError, StoredResource};

/// Most statements kept prepared per connection. Search SQL varies with the shape of the query (and
/// `_include` lists with the page size), so an unbounded cache would grow with every new shape, in
/// this process and in the server's session; past this size the cache starts afresh.
const MAX_CACHED_STATEMENTS: usize = 512;

/// A parameter list as tokio-postgres takes it.
pub(super) type Values<'a> = Vec<&'a (dyn ToSql + Sync)>;

/// The declared types of `params`: `Param::Text` is TEXT, `Param::Int` is INT8, `Param::Bytes` BYTEA. Declaring them (rather
/// than letting the server infer) makes each value bind exactly as SQLite binds it, whatever the
/// expression it is compared with.
pub(super) fn types(params: &[Param]) -> Vec<Type> {
    params
        .iter()
        .map(|p| match p {
            Param::Text(_) => Type::TEXT,
            Param::Int(_) => Type::INT8,
            Param::Bytes(_) => Type::BYTEA,
        })
        .collect()
}

/// The values of `params`, in order.
pub(super) fn values(params: &[Param]) -> Values<'_> {
    params
        .iter()
        .map(|p| -> &(dyn ToSql + Sync) {
            match p {
                Param::Text(s) => s,
                Param::Int(i) => i,
                Param::Bytes(b) => b,
            }
        })
        .collect()
}

/// Prepares `text` through the connection's statement cache (see [`MAX_CACHED_STATEMENTS`]).
pub(super) async fn prepare(
    cache: &StatementCache,
    client: &Client,
    text: &str,
    types: &[Type],
) -> Result<Statement, StoreError> {
    if cache.size() >= MAX_CACHED_STATEMENTS {
        cache.clear();
    }
    cache
        .prepare_typed(client, text, types)
        .await
        .map_err(db_error)
}

/// Maps a database error. Lost or refused connections are `Unavailable` (the caller may retry later,
/// readiness fails); a unique violation on `resources (rtype, id)` or `versions (rid, version)` means
/// another transaction wrote the same resource first, and serialization failures and deadlocks are
/// retryable too: all `Conflict`. Everything else is `Database`.
pub(super) fn db_error(e: tokio_postgres::Error) -> StoreError {
    if e.is_closed() {
        return StoreError::Unavailable(format!("PostgreSQL connection closed: {e}"));
    }
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        if *code == SqlState::UNIQUE_VIOLATION
            && matches!(db.table(), Some("resources" | "versions"))
        {
            return StoreError::Conflict;
        }
        if *code == SqlState::T_R_SERIALIZATION_FAILURE || *code == SqlState::T_R_DEADLOCK_DETECTED
        {
            return StoreError::Conflict;
        }
        let unavailable = code.code().starts_with("08")
            || [
                SqlState::ADMIN_SHUTDOWN,
                SqlState::CRASH_SHUTDOWN,
                SqlState::CANNOT_CONNECT_NOW,
                SqlState::TOO_MANY_CONNECTIONS,
                SqlState::READ_ONLY_SQL_TRANSACTION,
            ]
            .contains(code);
        return if unavailable {
            StoreError::Unavailable(db.to_string())
        } else {
            StoreError::Database(db.to_string())
        };
    }
    if e.source().is_some_and(|s| s.is::<std::io::Error>()) {
        return StoreError::Unavailable(with_causes(&e));
    }
    StoreError::Database(with_causes(&e))
}

/// `e` and its causes: tokio-postgres shows only "error connecting to server" for a refused
/// connection, with the reason in its source.
fn with_causes(e: &tokio_postgres::Error) -> String {
    let mut message = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        message.push_str(": ");
        message.push_str(&c.to_string());
        cause = c.source();
    }
    message
}

/// Maps a failure to check a connection out of the pool; `server` names the database for the log
/// (host, port and database name: never the password).
pub(super) fn pool_error(e: PoolError, server: &str) -> StoreError {
    match e {
        PoolError::Backend(e) => match db_error(e) {
            StoreError::Unavailable(m) | StoreError::Database(m) => {
                StoreError::Unavailable(format!("cannot connect to PostgreSQL at {server}: {m}"))
            }
            other => other,
        },
        PoolError::Timeout(kind) => StoreError::Unavailable(format!(
            "timed out ({kind:?}) waiting for a PostgreSQL connection to {server}"
        )),
        other => StoreError::Unavailable(format!("PostgreSQL pool for {server}: {other}")),
    }
}

/// The first error a transaction met, copied so it can be both returned to the job and kept.
pub(super) fn copy(e: &StoreError) -> StoreError {
    match e {
        StoreError::Unavailable(m) => StoreError::Unavailable(m.clone()),
        StoreError::Conflict => StoreError::Conflict,
        StoreError::Database(m) => StoreError::Database(m.clone()),
        StoreError::RolledBack => StoreError::RolledBack,
    }
}

fn column<'a, T: tokio_postgres::types::FromSql<'a>>(
    row: &'a Row,
    i: usize,
) -> Result<T, StoreError> {
    row.try_get(i)
        .map_err(|e| StoreError::Database(format!("column {i}: {e}")))
}

/// Decodes the columns of [`crate::store::search_sql::CURRENT`] (and of history rows, whose first column is
/// the version row id): `rid`/`vid`, `version` and `last_updated` are BIGINT, `deleted` SMALLINT.
pub(super) fn resource(row: &Row) -> Result<(RowId, StoredResource), StoreError> {
    let rtype: &str = column(row, 1)?;
    let rtype = rtype
        .parse::<ResourceType>()
        .map_err(|_| StoreError::Database(format!("unknown resource type {rtype:?} in store")))?;
    let version: i64 = column(row, 3)?;
    let deleted: i16 = column(row, 5)?;
    Ok((
        column(row, 0)?,
        StoredResource {
            rtype,
            id: column(row, 2)?,
            version: u64::try_from(version).unwrap_or(0),
            last_updated: column(row, 4)?,
            deleted: deleted != 0,
            body: column(row, 6)?,
        },
    ))
}

/// Decodes every row with [`resource`].
pub(super) fn resources(rows: &[Row]) -> Result<Vec<(RowId, StoredResource)>, StoreError> {
    rows.iter().map(resource).collect()
}

/// The first column of every row.
pub(super) fn first<T: for<'a> tokio_postgres::types::FromSql<'a>>(
    rows: &[Row],
) -> Result<Vec<T>, StoreError> {
    rows.iter().map(|r| column(r, 0)).collect()
}
