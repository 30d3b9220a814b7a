//! `$validate` at type and instance level: an OperationOutcome that says whether a write would be
//! accepted, never a stored resource; asked only by whoever may make that write, and never about an
//! instance the caller cannot see.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::resources::{care_plan, patient_named};
use crate::world::*;

fn issues(r: &Resp) -> Vec<Value> {
    r.json()["issue"].as_array().cloned().unwrap_or_default()
}

fn errors(r: &Resp) -> Vec<Value> {
    issues(r)
        .into_iter()
        .filter(|i| i["severity"] == "error")
        .collect()
}

#[tokio::test]
async fn a_valid_resource_gets_one_information_issue_and_an_invalid_one_its_faults() {
    let app = spawn_app().await;
    let before = app.version_count().await;
    let ok = app
        .send_json(
            Method::POST,
            "Patient/$validate",
            &patient_named("Smith"),
            &[],
        )
        .await;
    ok.assert_status(200);
    assert_eq!(issues(&ok).len(), 1);
    assert_eq!(issues(&ok)[0]["severity"], "information");

    let mut bad = patient_named("Smith");
    bad["favouriteColour"] = json!("blue");
    bad["birthDate"] = json!("yesterday");
    let r = app
        .send_json(Method::POST, "Patient/$validate", &bad, &[])
        .await;
    r.assert_status(200);
    let faults = errors(&r);
    assert!(!faults.is_empty(), "{}", r.text);
    assert!(
        faults.iter().all(|i| i["expression"][0]
            .as_str()
            .is_some_and(|e| e.starts_with("Patient"))),
        "each fault has a location: {faults:?}"
    );
    // The body's type must be the one validated.
    let r = app
        .send_json(
            Method::POST,
            "Organization/$validate",
            &patient_named("Smith"),
            &[],
        )
        .await;
    r.assert_status(200);
    assert!(!errors(&r).is_empty(), "{}", r.text);
    assert_eq!(app.version_count().await, before, "nothing stored");
}

#[tokio::test]
async fn modes_and_profiles_are_honoured_or_refused_with_a_reason() {
    let app = spawn_app().await;
    let mut p = app.created(&patient_named("Smith")).await;
    let id = p["id"].as_str().expect("id").to_owned();
    let before = app.version_count().await;
    // update: the ids must agree.
    let r = app
        .send_json(
            Method::POST,
            &format!("Patient/{id}/$validate?mode=update"),
            &p,
            &[],
        )
        .await;
    r.assert_status(200);
    assert!(errors(&r).is_empty(), "{}", r.text);
    p["id"] = json!("someone-else");
    let r = app
        .send_json(
            Method::POST,
            &format!("Patient/{id}/$validate?mode=update"),
            &p,
            &[],
        )
        .await;
    r.assert_status(200);
    assert!(
        !errors(&r).is_empty(),
        "a mismatched id is a fault: {}",
        r.text
    );
    // delete needs no resource; system may delete.
    let r = app
        .send(app.req(Method::POST, &format!("Patient/{id}/$validate?mode=delete")))
        .await;
    r.assert_status(200);
    assert!(errors(&r).is_empty(), "{}", r.text);
    // The operation cannot run: no instance, a mode the type level does not take, an unknown mode
    // or profile, no resource.
    let unknown = app
        .send_json(
            Method::POST,
            "Patient/no-such/$validate?mode=update",
            &p,
            &[],
        )
        .await;
    assert_outcome(&unknown, 404, "not-found", None);
    let typed = app
        .send_json(Method::POST, "Patient/$validate?mode=update", &p, &[])
        .await;
    assert_outcome(&typed, 400, "invalid", None);
    let mode = app
        .send_json(Method::POST, "Patient/$validate?mode=maybe", &p, &[])
        .await;
    assert_outcome(&mode, 400, "invalid", None);
    let profile = app
        .send_json(
            Method::POST,
            "Patient/$validate?profile=http://example.org/StructureDefinition/other",
            &p,
            &[],
        )
        .await;
    assert_outcome(&profile, 501, "not-supported", None);
    let empty = app.send(app.req(Method::POST, "Patient/$validate")).await;
    assert_outcome(&empty, 400, "invalid", None);
    assert_eq!(app.version_count().await, before, "nothing stored");
}

#[tokio::test]
async fn naming_a_published_profile_applies_its_rules() {
    let app = spawn_app().await;
    let pcsp = "https://fhir.carebridge.uk/StructureDefinition/pcsp-careplan";
    let patient = app.create_id(&patient_named("Smith")).await;
    // A plain care plan is fine as such, but not as a PCSP (which needs its category and more).
    let plan = care_plan(&format!("Patient/{patient}"), "active");
    let r = app
        .send_json(Method::POST, "CarePlan/$validate", &plan, &[])
        .await;
    assert!(errors(&r).is_empty(), "{}", r.text);
    let r = app
        .send_json(
            Method::POST,
            &format!("CarePlan/$validate?profile={pcsp}"),
            &plan,
            &[],
        )
        .await;
    r.assert_status(200);
    assert!(!errors(&r).is_empty(), "{}", r.text);
}

on_both_backends! {
    /// Only whoever may make the write may rehearse it, and an instance the caller cannot see is
    /// 404 however the question is put.
    async fn validate_is_for_writers_and_reveals_no_hidden_instance(app: TestApp) {
        let w = world_on(app).await;
        let plan_path = format!("CarePlan/{}", w.ann_plan);
        let plan = w.get_as(&w.app.token, &plan_path).await.json();
        let before = w.app.version_count().await;
        // Housing writes no care plans: 403, at either level.
        let housing = w.housing();
        for path in ["CarePlan/$validate".to_owned(), format!("{plan_path}/$validate")] {
            let r = w.send_as(&housing, Method::POST, &path, &plan).await;
            assert_outcome(&r, 403, "forbidden", None);
        }
        // A link-worker service that supports nobody here may write plans, but cannot see Ann's.
        let stranger = w.app.token_for("link-worker", Some("L9999"), None);
        let hidden = w
            .send_as(&stranger, Method::POST, &format!("{plan_path}/$validate?mode=update"), &plan)
            .await;
        let missing = w
            .send_as(&stranger, Method::POST, "CarePlan/no-such-plan/$validate?mode=update", &plan)
            .await;
        assert_outcome(&hidden, 404, "not-found", None);
        assert_outcome(&missing, 404, "not-found", None);
        // Ann's link service sees it; it may not delete, and is told so.
        let link = w.app.token_for("link-worker", Some("L0001"), None);
        let r = w
            .send_as(&link, Method::POST, &format!("{plan_path}/$validate?mode=update"), &plan)
            .await;
        r.assert_status(200);
        assert!(errors(&r).is_empty(), "{}", r.text);
        let r = w
            .app
            .send(w.app.anonymous(Method::POST, &format!("{plan_path}/$validate?mode=delete")).bearer_auth(&link))
            .await;
        r.assert_status(200);
        assert_eq!(errors(&r).first().map(|i| i["code"].clone()), Some(json!("forbidden")));
        // In a batch, the same answers.
        let mut e = entry("POST", &format!("{plan_path}/$validate?mode=update"), Some(plan.clone()));
        e["request"]["url"] = json!(format!("{}/{plan_path}/$validate?mode=update", w.app.base));
        let b = w.bundle_as(&stranger, "batch", vec![e]).await;
        b.assert_status(200);
        assert_eq!(entry_status(&b.json()["entry"][0]), 404);
        assert_eq!(w.app.version_count().await, before, "nothing stored");
    }
}

on_both_backends! {
    /// `$validate` runs the write's own transaction checks: a plan for a person the caller's
    /// organisation does not care for is refused by the create, and `$validate` says so, naming
    /// the subject, while the same plan for a person it cares for is accepted.
    async fn validate_agrees_with_the_write_about_who_the_writer_cares_for(app: TestApp) {
        let w = world_on(app).await;
        let link = w.app.token_for("link-worker", Some("L0001"), None);
        let for_bob = crate::sharing::plan(&w.bob, "gp", vec![crate::sharing::activity("physical", "pain", None)]);
        let created = w.send_as(&link, Method::POST, "CarePlan", &for_bob).await;
        assert_outcome(&created, 403, "forbidden", Some("CarePlan.subject"));
        let r = w.send_as(&link, Method::POST, "CarePlan/$validate?mode=create", &for_bob).await;
        r.assert_status(200);
        let refused = errors(&r);
        assert_eq!(refused.first().map(|i| i["code"].clone()), Some(json!("forbidden")), "{}", r.text);
        assert_eq!(refused[0]["expression"][0], "CarePlan.subject");
        let for_ann = crate::sharing::plan(&w.ann, "gp", vec![crate::sharing::activity("physical", "pain", None)]);
        let r = w.send_as(&link, Method::POST, "CarePlan/$validate", &for_ann).await;
        assert!(errors(&r).is_empty(), "{}", r.text);
    }
}
