//! Cells, and the report as JSON and CSV.
//!
//! Suppression (the published-tables rule; which counts it hides is decided across the whole
//! report by [`super::disclosure`], so no table can undo another's):
//! - a count of 1-4 is shown as `"<5"`; 0 is shown as 0 (it discloses no one);
//! - a count is shown as `"suppressed"` when, shown, it would let a `"<5"` be worked out from the
//!   published totals and sums, in its own table or any other;
//! - a derived figure (mean, median, share, rate) is `"suppressed"` when the group it was computed
//!   from has fewer than 5 members or a count it depends on is not shown; `null` when the group is
//!   empty.

use serde_json::{Map, Value, json};

/// Below this, a count is not published.
pub const THRESHOLD: u64 = 5;

/// One cell of a table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// A label (row key).
    Text(String),
    /// A published count.
    Count(u64),
    /// A count of 1-4.
    Small,
    /// A figure withheld by the secondary or derived-figure rule.
    Withheld,
    /// A derived figure (rounded to 2 decimals on output).
    Num(f64),
    /// No value (empty group).
    Missing,
}

impl Cell {
    /// A figure derived from a group of `n`: withheld when `n` is 1-4, missing when 0 or undefined.
    pub fn derived(n: u64, value: Option<f64>) -> Cell {
        match value {
            _ if n == 0 => Cell::Missing,
            _ if n < THRESHOLD => Cell::Withheld,
            Some(v) if v.is_finite() => Cell::Num(v),
            _ => Cell::Missing,
        }
    }

    fn to_json(&self) -> Value {
        match self {
            Cell::Text(s) => Value::String(s.clone()),
            Cell::Count(n) => json!(n),
            Cell::Small => json!("<5"),
            Cell::Withheld => json!("suppressed"),
            Cell::Num(v) => json!(round2(*v)),
            Cell::Missing => Value::Null,
        }
    }

    fn to_csv(&self) -> String {
        match self {
            Cell::Text(s) => csv_field(s),
            Cell::Count(n) => n.to_string(),
            Cell::Small => "<5".to_owned(),
            Cell::Withheld => "suppressed".to_owned(),
            Cell::Num(v) => round2(*v).to_string(),
            Cell::Missing => String::new(),
        }
    }
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// What a column holds, for renderings that type their values (the MeasureReport).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Row labels.
    Label,
    /// Counts.
    Count,
    /// Derived figures.
    Figure,
}

/// One published table.
#[derive(Debug, Clone)]
pub struct Table {
    /// Its name (JSON key, CSV section).
    pub name: &'static str,
    /// Column names.
    pub columns: Vec<&'static str>,
    /// What each column holds.
    pub kinds: Vec<Kind>,
    /// Rows, each with one cell per column.
    pub rows: Vec<Vec<Cell>>,
}

/// The whole report.
#[derive(Debug, Clone)]
pub struct Report {
    /// Period start (as requested).
    pub start: String,
    /// Period end (as requested).
    pub end: String,
    /// The tables, in publication order.
    pub tables: Vec<Table>,
}

impl Report {
    /// A table by name.
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }
}

/// The JSON form: `{"report", "period", "suppression", "tables": {name: [{column: value}]}}`.
pub fn to_json(report: &Report) -> Value {
    let mut tables = Map::new();
    for t in &report.tables {
        let rows: Vec<Value> = t
            .rows
            .iter()
            .map(|row| {
                Value::Object(
                    t.columns
                        .iter()
                        .zip(row)
                        .map(|(c, v)| ((*c).to_owned(), v.to_json()))
                        .collect(),
                )
            })
            .collect();
        tables.insert(t.name.to_owned(), Value::Array(rows));
    }
    json!({
        "report": "hna-outcomes",
        "period": {"start": report.start, "end": report.end},
        "suppression": "\"<5\": a count of 1-4; \"suppressed\": withheld so that a \"<5\" cannot be worked out, or derived from fewer than 5; null: no data",
        "tables": tables,
    })
}

/// The CSV form: per table a `# name` line, a header line and its rows; a blank line between tables.
pub fn to_csv(report: &Report) -> String {
    let mut out = format!(
        "# hna-outcomes,{},{}\n",
        csv_field(&report.start),
        csv_field(&report.end)
    );
    for t in &report.tables {
        out.push('\n');
        out.push_str(&format!("# {}\n", t.name));
        out.push_str(&t.columns.join(","));
        out.push('\n');
        for row in &t.rows {
            let line: Vec<String> = row.iter().map(Cell::to_csv).collect();
            out.push_str(&line.join(","));
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_figures_of_small_groups_are_withheld() {
        assert_eq!(Cell::derived(4, Some(1.0)), Cell::Withheld);
        assert_eq!(Cell::derived(0, None), Cell::Missing);
        assert_eq!(Cell::derived(5, Some(1.234)), Cell::Num(1.234));
        assert_eq!(Cell::derived(5, Some(f64::NAN)), Cell::Missing);
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("plain"), "plain");
    }
}
