//! What both legacy formats share: the parsed [`Assessment`], column lookup by header name, and the
//! field checks run before anything is bundled (so one bad row is named precisely and never reaches
//! the store). The NHS number check is the API's own ([`crate::fhir::nhs_number::is_valid`]).

use std::collections::HashMap;

use chrono::NaiveDate;

use crate::hna::catalogue::{self, Concern};
use crate::hna::{ACTION_TYPES, POINTS_OF_PATHWAY, SETTINGS, SEVERITY_RANGE};

/// The person an assessment is about (a Patient, matched on NHS number, never updated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Ten digits, check digit verified.
    pub nhs_number: String,
    pub family: String,
    pub given: String,
    /// `YYYY-MM-DD`.
    pub birth_date: Option<String>,
    /// FHIR administrative gender.
    pub gender: Option<&'static str>,
}

/// The recording organisation (an Organization, matched on ODS code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Org {
    pub ods: String,
    pub name: String,
}

/// One concern scored in an assessment, with the actions recorded against it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scored {
    pub concern: &'static Concern,
    pub severity: i64,
    /// Action type codes (from [`ACTION_TYPES`]).
    pub actions: Vec<&'static str>,
}

/// Everything about one assessment that is the same on all of its rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub person: Person,
    pub org: Org,
    /// Assessment date, `YYYY-MM-DD`.
    pub date: String,
    pub pathway: Option<&'static str>,
    pub setting: Option<&'static str>,
    pub distress: Option<i64>,
    /// Care-plan date, `YYYY-MM-DD`; a PCSP is written only with a date and at least one action.
    pub care_plan_date: Option<String>,
    pub shared_with_gp: bool,
}

/// One legacy assessment, ready to become an HNA (and maybe a PCSP).
#[derive(Debug, Clone)]
pub struct Assessment {
    /// The legacy id, unique within the source (the identifier value is `<source>:<id>`).
    pub id: String,
    /// Source line numbers of the rows it came from (for the reject file).
    pub rows: Vec<u64>,
    pub header: Header,
    pub concerns: Vec<Scored>,
}

impl Assessment {
    /// True when the assessment carries a care plan (a date and at least one action).
    pub fn has_care_plan(&self) -> bool {
        self.header.care_plan_date.is_some() && self.concerns.iter().any(|c| !c.actions.is_empty())
    }
}

/// A row that will not be imported, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// The line of the input file the row starts on (the header is line 1).
    pub row: u64,
    pub reason: String,
}

impl Parsed {
    /// Reads the next data row into `record` and returns its line number, or `None` at the end. A
    /// row the CSV reader cannot decode (bad UTF-8, broken quoting) is counted, rejected with its
    /// line and skipped, so reading goes on; only an I/O error stops the import.
    pub fn next_row<R: std::io::Read>(
        &mut self,
        reader: &mut csv::Reader<R>,
        record: &mut csv::StringRecord,
    ) -> Result<Option<u64>, String> {
        loop {
            let line = reader.position().line() + 1;
            match reader.read_record(record) {
                Ok(false) => return Ok(None),
                Ok(true) => {
                    self.rows_read += 1;
                    return Ok(Some(record.position().map_or(line, |p| p.line())));
                }
                Err(e) if !matches!(e.kind(), csv::ErrorKind::Io(_)) => {
                    self.rows_read += 1;
                    self.rejects.push(Reject {
                        row: e.position().map_or(line, |p| p.line()),
                        reason: format!("unreadable row: {e}"),
                    });
                }
                Err(e) => return Err(e.to_string()),
            }
        }
    }
}

/// What a parser made of a file.
#[derive(Debug, Default)]
pub struct Parsed {
    /// Data rows read (every one ends up in an assessment or in `rejects`).
    pub rows_read: u64,
    pub assessments: Vec<Assessment>,
    pub rejects: Vec<Reject>,
    /// Person-level records whose earlier assessments were overwritten (bespoke format).
    pub lost_persons: u64,
    /// How many earlier assessments those records lost in all.
    pub lost_assessments: u64,
    /// Assessments (or person records) rejected whole while parsing; duplicate rows are not counted.
    pub rejected_assessments: u64,
}

/// Column positions by header name, so exports may order (or add) columns freely.
pub struct Columns {
    index: HashMap<String, usize>,
}

impl Columns {
    /// Reads the header; a required column that is missing is fatal (the whole file is unusable).
    pub fn new(header: &csv::StringRecord, required: &[&str]) -> Result<Self, String> {
        let index: HashMap<String, usize> = header
            .iter()
            .enumerate()
            .map(|(i, h)| {
                (
                    h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase(),
                    i,
                )
            })
            .collect();
        let missing: Vec<&str> = required
            .iter()
            .copied()
            .filter(|c| !index.contains_key(*c))
            .collect();
        if missing.is_empty() {
            Ok(Columns { index })
        } else {
            Err(format!("missing column(s): {}", missing.join(", ")))
        }
    }

    /// The trimmed field `name` of `record` ("" when the column is absent or the row is short).
    pub fn get<'r>(&self, record: &'r csv::StringRecord, name: &str) -> &'r str {
        self.index
            .get(name)
            .and_then(|i| record.get(*i))
            .map_or("", str::trim)
    }
}

/// A required, valid NHS number (spaces allowed, as exports often print `943 476 5919`).
pub fn nhs_number(raw: &str) -> Result<String, String> {
    let n: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    if n.is_empty() {
        return Err("nhs_number is missing".into());
    }
    if crate::fhir::nhs_number::is_valid(&n) {
        Ok(n)
    } else {
        Err(format!("nhs_number {raw:?} is not a valid NHS number"))
    }
}

/// A required date: ISO `YYYY-MM-DD` or UK `DD/MM/YYYY`, not in the future.
pub fn date(name: &str, raw: &str) -> Result<String, String> {
    optional_date(name, raw)?.ok_or_else(|| format!("{name} is missing"))
}

/// An optional date (see [`date`]).
pub fn optional_date(name: &str, raw: &str) -> Result<Option<String>, String> {
    if raw.is_empty() {
        return Ok(None);
    }
    let d = raw
        .parse::<NaiveDate>()
        .ok()
        .filter(|_| raw.len() == 10)
        .or_else(|| NaiveDate::parse_from_str(raw, "%d/%m/%Y").ok())
        .ok_or_else(|| format!("{name} {raw:?} is not a date (YYYY-MM-DD or DD/MM/YYYY)"))?;
    if d > *TODAY {
        return Err(format!("{name} {raw} is in the future"));
    }
    Ok(Some(d.to_string()))
}

/// The local date when the import started: read once (asking the clock and time zone for every
/// row cost more than parsing the row). An import that runs past midnight still judges by the day
/// it started: a row dated the new day is rejected as in the future, and a rerun imports it.
static TODAY: std::sync::LazyLock<NaiveDate> =
    std::sync::LazyLock::new(|| chrono::Local::now().date_naive());

/// A concern code from the catalogue.
pub fn concern(raw: &str) -> Result<&'static Concern, String> {
    catalogue::concern(&raw.to_ascii_lowercase())
        .ok_or_else(|| format!("unknown concern code {raw:?}"))
}

/// A severity (or Distress Thermometer score): an integer 0-10.
pub fn score(name: &str, raw: &str) -> Result<i64, String> {
    match raw.parse::<i64>() {
        Ok(v) if SEVERITY_RANGE.contains(&v) => Ok(v),
        Ok(v) => Err(format!("{name} {v} is outside 0-10")),
        Err(_) if raw.is_empty() => Err(format!("{name} is missing")),
        Err(_) => Err(format!("{name} {raw:?} is not a whole number")),
    }
}

/// An optional score.
pub fn optional_score(name: &str, raw: &str) -> Result<Option<i64>, String> {
    if raw.is_empty() {
        Ok(None)
    } else {
        score(name, raw).map(Some)
    }
}

/// An optional code from one of the contract's code lists.
pub fn code(
    name: &str,
    raw: &str,
    list: &'static [(&'static str, &'static str)],
) -> Result<Option<&'static str>, String> {
    if raw.is_empty() {
        return Ok(None);
    }
    let wanted = raw.to_ascii_lowercase().replace([' ', '_'], "-");
    list.iter()
        .find(|(c, _)| *c == wanted)
        .map(|(c, _)| Some(*c))
        .ok_or_else(|| {
            let known: Vec<&str> = list.iter().map(|(c, _)| *c).collect();
            format!("{name} {raw:?} is not one of {}", known.join(", "))
        })
}

/// The point of pathway.
pub fn pathway(raw: &str) -> Result<Option<&'static str>, String> {
    code("point_of_pathway", raw, POINTS_OF_PATHWAY)
}

/// The setting.
pub fn setting(raw: &str) -> Result<Option<&'static str>, String> {
    code("setting", raw, SETTINGS)
}

/// Action types, `;`-separated (empty: no action).
pub fn actions(raw: &str) -> Result<Vec<&'static str>, String> {
    raw.split(';')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(|a| code("action_type", a, ACTION_TYPES).map(|c| c.unwrap_or_default()))
        .collect()
}

/// A yes/no flag (`Y`, `yes`, `true`, `1` are yes; empty is no).
pub fn flag(name: &str, raw: &str) -> Result<bool, String> {
    match raw.to_ascii_lowercase().as_str() {
        "y" | "yes" | "true" | "1" => Ok(true),
        "" | "n" | "no" | "false" | "0" => Ok(false),
        _ => Err(format!("{name} {raw:?} is not yes or no")),
    }
}

/// Administrative gender from the codes legacy systems use.
pub fn gender(raw: &str) -> Result<Option<&'static str>, String> {
    match raw.to_ascii_lowercase().as_str() {
        "" => Ok(None),
        "m" | "male" | "1" => Ok(Some("male")),
        "f" | "female" | "2" => Ok(Some("female")),
        "o" | "other" | "9" => Ok(Some("other")),
        "u" | "unknown" | "0" => Ok(Some("unknown")),
        _ => Err(format!("sex {raw:?} is not M, F, O or U")),
    }
}

/// A required legacy id (assessment or person).
pub fn id(name: &str, raw: &str) -> Result<String, String> {
    if raw.is_empty() {
        Err(format!("{name} is missing"))
    } else if raw.len() > 64 {
        Err(format!("{name} is longer than 64 characters"))
    } else {
        Ok(raw.to_owned())
    }
}

/// The person and organisation columns both formats share.
pub fn person_and_org(cols: &Columns, r: &csv::StringRecord) -> Result<(Person, Org), String> {
    let person = Person {
        nhs_number: nhs_number(cols.get(r, "nhs_number"))?,
        family: cols.get(r, "family_name").to_owned(),
        given: cols.get(r, "given_name").to_owned(),
        birth_date: optional_date("birth_date", cols.get(r, "birth_date"))?,
        gender: gender(cols.get(r, "sex"))?,
    };
    let ods = cols.get(r, "organisation_ods").to_ascii_uppercase();
    if ods.is_empty() {
        return Err("organisation_ods is missing".into());
    }
    if !ods.chars().all(|c| c.is_ascii_alphanumeric()) || ods.len() > 12 {
        return Err(format!("organisation_ods {ods:?} is not an ODS code"));
    }
    let org = Org {
        ods,
        name: cols.get(r, "organisation_name").to_owned(),
    };
    Ok((person, org))
}

/// The assessment-level columns of a row, the same in both export formats.
pub fn header(cols: &Columns, r: &csv::StringRecord) -> Result<Header, String> {
    let (person, org) = person_and_org(cols, r)?;
    Ok(Header {
        person,
        org,
        date: date("assessment_date", cols.get(r, "assessment_date"))?,
        pathway: pathway(cols.get(r, "point_of_pathway"))?,
        setting: setting(cols.get(r, "setting"))?,
        distress: optional_score("distress_score", cols.get(r, "distress_score"))?,
        care_plan_date: optional_date("care_plan_date", cols.get(r, "care_plan_date"))?,
        shared_with_gp: flag("shared_with_gp", cols.get(r, "shared_with_gp"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_checked_with_reasons() {
        assert_eq!(nhs_number("943 476 5919").as_deref(), Ok("9434765919"));
        assert!(nhs_number("9434765918").is_err());
        assert_eq!(
            date("d", "05/03/2024").as_deref(),
            Ok("2024-03-05"),
            "UK dates"
        );
        assert!(date("d", "").is_err_and(|e| e.contains("missing")));
        assert_eq!(date("d", "2024-03-05").as_deref(), Ok("2024-03-05"));
        for bad in ["2024-3-5", "2024-02-30", "5 March 2024", "+2024-03-05"] {
            assert!(
                date("d", bad).is_err_and(|e| e.contains("not a date")),
                "{bad}"
            );
        }
        assert!(date("d", "2999-01-01").is_err_and(|e| e.contains("future")));
        assert!(score("severity", "12").is_err_and(|e| e.contains("outside 0-10")));
        assert!(concern("nope").is_err());
        assert_eq!(
            actions("referral; Information advice"),
            Ok(vec!["referral", "information-advice"])
        );
        assert_eq!(pathway("End of treatment"), Ok(Some("end-of-treatment")));
    }
}
