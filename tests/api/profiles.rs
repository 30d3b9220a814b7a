//! The HNA conformance artefacts: installed at start-up under the configured canonical base, served
//! by read and search, idempotent across restarts, listed in `/metadata`, and equal to the checked-in
//! `profiles/*.json`.
//!
//! `UPDATE_PROFILES=1 cargo test --test api profiles` rewrites the checked-in files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use carebridge::config::Settings;
use carebridge::hna::profiles::{artefacts, file_name, file_text};
use carebridge::hna::{Canonical, DEFAULT_CANONICAL};
use carebridge::startup::Application;
use serde_json::Value;

use crate::helpers::*;

fn canonical() -> Canonical {
    Canonical::new(DEFAULT_CANONICAL)
}

/// The one resource a search by `url` finds (asserts there is exactly one).
async fn by_url(app: &TestApp, rtype: &str, url: &str) -> Value {
    let r = app.search(rtype, &format!("url={url}")).await;
    r.assert_status(200);
    let entries = r.entries();
    assert_eq!(entries.len(), 1, "{rtype}?url={url}: {}", r.text);
    entries[0]["resource"].clone()
}

fn bound(item: &Value, url: &str) -> Option<i64> {
    item["extension"]
        .as_array()?
        .iter()
        .find(|e| e["url"] == url)?["valueInteger"]
        .as_i64()
}

#[tokio::test]
async fn the_hna_questionnaire_is_served_with_a_group_per_domain_and_a_bounded_item_per_concern() {
    let app = spawn_app().await;
    let c = canonical();
    let q = by_url(&app, "Questionnaire", &c.questionnaire()).await;
    assert_eq!(q["id"], "hna");
    assert_eq!(q["status"], "active");
    let items = q["item"].as_array().expect("items");
    let groups: Vec<&Value> = items.iter().filter(|i| i["type"] == "group").collect();
    assert_eq!(groups.len(), 6);
    let concerns: Vec<&Value> = groups
        .iter()
        .flat_map(|g| g["item"].as_array().into_iter().flatten())
        .collect();
    assert_eq!(concerns.len(), 54);
    for item in concerns {
        let code = item["linkId"].as_str().expect("linkId");
        assert_eq!(item["type"], "integer", "{code}");
        let min = bound(item, "http://hl7.org/fhir/StructureDefinition/minValue");
        let max = bound(item, "http://hl7.org/fhir/StructureDefinition/maxValue");
        assert_eq!((min, max), (Some(0), Some(10)), "{code}");
        assert_eq!(item["code"][0]["system"], c.concern_system(), "{code}");
        assert_eq!(item["code"][0]["code"], code);
    }
    let top: Vec<&str> = items
        .iter()
        .filter(|i| i["type"] != "group")
        .filter_map(|i| i["linkId"].as_str())
        .collect();
    assert_eq!(
        top,
        vec![
            "distress-thermometer",
            "what-matters-most",
            "point-of-pathway",
            "setting",
            "completed-by"
        ]
    );
    app.read("Questionnaire", "hna").await.assert_status(200);
}

#[tokio::test]
async fn the_concern_code_system_gives_every_concern_its_domain() {
    let app = spawn_app().await;
    let cs = by_url(&app, "CodeSystem", &canonical().concern_system()).await;
    let concepts = cs["concept"].as_array().expect("concepts");
    assert_eq!(concepts.len(), 54);
    for concept in concepts {
        let domain = concept["property"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["code"] == "domain"));
        assert!(
            domain.is_some_and(|d| d["valueCode"].is_string()),
            "{concept}"
        );
    }
    let vs = by_url(
        &app,
        "ValueSet",
        "https://fhir.carebridge.uk/ValueSet/hna-concern",
    )
    .await;
    assert_eq!(vs["compose"]["include"][0]["system"], cs["url"]);
}

#[tokio::test]
async fn every_artefact_is_served_unchanged_and_a_put_of_it_makes_no_new_version() {
    let app = spawn_app().await;
    for artefact in artefacts(&canonical()) {
        let rtype = artefact["resourceType"].as_str().expect("type");
        let url = artefact["url"].as_str().expect("url");
        let mut served = by_url(&app, rtype, url).await;
        assert_eq!(served["meta"]["versionId"], "1", "{url}");
        if let Some(o) = served.as_object_mut() {
            o.remove("meta");
        }
        assert_eq!(served, artefact, "{url} is served as generated");
        let put = app.update(&artefact).await;
        assert_eq!(put.status, 200, "{url}: {}", put.text);
        assert_eq!(put.header("etag"), Some("W/\"1\""), "{url}");
    }
}

#[tokio::test]
async fn artefacts_under_another_base_can_be_posted_as_any_client_would() {
    let app = spawn_app().await;
    for artefact in artefacts(&Canonical::new("https://example.org/fhir")) {
        let r = app.create(&artefact).await;
        assert_eq!(r.status, 201, "{}: {}", file_name(&artefact), r.text);
    }
}

/// Settings for `database_url` built from an environment map, as `carebridge serve` builds them.
fn settings_from_env(database_url: &str, extra: &[(&str, &str)]) -> Settings {
    let env: BTreeMap<String, String> = [
        ("CAREBRIDGE_LISTEN", "127.0.0.1:0"),
        ("CAREBRIDGE_DATABASE_URL", database_url),
        ("CAREBRIDGE_BASE_URL", "http://127.0.0.1:0/fhir"),
        ("CAREBRIDGE_WORKERS", "1"),
    ]
    .iter()
    .chain(&crate::helpers::TEST_AUTH_ENV)
    .chain(extra)
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    Settings::from_sources(None, &env).expect("valid settings")
}

#[tokio::test]
async fn a_restart_on_the_same_database_makes_no_new_versions() {
    let mut database_url = String::new();
    let app = spawn_app_with(|s| database_url = s.database_url.clone()).await;
    // The artefacts written at start-up are the helper's baseline, so a second start on the same
    // database must leave the count of versions written since at zero.
    let before = app.version_count().await;
    assert_eq!(before, 0);
    let installed = app.all_entries("_history?_count=1000").await.len();
    assert_eq!(installed, artefacts(&canonical()).len());
    let again = Application::build(settings_from_env(&database_url, &[]))
        .await
        .unwrap_or_else(|e| panic!("the second start failed: {e}"));
    let port = again.port();
    tokio::spawn(again.run_until(std::future::pending()));
    assert_eq!(app.version_count().await, before);
    assert_eq!(
        app.all_entries("_history?_count=1000").await.len(),
        installed
    );
    let r = app
        .get(&format!(
            "http://127.0.0.1:{port}/fhir/Questionnaire/hna/_history"
        ))
        .await;
    r.assert_status(200);
    assert_eq!(r.entries().len(), 1, "{}", r.text);
}

#[tokio::test]
async fn start_up_stops_with_a_clear_error_when_an_artefact_cannot_be_installed() {
    let mut database_url = String::new();
    let app = spawn_app_with(|s| database_url = s.database_url.clone()).await;
    let c = canonical();
    let mut copy = carebridge::hna::profiles::hna_questionnaire(&c);
    if let Some(o) = copy.as_object_mut() {
        o.remove("id");
    }
    app.create(&copy).await.assert_status(201);
    let message = match Application::build(settings_from_env(&database_url, &[])).await {
        Ok(_) => panic!("a second Questionnaire with the HNA url must stop start-up"),
        Err(e) => e.to_string(),
    };
    assert!(
        message.contains("conformance artefacts") && message.contains(&c.questionnaire()),
        "{message}"
    );
}

#[tokio::test]
async fn a_configured_canonical_base_is_used_in_every_served_url() {
    let base = "https://hna.example.nhs.uk/fhir";
    let app = spawn_app_with(|s| {
        *s = settings_from_env(&s.database_url, &[("CAREBRIDGE_CANONICAL_BASE", base)]);
    })
    .await;
    let c = Canonical::new(base);
    let q = by_url(&app, "Questionnaire", &c.questionnaire()).await;
    assert_eq!(
        q["item"][0]["item"][0]["code"][0]["system"],
        c.concern_system()
    );
    by_url(&app, "StructureDefinition", &c.pcsp_profile()).await;
    let r = app
        .search(
            "Questionnaire",
            &format!("url={}", canonical().questionnaire()),
        )
        .await;
    assert_eq!(r.entries().len(), 0, "nothing under the default base");
    let metadata = app.get("metadata").await.json().to_string();
    assert!(metadata.contains(&c.hna_profile()), "{metadata}");
}

#[tokio::test]
async fn metadata_lists_the_supported_profiles() {
    let app = spawn_app().await;
    let cs = app.get("metadata").await.json();
    let c = canonical();
    let resources = cs["rest"][0]["resource"].as_array().expect("resources");
    let profiles_of = |t: &str| {
        resources
            .iter()
            .find(|r| r["type"] == t)
            .map(|r| r["supportedProfile"].clone())
    };
    for (t, profile) in [
        ("QuestionnaireResponse", c.hna_profile()),
        ("CarePlan", c.pcsp_profile()),
        ("Consent", c.consent_profile()),
    ] {
        assert_eq!(profiles_of(t), Some(serde_json::json!([profile])), "{t}");
    }
}

fn profiles_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles")
}

fn checked_in_json(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    names
}

#[test]
fn the_checked_in_profiles_equal_the_generated_artefacts() {
    let dir = profiles_dir();
    let all = artefacts(&canonical());
    if std::env::var("UPDATE_PROFILES").is_ok_and(|v| v == "1") {
        for name in checked_in_json(&dir) {
            let path = dir.join(name);
            std::fs::remove_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
        for a in &all {
            let path = dir.join(file_name(a));
            std::fs::write(&path, file_text(a))
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
        return;
    }
    let hint = "run UPDATE_PROFILES=1 cargo test --test api profiles (or cargo run -- profiles) \
                and review the diff";
    let mut expected: Vec<String> = all.iter().map(file_name).collect();
    expected.sort();
    assert_eq!(checked_in_json(&dir), expected, "{hint}");
    for a in &all {
        let path = dir.join(file_name(a));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            text == file_text(a),
            "{} differs from the generated artefact; {hint}",
            path.display()
        );
    }
}
