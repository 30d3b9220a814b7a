//! The draft PCSP care plan `$extract` builds from an HNA: a pure function of the response, so the
//! operation, the import and the tests all draft the same plan from the same answers.
//!
//! Decisions (the SDC and the contract leave these open):
//! - A concern counts only where the contract puts it: an item whose linkId is a catalogue concern,
//!   inside the top-level group of that concern's domain. Anything else (the Distress Thermometer,
//!   free text, a concern outside its domain group) never becomes an activity; Questionnaire
//!   validation on write is what refuses misplaced items.
//! - Unanswered concerns are skipped; an answer that is not one integer in 0-10 is refused rather than
//!   guessed at, as is a concern answered twice (two activities for one concern would be a duplicate).
//! - Activities are ordered by severity, highest first, ties in catalogue order (not answer order), so
//!   the same scores always give the same plan.
//! - No concern at or above the threshold still gives a plan, with no `activity`: the conversation
//!   and what matters most are worth a plan even when no concern is scored high.
//! - Drafts carry no action type (`detail.code`) or performer: the person and the link worker choose
//!   them when they agree the plan.
//! - The Distress Thermometer score and what matters most go in `description` (one human-readable
//!   line a clinician sees first); they are not coded anywhere else on the plan.

use serde_json::{Map, Value, json};

use super::catalogue::{self, DOMAINS};
use super::{Canonical, LINK_DISTRESS, LINK_WHAT_MATTERS, SEVERITY_RANGE, SNOMED_CARE_PLAN};

/// Why a response cannot be drafted into a plan; `expression` locates the offending element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError {
    /// FHIRPath of the element at fault.
    pub expression: String,
    /// What is wrong, safe to show.
    pub message: String,
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.expression, self.message)
    }
}

impl std::error::Error for PlanError {}

fn fail(expression: impl Into<String>, message: impl Into<String>) -> PlanError {
    PlanError {
        expression: expression.into(),
        message: message.into(),
    }
}

/// One concern scored in the response.
struct Scored {
    code: &'static str,
    domain: &'static str,
    display: &'static str,
    severity: i64,
    /// Position in the catalogue, the tie-break.
    rank: usize,
}

/// Drafts the PCSP care plan for the HNA `response`: one activity per concern scored at or above
/// `threshold`, highest first. `response_ref` (`QuestionnaireResponse/<id>`) is set as
/// `supportingInfo` when the response is stored; `created` is the plan's `created` dateTime (given,
/// so that the builder stays pure).
pub fn draft_plan(
    response: &Value,
    response_ref: Option<&str>,
    canonical: &Canonical,
    threshold: i64,
    created: &str,
) -> Result<Value, PlanError> {
    if !SEVERITY_RANGE.contains(&threshold) {
        return Err(fail("threshold", "The threshold must be between 0 and 10"));
    }
    if response.get("resourceType").and_then(Value::as_str) != Some("QuestionnaireResponse") {
        return Err(fail(
            "QuestionnaireResponse",
            "Only a QuestionnaireResponse can be extracted",
        ));
    }
    let subject = response
        .get("subject")
        .filter(|s| s.is_object())
        .ok_or_else(|| {
            fail(
                "QuestionnaireResponse.subject",
                "The response has no subject; a care plan needs the person it is for",
            )
        })?;

    let mut scored = scored_concerns(response)?;
    scored.retain(|s| s.severity >= threshold);
    scored.sort_by_key(|s| (std::cmp::Reverse(s.severity), s.rank));

    let mut plan = Map::new();
    plan.insert("resourceType".into(), json!("CarePlan"));
    plan.insert(
        "meta".into(),
        json!({"profile": [canonical.pcsp_profile()]}),
    );
    plan.insert("status".into(), json!("draft"));
    plan.insert("intent".into(), json!("plan"));
    plan.insert(
        "category".into(),
        json!([{"coding": [{
            "system": "http://snomed.info/sct",
            "code": SNOMED_CARE_PLAN,
            "display": "Care plan"
        }]}]),
    );
    plan.insert("title".into(), json!("Personalised care and support plan"));
    if let Some(d) = description(response)? {
        plan.insert("description".into(), json!(d));
    }
    plan.insert("subject".into(), subject.clone());
    plan.insert("created".into(), json!(created));
    if let Some(author) = response.get("author").filter(|a| a.is_object()) {
        plan.insert("author".into(), author.clone());
    }
    if let Some(r) = response_ref {
        plan.insert("supportingInfo".into(), json!([{"reference": r}]));
    }
    if !scored.is_empty() {
        let activities: Vec<Value> = scored.iter().map(|s| activity(s, canonical)).collect();
        plan.insert("activity".into(), Value::Array(activities));
    }
    Ok(Value::Object(plan))
}

fn activity(s: &Scored, canonical: &Canonical) -> Value {
    let domain_display = DOMAINS
        .iter()
        .find(|(d, _)| *d == s.domain)
        .map_or(s.domain, |(_, name)| *name);
    json!({"detail": {
        "extension": [{
            "url": canonical.domain_extension(),
            "valueCoding": {
                "system": canonical.domain_system(),
                "code": s.domain,
                "display": domain_display
            }
        }],
        "reasonCode": [{"coding": [{
            "system": canonical.concern_system(),
            "code": s.code,
            "display": s.display
        }]}],
        "status": "not-started",
        "description": format!("{} (scored {}/10)", s.display, s.severity)
    }})
}

/// Every answered concern inside its domain group, checked.
fn scored_concerns(response: &Value) -> Result<Vec<Scored>, PlanError> {
    let mut out: Vec<Scored> = Vec::new();
    for (g, group) in items(response).iter().enumerate() {
        let Some(domain) = link_id(group).filter(|d| DOMAINS.iter().any(|(x, _)| x == d)) else {
            continue;
        };
        for (i, item) in items(group).iter().enumerate() {
            let Some(code) = link_id(item) else {
                continue;
            };
            let Some((rank, concern)) = catalogue::concerns()
                .iter()
                .enumerate()
                .find(|(_, c)| c.code == code && c.domain == domain)
            else {
                continue;
            };
            let path = format!("QuestionnaireResponse.item[{g}].item[{i}]");
            let Some(severity) = integer_answer(item, &path)? else {
                continue;
            };
            if out.iter().any(|s| s.code == concern.code) {
                return Err(fail(
                    path,
                    format!("The concern '{code}' is answered more than once"),
                ));
            }
            out.push(Scored {
                code: &concern.code,
                domain: &concern.domain,
                display: &concern.display,
                severity,
                rank,
            });
        }
    }
    Ok(out)
}

/// The one integer answer of a 0-10 item at `path`; `None` when unanswered.
fn integer_answer(item: &Value, path: &str) -> Result<Option<i64>, PlanError> {
    let answers = item
        .get("answer")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let answer = match answers {
        [] => return Ok(None),
        [one] => one,
        _ => {
            return Err(fail(
                format!("{path}.answer"),
                "A severity takes one answer, not several",
            ));
        }
    };
    let value = answer
        .get("valueInteger")
        .and_then(Value::as_i64)
        .ok_or_else(|| {
            fail(
                format!("{path}.answer[0]"),
                "A severity must be a valueInteger",
            )
        })?;
    if !SEVERITY_RANGE.contains(&value) {
        return Err(fail(
            format!("{path}.answer[0].valueInteger"),
            format!("Severity {value} is outside 0-10"),
        ));
    }
    Ok(Some(value))
}

/// "Distress Thermometer 6/10. What matters most: ..." from the top-level items, when answered.
fn description(response: &Value) -> Result<Option<String>, PlanError> {
    let mut parts = Vec::new();
    for (i, item) in items(response).iter().enumerate() {
        match link_id(item) {
            Some(LINK_DISTRESS) => {
                let path = format!("QuestionnaireResponse.item[{i}]");
                if let Some(score) = integer_answer(item, &path)? {
                    parts.push(format!("Distress Thermometer {score}/10."));
                }
            }
            Some(LINK_WHAT_MATTERS) => {
                let text = item
                    .get("answer")
                    .and_then(Value::as_array)
                    .and_then(|a| a.first())
                    .and_then(|a| a.get("valueString"))
                    .and_then(Value::as_str)
                    .map(str::trim)
                    .filter(|t| !t.is_empty());
                if let Some(t) = text {
                    parts.push(format!("What matters most: {t}"));
                }
            }
            _ => {}
        }
    }
    Ok((!parts.is_empty()).then(|| parts.join(" ")))
}

fn items(v: &Value) -> &[Value] {
    v.get("item")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn link_id(item: &Value) -> Option<&str> {
    item.get("linkId").and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: &str = "2026-03-01T10:00:00Z";

    fn canonical() -> Canonical {
        Canonical::new(super::super::DEFAULT_CANONICAL)
    }

    /// An HNA with `scores` as `(domain, concern, severity)` in that order of groups and items.
    fn hna(scores: &[(&str, &str, i64)]) -> Value {
        let mut groups: Vec<Value> = Vec::new();
        for (domain, code, severity) in scores {
            let item = json!({"linkId": code, "answer": [{"valueInteger": severity}]});
            match groups.iter_mut().find(|g| g["linkId"] == *domain) {
                Some(g) => {
                    if let Some(a) = g["item"].as_array_mut() {
                        a.push(item);
                    }
                }
                None => groups.push(json!({"linkId": domain, "item": [item]})),
            }
        }
        groups.push(json!({"linkId": "distress-thermometer", "answer": [{"valueInteger": 6}]}));
        groups.push(
            json!({"linkId": "what-matters-most", "answer": [{"valueString": "Getting back to work"}]}),
        );
        json!({
            "resourceType": "QuestionnaireResponse",
            "questionnaire": "https://fhir.carebridge.uk/Questionnaire/hna",
            "status": "completed",
            "subject": {"reference": "Patient/p1"},
            "author": {"reference": "Organization/o1"},
            "authored": "2026-02-10",
            "item": groups
        })
    }

    fn concerns_of(plan: &Value) -> Vec<String> {
        plan["activity"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|a| {
                a["detail"]["reasonCode"][0]["coding"][0]["code"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    }

    fn draft(response: &Value, threshold: i64) -> Value {
        draft_plan(
            response,
            Some("QuestionnaireResponse/r1"),
            &canonical(),
            threshold,
            NOW,
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_threshold_is_inclusive() {
        let r = hna(&[
            ("physical", "breathing", 4),
            ("physical", "pain", 3),
            ("emotional", "worry-fear-anxiety", 5),
        ]);
        assert_eq!(
            concerns_of(&draft(&r, 4)),
            ["worry-fear-anxiety", "breathing"]
        );
        assert_eq!(concerns_of(&draft(&r, 5)), ["worry-fear-anxiety"]);
        assert_eq!(
            concerns_of(&draft(&r, 3)),
            ["worry-fear-anxiety", "breathing", "pain"]
        );
    }

    #[test]
    fn highest_severity_first_then_catalogue_order() {
        // Answer order is deliberately not catalogue order: pain comes after breathing in the catalogue.
        let r = hna(&[
            ("physical", "pain", 6),
            ("emotional", "worry-fear-anxiety", 9),
            ("physical", "breathing", 6),
            ("physical", "fatigue", 7),
        ]);
        assert_eq!(
            concerns_of(&draft(&r, 4)),
            ["worry-fear-anxiety", "fatigue", "breathing", "pain"]
        );
    }

    #[test]
    fn the_plan_has_the_contract_shape() {
        let r = hna(&[("physical", "breathing", 7)]);
        let plan = draft(&r, 4);
        let c = canonical();
        assert_eq!(plan["resourceType"], "CarePlan");
        assert_eq!(plan["meta"]["profile"], json!([c.pcsp_profile()]));
        assert_eq!(plan["status"], "draft");
        assert_eq!(plan["intent"], "plan");
        assert_eq!(plan["category"][0]["coding"][0]["code"], SNOMED_CARE_PLAN);
        assert_eq!(plan["subject"], json!({"reference": "Patient/p1"}));
        assert_eq!(plan["author"], json!({"reference": "Organization/o1"}));
        assert_eq!(plan["created"], NOW);
        assert_eq!(
            plan["supportingInfo"],
            json!([{"reference": "QuestionnaireResponse/r1"}])
        );
        assert_eq!(
            plan["description"],
            "Distress Thermometer 6/10. What matters most: Getting back to work"
        );
        let detail = &plan["activity"][0]["detail"];
        assert_eq!(detail["status"], "not-started");
        assert_eq!(
            detail["description"],
            "Breathing difficulties (scored 7/10)"
        );
        assert_eq!(
            detail["reasonCode"][0]["coding"][0],
            json!({"system": c.concern_system(), "code": "breathing", "display": "Breathing difficulties"})
        );
        assert_eq!(detail["extension"][0]["url"], c.domain_extension());
        assert_eq!(
            detail["extension"][0]["valueCoding"],
            json!({"system": c.domain_system(), "code": "physical", "display": "Physical concerns"})
        );
        assert!(detail.get("code").is_none(), "drafts carry no action type");
    }

    #[test]
    fn an_unstored_response_gets_no_supporting_info() {
        let r = hna(&[("physical", "breathing", 7)]);
        let plan = draft_plan(&r, None, &canonical(), 4, NOW).unwrap_or_else(|e| panic!("{e}"));
        assert!(plan.get("supportingInfo").is_none());
    }

    #[test]
    fn nothing_at_the_threshold_gives_a_plan_without_activities() {
        let r = hna(&[("physical", "breathing", 2), ("physical", "pain", 0)]);
        let plan = draft(&r, 4);
        assert_eq!(plan["status"], "draft");
        assert!(
            plan.get("activity").is_none(),
            "no empty arrays in FHIR JSON"
        );
    }

    #[test]
    fn non_concern_items_are_ignored() {
        let mut r = hna(&[("physical", "breathing", 5)]);
        if let Some(items) = r["item"].as_array_mut() {
            // A concern outside its domain group, an unknown linkId in a domain group, a concern at the
            // top level, an unanswered concern and a group that is not a domain.
            items.push(json!({"linkId": "emotional", "item": [
                {"linkId": "pain", "answer": [{"valueInteger": 9}]},
                {"linkId": "not-a-concern", "answer": [{"valueInteger": 9}]},
                {"linkId": "worry-fear-anxiety"}
            ]}));
            items.push(json!({"linkId": "fatigue", "answer": [{"valueInteger": 9}]}));
            items.push(json!({"linkId": "other", "item": [
                {"linkId": "sleep", "answer": [{"valueInteger": 9}]}
            ]}));
            items.push(json!({"linkId": "point-of-pathway", "answer": [{"valueCoding": {"code": "diagnosis"}}]}));
        }
        assert_eq!(concerns_of(&draft(&r, 0)), ["breathing"]);
    }

    #[test]
    fn scores_outside_0_to_10_are_refused() {
        for bad in [11, -1, 12] {
            let r = hna(&[("physical", "breathing", bad)]);
            let e = draft_plan(&r, None, &canonical(), 4, NOW)
                .err()
                .unwrap_or_else(|| panic!("{bad} accepted"));
            assert_eq!(
                e.expression,
                "QuestionnaireResponse.item[0].item[0].answer[0].valueInteger"
            );
        }
        for ok in [0, 10] {
            let r = hna(&[("physical", "breathing", ok)]);
            assert!(draft_plan(&r, None, &canonical(), 0, NOW).is_ok());
        }
    }

    #[test]
    fn a_distress_score_outside_0_to_10_is_refused() {
        let mut r = hna(&[]);
        r["item"][0]["answer"][0]["valueInteger"] = json!(11);
        assert!(draft_plan(&r, None, &canonical(), 4, NOW).is_err());
    }

    #[test]
    fn non_integer_or_repeated_answers_are_refused() {
        let mut r = hna(&[("physical", "breathing", 5)]);
        r["item"][0]["item"][0]["answer"] = json!([{"valueString": "5"}]);
        assert!(draft_plan(&r, None, &canonical(), 4, NOW).is_err());
        r["item"][0]["item"][0]["answer"] = json!([{"valueInteger": 5}, {"valueInteger": 6}]);
        assert!(draft_plan(&r, None, &canonical(), 4, NOW).is_err());
        let twice = hna(&[("physical", "breathing", 5), ("physical", "breathing", 6)]);
        assert!(draft_plan(&twice, None, &canonical(), 4, NOW).is_err());
    }

    #[test]
    fn a_response_without_subject_or_a_bad_threshold_is_refused() {
        let mut r = hna(&[("physical", "breathing", 5)]);
        assert!(draft_plan(&r, None, &canonical(), 11, NOW).is_err());
        assert!(draft_plan(&r, None, &canonical(), -1, NOW).is_err());
        if let Some(o) = r.as_object_mut() {
            o.remove("subject");
        }
        let e = draft_plan(&r, None, &canonical(), 4, NOW).err();
        assert_eq!(
            e.map(|e| e.expression).as_deref(),
            Some("QuestionnaireResponse.subject")
        );
    }
}
