//! Searching the audit log (`GET [base]/AuditEvent?...`): auditors over every event, a patient
//! over the events that touched their own record (the access report), each event rendered for
//! that patient ([`super::event::Record::for_patient`]).
//!
//! Parameters (repeating one ANDs, commas inside one OR):
//! - `patient` (reference or id), `entity` (`Type/id`, a version is ignored);
//! - `agent` (token subject or `fhirUser` reference), `agent-role` (sharing role code),
//!   `organization` (ODS code of the caller), `purpose` (v3-ActReason code);
//! - `date` with `eq`, `ge`, `gt`, `le`, `lt`, `sa`, `eb` prefixes;
//! - `action`, `outcome`, `type` (always `rest`), `subtype` (REST interaction);
//! - `_count`, `_sort` (`date` or `-date`, the default: newest first), and `_cursor` (set in the
//!   `next` link: paging continues after the last event of the page, so pages never repeat or
//!   skip an event stored while paging).
//!
//! A token's `system|code` form is accepted (the code is matched). Anything else is refused with
//! 400, so a misspelt filter cannot silently widen a search.
//!
//! `total`: counting the log is not needed to page it, and over millions of events it is not free,
//! so a page carries `total` when the whole result is that page (no cursor, fewer matches than
//! `_count`: nothing to count), and otherwise when asked: `_total=accurate`, or `_summary=count`
//! and `_count=0`, which answer the total alone.

mod run;

pub use run::{Page, Reader, one, run};

use super::event::Record;
use crate::search::date::parse_range;
use crate::store::audit::{Filter, Key};

/// Page size without `_count`.
pub const DEFAULT_COUNT: usize = 50;
/// Largest page.
pub const MAX_COUNT: usize = 1_000;

/// A parsed search, with what the `next` link repeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The filter.
    pub filter: Filter,
    /// The parameters as given, less `_cursor` (for the `self` and `next` links).
    pub echoed: Vec<(String, String)>,
    /// `_summary=count` or `_count=0`: the total alone.
    pub count_only: bool,
    /// `_total=accurate`: every page carries the total.
    pub total: bool,
    /// A filter no event can pass (`type` other than `rest`).
    pub nothing: bool,
}

/// Why a search was refused (400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct QueryError(pub String);

fn codes(v: &str) -> Vec<String> {
    v.split(',')
        .map(|c| c.rsplit('|').next().unwrap_or(c).trim().to_owned())
        .filter(|c| !c.is_empty())
        .collect()
}

fn references(v: &str, prefix: Option<&str>) -> Vec<String> {
    v.split(',')
        .map(|r| {
            let r = r.trim();
            let r = r.split_once("/_history/").map_or(r, |(r, _)| r);
            // An absolute reference: keep its last `Type/id`.
            let parts: Vec<&str> = r.rsplitn(3, '/').collect();
            let r = match parts.as_slice() {
                [id, t, _] => format!("{t}/{id}"),
                _ => r.to_owned(),
            };
            match prefix {
                Some(p) => r.strip_prefix(p).unwrap_or(&r).to_owned(),
                None => r,
            }
        })
        .filter(|r| !r.is_empty())
        .collect()
}

impl Query {
    /// Parses query parameters.
    pub fn parse(pairs: &[(String, String)]) -> Result<Query, QueryError> {
        let mut filter = Filter {
            descending: true,
            limit: DEFAULT_COUNT,
            ..Filter::default()
        };
        let mut echoed = Vec::new();
        let (mut count_only, mut total, mut nothing) = (false, false, false);
        for (name, value) in pairs {
            if name != "_cursor" {
                echoed.push((name.clone(), value.clone()));
            }
            let key = match name.as_str() {
                "patient" => Some((Key::Patient, references(value, Some("Patient/")))),
                "entity" => Some((Key::Entity, references(value, None))),
                "agent" => Some((Key::Agent, value.split(',').map(str::to_owned).collect())),
                "agent-role" => Some((Key::Role, codes(value))),
                "organization" => Some((Key::Organization, codes(value))),
                "purpose" => Some((Key::Purpose, codes(value))),
                "action" => Some((Key::Action, codes(value))),
                "outcome" => Some((Key::Outcome, codes(value))),
                "subtype" => Some((Key::Subtype, codes(value))),
                _ => None,
            };
            if let Some((key, values)) = key {
                if values.is_empty() {
                    return Err(QueryError(format!("'{name}' needs a value")));
                }
                filter.conditions.push((key, values));
                continue;
            }
            match name.as_str() {
                "type" => {
                    // Every event the gateway records is a REST interaction.
                    nothing |= !codes(value).iter().any(|c| c == "rest");
                }
                "_summary" => match value.as_str() {
                    "count" => count_only = true,
                    "false" => {}
                    _ => {
                        return Err(QueryError(
                            "'_summary' on the audit log is 'count' or 'false'".into(),
                        ));
                    }
                },
                "_total" => match value.as_str() {
                    "accurate" => total = true,
                    "none" | "estimate" => {}
                    _ => {
                        return Err(QueryError(
                            "'_total' must be 'none', 'estimate' or 'accurate'".into(),
                        ));
                    }
                },
                "date" => date(&mut filter, value)?,
                "_count" => {
                    filter.limit = value
                        .parse::<usize>()
                        .map_err(|_| QueryError("'_count' must be a whole number".into()))?
                        .min(MAX_COUNT);
                }
                "_sort" => {
                    filter.descending = match value.as_str() {
                        "date" => false,
                        "-date" => true,
                        _ => return Err(QueryError("'_sort' must be 'date' or '-date'".into())),
                    }
                }
                "_cursor" => {
                    let cursor = value
                        .split_once('.')
                        .and_then(|(r, i)| Some((r.parse().ok()?, i.parse().ok()?)));
                    filter.after =
                        Some(cursor.ok_or_else(|| QueryError("'_cursor' is not valid".into()))?);
                }
                _ => {
                    return Err(QueryError(format!(
                        "AuditEvent has no search parameter '{name}' here (patient, entity, agent, \
                         agent-role, organization, purpose, date, action, outcome, type, subtype, \
                         _count, _sort)"
                    )));
                }
            }
        }
        Ok(Query {
            count_only: count_only || filter.limit == 0,
            filter,
            echoed,
            total,
            nothing,
        })
    }
}

/// Whether `record` passes every condition and the period of `filter`, evaluated on the record
/// itself: the search of an archive file (`super::archive`), and a second check of what the
/// store's search found.
pub fn matches(record: &Record, filter: &Filter) -> bool {
    let keys = record.keys();
    let within = filter.from.is_none_or(|f| record.recorded >= f)
        && filter.to.is_none_or(|t| record.recorded < t);
    within
        && filter.conditions.iter().all(|(key, values)| {
            let has = |v: &String| values.contains(v);
            match key {
                Key::Patient => keys.patients.iter().any(has),
                Key::Entity => keys.entities.iter().any(has),
                Key::Agent => has(&keys.agent) || has(&keys.user),
                Key::Role => has(&keys.role),
                Key::Organization => has(&keys.org),
                Key::Purpose => has(&keys.purpose),
                Key::Action => has(&keys.action),
                Key::Outcome => has(&keys.outcome),
                Key::Subtype => has(&keys.subtype),
            }
        })
}

/// Narrows the filter's period by one `date` value.
fn date(filter: &mut Filter, value: &str) -> Result<(), QueryError> {
    let (prefix, rest) = match value.get(..2) {
        Some(p @ ("eq" | "ge" | "gt" | "le" | "lt" | "sa" | "eb")) => (p, &value[2..]),
        _ => ("eq", value),
    };
    let range =
        parse_range(rest).ok_or_else(|| QueryError(format!("'date={value}' is not a date")))?;
    let (from, to) = match prefix {
        "ge" => (Some(range.lo), None),
        "gt" | "sa" => (Some(range.hi), None),
        "le" => (None, Some(range.hi)),
        "lt" | "eb" => (None, Some(range.lo)),
        _ => (Some(range.lo), Some(range.hi)),
    };
    if let Some(f) = from {
        filter.from = Some(filter.from.map_or(f, |x| x.max(f)));
    }
    if let Some(t) = to {
        filter.to = Some(filter.to.map_or(t, |x| x.min(t)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(q: &str) -> Result<Filter, QueryError> {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(q.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Query::parse(&pairs).map(|q| q.filter)
    }

    #[test]
    fn parameters_become_conditions() {
        let f = parse(
            "patient=Patient/p1&agent-role=https://x/CodeSystem/sharing-role|gp,housing&entity=http://gw/fhir/CarePlan/c1/_history/2&_sort=date&_count=5",
        )
        .expect("parsed");
        assert_eq!(
            f.conditions,
            vec![
                (Key::Patient, vec!["p1".to_owned()]),
                (Key::Role, vec!["gp".to_owned(), "housing".to_owned()]),
                (Key::Entity, vec!["CarePlan/c1".to_owned()]),
            ]
        );
        assert!(!f.descending);
        assert_eq!(f.limit, 5);
    }

    #[test]
    fn counting_is_asked_for_by_summary_count_count_zero_or_total_accurate() {
        let q = |s: &str| {
            let pairs: Vec<(String, String)> = form_urlencoded::parse(s.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            Query::parse(&pairs).map(|q| (q.count_only, q.total, q.nothing))
        };
        assert_eq!(q("_summary=count"), Ok((true, false, false)));
        assert_eq!(q("_count=0"), Ok((true, false, false)));
        assert_eq!(q("_total=accurate"), Ok((false, true, false)));
        assert_eq!(q("type=other"), Ok((false, false, true)));
        assert_eq!(q("patient=p1"), Ok((false, false, false)));
    }

    #[test]
    fn dates_narrow_the_period() {
        let f = parse("date=ge2026-11-01&date=lt2026-12-01").expect("parsed");
        let nov = parse_range("2026-11").expect("range");
        assert_eq!((f.from, f.to), (Some(nov.lo), Some(nov.hi)));
        let day = parse("date=2026-11-24").expect("parsed");
        let d = parse_range("2026-11-24").expect("range");
        assert_eq!((day.from, day.to), (Some(d.lo), Some(d.hi)));
    }

    #[test]
    fn unknown_or_malformed_parameters_are_refused() {
        for q in [
            "name=Smith",
            "date=soon",
            "_sort=agent",
            "_count=many",
            "_cursor=x",
            "patient=",
            "_summary=true",
            "_total=maybe",
        ] {
            assert!(parse(q).is_err(), "{q}");
        }
    }
}
