//! Chained search is open to every role and reveals nothing a direct search would not: for each
//! role, a chain finds exactly what searching its target and then searching by reference finds
//! (the caller's own two searches), and `_summary=count` agrees. A GP's natural query by NHS number
//! works; a chain cannot select a patient the caller could not find, nor match redacted content.

use crate::helpers::{NHS, sorted};
use crate::world::*;

/// The matched ids and the total of `path` searched with `token`.
async fn found(w: &World, token: &str, path: &str) -> (Vec<String>, Option<u64>) {
    let r = w.get_as(token, path).await;
    r.assert_status(200);
    (sorted(&r.match_ids()), r.total())
}

/// What the caller finds in two steps: `target_query` on Patient, then `outer` by `param`.
async fn in_two_steps(
    w: &World,
    token: &str,
    target_query: &str,
    outer: &str,
    param: &str,
) -> Vec<String> {
    let (patients, _) = found(w, token, &format!("Patient?{target_query}")).await;
    if patients.is_empty() {
        return Vec::new();
    }
    let refs: Vec<String> = patients.iter().map(|p| format!("Patient/{p}")).collect();
    found(w, token, &format!("{outer}?{param}={}", refs.join(",")))
        .await
        .0
}

/// The callers the chain matrices compare: the world's, but for those the reverse-chain shapes
/// cover (`super::search_shapes`).
fn callers(w: &World) -> Vec<(&'static str, String)> {
    w.callers()
        .into_iter()
        .filter(|(name, _)| !matches!(*name, "cns" | "patient Bob" | "auditor"))
        .collect()
}

on_both_backends! {
    async fn a_chain_finds_what_the_callers_own_two_searches_find(app: TestApp) {
        let w = world_on(app).await;
        let tokens = callers(&w);
        let queries = [
            (format!("identifier={NHS}|9434765919"), "CarePlan", "patient", "patient.identifier"),
            (format!("identifier={NHS}|9434765870"), "CarePlan", "patient", "patient.identifier"),
            ("name=Bob".to_owned(), "CarePlan", "subject", "subject:Patient.name"),
            ("name=Cara".to_owned(), "CarePlan", "subject", "subject:Patient.name"),
            ("name=Ann".to_owned(), "QuestionnaireResponse", "subject", "subject:Patient.name"),
        ];
        for (who, token) in &tokens {
            for (target, outer, param, chain) in &queries {
                let value = target.split_once('=').map(|(_, v)| v).unwrap_or_default();
                let path = format!("{outer}?{chain}={value}");
                let (ids, total) = found(&w, token, &path).await;
                let expected = in_two_steps(&w, token, target, outer, param).await;
                assert_eq!(ids, expected, "{who}: {path}");
                if *who == "system" {
                    assert!(!ids.is_empty(), "the world has matches for {path}");
                }
                assert_eq!(total, Some(ids.len() as u64), "{who}: {path}");
                let (_, count) = found(&w, token, &format!("{path}&_summary=count")).await;
                assert_eq!(count, total, "{who}: {path} counted");
            }
        }
        // The GP's natural query works; Bob's plan is not found by his name or number.
        let gp = w.gp();
        let (ids, _) = found(&w, &gp, &format!("CarePlan?patient.identifier={NHS}|9434765919")).await;
        assert_eq!(ids, vec![w.ann_plan.clone()]);
        let (ids, _) = found(&w, &gp, "CarePlan?subject:Patient.name=Bob").await;
        assert!(ids.is_empty(), "{ids:?}");
        // Cara denied GPs everything: her GP finds neither her nor, through her, her plan.
        let (ids, _) = found(&w, &gp, &format!("CarePlan?patient.identifier={NHS}|9434765838")).await;
        assert!(ids.is_empty(), "{ids:?}");
    }
}

on_both_backends! {
    /// A reverse chain (`_has`) finds, for every role, exactly the resources that the caller's own
    /// search of the source type references (read from what it is shown), and `_summary=count`
    /// agrees: Cara's consent hides her plan from GPs, so `_has` cannot find her through it.
    async fn a_reverse_chain_finds_what_the_callers_own_search_references(app: TestApp) {
        let w = world_on(app).await;
        let tokens = callers(&w);
        let queries = [
            ("Patient", "CarePlan", "subject", "status=active"),
            ("Patient", "QuestionnaireResponse", "subject", "status=completed"),
            ("Condition", "CarePlan", "condition", "status=active"),
            ("QuestionnaireResponse", "CarePlan", "supporting-info", "status=active"),
        ];
        for (who, token) in &tokens {
            for (outer, source, param, inner) in &queries {
                let path = format!("{outer}?_has:{source}:{param}:{inner}");
                let r = w.get_as(token, &path).await;
                r.assert_status(200);
                let ids = sorted(&r.match_ids());
                // Two steps: the caller's search of the source, then a read of each reference.
                let sources = w.get_as(token, &format!("{source}?{inner}&_count=1000")).await;
                let mut expected = Vec::new();
                for e in sources.entries() {
                    let res = &e["resource"];
                    let refs: Vec<&serde_json::Value> = match res[*param_field(param)].as_array() {
                        Some(a) => a.iter().collect(),
                        None => vec![&res[*param_field(param)]],
                    };
                    for reference in refs {
                        if let Some(id) = reference["reference"].as_str().and_then(|s| s.strip_prefix(&format!("{outer}/")))
                            && w.get_as(token, &format!("{outer}/{id}")).await.status == 200
                        {
                            expected.push(id.to_owned());
                        }
                    }
                }
                expected.sort();
                expected.dedup();
                assert_eq!(ids, expected, "{who}: {path}");
                if *who == "system" {
                    assert!(!ids.is_empty(), "the world has matches for {path}");
                }
                let (_, count) = found(&w, token, &format!("{path}&_summary=count")).await;
                assert_eq!(count, Some(ids.len() as u64), "{who}: {path} counted");
            }
        }
        let (ids, _) = found(&w, &w.gp(), "Patient?_has:CarePlan:subject:status=active").await;
        assert!(ids.contains(&w.ann) && !ids.contains(&w.cara), "{ids:?}");
        let (ids, _) = found(&w, &w.app.token.clone(), "Patient?_has:CarePlan:subject:status=active").await;
        assert!(ids.contains(&w.cara), "a system caller finds Cara: {ids:?}");
    }
}

/// The element a reference search parameter of the world's resources reads.
fn param_field(param: &str) -> &'static &'static str {
    match param {
        "subject" => &"subject",
        "condition" => &"addresses",
        _ => &"supportingInfo",
    }
}
