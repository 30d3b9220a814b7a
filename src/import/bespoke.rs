//! The bespoke person-level database (Durham): one row per person holding only their latest
//! assessment, because each reassessment overwrote the record (see `import/README.md`).
//!
//! The latest assessment becomes an HNA whose legacy id is `<person_id>#<assessment_count>` (the
//! n-th assessment of that person), so a later export holding a newer assessment imports it as a new
//! HNA instead of matching the old one. `assessment_count` > 1 means earlier assessments were lost:
//! those records are counted, since the loss cannot be undone.

use std::collections::HashMap;
use std::io::Read;

use super::fields::{self, Assessment, Columns, Parsed, Reject, Scored};

/// Columns the bespoke format must have (the others are optional).
pub const REQUIRED: &[&str] = &[
    "person_id",
    "nhs_number",
    "organisation_ods",
    "assessment_count",
    "assessment_date",
    "concerns",
];

/// One parsed row and the line it came from.
struct Person {
    row: u64,
    person_id: String,
    count: u64,
    assessment: Assessment,
    /// Set when a second, different row names the same person: both are rejected.
    conflict: Option<u64>,
}

/// Parses a bespoke export. `Err` only when the file cannot be read as CSV with the required columns.
pub fn parse(input: impl Read) -> Result<Parsed, String> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let cols = Columns::new(reader.headers().map_err(|e| e.to_string())?, REQUIRED)?;
    let mut out = Parsed::default();
    let mut people: Vec<Person> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    let mut record = csv::StringRecord::new();
    while let Some(row) = out.next_row(&mut reader, &mut record)? {
        let person = match person(&cols, &record, row) {
            Ok(p) => p,
            Err(reason) => {
                out.rejects.push(Reject { row, reason });
                out.rejected_assessments += 1;
                continue;
            }
        };
        match by_id.get(&person.person_id) {
            None => {
                by_id.insert(person.person_id.clone(), people.len());
                people.push(person);
            }
            Some(&i) if same(&people[i], &person) => out.rejects.push(Reject {
                row,
                reason: format!("duplicate of row {}", people[i].row),
            }),
            Some(&i) => {
                out.rejects.push(Reject {
                    row,
                    reason: format!(
                        "person_id {} also has a different record on row {}",
                        person.person_id, people[i].row
                    ),
                });
                people[i].conflict.get_or_insert(row);
                out.rejected_assessments += 1;
            }
        }
    }
    for p in people {
        if let Some(other) = p.conflict {
            out.rejects.push(Reject {
                row: p.row,
                reason: format!(
                    "person_id {} also has a different record on row {other}",
                    p.person_id
                ),
            });
            out.rejected_assessments += 1;
            continue;
        }
        if p.count > 1 {
            out.lost_persons += 1;
            out.lost_assessments += p.count - 1;
        }
        out.assessments.push(p.assessment);
    }
    Ok(out)
}

/// True when two rows hold the same record (an exact duplicate).
fn same(a: &Person, b: &Person) -> bool {
    a.count == b.count
        && a.assessment.header == b.assessment.header
        && a.assessment.concerns == b.assessment.concerns
}

/// Parses one row.
fn person(cols: &Columns, r: &csv::StringRecord, row: u64) -> Result<Person, String> {
    let person_id = fields::id("person_id", cols.get(r, "person_id"))?;
    let count = match cols.get(r, "assessment_count") {
        "" => return Err("assessment_count is missing".into()),
        c => match c.parse::<u64>() {
            Ok(n) if n >= 1 => n,
            _ => return Err(format!("assessment_count {c:?} is not a number from 1")),
        },
    };
    let header = fields::header(cols, r)?;
    let mut concerns = concerns(cols.get(r, "concerns"))?;
    for (code, action) in pairs(cols.get(r, "actions"), "actions")? {
        let concern = fields::concern(code)?;
        let action = fields::actions(action)?;
        let scored = concerns
            .iter_mut()
            .find(|c| c.concern.code == concern.code)
            .ok_or_else(|| format!("actions name concern {code}, which is not scored"))?;
        for a in action {
            if !scored.actions.contains(&a) {
                scored.actions.push(a);
            }
        }
    }
    Ok(Person {
        row,
        assessment: Assessment {
            id: format!("{person_id}#{count}"),
            rows: vec![row],
            header,
            concerns,
        },
        person_id,
        count,
        conflict: None,
    })
}

/// `pain:7;fatigue:5` -> scored concerns (a concern twice is an error).
fn concerns(raw: &str) -> Result<Vec<Scored>, String> {
    let mut out: Vec<Scored> = Vec::new();
    for (code, severity) in pairs(raw, "concerns")? {
        let concern = fields::concern(code)?;
        if out.iter().any(|c| c.concern.code == concern.code) {
            return Err(format!("concern {code} is scored twice"));
        }
        out.push(Scored {
            concern,
            severity: fields::score(&format!("severity of {code}"), severity)?,
            actions: Vec::new(),
        });
    }
    Ok(out)
}

/// Splits `a:x;b:y` into pairs.
fn pairs<'a>(raw: &'a str, name: &str) -> Result<Vec<(&'a str, &'a str)>, String> {
    raw.split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.split_once(':')
                .map(|(a, b)| (a.trim(), b.trim()))
                .ok_or_else(|| format!("{name} item {p:?} is not code:value"))
        })
        .collect()
}
