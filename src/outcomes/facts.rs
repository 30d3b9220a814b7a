//! The few facts the outcome tables need, read from stored JSON with small borrowing structs: serde
//! skips every other element without building it, which keeps 100,000 HNAs well inside the time
//! budget (a `serde_json::Value` per resource would not be).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::LazyLock;

use serde::Deserialize;

use crate::fhir::days::{civil_from_days, parse_day, parse_ymd};
use crate::fhir::reference::ref_id;
use crate::hna::catalogue::{DOMAINS, concerns};
use crate::hna::{Canonical, LINK_PATHWAY, SEVERITY_RANGE};

/// One HNA, reduced to what the tables use.
#[derive(Debug, Clone)]
pub struct HnaFacts {
    /// The subject Patient's id, when the subject is a Patient.
    pub patient: Option<String>,
    /// `authored` as days since 1970-01-01 (the recorded local date).
    pub day: Option<i32>,
    /// Seconds into that day, for ordering two HNAs of one day (the recorded clock time).
    pub second: u32,
    /// `(domain index, severity)` of every concern scored above 0.
    pub concerns: Vec<(u8, u8)>,
    /// The point-of-pathway code, when answered.
    pub pathway: Option<String>,
}

/// One care plan, reduced to what the tables use.
#[derive(Debug, Clone, Default)]
pub struct PlanFacts {
    /// Ids of the QuestionnaireResponses in `supportingInfo`.
    pub hnas: Vec<String>,
    /// `created` as days since 1970-01-01.
    pub created: Option<i32>,
    /// The plan carries the shared-with extension with `gp`.
    pub shared_gp: bool,
    /// One entry per activity: its action type (`unknown` when not coded in the action-type system)
    /// and the id of its first Organization performer.
    pub activities: Vec<(String, Option<String>)>,
}

/// One Patient, reduced to what the tables use.
#[derive(Debug, Clone, Default)]
pub struct PatientFacts {
    /// `gender`, `unknown` when absent.
    pub gender: String,
    /// `birthDate` as (year, month, day); a partial date counts from its first day.
    pub birth: Option<(i32, u32, u32)>,
}

/// Concern code -> domain index, from the compiled-in catalogue.
static CONCERN_DOMAIN: LazyLock<HashMap<&'static str, u8>> = LazyLock::new(|| {
    concerns()
        .iter()
        .filter_map(|c| {
            let d = DOMAINS.iter().position(|(code, _)| *code == c.domain)?;
            Some((c.code.as_str(), u8::try_from(d).ok()?))
        })
        .collect()
});

#[derive(Deserialize)]
struct RawRef<'a> {
    #[serde(borrow)]
    reference: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct RawCoding<'a> {
    #[serde(borrow)]
    system: Option<Cow<'a, str>>,
    #[serde(borrow)]
    code: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct RawConcept<'a> {
    #[serde(borrow, default)]
    coding: Vec<RawCoding<'a>>,
}

#[derive(Deserialize)]
struct RawAnswer<'a> {
    #[serde(rename = "valueInteger")]
    value_integer: Option<i64>,
    #[serde(rename = "valueCoding", borrow)]
    value_coding: Option<RawCoding<'a>>,
}

#[derive(Deserialize)]
struct RawItem<'a> {
    #[serde(rename = "linkId", borrow)]
    link_id: Cow<'a, str>,
    #[serde(borrow, default)]
    item: Vec<RawItem<'a>>,
    #[serde(borrow, default)]
    answer: Vec<RawAnswer<'a>>,
}

#[derive(Deserialize)]
struct RawHna<'a> {
    #[serde(borrow)]
    questionnaire: Option<Cow<'a, str>>,
    #[serde(borrow)]
    status: Option<Cow<'a, str>>,
    #[serde(borrow)]
    subject: Option<RawRef<'a>>,
    #[serde(borrow)]
    authored: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    item: Vec<RawItem<'a>>,
}

#[derive(Deserialize)]
struct RawExtension<'a> {
    #[serde(borrow)]
    url: Cow<'a, str>,
    #[serde(rename = "valueCode", borrow)]
    value_code: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct RawDetail<'a> {
    #[serde(borrow)]
    code: Option<RawConcept<'a>>,
    #[serde(borrow, default)]
    performer: Vec<RawRef<'a>>,
}

#[derive(Deserialize)]
struct RawActivity<'a> {
    #[serde(borrow)]
    detail: Option<RawDetail<'a>>,
}

#[derive(Deserialize)]
struct RawPlan<'a> {
    #[serde(borrow)]
    status: Option<Cow<'a, str>>,
    #[serde(borrow)]
    created: Option<Cow<'a, str>>,
    #[serde(rename = "supportingInfo", borrow, default)]
    supporting_info: Vec<RawRef<'a>>,
    #[serde(borrow, default)]
    extension: Vec<RawExtension<'a>>,
    #[serde(borrow, default)]
    activity: Vec<RawActivity<'a>>,
}

#[derive(Deserialize)]
struct RawPatient<'a> {
    #[serde(borrow)]
    gender: Option<Cow<'a, str>>,
    #[serde(rename = "birthDate", borrow)]
    birth_date: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct RawOrganization<'a> {
    #[serde(borrow, default)]
    r#type: Vec<RawConcept<'a>>,
}

/// Reads an HNA; `None` when unreadable, not an answer to `questionnaire` (the HNA canonical), or
/// not `completed`/`amended`.
pub fn hna(body: &str, questionnaire: &str) -> Option<HnaFacts> {
    let raw: RawHna<'_> = serde_json::from_str(body).ok()?;
    if raw.questionnaire.as_deref() != Some(questionnaire)
        || !matches!(raw.status.as_deref(), Some("completed" | "amended"))
    {
        return None;
    }
    let (day, second) = raw
        .authored
        .as_deref()
        .map_or((None, 0), |a| (parse_day(a), parse_second(a)));
    let mut facts = HnaFacts {
        patient: raw
            .subject
            .and_then(|s| ref_id(s.reference.as_deref()?, "Patient").map(str::to_owned)),
        day,
        second,
        concerns: Vec::new(),
        pathway: None,
    };
    walk_items(&raw.item, &mut facts);
    Some(facts)
}

fn walk_items(items: &[RawItem<'_>], facts: &mut HnaFacts) {
    for item in items {
        if let Some(&domain) = CONCERN_DOMAIN.get(item.link_id.as_ref()) {
            let score = item.answer.iter().find_map(|a| a.value_integer);
            if let Some(s) = score.filter(|s| *s > 0 && SEVERITY_RANGE.contains(s))
                && let Ok(s) = u8::try_from(s)
            {
                facts.concerns.push((domain, s));
            }
        } else if item.link_id == LINK_PATHWAY {
            facts.pathway = item
                .answer
                .iter()
                .find_map(|a| a.value_coding.as_ref()?.code.as_deref().map(str::to_owned));
        }
        walk_items(&item.item, facts);
    }
}

/// Reads a care plan; `None` when unreadable or `entered-in-error`.
pub fn plan(body: &str, canonical: &Canonical) -> Option<PlanFacts> {
    let raw: RawPlan<'_> = serde_json::from_str(body).ok()?;
    if raw.status.as_deref() == Some("entered-in-error") {
        return None;
    }
    let shared_url = canonical.shared_with_extension();
    let action_system = canonical.action_type_system();
    let activities = raw
        .activity
        .iter()
        .filter_map(|a| a.detail.as_ref())
        .map(|d| {
            let kind = d
                .code
                .as_ref()
                .and_then(|c| {
                    c.coding
                        .iter()
                        .find(|k| k.system.as_deref() == Some(action_system.as_str()))
                })
                .and_then(|k| k.code.as_deref())
                .unwrap_or("unknown");
            let performer = d
                .performer
                .iter()
                .find_map(|p| ref_id(p.reference.as_deref()?, "Organization"));
            (kind.to_owned(), performer.map(str::to_owned))
        })
        .collect();
    Some(PlanFacts {
        hnas: raw
            .supporting_info
            .iter()
            .filter_map(|r| ref_id(r.reference.as_deref()?, "QuestionnaireResponse"))
            .map(str::to_owned)
            .collect(),
        created: raw.created.as_deref().and_then(parse_day),
        shared_gp: raw
            .extension
            .iter()
            .any(|e| e.url == shared_url && e.value_code.as_deref() == Some("gp")),
        activities,
    })
}

/// Reads a patient.
pub fn patient(body: &str) -> Option<PatientFacts> {
    let raw: RawPatient<'_> = serde_json::from_str(body).ok()?;
    Some(PatientFacts {
        gender: raw.gender.as_deref().unwrap_or("unknown").to_owned(),
        birth: raw.birth_date.as_deref().and_then(parse_ymd),
    })
}

/// An Organization's type: the first coding's code of its first type.
pub fn organization_type(body: &str) -> Option<String> {
    let raw: RawOrganization<'_> = serde_json::from_str(body).ok()?;
    let concept = raw.r#type.into_iter().next()?;
    let coding = concept.coding.into_iter().next()?;
    coding.code.map(Cow::into_owned)
}

/// Seconds into the day of a dateTime (`THH:MM:SS`), 0 for a date.
fn parse_second(s: &str) -> u32 {
    let part = |r: std::ops::Range<usize>| s.get(r).and_then(|x| x.parse::<u32>().ok());
    match (part(11..13), part(14..16), part(17..19)) {
        (Some(h), Some(m), sec) => h * 3600 + m * 60 + sec.unwrap_or(0),
        _ => 0,
    }
}

/// Whole years from `birth` to the date `day` (days since 1970-01-01).
pub fn age_at(birth: (i32, u32, u32), day: i32) -> i32 {
    let (y, m, d) = civil_from_days(day);
    let (by, bm, bd) = birth;
    y - by - i32::from((m, d) < (bm, bd))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fhir::days::days_from_civil;

    #[test]
    fn dates_round_trip_and_ages_count_birthdays() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(
            days_from_civil(2026, 3, 1) - days_from_civil(2026, 2, 28),
            1
        );
        assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
        let day = days_from_civil(2026, 5, 10);
        assert_eq!(age_at((1956, 5, 10), day), 70);
        assert_eq!(age_at((1956, 5, 11), day), 69);
        assert_eq!(
            parse_day("2026-01-02T23:59:00+01:00"),
            Some(days_from_civil(2026, 1, 2))
        );
        assert_eq!(parse_second("2026-01-02T01:02:03Z"), 3723);
    }

    #[test]
    fn an_hna_yields_its_scored_concerns_and_pathway() {
        let body = r#"{"resourceType":"QuestionnaireResponse","status":"completed",
            "questionnaire":"https://x/Questionnaire/hna","subject":{"reference":"Patient/a"},
            "authored":"2026-02-03","item":[{"linkId":"physical","item":[
              {"linkId":"breathing","answer":[{"valueInteger":6}]},
              {"linkId":"pain","answer":[{"valueInteger":0}]}]},
              {"linkId":"point-of-pathway","answer":[{"valueCoding":{"code":"diagnosis"}}]}]}"#;
        let f = hna(body, "https://x/Questionnaire/hna").expect("parses");
        assert!(hna(body, "https://y/Questionnaire/hna").is_none());
        assert_eq!(f.patient.as_deref(), Some("a"));
        assert_eq!(f.concerns, vec![(0, 6)]);
        assert_eq!(f.pathway.as_deref(), Some("diagnosis"));
    }
}
