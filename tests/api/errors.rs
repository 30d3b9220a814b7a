//! Refused requests: each gets the right status and an OperationOutcome (FHIR JSON) naming what is
//! wrong, and none of them changes anything.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::resources::*;

async fn post_raw(app: &TestApp, path: &str, content_type: &str, body: &str) -> Resp {
    app.send(
        app.req(Method::POST, path)
            .header("content-type", content_type)
            .body(body.to_owned()),
    )
    .await
}

#[tokio::test]
async fn invalid_json_is_400_structure() {
    let app = spawn_app().await;
    let r = post_raw(
        &app,
        "Patient",
        "application/fhir+json",
        "{\"resourceType\": \"Patient\",",
    )
    .await;
    assert_outcome(&r, 400, "structure", None);
    let r = post_raw(&app, "Patient", "application/fhir+json", "").await;
    assert_outcome(&r, 400, "structure", None);
}

#[tokio::test]
async fn a_body_that_is_not_an_object_is_400() {
    let app = spawn_app().await;
    let r = post_raw(
        &app,
        "Patient",
        "application/fhir+json",
        "[{\"resourceType\": \"Patient\"}]",
    )
    .await;
    assert_outcome(&r, 400, "structure", None);
}

#[tokio::test]
async fn a_plain_text_body_is_415() {
    let app = spawn_app().await;
    let body = patient_named("Smith").to_string();
    assert_outcome(
        &post_raw(&app, "Patient", "text/plain", &body).await,
        415,
        "not-supported",
        None,
    );
    assert_outcome(
        &post_raw(&app, "Patient", "application/fhir+xml", &body).await,
        415,
        "not-supported",
        None,
    );
    let no_type = app
        .send(app.req(Method::POST, "Patient").body(body.clone()))
        .await;
    assert_outcome(&no_type, 415, "not-supported", None);
    // The JSON media types are all accepted.
    for ok in [
        "application/fhir+json",
        "application/json",
        "application/fhir+json; charset=utf-8",
        "application/json+fhir",
    ] {
        post_raw(&app, "Patient", ok, &body)
            .await
            .assert_status(201);
    }
}

#[tokio::test]
async fn a_body_over_max_body_bytes_is_413_as_an_operation_outcome() {
    let app = spawn_app_with(|s| s.max_body_bytes = 1024).await;
    let mut big = patient_named("Smith");
    big["name"][0]["given"] = json!(["x".repeat(2000)]);
    let r = app.create(&big).await;
    assert_outcome(&r, 413, "too-costly", None);
    let small = app.create(&patient_named("Smith")).await;
    small.assert_status(201);
    let tx = bundle("transaction", vec![entry("POST", "Patient", Some(big))]);
    assert_outcome(&app.bundle(&tx).await, 413, "too-costly", None);
    assert_eq!(app.version_count().await, 1);
}

#[tokio::test]
async fn an_unknown_resource_type_is_404() {
    let app = spawn_app().await;
    let issue = assert_outcome(&app.get("Observation/1").await, 404, "not-found", None);
    assert!(
        issue["diagnostics"]
            .as_str()
            .is_some_and(|d| d.contains("Observation")),
        "{issue}"
    );
    let obs = json!({"resourceType": "Observation", "status": "final", "code": {"text": "weight"}});
    assert_outcome(
        &app.send_json(Method::POST, "Observation", &obs, &[]).await,
        404,
        "not-found",
        None,
    );
    assert_outcome(&app.get("patient/1").await, 404, "not-found", None);
}

#[tokio::test]
async fn an_unknown_route_is_404() {
    let app = spawn_app().await;
    assert_outcome(
        &app.get(&format!("{}/nope", app.root)).await,
        404,
        "not-found",
        None,
    );
    assert_outcome(
        &app.get("Patient/1/_history/1/more").await,
        404,
        "not-found",
        None,
    );
    assert_outcome(
        &app.get(&format!("{}/fhirx/Patient", app.root)).await,
        404,
        "not-found",
        None,
    );
}

#[tokio::test]
async fn a_wrong_method_is_405() {
    let app = spawn_app().await;
    let id = app.create_id(&patient_named("Smith")).await;
    // PATCH takes an instance; a type has nothing to patch.
    let patch = app
        .send(
            app.req(Method::PATCH, "Patient")
                .header("content-type", "application/json-patch+json")
                .body("[]"),
        )
        .await;
    assert_outcome(&patch, 405, "not-supported", None);
    assert_outcome(
        &app.send(app.req(Method::DELETE, "metadata")).await,
        405,
        "not-supported",
        None,
    );
    assert_outcome(
        &app.send(app.req(Method::POST, "Patient/_history")).await,
        405,
        "not-supported",
        None,
    );
    assert_outcome(
        &app.send(app.req(Method::PUT, &format!("Patient/{id}/_history/1")))
            .await,
        405,
        "not-supported",
        None,
    );
    app.read("Patient", &id).await.assert_status(200);
}

#[tokio::test]
async fn accept_xml_is_406() {
    let app = spawn_app().await;
    let id = app.create_id(&patient_named("Smith")).await;
    for path in [
        format!("Patient/{id}"),
        "Patient?family=Smith".to_owned(),
        "Patient/_history".to_owned(),
    ] {
        let r = app
            .send(
                app.req(Method::GET, &path)
                    .header("accept", "application/xml"),
            )
            .await;
        assert_outcome(&r, 406, "not-supported", None);
        let r = app
            .send(
                app.req(Method::GET, &path)
                    .header("accept", "application/fhir+xml"),
            )
            .await;
        assert_outcome(&r, 406, "not-supported", None);
    }
    assert_outcome(
        &app.get(&format!("Patient/{id}?_format=xml")).await,
        406,
        "not-supported",
        None,
    );
    let create = app
        .send_json(
            Method::POST,
            "Patient",
            &patient_named("Jones"),
            &[("accept", "application/fhir+xml")],
        )
        .await;
    assert_outcome(&create, 406, "not-supported", None);
    assert_eq!(
        app.version_count().await,
        1,
        "a refused create writes nothing"
    );
}

#[tokio::test]
async fn accept_xml_on_metadata_is_406() {
    let app = spawn_app().await;
    let r = app
        .send(
            app.req(Method::GET, "metadata")
                .header("accept", "application/fhir+xml"),
        )
        .await;
    assert_outcome(&r, 406, "not-supported", None);
    assert_outcome(
        &app.get("metadata?_format=xml").await,
        406,
        "not-supported",
        None,
    );
}

#[tokio::test]
async fn an_unknown_element_is_400_naming_it() {
    let app = spawn_app().await;
    let mut p = patient_named("Smith");
    p["foo"] = json!("bar");
    let issue = assert_outcome(&app.create(&p).await, 400, "structure", Some("Patient.foo"));
    assert!(
        issue["diagnostics"]
            .as_str()
            .is_some_and(|d| d.contains("foo")),
        "{issue}"
    );
    let mut nested = patient_named("Smith");
    nested["name"][0]["surname"] = json!("Smith");
    assert_outcome(
        &app.create(&nested).await,
        400,
        "structure",
        Some("Patient.name[0].surname"),
    );
}

#[tokio::test]
async fn a_value_of_the_wrong_type_is_400_naming_it() {
    let app = spawn_app().await;
    let mut p = patient_named("Smith");
    p["birthDate"] = json!(12);
    assert_outcome(
        &app.create(&p).await,
        400,
        "value",
        Some("Patient.birthDate"),
    );
    let mut q = hna("Patient/p1", "2026-02-10");
    q["item"][1]["answer"][0]["valueInteger"] = json!("seven");
    assert_outcome(
        &app.create(&q).await,
        400,
        "value",
        Some("QuestionnaireResponse.item[1].answer[0].valueInteger"),
    );
}

#[tokio::test]
async fn a_missing_required_element_is_400_naming_it() {
    let app = spawn_app().await;
    let mut plan = care_plan("Patient/p1", "active");
    plan.as_object_mut().expect("object").remove("intent");
    let issue = assert_outcome(
        &app.create(&plan).await,
        400,
        "required",
        Some("CarePlan.intent"),
    );
    assert!(
        issue["diagnostics"]
            .as_str()
            .is_some_and(|d| d.contains("intent")),
        "{issue}"
    );
}

#[tokio::test]
async fn a_malformed_reference_is_400_naming_it() {
    let app = spawn_app().await;
    for bad in [
        "Patient 123",
        "patient/123",
        "Patient/",
        "urn:uuid:not-a-uuid",
        "Patient/1/extra",
    ] {
        let r = app.create(&care_plan(bad, "active")).await;
        assert_outcome(&r, 400, "value", Some("CarePlan.subject.reference"));
    }
    let mut plan = care_plan("Patient/p1", "active");
    plan["activity"] = json!([{"detail": {"status": "scheduled", "performer": [{"reference": "Organization/ok"}, {"reference": "Organisation ABC"}]}}]);
    assert_outcome(
        &app.create(&plan).await,
        400,
        "value",
        Some("CarePlan.activity[0].detail.performer[1].reference"),
    );
}

#[tokio::test]
async fn an_id_in_the_url_differing_from_the_body_is_400() {
    let app = spawn_app().await;
    let mut p = patient_named("Smith");
    p["id"] = json!("body-id");
    let r = app.send_json(Method::PUT, "Patient/url-id", &p, &[]).await;
    assert_outcome(&r, 400, "invalid", Some("Patient.id"));
    app.read("Patient", "url-id").await.assert_status(404);
    app.read("Patient", "body-id").await.assert_status(404);
}

#[tokio::test]
async fn an_invalid_id_in_the_url_is_400() {
    let app = spawn_app().await;
    let mut p = patient_named("Smith");
    let long = "a".repeat(65);
    p["id"] = json!(long);
    let r = app
        .send_json(Method::PUT, &format!("Patient/{long}"), &p, &[])
        .await;
    assert_outcome(&r, 400, "invalid", None);
    assert_eq!(app.version_count().await, 0);
}

#[tokio::test]
async fn an_nhs_number_with_a_wrong_check_digit_is_422_naming_it() {
    let app = spawn_app().await;
    let issue = assert_outcome(
        &app.create(&patient("9434765918", "Smith", "Jane")).await,
        422,
        "value",
        Some("Patient.identifier[0].value"),
    );
    assert!(
        issue["diagnostics"]
            .as_str()
            .is_some_and(|d| d.contains("NHS number")),
        "{issue}"
    );
    app.create(&patient("9434765919", "Smith", "Jane"))
        .await
        .assert_status(201);
    // The NHS number rule holds wherever the identifier appears, e.g. a logical reference.
    let mut plan = care_plan("Patient/p1", "active");
    plan["subject"] = json!({"identifier": {"system": NHS, "value": "9434765918"}});
    assert_outcome(
        &app.create(&plan).await,
        422,
        "value",
        Some("CarePlan.subject.identifier.value"),
    );
}

/// Requests that must all be refused.
fn refused_requests(existing: &Value) -> Vec<(Method, String, String, &'static str)> {
    let id = existing["id"].as_str().unwrap_or_default();
    let mut changed = existing.clone();
    changed["name"][0]["family"] = json!("Changed");
    let mut unknown = changed.clone();
    unknown["foo"] = json!(1);
    let mut wrong_type = changed.clone();
    wrong_type["birthDate"] = json!(12);
    let mut bad_nhs = changed.clone();
    bad_nhs["identifier"] = json!([{"system": NHS, "value": "9434765918"}]);
    let mut other_id = changed.clone();
    other_id["id"] = json!("other");
    let fhir = "application/fhir+json";
    vec![
        (Method::POST, "Patient".into(), "{".into(), fhir),
        (
            Method::POST,
            "Patient".into(),
            changed.to_string(),
            "text/plain",
        ),
        (
            Method::PUT,
            format!("Patient/{id}"),
            unknown.to_string(),
            fhir,
        ),
        (
            Method::PUT,
            format!("Patient/{id}"),
            wrong_type.to_string(),
            fhir,
        ),
        (
            Method::PUT,
            format!("Patient/{id}"),
            bad_nhs.to_string(),
            fhir,
        ),
        (
            Method::PUT,
            format!("Patient/{id}"),
            other_id.to_string(),
            fhir,
        ),
        (Method::POST, "Patient".into(), bad_nhs.to_string(), fhir),
        (
            Method::POST,
            "Observation".into(),
            "{\"resourceType\":\"Observation\"}".into(),
            fhir,
        ),
        (
            Method::PATCH,
            format!("Patient/{id}"),
            r#"[{"op": "test", "path": "/id", "value": "someone-else"}]"#.into(),
            "application/json-patch+json",
        ),
        (
            Method::DELETE,
            format!("Patient?name:sounds={id}"),
            String::new(),
            fhir,
        ),
        (
            Method::POST,
            String::new(),
            bundle(
                "transaction",
                vec![
                    entry("PUT", &format!("Patient/{id}"), Some(changed.clone())),
                    entry("POST", "Patient", Some(unknown.clone())),
                ],
            )
            .to_string(),
            fhir,
        ),
    ]
}

#[tokio::test]
async fn a_refused_request_changes_nothing() {
    let app = spawn_app().await;
    let existing = app.created(&patient(JANE_NHS, "Smith", "Jane")).await;
    let id = existing["id"].as_str().expect("id").to_owned();
    let type_history = app.all_entries("Patient/_history").await.len();
    for (method, path, body, content_type) in refused_requests(&existing) {
        let r = app
            .send(
                app.req(method.clone(), &path)
                    .header("content-type", content_type)
                    .body(body),
            )
            .await;
        assert!(r.status >= 400, "{method} {path} was accepted: {}", r.text);
        assert_eq!(r.header("content-type"), Some(FHIR_JSON), "{method} {path}");
        assert_eq!(
            r.json()["resourceType"],
            "OperationOutcome",
            "{method} {path}"
        );
    }
    assert_eq!(
        app.all_entries("Patient/_history").await.len(),
        type_history
    );
    assert_eq!(app.version_count().await, 1);
    assert_eq!(app.read("Patient", &id).await.json(), existing);
}
