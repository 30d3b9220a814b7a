//! `/.well-known/smart-configuration` (SMART App Launch 2.x), at the server root and under the FHIR
//! base: how clients get tokens this gateway accepts. Public, like `/metadata`, which carries the
//! same endpoints as the `oauth-uris` extension.
//!
//! The gateway verifies tokens; it issues them only in development. What the document lists comes
//! from `[auth]`, so a client is never told of a grant or endpoint that does not exist:
//! - with the identity provider's `token_endpoint`: the `client_credentials` grant of SMART Backend
//!   Services, clients authenticating with `private_key_jwt` (RS384 or ES384 assertions);
//! - with its `authorization_endpoint` too: the `authorization_code` grant (standalone launch,
//!   PKCE S256);
//! - with the development token endpoint on (development mode): the gateway's own `/auth/token`,
//!   `client_credentials` with development client secrets (`client_secret_basic` or `_post`);
//! - `jwks_uri` and `introspection_endpoint` when configured.
//!
//! Without any token endpoint the document still names the issuer and start-up warns: SMART
//! clients cannot get a token from it.

use actix_web::HttpResponse;
use actix_web::web::Data;
use serde_json::{Map, Value, json};

use crate::auth::AuthSettings;

/// The document, built once at start-up, and the endpoints it names.
pub struct SmartConfiguration {
    doc: Value,
    uris: OauthUris,
}

/// The OAuth endpoints a client is told of.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OauthUris {
    /// The token endpoint.
    pub token: Option<String>,
    /// The authorization endpoint.
    pub authorize: Option<String>,
    /// Token introspection.
    pub introspect: Option<String>,
}

impl SmartConfiguration {
    /// The document for the effective token settings; `root` is the gateway's public root URL
    /// (where the development token endpoint is served).
    pub fn new(auth: &AuthSettings, root: &str) -> Self {
        let e = &auth.endpoints;
        let development = e
            .development
            .then(|| format!("{root}{}", super::token::TOKEN_PATH));
        let uris = OauthUris {
            token: e.token.clone().or(development.clone()),
            authorize: e.authorization.clone(),
            introspect: e.introspection.clone(),
        };
        let mut grants = vec!["client_credentials"];
        let mut capabilities = vec!["permission-v1", "permission-v2"];
        let auth_methods: &[&str] = if e.token.is_some() {
            capabilities.push("client-confidential-asymmetric");
            &["private_key_jwt"]
        } else {
            capabilities.push("client-confidential-symmetric");
            &["client_secret_basic", "client_secret_post"]
        };
        if uris.authorize.is_some() {
            grants.push("authorization_code");
            capabilities.push("launch-standalone");
        }
        let mut doc = Map::new();
        doc.insert("issuer".into(), json!(auth.issuer));
        let mut put = |k: &str, v: &Option<String>| {
            if let Some(v) = v {
                doc.insert(k.into(), json!(v));
            }
        };
        put("jwks_uri", &auth.jwks_url);
        put("authorization_endpoint", &uris.authorize);
        put("token_endpoint", &uris.token);
        put("introspection_endpoint", &uris.introspect);
        doc.insert("grant_types_supported".into(), json!(grants));
        doc.insert(
            "token_endpoint_auth_methods_supported".into(),
            json!(auth_methods),
        );
        if e.token.is_some() {
            doc.insert(
                "token_endpoint_auth_signing_alg_values_supported".into(),
                json!(["RS384", "ES384"]),
            );
        }
        if uris.authorize.is_some() {
            doc.insert("response_types_supported".into(), json!(["code"]));
        }
        doc.insert(
            "scopes_supported".into(),
            json!([
                "system/*.cruds",
                "system/*.rs",
                "user/*.rs",
                "patient/*.rs",
                "system/*.read",
                "system/*.write",
                "user/*.read",
                "patient/*.read"
            ]),
        );
        doc.insert("capabilities".into(), json!(capabilities));
        doc.insert("code_challenge_methods_supported".into(), json!(["S256"]));
        SmartConfiguration {
            doc: Value::Object(doc),
            uris,
        }
    }

    /// The endpoints, for the CapabilityStatement's `oauth-uris`.
    pub fn uris(&self) -> &OauthUris {
        &self.uris
    }
}

/// `GET /.well-known/smart-configuration` (at the root and under the FHIR base).
pub async fn smart_configuration(doc: Data<SmartConfiguration>) -> HttpResponse {
    document(&doc)
}

/// The SMART configuration document.
pub fn document(doc: &SmartConfiguration) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(doc.doc.to_string())
}
