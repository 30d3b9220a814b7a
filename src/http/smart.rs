//! `/.well-known/smart-configuration` (SMART App Launch 2.x), at the server root and under the FHIR
//! base: how clients get tokens this gateway accepts. Public, like `/metadata`.
//!
//! The gateway issues no tokens: `issuer` and `token_endpoint` are those of the deployment's identity
//! provider (`[auth]` `issuer`, `token_endpoint`). Without a configured token endpoint (development
//! mode, where `carebridge token` mints tokens) the document says so by leaving it out.

use actix_web::HttpResponse;
use actix_web::web::Data;
use serde_json::{Value, json};

use crate::auth::AuthSettings;

/// The document, built once at start-up.
pub struct SmartConfiguration(pub Value);

impl SmartConfiguration {
    /// The document for the effective token settings.
    pub fn new(auth: &AuthSettings) -> Self {
        let mut doc = json!({
            "issuer": auth.issuer,
            "grant_types_supported": ["client_credentials", "authorization_code"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "scopes_supported": [
                "system/*.cruds", "system/*.rs", "user/*.rs", "patient/*.rs",
                "system/*.read", "system/*.write", "user/*.read", "patient/*.read"
            ],
            "capabilities": ["permission-v1", "permission-v2", "client-confidential-asymmetric"],
            "code_challenge_methods_supported": ["S256"],
        });
        if let (Some(endpoint), Some(o)) = (&auth.token_endpoint, doc.as_object_mut()) {
            o.insert("token_endpoint".into(), json!(endpoint));
        }
        SmartConfiguration(doc)
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
        .body(doc.0.to_string())
}
