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

/// Until consent enforcement decides what each role may see, only system tokens are served.
#[tokio::test]
async fn roles_without_consent_enforcement_are_forbidden() {
    let app = spawn_app().await;
    for (role, org, patient) in [
        ("gp", Some("A81001"), None),
        ("housing", Some("H0001"), None),
        ("patient", None, Some("p1")),
        ("auditor", None, None),
    ] {
        let t = app.token_for(role, org, patient);
        let r = app
            .send(app.anonymous(Method::GET, "CarePlan").bearer_auth(&t))
            .await;
        assert_outcome(&r, 403, "forbidden", None);
    }
}
