//! The eHNA export (Dundee/Fife electronic HNA system): one row per concern per assessment, the
//! assessment's details repeated on each of its rows (see `import/README.md`).
//!
//! An assessment is imported whole or not at all: a partial HNA would misstate the person's concerns.
//! So a bad row rejects its assessment (the bad row with its own reason, its siblings naming it),
//! except an exact duplicate row, which is rejected alone and changes nothing.

use std::collections::HashMap;
use std::io::Read;

use super::fields::{self, Assessment, Columns, Header, Parsed, Reject, Scored};

/// Columns the eHNA format must have (the others are optional).
pub const REQUIRED: &[&str] = &[
    "assessment_id",
    "nhs_number",
    "organisation_ods",
    "assessment_date",
    "concern_code",
    "severity",
];

/// The rows of one assessment seen so far.
struct Group {
    id: String,
    rows: Vec<u64>,
    /// The first row's details and its line.
    header: Option<(Header, u64)>,
    concerns: Vec<Scored>,
    /// concern code -> (line, position in `concerns`).
    seen: HashMap<&'static str, (u64, usize)>,
    /// Rows with their own fault.
    faults: Vec<Reject>,
}

/// Parses an eHNA export. `Err` only when the file cannot be read as CSV with the required columns.
pub fn parse(input: impl Read) -> Result<Parsed, String> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::None)
        .from_reader(input);
    let cols = Columns::new(reader.headers().map_err(|e| e.to_string())?, REQUIRED)?;
    let mut out = Parsed::default();
    let mut groups: Vec<Group> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    let mut record = csv::StringRecord::new();
    while let Some(row) = out.next_row(&mut reader, &mut record)? {
        let id = match fields::id("assessment_id", cols.get(&record, "assessment_id")) {
            Ok(id) => id,
            Err(reason) => {
                out.rejects.push(Reject { row, reason });
                continue;
            }
        };
        let gi = *by_id.entry(id.clone()).or_insert_with(|| {
            groups.push(Group {
                id,
                rows: Vec::new(),
                header: None,
                concerns: Vec::new(),
                seen: HashMap::new(),
                faults: Vec::new(),
            });
            groups.len() - 1
        });
        let group = &mut groups[gi];
        match add_row(group, &cols, &record, row) {
            Row::Taken => group.rows.push(row),
            Row::Duplicate(first) => out.rejects.push(Reject {
                row,
                reason: format!("duplicate of row {first}"),
            }),
            Row::Fault(reason) => {
                group.rows.push(row);
                group.faults.push(Reject { row, reason });
            }
        }
    }
    for g in groups {
        finish(g, &mut out);
    }
    Ok(out)
}

/// What became of one row.
enum Row {
    Taken,
    /// The same as the row on that line: rejected alone.
    Duplicate(u64),
    /// The row is wrong: its assessment is rejected.
    Fault(String),
}

/// Adds one row to its assessment.
fn add_row(g: &mut Group, cols: &Columns, r: &csv::StringRecord, row: u64) -> Row {
    match take_row(g, cols, r, row) {
        Ok(None) => Row::Taken,
        Ok(Some(first)) => Row::Duplicate(first),
        Err(reason) => Row::Fault(reason),
    }
}

/// Checks and records one row: `Ok(Some(line))` when it duplicates that earlier row exactly.
fn take_row(
    g: &mut Group,
    cols: &Columns,
    r: &csv::StringRecord,
    row: u64,
) -> Result<Option<u64>, String> {
    let header = fields::header(cols, r)?;
    match &g.header {
        None => g.header = Some((header, row)),
        Some((first, first_row)) if *first != header => {
            return Err(format!(
                "assessment {} has different person, organisation or assessment details on row {first_row}",
                g.id
            ));
        }
        Some(_) => {}
    }
    let code = cols.get(r, "concern_code");
    let severity = cols.get(r, "severity");
    let actions = fields::actions(cols.get(r, "action_type"))?;
    if code.is_empty() && severity.is_empty() {
        // An assessment with no concern scored still has one row.
        return if actions.is_empty() {
            Ok(None)
        } else {
            Err("action_type given without a concern_code".into())
        };
    }
    let scored = Scored {
        concern: fields::concern(code)?,
        severity: fields::score("severity", severity)?,
        actions,
    };
    if let Some((first_row, at)) = g.seen.get(scored.concern.code.as_str()) {
        if g.concerns[*at] == scored {
            return Ok(Some(*first_row));
        }
        return Err(format!(
            "concern {} is scored differently on row {first_row} of assessment {}",
            scored.concern.code, g.id
        ));
    }
    g.seen
        .insert(scored.concern.code.as_str(), (row, g.concerns.len()));
    g.concerns.push(scored);
    Ok(None)
}

/// Turns a complete group into an assessment, or rejects all of its rows.
fn finish(g: Group, out: &mut Parsed) {
    let header = match (&g.faults[..], g.header) {
        ([], Some((h, _))) => h,
        (faults, _) => {
            let (culprit, why) = faults.first().map_or((0, "its details are invalid"), |f| {
                (f.row, f.reason.as_str())
            });
            for row in &g.rows {
                let reason = match faults.iter().find(|f| f.row == *row) {
                    Some(f) => f.reason.clone(),
                    None => format!(
                        "assessment {} not imported: row {culprit} is invalid ({why})",
                        g.id
                    ),
                };
                out.rejects.push(Reject { row: *row, reason });
            }
            out.rejected_assessments += 1;
            return;
        }
    };
    out.assessments.push(Assessment {
        id: g.id,
        rows: g.rows,
        header,
        concerns: g.concerns,
    });
}
