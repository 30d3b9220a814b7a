//! Exporting a period of the stored log as NDJSON (`$audit-export`, `carebridge audit export`),
//! each event rendered as an AuditEvent with its storage id as `id`.

use super::event::{Record, Source, build};
use crate::error::Error;
use crate::store::audit::AuditSelect;
use crate::store::{AuditRow, Store};

/// Rows read per page.
const PAGE: usize = 10_000;

/// A period of recording times: epoch milliseconds, half open, either end open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Period {
    /// From (inclusive).
    pub from: Option<i64>,
    /// To (exclusive).
    pub to: Option<i64>,
}

impl Period {
    /// From FHIR dates or dateTimes: `start` from the beginning of what it names, `end` to the end
    /// of what it names (`end=2026-11-30` includes that whole day).
    pub fn parse(start: Option<&str>, end: Option<&str>) -> Result<Period, String> {
        let bound = |name: &str, v: Option<&str>| {
            v.map(|s| {
                crate::search::date::parse_range(s)
                    .ok_or_else(|| format!("'{name}' is not a FHIR date or dateTime"))
            })
            .transpose()
        };
        let period = Period {
            from: bound("start", start)?.map(|r| r.lo),
            to: bound("end", end)?.map(|r| r.hi),
        };
        if let (Some(f), Some(t)) = (period.from, period.to)
            && f >= t
        {
            return Err("'start' must come before 'end'".into());
        }
        Ok(period)
    }
}

/// One page of an NDJSON export: the events stored after `after` (storage order) recorded in
/// `period`, one AuditEvent per line with its storage id as `id`, and the last id read; `None`
/// once the log is exhausted.
pub async fn export_page(
    store: &Store,
    render: &Source<'_>,
    period: Period,
    after: i64,
) -> Result<Option<(String, i64)>, Error> {
    let rows = super::stored::select(
        store.backend(),
        &AuditSelect::ExportPage {
            after,
            from: period.from,
            to: period.to,
            limit: PAGE,
        },
    )
    .await?;
    let Some(last) = rows.last().map(|r| r.id) else {
        return Ok(None);
    };
    let mut text = String::new();
    for r in &rows {
        text.push_str(&render_row(r, render).to_string());
        text.push('\n');
    }
    Ok(Some((text, last)))
}

/// The AuditEvent of a stored row (a row whose text is not a record, written by an older version
/// or a tool, is given as stored, with its id).
pub fn render_row(r: &AuditRow, render: &Source<'_>) -> serde_json::Value {
    let id = r.id.to_string();
    let source = Source {
        chain: &r.chain,
        ..render.clone()
    };
    match Record::from_text(&r.body) {
        Some(record) => build(&record, &source, Some(&id)),
        None => {
            let mut v: serde_json::Value =
                serde_json::from_str(&r.body).unwrap_or(serde_json::Value::Null);
            if let Some(obj) = v.as_object_mut() {
                obj.insert("id".into(), serde_json::Value::String(id));
            }
            v
        }
    }
}
