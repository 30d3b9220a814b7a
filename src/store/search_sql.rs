//! SQL shared by both backends: compiling a [`SearchQuery`] into a query over the index tables, and
//! the columns of index rows. Placeholders are written `?`; PostgreSQL numbers them ([`numbered`]).
//!
//! Index tables (one row per extracted value, keyed by the resource's row id `rid`):
//! `sp_token(rtype, param, system, code, rid)` (also uris, and `param:identifier` rows for
//! Reference.identifier), `sp_string(rtype, param, norm, exact, rid)`,
//! `sp_date(rtype, param, lo, hi, rid)`, `sp_ref(rtype, param, target_type, target_id, rid)`.
//! An absent token system is stored as `''`.
//!
//! `search::matcher` decides a query on one resource's entries in memory (for forms a caller sees
//! redacted) and must decide exactly as `predicate` and `order_by` do: change both together;
//! `tests/store/view_matching.rs` compares them on both backends.

mod predicate;

use predicate::{Tie, predicate};

use super::HistoryFilter;
use crate::fhir::ResourceType;
use crate::search::date::Range;
pub use crate::search::row::{IndexRow, index_row};
use crate::search::{CareLink, Include, registry};
use crate::search::{Filter, Predicate, Prefix, SearchQuery, SortBy, StringMatch, SystemMatch};

/// Columns selected for a current resource: `rid, rtype, id, version, last_updated, deleted, body`.
pub const CURRENT: &str = "SELECT r.rid, r.rtype, r.id, r.version, r.last_updated, r.deleted, v.body \
     FROM resources r JOIN versions v ON v.rid = r.rid AND v.version = r.version";

/// A bound SQL value.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    /// TEXT.
    Text(String),
    /// INTEGER / BIGINT.
    Int(i64),
    /// BLOB / BYTEA.
    Bytes(Vec<u8>),
}

/// SQL text with its parameters, in order.
#[derive(Debug, Default)]
pub struct Sql {
    /// The statement, with `?` placeholders.
    pub text: String,
    /// The values of the placeholders.
    pub params: Vec<Param>,
}

impl Sql {
    /// SQL text.
    pub fn push(&mut self, s: &str) {
        self.text.push_str(s);
    }
    fn bind(&mut self, p: Param) {
        self.text.push('?');
        self.params.push(p);
    }
    /// A text parameter.
    pub fn text(&mut self, s: &str) {
        self.bind(Param::Text(s.to_owned()));
    }
    /// Comma-separated text parameters (the inside of an `IN (...)`).
    pub fn texts<'s>(&mut self, items: impl IntoIterator<Item = &'s str>) {
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.text(item);
        }
    }
    /// An integer parameter.
    pub fn int(&mut self, i: i64) {
        self.bind(Param::Int(i));
    }
    /// Comma-separated integer parameters (the inside of an `IN (...)`).
    pub fn ints(&mut self, items: impl IntoIterator<Item = i64>) {
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.int(item);
        }
    }
    /// A byte-string parameter.
    pub fn bytes(&mut self, b: &[u8]) {
        self.bind(Param::Bytes(b.to_vec()));
    }
}

/// Rewrites `?` placeholders as `$1, $2, ...` (PostgreSQL). Generated SQL has no `?` in literals.
pub fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

pub use crate::search::normalise;

/// `SELECT r.rid ...` for `query`: live resources in the query's order, at most `limit`.
pub fn search_rows(query: &SearchQuery, limit: usize) -> Sql {
    search_rows_after(query, None, limit)
}

/// [`search_rows`] continued after row `after` (a query without `_sort`, whose order is the
/// rows' own): how an export walks a result of any size in pages.
pub fn search_rows_after(query: &SearchQuery, after: Option<i64>, limit: usize) -> Sql {
    if let Some(sql) = from_reference_index(query, after, limit) {
        return sql;
    }
    let mut sql = Sql::default();
    sql.push("SELECT r.rid FROM resources r WHERE ");
    where_clause(&mut sql, query, "r");
    if let Some(after) = after {
        sql.push(" AND r.rid > ");
        sql.int(after);
    }
    order_by(&mut sql, query);
    limit_clause(&mut sql, limit);
    sql
}

/// `SELECT r.id ...` for conditional interactions (inside a write transaction).
pub fn search_ids(query: &SearchQuery, limit: usize) -> Sql {
    let mut sql = Sql::default();
    sql.push("SELECT r.id FROM resources r WHERE ");
    where_clause(&mut sql, query, "r");
    order_by(&mut sql, query);
    limit_clause(&mut sql, limit);
    sql
}

/// A search driven by one typed reference (`Task?owner=Organization/x&status=...`,
/// `CarePlan?patient=Patient/p`) read straight from the reference index, every other filter
/// checked on each row there: no `resources` row is visited. A deleted resource has no index rows
/// and an index row carries its resource's type, so the rows are the same; the reference index's
/// primary key makes each resource appear once. A third of the time of the worklist's query
/// (`bench/referrals.sh`). Only when nothing else needs the `resources` row: no id or
/// `_lastUpdated` filter, no relationship probe by id, default order. `None` otherwise.
fn from_reference_index(query: &SearchQuery, after: Option<i64>, limit: usize) -> Option<Sql> {
    let rtype = query.rtype.as_str();
    if !query.sort.is_empty() {
        return None;
    }
    let needs_row = |p: &Predicate| {
        matches!(
            p,
            Predicate::Id(_)
                | Predicate::LastUpdated(..)
                | Predicate::Has { .. }
                | Predicate::Related {
                    patient_param: "_id",
                    ..
                }
        )
    };
    if query
        .filters
        .iter()
        .any(|Filter(alts)| alts.iter().any(needs_row))
    {
        return None;
    }
    let driver = query.filters.iter().position(|Filter(alts)| {
        matches!(alts.as_slice(), [Predicate::Reference { param, rtype: target, .. }]
            if target.is_some() || registry::stored_reference(rtype, param).1.is_some())
    })?;
    let Filter(alts) = query.filters.get(driver)?;
    let [
        Predicate::Reference {
            param,
            rtype: target,
            id,
        },
    ] = alts.as_slice()
    else {
        return None;
    };
    let (stored, narrowed) = registry::stored_reference(rtype, param);
    let mut sql = Sql::default();
    sql.push("SELECT ix.rid FROM sp_ref ix WHERE ix.rtype = ");
    sql.text(rtype);
    sql.push(" AND ix.param = ");
    sql.text(stored);
    sql.push(" AND ix.target_id = ");
    sql.text(id);
    for t in [*target, narrowed].into_iter().flatten() {
        sql.push(" AND ix.target_type = ");
        sql.text(t.as_str());
    }
    for (f, Filter(alternatives)) in query.filters.iter().enumerate() {
        if f == driver {
            continue;
        }
        sql.push(" AND (");
        for (i, p) in alternatives.iter().enumerate() {
            if i > 0 {
                sql.push(" OR ");
            }
            // `ix`: no subquery of a check uses that alias (they use t, s, d, x, y, k).
            row_check(&mut sql, rtype, p, "ix");
        }
        sql.push(")");
    }
    if let Some(after) = after {
        sql.push(" AND ix.rid > ");
        sql.int(after);
    }
    sql.push(" ORDER BY ix.rid ASC");
    limit_clause(&mut sql, limit);
    Some(sql)
}

/// ` LIMIT n` written as a literal, not a bound parameter: SQLite's planner reads a bound LIMIT, so
/// binding one expires the statement and every execution re-prepared it (5% of the writer's time in
/// an import). The value is the server's own page arithmetic, never caller text, and the few
/// distinct limits keep the statement cache small.
fn limit_clause(sql: &mut Sql, limit: usize) {
    sql.push(&format!(
        " LIMIT {}",
        i64::try_from(limit).unwrap_or(i64::MAX)
    ));
}

/// `SELECT COUNT(*) ...` for `query`.
pub fn count_rows(query: &SearchQuery) -> Sql {
    let mut sql = Sql::default();
    sql.push("SELECT COUNT(*) FROM resources r WHERE ");
    where_clause(&mut sql, query, "r");
    sql
}

/// The conditions of `query`. When a filter can drive the search from an index table (the most
/// selective one by [`rank`]), it is written as `rid IN (subquery)` and every other filter as a
/// per-row check on that row's index entries (`EXISTS ... WHERE x.rid = r.rid`): a second
/// `rid IN (subquery)` would make SQLite build the whole list of its matches on every execution (a
/// worklist's `status=requested` listed every requested Task of the store to keep the hundred
/// owned by the caller: 83% of the worklist's time).
fn where_clause(sql: &mut Sql, query: &SearchQuery, alias: &str) {
    let driver = query
        .filters
        .iter()
        .enumerate()
        .filter(|(_, Filter(alts))| {
            !alts.is_empty()
                && alts
                    .iter()
                    .all(|p| is_selective(p) || matches!(p, Predicate::Id(_)))
        })
        .min_by_key(|(_, Filter(alts))| alts.iter().map(rank).max().unwrap_or(u8::MAX))
        .map(|(i, _)| i);
    // Ids are found through the `(rtype, id)` index itself, which the type must then reach.
    let by_id = driver
        .and_then(|i| query.filters.get(i))
        .is_some_and(|Filter(alts)| alts.iter().all(|p| matches!(p, Predicate::Id(_))));
    type_condition(sql, alias, query.rtype.as_str(), driver.is_some() && !by_id);
    sql.push(&format!(" AND {alias}.deleted = 0"));
    for (f, Filter(alternatives)) in query.filters.iter().enumerate() {
        sql.push(" AND (");
        for (i, p) in alternatives.iter().enumerate() {
            if i > 0 {
                sql.push(" OR ");
            }
            if driver.is_some() && driver != Some(f) {
                row_check(sql, query.rtype.as_str(), p, alias);
            } else {
                predicate(sql, query.rtype.as_str(), p, alias);
            }
        }
        sql.push(")");
    }
}

/// How selective a predicate usually is (lower: fewer rows), to pick the filter that drives a
/// search: an id or identifier names one resource, a reference one patient's or organisation's,
/// a status token a large share of the type.
fn rank(p: &Predicate) -> u8 {
    match p {
        Predicate::Id(_) => 0,
        Predicate::Token { param, .. } if matches!(*param, "identifier" | "_id") => 1,
        Predicate::Reference { .. } | Predicate::RefIdentifier { .. } => 2,
        Predicate::String { .. } | Predicate::Uri { .. } => 3,
        Predicate::Chain { .. } | Predicate::Has { .. } => 4,
        Predicate::Token { .. } => 5,
        _ => 6,
    }
}

/// `p` as a check of row `alias`'s own index entries, where it has one (tokens, URIs, references,
/// dates); otherwise as [`predicate`] writes it.
fn row_check(sql: &mut Sql, rtype: &str, p: &Predicate, alias: &str) {
    match p {
        Predicate::Token {
            param,
            system,
            code,
            negate,
        } => {
            let tie = Tie::Exists { negate: *negate };
            predicate::token(sql, tie, rtype, alias, param, system, code.as_deref());
        }
        Predicate::Uri { param, value } => {
            let none = &SystemMatch::None;
            predicate::token(sql, Tie::EXISTS, rtype, alias, param, none, Some(value));
        }
        Predicate::Reference {
            param,
            rtype: target,
            id,
        } => predicate::reference(sql, Tie::EXISTS, rtype, alias, param, *target, id),
        Predicate::Date {
            param,
            prefix,
            range,
        } => predicate::date(sql, Tie::EXISTS, rtype, alias, param, *prefix, *range),
        _ => predicate(sql, rtype, p, alias),
    }
}

/// True for predicates answered from an index table, which select few rows: the query should start
/// from them rather than from every resource of the type.
fn is_selective(p: &Predicate) -> bool {
    matches!(
        p,
        Predicate::Token { negate: false, .. }
            | Predicate::Uri { .. }
            | Predicate::String {
                mode: StringMatch::StartsWith | StringMatch::Exact,
                ..
            }
            | Predicate::Reference { .. }
            | Predicate::RefIdentifier { .. }
            | Predicate::Chain { .. }
            | Predicate::Related { .. }
    )
}

/// `alias.rtype = ?`. When `driven` by a selective index predicate, the column is wrapped in an
/// expression so that neither SQLite's nor PostgreSQL's planner walks every resource of the type
/// through the `(rtype, ...)` index and tests each against the index subquery (SQLite does that
/// without statistics, which made searches grow with the store).
fn type_condition(sql: &mut Sql, alias: &str, rtype: &str, driven: bool) {
    if driven {
        sql.push(&format!("({alias}.rtype || '') = "));
    } else {
        sql.push(&format!("{alias}.rtype = "));
    }
    sql.text(rtype);
}

/// `Predicate::Related`: the searched resource's patient is among the patients related to the
/// organisations.
///
/// - On Patient (`_id`), the test is made per candidate patient (`EXISTS`, one index probe per
///   kind of relationship): the one-patient checks of reads and writes then cost the same whatever
///   the organisation's size (a hospital that has referred a hundred thousand people answers as
///   fast as a practice of ten), where a set of every related patient would be built each time.
/// - On other types, the set of related patients is built once (a union of one subquery per kind
///   of relationship) and the resources of those patients are found through their patient
///   reference: a worklist or plan search then touches only the related patients' rows.
///
/// A retracted source (by its `status`) is left out with a probe of its own status rows.
fn related(
    sql: &mut Sql,
    rtype: &str,
    alias: &str,
    patient_param: &'static str,
    organizations: &[String],
    links: &[CareLink],
) {
    if organizations.is_empty() || links.is_empty() {
        sql.push("1 = 0");
        return;
    }
    if patient_param == "_id" {
        sql.push("(");
        for (i, link) in links.iter().enumerate() {
            if i > 0 {
                sql.push(" OR ");
            }
            related_probe(sql, alias, organizations, *link);
        }
        sql.push(")");
        return;
    }
    sql.push(&format!(
        "{alias}.rid IN (SELECT x.rid FROM sp_ref x WHERE x.rtype = "
    ));
    sql.text(rtype);
    sql.push(" AND x.param = ");
    sql.text(registry::stored_reference(rtype, patient_param).0);
    sql.push(" AND x.target_type = 'Patient' AND x.target_id IN (");
    for (i, link) in links.iter().enumerate() {
        if i > 0 {
            sql.push(" UNION ");
        }
        let (source, param, retracted) = link.source();
        if source == ResourceType::Patient {
            sql.push("SELECT p.id FROM resources p WHERE p.deleted = 0 AND p.rid IN ");
            sql.push("(SELECT y.rid FROM sp_ref y WHERE y.rtype = ");
            sql.text(source.as_str());
            sql.push(" AND y.param = ");
            sql.text(param);
            sql.push(" AND y.target_type = 'Organization' AND y.target_id IN (");
            sql.texts(organizations.iter().map(String::as_str));
            sql.push("))");
        } else {
            sql.push(
                "SELECT s.target_id FROM sp_ref s JOIN sp_ref y ON y.rid = s.rid WHERE s.rtype = ",
            );
            sql.text(source.as_str());
            sql.push(" AND s.param = ");
            sql.text(registry::stored_reference(source.as_str(), "patient").0);
            sql.push(" AND s.target_type = 'Patient' AND y.rtype = ");
            sql.text(source.as_str());
            sql.push(" AND y.param = ");
            sql.text(param);
            sql.push(" AND y.target_type = 'Organization' AND y.target_id IN (");
            sql.texts(organizations.iter().map(String::as_str));
            sql.push(")");
            not_retracted(sql, source, retracted);
        }
    }
    sql.push("))");
}

/// `EXISTS` one source of `link` between the patient row `alias` and one of `organizations`.
fn related_probe(sql: &mut Sql, alias: &str, organizations: &[String], link: CareLink) {
    let (source, param, retracted) = link.source();
    let orgs = |sql: &mut Sql, on: &str| {
        sql.push(&format!(" AND y.rid = {on} AND y.rtype = "));
        sql.text(source.as_str());
        sql.push(" AND y.param = ");
        sql.text(param);
        sql.push(" AND y.target_type = 'Organization' AND y.target_id IN (");
        sql.texts(organizations.iter().map(String::as_str));
        sql.push(")");
    };
    if source == ResourceType::Patient {
        sql.push("EXISTS (SELECT 1 FROM sp_ref y WHERE 1 = 1");
        orgs(sql, &format!("{alias}.rid"));
        sql.push(")");
        return;
    }
    sql.push("EXISTS (SELECT 1 FROM sp_ref s JOIN sp_ref y ON y.rid = s.rid WHERE s.rtype = ");
    sql.text(source.as_str());
    sql.push(" AND s.param = ");
    sql.text(registry::stored_reference(source.as_str(), "patient").0);
    sql.push(&format!(
        " AND s.target_id = {alias}.id AND s.target_type = 'Patient'"
    ));
    orgs(sql, "s.rid");
    not_retracted(sql, source, retracted);
    sql.push(")");
}

/// Leaves out the source row `s` when its `status` is one of `retracted`.
fn not_retracted(sql: &mut Sql, source: ResourceType, retracted: &[&str]) {
    if retracted.is_empty() {
        return;
    }
    sql.push(" AND NOT EXISTS (SELECT 1 FROM sp_token t WHERE t.rid = s.rid AND t.rtype = ");
    sql.text(source.as_str());
    sql.push(" AND t.param = 'status' AND t.code IN (");
    sql.texts(retracted.iter().copied());
    sql.push("))");
}

fn token_rows(sql: &mut Sql, rtype: &str, param: &str, system: &SystemMatch, code: Option<&str>) {
    sql.push("SELECT t.rid FROM sp_token t WHERE ");
    token_match(sql, rtype, param, system, code);
}

/// The conditions on a token entry `t`: of `rtype`'s `param`, with `code` and `system` as given.
fn token_match(sql: &mut Sql, rtype: &str, param: &str, system: &SystemMatch, code: Option<&str>) {
    sql.push("t.rtype = ");
    sql.text(rtype);
    sql.push(" AND t.param = ");
    sql.text(param);
    if let Some(code) = code {
        sql.push(" AND t.code = ");
        sql.text(code);
    }
    system_condition(sql, "t", system);
}

fn system_condition(sql: &mut Sql, alias: &str, system: &SystemMatch) {
    match system {
        SystemMatch::Any => {}
        SystemMatch::None => sql.push(&format!(" AND {alias}.system = ''")),
        SystemMatch::Is(s) => {
            sql.push(&format!(" AND {alias}.system = "));
            sql.text(s);
        }
    }
}

/// The FHIR prefix semantics on half-open ranges: the resource's `[lo, hi)` against the value's.
fn range_condition(sql: &mut Sql, lo: &str, hi: &str, prefix: Prefix, v: Range) {
    let (a, b) = (v.lo, v.hi);
    let mut cond = |text: String, values: &[i64]| {
        let mut parts = text.split('?');
        if let Some(first) = parts.next() {
            sql.push(first);
        }
        for (part, value) in parts.zip(values) {
            sql.int(*value);
            sql.push(part);
        }
    };
    match prefix {
        Prefix::Eq => cond(format!("({lo} >= ? AND {hi} <= ?)"), &[a, b]),
        Prefix::Ne => cond(format!("NOT ({lo} >= ? AND {hi} <= ?)"), &[a, b]),
        Prefix::Gt => cond(format!("{hi} > ?"), &[b]),
        Prefix::Lt => cond(format!("{lo} < ?"), &[a]),
        Prefix::Ge => cond(format!("{hi} > ?"), &[a]),
        Prefix::Le => cond(format!("{lo} < ?"), &[b]),
        Prefix::Sa => cond(format!("{lo} >= ?"), &[b]),
        Prefix::Eb => cond(format!("{hi} <= ?"), &[a]),
        Prefix::Ap => cond(format!("({lo} < ? AND {hi} > ?)"), &[b, a]),
    }
}

fn order_by(sql: &mut Sql, query: &SearchQuery) {
    sql.push(" ORDER BY ");
    for key in &query.sort {
        let dir = if key.descending { "DESC" } else { "ASC" };
        let expr = match key.by {
            SortBy::LastUpdated => "r.last_updated".to_owned(),
            SortBy::Id => "r.id".to_owned(),
            SortBy::Date(p) => sort_sub(
                "MIN(d.lo) FROM sp_date d WHERE d.rid = r.rid AND d.param = ",
                p,
            ),
            SortBy::String(p) => sort_sub(
                "MIN(s.norm) FROM sp_string s WHERE s.rid = r.rid AND s.param = ",
                p,
            ),
            SortBy::Token(p) => sort_sub(
                "MIN(t.code) FROM sp_token t WHERE t.rid = r.rid AND t.param = ",
                p,
            ),
        };
        // NULLs last in both directions on both databases.
        sql.push(&format!("({expr}) IS NULL, {expr} {dir}, "));
    }
    sql.push("r.rid ASC");
}

/// A correlated sub-select used as a sort key. The parameter name is a registry constant (never
/// client text), so it is inlined to avoid binding it twice.
fn sort_sub(head: &str, param: &'static str) -> String {
    format!("(SELECT {head}'{param}')")
}

fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// Live resources that `rows` reference through `include.param` (current-resource columns).
pub fn included(rows: &[i64], include: &Include) -> (String, Vec<Param>) {
    let (stored, narrowed) = registry::stored_reference(include.source.as_str(), include.param);
    let mut params = vec![
        Param::Text(include.source.as_str().to_owned()),
        Param::Text(stored.to_owned()),
    ];
    let mut target = String::new();
    for t in [include.target, narrowed].into_iter().flatten() {
        params.push(Param::Text(t.as_str().to_owned()));
        target.push_str(" AND x.target_type = ?");
    }
    params.extend(rows.iter().map(|r| Param::Int(*r)));
    let text = format!(
        "{CURRENT} WHERE r.deleted = 0 AND (r.rtype, r.id) IN (SELECT x.target_type, x.target_id FROM sp_ref x \
         WHERE x.rtype = ? AND x.param = ?{target} AND x.rid IN ({}))",
        placeholders(rows.len())
    );
    (text, params)
}

/// Live resources of `include.source` whose `include.param` references one of `targets`.
pub fn revincluded(targets: &[(ResourceType, String)], include: &Include) -> (String, Vec<Param>) {
    let (stored, narrowed) = registry::stored_reference(include.source.as_str(), include.param);
    let mut params = vec![
        Param::Text(include.source.as_str().to_owned()),
        Param::Text(stored.to_owned()),
    ];
    let narrowing = narrowed.map_or(String::new(), |t| {
        params.push(Param::Text(t.as_str().to_owned()));
        " AND x.target_type = ?".to_owned()
    });
    // The id list drives the (rtype, param, target_id, ...) index; the (type, id) pairs then keep
    // out a same-id resource of another type. A row-value IN alone makes SQLite walk every link
    // of the parameter.
    params.extend(targets.iter().map(|(_, id)| Param::Text(id.clone())));
    let ids = vec!["?"; targets.len()].join(", ");
    let pairs = targets
        .iter()
        .map(|(t, id)| {
            params.push(Param::Text(t.as_str().to_owned()));
            params.push(Param::Text(id.clone()));
            "(?, ?)"
        })
        .collect::<Vec<_>>()
        .join(", ");
    let text = format!(
        "{CURRENT} WHERE r.deleted = 0 AND r.rid IN (SELECT x.rid FROM sp_ref x WHERE x.rtype = ? AND x.param = ?{narrowing} \
         AND x.target_id IN ({ids}) AND (x.target_type, x.target_id) IN (VALUES {pairs}))"
    );
    (text, params)
}

/// Versions matching `filter`, newest first: current-resource columns (with `vid` as the first,
/// the version's own number, time, flag and body) plus `method`.
pub fn history(filter: &HistoryFilter) -> (String, Vec<Param>) {
    let mut text = String::from(
        "SELECT v.vid, r.rtype, r.id, v.version, v.last_updated, v.deleted, v.body, v.method \
         FROM versions v JOIN resources r ON r.rid = v.rid WHERE 1 = 1",
    );
    let mut params = Vec::new();
    if let Some(t) = filter.rtype {
        text.push_str(if filter.id.is_some() {
            " AND r.rtype = ?"
        } else {
            " AND v.rtype = ?"
        });
        params.push(Param::Text(t.as_str().to_owned()));
    }
    if let Some(id) = &filter.id {
        text.push_str(" AND r.id = ?");
        params.push(Param::Text(id.clone()));
    }
    if let Some(since) = filter.since {
        text.push_str(" AND v.last_updated >= ?");
        params.push(Param::Int(since));
    }
    if let Some(before) = filter.before {
        text.push_str(" AND v.vid < ?");
        params.push(Param::Int(before));
    }
    // A literal LIMIT, as in `limit_clause`.
    let limit = i64::try_from(filter.count).unwrap_or(i64::MAX);
    text.push_str(&format!(" ORDER BY v.vid DESC LIMIT {limit}"));
    (text, params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_for_postgres() {
        assert_eq!(
            numbered("a = ? AND b IN (?, ?)"),
            "a = $1 AND b IN ($2, $3)"
        );
    }

    #[test]
    fn every_placeholder_has_a_value() {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(
            b"patient.identifier=s|1&status=active,draft&date=ge2026&_sort=-date&patient:identifier=s|2",
        )
        .into_owned()
        .collect();
        let q = crate::search::parse(
            crate::fhir::ResourceType::CarePlan,
            &pairs,
            crate::search::ParseOptions {
                lenient: false,
                default_count: 20,
                max_count: 100,
            },
        )
        .expect("parses");
        let sql = search_rows(&q, 21);
        assert_eq!(sql.text.matches('?').count(), sql.params.len());
    }
}
