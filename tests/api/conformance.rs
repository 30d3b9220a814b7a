//! The checked-in conformance artefacts: `conformance/CapabilityStatement.json` equals what
//! `/metadata` serves, and the fixtures in `conformance/fixtures/` are accepted or refused as recorded.
//!
//! `UPDATE_CONFORMANCE=1 cargo test --test api conformance` rewrites the CapabilityStatement file.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::helpers::*;

/// `implementation.url` depends on the deployment; the file carries this placeholder.
const PLACEHOLDER_BASE: &str = "http://127.0.0.1:8080/fhir";

fn conformance_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance")
}

/// The `*.json` files of a fixture directory, sorted, without `expected.json`.
fn fixtures(kind: &str) -> Vec<PathBuf> {
    fixture_files(&conformance_dir().join("fixtures").join(kind))
}

/// The statement without the deployment's base URL (the implementation's and the messaging
/// endpoint's address), which differs per test server.
fn without_url(mut cs: Value) -> Value {
    cs["implementation"]["url"] = json!(PLACEHOLDER_BASE);
    cs["messaging"][0]["endpoint"][0]["address"] =
        json!(format!("{PLACEHOLDER_BASE}/$process-message"));
    cs
}

#[tokio::test]
async fn served_capability_statement_equals_the_checked_in_file() {
    let app = spawn_app().await;
    let r = app.get("metadata").await;
    r.assert_status(200);
    let served = without_url(r.json());
    let path = conformance_dir().join("CapabilityStatement.json");
    if std::env::var("UPDATE_CONFORMANCE").is_ok_and(|v| v == "1") {
        let text = serde_json::to_string_pretty(&served).expect("serialisable") + "\n";
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        return;
    }
    assert!(
        path.exists(),
        "{} is missing; run UPDATE_CONFORMANCE=1 cargo test --test api conformance",
        path.display()
    );
    let checked_in = without_url(read_json(&path));
    assert!(
        served == checked_in,
        "/metadata differs from {}; if the change is intended, run \
         UPDATE_CONFORMANCE=1 cargo test --test api conformance and review the diff",
        path.display()
    );
}

/// The fixture as stored: without the server's `id` and `meta`.
fn content(resource: &Value) -> Value {
    let mut v = resource.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("id");
        o.remove("meta");
    }
    v
}

#[tokio::test]
async fn every_valid_fixture_is_created_and_read_back_unchanged() {
    let app = spawn_app().await;
    let files = fixtures("valid");
    assert!(
        files.len() >= 13,
        "expected the valid fixture set, found {files:?}"
    );
    // Files in name order: the referral (which has an id, so is put there) before its Task.
    for path in &files {
        let fixture = read_json(path);
        let r = match (fixture["resourceType"].as_str(), fixture["id"].as_str()) {
            (Some(_), Some(_)) => app.update(&fixture).await,
            _ => app.create(&fixture).await,
        };
        assert_eq!(r.status, 201, "{}: {}", file_name(path), r.text);
        let read = app.get(r.header("location").expect("Location")).await;
        read.assert_status(200);
        assert_eq!(
            content(&read.json()),
            content(&fixture),
            "{} was changed when stored",
            file_name(path)
        );
    }
}

#[tokio::test]
async fn every_invalid_fixture_is_refused_with_its_expected_status_and_expression() {
    let app = spawn_app().await;
    let expected_path = conformance_dir().join("fixtures/invalid/expected.json");
    let expected = read_json(&expected_path);
    let expected = expected.as_object().expect("expected.json is an object");
    let files = fixtures("invalid");
    let listed: Vec<String> = sorted(&expected.keys().cloned().collect::<Vec<_>>());
    let present: Vec<String> = files.iter().map(|p| file_name(p)).collect();
    assert_eq!(
        listed, present,
        "expected.json must list exactly the invalid fixtures"
    );
    for path in &files {
        let name = file_name(path);
        let want = &expected[&name];
        let r = app.create(&read_json(path)).await;
        let status = u16::try_from(want["status"].as_u64().expect("status")).expect("a status");
        let code = want["code"].as_str().expect("code");
        let expression = want["expression"].as_str();
        assert_eq!(r.status, status, "{name}: {}", r.text);
        assert_outcome(&r, status, code, expression);
    }
    assert_eq!(
        app.version_count().await,
        0,
        "no invalid fixture was stored"
    );
}
