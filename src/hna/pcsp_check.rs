//! The PCSP CarePlan rules that need no store (see the contract in [`crate::hna`]): the category,
//! each activity's concern, domain and action type. References are only collected here, for
//! [`crate::rest::rules`] to resolve against the store and the transaction.
//!
//! Decisions:
//! - A concern (`detail.reasonCode` in the concern system) must be in the catalogue, and its activity
//!   must carry the domain extension naming the concern's domain: the outcome tables count by domain,
//!   and a plan whose domain disagrees with its concern would be counted twice or wrongly. A
//!   contradicting extension is refused by the check every CarePlan passes ([`crate::hna::domain`]),
//!   called from here too so that a PCSP gets one report.
//! - The action type (`detail.code` in the action-type system) must be a known one; it is required on
//!   every activity of an `active` plan only: `$extract` writes `draft` plans whose actions the person
//!   has not chosen yet.
//! - Codings in other systems are left alone (a plan may carry SNOMED or local codes beside ours).

use serde_json::Value;

use crate::fhir::OutcomeIssue;
use crate::hna::catalogue::{self, Concern, DOMAINS};
use crate::hna::{ACTION_TYPES, Canonical, SNOMED_CARE_PLAN, domain};

const SNOMED: &str = "http://snomed.info/sct";

/// A literal reference to resolve, with its FHIRPath.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceToResolve {
    /// The `reference` text.
    pub reference: String,
    /// Where it is, e.g. `CarePlan.activity[0].detail.performer[0].reference`.
    pub path: String,
}

/// The array at `key` (empty when absent or not an array).
pub(super) fn array<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice)
}

/// The string at `key`, if it is one.
pub(super) fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// The systems and extension URL of this server's terminology, worked out once per plan.
struct Systems {
    concern: String,
    domain: String,
    action: String,
    domain_ext: String,
}

/// What a plan's check gathers: the issues, and the references the caller must resolve.
#[derive(Default)]
struct Findings {
    issues: Vec<OutcomeIssue>,
    refs: Vec<ReferenceToResolve>,
}

/// Checks `plan` (which claims the PCSP profile): the issues, and the references the caller must
/// resolve.
pub fn check_plan(c: &Canonical, plan: &Value) -> (Vec<OutcomeIssue>, Vec<ReferenceToResolve>) {
    let mut found = Findings::default();
    check_category(plan, &mut found.issues);
    let active = text(plan, "status") == Some("active");
    let systems = Systems {
        concern: c.concern_system(),
        domain: c.domain_system(),
        action: c.action_type_system(),
        domain_ext: c.domain_extension(),
    };
    for (i, activity) in array(plan, "activity").iter().enumerate() {
        check_activity(&systems, activity, i, active, &mut found);
    }
    for (s, info) in array(plan, "supportingInfo").iter().enumerate() {
        if let Some(r) = text(info, "reference") {
            found.refs.push(ReferenceToResolve {
                reference: r.to_owned(),
                path: format!("CarePlan.supportingInfo[{s}].reference"),
            });
        }
    }
    (found.issues, found.refs)
}

/// The plan must carry the SNOMED CT care-plan category.
fn check_category(plan: &Value, issues: &mut Vec<OutcomeIssue>) {
    let care_plan = array(plan, "category").iter().any(|cat| {
        array(cat, "coding").iter().any(|cd| {
            text(cd, "system") == Some(SNOMED) && text(cd, "code") == Some(SNOMED_CARE_PLAN)
        })
    });
    if !care_plan {
        issues.push(
            OutcomeIssue::error(
                "required",
                format!(
                    "A PCSP CarePlan needs the category SNOMED CT {SNOMED_CARE_PLAN} (Care plan)"
                ),
            )
            .at("CarePlan.category"),
        );
    }
}

/// Activity `i`: its concern, domain and action type, and its performers to resolve. An activity
/// of an `active` plan needs a detail.
fn check_activity(s: &Systems, activity: &Value, i: usize, active: bool, found: &mut Findings) {
    let apath = format!("CarePlan.activity[{i}]");
    let Some(detail) = activity.get("detail") else {
        if active {
            found.issues.push(
                OutcomeIssue::error(
                    "required",
                    "Every activity of an active PCSP needs a detail with its action type",
                )
                .at(format!("{apath}.detail")),
            );
        }
        return;
    };
    let dpath = format!("{apath}.detail");
    let issues = &mut found.issues;
    let concern = check_concern(s, detail, &dpath, issues);
    check_domain(s, detail, &dpath, concern, issues);
    check_action_type(s, detail, &dpath, active, issues);
    for (p, performer) in array(detail, "performer").iter().enumerate() {
        if let Some(r) = text(performer, "reference") {
            found.refs.push(ReferenceToResolve {
                reference: r.to_owned(),
                path: format!("{dpath}.performer[{p}].reference"),
            });
        }
    }
}

/// The activity's concern: the first catalogue concern among the codings in the concern system;
/// every other code in that system is refused.
fn check_concern(
    s: &Systems,
    detail: &Value,
    dpath: &str,
    issues: &mut Vec<OutcomeIssue>,
) -> Option<&'static Concern> {
    let mut concern = None;
    for (k, reason) in array(detail, "reasonCode").iter().enumerate() {
        for (m, coding) in array(reason, "coding").iter().enumerate() {
            if text(coding, "system") != Some(s.concern.as_str()) {
                continue;
            }
            let code = text(coding, "code").unwrap_or_default();
            match catalogue::concern(code) {
                Some(found) => concern = concern.or(Some(found)),
                None => issues.push(
                    OutcomeIssue::error(
                        "value",
                        format!("'{code}' is not a concern of the HNA catalogue"),
                    )
                    .at(format!("{dpath}.reasonCode[{k}].coding[{m}].code")),
                ),
            }
        }
    }
    concern
}

/// The domain extension: a Coding in the domain system naming a known domain, agreeing with the
/// `concern`, and present whenever there is a concern.
fn check_domain(
    s: &Systems,
    detail: &Value,
    dpath: &str,
    concern: Option<&Concern>,
    issues: &mut Vec<OutcomeIssue>,
) {
    let mut has_domain = false;
    for (e, ext) in array(detail, "extension").iter().enumerate() {
        if text(ext, "url") != Some(s.domain_ext.as_str()) {
            continue;
        }
        has_domain = true;
        let epath = format!("{dpath}.extension[{e}].valueCoding");
        let coding = ext.get("valueCoding");
        let system = coding.and_then(|cd| text(cd, "system"));
        let code = coding.and_then(|cd| text(cd, "code")).unwrap_or_default();
        if system != Some(s.domain.as_str()) {
            issues.push(
                OutcomeIssue::error(
                    "value",
                    format!("The concern domain must be a Coding in {}", s.domain),
                )
                .at(format!("{epath}.system")),
            );
        } else if concern.is_none() && !DOMAINS.iter().any(|(d, _)| *d == code) {
            // With a coded concern, any other code is a contradiction, reported below.
            issues.push(
                OutcomeIssue::error("value", format!("'{code}' is not an HNA domain"))
                    .at(format!("{epath}.code")),
            );
        }
    }
    issues.extend(domain::contradictions(
        detail,
        dpath,
        &s.concern,
        &s.domain_ext,
    ));
    if let (Some(k), false) = (concern, has_domain) {
        issues.push(
            OutcomeIssue::error(
                "required",
                format!(
                    "The activity for concern '{}' needs the domain extension {}",
                    k.code, s.domain_ext
                ),
            )
            .at(format!("{dpath}.extension")),
        );
    }
}

/// The action type: each coding in the action-type system must be a known type, and an `active`
/// plan's activity must have one.
fn check_action_type(
    s: &Systems,
    detail: &Value,
    dpath: &str,
    active: bool,
    issues: &mut Vec<OutcomeIssue>,
) {
    let mut has_action = false;
    if let Some(code) = detail.get("code") {
        for (m, coding) in array(code, "coding").iter().enumerate() {
            if text(coding, "system") != Some(s.action.as_str()) {
                continue;
            }
            has_action = true;
            let a = text(coding, "code").unwrap_or_default();
            if !ACTION_TYPES.iter().any(|(t, _)| *t == a) {
                let known: Vec<&str> = ACTION_TYPES.iter().map(|(t, _)| *t).collect();
                issues.push(
                    OutcomeIssue::error(
                        "value",
                        format!(
                            "'{a}' is not a PCSP action type (one of {})",
                            known.join(", ")
                        ),
                    )
                    .at(format!("{dpath}.code.coding[{m}].code")),
                );
            }
        }
    }
    if active && !has_action {
        issues.push(
            OutcomeIssue::error(
                "required",
                format!(
                    "Every activity of an active PCSP needs an action type from {}",
                    s.action
                ),
            )
            .at(format!("{dpath}.code")),
        );
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::hna::DEFAULT_CANONICAL;

    fn c() -> Canonical {
        Canonical::new(DEFAULT_CANONICAL)
    }

    fn activity(concern: &str, domain: &str, action: Option<&str>) -> Value {
        let c = c();
        let mut detail = json!({
            "extension": [{"url": c.domain_extension(), "valueCoding": {"system": c.domain_system(), "code": domain}}],
            "reasonCode": [{"coding": [{"system": c.concern_system(), "code": concern}]}],
            "status": "not-started",
            "performer": [{"reference": "Organization/org-1"}]
        });
        if let Some(a) = action {
            detail["code"] = json!({"coding": [{"system": c.action_type_system(), "code": a}]});
        }
        json!({"detail": detail})
    }

    fn plan(status: &str, activities: Vec<Value>) -> Value {
        json!({
            "resourceType": "CarePlan",
            "meta": {"profile": [c().pcsp_profile()]},
            "status": status,
            "intent": "plan",
            "category": [{"coding": [{"system": SNOMED, "code": SNOMED_CARE_PLAN}]}],
            "subject": {"reference": "Patient/p"},
            "supportingInfo": [{"reference": "QuestionnaireResponse/hna-1"}],
            "activity": activities
        })
    }

    fn at(plan: &Value) -> Vec<(String, String)> {
        check_plan(&c(), plan)
            .0
            .into_iter()
            .map(|i| (i.code.to_owned(), i.expression.unwrap_or_default()))
            .collect()
    }

    #[test]
    fn a_valid_plan_has_no_issues_and_lists_its_references() {
        let p = plan(
            "active",
            vec![
                activity("breathing", "physical", Some("referral")),
                activity("worry-fear-anxiety", "emotional", Some("discussion")),
            ],
        );
        let (issues, refs) = check_plan(&c(), &p);
        assert!(issues.is_empty(), "{issues:#?}");
        let paths: Vec<&str> = refs.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(
            paths,
            vec![
                "CarePlan.activity[0].detail.performer[0].reference",
                "CarePlan.activity[1].detail.performer[0].reference",
                "CarePlan.supportingInfo[0].reference"
            ]
        );
    }

    #[test]
    fn unknown_concerns_are_refused() {
        let p = plan(
            "active",
            vec![
                activity("breathing", "physical", Some("referral")),
                activity("hiccups", "physical", Some("referral")),
            ],
        );
        assert_eq!(
            at(&p),
            vec![(
                "value".into(),
                "CarePlan.activity[1].detail.reasonCode[0].coding[0].code".into()
            )]
        );
    }

    #[test]
    fn the_domain_must_be_the_concerns() {
        let p = plan(
            "active",
            vec![activity("breathing", "emotional", Some("referral"))],
        );
        assert_eq!(
            at(&p),
            vec![(
                "business-rule".into(),
                "CarePlan.activity[0].detail.extension[0]".into()
            )]
        );
        let p = plan(
            "active",
            vec![activity("breathing", "cosmic", Some("referral"))],
        );
        assert_eq!(at(&p).len(), 1);
        // Without a coded concern, an unknown domain is named as such.
        let p = plan(
            "active",
            vec![activity("hiccups", "cosmic", Some("referral"))],
        );
        assert_eq!(
            at(&p),
            vec![
                (
                    "value".into(),
                    "CarePlan.activity[0].detail.reasonCode[0].coding[0].code".into()
                ),
                (
                    "value".into(),
                    "CarePlan.activity[0].detail.extension[0].valueCoding.code".into()
                )
            ]
        );
        let mut p = plan(
            "active",
            vec![activity("breathing", "physical", Some("referral"))],
        );
        p["activity"][0]["detail"]["extension"] = json!([]);
        assert_eq!(
            at(&p),
            vec![(
                "required".into(),
                "CarePlan.activity[0].detail.extension".into()
            )]
        );
        let mut p = plan(
            "active",
            vec![activity("breathing", "physical", Some("referral"))],
        );
        p["activity"][0]["detail"]["extension"][0]["valueCoding"]["system"] = json!("http://other");
        assert_eq!(
            at(&p),
            vec![(
                "value".into(),
                "CarePlan.activity[0].detail.extension[0].valueCoding.system".into()
            )]
        );
    }

    #[test]
    fn action_types_must_be_known_and_are_required_when_active() {
        let p = plan(
            "active",
            vec![activity("breathing", "physical", Some("prayer"))],
        );
        assert_eq!(
            at(&p),
            vec![(
                "value".into(),
                "CarePlan.activity[0].detail.code.coding[0].code".into()
            )]
        );
        let p = plan("active", vec![activity("breathing", "physical", None)]);
        assert_eq!(
            at(&p),
            vec![("required".into(), "CarePlan.activity[0].detail.code".into())]
        );
        // A draft may leave it out ($extract writes drafts), but not get it wrong.
        let p = plan("draft", vec![activity("breathing", "physical", None)]);
        assert_eq!(at(&p), vec![]);
        let p = plan(
            "draft",
            vec![activity("breathing", "physical", Some("prayer"))],
        );
        assert_eq!(at(&p).len(), 1);
    }

    #[test]
    fn the_care_plan_category_is_required() {
        let mut p = plan("draft", vec![]);
        p["category"] = json!([{"coding": [{"system": SNOMED, "code": "12345"}]}]);
        assert_eq!(
            at(&p),
            vec![("required".into(), "CarePlan.category".into())]
        );
    }

    #[test]
    fn other_systems_are_left_alone() {
        let mut p = plan(
            "active",
            vec![activity("breathing", "physical", Some("referral"))],
        );
        if let Some(a) = p["activity"][0]["detail"]["reasonCode"][0]["coding"].as_array_mut() {
            a.push(json!({"system": SNOMED, "code": "230145002"}));
        }
        if let Some(a) = p["activity"][0]["detail"]["code"]["coding"].as_array_mut() {
            a.push(json!({"system": SNOMED, "code": "3457005"}));
        }
        assert_eq!(at(&p), vec![]);
    }

    #[test]
    fn an_active_activity_without_detail_is_refused() {
        let p = plan(
            "active",
            vec![json!({"reference": {"reference": "ServiceRequest/1"}})],
        );
        assert_eq!(
            at(&p),
            vec![("required".into(), "CarePlan.activity[0].detail".into())]
        );
    }
}
