//! SMART discovery and the development token endpoint, as a SMART client meets them: the
//! configuration names the endpoints and grants `[auth]` configures (and only those), the
//! CapabilityStatement carries the same endpoints as `oauth-uris`, and a client holding
//! development credentials gets a token it can use.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

const OAUTH_URIS: &str = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris";

async fn smart(app: &TestApp) -> Value {
    let r = app
        .send(
            app.client
                .get(format!("{}/.well-known/smart-configuration", app.root)),
        )
        .await;
    r.assert_status(200);
    r.json()
}

/// The `oauth-uris` parts of the served CapabilityStatement, by name.
async fn oauth_uris(app: &TestApp) -> Vec<(String, String)> {
    let r = app.send(app.anonymous(Method::GET, "metadata")).await;
    r.assert_status(200);
    let doc = r.json();
    let ext = doc["rest"][0]["security"]["extension"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    ext.iter()
        .filter(|e| e["url"] == OAUTH_URIS)
        .flat_map(|e| e["extension"].as_array().cloned().unwrap_or_default())
        .map(|p| {
            let name = p["url"].as_str().unwrap_or_default().to_owned();
            (name, p["valueUri"].as_str().unwrap_or_default().to_owned())
        })
        .collect()
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_identity_providers_endpoints_are_advertised_with_only_the_grants_they_support() {
    let app = spawn_app_with(|s| {
        if let Some(a) = s.auth.as_mut() {
            a.endpoints.token = Some("https://idp.carebridge.test/token".into());
            a.endpoints.authorization = Some("https://idp.carebridge.test/authorize".into());
            a.endpoints.introspection = Some("https://idp.carebridge.test/introspect".into());
        }
    })
    .await;
    let doc = smart(&app).await;
    assert_eq!(doc["token_endpoint"], "https://idp.carebridge.test/token");
    assert_eq!(
        doc["authorization_endpoint"],
        "https://idp.carebridge.test/authorize"
    );
    assert_eq!(
        doc["introspection_endpoint"],
        "https://idp.carebridge.test/introspect"
    );
    assert_eq!(
        strings(&doc["grant_types_supported"]),
        ["client_credentials", "authorization_code"]
    );
    assert_eq!(
        strings(&doc["token_endpoint_auth_methods_supported"]),
        ["private_key_jwt"]
    );
    let caps = strings(&doc["capabilities"]);
    for c in [
        "client-confidential-asymmetric",
        "launch-standalone",
        "permission-v2",
    ] {
        assert!(caps.contains(&c), "{c} in {caps:?}");
    }
    assert_eq!(strings(&doc["code_challenge_methods_supported"]), ["S256"]);
    assert_eq!(
        oauth_uris(&app).await,
        [
            (
                "token".to_owned(),
                "https://idp.carebridge.test/token".to_owned()
            ),
            (
                "authorize".to_owned(),
                "https://idp.carebridge.test/authorize".to_owned()
            ),
            (
                "introspect".to_owned(),
                "https://idp.carebridge.test/introspect".to_owned()
            ),
        ]
    );
    // The identity provider issues tokens here, not the gateway.
    let r = app
        .send(
            app.client
                .post(format!("{}/auth/token", app.root))
                .form(&[("grant_type", "client_credentials")]),
        )
        .await;
    r.assert_status(404);
}

#[tokio::test]
async fn without_an_authorization_endpoint_no_authorization_code_grant_is_claimed() {
    let app = spawn_app_with(|s| {
        if let Some(a) = s.auth.as_mut() {
            a.endpoints.token = Some("https://idp.carebridge.test/token".into());
        }
    })
    .await;
    let doc = smart(&app).await;
    assert_eq!(
        strings(&doc["grant_types_supported"]),
        ["client_credentials"]
    );
    assert!(doc.get("authorization_endpoint").is_none());
    assert!(!strings(&doc["capabilities"]).contains(&"launch-standalone"));
    assert_eq!(
        oauth_uris(&app).await,
        [(
            "token".to_owned(),
            "https://idp.carebridge.test/token".to_owned()
        )]
    );
}

/// A gateway on the development token endpoint.
async fn development_app() -> TestApp {
    spawn_app_with(|s| {
        if let Some(a) = s.auth.as_mut() {
            a.endpoints.development = true;
        }
    })
    .await
}

/// Development client credentials for `role` at `org`.
fn credentials(app: &TestApp, role: &str, org: &str) -> (String, String) {
    let args = carebridge::auth::mint::TokenArgs {
        role: role.into(),
        org: Some(org.into()),
        patient: None,
        sub: None,
        fhir_user: None,
        scope: None,
        purpose: "TREAT".into(),
        minutes: 60,
        config: None,
        client: true,
    };
    carebridge::auth::mint::client_credentials(&app.auth, &args).expect("credentials")
}

#[tokio::test]
async fn a_client_discovers_the_development_token_endpoint_and_uses_its_token() {
    let app = development_app().await;
    let doc = smart(&app).await;
    let endpoint = doc["token_endpoint"]
        .as_str()
        .expect("a token endpoint")
        .to_owned();
    assert_eq!(endpoint, format!("{}/auth/token", app.root));
    assert_eq!(
        strings(&doc["token_endpoint_auth_methods_supported"]),
        ["client_secret_basic", "client_secret_post"]
    );
    assert!(strings(&doc["capabilities"]).contains(&"client-confidential-symmetric"));
    assert_eq!(
        oauth_uris(&app).await,
        [("token".to_owned(), endpoint.clone())]
    );

    let (id, secret) = credentials(&app, "gp", "A81001");
    assert_eq!(id, "gp.A81001");
    let basic = app
        .client
        .post(&endpoint)
        .basic_auth(&id, Some(&secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "user/*.rs system/*.cruds"),
        ]);
    let r = app.send(basic).await;
    r.assert_status(200);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let body = r.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "user/*.rs", "only what the role may have");
    assert_eq!(body["expires_in"], 3600);
    let token = body["access_token"].as_str().expect("a token");
    let search = app
        .anonymous(Method::GET, "CarePlan?_summary=count")
        .bearer_auth(token);
    app.send(search).await.assert_status(200);
    let write = app
        .anonymous(Method::POST, "Organization")
        .bearer_auth(token)
        .header("content-type", "application/fhir+json")
        .body(json!({"resourceType": "Organization", "name": "x"}).to_string());
    assert_outcome(&app.send(write).await, 403, "forbidden", None);

    // client_secret_post works as well.
    let post = app.client.post(&endpoint).form(&[
        ("grant_type", "client_credentials"),
        ("client_id", id.as_str()),
        ("client_secret", secret.as_str()),
    ]);
    app.send(post).await.assert_status(200);
}

#[tokio::test]
async fn the_development_token_endpoint_refuses_what_oauth_refuses() {
    let app = development_app().await;
    let endpoint = format!("{}/auth/token", app.root);
    let (id, secret) = credentials(&app, "housing", "H0001");
    let error = |r: &Resp, status: u16, code: &str| {
        r.assert_status(status);
        assert_eq!(r.json()["error"], code, "{}", r.text);
    };
    let wrong = app
        .client
        .post(&endpoint)
        .basic_auth(&id, Some("0".repeat(64)))
        .form(&[("grant_type", "client_credentials")]);
    let r = app.send(wrong).await;
    error(&r, 401, "invalid_client");
    assert!(r.header("www-authenticate").is_some());
    let other_id = app
        .client
        .post(&endpoint)
        .basic_auth("housing.H0002", Some(&secret))
        .form(&[("grant_type", "client_credentials")]);
    error(&app.send(other_id).await, 401, "invalid_client");
    let none = app
        .client
        .post(&endpoint)
        .form(&[("grant_type", "client_credentials")]);
    error(&app.send(none).await, 401, "invalid_client");
    let password = app
        .client
        .post(&endpoint)
        .basic_auth(&id, Some(&secret))
        .form(&[("grant_type", "password")]);
    error(&app.send(password).await, 400, "unsupported_grant_type");
    let json_body = app
        .client
        .post(&endpoint)
        .basic_auth(&id, Some(&secret))
        .json(&json!({"grant_type": "client_credentials"}));
    error(&app.send(json_body).await, 400, "invalid_request");
    let both = app
        .client
        .post(&endpoint)
        .basic_auth(&id, Some(&secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id.as_str()),
            ("client_secret", secret.as_str()),
        ]);
    error(&app.send(both).await, 400, "invalid_request");
}
