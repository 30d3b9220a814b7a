//! What a search returns: `_sort`, `_summary`, `_elements`, `_include`, `_revinclude`, strict and
//! lenient handling of unknown parameters, and `POST [type]/_search`.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::helpers::*;
use crate::resources::*;

#[tokio::test]
async fn sort_by_last_updated_ascending_and_descending() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for family in ["First", "Second", "Third"] {
        ids.push(app.create_id(&patient_named(family)).await);
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    // Updating the first makes it the most recently changed.
    let mut first = app.read("Patient", &ids[0]).await.json();
    first["active"] = json!(true);
    app.update(&first).await.assert_status(200);
    let ascending = app
        .search("Patient", "_sort=_lastUpdated")
        .await
        .match_ids();
    assert_eq!(ascending, [ids[1].clone(), ids[2].clone(), ids[0].clone()]);
    let descending = app
        .search("Patient", "_sort=-_lastUpdated")
        .await
        .match_ids();
    assert_eq!(descending, [ids[0].clone(), ids[2].clone(), ids[1].clone()]);
}

#[tokio::test]
async fn sort_by_a_date_parameter_and_by_an_unknown_one() {
    let app = spawn_app().await;
    let mar = app.create_id(&hna("Patient/p1", "2026-03-01")).await;
    let jan = app.create_id(&hna("Patient/p1", "2026-01-01")).await;
    let feb = app.create_id(&hna("Patient/p1", "2026-02-01")).await;
    assert_eq!(
        app.search("QuestionnaireResponse", "_sort=authored")
            .await
            .match_ids(),
        [jan.clone(), feb.clone(), mar.clone()]
    );
    assert_eq!(
        app.search("QuestionnaireResponse", "_sort=-authored")
            .await
            .match_ids(),
        [mar.clone(), feb.clone(), jan.clone()]
    );
    assert_outcome(
        &app.search("QuestionnaireResponse", "_sort=colour").await,
        400,
        "invalid",
        None,
    );
}

on_both_backends! {
    /// `_summary=count`, `_sort` and `_include` on each backend.
    async fn search_result_shaping_works(app: TestApp) {
        let jane = app.create_id(&patient(JANE_NHS, "Smith", "Jane")).await;
        let a = app.create_id(&care_plan(&format!("Patient/{jane}"), "active")).await;
        tokio::time::sleep(Duration::from_millis(3)).await;
        let b = app.create_id(&care_plan(&format!("Patient/{jane}"), "active")).await;
        let count = app.search("CarePlan", "status=active&_summary=count").await;
        assert_eq!(count.total(), Some(2));
        assert!(count.entries().is_empty());
        assert_eq!(app.search("CarePlan", "_sort=-_lastUpdated").await.match_ids(), [b.clone(), a.clone()]);
        let inc = app.search("CarePlan", "_include=CarePlan:subject").await;
        assert_eq!(inc.included(), [format!("Patient/{jane}")]);
    }
}

#[tokio::test]
async fn summary_count_returns_the_total_without_entries() {
    let app = spawn_app().await;
    for _ in 0..3 {
        app.create_id(&care_plan("Patient/p1", "active")).await;
    }
    app.create_id(&care_plan("Patient/p1", "completed")).await;
    let r = app.search("CarePlan", "status=active&_summary=count").await;
    r.assert_status(200);
    let body = r.json();
    assert_eq!(body["type"], "searchset");
    assert_eq!(body["total"], 3);
    assert!(body.get("entry").is_none(), "{}", r.text);
}

#[tokio::test]
async fn elements_returns_only_those_elements_and_marks_them_subsetted() {
    let app = spawn_app().await;
    let id = app.create_id(&patient(JANE_NHS, "Smith", "Jane")).await;
    let r = app
        .search("Patient", &format!("_id={id}&_elements=identifier,gender"))
        .await;
    r.assert_status(200);
    let resource = &r.entries()[0]["resource"];
    let mut keys: Vec<&str> = resource
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["gender", "id", "identifier", "meta", "resourceType"]);
    let tags = resource["meta"]["tag"].as_array().expect("meta.tag");
    assert!(
        tags.iter().any(|t| t["code"] == "SUBSETTED"
            && t["system"] == "http://terminology.hl7.org/CodeSystem/v3-ObservationValue"),
        "{resource}"
    );
    // The stored resource is untouched.
    let full = app.read("Patient", &id).await.json();
    assert!(full.get("name").is_some());
    assert!(full["meta"].get("tag").is_none());
}

#[tokio::test]
async fn include_adds_each_referenced_patient_once() {
    let app = spawn_app().await;
    let jane = app.create_id(&patient(JANE_NHS, "Smith", "Jane")).await;
    let ann = app
        .create_id(&patient(&nhs_number(5), "Jones", "Ann"))
        .await;
    app.create_id(&patient(&nhs_number(6), "Brown", "Unrelated"))
        .await;
    for subject in [&jane, &jane, &ann] {
        app.create_id(&care_plan(&format!("Patient/{subject}"), "active"))
            .await;
    }
    let r = app.search("CarePlan", "_include=CarePlan:subject").await;
    r.assert_status(200);
    assert_eq!(r.match_ids().len(), 3);
    assert_eq!(
        r.included(),
        sorted(&[format!("Patient/{jane}"), format!("Patient/{ann}")])
    );
    assert_eq!(r.total(), Some(3), "total counts matches only");
    let only_jane = app
        .search(
            "CarePlan",
            &format!("subject=Patient/{ann}&_include=CarePlan:subject"),
        )
        .await;
    assert_eq!(only_jane.included(), [format!("Patient/{ann}")]);
}

#[tokio::test]
async fn revinclude_adds_provenance_that_targets_the_results() {
    let app = spawn_app().await;
    let q1 = app.create_id(&hna("Patient/p1", "2026-02-10")).await;
    let q2 = app.create_id(&hna("Patient/p2", "2026-02-11")).await;
    let prov1 = app
        .create_id(&provenance(&format!("QuestionnaireResponse/{q1}")))
        .await;
    app.create_id(&provenance(&format!("QuestionnaireResponse/{q2}")))
        .await;
    app.create_id(&provenance("CarePlan/unrelated")).await;
    let r = app
        .search(
            "QuestionnaireResponse",
            &format!("_id={q1}&_revinclude=Provenance:target"),
        )
        .await;
    r.assert_status(200);
    assert_eq!(r.match_ids(), [q1]);
    assert_eq!(r.included(), [format!("Provenance/{prov1}")]);
}

#[tokio::test]
async fn an_unknown_parameter_is_400_naming_it() {
    let app = spawn_app().await;
    let r = app.search("Patient", "nhs-number=9434765919").await;
    let issue = assert_outcome(&r, 400, "invalid", None);
    assert!(
        issue["diagnostics"]
            .as_str()
            .is_some_and(|d| d.contains("nhs-number")),
        "{issue}"
    );
    assert_outcome(
        &app.search("Patient", "family:sounds-like=smith").await,
        400,
        "not-supported",
        None,
    );
}

#[tokio::test]
async fn prefer_handling_lenient_ignores_an_unknown_parameter_and_leaves_it_out_of_the_self_link() {
    let app = spawn_app().await;
    let smith = app.create_id(&patient_named("Smith")).await;
    app.create_id(&patient_named("Jones")).await;
    let r = app
        .send(
            app.req(Method::GET, "Patient?family=Smith&nhs-number=9434765919")
                .header("Prefer", "handling=lenient"),
        )
        .await;
    r.assert_status(200);
    assert_eq!(r.match_ids(), [smith]);
    let self_link = r.link("self").expect("self link");
    assert!(self_link.contains("family=Smith"), "{self_link}");
    assert!(!self_link.contains("nhs-number"), "{self_link}");
    let strict = app
        .send(
            app.req(Method::GET, "Patient?nhs-number=1")
                .header("Prefer", "handling=strict"),
        )
        .await;
    strict.assert_status(400);
}

#[tokio::test]
async fn post_search_with_a_form_body_matches_the_get_search() {
    let app = spawn_app().await;
    let jane = app.create_id(&patient(JANE_NHS, "Smith", "Jane")).await;
    app.create_id(&patient(&nhs_number(2), "Jones", "Ann"))
        .await;
    let form = form_urlencoded::Serializer::new(String::new())
        .append_pair("identifier", &format!("{NHS}|{JANE_NHS}"))
        .append_pair("family", "smith")
        .finish();
    let r = app
        .send(
            app.req(Method::POST, "Patient/_search")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form),
        )
        .await;
    r.assert_status(200);
    assert_eq!(r.json()["type"], "searchset");
    assert_eq!(r.match_ids(), vec![jane.clone()]);
    // Query string and body combine.
    let r = app
        .send(
            app.req(Method::POST, "Patient/_search?family=smith")
                .header("content-type", "application/x-www-form-urlencoded")
                .body("gender=female"),
        )
        .await;
    assert_eq!(r.match_ids(), [jane]);
    // The body must be a form.
    let r = app
        .send(
            app.req(Method::POST, "Patient/_search")
                .header("content-type", "application/fhir+json")
                .body("{}"),
        )
        .await;
    assert_outcome(&r, 415, "not-supported", None);
}

#[tokio::test]
async fn count_limits_the_page_and_zero_gives_only_the_total() {
    let app = spawn_app().await;
    for _ in 0..3 {
        app.create_id(&patient_named("Smith")).await;
    }
    let r = app.search("Patient", "_count=2").await;
    assert_eq!(r.match_ids().len(), 2);
    assert_eq!(r.total(), Some(3));
    let zero = app.search("Patient", "_count=0").await;
    zero.assert_status(200);
    assert_eq!(zero.total(), Some(3));
    assert!(zero.match_ids().is_empty());
    assert_outcome(
        &app.search("Patient", "_count=-1").await,
        400,
        "invalid",
        None,
    );
}

#[tokio::test]
async fn elements_keeps_mandatory_and_modifier_elements() {
    let app = spawn_app().await;
    let patient = app.create_id(&patient(JANE_NHS, "Smith", "Jane")).await;
    let id = app
        .create_id(&care_plan(&format!("Patient/{patient}"), "active"))
        .await;
    let r = app
        .search("CarePlan", &format!("_id={id}&_elements=title"))
        .await;
    r.assert_status(200);
    let resource = &r.entries()[0]["resource"];
    let mut keys: Vec<&str> = resource
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "id",
            "intent",
            "meta",
            "resourceType",
            "status",
            "subject",
            "title"
        ],
        "CarePlan.status, intent and subject are mandatory (status a modifier)"
    );
}
