//! `PUT [type]/[id]` and `PUT [type]?criteria`: versions, `If-Match`, update-as-create, no-op updates.

use reqwest::Method;
use serde_json::json;
use tokio::task::JoinSet;

use crate::helpers::*;
use crate::resources::*;

#[tokio::test]
async fn update_returns_200_and_version_2() {
    let app = spawn_app().await;
    let mut p = app.created(&patient(JANE_NHS, "Smith", "Jane")).await;
    p["name"][0]["family"] = json!("Smith-Jones");
    let r = app.update(&p).await;
    r.assert_status(200);
    assert_eq!(r.header("etag"), Some("W/\"2\""));
    assert_eq!(r.header("content-type"), Some(FHIR_JSON));
    assert!(r.header("last-modified").is_some());
    let body = r.json();
    assert_eq!(body["meta"]["versionId"], "2");
    assert_eq!(body["name"][0]["family"], "Smith-Jones");
    assert_eq!(body["id"], p["id"]);
    let read = app.read("Patient", p["id"].as_str().expect("id")).await;
    assert_eq!(read.json(), body);
}

on_both_backends! {
    /// Update, then read the new version and vread the old one, on each backend.
    async fn update_makes_a_new_version(app: TestApp) {
        let mut p = app.created(&patient(JANE_NHS, "Smith", "Jane")).await;
        let id = p["id"].as_str().expect("id").to_owned();
        p["active"] = json!(false);
        let r = app.update(&p).await;
        r.assert_status(200);
        assert_eq!(r.header("etag"), Some("W/\"2\""));
        assert_eq!(app.read("Patient", &id).await.json()["active"], false);
        assert!(app.vread("Patient", &id, "1").await.json().get("active").is_none());
        app.update_with(&p, &[("If-Match", "W/\"1\"")]).await.assert_status(412);
    }
}

#[tokio::test]
async fn update_with_a_stale_if_match_is_412_and_changes_nothing() {
    let app = spawn_app().await;
    let mut p = app.created(&patient_named("Smith")).await;
    let id = p["id"].as_str().expect("id").to_owned();
    p["name"][0]["family"] = json!("Jones");
    app.update(&p).await.assert_status(200);
    p["name"][0]["family"] = json!("Brown");
    let r = app.update_with(&p, &[("If-Match", "W/\"1\"")]).await;
    assert_outcome(&r, 412, "conflict", None);
    let current = app.read("Patient", &id).await;
    assert_eq!(current.header("etag"), Some("W/\"2\""));
    assert_eq!(current.json()["name"][0]["family"], "Jones");
}

#[tokio::test]
async fn update_with_the_current_if_match_is_200() {
    let app = spawn_app().await;
    let mut p = app.created(&patient_named("Smith")).await;
    p["name"][0]["family"] = json!("Jones");
    let r = app.update_with(&p, &[("If-Match", "W/\"1\"")]).await;
    r.assert_status(200);
    assert_eq!(r.header("etag"), Some("W/\"2\""));
    p["name"][0]["family"] = json!("Brown");
    app.update_with(&p, &[("If-Match", "W/\"2\"")])
        .await
        .assert_status(200);
}

#[tokio::test]
async fn update_with_a_malformed_if_match_is_400() {
    let app = spawn_app().await;
    let p = app.created(&patient_named("Smith")).await;
    let r = app.update_with(&p, &[("If-Match", "W/\"one\"")]).await;
    assert_outcome(&r, 400, "invalid", None);
}

#[tokio::test]
async fn update_of_an_unknown_id_creates_it_with_the_clients_id_and_201() {
    let app = spawn_app().await;
    let mut p = patient(JANE_NHS, "Smith", "Jane");
    p["id"] = json!("jane-smith");
    let r = app.update(&p).await;
    r.assert_status(201);
    assert_eq!(
        r.header("location"),
        Some(format!("{}/Patient/jane-smith/_history/1", app.base).as_str())
    );
    assert_eq!(r.header("etag"), Some("W/\"1\""));
    assert_eq!(r.json()["id"], "jane-smith");
    app.read("Patient", "jane-smith").await.assert_status(200);
}

#[tokio::test]
async fn update_with_if_match_on_an_unknown_id_is_412_and_creates_nothing() {
    let app = spawn_app().await;
    let mut p = patient_named("Smith");
    p["id"] = json!("nobody");
    let r = app.update_with(&p, &[("If-Match", "W/\"1\"")]).await;
    assert_outcome(&r, 412, "conflict", None);
    app.read("Patient", "nobody").await.assert_status(404);
}

#[tokio::test]
async fn update_without_an_id_in_the_body_is_400() {
    let app = spawn_app().await;
    let id = app.create_id(&patient_named("Smith")).await;
    let r = app
        .send_json(
            Method::PUT,
            &format!("Patient/{id}"),
            &patient_named("Jones"),
            &[],
        )
        .await;
    assert_outcome(&r, 400, "required", Some("Patient.id"));
}

#[tokio::test]
async fn an_update_that_changes_nothing_creates_no_new_version() {
    let app = spawn_app().await;
    let mut sent = patient(JANE_NHS, "Smith", "Jane");
    sent["id"] = json!("jane");
    app.update(&sent).await.assert_status(201);
    // Sent again as first written (no meta), then as read back (with the server's meta).
    let again = app.update(&sent).await;
    again.assert_status(200);
    assert_eq!(again.header("etag"), Some("W/\"1\""));
    let read_back = app.read("Patient", "jane").await.json();
    let third = app.update(&read_back).await;
    third.assert_status(200);
    assert_eq!(third.header("etag"), Some("W/\"1\""));
    assert_eq!(third.json()["meta"], read_back["meta"]);
    let history = app.all_entries("Patient/jane/_history").await;
    assert_eq!(history.len(), 1, "{history:?}");
}

#[tokio::test]
async fn update_after_delete_brings_the_resource_back_as_the_next_version() {
    let app = spawn_app().await;
    let mut p = patient_named("Smith");
    p["id"] = json!("returning");
    app.update(&p).await.assert_status(201);
    app.delete("Patient", "returning").await.assert_status(204);
    let r = app.update(&p).await;
    r.assert_status(201);
    assert_eq!(r.header("etag"), Some("W/\"3\""));
    app.read("Patient", "returning").await.assert_status(200);
}

#[tokio::test]
async fn update_with_prefer_return_minimal_has_no_body() {
    let app = spawn_app().await;
    let mut p = app.created(&patient_named("Smith")).await;
    p["active"] = json!(true);
    let r = app.update_with(&p, &[("Prefer", "return=minimal")]).await;
    r.assert_status(200);
    assert_eq!(r.text, "");
    assert_eq!(r.header("etag"), Some("W/\"2\""));
}

#[tokio::test]
async fn conditional_update_updates_the_one_match() {
    let app = spawn_app().await;
    let id = app.create_id(&patient(JANE_NHS, "Smith", "Jane")).await;
    let r = app
        .send_json(
            Method::PUT,
            &format!("Patient?identifier={NHS}|{JANE_NHS}"),
            &patient(JANE_NHS, "Smith-Jones", "Jane"),
            &[],
        )
        .await;
    r.assert_status(200);
    assert_eq!(r.header("etag"), Some("W/\"2\""));
    assert_eq!(r.json()["id"], id.as_str());
    assert_eq!(
        app.read("Patient", &id).await.json()["name"][0]["family"],
        "Smith-Jones"
    );
    assert_eq!(app.search_ids("Patient", "").await, vec![id]);
}

#[tokio::test]
async fn conditional_update_with_no_match_creates_the_resource() {
    let app = spawn_app().await;
    let r = app
        .send_json(
            Method::PUT,
            &format!("Patient?identifier={NHS}|{JANE_NHS}"),
            &patient(JANE_NHS, "Smith", "Jane"),
            &[],
        )
        .await;
    r.assert_status(201);
    assert_eq!(r.header("etag"), Some("W/\"1\""));
    assert_eq!(
        app.search_ids("Patient", &format!("identifier={NHS}|{JANE_NHS}"))
            .await,
        vec![r.id()]
    );
}

#[tokio::test]
async fn conditional_update_with_two_matches_is_412_and_changes_nothing() {
    let app = spawn_app().await;
    app.create_id(&patient(&nhs_number(1), "Smith", "Jane"))
        .await;
    app.create_id(&patient(&nhs_number(2), "Smith", "John"))
        .await;
    let before = app.version_count().await;
    let r = app
        .send_json(
            Method::PUT,
            "Patient?family=Smith",
            &patient_named("Smith"),
            &[],
        )
        .await;
    assert_outcome(&r, 412, "multiple-matches", None);
    assert_eq!(app.version_count().await, before);
}

#[tokio::test]
async fn conditional_update_whose_body_id_names_another_resource_is_400() {
    let app = spawn_app().await;
    app.create_id(&patient(JANE_NHS, "Smith", "Jane")).await;
    let mut p = patient(JANE_NHS, "Smith", "Jane");
    p["id"] = json!("someone-else");
    let r = app
        .send_json(
            Method::PUT,
            &format!("Patient?identifier={NHS}|{JANE_NHS}"),
            &p,
            &[],
        )
        .await;
    assert_outcome(&r, 400, "invalid", None);
    app.read("Patient", "someone-else").await.assert_status(404);
}

#[tokio::test]
async fn concurrent_updates_with_the_same_if_match_let_exactly_one_win() {
    // Two link workers edit the same plan from version 1; only one edit may land.
    let app = spawn_app().await;
    let plan = app.created(&care_plan("Patient/p1", "active")).await;
    let id = plan["id"].as_str().expect("id").to_owned();
    let mut requests = JoinSet::new();
    for n in 0..6 {
        let mut edit = plan.clone();
        edit["title"] = json!(format!("Edit {n}"));
        let request = app
            .req(Method::PUT, &format!("CarePlan/{id}"))
            .header("content-type", "application/fhir+json")
            .header("If-Match", "W/\"1\"")
            .body(edit.to_string());
        requests.spawn(async move { request.send().await.map(|r| r.status().as_u16()) });
    }
    let mut statuses = Vec::new();
    while let Some(done) = requests.join_next().await {
        statuses.push(done.expect("task").expect("response"));
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 412, 412, 412, 412, 412]);
    let current = app.read("CarePlan", &id).await;
    assert_eq!(current.header("etag"), Some("W/\"2\""));
    assert_eq!(
        app.all_entries(&format!("CarePlan/{id}/_history"))
            .await
            .len(),
        2
    );
}
