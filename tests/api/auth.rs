//! Authentication at the HTTP boundary: every route but the public ones needs a valid bearer token,
//! every failure answers alike, and a refused request changes nothing.

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{NHS, TEST_SECRET, assert_outcome, spawn_app};

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
}

/// A system token with `change` applied to its claims, signed with `secret`.
fn token_with(secret: &str, change: impl FnOnce(&mut Value)) -> String {
    let mut claims = json!({"iss": "https://idp.carebridge.test", "aud": "carebridge-test",
        "sub": "sys", "exp": now() + 300, "role": "system", "org": "TESTSYS",
        "scope": "system/*.cruds"});
    change(&mut claims);
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("a token")
}

fn patient() -> Value {
    json!({"resourceType": "Patient", "identifier": [{"system": NHS, "value": "9434765919"}]})
}

#[tokio::test]
async fn a_request_without_a_token_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let before = app.version_count().await;
    let r = app
        .send(
            app.anonymous(Method::POST, "Patient")
                .header("content-type", "application/fhir+json")
                .body(patient().to_string()),
        )
        .await;
    assert_outcome(&r, 401, "login", None);
    assert_eq!(
        r.header("www-authenticate"),
        Some("Bearer realm=\"carebridge\"")
    );
    assert_eq!(app.version_count().await, before);
    let read = app.send(app.anonymous(Method::GET, "Patient")).await;
    read.assert_status(401);
}

#[tokio::test]
async fn every_bad_token_gets_the_same_answer() {
    let app = spawn_app().await;
    let tokens = [
        token_with(TEST_SECRET, |c| c["exp"] = json!(now() - 120)),
        token_with(TEST_SECRET, |c| c["nbf"] = json!(now() + 600)),
        token_with(TEST_SECRET, |c| c["aud"] = json!("another-service")),
        token_with(TEST_SECRET, |c| c["iss"] = json!("https://evil.test")),
        token_with("a-secret-that-is-not-the-servers-one!", |_| {}),
        token_with(TEST_SECRET, |c| c["role"] = json!("superuser")),
        "not-a-jwt".to_owned(),
    ];
    let mut bodies = Vec::new();
    for t in &tokens {
        let r = app
            .send(app.anonymous(Method::GET, "Patient").bearer_auth(t))
            .await;
        assert_outcome(&r, 401, "login", None);
        assert_eq!(
            r.header("www-authenticate"),
            Some("Bearer realm=\"carebridge\", error=\"invalid_token\"")
        );
        bodies.push(r.text.clone());
    }
    bodies.dedup();
    assert_eq!(bodies.len(), 1, "the answers differ: {bodies:?}");
    // The same claims, properly signed, are served.
    let good = token_with(TEST_SECRET, |_| {});
    app.send(app.anonymous(Method::GET, "Patient").bearer_auth(&good))
        .await
        .assert_status(200);
}

#[tokio::test]
async fn metadata_and_probes_need_no_token() {
    let app = spawn_app().await;
    app.send(app.anonymous(Method::GET, "metadata"))
        .await
        .assert_status(200);
    let health = app
        .client
        .get(format!("{}/healthz", app.root))
        .send()
        .await
        .expect("answers");
    assert_eq!(health.status().as_u16(), 200);
}

/// Roles other than system write nothing but consents and run no population figures.
#[tokio::test]
async fn other_roles_write_nothing_and_run_no_population_figures() {
    let app = spawn_app().await;
    app.create_id(&json!({"resourceType": "Organization", "name": "Practice"}))
        .await;
    for (role, org, patient) in [
        ("gp", Some("A81001"), None),
        ("housing", Some("H0001"), None),
        ("patient", None, Some("p1")),
        ("auditor", None, None),
    ] {
        let t = app.token_for(role, org, patient);
        let get = |path: &str| app.anonymous(Method::GET, path).bearer_auth(&t);
        let directory = app.send(get("Organization")).await;
        directory.assert_status(200);
        assert_eq!(directory.total(), Some(1), "{role}");
        app.send(get("metadata")).await.assert_status(200);
        let org = json!({"resourceType": "Organization", "name": "X"});
        let write = app
            .send_json_as(&t, Method::POST, "Organization", &org)
            .await;
        assert_outcome(&write, 403, "forbidden", None);
        let outcomes = app
            .send(get(
                "$hna-outcomes?organization=A81001&start=2026-01-01&end=2026-12-31",
            ))
            .await;
        outcomes.assert_status(403);
    }
    assert_eq!(app.search_ids("Organization", "").await.len(), 1);
}

/// A system token granting `scope`.
fn scoped(scope: &str) -> String {
    token_with(TEST_SECRET, |c| c["scope"] = json!(scope))
}

#[tokio::test]
async fn scopes_grant_interactions_per_resource_type() {
    let app = spawn_app().await;
    let before = app.version_count().await;
    let read_only = scoped("system/Patient.rs");
    let create = |t: &str| {
        app.anonymous(Method::POST, "Patient")
            .bearer_auth(t)
            .header("content-type", "application/fhir+json")
            .body(patient().to_string())
    };
    app.send(
        app.anonymous(Method::GET, "Patient")
            .bearer_auth(&read_only),
    )
    .await
    .assert_status(200);
    let refused = app.send(create(&read_only)).await;
    assert_outcome(&refused, 403, "forbidden", None);
    app.send(
        app.anonymous(Method::GET, "CarePlan")
            .bearer_auth(&read_only),
    )
    .await
    .assert_status(403);
    assert_eq!(app.version_count().await, before, "a refused create wrote");
    // v1 forms: read = rs, write = cud.
    let v1 = scoped("system/*.read");
    app.send(app.anonymous(Method::GET, "CarePlan").bearer_auth(&v1))
        .await
        .assert_status(200);
    app.send(create(&v1)).await.assert_status(403);
    app.send(create(&scoped("system/*.write")))
        .await
        .assert_status(201);
    // Scopes of another context grant a system token nothing.
    app.send(create(&scoped("user/*.cruds")))
        .await
        .assert_status(403);
}

#[tokio::test]
async fn a_bundle_with_one_entry_not_granted_is_refused_whole() {
    let app = spawn_app().await;
    let before = app.version_count().await;
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:0b3c1c52-5c2e-4c64-9d39-0d1f7c1b2a11", "resource": patient(),
         "request": {"method": "POST", "url": "Patient"}},
        {"resource": {"resourceType": "Organization", "name": "Housing"},
         "request": {"method": "POST", "url": "Organization"}}]});
    let send = |scope: &str| {
        app.anonymous(Method::POST, "")
            .bearer_auth(scoped(scope))
            .header("content-type", "application/fhir+json")
            .body(bundle.to_string())
    };
    let r = app.send(send("system/Patient.cruds")).await;
    assert_outcome(&r, 403, "forbidden", None);
    assert_eq!(app.version_count().await, before);
    app.send(send("system/Patient.c system/Organization.c"))
        .await
        .assert_status(200);
}

#[tokio::test]
async fn the_smart_configuration_is_public_and_names_the_issuer() {
    let app = spawn_app().await;
    for url in [
        format!("{}/.well-known/smart-configuration", app.root),
        app.url(".well-known/smart-configuration"),
    ] {
        let r = app.send(app.client.get(&url)).await;
        r.assert_status(200);
        let doc = r.json();
        assert_eq!(doc["issuer"], "https://idp.carebridge.test");
        assert!(
            doc["capabilities"]
                .as_array()
                .is_some_and(|c| c.contains(&json!("permission-v2")))
        );
        assert!(doc.get("token_endpoint").is_none(), "none configured");
    }
}

/// `?param=value` scopes: reads and searches serve only what matches, counted before paging; a
/// resource outside them answers as missing; constrained writes grant nothing.
#[tokio::test]
async fn a_constrained_scope_serves_only_what_matches_it() {
    let app = spawn_app().await;
    let female = app
        .create_id(&json!({"resourceType": "Patient", "gender": "female"}))
        .await;
    let male = app
        .create_id(&json!({"resourceType": "Patient", "gender": "male"}))
        .await;
    let t = scoped("system/Patient.rs?gender=female");
    let get = |p: &str| app.anonymous(Method::GET, p).bearer_auth(&t);
    let found = app.send(get("Patient")).await;
    found.assert_status(200);
    assert_eq!(found.match_ids(), vec![female.clone()]);
    assert_eq!(found.total(), Some(1));
    assert_eq!(
        app.send(get("Patient?_summary=count")).await.total(),
        Some(1)
    );
    app.send(get(&format!("Patient/{female}")))
        .await
        .assert_status(200);
    app.send(get(&format!("Patient/{male}")))
        .await
        .assert_status(404);
    let w = scoped("system/Patient.c?gender=female");
    let patient = json!({"resourceType": "Patient", "gender": "female"});
    let create = app
        .send_json_as(&w, Method::POST, "Patient", &patient)
        .await;
    assert_outcome(&create, 403, "forbidden", None);
}

/// The audit trail is append-only for every caller: update and delete of AuditEvent are 405, alone
/// or in a bundle, and the CapabilityStatement does not offer them.
#[tokio::test]
async fn audit_events_cannot_be_created_updated_or_deleted() {
    let app = spawn_app().await;
    let event = json!({"resourceType": "AuditEvent",
        "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest"},
        "recorded": "2026-11-24T10:00:00Z",
        "agent": [{"requestor": true, "who": {"display": "a system"}}],
        "source": {"observer": {"display": "carebridge"}}});
    let created = app
        .send_json_as(&app.token, reqwest::Method::POST, "AuditEvent", &event)
        .await;
    assert_outcome(&created, 405, "not-supported", None);
    // An event the gateway recorded (the refused create's, for one).
    let auditor = app.token_for("auditor", None, None);
    let found = app
        .send(
            app.anonymous(reqwest::Method::GET, "AuditEvent?_count=1")
                .bearer_auth(&auditor),
        )
        .await
        .json();
    let id = found["entry"][0]["resource"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!id.is_empty(), "{found}");
    let mut changed = event.clone();
    changed["id"] = json!(id);
    let put = app.update(&changed).await;
    assert_outcome(&put, 405, "not-supported", None);
    assert_outcome(
        &app.delete("AuditEvent", &id).await,
        405,
        "not-supported",
        None,
    );
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"request": {"method": "DELETE", "url": format!("AuditEvent/{id}")}}]});
    assert_outcome(&app.bundle(&bundle).await, 405, "not-supported", None);
    let read = app.send(
        app.anonymous(reqwest::Method::GET, &format!("AuditEvent/{id}"))
            .bearer_auth(&auditor),
    );
    read.await.assert_status(200);
    let metadata = app.get("metadata").await.json();
    let audit = metadata["rest"][0]["resource"]
        .as_array()
        .and_then(|r| r.iter().find(|t| t["type"] == "AuditEvent"))
        .cloned()
        .unwrap_or_default();
    let codes: Vec<&str> = audit["interaction"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["code"].as_str())
        .collect();
    assert_eq!(codes, vec!["read", "search-type"]);
}
