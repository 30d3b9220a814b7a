//! The report as a FHIR R4 `MeasureReport` (type `summary`), for systems that collect measures
//! rather than read JSON or CSV.
//!
//! Mapping, table by table:
//! - the counts of a table form one `group` (its `code.text` is the table's name); each count column is
//!   a `population` (its `code.text` is the column's name), at group level for a one-row table, else
//!   per `stratum` of one `stratifier` keyed by the label column (the stratum's `value.text` is the
//!   row label);
//! - each column of derived figures forms a `group` of its own (`code.text` = `table.column`), the
//!   figure being the `measureScore` of the group or of each stratum;
//! - a suppressed value (`"<5"` or `"suppressed"` in the JSON) has no value but the
//!   data-absent-reason extension `masked`; this form does not say which of the two it was. A
//!   figure with no data (`null` in the JSON) has no `measureScore`.
//!
//! `measure` names `{canonical base}/Measure/hna-outcomes`; no Measure resource is published yet,
//! as the tables are defined by this code and its docs.

use serde_json::{Map, Value, json};

use super::render::{Cell, Kind, Report, Table};
use crate::hna::Canonical;

const DATA_ABSENT: &str = "http://hl7.org/fhir/StructureDefinition/data-absent-reason";

/// The MeasureReport for `report`, dated `now` (an instant).
pub fn to_measure_report(report: &Report, canonical: &Canonical, now: &str) -> Value {
    let groups: Vec<Value> = report.tables.iter().flat_map(groups).collect();
    json!({
        "resourceType": "MeasureReport",
        "status": "complete",
        "type": "summary",
        "measure": canonical.url("Measure/hna-outcomes"),
        "date": now,
        "period": {"start": report.start, "end": report.end},
        "group": groups,
    })
}

fn masked() -> Value {
    json!({"extension": [{"url": DATA_ABSENT, "valueCode": "masked"}]})
}

fn text(s: &str) -> Value {
    json!({"text": s})
}

/// A population for a count cell.
fn population(column: &str, cell: &Cell) -> Value {
    let mut p = Map::new();
    p.insert("code".into(), text(column));
    match cell {
        Cell::Count(n) => {
            p.insert("count".into(), json!(n));
        }
        _ => {
            p.insert("_count".into(), masked());
        }
    }
    Value::Object(p)
}

/// The `measureScore` for a figure cell, if it has one.
fn score(cell: &Cell) -> Option<Value> {
    match cell {
        Cell::Num(v) => Some(json!({"value": (v * 100.0).round() / 100.0})),
        Cell::Count(n) => Some(json!({"value": n})),
        Cell::Small | Cell::Withheld => Some(masked()),
        Cell::Missing | Cell::Text(_) => None,
    }
}

fn columns(t: &Table, kind: Kind) -> Vec<usize> {
    (0..t.columns.len())
        .filter(|i| t.kinds.get(*i) == Some(&kind))
        .collect()
}

/// The groups of one table: its counts, then one per figure column.
fn groups(t: &Table) -> Vec<Value> {
    let label = columns(t, Kind::Label).first().copied();
    let counts = columns(t, Kind::Count);
    let figures = columns(t, Kind::Figure);
    let name = |i: usize| t.columns.get(i).copied().unwrap_or("");
    // Each row as (label, its populations, the cell of a given column).
    let populations = |row: &[Cell]| -> Vec<Value> {
        counts
            .iter()
            .filter_map(|i| row.get(*i).map(|c| population(name(*i), c)))
            .collect()
    };
    let row_label = |row: &[Cell]| match label.and_then(|i| row.get(i)) {
        Some(Cell::Text(s)) => s.clone(),
        _ => String::new(),
    };
    let mut out = Vec::new();
    if !counts.is_empty() {
        let mut g = Map::new();
        g.insert("code".into(), text(t.name));
        match label {
            Some(l) => {
                let strata: Vec<Value> = t
                    .rows
                    .iter()
                    .map(|row| json!({"value": text(&row_label(row)), "population": populations(row)}))
                    .collect();
                g.insert(
                    "stratifier".into(),
                    json!([{"code": [text(name(l))], "stratum": strata}]),
                );
            }
            None => {
                let row = t.rows.first().map(Vec::as_slice).unwrap_or_default();
                g.insert("population".into(), Value::Array(populations(row)));
            }
        }
        out.push(Value::Object(g));
    }
    for f in figures {
        let mut g = Map::new();
        g.insert("code".into(), text(&format!("{}.{}", t.name, name(f))));
        match label {
            Some(l) => {
                let strata: Vec<Value> = t
                    .rows
                    .iter()
                    .map(|row| {
                        let mut s = Map::new();
                        s.insert("value".into(), text(&row_label(row)));
                        if let Some(v) = row.get(f).and_then(score) {
                            s.insert("measureScore".into(), v);
                        }
                        Value::Object(s)
                    })
                    .collect();
                g.insert(
                    "stratifier".into(),
                    json!([{"code": [text(name(l))], "stratum": strata}]),
                );
            }
            None => {
                if let Some(v) = t.rows.first().and_then(|r| r.get(f)).and_then(score) {
                    g.insert("measureScore".into(), v);
                }
            }
        }
        out.push(Value::Object(g));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        Report {
            start: "2026-01-01".into(),
            end: "2026-12-31".into(),
            tables: vec![
                Table {
                    name: "shared",
                    columns: vec!["plans", "shared", "share_percent"],
                    kinds: vec![Kind::Count, Kind::Count, Kind::Figure],
                    rows: vec![vec![Cell::Count(8), Cell::Small, Cell::Withheld]],
                },
                Table {
                    name: "actions",
                    columns: vec!["type", "actions", "per_hna"],
                    kinds: vec![Kind::Label, Kind::Count, Kind::Figure],
                    rows: vec![
                        vec![
                            Cell::Text("referral".into()),
                            Cell::Count(8),
                            Cell::Num(0.571),
                        ],
                        vec![
                            Cell::Text("discussion".into()),
                            Cell::Count(0),
                            Cell::Missing,
                        ],
                    ],
                },
            ],
        }
    }

    #[test]
    fn counts_become_populations_and_figures_scores() {
        let r = to_measure_report(
            &report(),
            &Canonical::new("https://x.test/fhir"),
            "2026-11-24T00:00:00Z",
        );
        assert_eq!(r["measure"], "https://x.test/fhir/Measure/hna-outcomes");
        let groups = r["group"].as_array().cloned().unwrap_or_default();
        assert_eq!(groups.len(), 4);
        assert_eq!(
            groups[0]["population"][0],
            json!({"code": {"text": "plans"}, "count": 8})
        );
        assert_eq!(
            groups[0]["population"][1]["_count"]["extension"][0]["valueCode"],
            "masked"
        );
        assert_eq!(groups[1]["code"]["text"], "shared.share_percent");
        assert_eq!(
            groups[1]["measureScore"]["extension"][0]["valueCode"],
            "masked"
        );
        let strata = &groups[2]["stratifier"][0]["stratum"];
        assert_eq!(strata[0]["value"]["text"], "referral");
        assert_eq!(strata[0]["population"][0]["count"], 8);
        let rates = &groups[3]["stratifier"][0]["stratum"];
        assert_eq!(rates[0]["measureScore"]["value"], 0.57);
        assert!(rates[1].get("measureScore").is_none());
    }
}
