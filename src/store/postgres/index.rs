//! Writing a version's search-index rows: the rows [`search_sql::index_row`] makes, as SQLite writes them,
//! but one statement per table rather than one per row.

use deadpool_postgres::Transaction;
use tokio_postgres::types::{ToSql, Type};

use super::tx::execute;
use crate::search::IndexEntry;
use crate::store::StoreError;
use crate::store::search_sql::{self, IndexRow};

/// Deletes a resource's index rows (before its new version's are written). The four statements are
/// sent together: the client pipelines them on the one connection.
pub(super) async fn clear(tx: &Transaction<'_>, rid: i64) -> Result<(), StoreError> {
    let delete = |table: &str| format!("DELETE FROM {table} WHERE rid = $1");
    let (token, string, date, reference) = (
        delete("sp_token"),
        delete("sp_string"),
        delete("sp_date"),
        delete("sp_ref"),
    );
    let by_rid: [&(dyn ToSql + Sync); 1] = [&rid];
    tokio::try_join!(
        execute(tx, &token, &[Type::INT8], &by_rid),
        execute(tx, &string, &[Type::INT8], &by_rid),
        execute(tx, &date, &[Type::INT8], &by_rid),
        execute(tx, &reference, &[Type::INT8], &by_rid),
    )?;
    Ok(())
}

/// Inserts the index rows of `entries` for resource row `rid` of type `rtype`, ignoring duplicates
/// (`ON CONFLICT DO NOTHING`, SQLite's `INSERT OR IGNORE`).
pub(super) async fn write(
    tx: &Transaction<'_>,
    rtype: &str,
    rid: i64,
    entries: &[IndexEntry],
) -> Result<(), StoreError> {
    let mut token = Table::new("sp_token", "code, system", Type::TEXT_ARRAY);
    let mut string = Table::new("sp_string", "norm, exact", Type::TEXT_ARRAY);
    let mut date = Table::new("sp_date", "lo, hi", Type::INT8_ARRAY);
    let mut reference = Table::new("sp_ref", "target_id, target_type", Type::TEXT_ARRAY);
    for entry in entries {
        match search_sql::index_row(entry) {
            IndexRow::Token {
                param,
                system,
                code,
            } => token.push(param, code, system),
            IndexRow::String { param, norm, exact } => string.push(param.to_owned(), norm, exact),
            IndexRow::Date { param, lo, hi } => date.push(param.to_owned(), lo, hi),
            IndexRow::Ref {
                param,
                target_type,
                target_id,
            } => reference.push(param.to_owned(), target_id, target_type),
        }
    }
    tokio::try_join!(
        token.insert(tx, rtype, rid),
        string.insert(tx, rtype, rid),
        date.insert(tx, rtype, rid),
        reference.insert(tx, rtype, rid),
    )?;
    Ok(())
}

/// One index table's new rows as column arrays: `(rtype, param, a, b, rid)`, where `rtype` and `rid`
/// are the same for every row.
struct Table<A, B> {
    name: &'static str,
    /// The names of the `a` and `b` columns.
    columns: &'static str,
    /// The array type of both `a` and `b`.
    array: Type,
    params: Vec<String>,
    a: Vec<A>,
    b: Vec<B>,
}

impl<A: ToSql + Sync, B: ToSql + Sync> Table<A, B> {
    fn new(name: &'static str, columns: &'static str, array: Type) -> Self {
        Table {
            name,
            columns,
            array,
            params: Vec::new(),
            a: Vec::new(),
            b: Vec::new(),
        }
    }

    fn push(&mut self, param: String, a: A, b: B) {
        self.params.push(param);
        self.a.push(a);
        self.b.push(b);
    }

    /// One `INSERT ... SELECT FROM UNNEST(...)` for all the rows: one round trip, and one cached
    /// statement whatever the number of rows.
    async fn insert(&self, tx: &Transaction<'_>, rtype: &str, rid: i64) -> Result<(), StoreError> {
        if self.params.is_empty() {
            return Ok(());
        }
        let (name, columns) = (self.name, self.columns);
        let text = format!(
            "INSERT INTO {name} (rtype, param, {columns}, rid) SELECT $1, u.p, u.a, u.b, $2 \
             FROM UNNEST($3, $4, $5) AS u(p, a, b) ON CONFLICT DO NOTHING"
        );
        let types = [
            Type::TEXT,
            Type::INT8,
            Type::TEXT_ARRAY,
            self.array.clone(),
            self.array.clone(),
        ];
        execute(
            tx,
            &text,
            &types,
            &[&rtype, &rid, &self.params, &self.a, &self.b],
        )
        .await?;
        Ok(())
    }
}
