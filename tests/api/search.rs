//! Search parameters by type: `_id`, `_lastUpdated`, token, string, date, reference, `:identifier`,
//! chains, uri and OR lists. Every test asserts the exact ids returned.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::*;
use crate::resources::*;

on_both_backends! {
    /// The searches the clients rely on most, on each backend.
    async fn core_searches_return_exactly_the_matches(app: TestApp) {
        let jane = app.create_id(&patient(JANE_NHS, "Smith", "Jane")).await;
        let other = app.create_id(&patient(&nhs_number(7), "Jones", "Ann")).await;
        let cp = app.create_id(&care_plan(&format!("Patient/{jane}"), "active")).await;
        app.create_id(&care_plan(&format!("Patient/{jane}"), "completed")).await;
        app.create_id(&care_plan(&format!("Patient/{other}"), "active")).await;
        assert_eq!(app.search_ids("Patient", &format!("identifier={NHS}|{JANE_NHS}")).await, vec![jane.clone()]);
        assert_eq!(app.search_ids("Patient", "family=smi").await, vec![jane.clone()]);
        assert_eq!(
            app.search_ids("CarePlan", &format!("patient:identifier={NHS}|{JANE_NHS}&status=active")).await,
            vec![cp.clone()]
        );
        assert_eq!(app.search_ids("CarePlan", &format!("subject=Patient/{jane}&status=active")).await, vec![cp]);
        assert_eq!(app.search("CarePlan", "").await.total(), Some(3));
    }
}

#[tokio::test]
async fn search_by_id_returns_exactly_that_resource() {
    let app = spawn_app().await;
    let a = app.create_id(&patient_named("Smith")).await;
    let b = app.create_id(&patient_named("Smith")).await;
    let c = app.create_id(&patient_named("Smith")).await;
    assert_eq!(
        app.search_ids("Patient", &format!("_id={a}")).await,
        vec![a.clone()]
    );
    assert_eq!(
        app.search_ids("Patient", &format!("_id={a},{c}")).await,
        sorted(&[&a, &c])
    );
    assert!(app.search_ids("Patient", "_id=unknown").await.is_empty());
    assert_eq!(
        app.search_ids("Patient", &format!("_id={b}&family=Smith"))
            .await,
        vec![b]
    );
}

#[tokio::test]
async fn search_by_last_updated_honours_each_prefix() {
    let app = spawn_app().await;
    let mut made: Vec<Value> = Vec::new();
    for family in ["Early", "Middle", "Late"] {
        made.push(app.created(&patient_named(family)).await);
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    let id = |n: usize| made[n]["id"].as_str().unwrap_or_default().to_owned();
    let (a, b, c) = (id(0), id(1), id(2));
    let t = made[1]["meta"]["lastUpdated"]
        .as_str()
        .expect("lastUpdated")
        .to_owned();
    let cases: [(&str, Vec<&String>); 8] = [
        ("", vec![&b]),
        ("eq", vec![&b]),
        ("ne", vec![&a, &c]),
        ("gt", vec![&c]),
        ("lt", vec![&a]),
        ("ge", vec![&b, &c]),
        ("le", vec![&a, &b]),
        ("sa", vec![&c]),
    ];
    for (prefix, expected) in cases {
        assert_eq!(
            app.search_ids("Patient", &format!("_lastUpdated={prefix}{t}"))
                .await,
            sorted(&expected),
            "_lastUpdated={prefix}{t}"
        );
    }
    assert_eq!(
        app.search_ids("Patient", &format!("_lastUpdated=eb{t}"))
            .await,
        vec![a.clone()]
    );
    assert_eq!(
        app.search_ids("Patient", &format!("_lastUpdated=ap{t}"))
            .await,
        vec![b.clone()]
    );
    let day = &t[..10];
    assert_eq!(
        app.search_ids("Patient", &format!("_lastUpdated={day}"))
            .await
            .len(),
        3
    );
    assert!(
        app.search_ids("Patient", "_lastUpdated=lt2000-01-01")
            .await
            .is_empty()
    );
    // Two bounds make a range.
    assert_eq!(
        app.search_ids("Patient", &format!("_lastUpdated=ge{t}&_lastUpdated=le{t}"))
            .await,
        vec![b]
    );
}

#[tokio::test]
async fn token_search_matches_each_system_and_code_form() {
    let app = spawn_app().await;
    let other_system = "https://fhir.example-trust.nhs.uk/Id/mrn";
    let mrn = app
        .create_id(&patient_with_identifiers(&[(MRN, "123456")]))
        .await;
    let other = app
        .create_id(&patient_with_identifiers(&[(other_system, "123456")]))
        .await;
    let bare = app
        .create_id(&patient_with_identifiers(&[("", "123456")]))
        .await;
    let unrelated = app
        .create_id(&patient_with_identifiers(&[(MRN, "999999")]))
        .await;
    assert_eq!(
        app.search_ids("Patient", &format!("identifier={MRN}|123456"))
            .await,
        vec![mrn.clone()]
    );
    assert_eq!(
        app.search_ids("Patient", "identifier=|123456").await,
        vec![bare.clone()]
    );
    assert_eq!(
        app.search_ids("Patient", &format!("identifier={MRN}|"))
            .await,
        sorted(&[&mrn, &unrelated])
    );
    assert_eq!(
        app.search_ids("Patient", "identifier=123456").await,
        sorted(&[&mrn, &other, &bare])
    );
    assert!(
        app.search_ids("Patient", "identifier=12345")
            .await
            .is_empty(),
        "tokens match whole codes"
    );
}

#[tokio::test]
async fn token_search_on_codes_and_booleans() {
    let app = spawn_app().await;
    let mut female = patient_named("Smith");
    female["gender"] = json!("female");
    female["active"] = json!(true);
    let f = app.create_id(&female).await;
    let mut male = patient_named("Smith");
    male["gender"] = json!("male");
    male["active"] = json!(false);
    let m = app.create_id(&male).await;
    assert_eq!(
        app.search_ids("Patient", "gender=female").await,
        vec![f.clone()]
    );
    assert_eq!(
        app.search_ids("Patient", "active=false").await,
        vec![m.clone()]
    );
    assert_eq!(
        app.search_ids("Patient", "gender=female,male").await,
        sorted(&[&f, &m])
    );
}

#[tokio::test]
async fn token_not_modifier_excludes_the_code_and_keeps_resources_without_one() {
    let app = spawn_app().await;
    let mut female = patient_named("Smith");
    female["gender"] = json!("female");
    app.create_id(&female).await;
    let mut male = patient_named("Smith");
    male["gender"] = json!("male");
    let m = app.create_id(&male).await;
    let unknown = app.create_id(&patient_named("Smith")).await;
    assert_eq!(
        app.search_ids("Patient", "gender:not=female").await,
        sorted(&[&m, &unknown])
    );
    let plan_active = app.create_id(&care_plan("Patient/a", "active")).await;
    app.create_id(&care_plan("Patient/a", "revoked")).await;
    assert_eq!(
        app.search_ids("CarePlan", "status:not=revoked").await,
        vec![plan_active]
    );
}

#[tokio::test]
async fn string_search_is_a_case_insensitive_prefix_by_default() {
    let app = spawn_app().await;
    let smith = app.create_id(&patient_named("Smith")).await;
    let smithson = app.create_id(&patient_named("Smithson")).await;
    let blacksmith = app.create_id(&patient_named("Blacksmith")).await;
    assert_eq!(
        app.search_ids("Patient", "family=smith").await,
        sorted(&[&smith, &smithson])
    );
    assert_eq!(
        app.search_ids("Patient", "family=SMITH").await,
        sorted(&[&smith, &smithson])
    );
    assert_eq!(
        app.search_ids("Patient", "family:exact=Smith").await,
        vec![smith.clone()]
    );
    assert!(
        app.search_ids("Patient", "family:exact=smith")
            .await
            .is_empty(),
        ":exact is case-sensitive"
    );
    assert_eq!(
        app.search_ids("Patient", "family:contains=SMITH").await,
        sorted(&[&smith, &smithson, &blacksmith])
    );
    assert_eq!(
        app.search_ids("Patient", "family:contains=ckSm").await,
        vec![blacksmith]
    );
    assert_eq!(
        app.search_ids("Patient", "name=alex").await.len(),
        3,
        "name covers given names"
    );
}

#[tokio::test]
async fn string_search_lowercases_non_ascii_letters_and_keeps_punctuation() {
    let app = spawn_app().await;
    let o = app.create_id(&patient_named("O'Brien")).await;
    let z = app.create_id(&patient_named("Żółć")).await;
    assert_eq!(app.search_ids("Patient", "family=o'b").await, vec![o]);
    assert_eq!(
        app.search_ids("Patient", "family=%C5%BC%C3%B3").await,
        vec![z],
        "żó matches Żółć"
    );
}

#[tokio::test]
async fn string_search_ignores_accents_as_the_spec_requires() {
    // R4 3.1.1.5.13: string matches are "normalized by case and accent"; Siân and Seán are common
    // Welsh and Irish names that staff type without the accent.
    let app = spawn_app().await;
    let mut sian = patient_named("Jones");
    sian["name"][0]["given"] = json!(["Siân"]);
    let id = app.create_id(&sian).await;
    assert_eq!(
        app.search_ids("Patient", "given=sian").await,
        vec![id.clone()]
    );
    assert_eq!(app.search_ids("Patient", "name=sian").await, vec![id]);
}

#[tokio::test]
async fn date_search_honours_prefixes_on_authored() {
    let app = spawn_app().await;
    let dec = app
        .create_id(&hna("Patient/p1", "2025-12-31T23:00:00Z"))
        .await;
    let jan = app
        .create_id(&hna("Patient/p1", "2026-01-01T09:00:00Z"))
        .await;
    let mar = app
        .create_id(&hna("Patient/p1", "2026-03-15T10:30:00Z"))
        .await;
    let cases: [(&str, Vec<&String>); 10] = [
        ("ge2026-01-01", vec![&jan, &mar]),
        ("gt2026-01-01", vec![&mar]),
        ("lt2026-01-01", vec![&dec]),
        ("le2026-01-01", vec![&dec, &jan]),
        ("2026-01-01", vec![&jan]),
        ("eq2026-03", vec![&mar]),
        ("ne2026-01-01", vec![&dec, &mar]),
        ("2026", vec![&jan, &mar]),
        ("sa2026-01-01", vec![&mar]),
        ("eb2026-01-01", vec![&dec]),
    ];
    for (value, expected) in cases {
        assert_eq!(
            app.search_ids("QuestionnaireResponse", &format!("authored={value}"))
                .await,
            sorted(&expected),
            "authored={value}"
        );
    }
    // A time zone in the value is honoured: 00:30+01:00 is 23:30 UTC on 31 December.
    assert_eq!(
        app.search_ids(
            "QuestionnaireResponse",
            "authored=lt2026-01-01T00:30:00%2B01:00"
        )
        .await,
        vec![dec]
    );
}

#[tokio::test]
async fn date_search_with_a_malformed_value_is_400() {
    let app = spawn_app().await;
    let r = app
        .search("QuestionnaireResponse", "authored=ge2026-13-01")
        .await;
    let issue = assert_outcome(&r, 400, "invalid", None);
    assert!(
        issue["diagnostics"]
            .as_str()
            .is_some_and(|d| d.contains("authored")),
        "{issue}"
    );
}

#[tokio::test]
async fn reference_search_takes_type_and_id_or_a_bare_id() {
    let app = spawn_app().await;
    let a = app.create_id(&care_plan("Patient/pat-a", "active")).await;
    let b = app.create_id(&care_plan("Patient/pat-b", "active")).await;
    assert_eq!(
        app.search_ids("CarePlan", "subject=Patient/pat-a").await,
        vec![a.clone()]
    );
    assert_eq!(
        app.search_ids("CarePlan", "subject=pat-a").await,
        vec![a.clone()]
    );
    assert_eq!(
        app.search_ids("CarePlan", "patient=pat-b").await,
        vec![b.clone()]
    );
    assert_eq!(
        app.search_ids("CarePlan", "patient=Patient/pat-b").await,
        vec![b.clone()]
    );
    assert_eq!(
        app.search_ids("CarePlan", "subject:Patient=pat-a").await,
        vec![a.clone()]
    );
    assert_eq!(
        app.search_ids("CarePlan", "subject=pat-a,pat-b").await,
        sorted(&[&a, &b])
    );
    assert!(
        app.search_ids("CarePlan", "subject=Practitioner/pat-a")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn patient_is_subject_narrowed_to_patients_in_searches_and_includes() {
    let app = spawn_app().await;
    let mut person = patient(JANE_NHS, "Smith", "Jane");
    person["id"] = json!("same-id");
    app.update(&person).await.assert_status(201);
    let org = json!({"resourceType": "Organization", "id": "same-id", "name": "Housing"});
    app.update(&org).await.assert_status(201);
    let goal = |subject: &str| {
        json!({"resourceType": "Goal", "lifecycleStatus": "active",
               "description": {"text": "Walk to the shops"}, "subject": {"reference": subject}})
    };
    let for_person = app.create_id(&goal("Patient/same-id")).await;
    let for_org = app.create_id(&goal("Organization/same-id")).await;
    assert_eq!(
        app.search_ids("Goal", "patient=same-id").await,
        vec![for_person.clone()]
    );
    assert_eq!(
        app.search_ids("Goal", "subject=same-id").await,
        sorted(&[&for_person, &for_org])
    );
    assert!(
        app.search_ids("Goal", "patient=Organization/same-id")
            .await
            .is_empty()
    );
    let r = app.search("Goal", "_include=Goal:patient").await;
    r.assert_status(200);
    assert_eq!(r.included(), vec!["Patient/same-id".to_owned()]);
    let r = app
        .search("Patient", "_id=same-id&_revinclude=Goal:patient")
        .await;
    r.assert_status(200);
    assert_eq!(r.included(), vec![format!("Goal/{for_person}")]);
    let r = app
        .search(
            "Goal",
            "patient.identifier=https://fhir.nhs.uk/Id/nhs-number|9434765919",
        )
        .await;
    r.assert_status(200);
    assert_eq!(r.match_ids(), vec![for_person]);
}

#[tokio::test]
async fn reference_search_matches_absolute_references_to_this_server() {
    let app = spawn_app().await;
    let absolute = app
        .create_id(&care_plan(&format!("{}/Patient/pat-a", app.base), "active"))
        .await;
    let relative = app.create_id(&care_plan("Patient/pat-a", "active")).await;
    assert_eq!(
        app.search_ids("CarePlan", "subject=Patient/pat-a").await,
        sorted(&[&absolute, &relative])
    );
    assert_eq!(
        app.search_ids("CarePlan", "patient=pat-a").await,
        sorted(&[&absolute, &relative])
    );
}

#[tokio::test]
async fn careplan_search_by_patient_identifier_and_status() {
    let app = spawn_app().await;
    let jane = app.create_id(&patient(JANE_NHS, "Smith", "Jane")).await;
    let other = app
        .create_id(&patient(&nhs_number(3), "Jones", "Ann"))
        .await;
    let active = app
        .create_id(&care_plan(&format!("Patient/{jane}"), "active"))
        .await;
    app.create_id(&care_plan(&format!("Patient/{jane}"), "completed"))
        .await;
    app.create_id(&care_plan(&format!("Patient/{other}"), "active"))
        .await;
    // A reference by identifier only (no literal reference), as some GP systems send.
    let mut by_identifier = care_plan("Patient/x", "active");
    by_identifier["subject"] = json!({"identifier": {"system": NHS, "value": JANE_NHS}});
    let logical = app.create_id(&by_identifier).await;
    let query = format!("patient:identifier={NHS}|{JANE_NHS}&status=active");
    assert_eq!(
        app.search_ids("CarePlan", &query).await,
        sorted(&[&active, &logical])
    );
}

#[tokio::test]
async fn chained_search_finds_plans_through_the_patients_identifier() {
    let app = spawn_app().await;
    let jane = app.create_id(&patient(JANE_NHS, "Smith", "Jane")).await;
    let other = app
        .create_id(&patient(&nhs_number(3), "Jones", "Ann"))
        .await;
    let active = app
        .create_id(&care_plan(&format!("Patient/{jane}"), "active"))
        .await;
    let done = app
        .create_id(&care_plan(&format!("Patient/{jane}"), "completed"))
        .await;
    app.create_id(&care_plan(&format!("Patient/{other}"), "active"))
        .await;
    assert_eq!(
        app.search_ids("CarePlan", &format!("patient.identifier={NHS}|{JANE_NHS}"))
            .await,
        sorted(&[&active, &done])
    );
    assert_eq!(
        app.search_ids(
            "CarePlan",
            &format!("subject:Patient.identifier={NHS}|{JANE_NHS}&status=active")
        )
        .await,
        vec![active.clone()]
    );
    assert_eq!(
        app.search_ids("CarePlan", "patient.family=smi").await,
        sorted(&[&active, &done])
    );
    // A deleted patient no longer matches a chain.
    app.delete("Patient", &jane).await.assert_status(204);
    assert!(
        app.search_ids("CarePlan", &format!("patient.identifier={NHS}|{JANE_NHS}"))
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn chaining_through_a_reference_with_several_target_types_needs_a_type() {
    let app = spawn_app().await;
    let r = app.search("CarePlan", "subject.identifier=x").await;
    assert_outcome(&r, 400, "invalid", None);
}

#[tokio::test]
async fn service_request_search_by_performer_and_status() {
    let app = spawn_app().await;
    let wanted = app
        .create_id(&referral(
            "Patient/p1",
            "Organization/link-workers",
            "active",
        ))
        .await;
    app.create_id(&referral(
        "Patient/p2",
        "Organization/link-workers",
        "completed",
    ))
    .await;
    app.create_id(&referral("Patient/p3", "Organization/housing", "active"))
        .await;
    assert_eq!(
        app.search_ids(
            "ServiceRequest",
            "performer=Organization/link-workers&status=active"
        )
        .await,
        vec![wanted]
    );
    assert_eq!(
        app.search_ids(
            "ServiceRequest",
            "performer=Organization/link-workers,Organization/housing&status=active"
        )
        .await
        .len(),
        2
    );
}

#[tokio::test]
async fn comma_separated_values_are_alternatives_and_repeated_parameters_must_all_hold() {
    let app = spawn_app().await;
    let active = app.create_id(&care_plan("Patient/p1", "active")).await;
    let completed = app.create_id(&care_plan("Patient/p1", "completed")).await;
    app.create_id(&care_plan("Patient/p1", "draft")).await;
    assert_eq!(
        app.search_ids("CarePlan", "status=active,completed").await,
        sorted(&[&active, &completed])
    );
    assert!(
        app.search_ids("CarePlan", "status=active&status=completed")
            .await
            .is_empty()
    );
    assert_eq!(
        app.search_ids("CarePlan", "status=active,completed&status=completed")
            .await,
        vec![completed]
    );
}

#[tokio::test]
async fn uri_search_matches_the_whole_questionnaire_url() {
    let app = spawn_app().await;
    let id = app.create_id(&hna("Patient/p1", "2026-02-10")).await;
    let url = "https://fhir.carebridge.uk/Questionnaire/hna";
    assert_eq!(
        app.search_ids("QuestionnaireResponse", &format!("questionnaire={url}"))
            .await,
        vec![id]
    );
    assert!(
        app.search_ids(
            "QuestionnaireResponse",
            "questionnaire=https://fhir.carebridge.uk"
        )
        .await
        .is_empty()
    );
}

#[tokio::test]
async fn searchset_bundles_carry_total_self_link_full_urls_and_match_mode() {
    let app = spawn_app().await;
    let id = app.create_id(&patient_named("Smith")).await;
    let r = app.search("Patient", "family=Smith").await;
    r.assert_status(200);
    assert_eq!(r.header("content-type"), Some(FHIR_JSON));
    let body = r.json();
    assert_eq!(body["resourceType"], "Bundle");
    assert_eq!(body["type"], "searchset");
    assert_eq!(body["total"], 1);
    let self_link = r.link("self").expect("self link");
    assert!(
        self_link.starts_with(&format!("{}/Patient?", app.base)),
        "{self_link}"
    );
    assert!(self_link.contains("family=Smith"), "{self_link}");
    assert_eq!(
        body["entry"][0]["fullUrl"],
        format!("{}/Patient/{id}", app.base)
    );
    assert_eq!(body["entry"][0]["search"]["mode"], "match");
    // The self link runs the same search.
    assert_eq!(app.get(&self_link).await.match_ids(), vec![id]);
}

#[tokio::test]
async fn a_search_with_no_matches_is_an_empty_searchset() {
    let app = spawn_app().await;
    let r = app.search("Patient", "family=Nobody").await;
    r.assert_status(200);
    assert_eq!(r.total(), Some(0));
    assert!(r.json().get("entry").is_none(), "{}", r.text);
}

#[tokio::test]
async fn search_of_an_unknown_type_is_404() {
    let app = spawn_app().await;
    assert_outcome(
        &app.search("Observation", "code=1234").await,
        404,
        "not-found",
        None,
    );
}
