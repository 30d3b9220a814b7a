//! The concern domain of care-plan content, one rule for whoever reads it: the consent engine
//! deciding who sees an activity ([`crate::consent::decision`]) and the write rules refusing a plan
//! ([`crate::rest::rules`], [`crate::hna::pcsp_check`]).
//!
//! The rule: a *coded concern* is a coding in the concern CodeSystem whose code the catalogue
//! knows, and its domain is the catalogue's, whatever the writer says. The domain extension
//! ([`crate::hna::DOMAIN_EXTENSION`]) only speaks for an activity with no coded concern. The
//! catalogue wins because the extension is the writer's claim: a plan whose fear activity says
//! `practical` would otherwise reach a housing officer permitted `practical` only, though fear is
//! `emotional`, a sensitive domain.
//!
//! On write, a domain extension that contradicts a coded concern of its activity is refused (422
//! `business-rule` at the extension) on every CarePlan, PCSP profile claimed or not: see
//! [`contradictions`]. Plans stored before that rule are still decided by the catalogue.

use serde_json::Value;

use super::catalogue;
use super::pcsp_check::{array, text};
use crate::fhir::OutcomeIssue;

/// A coded concern: its code, and its domain from the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodedConcern<'v> {
    /// The concern code as written (`worry-fear-anxiety`).
    pub code: &'v str,
    /// Its catalogue domain (`emotional`).
    pub domain: &'static str,
}

/// Every coded concern in a list of CodeableConcepts (`detail.reasonCode`, `ServiceRequest.reasonCode`),
/// in order; codes the catalogue does not know, and codings of other systems, are left out.
pub fn coded_concerns<'v>(
    concepts: Option<&'v Value>,
    concern_system: &str,
) -> Vec<CodedConcern<'v>> {
    concepts
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|cc| array(cc, "coding"))
        .filter(|c| text(c, "system") == Some(concern_system))
        .filter_map(|c| {
            let code = text(c, "code")?;
            let known = catalogue::concern(code)?;
            let domain = catalogue::DOMAINS
                .iter()
                .find(|(d, _)| *d == known.domain)
                .map(|(d, _)| *d)?;
            Some(CodedConcern { code, domain })
        })
        .collect()
}

/// The codes a `detail`'s domain extensions (url `domain_extension`) state, with the index of each
/// extension in `detail.extension`; `None` for an extension stating no code.
pub fn stated_domains<'v>(
    detail: &'v Value,
    domain_extension: &str,
) -> impl Iterator<Item = (usize, Option<&'v str>)> {
    array(detail, "extension")
        .iter()
        .enumerate()
        .filter(move |(_, e)| text(e, "url") == Some(domain_extension))
        .map(|(i, e)| (i, e.get("valueCoding").and_then(|c| text(c, "code"))))
}

/// One issue per domain extension of `detail` (at `dpath`, e.g. `CarePlan.activity[1].detail`)
/// stating a code other than the catalogue domain of a coded concern of the same activity: 422
/// `business-rule` at the extension (`CarePlan.activity[1].detail.extension[0]`). An activity with
/// no coded concern has nothing to contradict; an extension stating no code states nothing.
pub fn contradictions(
    detail: &Value,
    dpath: &str,
    concern_system: &str,
    domain_extension: &str,
) -> Vec<OutcomeIssue> {
    let concerns = coded_concerns(detail.get("reasonCode"), concern_system);
    if concerns.is_empty() {
        return Vec::new();
    }
    stated_domains(detail, domain_extension)
        .filter_map(|(e, stated)| {
            let stated = stated?;
            let k = concerns.iter().find(|k| k.domain != stated)?;
            Some(
                OutcomeIssue::error(
                    "business-rule",
                    format!(
                        "The concern '{}' is in the domain '{}' (HNA concern catalogue); the domain extension says '{}'",
                        k.code,
                        k.domain,
                        clip(stated)
                    ),
                )
                .at(format!("{dpath}.extension[{e}]")),
            )
        })
        .collect()
}

/// [`contradictions`] for every activity of `plan`.
pub fn plan_contradictions(
    plan: &Value,
    concern_system: &str,
    domain_extension: &str,
) -> Vec<OutcomeIssue> {
    array(plan, "activity")
        .iter()
        .enumerate()
        .filter_map(|(i, a)| Some((i, a.get("detail")?)))
        .flat_map(|(i, detail)| {
            let dpath = format!("CarePlan.activity[{i}].detail");
            contradictions(detail, &dpath, concern_system, domain_extension)
        })
        .collect()
}

fn clip(s: &str) -> String {
    s.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::hna::{Canonical, DEFAULT_CANONICAL};

    fn c() -> Canonical {
        Canonical::new(DEFAULT_CANONICAL)
    }

    fn detail(concerns: &[&str], domains: &[Option<&str>]) -> Value {
        let c = c();
        let codings: Vec<Value> = concerns
            .iter()
            .map(|k| json!({"system": c.concern_system(), "code": k}))
            .collect();
        let extensions: Vec<Value> = domains
            .iter()
            .map(|d| match d {
                Some(d) => json!({"url": c.domain_extension(), "valueCoding": {"system": c.domain_system(), "code": d}}),
                None => json!({"url": c.domain_extension()}),
            })
            .collect();
        json!({"reasonCode": [{"coding": codings}], "extension": extensions})
    }

    fn at(d: &Value) -> Vec<(&'static str, String)> {
        let c = c();
        contradictions(
            d,
            "CarePlan.activity[1].detail",
            &c.concern_system(),
            &c.domain_extension(),
        )
        .into_iter()
        .map(|i| (i.code, i.expression.unwrap_or_default()))
        .collect()
    }

    #[test]
    fn coded_concerns_take_their_domain_from_the_catalogue() {
        let d = detail(
            &["worry-fear-anxiety", "hiccups", "housing"],
            &[Some("practical")],
        );
        let got = coded_concerns(d.get("reasonCode"), &c().concern_system());
        assert_eq!(
            got,
            vec![
                CodedConcern {
                    code: "worry-fear-anxiety",
                    domain: "emotional"
                },
                CodedConcern {
                    code: "housing",
                    domain: "practical"
                },
            ]
        );
        assert!(coded_concerns(d.get("reasonCode"), "http://other").is_empty());
    }

    #[test]
    fn an_extension_contradicting_the_concern_is_named() {
        assert_eq!(
            at(&detail(&["worry-fear-anxiety"], &[Some("practical")])),
            vec![(
                "business-rule",
                "CarePlan.activity[1].detail.extension[0]".to_owned()
            )]
        );
        // Not a domain at all: still not the concern's.
        assert_eq!(at(&detail(&["breathing"], &[Some("cosmic")])).len(), 1);
        // Concerns of two domains: no single extension can agree with both.
        assert_eq!(
            at(&detail(&["breathing", "housing"], &[Some("physical")])).len(),
            1
        );
    }

    #[test]
    fn agreeing_absent_or_empty_extensions_and_uncoded_activities_pass() {
        assert!(at(&detail(&["worry-fear-anxiety"], &[Some("emotional")])).is_empty());
        assert!(at(&detail(&["worry-fear-anxiety"], &[])).is_empty());
        assert!(at(&detail(&["worry-fear-anxiety"], &[None])).is_empty());
        // No coded concern (unknown code): the extension is all there is.
        assert!(at(&detail(&["hiccups"], &[Some("practical")])).is_empty());
        assert!(at(&json!({"extension": [{"url": c().domain_extension(), "valueCoding": {"code": "practical"}}]})).is_empty());
    }

    #[test]
    fn every_activity_of_a_plan_is_checked() {
        let c = c();
        let plan = json!({"resourceType": "CarePlan", "activity": [
            {"detail": detail(&["housing"], &[Some("practical")])},
            {"reference": {"reference": "ServiceRequest/1"}},
            {"detail": detail(&["worry-fear-anxiety"], &[Some("emotional"), Some("practical")])}
        ]});
        let paths: Vec<String> =
            plan_contradictions(&plan, &c.concern_system(), &c.domain_extension())
                .into_iter()
                .filter_map(|i| i.expression)
                .collect();
        assert_eq!(paths, vec!["CarePlan.activity[2].detail.extension[1]"]);
    }
}
