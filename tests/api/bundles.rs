//! `POST [base]` with transaction and batch Bundles.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::resources::*;

const PATIENT_URN: &str = "urn:uuid:6f1c0a52-2f4e-4c5b-9b1e-0d6f3b8a7c11";
const HNA_URN: &str = "urn:uuid:0b8e7f3a-91c4-4d7e-8a35-2c6d9e1f4b20";

/// The HNA visit a link worker uploads in one go: the patient, the HNA and the resulting plan.
fn hna_visit_transaction(plan: Value) -> Value {
    let mut patient_entry = entry("POST", "Patient", Some(patient(JANE_NHS, "Smith", "Jane")));
    patient_entry["fullUrl"] = json!(PATIENT_URN);
    let mut hna_entry = entry(
        "POST",
        "QuestionnaireResponse",
        Some(hna(PATIENT_URN, "2026-02-10T14:30:00Z")),
    );
    hna_entry["fullUrl"] = json!(HNA_URN);
    bundle(
        "transaction",
        vec![
            patient_entry,
            hna_entry,
            entry("POST", "CarePlan", Some(plan)),
        ],
    )
}

fn pcsp_for_the_visit() -> Value {
    let mut plan = care_plan(PATIENT_URN, "active");
    plan["supportingInfo"] = json!([{"reference": HNA_URN}]);
    plan
}

/// The `Type/id` of a response entry's `location` (`Type/id/_history/v`).
fn located(entry: &Value) -> String {
    let location = entry["response"]["location"].as_str().unwrap_or_default();
    let location = location.strip_prefix("http://").map_or(location, |rest| {
        rest.split_once("/fhir/").map_or(rest, |(_, path)| path)
    });
    location
        .split("/_history")
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn transaction_rewrites_every_urn_uuid_reference_to_the_assigned_id() {
    let app = spawn_app().await;
    let r = app
        .bundle(&hna_visit_transaction(pcsp_for_the_visit()))
        .await;
    r.assert_status(200);
    assert_eq!(r.header("content-type"), Some(FHIR_JSON));
    let body = r.json();
    assert_eq!(body["resourceType"], "Bundle");
    assert_eq!(body["type"], "transaction-response");
    let entries = r.entries();
    assert_eq!(entries.len(), 3);
    for e in &entries {
        assert!(
            e["response"]["status"]
                .as_str()
                .is_some_and(|s| s.starts_with("201")),
            "{e}"
        );
        assert_eq!(e["response"]["etag"], "W/\"1\"");
    }
    let (patient_ref, hna_ref, plan_ref) = (
        located(&entries[0]),
        located(&entries[1]),
        located(&entries[2]),
    );
    assert!(patient_ref.starts_with("Patient/"), "{patient_ref}");
    assert!(hna_ref.starts_with("QuestionnaireResponse/"), "{hna_ref}");

    let stored_hna = app.get(&hna_ref).await.json();
    assert_eq!(stored_hna["subject"]["reference"], patient_ref.as_str());
    let stored_plan = app.get(&plan_ref).await.json();
    assert_eq!(stored_plan["subject"]["reference"], patient_ref.as_str());
    assert_eq!(
        stored_plan["supportingInfo"][0]["reference"],
        hna_ref.as_str()
    );
    assert!(
        !stored_plan.to_string().contains("urn:uuid"),
        "{stored_plan}"
    );
    // The rewritten references are searchable.
    let patient_id = patient_ref.trim_start_matches("Patient/");
    assert_eq!(
        app.search_ids("CarePlan", &format!("patient={patient_id}"))
            .await,
        vec![plan_ref.trim_start_matches("CarePlan/").to_owned()]
    );
}

on_both_backends! {
    /// A transaction commits all or nothing, on each backend.
    async fn transaction_is_all_or_nothing(app: TestApp) {
        let ok = app.bundle(&hna_visit_transaction(pcsp_for_the_visit())).await;
        ok.assert_status(200);
        let plan_ref = located(&ok.entries()[2]);
        assert_eq!(app.get(&plan_ref).await.json()["subject"]["reference"], located(&ok.entries()[0]).as_str());
        let mut bad_plan = pcsp_for_the_visit();
        bad_plan.as_object_mut().expect("object").remove("intent");
        let before = app.version_count().await;
        let r = app.bundle(&hna_visit_transaction(bad_plan)).await;
        assert_outcome(&r, 400, "required", Some("Bundle.entry[2].resource.intent"));
        assert_eq!(app.version_count().await, before);
    }
}

#[tokio::test]
async fn a_transaction_whose_last_entry_is_invalid_stores_nothing() {
    let app = spawn_app().await;
    let mut plan = pcsp_for_the_visit();
    plan.as_object_mut().expect("object").remove("intent");
    let r = app.bundle(&hna_visit_transaction(plan)).await;
    let issue = assert_outcome(&r, 400, "required", Some("Bundle.entry[2].resource.intent"));
    assert!(
        issue["diagnostics"]
            .as_str()
            .is_some_and(|d| d.contains("Bundle.entry[2]")),
        "{issue}"
    );
    assert!(
        app.search_ids("Patient", &format!("identifier={NHS}|{JANE_NHS}"))
            .await
            .is_empty()
    );
    assert!(app.search_ids("QuestionnaireResponse", "").await.is_empty());
    assert!(app.search_ids("CarePlan", "").await.is_empty());
    assert_eq!(app.version_count().await, 0);
}

#[tokio::test]
async fn a_transaction_honours_prefer_return_for_every_written_entry() {
    let app = spawn_app().await;
    let tx = hna_visit_transaction(pcsp_for_the_visit());
    let minimal = app
        .send_json(Method::POST, "", &tx, &[("prefer", "return=minimal")])
        .await;
    minimal.assert_status(200);
    for e in minimal.entries() {
        assert!(e.get("resource").is_none(), "{e}");
        assert!(
            e["response"]["status"]
                .as_str()
                .is_some_and(|s| s.starts_with("201")),
            "{e}"
        );
        assert!(e["response"]["location"].is_string(), "{e}");
    }
    // A second transaction with `ifNoneExist` on the Patient matches the first one's.
    let mut again = hna_visit_transaction(pcsp_for_the_visit());
    again["entry"][0]["request"]["ifNoneExist"] = json!(format!("identifier={NHS}|{JANE_NHS}"));
    let outcome = app
        .send_json(
            Method::POST,
            "",
            &again,
            &[("prefer", "return=OperationOutcome")],
        )
        .await;
    outcome.assert_status(200);
    let entries = outcome.entries();
    assert_eq!(
        entries[0]["response"]["status"].as_str().map(|s| &s[..3]),
        Some("200")
    );
    for e in &entries {
        assert!(e.get("resource").is_none(), "{e}");
        assert_eq!(
            e["response"]["outcome"]["resourceType"], "OperationOutcome",
            "{e}"
        );
    }
    // Without a preference the resources come back, as stored.
    let full = app
        .bundle(&hna_visit_transaction(pcsp_for_the_visit()))
        .await;
    for e in full.entries() {
        assert_eq!(e["resource"]["meta"]["versionId"], "1", "{e}");
    }
}

#[tokio::test]
async fn a_transaction_with_a_wrong_nhs_number_is_422_naming_the_entry() {
    let app = spawn_app().await;
    let mut tx = hna_visit_transaction(pcsp_for_the_visit());
    tx["entry"][0]["resource"]["identifier"][0]["value"] = json!("9434765918");
    let r = app.bundle(&tx).await;
    assert_outcome(
        &r,
        422,
        "value",
        Some("Bundle.entry[0].resource.identifier[0].value"),
    );
    assert_eq!(app.version_count().await, 0);
}

#[tokio::test]
async fn a_transaction_failing_while_writing_rolls_back_the_entries_already_written() {
    let app = spawn_app().await;
    let mut existing = patient(&nhs_number(9), "Jones", "Ann");
    existing["id"] = json!("ann-jones");
    app.update(&existing).await.assert_status(201);
    let mut stale = existing.clone();
    stale["active"] = json!(false);
    let mut put = entry("PUT", "Patient/ann-jones", Some(stale));
    put["request"]["ifMatch"] = json!("W/\"9\"");
    let tx = bundle(
        "transaction",
        vec![
            entry("POST", "Patient", Some(patient(JANE_NHS, "Smith", "Jane"))),
            put,
        ],
    );
    let r = app.bundle(&tx).await;
    let issue = assert_outcome(&r, 412, "conflict", None);
    assert!(
        issue["diagnostics"]
            .as_str()
            .is_some_and(|d| d.contains("Bundle.entry[1]")),
        "{issue}"
    );
    assert!(
        app.search_ids("Patient", &format!("identifier={NHS}|{JANE_NHS}"))
            .await
            .is_empty()
    );
    assert_eq!(
        app.read("Patient", "ann-jones").await.header("etag"),
        Some("W/\"1\"")
    );
}

#[tokio::test]
async fn if_none_exist_inside_a_transaction_reuses_the_existing_resource() {
    let app = spawn_app().await;
    let existing = app.create_id(&patient(JANE_NHS, "Smith", "Jane")).await;
    let mut tx = hna_visit_transaction(pcsp_for_the_visit());
    tx["entry"][0]["request"]["ifNoneExist"] = json!(format!("identifier={NHS}|{JANE_NHS}"));
    let r = app.bundle(&tx).await;
    r.assert_status(200);
    let entries = r.entries();
    assert!(
        entries[0]["response"]["status"]
            .as_str()
            .is_some_and(|s| s.starts_with("200")),
        "{}",
        r.text
    );
    assert_eq!(located(&entries[0]), format!("Patient/{existing}"));
    let plan = app.get(&located(&entries[2])).await.json();
    assert_eq!(plan["subject"]["reference"], format!("Patient/{existing}"));
    assert_eq!(app.search_ids("Patient", "").await, vec![existing]);
}

#[tokio::test]
async fn if_none_exist_inside_a_transaction_creates_when_nothing_matches() {
    let app = spawn_app().await;
    let mut tx = hna_visit_transaction(pcsp_for_the_visit());
    tx["entry"][0]["request"]["ifNoneExist"] = json!(format!("identifier={NHS}|{JANE_NHS}"));
    let r = app.bundle(&tx).await;
    r.assert_status(200);
    assert!(
        r.entries()[0]["response"]["status"]
            .as_str()
            .is_some_and(|s| s.starts_with("201"))
    );
    assert_eq!(app.search_ids("Patient", "").await.len(), 1);
}

#[tokio::test]
async fn a_conditional_reference_in_a_transaction_resolves_to_the_one_match() {
    let app = spawn_app().await;
    let jane = app.create_id(&patient(JANE_NHS, "Smith", "Jane")).await;
    let conditional = format!("Patient?identifier={NHS}|{JANE_NHS}");
    let tx = bundle(
        "transaction",
        vec![
            entry("POST", "CarePlan", Some(care_plan(&conditional, "active"))),
            entry(
                "POST",
                "QuestionnaireResponse",
                Some(hna(&conditional, "2026-02-10")),
            ),
        ],
    );
    let r = app.bundle(&tx).await;
    r.assert_status(200);
    for e in r.entries() {
        let stored = app.get(&located(&e)).await.json();
        assert_eq!(stored["subject"]["reference"], format!("Patient/{jane}"));
    }
}

#[tokio::test]
async fn a_conditional_reference_matching_two_resources_fails_the_transaction() {
    let app = spawn_app().await;
    app.create_id(&patient_named("Smith")).await;
    app.create_id(&patient_named("Smith")).await;
    let tx = bundle(
        "transaction",
        vec![entry(
            "POST",
            "CarePlan",
            Some(care_plan("Patient?family=Smith", "active")),
        )],
    );
    assert_outcome(&app.bundle(&tx).await, 412, "multiple-matches", None);
    assert!(app.search_ids("CarePlan", "").await.is_empty());
}

#[tokio::test]
async fn a_transaction_applies_a_delete_and_a_post_together_and_answers_in_request_order() {
    let app = spawn_app().await;
    let old = app
        .create_id(&patient(&nhs_number(4), "Old", "Record"))
        .await;
    let tx = bundle(
        "transaction",
        vec![
            entry("POST", "Patient", Some(patient(JANE_NHS, "Smith", "Jane"))),
            entry("DELETE", &format!("Patient/{old}"), None),
        ],
    );
    let r = app.bundle(&tx).await;
    r.assert_status(200);
    let entries = r.entries();
    assert!(
        entries[0]["response"]["status"]
            .as_str()
            .is_some_and(|s| s.starts_with("201")),
        "{}",
        r.text
    );
    assert!(
        entries[1]["response"]["status"]
            .as_str()
            .is_some_and(|s| s.starts_with("204")),
        "{}",
        r.text
    );
    app.read("Patient", &old).await.assert_status(410);
    app.get(&located(&entries[0])).await.assert_status(200);
}

#[tokio::test]
async fn a_transaction_processes_deletes_before_a_conditional_create_of_the_same_record() {
    // FHIR R4 transaction processing: DELETEs first, then POSTs. Replacing a record by deleting it
    // and conditionally creating its successor must leave the successor live.
    let app = spawn_app().await;
    let old = app.create_id(&patient(JANE_NHS, "Old", "Record")).await;
    let criteria = format!("identifier={NHS}|{JANE_NHS}");
    let mut post = entry("POST", "Patient", Some(patient(JANE_NHS, "Smith", "Jane")));
    post["request"]["ifNoneExist"] = json!(criteria);
    let tx = bundle(
        "transaction",
        vec![post, entry("DELETE", &format!("Patient?{criteria}"), None)],
    );
    let r = app.bundle(&tx).await;
    r.assert_status(200);
    let entries = r.entries();
    assert!(
        entries[0]["response"]["status"]
            .as_str()
            .is_some_and(|s| s.starts_with("201")),
        "{}",
        r.text
    );
    assert!(entries[0]["resource"].is_object(), "{}", r.text);
    app.read("Patient", &old).await.assert_status(410);
    let live = app.search_ids("Patient", &criteria).await;
    assert_eq!(live.len(), 1, "the new record is live");
    assert_ne!(live[0], old);
}

#[tokio::test]
async fn a_transaction_can_read_with_get_entries() {
    let app = spawn_app().await;
    let jane = app.create_id(&patient(JANE_NHS, "Smith", "Jane")).await;
    let tx = bundle(
        "transaction",
        vec![
            entry("GET", &format!("Patient/{jane}"), None),
            entry("GET", "Patient?family=Smith", None),
        ],
    );
    let r = app.bundle(&tx).await;
    r.assert_status(200);
    let entries = r.entries();
    assert_eq!(entries[0]["resource"]["id"], jane.as_str());
    assert_eq!(entries[1]["resource"]["type"], "searchset");
    assert_eq!(entries[1]["resource"]["total"], 1);
}

#[tokio::test]
async fn batch_runs_each_entry_on_its_own_with_its_own_status_and_outcome() {
    let app = spawn_app().await;
    let mut unknown_element = patient_named("Broken");
    unknown_element["nhsNumber"] = json!("9434765919");
    let b = bundle(
        "batch",
        vec![
            entry("POST", "Patient", Some(patient(JANE_NHS, "Smith", "Jane"))),
            entry("POST", "Patient", Some(unknown_element)),
            entry(
                "POST",
                "Patient",
                Some(patient("9434765918", "Wrong", "Digit")),
            ),
            entry("GET", "Patient/nobody", None),
        ],
    );
    let r = app.bundle(&b).await;
    r.assert_status(200);
    let body = r.json();
    assert_eq!(body["type"], "batch-response");
    let entries = r.entries();
    assert_eq!(entries.len(), 4);
    let status = |i: usize| {
        entries[i]["response"]["status"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    assert!(status(0).starts_with("201"), "{}", r.text);
    assert!(status(1).starts_with("400"), "{}", r.text);
    assert!(status(2).starts_with("422"), "{}", r.text);
    assert!(status(3).starts_with("404"), "{}", r.text);
    assert_eq!(
        entries[1]["response"]["outcome"]["resourceType"],
        "OperationOutcome"
    );
    assert_eq!(
        entries[1]["response"]["outcome"]["issue"][0]["expression"][0],
        "Patient.nhsNumber"
    );
    assert_eq!(
        entries[2]["response"]["outcome"]["issue"][0]["expression"][0],
        "Patient.identifier[0].value"
    );
    assert_eq!(
        app.search_ids("Patient", "").await.len(),
        1,
        "the good entry was stored"
    );
    assert_eq!(
        app.search_ids("Patient", "family=Smith").await,
        vec![
            located(&entries[0])
                .trim_start_matches("Patient/")
                .to_owned()
        ]
    );
}

#[tokio::test]
async fn a_bundle_that_is_neither_batch_nor_transaction_is_400() {
    let app = spawn_app().await;
    let b = bundle(
        "collection",
        vec![entry("POST", "Patient", Some(patient_named("Smith")))],
    );
    assert_outcome(&app.bundle(&b).await, 400, "invalid", None);
    let not_a_bundle = patient_named("Smith");
    assert_outcome(&app.bundle(&not_a_bundle).await, 400, "invalid", None);
    assert_eq!(app.version_count().await, 0);
}

#[tokio::test]
async fn a_transaction_entry_without_a_request_is_400_naming_it() {
    let app = spawn_app().await;
    let tx = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        entry("POST", "Patient", Some(patient_named("Smith"))),
        {"resource": patient_named("Jones")}
    ]});
    let issue = assert_outcome(&app.bundle(&tx).await, 400, "invalid", None);
    assert!(
        issue["diagnostics"]
            .as_str()
            .is_some_and(|d| d.contains("Bundle.entry[1]")),
        "{issue}"
    );
    assert_eq!(app.version_count().await, 0);
}

#[tokio::test]
async fn a_urn_uuid_reference_to_no_entry_fails_the_transaction() {
    let app = spawn_app().await;
    let tx = bundle(
        "transaction",
        vec![entry(
            "POST",
            "CarePlan",
            Some(care_plan(
                "urn:uuid:9d3c4b2a-1e0f-4a5b-8c7d-6e5f4a3b2c1d",
                "active",
            )),
        )],
    );
    let issue = assert_outcome(&app.bundle(&tx).await, 400, "invalid", None);
    assert!(
        issue["diagnostics"]
            .as_str()
            .is_some_and(|d| d.contains("Bundle.entry[0]")),
        "{issue}"
    );
    assert_eq!(app.version_count().await, 0);
}

#[tokio::test]
async fn a_transaction_touching_the_same_resource_twice_fails_and_changes_nothing() {
    let app = spawn_app().await;
    let mut p = patient_named("Smith");
    p["id"] = json!("twice");
    app.update(&p).await.assert_status(201);
    let before = app.version_count().await;
    let mut changed = p.clone();
    changed["active"] = json!(true);
    let tx = bundle(
        "transaction",
        vec![
            entry("PUT", "Patient/twice", Some(changed)),
            entry("DELETE", "Patient/twice", None),
        ],
    );
    let r = app.bundle(&tx).await;
    assert_outcome(&r, 400, "invalid", None);
    assert_eq!(app.version_count().await, before);
    assert_eq!(
        app.read("Patient", "twice").await.header("etag"),
        Some("W/\"1\"")
    );
}

#[tokio::test]
async fn a_transaction_with_a_duplicate_full_url_fails_and_stores_nothing() {
    let app = spawn_app().await;
    let mut first = entry("POST", "Patient", Some(patient(JANE_NHS, "Smith", "Jane")));
    first["fullUrl"] = json!(PATIENT_URN);
    let mut second = entry(
        "POST",
        "Patient",
        Some(patient(&nhs_number(8), "Jones", "Ann")),
    );
    second["fullUrl"] = json!(PATIENT_URN);
    let tx = bundle(
        "transaction",
        vec![
            first,
            second,
            entry("POST", "CarePlan", Some(care_plan(PATIENT_URN, "active"))),
        ],
    );
    let r = app.bundle(&tx).await;
    assert_outcome(&r, 400, "invalid", None);
    assert_eq!(app.version_count().await, 0);
}
