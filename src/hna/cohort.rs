//! Evaluation cohorts defined by a `Group`: which HNAs an evaluation covers, said in FHIR so that
//! the evaluators' de-identified extract is an ordinary Bulk Data `Group/[id]/$export`
//! (`crate::export`).
//!
//! An extract Group is definitional (`actual` false, no `member`), has `code` =
//! `{canonical}/CodeSystem/evaluation-cohort|hna-extract`, and exactly one characteristic:
//! `code` = `hna-author` of that system, `valueReference` = the recording `Organization/<id>`,
//! `exclude` false and `period` with a `start` and an `end` day (`YYYY-MM-DD`, both included).
//! That is the population of the outcome tables (`crate::outcomes`) for that organisation and
//! period. Any other characteristic is refused rather than ignored: an extract must never cover
//! more people than its Group says. Every write of a Group passes through [`issues`] (422).

use serde_json::Value;

use super::{COHORT_HNA_AUTHOR, COHORT_HNA_EXTRACT, Canonical};
use crate::fhir::OutcomeIssue;

/// The population an extract Group defines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cohort {
    /// The recording Organization's id.
    pub organization: String,
    /// First day, `YYYY-MM-DD`.
    pub start: String,
    /// Last day, `YYYY-MM-DD`, included.
    pub end: String,
}

/// Whether `group` claims to define a de-identified HNA extract (its `code`).
pub fn is_extract(group: &Value, c: &Canonical) -> bool {
    has_coding(group.get("code"), &c.cohort_system(), COHORT_HNA_EXTRACT)
}

/// The cohort of an extract Group; `None` for any other Group; the faults of a malformed one.
pub fn extract_cohort(group: &Value, c: &Canonical) -> Result<Option<Cohort>, Vec<OutcomeIssue>> {
    if !is_extract(group, c) {
        return Ok(None);
    }
    let mut issues = Vec::new();
    let mut fault = |path: String, text: &str| {
        issues.push(OutcomeIssue::error("business-rule", text).at(path));
    };
    if group.get("actual").and_then(Value::as_bool) != Some(false) {
        fault(
            "Group.actual".into(),
            "an HNA extract Group is definitional: actual must be false",
        );
    }
    if group.get("member").is_some() {
        fault(
            "Group.member".into(),
            "an HNA extract Group lists no members: its characteristic defines them",
        );
    }
    let system = c.cohort_system();
    let characteristics = group
        .get("characteristic")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut cohort = None;
    for (i, ch) in characteristics.iter().enumerate() {
        let at = |rest: &str| format!("Group.characteristic[{i}]{rest}");
        if !has_coding(ch.get("code"), &system, COHORT_HNA_AUTHOR) {
            fault(
                at(".code"),
                "an HNA extract Group takes only the hna-author characteristic",
            );
            continue;
        }
        if cohort.is_some() {
            fault(
                at(""),
                "an HNA extract Group has one hna-author characteristic",
            );
            continue;
        }
        if ch.get("exclude").and_then(Value::as_bool) != Some(false) {
            fault(
                at(".exclude"),
                "the hna-author characteristic must have exclude false",
            );
        }
        let organization = ch
            .pointer("/valueReference/reference")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("Organization/"))
            .filter(|id| crate::fhir::id::is_valid_id(id));
        if organization.is_none() {
            fault(
                at(".valueReference"),
                "the hna-author characteristic names the recording organisation as valueReference Organization/<id>",
            );
        }
        let day = |key: &str| {
            ch.pointer(&format!("/period/{key}"))
                .and_then(Value::as_str)
                .filter(|d| d.len() == 10)
                .and_then(|d| crate::fhir::days::parse_day(d).map(|n| (d, n)))
        };
        let (start, end) = (day("start"), day("end"));
        if start.is_none() {
            fault(
                at(".period.start"),
                "the period starts on a day (YYYY-MM-DD)",
            );
        }
        if end.is_none() {
            fault(at(".period.end"), "the period ends on a day (YYYY-MM-DD)");
        }
        if let (Some((_, s)), Some((_, e))) = (start, end)
            && s > e
        {
            fault(at(".period"), "the period starts after it ends");
        }
        if let (Some(org), Some((s, _)), Some((e, _))) = (organization, start, end) {
            cohort = Some(Cohort {
                organization: org.to_owned(),
                start: s.to_owned(),
                end: e.to_owned(),
            });
        }
    }
    if characteristics.is_empty() {
        fault(
            "Group.characteristic".into(),
            "an HNA extract Group needs its hna-author characteristic",
        );
    }
    match cohort {
        Some(c) if issues.is_empty() => Ok(Some(c)),
        _ => Err(issues),
    }
}

/// The faults of `group` as a Group this deployment can act on (none for a Group that is not an
/// extract).
pub fn issues(group: &Value, c: &Canonical) -> Vec<OutcomeIssue> {
    extract_cohort(group, c).err().unwrap_or_default()
}

fn has_coding(concept: Option<&Value>, system: &str, code: &str) -> bool {
    concept
        .and_then(|c| c.get("coding"))
        .and_then(Value::as_array)
        .is_some_and(|codings| {
            codings.iter().any(|k| {
                k.get("system").and_then(Value::as_str) == Some(system)
                    && k.get("code").and_then(Value::as_str) == Some(code)
            })
        })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const C: &str = "https://fhir.carebridge.uk";

    fn group(characteristic: Value) -> Value {
        json!({"resourceType": "Group", "type": "person", "actual": false,
            "code": {"coding": [{"system": format!("{C}/CodeSystem/evaluation-cohort"), "code": "hna-extract"}]},
            "characteristic": characteristic})
    }

    fn author(org: &str, start: &str, end: &str) -> Value {
        json!({"code": {"coding": [{"system": format!("{C}/CodeSystem/evaluation-cohort"), "code": "hna-author"}]},
            "valueReference": {"reference": format!("Organization/{org}")},
            "exclude": false, "period": {"start": start, "end": end}})
    }

    fn paths(issues: &[OutcomeIssue]) -> Vec<&str> {
        issues
            .iter()
            .filter_map(|i| i.expression.as_deref())
            .collect()
    }

    #[test]
    fn an_extract_group_defines_the_outcome_population() {
        let c = Canonical::new(C);
        let g = group(json!([author("lw1", "2026-01-01", "2026-06-30")]));
        assert_eq!(
            extract_cohort(&g, &c),
            Ok(Some(Cohort {
                organization: "lw1".into(),
                start: "2026-01-01".into(),
                end: "2026-06-30".into()
            }))
        );
        let plain = json!({"resourceType": "Group", "type": "person", "actual": true});
        assert_eq!(extract_cohort(&plain, &c), Ok(None));
        assert!(issues(&plain, &c).is_empty());
    }

    #[test]
    fn a_malformed_extract_group_is_refused_at_each_fault() {
        let c = Canonical::new(C);
        let mut g = group(json!([
            author("lw1", "2026-07-01", "2026-06-30"),
            {"code": {"coding": [{"system": "http://snomed.info/sct", "code": "263495000"}]},
             "valueCodeableConcept": {"text": "female"}, "exclude": false}
        ]));
        g["actual"] = json!(true);
        g["member"] = json!([{"entity": {"reference": "Patient/p1"}}]);
        let issues = extract_cohort(&g, &c).expect_err("refused");
        assert_eq!(
            paths(&issues),
            [
                "Group.actual",
                "Group.member",
                "Group.characteristic[0].period",
                "Group.characteristic[1].code"
            ]
        );
        let bad = group(json!([{"code": author("x", "", "")["code"].clone(),
            "valueReference": {"reference": "Patient/p1"}, "exclude": true,
            "period": {"start": "2026-01"}}]));
        assert_eq!(
            paths(&extract_cohort(&bad, &c).expect_err("refused")),
            [
                "Group.characteristic[0].exclude",
                "Group.characteristic[0].valueReference",
                "Group.characteristic[0].period.start",
                "Group.characteristic[0].period.end"
            ]
        );
        let none = group(json!([]));
        assert_eq!(
            paths(&extract_cohort(&none, &c).expect_err("refused")),
            ["Group.characteristic"]
        );
        let twice = group(json!([
            author("lw1", "2026-01-01", "2026-06-30"),
            author("lw2", "2026-01-01", "2026-06-30")
        ]));
        assert_eq!(
            paths(&extract_cohort(&twice, &c).expect_err("refused")),
            ["Group.characteristic[1]"]
        );
    }
}
