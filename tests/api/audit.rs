//! One AuditEvent per interaction, stored in the chained log before the response is released:
//! served, refused and failed requests alike, and a 503 with no data when it cannot be stored.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

/// The events recorded since `before` events.
async fn new_events(app: &TestApp, before: usize) -> Vec<Value> {
    app.audit_events().await.into_iter().skip(before).collect()
}

fn subtype(e: &Value) -> &str {
    e["subtype"][0]["code"].as_str().unwrap_or("")
}

fn entities(e: &Value) -> Vec<String> {
    e["entity"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x["what"]["reference"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn each_interaction_leaves_exactly_one_event_naming_what_was_served() {
    let app = spawn_app().await;
    let practice = app
        .create_id(&json!({"resourceType": "Organization", "name": "P",
            "identifier": [{"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "A81001"}]}))
        .await;
    let patient = app
        .create_id(&json!({"resourceType": "Patient",
            "generalPractitioner": [{"reference": format!("Organization/{practice}")}]}))
        .await;
    let before = app.audit_events().await.len();
    let gp = app.token_for("gp", Some("A81001"), None);
    let as_gp = |path: &str| app.anonymous(Method::GET, path).bearer_auth(&gp);

    app.send(as_gp(&format!("Patient/{patient}")))
        .await
        .assert_status(200);
    let events = new_events(&app, before).await;
    assert_eq!(events.len(), 1, "one event per interaction");
    let e = &events[0];
    assert_eq!(
        (subtype(e), e["action"].as_str(), e["outcome"].as_str()),
        ("read", Some("R"), Some("0"))
    );
    assert_eq!(e["agent"][0]["role"][0]["coding"][0]["code"], "gp");
    assert_eq!(e["agent"][0]["role"][1]["coding"][0]["code"], "A81001");
    assert_eq!(
        entities(e),
        vec![
            format!("Patient/{patient}"),
            format!("Patient/{patient}/_history/1")
        ]
    );

    // A search: one event listing every resource returned and the (sanitised) query.
    let before = app.audit_events().await.len();
    app.send(as_gp("Patient?name=Smith"))
        .await
        .assert_status(200);
    app.send(as_gp("Patient")).await.assert_status(200);
    let events = new_events(&app, before).await;
    assert_eq!(events.len(), 2);
    assert_eq!(subtype(&events[1]), "search-type");
    assert!(entities(&events[1]).contains(&format!("Patient/{patient}/_history/1")));
    assert!(
        !events[0].to_string().contains("Smith"),
        "no query values that carry patient data"
    );

    // Refused (401, 403) and failed (404) requests are recorded too.
    let before = app.audit_events().await.len();
    app.send(app.anonymous(Method::GET, "Patient"))
        .await
        .assert_status(401);
    let org = json!({"resourceType": "Organization", "name": "X"});
    app.send_json_as(&gp, Method::POST, "Organization", &org)
        .await
        .assert_status(403);
    app.send(as_gp("Patient/no-such")).await.assert_status(404);
    let events = new_events(&app, before).await;
    assert_eq!(events.len(), 3);
    assert_eq!(
        events[0]["agent"][0]["who"]["display"],
        "unauthenticated caller"
    );
    assert_eq!(
        events[1]["agent"][0]["role"][0]["coding"][0]["code"], "gp",
        "a refused caller is named"
    );
    for e in &events {
        assert_eq!(e["outcome"], "4");
    }
    assert!(entities(&events[2]).is_empty(), "nothing was disclosed");

    // A write names the version it made.
    let before = app.audit_events().await.len();
    let created = app.create_id(&json!({"resourceType": "Patient"})).await;
    let events = new_events(&app, before).await;
    assert_eq!(
        (subtype(&events[0]), events[0]["action"].as_str()),
        ("create", Some("C"))
    );
    assert_eq!(
        entities(&events[0]),
        vec![format!("Patient/{created}/_history/1")]
    );

    // Every event is a valid R4 AuditEvent, and the chain verifies.
    let store = carebridge::store::Store::open(&app.database_url)
        .await
        .expect("store");
    match carebridge::audit::log::verify(&store)
        .await
        .expect("verify")
    {
        carebridge::audit::log::Verdict::Intact(v) => assert!(v.count >= 8),
        broken => panic!("{broken:?}"),
    }
    for e in app.audit_events().await {
        let r = app
            .send_json_as(&app.token, Method::POST, "AuditEvent/$validate", &e)
            .await;
        assert_ne!(r.status, 500);
    }
}

#[tokio::test]
async fn a_response_whose_event_cannot_be_stored_is_withheld_with_503() {
    let app = spawn_app_on_sqlite().await;
    let id = app
        .create_id(&json!({"resourceType": "Patient", "name": [{"family": "Hidden-If-Unaudited"}]}))
        .await;
    // The audit log stops accepting events.
    let path = app
        .database_url
        .strip_prefix("sqlite://")
        .unwrap_or_default()
        .to_owned();
    let conn = rusqlite::Connection::open(&path).expect("open");
    conn.execute_batch(
        "CREATE TRIGGER audit_down BEFORE INSERT ON audit_log BEGIN SELECT RAISE(FAIL, 'audit down'); END;",
    )
    .expect("trigger");
    drop(conn);
    let r = app.read("Patient", &id).await;
    assert_outcome(&r, 503, "transient", None);
    assert!(
        !r.text.contains("Hidden-If-Unaudited"),
        "no data without its audit event"
    );
}
