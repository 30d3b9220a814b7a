//! `POST /auth/token`: the development token endpoint (OAuth 2.0 `client_credentials`, RFC 6749
//! section 4.4), served only when [`crate::auth::settings::Endpoints::development`] is on, so that
//! a SMART client can complete its flow against a gateway without an identity provider.
//! Development only: production deployments advertise their identity provider's endpoints.
//!
//! Clients authenticate with development credentials (`crate::auth::client`), by HTTP Basic
//! (`client_secret_basic`) or in the form (`client_secret_post`). Errors are RFC 6749 section 5.2
//! JSON (`invalid_request`, `invalid_client` 401, `unsupported_grant_type`); responses are never
//! cached.

use actix_web::http::header;
use actix_web::web::{Bytes, Data};
use actix_web::{HttpRequest, HttpResponse, ResponseError as _};
use base64::Engine as _;
use serde_json::json;

use crate::auth::AuthSettings;
use crate::auth::client::{DevClient, authenticate};
use crate::auth::mint::{granted_scope, token_for_client};

/// The path of the development token endpoint, at the server root.
pub const TOKEN_PATH: &str = "/auth/token";

/// Lifetime of an issued token, minutes.
const MINUTES: u32 = 60;

/// The settings the endpoint signs with.
pub struct TokenEndpoint(pub AuthSettings);

/// Why a token request was refused (RFC 6749 section 5.2).
#[derive(Debug)]
struct OauthError {
    status: u16,
    code: &'static str,
    description: String,
}

impl OauthError {
    fn new(status: u16, code: &'static str, description: impl Into<String>) -> Self {
        OauthError {
            status,
            code,
            description: description.into(),
        }
    }

    fn invalid_request(description: impl Into<String>) -> Self {
        OauthError::new(400, "invalid_request", description)
    }

    /// The JSON error response, never cached; 401 carries its challenge.
    fn response(&self) -> HttpResponse {
        let status = actix_web::http::StatusCode::from_u16(self.status)
            .unwrap_or(actix_web::http::StatusCode::BAD_REQUEST);
        let mut b = HttpResponse::build(status);
        if self.status == 401 {
            b.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"carebridge\""));
        }
        b.insert_header((header::CACHE_CONTROL, "no-store"))
            .content_type("application/json")
            .body(json!({"error": self.code, "error_description": self.description}).to_string())
    }
}

/// `POST /auth/token`: 404 (as any path the gateway does not serve) unless the development token
/// endpoint is on.
pub async fn token(
    req: HttpRequest,
    body: Bytes,
    endpoint: Option<Data<TokenEndpoint>>,
) -> HttpResponse {
    let Some(endpoint) = endpoint else {
        return crate::error::Error::NoRoute.error_response();
    };
    match grant(&req, &body, &endpoint.0) {
        Ok(r) => r,
        Err(e) => e.response(),
    }
}

/// The token for an authenticated `client_credentials` request.
fn grant(req: &HttpRequest, body: &Bytes, auth: &AuthSettings) -> Result<HttpResponse, OauthError> {
    let form_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form_type {
        return Err(OauthError::invalid_request(
            "send the request as application/x-www-form-urlencoded",
        ));
    }
    let form: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    let one = |name: &str| -> Result<Option<&str>, OauthError> {
        let mut values = form
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str());
        let first = values.next();
        if values.next().is_some() {
            return Err(OauthError::invalid_request(format!(
                "'{name}' is given more than once"
            )));
        }
        Ok(first)
    };
    let (grant, scope) = (one("grant_type")?, one("scope")?);
    let (form_id, form_secret) = (one("client_id")?, one("client_secret")?);
    let credentials = match (basic(req), form_id, form_secret) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err(OauthError::invalid_request(
                "authenticate the client one way: HTTP Basic or the form, not both",
            ));
        }
        (Some(pair), None, None) => Some(pair),
        (None, Some(id), Some(secret)) => Some((id.to_owned(), secret.to_owned())),
        _ => None,
    };
    let secret = auth
        .hs256_secret
        .as_ref()
        .map(crate::auth::Secret::expose)
        .ok_or_else(|| OauthError::new(500, "server_error", "no development secret"))?;
    let client = credentials
        .and_then(|(id, s)| authenticate(secret, &id, &s))
        .ok_or_else(|| OauthError::new(401, "invalid_client", "unknown client or wrong secret"))?;
    match grant {
        Some("client_credentials") => issue(auth, &client, scope),
        Some(_) => Err(OauthError::new(
            400,
            "unsupported_grant_type",
            "the development token endpoint grants client_credentials only",
        )),
        None => Err(OauthError::invalid_request("grant_type is required")),
    }
}

fn issue(
    auth: &AuthSettings,
    client: &DevClient,
    scope: Option<&str>,
) -> Result<HttpResponse, OauthError> {
    let granted = granted_scope(client.role, scope);
    let now = crate::fhir::instant::now_ms() / 1000;
    match token_for_client(auth, client, &granted, MINUTES, now) {
        Ok(token) => {
            tracing::info!(client = %client.id(), "development token issued");
            Ok(HttpResponse::Ok()
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .insert_header((header::PRAGMA, "no-cache"))
                .content_type("application/json")
                .body(
                    json!({
                        "access_token": token,
                        "token_type": "Bearer",
                        "expires_in": MINUTES * 60,
                        "scope": granted,
                    })
                    .to_string(),
                ))
        }
        Err(e) => Err(OauthError::invalid_request(e.to_string())),
    }
}

/// HTTP Basic client credentials (RFC 6749 2.3.1: each part form-urlencoded).
fn basic(req: &HttpRequest) -> Option<(String, String)> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let unescape = |s: &str| {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((unescape(id)?, unescape(secret)?))
}
