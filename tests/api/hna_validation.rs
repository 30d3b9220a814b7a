//! Validation of HNAs against their Questionnaire and of PCSP care plans against their profile, on
//! every write (create, update, transaction entry): 422 naming the element, and nothing written.
//! The fixtures in `conformance/hna/` are asserted here too.

use std::path::{Path, PathBuf};

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::resources::organization;

const CANONICAL: &str = "https://fhir.carebridge.uk";

fn cs(id: &str) -> String {
    format!("{CANONICAL}/CodeSystem/{id}")
}

fn hna_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance/hna")
}

/// The `*.json` files of `conformance/hna/<kind>`, sorted, without `expected.json`.
fn fixtures(kind: &str) -> Vec<PathBuf> {
    fixture_files(&hna_dir().join(kind))
}

/// A valid HNA: two domains scored, the Distress Thermometer, what matters, pathway, setting, who.
fn hna() -> Value {
    read_json(&hna_dir().join("valid/questionnaireresponse-hna.json"))
}

/// A valid active PCSP naming `Organization/hna-fixture-org` and `QuestionnaireResponse/hna-fixture-hna`.
fn plan() -> Value {
    read_json(&hna_dir().join("valid/careplan-pcsp-active.json"))
}

/// Writes the resources the plan fixtures reference, with the ids they use.
async fn seed(app: &TestApp) {
    let mut org = organization("RR8", "Leeds Teaching Hospitals");
    org["id"] = json!("hna-fixture-org");
    app.update(&org).await.assert_status(201);
    let mut response = hna();
    response["id"] = json!("hna-fixture-hna");
    app.update(&response).await.assert_status(201);
}

/// Asserts a 422 with an issue of `code` at `expression`, whose text names `name`.
#[track_caller]
fn refused(r: &Resp, code: &str, expression: &str, name: &str) {
    let issue = assert_outcome(r, 422, code, Some(expression));
    let text = issue["diagnostics"].as_str().unwrap_or_default();
    assert!(text.contains(name), "{text:?} should name {name:?}");
}

/// Posts `resource`, expects it refused as described, and checks that nothing was written.
async fn refused_and_unwritten(app: &TestApp, resource: &Value, code: &str, at: &str, name: &str) {
    let before = app.version_count().await;
    let r = app.create(resource).await;
    refused(&r, code, at, name);
    assert_eq!(
        app.version_count().await,
        before,
        "a refused write changed the store"
    );
}

#[tokio::test]
async fn the_installed_hna_questionnaire_accepts_a_valid_hna() {
    let app = spawn_app().await;
    app.create(&hna()).await.assert_status(201);
    // As an update too.
    let mut again = hna();
    again["id"] = json!("hna-put");
    app.update(&again).await.assert_status(201);
}

#[tokio::test]
async fn an_unknown_link_id_is_refused_at_its_position() {
    let app = spawn_app().await;
    let mut r = hna();
    r["item"][1]["item"]
        .as_array_mut()
        .expect("emotional items")
        .push(json!({"linkId": "hiccups", "answer": [{"valueInteger": 2}]}));
    refused_and_unwritten(
        &app,
        &r,
        "structure",
        "QuestionnaireResponse.item[1].item[1].linkId",
        "hiccups",
    )
    .await;
}

#[tokio::test]
async fn a_wrong_answer_type_is_refused() {
    let app = spawn_app().await;
    let mut r = hna();
    r["item"][0]["item"][1]["answer"] = json!([{"valueDecimal": 4.5}]);
    refused_and_unwritten(
        &app,
        &r,
        "value",
        "QuestionnaireResponse.item[0].item[1].answer[0].valueDecimal",
        "pain",
    )
    .await;
}

#[tokio::test]
async fn severities_outside_0_to_10_are_refused() {
    let app = spawn_app().await;
    for v in [11, -1] {
        let mut r = hna();
        r["item"][0]["item"][0]["answer"] = json!([{"valueInteger": v}]);
        refused_and_unwritten(
            &app,
            &r,
            "value",
            "QuestionnaireResponse.item[0].item[0].answer[0].valueInteger",
            "breathing",
        )
        .await;
    }
    // The bounds themselves are fine.
    for v in [0, 10] {
        let mut r = hna();
        r["item"][0]["item"][0]["answer"] = json!([{"valueInteger": v}]);
        app.create(&r).await.assert_status(201);
    }
}

#[tokio::test]
async fn two_answers_to_one_concern_are_refused() {
    let app = spawn_app().await;
    let mut r = hna();
    r["item"][1]["item"][0]["answer"] = json!([{"valueInteger": 9}, {"valueInteger": 2}]);
    refused_and_unwritten(
        &app,
        &r,
        "structure",
        "QuestionnaireResponse.item[1].item[0].answer[1]",
        "worry-fear-anxiety",
    )
    .await;
}

#[tokio::test]
async fn a_missing_required_item_is_refused_unless_in_progress() {
    let app = spawn_app().await;
    let mut r = hna();
    // point-of-pathway (required) removed.
    r["item"].as_array_mut().expect("items").remove(4);
    refused_and_unwritten(
        &app,
        &r,
        "required",
        "QuestionnaireResponse",
        "point-of-pathway",
    )
    .await;
    r["status"] = json!("in-progress");
    app.create(&r).await.assert_status(201);
}

#[tokio::test]
async fn an_answer_to_a_disabled_item_is_refused() {
    let app = spawn_app().await;
    let q = json!({
        "resourceType": "Questionnaire",
        "id": "gated",
        "url": "https://example.org/Questionnaire/gated",
        "status": "active",
        "item": [
            {"linkId": "smoker", "type": "boolean"},
            {"linkId": "per-day", "type": "integer",
             "enableWhen": [{"question": "smoker", "operator": "=", "answerBoolean": true}]}
        ]
    });
    app.update(&q).await.assert_status(201);
    let response = |smoker: bool| {
        json!({
            "resourceType": "QuestionnaireResponse",
            "questionnaire": "https://example.org/Questionnaire/gated",
            "status": "completed",
            "item": [
                {"linkId": "smoker", "answer": [{"valueBoolean": smoker}]},
                {"linkId": "per-day", "answer": [{"valueInteger": 10}]}
            ]
        })
    };
    app.create(&response(true)).await.assert_status(201);
    refused_and_unwritten(
        &app,
        &response(false),
        "business-rule",
        "QuestionnaireResponse.item[1].answer[0]",
        "per-day",
    )
    .await;
}

#[tokio::test]
async fn an_unknown_questionnaire_is_refused_and_none_is_not_checked() {
    let app = spawn_app().await;
    let mut r = hna();
    r["questionnaire"] = json!("https://example.org/Questionnaire/never-heard-of-it");
    refused_and_unwritten(
        &app,
        &r,
        "business-rule",
        "QuestionnaireResponse.questionnaire",
        "never-heard-of-it",
    )
    .await;
    // A version we do not hold is unknown too.
    let mut r = hna();
    r["questionnaire"] = json!(format!("{CANONICAL}/Questionnaire/hna|0.0.0-nope"));
    refused(
        &app.create(&r).await,
        "business-rule",
        "QuestionnaireResponse.questionnaire",
        "hna",
    );
    // The installed version by name.
    let installed = app
        .search(
            "Questionnaire",
            "url=https://fhir.carebridge.uk/Questionnaire/hna",
        )
        .await;
    let version = installed.entries()[0]["resource"]["version"]
        .as_str()
        .expect("the installed Questionnaire has a version")
        .to_owned();
    let mut r = hna();
    r["questionnaire"] = json!(format!("{CANONICAL}/Questionnaire/hna|{version}"));
    app.create(&r).await.assert_status(201);
    // Without a questionnaire nothing is checked.
    let mut r = hna();
    r.as_object_mut().map(|o| o.remove("questionnaire"));
    r["item"][0]["item"][0]["answer"] = json!([{"valueInteger": 99}]);
    app.create(&r).await.assert_status(201);
}

#[tokio::test]
async fn a_changed_questionnaire_applies_at_once() {
    let app = spawn_app().await;
    let q = |max: i64| {
        json!({
            "resourceType": "Questionnaire",
            "id": "scale",
            "url": "https://example.org/Questionnaire/scale",
            "status": "active",
            "item": [{"linkId": "score", "type": "integer", "extension": [
                {"url": "http://hl7.org/fhir/StructureDefinition/maxValue", "valueInteger": max}]}]
        })
    };
    let response = json!({
        "resourceType": "QuestionnaireResponse",
        "questionnaire": "https://example.org/Questionnaire/scale",
        "status": "completed",
        "item": [{"linkId": "score", "answer": [{"valueInteger": 8}]}]
    });
    app.update(&q(10)).await.assert_status(201);
    app.create(&response).await.assert_status(201);
    app.update(&q(5)).await.assert_status(200);
    refused(
        &app.create(&response).await,
        "value",
        "QuestionnaireResponse.item[0].answer[0].valueInteger",
        "score",
    );
    // Deleted: unknown (within the cache's re-validation period).
    app.delete("Questionnaire", "scale")
        .await
        .assert_status(204);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    refused(
        &app.create(&response).await,
        "business-rule",
        "QuestionnaireResponse.questionnaire",
        "scale",
    );
}

#[tokio::test]
async fn a_bad_hna_in_a_transaction_is_refused_with_its_entry_path_and_nothing_is_written() {
    let app = spawn_app().await;
    let mut bad = hna();
    bad["item"][2]["answer"] = json!([{"valueInteger": 12}]);
    let before = app.version_count().await;
    let bundle = json!({
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"fullUrl": "urn:uuid:0b0c6c4e-8f43-4e4a-9d1e-1f7c2a4b5c6d",
             "resource": organization("RR8", "Leeds"), "request": {"method": "POST", "url": "Organization"}},
            {"resource": bad, "request": {"method": "POST", "url": "QuestionnaireResponse"}}
        ]
    });
    let r = app.bundle(&bundle).await;
    refused(
        &r,
        "value",
        "Bundle.entry[1].resource.item[2].answer[0].valueInteger",
        "distress-thermometer",
    );
    assert_eq!(app.version_count().await, before);
}

#[tokio::test]
async fn a_valid_pcsp_is_created_and_an_update_is_checked_too() {
    let app = spawn_app().await;
    seed(&app).await;
    let stored = app.created(&plan()).await;
    let mut changed = stored.clone();
    changed["activity"][0]["detail"]["code"]["coding"][0]["code"] = json!("prayer");
    refused(
        &app.update(&changed).await,
        "value",
        "CarePlan.activity[0].detail.code.coding[0].code",
        "prayer",
    );
    changed["activity"][0]["detail"]["code"]["coding"][0]["code"] = json!("signposting");
    app.update(&changed).await.assert_status(200);
}

#[tokio::test]
async fn pcsp_concern_domain_action_and_performer_are_checked() {
    let app = spawn_app().await;
    seed(&app).await;
    let mut p = plan();
    p["activity"][1]["detail"]["reasonCode"][0]["coding"][0]["code"] = json!("hiccups");
    refused_and_unwritten(
        &app,
        &p,
        "value",
        "CarePlan.activity[1].detail.reasonCode[0].coding[0].code",
        "hiccups",
    )
    .await;
    let mut p = plan();
    p["activity"][0]["detail"]["extension"][0]["valueCoding"]["code"] = json!("spiritual");
    refused_and_unwritten(
        &app,
        &p,
        "business-rule",
        "CarePlan.activity[0].detail.extension[0]",
        "breathing",
    )
    .await;
    let mut p = plan();
    p["activity"][1]["detail"]["code"]["coding"][0]["code"] = json!("prayer");
    refused_and_unwritten(
        &app,
        &p,
        "value",
        "CarePlan.activity[1].detail.code.coding[0].code",
        "prayer",
    )
    .await;
    let mut p = plan();
    p["activity"][0]["detail"]["performer"] = json!([{"reference": "Organization/nowhere"}]);
    refused_and_unwritten(
        &app,
        &p,
        "not-found",
        "CarePlan.activity[0].detail.performer[0].reference",
        "Organization/nowhere",
    )
    .await;
    // A deleted performer does not resolve either.
    let gone = app.create_id(&organization("RAE", "Gone Trust")).await;
    app.delete("Organization", &gone).await.assert_status(204);
    let mut p = plan();
    p["activity"][0]["detail"]["performer"] =
        json!([{"reference": format!("Organization/{gone}")}]);
    refused(
        &app.create(&p).await,
        "not-found",
        "CarePlan.activity[0].detail.performer[0].reference",
        &gone,
    );
    // An absolute reference under this server's base resolves like a relative one.
    let mut p = plan();
    p["activity"][0]["detail"]["performer"] =
        json!([{"reference": format!("{}/Organization/hna-fixture-org", app.base)}]);
    app.create(&p).await.assert_status(201);
}

#[tokio::test]
async fn care_plans_without_the_pcsp_profile_are_not_checked() {
    let app = spawn_app().await;
    let mut p = plan();
    p.as_object_mut().map(|o| o.remove("meta"));
    p["activity"][0]["detail"]["code"]["coding"][0]["code"] = json!("prayer");
    p["activity"][0]["detail"]["performer"] = json!([{"reference": "Organization/nowhere"}]);
    app.create(&p).await.assert_status(201);
}

#[tokio::test]
async fn a_transaction_may_create_the_performer_the_plan_names() {
    let app = spawn_app().await;
    let org = "urn:uuid:5f1f6a1e-2c7b-4a58-9b8e-0d2f3e4a5b6c";
    let hna_url = "urn:uuid:7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d";
    let mut p = plan();
    p["activity"][0]["detail"]["performer"] = json!([{"reference": org}]);
    p["activity"][1]["detail"]["performer"] = json!([{"reference": org}]);
    p["supportingInfo"] = json!([{"reference": hna_url}]);
    let bundle = json!({
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"fullUrl": org, "resource": organization("RR8", "Leeds"),
             "request": {"method": "POST", "url": "Organization"}},
            {"fullUrl": hna_url, "resource": hna(),
             "request": {"method": "POST", "url": "QuestionnaireResponse"}},
            {"resource": p, "request": {"method": "POST", "url": "CarePlan"}}
        ]
    });
    let r = app.bundle(&bundle).await;
    r.assert_status(200);
    let entries = r.json()["entry"].as_array().cloned().unwrap_or_default();
    let location = entries[2]["response"]["location"]
        .as_str()
        .expect("location");
    let stored = app.get(location).await.json();
    let performer = stored["activity"][0]["detail"]["performer"][0]["reference"]
        .as_str()
        .unwrap_or_default();
    assert!(performer.starts_with("Organization/"), "{performer}");
    // The same plan naming a urn:uuid that no entry carries is refused, and nothing is written.
    let before = app.version_count().await;
    let mut entries = bundle["entry"].as_array().cloned().unwrap_or_default();
    entries.remove(0);
    let r = app
        .bundle(&json!({"resourceType": "Bundle", "type": "transaction", "entry": entries}))
        .await;
    refused(
        &r,
        "not-found",
        "Bundle.entry[1].resource.activity[0].detail.performer[0].reference",
        org,
    );
    assert_eq!(app.version_count().await, before);
}

#[tokio::test]
async fn every_valid_hna_fixture_is_created() {
    let app = spawn_app().await;
    seed(&app).await;
    let files = fixtures("valid");
    assert!(files.len() >= 4, "{files:?}");
    for path in &files {
        let r = app.create(&read_json(path)).await;
        assert_eq!(r.status, 201, "{}: {}", file_name(path), r.text);
    }
}

#[tokio::test]
async fn every_invalid_hna_fixture_is_refused_as_expected_and_nothing_is_written() {
    let app = spawn_app().await;
    seed(&app).await;
    let expected = read_json(&hna_dir().join("invalid/expected.json"));
    let expected = expected.as_object().expect("expected.json is an object");
    let files = fixtures("invalid");
    let listed = sorted(&expected.keys().cloned().collect::<Vec<_>>());
    let present: Vec<String> = files.iter().map(|p| file_name(p)).collect();
    assert_eq!(
        listed, present,
        "expected.json must list exactly the invalid fixtures"
    );
    let before = app.version_count().await;
    for path in &files {
        let name = file_name(path);
        let want = &expected[&name];
        let r = app.create(&read_json(path)).await;
        let status = u16::try_from(want["status"].as_u64().expect("status")).expect("a status");
        assert_eq!(r.status, status, "{name}: {}", r.text);
        assert_outcome(
            &r,
            status,
            want["code"].as_str().expect("code"),
            want["expression"].as_str(),
        );
    }
    assert_eq!(
        app.version_count().await,
        before,
        "no invalid fixture was stored"
    );
}

#[tokio::test]
async fn hna_fixtures_use_the_contracts_vocabulary() {
    // Guards the fixtures against drifting from the served CodeSystems.
    let app = spawn_app().await;
    for id in [
        "hna-point-of-pathway",
        "hna-setting",
        "hna-completed-by",
        "hna-concern",
        "hna-domain",
        "pcsp-action-type",
    ] {
        let r = app
            .send(app.req(Method::GET, &format!("CodeSystem?url={}", cs(id))))
            .await;
        r.assert_status(200);
        assert_eq!(r.entries().len(), 1, "{id}: {}", r.text);
    }
}

/// `$validate` runs the checks a write runs: every invalid fixture gets the issue its create is
/// refused with (same code, same location) in a 200 OperationOutcome, every valid one a clean
/// bill, and nothing is stored.
#[tokio::test]
async fn validate_reports_what_a_create_would_refuse_and_stores_nothing() {
    let app = spawn_app().await;
    seed(&app).await;
    let expected = read_json(&hna_dir().join("invalid/expected.json"));
    let before = app.version_count().await;
    for path in fixtures("invalid") {
        let name = file_name(&path);
        let resource = read_json(&path);
        let rtype = resource["resourceType"]
            .as_str()
            .expect("a type")
            .to_owned();
        let want = &expected[&name];
        let r = app
            .send_json(Method::POST, &format!("{rtype}/$validate"), &resource, &[])
            .await;
        r.assert_status(200);
        let issues = r.json()["issue"].as_array().cloned().unwrap_or_default();
        assert!(
            issues.iter().any(|i| i["severity"] == "error"
                && i["code"] == want["code"]
                && i["expression"][0] == want["expression"]),
            "{name}: {issues:?}"
        );
    }
    for path in fixtures("valid") {
        let resource = read_json(&path);
        let rtype = resource["resourceType"]
            .as_str()
            .expect("a type")
            .to_owned();
        let params = json!({"resourceType": "Parameters", "parameter": [
            {"name": "resource", "resource": resource},
            {"name": "mode", "valueCode": "create"},
        ]});
        let r = app
            .send_json(Method::POST, &format!("{rtype}/$validate"), &params, &[])
            .await;
        r.assert_status(200);
        let issues = r.json()["issue"].as_array().cloned().unwrap_or_default();
        assert_eq!(issues.len(), 1, "{}: {issues:?}", file_name(&path));
        assert_eq!(issues[0]["severity"], "information");
    }
    assert_eq!(
        app.version_count().await,
        before,
        "$validate stored something"
    );
}
