//! Running a parsed search over the stored log for one reader: an auditor over every event, a
//! patient over the events that touched their own record (their access report).
//!
//! Paging is by a cursor, `recorded.id` of a page's last event, not by the snapshot the resource
//! search keeps (`crate::rest::search`): the log is append-only and ordered by `(recorded, id)`,
//! so continuing after the last event never repeats or skips one, costs nothing to keep, and
//! holds for any number of pages. A snapshot would store every matching id of a log of millions
//! of events for each search.

use serde_json::{Value, json};

use super::{Query, matches};
use crate::audit::event::{Record, build};
use crate::audit::export::render_row;
use crate::audit::trail::Trail;
use crate::auth::{Principal, Role};
use crate::fhir::ResourceType;
use crate::store::audit::{AuditSelect, Filter, Key};
use crate::store::{AuditRow, Store, StoreError};

/// Whose events a caller may read: every event, or those of one patient (rendered for them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reader {
    /// Auditors and the deployment's systems.
    Everything,
    /// A patient, about their own record.
    Patient(String),
}

impl Reader {
    /// The reader `p` is, if the audit log is theirs to read at all.
    pub fn of(p: &Principal) -> Option<Reader> {
        match (p.role, &p.patient) {
            (role, _) if role.reads_every_audit_event() => Some(Reader::Everything),
            (Role::Patient, Some(id)) => Some(Reader::Patient(id.clone())),
            _ => None,
        }
    }

    /// `row` as this reader sees it: whole, or as the patient's access report tells it.
    pub fn render(&self, trail: &Trail, row: &AuditRow) -> Value {
        match self {
            Reader::Everything => render_row(row, &trail.source("")),
            Reader::Patient(patient) => match Record::from_text(&row.body) {
                Some(r) => build(
                    &r.for_patient(patient),
                    &trail.source(&row.chain),
                    Some(&row.id.to_string()),
                ),
                None => json!({"resourceType": "AuditEvent", "id": row.id.to_string()}),
            },
        }
    }
}

/// One page of a search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The matching events, in the search's order.
    pub rows: Vec<AuditRow>,
    /// The number of matches over every page, when asked or free to know.
    pub total: Option<u64>,
    /// The cursor of the next page (`_cursor`), when this one is full.
    pub next: Option<String>,
}

/// Runs `q` for `reader`. A patient's search is always about their own record, whatever else it
/// asks; and a filter naming another person's record would probe it through their own events
/// (was it touched with mine?), so it matches nothing.
///
/// `total` is given when asked (`_total=accurate`, `_summary=count`) and when the whole result is
/// this page (no cursor, fewer matches than the page size: nothing to count).
pub async fn run(store: &Store, reader: &Reader, mut q: Query) -> Result<Page, StoreError> {
    if let Reader::Patient(p) = reader {
        if names_another_record(store, &q.filter.conditions, p).await? {
            q.nothing = true;
        }
        q.filter.conditions.push((Key::Patient, vec![p.clone()]));
    }
    let log = store.backend().audit();
    let counted = if q.nothing {
        Some(0)
    } else if q.count_only || q.total {
        Some(log.count(&q.filter).await?)
    } else {
        None
    };
    let stored = if q.nothing || q.count_only {
        Vec::new()
    } else {
        crate::audit::stored::select(store.backend(), &AuditSelect::Search(&q.filter)).await?
    };
    let full = stored.len() == q.filter.limit;
    let next = stored
        .last()
        .filter(|_| full)
        .map(|last| format!("{}.{}", last.recorded, last.id));
    let whole = q.filter.after.is_none() && !full;
    let rows: Vec<AuditRow> = stored
        .into_iter()
        .filter(|r| Record::from_text(&r.body).is_none_or(|rec| matches(&rec, &q.filter)))
        .collect();
    let total = counted.or_else(|| whole.then(|| u64::try_from(rows.len()).unwrap_or(u64::MAX)));
    Ok(Page { rows, total, next })
}

/// The event stored as `id`, if `reader` may read it.
pub async fn one(store: &Store, reader: &Reader, id: i64) -> Result<Option<AuditRow>, StoreError> {
    let mut filter = Filter {
        id: Some(id),
        limit: 1,
        ..Filter::default()
    };
    if let Reader::Patient(p) = reader {
        filter.conditions.push((Key::Patient, vec![p.clone()]));
    }
    Ok(
        crate::audit::stored::select(store.backend(), &AuditSelect::Search(&filter))
            .await?
            .pop()
            .filter(|r| Record::from_text(&r.body).is_none_or(|rec| matches(&rec, &filter))),
    )
}

/// Whether a patient's filter names a record that is not `patient`'s own: another patient, or
/// an entity that is not theirs (the entity read from the store; one that does not exist, or
/// belongs to nobody, counts as another's).
async fn names_another_record(
    store: &Store,
    conditions: &[(Key, Vec<String>)],
    patient: &str,
) -> Result<bool, StoreError> {
    for (key, values) in conditions {
        for v in values {
            let theirs = match key {
                Key::Patient => v == patient,
                Key::Entity => match crate::fhir::id::parse_relative(v) {
                    Some((ResourceType::Patient, id)) => id == patient,
                    Some((rtype, id)) => store
                        .backend()
                        .read(rtype, id)
                        .await?
                        .and_then(|r| serde_json::from_str::<Value>(&r.body).ok())
                        .and_then(|body| {
                            crate::consent::decision::patient_of(rtype, &body).map(String::from)
                        })
                        .is_some_and(|owner| owner == patient),
                    None => false,
                },
                _ => true,
            };
            if !theirs {
                return Ok(true);
            }
        }
    }
    Ok(false)
}
