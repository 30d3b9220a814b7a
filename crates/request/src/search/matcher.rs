//! Deciding a search on one resource in memory, exactly as the SQL store decides it.
//!
//! Why: consent redaction can withhold parts of a resource from a caller (a care plan's activities,
//! HNA items), but the store matches a search on the stored, full form, so a search could confirm
//! a withheld fact (`CarePlan?performer=Organization/<team>` finding a plan whose activity with
//! that team the caller may not see). For each result the caller sees redacted, the gateway
//! re-decides the query on the index entries of that form ([`extract_with_base`] of the redacted
//! JSON) with [`holds`], and orders the page with [`sort_values`] and [`compare`].
//!
//! Every condition is the store's (`store::search_sql`), applied to the rows [`index_row`] makes of the
//! entries, the rows the store would hold for that form:
//!
//! | predicate       | holds when                                                                 |
//! |-----------------|----------------------------------------------------------------------------|
//! | `_id`           | the resource's id is the value                                             |
//! | `_lastUpdated`  | `[t, t + 1)` meets the value's range under the prefix (as dates, below)    |
//! | token           | a token row of the parameter has the code (when given) and system (`\|c`: `''`); `:not`: none does |
//! | uri             | a token row of the parameter has system `''` and the uri as code           |
//! | string          | a string row: `lo <= norm < lo + U+10FFFF` (`lo` the [`normalise`]d value), `:exact` the exact text, `:contains` `norm` contains `lo` |
//! | date            | a date row `[lo, hi)` meets the value's range under the prefix             |
//! | reference       | a reference row of the stored parameter (a narrowed one's wider parameter, with its type) has the id, and the type when given |
//! | `:identifier`   | a token row `<param>:identifier` matches, or a [`Lookup`]: a referenced resource of an identifier target type has the identifier |
//! | chain           | a [`Lookup`]: a referenced resource of the chain's type satisfies the inner predicate |
//! | related         | always (access control's, never a client's; decided before redaction)      |
//!
//! Date prefixes on half-open ranges, the resource's `[lo, hi)` against the value's `[a, b)`: `eq`
//! `lo >= a && hi <= b`, `ne` its negation, `gt` `hi > b`, `lt` `lo < a`, `ge` `hi > a`, `le`
//! `lo < b`, `sa` `lo >= b`, `eb` `hi <= a`, `ap` `lo < b && hi > a`.
//!
//! Referenced resources are not in the form's entries, so their part of a decision is a question
//! to the store: a [`Lookup`] (one referenced resource, one predicate). [`batches`] groups a page's
//! lookups into one search per type and predicate, so twenty plans naming the same team ask once.
//!
//! Text orders by code point (Rust's `str` order): SQLite's `BINARY` collation, and PostgreSQL's on
//! `sp_string.norm` (`COLLATE "C"`). `_sort=_id` and token keys sort in the database's default
//! collation on PostgreSQL, which agrees only when that is `C` or `C.UTF-8`.
//!
//! [`extract_with_base`]: super::extract_with_base

use std::cmp::Ordering;

use super::date::Range;
use super::registry::{identifier_targets, stored_reference};
use super::row::{IndexRow, index_row};
use super::{
    Filter, IndexEntry, Predicate, Prefix, SearchQuery, SortBy, SortKey, StringMatch, SystemMatch,
    normalise,
};
use crate::ResourceType;

/// What is known of one resource when deciding a search on it in memory.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    /// The resource's type.
    pub rtype: ResourceType,
    /// Its id.
    pub id: &'a str,
    /// Epoch milliseconds, as the store's `resources.last_updated`.
    pub last_updated: i64,
    /// The index entries of the form being judged: `extract_with_base(rtype, form, base)`.
    pub entries: &'a [IndexEntry],
}

/// A question about a resource the form references, whose content is not in the form's entries:
/// is `rtype/id` live, and does `predicate` hold on it (as the store decides it)?
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Lookup {
    /// The referenced resource's type.
    pub rtype: ResourceType,
    /// Its id.
    pub id: String,
    /// What must hold on it: a chain's inner predicate, or `identifier=` for `:identifier`.
    pub predicate: Predicate,
}

impl Lookup {
    /// The store search that answers this lookup: it finds a resource exactly when the answer is
    /// yes.
    pub fn query(&self) -> SearchQuery {
        search_of(self.rtype, vec![self.id.clone()], self.predicate.clone())
    }
}

/// Lookups of one type and predicate answered by one store search: a lookup's answer is yes
/// exactly when `query` finds a resource with the lookup's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// `_id=<every lookup's id>` and the predicate, on the lookups' type; `count` is the number of
    /// ids, so one page holds every answer.
    pub query: SearchQuery,
    /// The lookups it answers, without duplicates.
    pub lookups: Vec<Lookup>,
}

/// `rtype?_id=<ids>&<predicate>`.
fn search_of(rtype: ResourceType, ids: Vec<String>, predicate: Predicate) -> SearchQuery {
    let mut query = SearchQuery::all(rtype, ids.len());
    query
        .filters
        .push(Filter(ids.into_iter().map(Predicate::Id).collect()));
    query.filters.push(Filter(vec![predicate]));
    query
}

/// Groups `lookups` into one store search per type and predicate, in the order each group first
/// appears; duplicates are asked once.
pub fn batches(lookups: &[Lookup]) -> Vec<Batch> {
    let mut groups: Vec<(ResourceType, &Predicate, Vec<&Lookup>)> = Vec::new();
    for l in lookups {
        match groups
            .iter_mut()
            .find(|(t, p, _)| *t == l.rtype && **p == l.predicate)
        {
            Some((_, _, members)) => {
                if !members.iter().any(|m| m.id == l.id) {
                    members.push(l);
                }
            }
            None => groups.push((l.rtype, &l.predicate, vec![l])),
        }
    }
    groups
        .into_iter()
        .map(|(rtype, predicate, members)| Batch {
            query: search_of(
                rtype,
                members.iter().map(|m| m.id.clone()).collect(),
                predicate.clone(),
            ),
            lookups: members.into_iter().cloned().collect(),
        })
        .collect()
}

/// The lookups a decision of `query` on `facts` may ask: for every chain and `:identifier`
/// predicate, each resource the form references through the parameter (of the chain's type, or
/// of each type with an identifier). Without duplicates, in the order of the query's filters and
/// then of the entries.
pub fn lookups(query: &SearchQuery, facts: &Facts<'_>) -> Vec<Lookup> {
    let rows = rows(facts.entries);
    let mut out: Vec<Lookup> = Vec::new();
    for Filter(alternatives) in &query.filters {
        for p in alternatives {
            for l in questions(facts.rtype, p, &rows) {
                if !out.contains(&l) {
                    out.push(l);
                }
            }
        }
    }
    out
}

/// Whether every filter of `query` holds on `facts`, exactly as the SQL store decides it on a live
/// resource whose index rows are those of `facts.entries`. `found` answers a [`Lookup`] (see
/// [`lookups`]); a resource of another type than the query's never matches.
pub fn holds(query: &SearchQuery, facts: &Facts<'_>, found: &dyn Fn(&Lookup) -> bool) -> bool {
    if facts.rtype != query.rtype {
        return false;
    }
    let rows = rows(facts.entries);
    query.filters.iter().all(|Filter(alternatives)| {
        alternatives
            .iter()
            .any(|p| predicate_holds(facts, &rows, p, found))
    })
}

fn rows(entries: &[IndexEntry]) -> Vec<IndexRow<'_>> {
    entries.iter().map(index_row).collect()
}

fn predicate_holds(
    facts: &Facts<'_>,
    rows: &[IndexRow<'_>],
    p: &Predicate,
    found: &dyn Fn(&Lookup) -> bool,
) -> bool {
    let rtype = facts.rtype;
    match p {
        Predicate::Id(id) => facts.id == id,
        Predicate::LastUpdated(prefix, range) => in_range(
            facts.last_updated,
            facts.last_updated.saturating_add(1),
            *prefix,
            *range,
        ),
        Predicate::Token {
            param,
            system,
            code,
            negate,
        } => has_token(rows, param, system, code.as_deref()) != *negate,
        Predicate::Uri { param, value } => has_token(rows, param, &SystemMatch::None, Some(value)),
        Predicate::String { param, value, mode } => {
            let lo = normalise(value);
            let hi = format!("{lo}{}", char::MAX);
            rows.iter().any(|r| match r {
                IndexRow::String {
                    param: p,
                    norm,
                    exact,
                } if p == param => match mode {
                    StringMatch::Exact => exact == value,
                    StringMatch::StartsWith => *norm >= lo && *norm < hi,
                    StringMatch::Contains => norm.contains(&lo),
                },
                _ => false,
            })
        }
        Predicate::Date {
            param,
            prefix,
            range,
        } => rows.iter().any(|r| match r {
            IndexRow::Date { param: p, lo, hi } if p == param => {
                in_range(*lo, *hi, *prefix, *range)
            }
            _ => false,
        }),
        Predicate::Reference {
            param,
            rtype: target,
            id,
        } => {
            let (stored, narrowed) = stored_reference(rtype.as_str(), param);
            rows.iter().any(|r| match r {
                IndexRow::Ref {
                    param: p,
                    target_type,
                    target_id,
                } => {
                    *p == stored
                        && target_id == id
                        && [*target, narrowed]
                            .into_iter()
                            .flatten()
                            .all(|t| t.as_str() == *target_type)
                }
                _ => false,
            })
        }
        Predicate::RefIdentifier {
            param,
            system,
            code,
        } => {
            has_token(rows, &format!("{param}:identifier"), system, Some(code))
                || questions(rtype, p, rows).iter().any(found)
        }
        Predicate::Chain { .. } => questions(rtype, p, rows).iter().any(found),
        // What references a resource is not in its own index rows: the gateway resolves `_has` as
        // the caller's own search before any view is matched (`rest::chain`). Reached otherwise,
        // it matches nothing (fail closed).
        Predicate::Has { .. } => false,
        Predicate::Related { .. } => true,
    }
}

/// The lookups predicate `p` of a search of `rtype` asks about the resources `rows` reference.
fn questions(rtype: ResourceType, p: &Predicate, rows: &[IndexRow<'_>]) -> Vec<Lookup> {
    match p {
        Predicate::Chain {
            param,
            target,
            inner,
        } => {
            // As the store: the chain's type alone narrows a narrowed parameter.
            let stored = stored_reference(rtype.as_str(), param).0;
            referenced(rows, stored, *target)
                .map(|id| Lookup {
                    rtype: *target,
                    id: id.to_owned(),
                    predicate: (**inner).clone(),
                })
                .collect()
        }
        Predicate::RefIdentifier {
            param,
            system,
            code,
        } => {
            let stored = stored_reference(rtype.as_str(), param).0;
            identifier_targets(rtype.as_str(), param)
                .into_iter()
                .flat_map(|t| {
                    referenced(rows, stored, t).map(move |id| Lookup {
                        rtype: t,
                        id: id.to_owned(),
                        predicate: Predicate::Token {
                            param: "identifier",
                            system: system.clone(),
                            code: Some(code.clone()),
                            negate: false,
                        },
                    })
                })
                .collect()
        }
        _ => Vec::new(),
    }
}

/// The ids of the `target` resources `rows` reference through stored parameter `param`.
fn referenced<'r>(
    rows: &'r [IndexRow<'r>],
    param: &'r str,
    target: ResourceType,
) -> impl Iterator<Item = &'r str> + 'r {
    rows.iter().filter_map(move |r| match r {
        IndexRow::Ref {
            param: p,
            target_type,
            target_id,
        } if *p == param && *target_type == target.as_str() => Some(*target_id),
        _ => None,
    })
}

/// A token row of `param` with `code` (when given) and a system as `system` asks: the store's
/// `token_rows` and `system_condition`.
fn has_token(rows: &[IndexRow<'_>], param: &str, system: &SystemMatch, code: Option<&str>) -> bool {
    rows.iter().any(|r| match r {
        IndexRow::Token {
            param: p,
            system: s,
            code: c,
        } => {
            p == param
                && code.is_none_or(|code| *c == code)
                && match system {
                    SystemMatch::Any => true,
                    SystemMatch::None => s.is_empty(),
                    SystemMatch::Is(want) => s == want,
                }
        }
        _ => false,
    })
}

/// The store's `range_condition`: the resource's `[lo, hi)` against the value's `[a, b)`.
fn in_range(lo: i64, hi: i64, prefix: Prefix, v: Range) -> bool {
    let (a, b) = (v.lo, v.hi);
    match prefix {
        Prefix::Eq => lo >= a && hi <= b,
        Prefix::Ne => !(lo >= a && hi <= b),
        Prefix::Gt => hi > b,
        Prefix::Lt => lo < a,
        Prefix::Ge => hi > a,
        Prefix::Le => lo < b,
        Prefix::Sa => lo >= b,
        Prefix::Eb => hi <= a,
        Prefix::Ap => lo < b && hi > a,
    }
}

/// The value a sort key orders a resource by.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum SortValue {
    /// `_lastUpdated`, or a date parameter's earliest start (epoch milliseconds).
    Int(i64),
    /// `_id`, a string parameter's lowest normalised value, or a token parameter's lowest code.
    Text(String),
}

/// The value each key of `sort` orders `facts` by, as the store's `ORDER BY` computes it: `None`
/// when the form has no value for the key (sorted last in both directions).
pub fn sort_values(sort: &[SortKey], facts: &Facts<'_>) -> Vec<Option<SortValue>> {
    let rows = rows(facts.entries);
    sort.iter()
        .map(|key| match key.by {
            SortBy::LastUpdated => Some(SortValue::Int(facts.last_updated)),
            SortBy::Id => Some(SortValue::Text(facts.id.to_owned())),
            SortBy::Date(param) => rows
                .iter()
                .filter_map(|r| match r {
                    IndexRow::Date { param: p, lo, .. } if *p == param => Some(*lo),
                    _ => None,
                })
                .min()
                .map(SortValue::Int),
            SortBy::String(param) => rows
                .iter()
                .filter_map(|r| match r {
                    IndexRow::String { param: p, norm, .. } if *p == param => Some(norm.as_str()),
                    _ => None,
                })
                .min()
                .map(|s| SortValue::Text(s.to_owned())),
            SortBy::Token(param) => rows
                .iter()
                .filter_map(|r| match r {
                    IndexRow::Token { param: p, code, .. } if p == param => Some(*code),
                    _ => None,
                })
                .min()
                .map(|s| SortValue::Text(s.to_owned())),
        })
        .collect()
}

/// The store's order of two resources by their [`sort_values`] for `sort`: key by key, values
/// before `None`, descending keys reversed. `Equal` when every key ties; the store then orders by
/// row id (insertion order), so a stable sort of results in store order keeps it.
pub fn compare(sort: &[SortKey], a: &[Option<SortValue>], b: &[Option<SortValue>]) -> Ordering {
    for (i, key) in sort.iter().enumerate() {
        let x = a.get(i).and_then(Option::as_ref);
        let y = b.get(i).and_then(Option::as_ref);
        let order = match (x, y) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(x), Some(y)) if key.descending => y.cmp(x),
            (Some(x), Some(y)) => x.cmp(y),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests;
