//! Bundle entries reach the same checks as the requests they stand for: absolute URLs, HEAD,
//! conditional creates and writes by read-only roles.

use reqwest::Method;
use serde_json::json;

use super::super::helpers::*;
use super::super::sharing::*;
use super::super::world::*;
use super::shapes::{all_refused, write_shapes};

/// The callers who may not see Ann's records (or nothing at all).
fn outsiders(w: &World) -> Vec<(&'static str, String)> {
    vec![
        ("another practice's GP", w.other_gp()),
        ("housing", w.housing()),
        (
            "a patient token for another person",
            w.app.token_for("patient", None, Some(&w.bob)),
        ),
        ("the auditor", w.app.token_for("auditor", None, None)),
        (
            "a token with no resource scopes",
            w.app
                .token_with_scope("gp", Some("A81001"), "openid fhirUser"),
        ),
    ]
}

on_both_backends! {
    /// A conditional create in a batch or transaction whose criteria name someone else's record
    /// neither creates nor returns anything: before the one parse, an absolute-URL entry returned
    /// the plan whole and unredacted.
    async fn a_conditional_create_entry_never_returns_a_hidden_resource(app: TestApp) {
        let w = world_on(app).await;
        let before = w.app.version_count().await;
        let probes = [
            ("CarePlan", format!("_id={}", w.ann_plan)),
            ("Patient", format!("identifier={NHS}|9434765919")),
            ("QuestionnaireResponse", format!("_id={}", w.ann_hna)),
        ];
        for (who, token) in outsiders(&w) {
            for (rtype, criteria) in &probes {
                let resource = json!({"resourceType": rtype});
                for url in [format!("{}/{rtype}", w.app.base), (*rtype).to_owned(), format!("/fhir/{rtype}")] {
                    let mut e = entry("POST", &url, Some(resource.clone()));
                    e["request"]["ifNoneExist"] = json!(criteria);
                    let batch = w.bundle_as(&token, "batch", vec![e.clone()]).await;
                    batch.assert_status(200);
                    let answer = &batch.entries()[0];
                    assert_eq!(entry_status(answer), 403, "{who}: {rtype}?{criteria} via {url}");
                    assert!(answer.get("resource").is_none(), "{who}: {}", batch.text);
                    assert!(!batch.text.contains("Distress"), "{who}: the plan leaked");
                    let tx = w.bundle_as(&token, "transaction", vec![e]).await;
                    assert_outcome(&tx, 403, "forbidden", None);
                    assert!(!tx.text.contains("Distress"), "{who}: the plan leaked");
                }
            }
        }
        assert_eq!(w.app.version_count().await, before, "nothing was written");
    }
}

on_both_backends! {
    /// Read-only roles cannot write through a bundle: a GP creating an Organization, putting a
    /// CareTeam into another practice's patient, retiring a served CodeSystem or deleting the
    /// Consent that denies it; housing writing itself a Consent. Every shape is refused alike,
    /// nothing changes, and what the deleted consent denied stays denied.
    async fn read_only_roles_write_nothing_in_any_shape(app: TestApp) {
        let w = world_on(app).await;
        let before = w.app.version_count().await;
        let gp = w.gp();
        let org = json!({"resourceType": "Organization", "name": "Mine now"});
        all_refused(&write_shapes(&w, &gp, Method::POST, "Organization", Some(&org)).await, 403);
        let team = json!({"resourceType": "CareTeam", "id": "intruder", "status": "active",
            "subject": reference("Patient", &w.bob),
            "participant": [{"member": reference("Organization", &w.practice_b)}]});
        all_refused(&write_shapes(&w, &gp, Method::PUT, "CareTeam/intruder", Some(&team)).await, 403);
        let systems = w.app.search("CodeSystem", "_count=1").await;
        let mut served = systems.entries()[0]["resource"].clone();
        served["status"] = json!("retired");
        let path = format!("CodeSystem/{}", served["id"].as_str().unwrap_or_default());
        all_refused(&write_shapes(&w, &gp, Method::PUT, &path, Some(&served)).await, 403);
        let consent_path = format!("Consent/{}", w.cara_deny);
        all_refused(&write_shapes(&w, &gp, Method::DELETE, &consent_path, None).await, 403);
        all_refused(
            &write_shapes(&w, &gp, Method::DELETE, &format!("Consent?_id={}", w.cara_deny), None).await,
            403,
        );
        w.get_as(&gp, &format!("CarePlan/{}", w.cara_plan)).await.assert_status(404);
        // A transaction deleting the consent and then reading the plan is refused as a whole.
        let tx = w
            .bundle_as(&gp, "transaction", vec![
                entry("DELETE", &format!("{}/{consent_path}", w.app.base), None),
                entry("GET", &format!("CarePlan/{}", w.cara_plan), None),
            ])
            .await;
        assert_outcome(&tx, 403, "forbidden", None);
        // Housing writing itself a Consent permitting the emotional domain.
        let housing = w.housing();
        let permit_emotional = consent(&w.ann, json!({"type": "permit",
            "actor": [role_actor("housing", Some(&w.housing))],
            "securityLabel": [{"system": format!("{CANON}/CodeSystem/hna-domain"), "code": "emotional"}]}));
        all_refused(&write_shapes(&w, &housing, Method::POST, "Consent", Some(&permit_emotional)).await, 403);
        let plan = w.get_as(&housing, &format!("CarePlan/{}", w.ann_plan)).await;
        plan.assert_status(200);
        assert_eq!(concerns(&plan.json()), vec!["housing"], "still only its own activity");
        assert_eq!(w.app.version_count().await, before, "nothing was written");
    }
}

on_both_backends! {
    /// A token with `user/CarePlan.rs` reads no Patient or HNA, whatever the entry's shape
    /// (HEAD, absolute URL, absolute path) or the request's.
    async fn type_scopes_hold_for_every_entry_shape(app: TestApp) {
        let w = world_on(app).await;
        let token = w.app.token_with_scope("gp", Some("A81001"), "user/CarePlan.rs");
        for target in [format!("Patient/{}", w.ann), format!("QuestionnaireResponse/{}", w.ann_hna)] {
            w.get_as(&token, &target).await.assert_status(403);
            let shapes = [
                ("HEAD", target.clone()),
                ("GET", format!("{}/{target}", w.app.base)),
                ("HEAD", format!("{}/{target}", w.app.base)),
                ("GET", format!("/fhir/{target}")),
            ];
            for (method, url) in shapes {
                let r = w.bundle_as(&token, "batch", vec![entry(method, &url, None)]).await;
                let e = &r.entries()[0];
                assert_eq!(entry_status(e), 403, "{method} {url}: {}", r.text);
                assert!(e.get("resource").is_none());
            }
        }
        // Its own type it reads, in every shape.
        let plan = format!("CarePlan/{}", w.ann_plan);
        let r = w.bundle_as(&token, "batch", vec![entry("HEAD", &format!("{}/{plan}", w.app.base), None)]).await;
        assert_eq!(entry_status(&r.entries()[0]), 200);
    }
}

on_both_backends! {
    /// A sharing Consent by a link worker caring for the person gets the same answer in every
    /// shape: created for Ann (whom the link service manages), refused for Bob (whom it does
    /// not). The referral writes are attacked alike in `referral::shapes`.
    async fn a_link_workers_consent_write_answers_alike_in_every_shape(app: TestApp) {
        let w = world_on(app).await;
        let link = w.app.token_for("link-worker", Some("L0001"), None);
        let permit = |patient: &str| {
            consent(patient, json!({"type": "permit",
                "actor": [role_actor("housing", Some(&w.housing))],
                "securityLabel": [{"system": format!("{CANON}/CodeSystem/hna-domain"), "code": "practical"}]}))
        };
        for (shape, status) in write_shapes(&w, &link, Method::POST, "Consent", Some(&permit(&w.ann))).await {
            // A transaction answers 200 with its entry's 201 inside.
            let want = if shape.starts_with("transaction") { 200 } else { 201 };
            assert_eq!(status, want, "{shape}");
        }
        let before = w.app.version_count().await;
        all_refused(&write_shapes(&w, &link, Method::POST, "Consent", Some(&permit(&w.bob))).await, 403);
        assert_eq!(w.app.version_count().await, before, "nothing was written for Bob");
    }
}
