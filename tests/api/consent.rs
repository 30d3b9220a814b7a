//! Consent enforced over HTTP: each sharing role against each consent state and read path, with the
//! elements each sees (not only status codes), and the leak cases (totals, includes, history,
//! chains, bundles, errors).

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::sharing::*;

/// Two practices, a link-worker service, a housing provider; Ann registered at the first practice
/// and managed by the link service, Bob at the other practice. Ann's plan (shared with her GP)
/// has a housing activity assigned to the housing provider, a fear activity assigned to it too,
/// and a breathing activity; her second plan is not shared with the GP; Bob has one plan.
struct World {
    app: TestApp,
    ann: String,
    bob: String,
    housing: String,
    shared_plan: String,
    private_plan: String,
    bob_plan: String,
}

async fn world() -> World {
    let app = spawn_app().await;
    let practice = app.create_id(&org("Practice", "A81001")).await;
    let other = app.create_id(&org("Other practice", "B82002")).await;
    let link = app.create_id(&org("Link service", "L0001")).await;
    let housing = app.create_id(&org("Housing", "H0001")).await;
    let ann = app
        .create_id(
            &json!({"resourceType": "Patient", "name": [{"family": "Ann"}],
            "generalPractitioner": [{"reference": format!("Organization/{practice}")}],
            "managingOrganization": {"reference": format!("Organization/{link}")}}),
        )
        .await;
    let bob = app
        .create_id(
            &json!({"resourceType": "Patient", "name": [{"family": "Bob"}],
            "generalPractitioner": [{"reference": format!("Organization/{other}")}]}),
        )
        .await;
    let shared_plan = app
        .create_id(&plan(
            &ann,
            "gp",
            vec![
                activity("practical", "housing", Some(&housing)),
                activity("emotional", "worry-fear-anxiety", Some(&housing)),
                activity("physical", "breathing", None),
            ],
        ))
        .await;
    let private_plan = app
        .create_id(&plan(&ann, "cns", vec![activity("physical", "pain", None)]))
        .await;
    let bob_plan = app
        .create_id(&plan(&bob, "gp", vec![activity("physical", "pain", None)]))
        .await;
    World {
        app,
        ann,
        bob,
        housing,
        shared_plan,
        private_plan,
        bob_plan,
    }
}

impl World {
    fn token(&self, role: &str, org: Option<&str>, patient: Option<&str>) -> String {
        self.app.token_for(role, org, patient)
    }

    async fn get_as(&self, token: &str, path: &str) -> Resp {
        self.app
            .send(self.app.anonymous(Method::GET, path).bearer_auth(token))
            .await
    }

    async fn write_as(&self, token: &str, method: Method, path: &str, body: &Value) -> Resp {
        self.app.send_json_as(token, method, path, body).await
    }

    fn housing_consent(&self, status: &str) -> Value {
        let mut c = consent(
            &self.ann,
            json!({"type": "permit",
                "actor": [role_actor("housing", Some(&self.housing))],
                "securityLabel": [{"system": format!("{CANON}/CodeSystem/hna-domain"), "code": "practical"}]}),
        );
        c["status"] = json!(status);
        c
    }
}

fn redacted(v: &Value) -> bool {
    v["meta"]["security"]
        .as_array()
        .is_some_and(|l| l.iter().any(|c| c["code"] == "REDACTED"))
}

#[tokio::test]
async fn a_gp_sees_the_shared_plans_of_its_registered_patients_and_nothing_else() {
    let w = world().await;
    let gp = w.token("gp", Some("A81001"), None);
    let found = w.get_as(&gp, "CarePlan").await;
    found.assert_status(200);
    assert_eq!(found.match_ids(), vec![w.shared_plan.clone()]);
    assert_eq!(
        found.total(),
        Some(1),
        "the total counts only what the GP sees"
    );
    let count = w.get_as(&gp, "CarePlan?_summary=count").await;
    assert_eq!(count.total(), Some(1));
    let plan = w.get_as(&gp, &format!("CarePlan/{}", w.shared_plan)).await;
    plan.assert_status(200);
    assert_eq!(
        concerns(&plan.json()).len(),
        3,
        "a health-care role sees the whole plan"
    );
    assert!(!redacted(&plan.json()));
    // Hidden answers exactly like missing.
    let hidden = w.get_as(&gp, &format!("CarePlan/{}", w.bob_plan)).await;
    let missing = w.get_as(&gp, "CarePlan/no-such-plan").await;
    hidden.assert_status(404);
    missing.assert_status(404);
    let strip = |r: &Resp| {
        r.text
            .replace(&w.bob_plan, "X")
            .replace("no-such-plan", "X")
    };
    assert_eq!(strip(&hidden), strip(&missing));
    w.get_as(&gp, &format!("CarePlan/{}", w.private_plan))
        .await
        .assert_status(404);
    // The patient search shows Ann only, with no total counting Bob.
    let patients = w.get_as(&gp, "Patient").await;
    assert_eq!(patients.match_ids(), vec![w.ann.clone()]);
    // Another practice's GP sees Bob's plan only.
    let other = w.token("gp", Some("B82002"), None);
    assert_eq!(
        w.get_as(&other, "CarePlan").await.match_ids(),
        vec![w.bob_plan.clone()]
    );
}

#[tokio::test]
async fn housing_sees_nothing_until_permitted_then_only_its_housing_activity_until_withdrawn() {
    let w = world().await;
    let housing = w.token("housing", Some("H0001"), None);
    let plan_path = format!("CarePlan/{}", w.shared_plan);
    w.get_as(&housing, &plan_path).await.assert_status(404);
    assert_eq!(w.get_as(&housing, "CarePlan").await.total(), Some(0));

    // The link worker records Ann's permission.
    let link = w.token("link-worker", Some("L0001"), None);
    let created = w
        .write_as(&link, Method::POST, "Consent", &w.housing_consent("active"))
        .await;
    created.assert_status(201);
    let consent_id = created.id();

    let seen = w.get_as(&housing, &plan_path).await;
    seen.assert_status(200);
    let v = seen.json();
    assert_eq!(concerns(&v), vec!["housing"]);
    assert!(redacted(&v), "a redacted plan says so");
    assert!(v.get("description").is_none());
    let search = w.get_as(&housing, "CarePlan").await;
    assert_eq!(search.match_ids(), vec![w.shared_plan.clone()]);
    assert_eq!(search.total(), Some(1));
    assert_eq!(concerns(&search.entries()[0]["resource"]), vec!["housing"]);
    // Still nothing else of Ann's: not her record, not her other plan.
    w.get_as(&housing, &format!("Patient/{}", w.ann))
        .await
        .assert_status(404);
    w.get_as(&housing, &format!("CarePlan/{}", w.private_plan))
        .await
        .assert_status(404);

    // Withdrawn: hidden again at the next request.
    let mut withdrawn = w.housing_consent("inactive");
    withdrawn["id"] = json!(consent_id);
    w.write_as(
        &link,
        Method::PUT,
        &format!("Consent/{consent_id}"),
        &withdrawn,
    )
    .await
    .assert_status(200);
    w.get_as(&housing, &plan_path).await.assert_status(404);
    assert_eq!(w.get_as(&housing, "CarePlan").await.total(), Some(0));
}

#[tokio::test]
async fn consents_are_written_only_by_the_person_or_a_link_worker_caring_for_them() {
    let w = world().await;
    let consent = w.housing_consent("active");
    let gp = w.token("gp", Some("A81001"), None);
    w.write_as(&gp, Method::POST, "Consent", &consent)
        .await
        .assert_status(403);
    let bob = w.token("patient", None, Some(&w.bob));
    w.write_as(&bob, Method::POST, "Consent", &consent)
        .await
        .assert_status(403);
    let ann = w.token("patient", None, Some(&w.ann));
    w.write_as(&ann, Method::POST, "Consent", &consent)
        .await
        .assert_status(201);
    // A link worker of another service, unrelated to Ann.
    w.app.create_id(&org("Elsewhere", "L9999")).await;
    let stranger = w.token("link-worker", Some("L9999"), None);
    w.write_as(&stranger, Method::POST, "Consent", &consent)
        .await
        .assert_status(403);
    // A consent the engine could not read exactly is refused with the path to the fault.
    let mut bad = consent.clone();
    bad["provision"]["class"] = json!([{"code": "Observation"}]);
    let link = w.token("link-worker", Some("L0001"), None);
    let r = w.write_as(&link, Method::POST, "Consent", &bad).await;
    assert_outcome(&r, 422, "business-rule", Some("Consent.provision.class[0]"));
    // Nothing refused was stored.
    assert_eq!(w.app.search_ids("Consent", "").await.len(), 1);
}

#[tokio::test]
async fn includes_history_chains_and_bundles_leak_nothing() {
    let w = world().await;
    let gp = w.token("gp", Some("A81001"), None);
    // _revinclude from Ann brings her shared plan only; _include from plans never brings Bob.
    let r = w.get_as(&gp, "Patient?_revinclude=CarePlan:subject").await;
    assert_eq!(r.match_ids(), vec![w.ann.clone()]);
    assert_eq!(r.included(), vec![format!("CarePlan/{}", w.shared_plan)]);
    let r = w.get_as(&gp, "CarePlan?_include=CarePlan:subject").await;
    assert_eq!(r.included(), vec![format!("Patient/{}", w.ann)]);
    // History of a hidden resource is a 404; type and system history are for systems only.
    w.get_as(&gp, &format!("CarePlan/{}/_history", w.bob_plan))
        .await
        .assert_status(404);
    w.get_as(&gp, &format!("CarePlan/{}/_history", w.shared_plan))
        .await
        .assert_status(200);
    w.get_as(&gp, "CarePlan/_history").await.assert_status(403);
    w.get_as(&gp, "_history").await.assert_status(403);
    // A chain through patient data finds only what the caller could find directly: not Bob.
    let chained = w.get_as(&gp, "CarePlan?subject:Patient.name=Bob").await;
    chained.assert_status(200);
    assert!(chained.match_ids().is_empty(), "{}", chained.text);
    // A batch answers a hidden entry as a missing one.
    let batch = json!({"resourceType": "Bundle", "type": "batch", "entry": [
        {"request": {"method": "GET", "url": format!("CarePlan/{}", w.bob_plan)}},
        {"request": {"method": "GET", "url": format!("CarePlan/{}", w.shared_plan)}},
        {"request": {"method": "GET", "url": "CarePlan"}}]});
    let r = w.write_as(&gp, Method::POST, "", &batch).await;
    r.assert_status(200);
    let entries = r.json()["entry"].as_array().cloned().unwrap_or_default();
    assert!(
        entries[0]["response"]["status"]
            .as_str()
            .unwrap_or("")
            .starts_with("404")
    );
    assert!(
        entries[1]["response"]["status"]
            .as_str()
            .unwrap_or("")
            .starts_with("200")
    );
    assert_eq!(entries[2]["resource"]["total"], 1);
    // A deleted plan the GP never saw is a 404, not a 410.
    w.app
        .delete("CarePlan", &w.bob_plan)
        .await
        .assert_status(204);
    w.get_as(&gp, &format!("CarePlan/{}", w.bob_plan))
        .await
        .assert_status(404);
    let other = w.token("gp", Some("B82002"), None);
    w.get_as(&other, &format!("CarePlan/{}", w.bob_plan))
        .await
        .assert_status(410);
}

#[tokio::test]
async fn patients_see_their_own_record_and_auditors_nothing_clinical() {
    let w = world().await;
    let ann = w.token("patient", None, Some(&w.ann));
    let plans = w.get_as(&ann, "CarePlan").await;
    assert_eq!(
        sorted(&plans.match_ids()),
        sorted(&[w.shared_plan.clone(), w.private_plan.clone()])
    );
    w.get_as(&ann, &format!("CarePlan/{}", w.bob_plan))
        .await
        .assert_status(404);
    w.get_as(&ann, &format!("Patient/{}", w.bob))
        .await
        .assert_status(404);
    let auditor = w.token("auditor", None, None);
    assert_eq!(w.get_as(&auditor, "CarePlan").await.total(), Some(0));
    w.get_as(&auditor, &format!("CarePlan/{}", w.shared_plan))
        .await
        .assert_status(404);
    w.get_as(&auditor, "Organization").await.assert_status(200);
}

#[tokio::test]
async fn breaking_the_glass_needs_a_reason_and_reads_through_a_deny() {
    let w = world().await;
    // Ann denies her GP everything.
    let deny = consent(
        &w.ann,
        json!({"type": "deny", "actor": [role_actor("gp", None)]}),
    );
    w.app.create(&deny).await.assert_status(201);
    let gp = w.token("gp", Some("A81001"), None);
    let path = format!("CarePlan/{}", w.shared_plan);
    w.get_as(&gp, &path).await.assert_status(404);

    let btg = w.app.token_with_purpose("gp", Some("A81001"), "BTG");
    let without = w.get_as(&btg, &path).await;
    assert_outcome(&without, 403, "forbidden", None);
    let with = w
        .app
        .send(
            w.app
                .anonymous(Method::GET, &path)
                .bearer_auth(&btg)
                .header(
                    "X-Break-Glass-Reason",
                    "Collapsed in clinic; plan needed now",
                ),
        )
        .await;
    with.assert_status(200);
    // Breaking the glass does not reach a patient the practice has no relationship with.
    let bob = w
        .app
        .send(
            w.app
                .anonymous(Method::GET, &format!("CarePlan/{}", w.bob_plan))
                .bearer_auth(&btg)
                .header("X-Break-Glass-Reason", "curious"),
        )
        .await;
    bob.assert_status(404);
}

#[tokio::test]
async fn explain_names_the_rule_and_the_consent_that_decided() {
    let w = world().await;
    let created = w.app.create(&w.housing_consent("active")).await;
    created.assert_status(201);
    let consent = created.id();
    let auditor = w.token("auditor", None, None);
    let ask = |role: &str, org: &str, resource: &str| {
        format!(
            "$consent-explain?role={role}&organization={org}&resource={resource}&patient={}",
            w.ann
        )
    };
    let param = |v: &Value, name: &str| -> Vec<Value> {
        v["parameter"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["name"] == name)
            .cloned()
            .collect()
    };
    let plan = format!("CarePlan/{}", w.shared_plan);
    let r = w.get_as(&auditor, &ask("housing", "H0001", &plan)).await;
    r.assert_status(200);
    let v = r.json();
    assert_eq!(param(&v, "decision")[0]["valueCode"], "redacted");
    assert_eq!(param(&v, "rule")[0]["valueCode"], "consent-provision");
    assert_eq!(
        param(&v, "consent")[0]["valueReference"]["reference"],
        format!("Consent/{consent}")
    );
    assert_eq!(
        param(&v, "relationship")[0]["valueCode"],
        "plan-activity-performer"
    );
    let withheld: Vec<String> = param(&v, "withheld")
        .iter()
        .map(|w| w["part"][1]["valueCode"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(
        withheld,
        vec!["sensitive-domain", "outside-remit", "policy-default"]
    );
    // A GP of another practice: no relationship.
    let v = w.get_as(&auditor, &ask("gp", "B82002", &plan)).await.json();
    assert_eq!(param(&v, "decision")[0]["valueCode"], "deny");
    assert_eq!(param(&v, "rule")[0]["valueCode"], "no-relationship");
    // Only auditors (and systems) may ask; a bad question names its parameter.
    let gp = w.token("gp", Some("A81001"), None);
    w.get_as(&gp, &ask("gp", "A81001", &plan))
        .await
        .assert_status(403);
    let bad = w
        .get_as(
            &auditor,
            "$consent-explain?role=landlord&resource=CarePlan/x",
        )
        .await;
    assert_outcome(&bad, 400, "invalid", None);
}

#[tokio::test]
async fn a_consent_period_that_ends_changes_the_next_decision() {
    let w = world().await;
    let gp = w.token("gp", Some("A81001"), None);
    let path = format!("CarePlan/{}", w.shared_plan);
    w.get_as(&gp, &path).await.assert_status(200);
    // Ann denies her GP for the next two seconds; the decision made now must not outlive that.
    let end = chrono::Utc::now() + chrono::Duration::seconds(2);
    let deny = consent(
        &w.ann,
        json!({"type": "deny",
            "period": {"end": end.format("%Y-%m-%dT%H:%M:%SZ").to_string()},
            "actor": [role_actor("gp", None)]}),
    );
    w.app.create(&deny).await.assert_status(201);
    w.get_as(&gp, &path).await.assert_status(404);
    w.get_as(&gp, &path).await.assert_status(404);
    tokio::time::sleep(std::time::Duration::from_millis(3200)).await;
    w.get_as(&gp, &path).await.assert_status(200);
}

/// A search's result is kept for a caller while nothing changes (a polled worklist), but never
/// past a consent period boundary among the resources it decided, shown or not: a plan hidden by
/// a deny that ends comes back in the same search as soon as the period is over.
#[tokio::test]
async fn a_kept_search_result_ends_at_a_consent_period_boundary() {
    let w = world().await;
    let gp = w.token("gp", Some("A81001"), None);
    let search = "CarePlan?status=active";
    let found = |r: &Resp| r.match_ids().contains(&w.shared_plan);
    assert!(found(&w.get_as(&gp, search).await));
    let end = chrono::Utc::now() + chrono::Duration::seconds(2);
    let deny = consent(
        &w.ann,
        json!({"type": "deny",
            "period": {"end": end.format("%Y-%m-%dT%H:%M:%SZ").to_string()},
            "actor": [role_actor("gp", None)]}),
    );
    w.app.create(&deny).await.assert_status(201);
    for _ in 0..3 {
        assert!(
            !found(&w.get_as(&gp, search).await),
            "denied, however often asked"
        );
    }
    tokio::time::sleep(std::time::Duration::from_millis(3200)).await;
    assert!(found(&w.get_as(&gp, search).await), "the period is over");
}
