//! `_history` at instance, type and system level: newest first, `_since`, `_count` and paging.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::*;
use crate::resources::*;

/// `Type/id/_history/v` of a history entry, from its fullUrl.
fn version_of(entry: &Value) -> String {
    let url = entry["fullUrl"].as_str().unwrap_or_default();
    url.rsplit('/').next().unwrap_or_default().to_owned()
}

/// A patient with three versions: created, updated, updated.
async fn three_versions(app: &TestApp) -> String {
    let mut p = app.created(&patient_named("Smith")).await;
    for family in ["Jones", "Brown"] {
        p["name"][0]["family"] = json!(family);
        app.update(&p).await.assert_status(200);
    }
    p["id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn instance_history_lists_every_version_newest_first() {
    let app = spawn_app().await;
    let id = three_versions(&app).await;
    let r = app.get(&format!("Patient/{id}/_history")).await;
    r.assert_status(200);
    assert_eq!(r.header("content-type"), Some(FHIR_JSON));
    let body = r.json();
    assert_eq!(body["resourceType"], "Bundle");
    assert_eq!(body["type"], "history");
    let entries = r.entries();
    let versions: Vec<String> = entries.iter().map(version_of).collect();
    assert_eq!(versions, ["3", "2", "1"]);
    let families: Vec<&str> = entries
        .iter()
        .map(|e| {
            e["resource"]["name"][0]["family"]
                .as_str()
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(families, ["Brown", "Jones", "Smith"]);
    assert_eq!(
        entries[0]["fullUrl"],
        format!("{}/Patient/{id}/_history/3", app.base)
    );
    assert_eq!(entries[0]["request"]["method"], "PUT");
    assert_eq!(entries[0]["request"]["url"], format!("Patient/{id}"));
    assert_eq!(entries[2]["request"]["method"], "POST");
    assert!(
        entries[2]["response"]["status"]
            .as_str()
            .is_some_and(|s| s.starts_with("201"))
    );
    assert_eq!(entries[0]["response"]["etag"], "W/\"3\"");
}

#[tokio::test]
async fn type_history_lists_every_version_of_that_type_only() {
    let app = spawn_app().await;
    let id = three_versions(&app).await;
    let other = app.create_id(&patient_named("Green")).await;
    app.create_id(&organization("B82005", "Beech House Surgery"))
        .await;
    let entries = app.all_entries("Patient/_history").await;
    assert_eq!(entries.len(), 4);
    assert!(
        entries
            .iter()
            .all(|e| e["resource"]["resourceType"] == "Patient")
    );
    assert_eq!(entries[0]["resource"]["id"], other.as_str(), "newest first");
    assert_eq!(entries[3]["resource"]["id"], id.as_str());
}

#[tokio::test]
async fn system_history_lists_every_type_newest_first() {
    let app = spawn_app().await;
    let p = app.create_id(&patient_named("Smith")).await;
    let o = app
        .create_id(&organization("B82005", "Beech House Surgery"))
        .await;
    let c = app
        .create_id(&care_plan(&format!("Patient/{p}"), "active"))
        .await;
    let r = app.get("_history").await;
    r.assert_status(200);
    let got: Vec<String> = r
        .entries()
        .iter()
        .filter(|e| !is_conformance(e))
        .map(|e| {
            format!(
                "{}/{}",
                e["resource"]["resourceType"].as_str().unwrap_or_default(),
                e["resource"]["id"].as_str().unwrap_or_default()
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            format!("CarePlan/{c}"),
            format!("Organization/{o}"),
            format!("Patient/{p}")
        ]
    );
}

#[tokio::test]
async fn history_since_leaves_out_older_versions() {
    let app = spawn_app().await;
    let old = app.create_id(&patient_named("Old")).await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let new = app.created(&patient_named("New")).await;
    let since = new["meta"]["lastUpdated"].as_str().expect("lastUpdated");
    let entries = app
        .all_entries(&format!("Patient/_history?_since={since}"))
        .await;
    let ids: Vec<&str> = entries
        .iter()
        .map(|e| e["resource"]["id"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(ids, [new["id"].as_str().unwrap_or_default()]);
    let all = app.all_entries("Patient/_history?_since=2000-01-01").await;
    assert_eq!(all.len(), 2);
    assert!(all.iter().any(|e| e["resource"]["id"] == old.as_str()));
    let none = app
        .all_entries("_history?_since=2999-01-01T00:00:00Z")
        .await;
    assert!(none.is_empty());
}

#[tokio::test]
async fn history_count_pages_with_a_next_link_that_works() {
    let app = spawn_app().await;
    let mut p = app.created(&patient_named("V1")).await;
    for n in 2..=5 {
        p["name"][0]["family"] = json!(format!("V{n}"));
        app.update(&p).await.assert_status(200);
    }
    let id = p["id"].as_str().expect("id");
    let first = app.get(&format!("Patient/{id}/_history?_count=2")).await;
    first.assert_status(200);
    assert_eq!(first.entries().len(), 2);
    let mut versions: Vec<String> = first.entries().iter().map(version_of).collect();
    let next = first.link("next").expect("a next link");
    assert!(
        next.starts_with(&format!("{}/Patient/{id}/_history?", app.base)),
        "{next}"
    );
    let second = app.get(&next).await;
    second.assert_status(200);
    assert_eq!(second.entries().len(), 2);
    versions.extend(second.entries().iter().map(version_of));
    let third = app
        .get(&second.link("next").expect("a second next link"))
        .await;
    assert_eq!(third.entries().len(), 1);
    versions.extend(third.entries().iter().map(version_of));
    assert!(
        third.link("next").is_none(),
        "the last page has no next link"
    );
    assert_eq!(versions, ["5", "4", "3", "2", "1"]);
}

#[tokio::test]
async fn history_paging_does_not_shift_when_versions_are_added_meanwhile() {
    let app = spawn_app().await;
    for n in 0..4 {
        app.create_id(&patient_named(&format!("P{n}"))).await;
    }
    let first = app.get("Patient/_history?_count=2").await;
    let mut seen: Vec<String> = first
        .entries()
        .iter()
        .map(|e| e["resource"]["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    app.create_id(&patient_named("Late")).await;
    let second = app.get(&first.link("next").expect("next")).await;
    seen.extend(
        second
            .entries()
            .iter()
            .map(|e| e["resource"]["id"].as_str().unwrap_or_default().to_owned()),
    );
    assert!(second.link("next").is_none());
    assert_eq!(seen.len(), 4);
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 4, "no version twice: {seen:?}");
}

#[tokio::test]
async fn history_of_an_unknown_resource_is_404() {
    let app = spawn_app().await;
    assert_outcome(
        &app.get("Patient/nobody/_history").await,
        404,
        "not-found",
        None,
    );
}

#[tokio::test]
async fn history_with_an_unknown_parameter_or_bad_since_is_400() {
    let app = spawn_app().await;
    assert_outcome(&app.get("_history?_at=2026").await, 400, "invalid", None);
    assert_outcome(
        &app.get("_history?_since=yesterday").await,
        400,
        "invalid",
        None,
    );
    assert_outcome(&app.get("_history?_count=many").await, 400, "invalid", None);
}

#[tokio::test]
async fn history_of_a_new_server_holds_only_its_conformance_artefacts() {
    let app = spawn_app().await;
    let r = app.get("_history?_count=1000").await;
    r.assert_status(200);
    let body = r.json();
    assert_eq!(body["type"], "history");
    let entries = r.entries();
    assert!(
        !entries.is_empty(),
        "the HNA artefacts are installed at start-up"
    );
    assert!(entries.iter().all(is_conformance), "{}", r.text);
    let patients = app.get("Patient/_history").await;
    patients.assert_status(200);
    assert!(patients.json().get("entry").is_none(), "{}", patients.text);
}

/// The artefacts the server installs at start-up (Questionnaire, code systems, value sets, profiles,
/// the message definition).
fn is_conformance(entry: &serde_json::Value) -> bool {
    matches!(
        entry["resource"]["resourceType"].as_str(),
        Some(
            "Questionnaire"
                | "CodeSystem"
                | "ValueSet"
                | "StructureDefinition"
                | "MessageDefinition"
                | "OperationDefinition"
        )
    )
}

/// A history bundle carries `total` when its page is the whole history, and when asked
/// (`_total=accurate`), counting only versions the caller is served.
#[tokio::test]
async fn history_carries_a_total_when_whole_or_asked() {
    let app = spawn_app().await;
    let mut p = app.created(&crate::resources::patient_named("Smith")).await;
    let id = p["id"].as_str().expect("id").to_owned();
    for family in ["Jones", "Brown"] {
        p["name"][0]["family"] = serde_json::json!(family);
        app.update(&p).await.assert_status(200);
    }
    let whole = app.get(&format!("Patient/{id}/_history")).await;
    whole.assert_status(200);
    assert_eq!(whole.total(), Some(3));
    let page = app.get(&format!("Patient/{id}/_history?_count=1")).await;
    assert_eq!(
        page.total(),
        None,
        "a page of a longer history is not counted unasked"
    );
    let counted = app
        .get(&format!("Patient/{id}/_history?_count=1&_total=accurate"))
        .await;
    assert_eq!(counted.total(), Some(3));
    assert_eq!(counted.entries().len(), 1);
    let bad = app.get(&format!("Patient/{id}/_history?_total=lots")).await;
    crate::helpers::assert_outcome(&bad, 400, "invalid", None);
}
