//! `QuestionnaireResponse/$extract`: an HNA becomes a draft PCSP CarePlan, returned or stored once.
//! The HNAs here follow the contract in `src/hna/mod.rs` exactly, so they pass Questionnaire
//! validation whether or not it is in place.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::resources::{nhs_number, organization, patient};

const CANONICAL: &str = "https://fhir.carebridge.uk";

/// A person and the organisation recording their HNA: `(Patient/id, Organization/id)`.
async fn person_and_org(app: &TestApp, seed: u32) -> (String, String) {
    let p = app
        .create_id(&patient(&nhs_number(seed), "Okafor", "Ada"))
        .await;
    let o = app
        .create_id(&organization("RR8", "Leeds Teaching Hospitals"))
        .await;
    (format!("Patient/{p}"), format!("Organization/{o}"))
}

/// An HNA for `subject` by `author` scoring `scores` (`(domain, concern, severity)`), grouped by
/// domain in questionnaire order.
fn hna(subject: &str, author: &str, scores: &[(&str, &str, i64)]) -> Value {
    let mut items: Vec<Value> = Vec::new();
    for domain in [
        "physical",
        "practical",
        "family",
        "emotional",
        "spiritual",
        "lifestyle",
    ] {
        let concerns: Vec<Value> = scores
            .iter()
            .filter(|(d, _, _)| *d == domain)
            .map(|(_, code, s)| json!({"linkId": code, "answer": [{"valueInteger": s}]}))
            .collect();
        if !concerns.is_empty() {
            items.push(json!({"linkId": domain, "item": concerns}));
        }
    }
    items.push(json!({"linkId": "distress-thermometer", "answer": [{"valueInteger": 6}]}));
    items.push(
        json!({"linkId": "what-matters-most", "answer": [{"valueString": "Getting back to work"}]}),
    );
    items.push(
        json!({"linkId": "point-of-pathway", "answer": [{"valueCoding": {
            "system": format!("{CANONICAL}/CodeSystem/hna-point-of-pathway"),
            "code": "diagnosis",
            "display": "At diagnosis"
        }}]}),
    );
    items.push(json!({"linkId": "setting", "answer": [{"valueCoding": {
        "system": format!("{CANONICAL}/CodeSystem/hna-setting"),
        "code": "hospital",
        "display": "Hospital"
    }}]}));
    items.push(
        json!({"linkId": "completed-by", "answer": [{"valueCoding": {
            "system": format!("{CANONICAL}/CodeSystem/hna-completed-by"),
            "code": "together",
            "display": "The person with the link worker"
        }}]}),
    );
    json!({
        "resourceType": "QuestionnaireResponse",
        "meta": {"profile": [format!("{CANONICAL}/StructureDefinition/hna-questionnaireresponse")]},
        "questionnaire": format!("{CANONICAL}/Questionnaire/hna"),
        "status": "completed",
        "subject": {"reference": subject},
        "author": {"reference": author},
        "authored": "2026-02-10T14:30:00Z",
        "item": items
    })
}

/// Scores with a tie (sleep and pain at 4: catalogue order puts sleep first) and one below 4.
const SCORES: &[(&str, &str, i64)] = &[
    ("physical", "pain", 4),
    ("physical", "breathing", 7),
    ("physical", "fatigue", 3),
    ("physical", "sleep", 4),
    ("emotional", "worry-fear-anxiety", 9),
];

/// A stored HNA scored with [`SCORES`]: its id.
async fn stored_hna(app: &TestApp) -> String {
    let (subject, author) = person_and_org(app, 1).await;
    app.create_id(&hna(&subject, &author, SCORES)).await
}

/// `POST path` with `body` (a Parameters resource, or none).
async fn extract(app: &TestApp, path: &str, body: Option<&Value>) -> Resp {
    match body {
        Some(b) => app.send_json(Method::POST, path, b, &[]).await,
        None => app.send(app.req(Method::POST, path)).await,
    }
}

fn concerns_of(plan: &Value) -> Vec<String> {
    plan["activity"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|a| {
            a["detail"]["reasonCode"][0]["coding"][0]["code"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

fn parameters(params: Value) -> Value {
    json!({"resourceType": "Parameters", "parameter": params})
}

#[tokio::test]
async fn instance_extract_drafts_a_plan_ordered_by_severity_and_linked_back() {
    let app = spawn_app().await;
    let id = stored_hna(&app).await;
    let before = app.version_count().await;

    let r = extract(&app, &format!("QuestionnaireResponse/{id}/$extract"), None).await;
    r.assert_status(200);
    assert_eq!(r.header("content-type"), Some(FHIR_JSON));
    let plan = r.json();
    assert_eq!(plan["resourceType"], "CarePlan");
    assert_eq!(plan["status"], "draft");
    assert_eq!(plan["intent"], "plan");
    assert_eq!(
        plan["meta"]["profile"],
        json!([format!("{CANONICAL}/StructureDefinition/pcsp-careplan")])
    );
    assert_eq!(plan["category"][0]["coding"][0]["code"], "734163000");
    assert_eq!(
        concerns_of(&plan),
        ["worry-fear-anxiety", "breathing", "sleep", "pain"]
    );
    assert_eq!(
        plan["supportingInfo"],
        json!([{"reference": format!("QuestionnaireResponse/{id}")}])
    );
    let stored = app.read("QuestionnaireResponse", &id).await.json();
    assert_eq!(plan["subject"], stored["subject"]);
    assert_eq!(plan["author"], stored["author"]);
    let first = &plan["activity"][0]["detail"];
    assert_eq!(first["status"], "not-started");
    assert_eq!(first["extension"][0]["valueCoding"]["code"], "emotional");
    assert!(
        plan["description"]
            .as_str()
            .is_some_and(|d| d.contains("Distress Thermometer 6/10")),
        "{plan}"
    );
    assert!(
        plan.get("id").is_none(),
        "a draft that is not stored has no id"
    );

    // Nothing was written.
    assert_eq!(app.version_count().await, before);
    assert!(app.search_ids("CarePlan", "").await.is_empty());
}

#[tokio::test]
async fn a_threshold_narrows_the_plan_in_the_query_or_the_body() {
    let app = spawn_app().await;
    let id = stored_hna(&app).await;
    let path = format!("QuestionnaireResponse/{id}/$extract");

    let r = extract(&app, &format!("{path}?threshold=7"), None).await;
    assert_eq!(
        concerns_of(&r.assert_status(200).json()),
        ["worry-fear-anxiety", "breathing"]
    );

    let body = parameters(json!([{"name": "threshold", "valueInteger": 7}]));
    let r = extract(&app, &path, Some(&body)).await;
    assert_eq!(
        concerns_of(&r.assert_status(200).json()),
        ["worry-fear-anxiety", "breathing"]
    );

    // Nothing at or above 10: a plan without activities.
    let r = extract(&app, &format!("{path}?threshold=10"), None).await;
    let plan = r.assert_status(200).json();
    assert!(plan.get("activity").is_none(), "{plan}");
}

#[tokio::test]
async fn store_true_creates_the_plan_once() {
    let app = spawn_app().await;
    let id = stored_hna(&app).await;
    let path = format!("QuestionnaireResponse/{id}/$extract");
    let store = parameters(json!([{"name": "store", "valueBoolean": true}]));

    let r = extract(&app, &path, Some(&store)).await;
    r.assert_status(201);
    let plan_id = r.id();
    let location = r.header("location").unwrap_or_default().to_owned();
    assert!(
        location.ends_with(&format!("/CarePlan/{plan_id}/_history/1")),
        "{location}"
    );
    let read = app.read("CarePlan", &plan_id).await;
    assert_eq!(
        concerns_of(&read.assert_status(200).json()),
        ["worry-fear-anxiety", "breathing", "sleep", "pain"]
    );
    let query = format!("supporting-info=QuestionnaireResponse/{id}");
    assert_eq!(
        app.search_ids("CarePlan", &query).await,
        vec![plan_id.clone()]
    );

    // Again, in either form: 409 naming the plan, nothing written.
    let before = app.version_count().await;
    for again in [
        extract(&app, &path, Some(&store)).await,
        extract(&app, &format!("{path}?store=true"), None).await,
    ] {
        let issue = assert_outcome(&again, 409, "conflict", None);
        assert!(
            issue["diagnostics"]
                .as_str()
                .is_some_and(|d| d.contains(&format!("CarePlan/{plan_id}"))),
            "{issue}"
        );
    }
    assert_eq!(app.version_count().await, before);
    assert_eq!(app.search_ids("CarePlan", &query).await, [plan_id]);

    // A draft without storing is still available.
    extract(&app, &path, None).await.assert_status(200);
}

#[tokio::test]
async fn type_level_extract_takes_an_inline_response() {
    let app = spawn_app().await;
    let (subject, author) = person_and_org(&app, 2).await;
    let response = hna(&subject, &author, SCORES);
    let before = app.version_count().await;

    let body = parameters(json!([
        {"name": "questionnaire-response", "resource": response},
        {"name": "threshold", "valueInteger": 5}
    ]));
    let r = extract(&app, "QuestionnaireResponse/$extract", Some(&body)).await;
    let plan = r.assert_status(200).json();
    assert_eq!(concerns_of(&plan), ["worry-fear-anxiety", "breathing"]);
    assert_eq!(plan["subject"], json!({"reference": subject}));
    assert!(
        plan.get("supportingInfo").is_none(),
        "an unstored response cannot be linked: {plan}"
    );

    // The response alone as the body is accepted too.
    let r = extract(&app, "QuestionnaireResponse/$extract", Some(&response)).await;
    assert_eq!(concerns_of(&r.assert_status(200).json()).len(), 4);

    // Storing needs a stored response.
    let r = extract(
        &app,
        "QuestionnaireResponse/$extract?store=true",
        Some(&body),
    )
    .await;
    assert_outcome(
        &r,
        400,
        "invalid",
        Some("Parameters.parameter.where(name = 'store')"),
    );
    assert_eq!(app.version_count().await, before);
}

#[tokio::test]
async fn an_inline_response_scored_outside_0_to_10_is_422() {
    let app = spawn_app().await;
    let (subject, author) = person_and_org(&app, 3).await;
    let response = hna(&subject, &author, &[("physical", "breathing", 12)]);
    let body = parameters(json!([{"name": "questionnaire-response", "resource": response}]));
    let r = extract(&app, "QuestionnaireResponse/$extract", Some(&body)).await;
    // Refused by Questionnaire validation when it is in place, else by the plan builder.
    r.assert_status(422);
    assert_eq!(r.json()["resourceType"], "OperationOutcome", "{}", r.text);
    assert!(app.search_ids("CarePlan", "").await.is_empty());
}

#[tokio::test]
async fn unknown_and_deleted_responses_are_404_and_410() {
    let app = spawn_app().await;
    let r = extract(&app, "QuestionnaireResponse/no-such-hna/$extract", None).await;
    assert_outcome(&r, 404, "not-found", None);

    let id = stored_hna(&app).await;
    app.delete("QuestionnaireResponse", &id)
        .await
        .assert_status(204);
    let r = extract(&app, &format!("QuestionnaireResponse/{id}/$extract"), None).await;
    assert_outcome(&r, 410, "deleted", None);
}

#[tokio::test]
async fn bad_parameters_are_400_naming_the_parameter() {
    let app = spawn_app().await;
    let id = stored_hna(&app).await;
    let path = format!("QuestionnaireResponse/{id}/$extract");
    let named = |n: &str| format!("Parameters.parameter.where(name = '{n}')");

    for query in ["threshold=11", "threshold=-1", "threshold=high"] {
        let r = extract(&app, &format!("{path}?{query}"), None).await;
        assert_outcome(&r, 400, "invalid", Some(&named("threshold")));
    }
    for param in [
        json!({"name": "threshold", "valueInteger": 12}),
        json!({"name": "threshold", "valueString": "4"}),
    ] {
        let r = extract(&app, &path, Some(&parameters(json!([param])))).await;
        assert_outcome(&r, 400, "invalid", Some(&named("threshold")));
    }
    // Given twice (body and query).
    let body = parameters(json!([{"name": "threshold", "valueInteger": 5}]));
    let r = extract(&app, &format!("{path}?threshold=6"), Some(&body)).await;
    assert_outcome(&r, 400, "invalid", Some(&named("threshold")));

    let r = extract(&app, &format!("{path}?store=yes"), None).await;
    assert_outcome(&r, 400, "invalid", Some(&named("store")));
    let r = extract(&app, &format!("{path}?treshold=5"), None).await;
    assert_outcome(&r, 400, "invalid", Some(&named("treshold")));

    // Type level without a response.
    let r = extract(
        &app,
        "QuestionnaireResponse/$extract",
        Some(&parameters(json!([]))),
    )
    .await;
    assert_outcome(&r, 400, "invalid", Some(&named("questionnaire-response")));

    assert!(app.search_ids("CarePlan", "").await.is_empty());
}
