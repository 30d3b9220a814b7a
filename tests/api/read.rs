//! `GET [type]/[id]` and `GET [type]/[id]/_history/[vid]`.

use serde_json::json;

use crate::helpers::*;
use crate::resources::*;

#[tokio::test]
async fn read_returns_the_current_version_with_etag_and_last_modified() {
    let app = spawn_app().await;
    let created = app.created(&patient(JANE_NHS, "Smith", "Jane")).await;
    let id = created["id"].as_str().expect("id");
    let r = app.read("Patient", id).await;
    r.assert_status(200);
    assert_eq!(r.header("content-type"), Some(FHIR_JSON));
    assert_eq!(r.header("etag"), Some("W/\"1\""));
    assert!(r.header("last-modified").is_some());
    assert_eq!(r.json(), created, "read returns what create returned");
}

on_both_backends! {
    /// Create then read, on each backend.
    async fn read_returns_what_was_created(app: TestApp) {
        let created = app.created(&patient(JANE_NHS, "Smith", "Jane")).await;
        let id = created["id"].as_str().expect("id");
        let r = app.read("Patient", id).await;
        r.assert_status(200);
        assert_eq!(r.json(), created);
        assert_eq!(r.header("etag"), Some("W/\"1\""));
        assert_outcome(&app.read("Patient", "no-such-patient").await, 404, "not-found", None);
    }
}

#[tokio::test]
async fn vread_returns_each_past_version() {
    let app = spawn_app().await;
    let mut p = app.created(&patient_named("Smith")).await;
    let id = p["id"].as_str().expect("id").to_owned();
    p["name"][0]["family"] = json!("Smith-Jones");
    app.update(&p).await.assert_status(200);

    let v1 = app.vread("Patient", &id, "1").await;
    v1.assert_status(200);
    assert_eq!(v1.header("etag"), Some("W/\"1\""));
    assert_eq!(v1.json()["name"][0]["family"], "Smith");
    assert_eq!(v1.json()["meta"]["versionId"], "1");

    let v2 = app.vread("Patient", &id, "2").await;
    v2.assert_status(200);
    assert_eq!(v2.header("etag"), Some("W/\"2\""));
    assert_eq!(v2.json()["name"][0]["family"], "Smith-Jones");
    assert_eq!(app.read("Patient", &id).await.json(), v2.json());
}

#[tokio::test]
async fn read_of_an_unknown_id_is_404_not_found() {
    let app = spawn_app().await;
    let r = app.read("Patient", "does-not-exist").await;
    let issue = assert_outcome(&r, 404, "not-found", None);
    assert!(
        issue["diagnostics"]
            .as_str()
            .is_some_and(|d| d.contains("Patient/does-not-exist")),
        "{issue}"
    );
}

#[tokio::test]
async fn read_of_a_deleted_resource_is_410_gone() {
    let app = spawn_app().await;
    let id = app.create_id(&patient_named("Smith")).await;
    app.delete("Patient", &id).await.assert_status(204);
    assert_outcome(&app.read("Patient", &id).await, 410, "deleted", None);
}

#[tokio::test]
async fn vread_of_an_unknown_version_is_404() {
    let app = spawn_app().await;
    let id = app.create_id(&patient_named("Smith")).await;
    assert_outcome(
        &app.vread("Patient", &id, "2").await,
        404,
        "not-found",
        None,
    );
    assert_outcome(
        &app.vread("Patient", &id, "x").await,
        404,
        "not-found",
        None,
    );
}

#[tokio::test]
async fn vread_of_the_deletion_is_410_but_earlier_versions_stay_readable() {
    let app = spawn_app().await;
    let id = app.create_id(&patient_named("Smith")).await;
    app.delete("Patient", &id).await.assert_status(204);
    assert_outcome(&app.vread("Patient", &id, "2").await, 410, "deleted", None);
    let v1 = app.vread("Patient", &id, "1").await;
    v1.assert_status(200);
    assert_eq!(v1.json()["name"][0]["family"], "Smith");
}

#[tokio::test]
async fn read_with_the_wrong_type_in_the_url_is_404() {
    let app = spawn_app().await;
    let id = app.create_id(&patient_named("Smith")).await;
    assert_outcome(&app.read("Practitioner", &id).await, 404, "not-found", None);
}

#[tokio::test]
async fn read_accepts_json_format_parameters_and_accept_headers() {
    let app = spawn_app().await;
    let id = app.create_id(&patient_named("Smith")).await;
    // `+` must be sent as %2B in a query string.
    for format in ["json", "application/fhir%2Bjson", "application/json"] {
        let r = app.get(&format!("Patient/{id}?_format={format}")).await;
        r.assert_status(200);
    }
    for accept in [
        "application/fhir+json",
        "application/json",
        "*/*",
        "application/fhir+json;q=0.9, text/html;q=0.1",
    ] {
        let r = app
            .send(
                app.req(reqwest::Method::GET, &format!("Patient/{id}"))
                    .header("accept", accept),
            )
            .await;
        r.assert_status(200);
    }
}
