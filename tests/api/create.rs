//! `POST [type]`: plain, conditional (`If-None-Exist`) and with `Prefer: return=`.

use chrono::DateTime;
use reqwest::Method;
use serde_json::json;
use tokio::task::JoinSet;

use crate::helpers::*;
use crate::resources::*;

#[tokio::test]
async fn create_returns_201_with_location_etag_and_last_modified() {
    let app = spawn_app().await;
    let r = app.create(&patient(JANE_NHS, "Smith", "Jane")).await;
    r.assert_status(201);
    let body = r.json();
    let id = body["id"].as_str().expect("an id");
    assert_eq!(
        r.header("location"),
        Some(format!("http://127.0.0.1:{}/fhir/Patient/{id}/_history/1", app.port).as_str())
    );
    assert_eq!(r.header("etag"), Some("W/\"1\""));
    assert_eq!(r.header("content-type"), Some(FHIR_JSON));
    assert_eq!(body["meta"]["versionId"], "1");
    let last_modified = r.header("last-modified").expect("Last-Modified");
    let http_time = DateTime::parse_from_rfc2822(last_modified).expect("an HTTP date");
    let meta_time =
        DateTime::parse_from_rfc3339(body["meta"]["lastUpdated"].as_str().expect("lastUpdated"))
            .expect("an instant");
    assert_eq!(http_time.timestamp(), meta_time.timestamp());
    assert_eq!(body["identifier"][0]["value"], JANE_NHS);
    assert_eq!(body["name"][0]["family"], "Smith");
}

#[tokio::test]
async fn create_assigns_a_server_id_and_ignores_the_id_in_the_body() {
    let app = spawn_app().await;
    let mut p = patient(JANE_NHS, "Smith", "Jane");
    p["id"] = json!("chosen-by-client");
    let r = app.create(&p).await;
    r.assert_status(201);
    let id = r.id();
    assert_ne!(id, "chosen-by-client");
    assert!(
        r.header("location")
            .is_some_and(|l| l.contains(&format!("/Patient/{id}/"))),
        "{:?}",
        r.header("location")
    );
    app.read("Patient", "chosen-by-client")
        .await
        .assert_status(404);
    app.read("Patient", &id).await.assert_status(200);
}

#[tokio::test]
async fn two_creates_get_different_ids() {
    let app = spawn_app().await;
    let a = app.create_id(&patient_named("Smith")).await;
    let b = app.create_id(&patient_named("Smith")).await;
    assert_ne!(a, b);
    assert_eq!(
        app.search_ids("Patient", "family=Smith").await,
        sorted(&[a, b])
    );
}

#[tokio::test]
async fn conditional_create_with_no_match_creates_the_resource() {
    let app = spawn_app().await;
    let criteria = format!("identifier={NHS}|{JANE_NHS}");
    let r = app
        .create_with(
            &patient(JANE_NHS, "Smith", "Jane"),
            &[("If-None-Exist", &criteria)],
        )
        .await;
    r.assert_status(201);
    assert_eq!(app.search_ids("Patient", &criteria).await, vec![r.id()]);
}

#[tokio::test]
async fn conditional_create_with_one_match_returns_200_with_the_existing_resource_and_creates_nothing()
 {
    let app = spawn_app().await;
    let existing = app.create_id(&patient(JANE_NHS, "Smith", "Jane")).await;
    let before = app.version_count().await;
    let criteria = format!("identifier={NHS}|{JANE_NHS}");
    let r = app
        .create_with(
            &patient(JANE_NHS, "Jones", "Janet"),
            &[("If-None-Exist", &criteria)],
        )
        .await;
    r.assert_status(200);
    let body = r.json();
    assert_eq!(body["id"], existing.as_str());
    assert_eq!(
        body["name"][0]["family"], "Smith",
        "the stored resource, not the one sent"
    );
    assert_eq!(r.header("etag"), Some("W/\"1\""));
    assert_eq!(app.version_count().await, before);
    assert_eq!(app.search_ids("Patient", "").await, vec![existing]);
}

#[tokio::test]
async fn conditional_create_with_two_matches_returns_412_and_creates_nothing() {
    let app = spawn_app().await;
    app.create_id(&patient(&nhs_number(1), "Smith", "Jane"))
        .await;
    app.create_id(&patient(&nhs_number(2), "Smith", "John"))
        .await;
    let r = app
        .create_with(
            &patient(&nhs_number(3), "Smith", "Jo"),
            &[("If-None-Exist", "family=Smith")],
        )
        .await;
    assert_outcome(&r, 412, "multiple-matches", None);
    assert_eq!(app.search_ids("Patient", "").await.len(), 2);
}

#[tokio::test]
async fn conditional_create_with_an_unknown_search_parameter_is_400() {
    let app = spawn_app().await;
    let r = app
        .create_with(&patient_named("Smith"), &[("If-None-Exist", "nhs=123")])
        .await;
    assert_outcome(&r, 400, "invalid", None);
    assert_eq!(app.version_count().await, 0);
}

#[tokio::test]
async fn prefer_return_minimal_gives_201_with_headers_and_no_body() {
    let app = spawn_app().await;
    let r = app
        .create_with(&patient_named("Smith"), &[("Prefer", "return=minimal")])
        .await;
    r.assert_status(201);
    assert_eq!(r.text, "");
    assert_eq!(r.header("etag"), Some("W/\"1\""));
    let location = r.header("location").expect("Location").to_owned();
    assert!(
        location.starts_with(&format!("{}/Patient/", app.base)),
        "{location}"
    );
    let resource = app.get(&location).await;
    resource.assert_status(200);
    assert_eq!(resource.json()["name"][0]["family"], "Smith");
}

#[tokio::test]
async fn prefer_return_operation_outcome_gives_an_outcome_instead_of_the_resource() {
    let app = spawn_app().await;
    let r = app
        .create_with(
            &patient_named("Smith"),
            &[("Prefer", "return=OperationOutcome")],
        )
        .await;
    r.assert_status(201);
    assert_eq!(r.header("content-type"), Some(FHIR_JSON));
    let body = r.json();
    assert_eq!(body["resourceType"], "OperationOutcome");
    assert_eq!(body["issue"][0]["severity"], "information");
    assert!(r.header("location").is_some());
    assert_eq!(app.search_ids("Patient", "family=Smith").await.len(), 1);
}

#[tokio::test]
async fn prefer_return_representation_is_the_default_body() {
    let app = spawn_app().await;
    let r = app
        .create_with(
            &patient_named("Smith"),
            &[("Prefer", "return=representation")],
        )
        .await;
    r.assert_status(201);
    assert_eq!(r.json()["resourceType"], "Patient");
}

#[tokio::test]
async fn create_keeps_the_clients_meta_tags_and_profiles() {
    let app = spawn_app().await;
    let mut p = patient_named("Smith");
    p["meta"] = json!({
        "profile": ["https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient"],
        "tag": [{"system": "https://carebridge.nhs.uk/tags", "code": "pilot"}],
        "versionId": "41"
    });
    let body = app.created(&p).await;
    assert_eq!(
        body["meta"]["versionId"], "1",
        "the server sets the version"
    );
    assert_eq!(
        body["meta"]["profile"][0],
        "https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient"
    );
    assert_eq!(
        app.search_ids("Patient", "_tag=https://carebridge.nhs.uk/tags|pilot")
            .await,
        vec![body["id"].as_str().unwrap_or_default().to_owned()]
    );
}

#[tokio::test]
async fn create_with_a_body_of_another_type_is_400_naming_resource_type() {
    let app = spawn_app().await;
    let r = app
        .send_json(
            Method::POST,
            "Patient",
            &organization("B82005", "Beech House"),
            &[],
        )
        .await;
    assert_outcome(&r, 400, "invalid", Some("Patient.resourceType"));
    assert_eq!(app.version_count().await, 0);
}

#[tokio::test]
async fn create_resolves_a_conditional_reference_to_the_one_match() {
    let app = spawn_app().await;
    let pid = app.create_id(&patient(JANE_NHS, "Smith", "Jane")).await;
    let plan = care_plan(&format!("Patient?identifier={NHS}|{JANE_NHS}"), "active");
    let body = app.created(&plan).await;
    assert_eq!(body["subject"]["reference"], format!("Patient/{pid}"));
}

#[tokio::test]
async fn create_with_a_conditional_reference_that_matches_nothing_is_refused() {
    let app = spawn_app().await;
    let plan = care_plan(&format!("Patient?identifier={NHS}|{JANE_NHS}"), "active");
    let r = app.create(&plan).await;
    assert_outcome(&r, 412, "conflict", None);
    assert_eq!(app.version_count().await, 0);
}

#[tokio::test]
async fn concurrent_conditional_creates_make_exactly_one_resource() {
    // A GP system retrying a timed-out registration sends the same conditional create several times.
    let app = spawn_app().await;
    let criteria = format!("identifier={NHS}|{JANE_NHS}");
    let mut requests = JoinSet::new();
    for _ in 0..8 {
        let request = app
            .req(Method::POST, "Patient")
            .header("content-type", "application/fhir+json")
            .header("If-None-Exist", criteria.clone())
            .body(patient(JANE_NHS, "Smith", "Jane").to_string());
        requests.spawn(async move { request.send().await.map(|r| r.status().as_u16()) });
    }
    let mut statuses = Vec::new();
    while let Some(done) = requests.join_next().await {
        statuses.push(done.expect("task").expect("response"));
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 200, 200, 200, 200, 200, 200, 201]);
    assert_eq!(app.search_ids("Patient", &criteria).await.len(), 1);
}

#[tokio::test]
async fn a_created_resource_never_contains_empty_arrays_or_objects() {
    // FHIR JSON: arrays and objects are never empty. Refusing (400) or dropping them are both fine;
    // storing and serving them is not.
    let app = spawn_app().await;
    let body = json!({"resourceType": "Patient", "name": [], "telecom": [{}], "address": [{"line": [], "city": "Leeds"}]});
    let r = app.create(&body).await;
    if r.status == 201 {
        let stored = app.read("Patient", &r.id()).await.json();
        let mut empty = Vec::new();
        crate::metadata::empty_containers(&stored, "Patient", &mut empty);
        assert!(
            empty.is_empty(),
            "stored with empty containers at {empty:?}: {stored}"
        );
    } else {
        assert_outcome(&r, 400, "structure", None);
    }
}

#[tokio::test]
async fn a_write_whose_url_carries_search_parameters_is_400_and_changes_nothing() {
    let app = spawn_app().await;
    let org = json!({"resourceType": "Organization", "name": "Riverside",
        "identifier": [{"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "A81001"}]});
    let id = app.create_id(&org).await;
    let before = app.version_count().await;
    let get_or_create = app
        .send_json(
            Method::POST,
            "Organization?identifier=https://fhir.nhs.uk/Id/ods-organization-code|A81001",
            &org,
            &[],
        )
        .await;
    let issue = assert_outcome(&get_or_create, 400, "invalid", None);
    assert!(
        issue["diagnostics"]
            .as_str()
            .is_some_and(|d| d.contains("identifier")),
        "{issue}"
    );
    let mut changed = org.clone();
    changed["id"] = json!(id);
    changed["name"] = json!("Renamed");
    let update = app
        .send_json(
            Method::PUT,
            &format!("Organization/{id}?name=Riverside"),
            &changed,
            &[],
        )
        .await;
    assert_outcome(&update, 400, "invalid", None);
    let delete = app
        .send(app.req(Method::DELETE, &format!("Organization/{id}?_id={id}")))
        .await;
    assert_outcome(&delete, 400, "invalid", None);
    assert_eq!(app.version_count().await, before, "nothing written");
    assert_eq!(
        app.read("Organization", &id).await.json()["name"],
        "Riverside"
    );
    // Format parameters are still welcome.
    app.send_json(
        Method::POST,
        "Organization?_format=json&_pretty=true",
        &org,
        &[],
    )
    .await
    .assert_status(201);
}
