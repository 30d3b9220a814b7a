//! Percent-encoded paths reach the same role rules as plain ones, operations included, and
//! `_include` returns only types the token's scopes grant.

use reqwest::Method;
use serde_json::json;

use super::super::helpers::*;
use super::super::world::*;

on_both_backends! {
    /// `%24audit-export` and the other information-governance operations, encoded or not, answer
    /// only auditors; `$extract` with `store=true` writes only for a caller who may create plans.
    async fn encoded_operations_answer_as_plain_ones(app: TestApp) {
        let w = world_on(app).await;
        let before = w.app.version_count().await;
        let bob = w.app.token_for("patient", None, Some(&w.bob));
        let non_auditors = [w.gp(), bob, w.housing(), w.other_gp()];
        let ops = [
            "audit-export?start=2020-01-01",
            "audit-verify",
            "consent-explain?resource=CarePlan/x&role=gp&organization=A81001",
            "hna-outcomes?organization=A81001&start=2026-01-01&end=2026-12-31",
        ];
        for token in &non_auditors {
            for op in ops {
                for path in [format!("${op}"), format!("%24{op}"), format!("%24{}", op.replacen('a', "%61", 1))] {
                    let r = w.get_as(token, &path).await;
                    assert_outcome(&r, 403, "forbidden", None);
                    assert!(!r.text.contains("AuditEvent"), "{path}: {}", r.text);
                }
            }
        }
        let auditor = w.app.token_for("auditor", None, None);
        for path in ["$audit-verify", "%24audit-verify", "%24audit%2Dverify"] {
            w.get_as(&auditor, path).await.assert_status(200);
        }
        // $extract storing a plan: a GP may not create plans, however the path is spelled.
        let empty = json!({"resourceType": "Parameters"});
        for path in [
            format!("QuestionnaireResponse/{}/$extract?store=true", w.ann_hna),
            format!("QuestionnaireResponse/{}/%24extract?store=true", w.ann_hna),
            format!("Questionnaire%52esponse/{}/%24extract?store=true", w.ann_hna),
        ] {
            let r = w.send_as(&w.gp(), Method::POST, &path, &empty).await;
            assert_outcome(&r, 403, "forbidden", None);
            // Without a QuestionnaireResponse scope it does not even read the HNA.
            let plans_only = w.app.token_with_scope("gp", Some("A81001"), "user/CarePlan.rs");
            let r = w.send_as(&plans_only, Method::POST, &path.replace("store=true", "store=false"), &empty).await;
            assert_outcome(&r, 403, "forbidden", None);
            assert!(!r.text.contains("worry"), "{}", r.text);
        }
        assert_eq!(w.app.version_count().await, before, "nothing was written");
    }
}

on_both_backends! {
    /// `_include` brings only what the token's scopes grant: a `user/CarePlan.rs` token's
    /// plan search includes no Patient, HNA or Condition.
    async fn includes_follow_the_scopes_of_their_type(app: TestApp) {
        let w = world_on(app).await;
        let plans_only = w.app.token_with_scope("gp", Some("A81001"), "user/CarePlan.rs");
        for include in ["CarePlan:subject", "CarePlan:supporting-info", "CarePlan:condition"] {
            let r = w
                .get_as(&plans_only, &format!("CarePlan?_id={}&_include={include}", w.ann_plan))
                .await;
            r.assert_status(200);
            assert_eq!(r.match_ids(), vec![w.ann_plan.clone()]);
            assert!(r.included().is_empty(), "{include}: {:?}", r.included());
        }
        // With the scopes, the same includes come back.
        let r = w
            .get_as(&w.gp(), &format!("CarePlan?_id={}&_include=CarePlan:subject", w.ann_plan))
            .await;
        assert_eq!(r.included(), vec![format!("Patient/{}", w.ann)]);
    }
}
