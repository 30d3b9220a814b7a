//! [`predicate`]: one search condition as SQL over the index tables, written for a row `alias` of
//! `resources`. One function per kind of predicate; `search::matcher` must decide as these do (see
//! the parent module).

use super::{
    Sql, is_selective, normalise, range_condition, related, system_condition, token_match,
    token_rows, type_condition,
};
use crate::fhir::ResourceType;
use crate::search::date::Range;
use crate::search::{Predicate, Prefix, StringMatch, SystemMatch, registry};

/// `p` as a condition on row `alias` of `rtype`, answered from the index tables.
pub(super) fn predicate(sql: &mut Sql, rtype: &str, p: &Predicate, alias: &str) {
    match p {
        Predicate::Id(id) => {
            sql.push(&format!("{alias}.id = "));
            sql.text(id);
        }
        Predicate::LastUpdated(prefix, range) => last_updated(sql, alias, *prefix, *range),
        Predicate::Token {
            param,
            system,
            code,
            negate,
        } => {
            let tie = Tie::In { negate: *negate };
            token(sql, tie, rtype, alias, param, system, code.as_deref());
        }
        Predicate::Uri { param, value } => {
            let tie = Tie::In { negate: false };
            token(
                sql,
                tie,
                rtype,
                alias,
                param,
                &SystemMatch::None,
                Some(value),
            );
        }
        Predicate::String { param, value, mode } => {
            string(sql, rtype, alias, param, value, *mode);
        }
        Predicate::Date {
            param,
            prefix,
            range,
        } => date(sql, Tie::IN, rtype, alias, param, *prefix, *range),
        Predicate::Reference {
            param,
            rtype: target,
            id,
        } => reference(sql, Tie::IN, rtype, alias, param, *target, id),
        Predicate::RefIdentifier {
            param,
            system,
            code,
        } => ref_identifier(sql, rtype, alias, param, system, code),
        Predicate::Chain {
            param,
            target,
            inner,
        } => chain(sql, rtype, alias, param, *target, inner),
        Predicate::Has {
            source,
            param,
            inner,
        } => has(sql, rtype, alias, *source, param, inner),
        Predicate::Related {
            patient_param,
            organizations,
            links,
        } => related(sql, rtype, alias, patient_param, organizations, links),
    }
}

/// `_lastUpdated`: the row's own instant, as the range `[t, t + 1)`.
fn last_updated(sql: &mut Sql, alias: &str, prefix: Prefix, range: Range) {
    let col = format!("{alias}.last_updated");
    let hi = format!("({alias}.last_updated + 1)");
    range_condition(sql, &col, &hi, prefix, range);
}

/// A string parameter: exact, by prefix of the normalised text (a range on `norm`), or contained
/// in it (`LIKE`, with the pattern's own `\`, `%` and `_` escaped).
fn string(sql: &mut Sql, rtype: &str, alias: &str, param: &str, value: &str, mode: StringMatch) {
    sql.push(&format!(
        "{alias}.rid IN (SELECT s.rid FROM sp_string s WHERE s.rtype = "
    ));
    sql.text(rtype);
    sql.push(" AND s.param = ");
    sql.text(param);
    match mode {
        StringMatch::Exact => {
            sql.push(" AND s.exact = ");
            sql.text(value);
        }
        StringMatch::StartsWith => {
            let lo = normalise(value);
            let hi = format!("{lo}{}", char::MAX);
            sql.push(" AND s.norm >= ");
            sql.text(&lo);
            sql.push(" AND s.norm < ");
            sql.text(&hi);
        }
        StringMatch::Contains => {
            let escaped = normalise(value)
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            sql.push(" AND s.norm LIKE ");
            sql.text(&format!("%{escaped}%"));
            sql.push(" ESCAPE '\\'");
        }
    }
    sql.push(")");
}

/// How a condition on an index table is tied to row `alias`: `alias.rid [NOT] IN (SELECT …)`, as
/// a search's conditions are written, or the correlated `[NOT] EXISTS (… WHERE e.rid = alias.rid
/// AND …)` that checks one row's own entries (`row_check`). Both name the same entries.
#[derive(Debug, Clone, Copy)]
pub(super) enum Tie {
    /// `alias.rid [NOT] IN (SELECT e.rid FROM table e WHERE …)`.
    In { negate: bool },
    /// `[NOT] EXISTS (SELECT 1 FROM table e WHERE e.rid = alias.rid AND …)`.
    Exists { negate: bool },
}

impl Tie {
    const IN: Tie = Tie::In { negate: false };
    pub(super) const EXISTS: Tie = Tie::Exists { negate: false };

    /// Opens the condition on `table` (as `e`) up to its `WHERE`; the caller writes the entry's
    /// conditions and closes it with `)`.
    fn open(self, sql: &mut Sql, alias: &str, table: &str, e: &str) {
        let not = |negate: bool| if negate { "NOT " } else { "" };
        match self {
            Tie::In { negate } => sql.push(&format!(
                "{alias}.rid {}IN (SELECT {e}.rid FROM {table} {e} WHERE ",
                not(negate)
            )),
            Tie::Exists { negate } => sql.push(&format!(
                "{}EXISTS (SELECT 1 FROM {table} {e} WHERE {e}.rid = {alias}.rid AND ",
                not(negate)
            )),
        }
    }
}

/// A token (or URI) parameter: the indexed codes, by system as `system` says.
pub(super) fn token(
    sql: &mut Sql,
    tie: Tie,
    rtype: &str,
    alias: &str,
    param: &str,
    system: &SystemMatch,
    code: Option<&str>,
) {
    tie.open(sql, alias, "sp_token", "t");
    token_match(sql, rtype, param, system, code);
    sql.push(")");
}

/// A date parameter: the indexed periods against the value's, by the prefix.
pub(super) fn date(
    sql: &mut Sql,
    tie: Tie,
    rtype: &str,
    alias: &str,
    param: &str,
    prefix: Prefix,
    range: Range,
) {
    tie.open(sql, alias, "sp_date", "d");
    sql.push("d.rtype = ");
    sql.text(rtype);
    sql.push(" AND d.param = ");
    sql.text(param);
    sql.push(" AND ");
    range_condition(sql, "d.lo", "d.hi", prefix, range);
    sql.push(")");
}

/// A reference parameter: `Type/id` or a bare id, through the stored (possibly narrowed) parameter.
pub(super) fn reference(
    sql: &mut Sql,
    tie: Tie,
    rtype: &str,
    alias: &str,
    param: &'static str,
    target: Option<ResourceType>,
    id: &str,
) {
    let (stored, narrowed) = registry::stored_reference(rtype, param);
    tie.open(sql, alias, "sp_ref", "x");
    sql.push("x.rtype = ");
    sql.text(rtype);
    sql.push(" AND x.param = ");
    sql.text(stored);
    sql.push(" AND x.target_id = ");
    sql.text(id);
    // Both, when both are given: `patient=Organization/x` matches nothing.
    for t in [target, narrowed].into_iter().flatten() {
        sql.push(" AND x.target_type = ");
        sql.text(t.as_str());
    }
    sql.push(")");
}

/// `param:identifier=system|code`: Reference.identifier itself, or the referenced resource's
/// identifier (see search docs).
fn ref_identifier(
    sql: &mut Sql,
    rtype: &str,
    alias: &str,
    param: &'static str,
    system: &SystemMatch,
    code: &str,
) {
    sql.push(&format!("({alias}.rid IN ("));
    token_rows(
        sql,
        rtype,
        &format!("{param}:identifier"),
        system,
        Some(code),
    );
    sql.push(&format!(
        ") OR {alias}.rid IN (SELECT x.rid FROM sp_ref x WHERE x.rtype = "
    ));
    sql.text(rtype);
    sql.push(" AND x.param = ");
    // The identified resources' types (below) already narrow a narrowed parameter.
    sql.text(registry::stored_reference(rtype, param).0);
    // The identified resources, found through their own `identifier` index rows. The id
    // list drives the sp_ref index; the (type, id) pair check keeps a same-id resource of
    // another type out.
    let types = registry::identifier_targets(rtype, param);
    let identified = |sql: &mut Sql, cols: &str| {
        sql.push(&format!("(SELECT {cols} FROM resources t WHERE t.deleted = 0 AND t.rid IN (SELECT k.rid FROM sp_token k WHERE k.rtype IN ("));
        sql.texts(types.iter().map(|t| t.as_str()));
        sql.push(") AND k.param = 'identifier' AND k.code = ");
        sql.text(code);
        system_condition(sql, "k", system);
        sql.push("))");
    };
    sql.push(" AND x.target_id IN ");
    identified(sql, "t.id");
    sql.push(" AND (x.target_type, x.target_id) IN ");
    identified(sql, "t.rtype, t.id");
    sql.push("))");
}

/// `param.sub=value`: rows whose `param` points at a live `target` matching `inner`.
fn chain(
    sql: &mut Sql,
    rtype: &str,
    alias: &str,
    param: &'static str,
    target: ResourceType,
    inner: &Predicate,
) {
    let inner_alias = format!("{alias}c");
    sql.push(&format!(
        "{alias}.rid IN (SELECT x.rid FROM sp_ref x WHERE x.rtype = "
    ));
    sql.text(rtype);
    sql.push(" AND x.param = ");
    // The chain's target type narrows a narrowed parameter (parsing keeps it among the
    // parameter's targets).
    sql.text(registry::stored_reference(rtype, param).0);
    sql.push(" AND x.target_type = ");
    sql.text(target.as_str());
    sql.push(&format!(
        " AND x.target_id IN (SELECT {inner_alias}.id FROM resources {inner_alias} WHERE "
    ));
    type_condition(sql, &inner_alias, target.as_str(), is_selective(inner));
    sql.push(&format!(" AND {inner_alias}.deleted = 0 AND "));
    predicate(sql, target.as_str(), inner, &inner_alias);
    sql.push("))");
}

/// `_has:Source:param:inner=value`: the ids that live `source` resources matching `inner`
/// reference through `param`.
fn has(
    sql: &mut Sql,
    rtype: &str,
    alias: &str,
    source: ResourceType,
    param: &'static str,
    inner: &Predicate,
) {
    let inner_alias = format!("{alias}h");
    sql.push(&format!(
        "{alias}.id IN (SELECT x.target_id FROM sp_ref x WHERE x.rtype = "
    ));
    sql.text(source.as_str());
    sql.push(" AND x.param = ");
    sql.text(registry::stored_reference(source.as_str(), param).0);
    sql.push(" AND x.target_type = ");
    sql.text(rtype);
    sql.push(&format!(
        " AND x.rid IN (SELECT {inner_alias}.rid FROM resources {inner_alias} WHERE "
    ));
    type_condition(sql, &inner_alias, source.as_str(), is_selective(inner));
    sql.push(&format!(" AND {inner_alias}.deleted = 0 AND "));
    predicate(sql, source.as_str(), inner, &inner_alias);
    sql.push("))");
}
