//! The `[auth]` section of the configuration and its `CAREBRIDGE_AUTH_*` variables.
//!
//! | setting | file key (`[auth]`) | environment variable | default |
//! |---|---|---|---|
//! | expected `iss` | `issuer` | `CAREBRIDGE_AUTH_ISSUER` | required |
//! | expected `aud` | `audience` | `CAREBRIDGE_AUTH_AUDIENCE` | required |
//! | accepted algorithms (pinned) | `algorithms` (list) | `CAREBRIDGE_AUTH_ALGORITHMS` (comma separated) | required |
//! | HS256 shared secret (development; 32 bytes or more) | `hs256_secret` | `CAREBRIDGE_AUTH_HS256_SECRET` | none |
//! | public keys for RS256/ES256: a JWKS file, or the identity provider's JWKS URL (https; fetched at start-up and again when a token names an unknown key, at most every 30 s) | `jwks_file` / `jwks_url` | `CAREBRIDGE_AUTH_JWKS_FILE` / `CAREBRIDGE_AUTH_JWKS_URL` | none |
//! | the identity provider's token endpoint (in the SMART configuration) | `token_endpoint` | `CAREBRIDGE_AUTH_TOKEN_ENDPOINT` | none |
//! | its authorization endpoint (SMART App Launch; `authorization_code` is listed only with it) | `authorization_endpoint` | `CAREBRIDGE_AUTH_AUTHORIZATION_ENDPOINT` | none |
//! | its token introspection endpoint | `introspection_endpoint` | `CAREBRIDGE_AUTH_INTROSPECTION_ENDPOINT` | none |
//! | serve the development token endpoint `/auth/token` (HS256 only; never in production) | `development_token_endpoint` | `CAREBRIDGE_AUTH_DEVELOPMENT_TOKEN_ENDPOINT` | `false`; on in development mode |
//! | clock skew on `exp`/`nbf`, seconds | `leeway_seconds` | `CAREBRIDGE_AUTH_LEEWAY_SECONDS` | `30` |
//! | claim names | `[auth.claims]` `role`, `org`, `purpose`, `patient`, `fhir_user`, `scope` | `CAREBRIDGE_AUTH_CLAIM_ROLE`, `_ORG`, `_PURPOSE`, `_PATIENT`, `_FHIR_USER`, `_SCOPE` | `role`, `org`, `purpose_of_use`, `patient`, `fhirUser`, `scope` |
//!
//! Without the section the gateway runs in development mode (`super::dev`). A production deployment
//! names its identity provider's endpoints so that SMART clients can discover them
//! (`/.well-known/smart-configuration`, and the CapabilityStatement's `oauth-uris`); start-up warns
//! when no token endpoint is known.

use std::path::{Path, PathBuf};

use jsonwebtoken::Algorithm;
use jsonwebtoken::jwk::JwkSet;
use serde::Deserialize;

use super::secret::Secret;
use super::verify::{AuthConfig, ClaimNames};
use crate::setting::ConfigError;

/// The file form of `[auth]`: every key optional here, checked in [`RawAuth::validate`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAuth {
    issuer: Option<String>,
    audience: Option<String>,
    algorithms: Option<Vec<String>>,
    hs256_secret: Option<Secret>,
    jwks_file: Option<PathBuf>,
    jwks_url: Option<String>,
    token_endpoint: Option<String>,
    authorization_endpoint: Option<String>,
    introspection_endpoint: Option<String>,
    development_token_endpoint: Option<bool>,
    leeway_seconds: Option<u64>,
    claims: Option<RawClaims>,
}

/// `[auth.claims]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClaims {
    role: Option<String>,
    org: Option<String>,
    purpose: Option<String>,
    patient: Option<String>,
    fhir_user: Option<String>,
    scope: Option<String>,
}

/// Validated token settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSettings {
    /// Expected `iss`.
    pub issuer: String,
    /// Expected `aud`.
    pub audience: String,
    /// Pinned algorithms.
    pub algorithms: Vec<Algorithm>,
    /// HS256 secret (never printed).
    pub hs256_secret: Option<Secret>,
    /// JWKS file of the RS256/ES256 keys.
    pub jwks_file: Option<PathBuf>,
    /// JWKS URL of the RS256/ES256 keys.
    pub jwks_url: Option<String>,
    /// The OAuth endpoints advertised to SMART clients.
    pub endpoints: Endpoints,
    /// Clock skew tolerated, seconds.
    pub leeway_seconds: u64,
    /// Claim names.
    pub claims: ClaimNames,
}

/// Where clients get tokens: the identity provider's endpoints, or the gateway's own development
/// token endpoint. Advertised as configured; nothing here is called by the gateway.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Endpoints {
    /// The token endpoint (`client_credentials`, and `authorization_code` with an authorization
    /// endpoint).
    pub token: Option<String>,
    /// The authorization endpoint of the SMART App Launch.
    pub authorization: Option<String>,
    /// Token introspection (RFC 7662).
    pub introspection: Option<String>,
    /// Serve `/auth/token` for clients holding development credentials (`carebridge token
    /// --client`): development only, and only with an HS256 secret.
    pub development: bool,
}

/// Applies one `CAREBRIDGE_AUTH_*` variable (`name` without the prefix); `false` when the name is
/// not an auth setting.
pub fn apply_env(raw: &mut Option<RawAuth>, name: &str, value: &str) -> Result<bool, ConfigError> {
    let Some(key) = name.strip_prefix("AUTH_") else {
        return Ok(false);
    };
    let auth = raw.get_or_insert_with(RawAuth::default);
    let text = || Some(value.to_owned());
    match key {
        "ISSUER" => auth.issuer = text(),
        "AUDIENCE" => auth.audience = text(),
        "ALGORITHMS" => {
            auth.algorithms = Some(value.split(',').map(|a| a.trim().to_owned()).collect());
        }
        "HS256_SECRET" => auth.hs256_secret = Some(Secret::new(value)),
        "JWKS_FILE" => auth.jwks_file = Some(PathBuf::from(value)),
        "JWKS_URL" => auth.jwks_url = text(),
        "TOKEN_ENDPOINT" => auth.token_endpoint = text(),
        "AUTHORIZATION_ENDPOINT" => auth.authorization_endpoint = text(),
        "INTROSPECTION_ENDPOINT" => auth.introspection_endpoint = text(),
        "DEVELOPMENT_TOKEN_ENDPOINT" => {
            auth.development_token_endpoint = Some(match value.trim() {
                "true" | "1" => true,
                "false" | "0" => false,
                other => {
                    return Err(invalid(
                        "development_token_endpoint",
                        format!("'{other}' is not true or false"),
                    ));
                }
            });
        }
        "LEEWAY_SECONDS" => {
            auth.leeway_seconds = Some(value.trim().parse().map_err(|_| ConfigError::Invalid {
                name: "auth.leeway_seconds".into(),
                reason: format!("'{value}' is not a whole number"),
            })?);
        }
        _ => {
            let Some(claim) = key.strip_prefix("CLAIM_") else {
                return Ok(false);
            };
            let c = auth.claims.get_or_insert_with(RawClaims::default);
            let slot = match claim {
                "ROLE" => &mut c.role,
                "ORG" => &mut c.org,
                "PURPOSE" => &mut c.purpose,
                "PATIENT" => &mut c.patient,
                "FHIR_USER" => &mut c.fhir_user,
                "SCOPE" => &mut c.scope,
                _ => return Ok(false),
            };
            *slot = Some(value.trim().to_owned());
        }
    }
    Ok(true)
}

fn invalid(name: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        name: format!("auth.{name}"),
        reason: reason.into(),
    }
}

impl RawAuth {
    /// Checks the section: issuer, audience and algorithms given; the algorithms ones carebridge
    /// verifies, each with its key material.
    pub fn validate(self) -> Result<AuthSettings, ConfigError> {
        let required = |name: &str, v: Option<String>| {
            v.map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .ok_or_else(|| invalid(name, "is required when [auth] is configured"))
        };
        let issuer = required("issuer", self.issuer)?;
        let audience = required("audience", self.audience)?;
        let names = self.algorithms.unwrap_or_default();
        if names.is_empty() {
            return Err(invalid(
                "algorithms",
                "name at least one of HS256, RS256, ES256",
            ));
        }
        let mut algorithms = Vec::new();
        for n in &names {
            let alg = match n.as_str() {
                "HS256" => Algorithm::HS256,
                "RS256" => Algorithm::RS256,
                "ES256" => Algorithm::ES256,
                other => {
                    return Err(invalid(
                        "algorithms",
                        format!("'{other}' is not one of HS256, RS256, ES256"),
                    ));
                }
            };
            if !algorithms.contains(&alg) {
                algorithms.push(alg);
            }
        }
        let hs256_secret = self.hs256_secret.filter(|s| !s.is_empty());
        if algorithms.contains(&Algorithm::HS256)
            && hs256_secret.as_ref().is_none_or(|s| s.len() < 32)
        {
            return Err(invalid(
                "hs256_secret",
                "HS256 needs a secret of 32 bytes or more",
            ));
        }
        if hs256_secret.is_some() && !algorithms.contains(&Algorithm::HS256) {
            return Err(invalid(
                "hs256_secret",
                "a secret is set but HS256 is not among the algorithms",
            ));
        }
        let asymmetric = algorithms
            .iter()
            .any(|a| matches!(a, Algorithm::RS256 | Algorithm::ES256));
        let jwks_url = self.jwks_url.filter(|u| !u.trim().is_empty());
        if asymmetric && self.jwks_file.is_none() && jwks_url.is_none() {
            return Err(invalid(
                "jwks_file",
                "RS256 and ES256 need a key set (jwks_file or jwks_url)",
            ));
        }
        let development = self.development_token_endpoint.unwrap_or(false);
        if development && hs256_secret.is_none() {
            return Err(invalid(
                "development_token_endpoint",
                "the development token endpoint signs with the HS256 secret, and none is set",
            ));
        }
        let endpoints = Endpoints {
            token: url_setting("token_endpoint", self.token_endpoint)?,
            authorization: url_setting("authorization_endpoint", self.authorization_endpoint)?,
            introspection: url_setting("introspection_endpoint", self.introspection_endpoint)?,
            development,
        };
        let raw = self.claims.unwrap_or_default();
        let defaults = ClaimNames::default();
        let pick = |v: Option<String>, d: String| v.filter(|s| !s.is_empty()).unwrap_or(d);
        Ok(AuthSettings {
            issuer,
            audience,
            algorithms,
            hs256_secret,
            jwks_file: self.jwks_file,
            jwks_url,
            endpoints,
            leeway_seconds: self.leeway_seconds.unwrap_or(30),
            claims: ClaimNames {
                role: pick(raw.role, defaults.role),
                organization: pick(raw.org, defaults.organization),
                purpose: pick(raw.purpose, defaults.purpose),
                patient: pick(raw.patient, defaults.patient),
                fhir_user: pick(raw.fhir_user, defaults.fhir_user),
                scope: pick(raw.scope, defaults.scope),
            },
        })
    }
}

/// An endpoint URL setting: empty is unset; otherwise an absolute `https` URL (`http` only on a
/// loopback host, for development).
fn url_setting(name: &str, value: Option<String>) -> Result<Option<String>, ConfigError> {
    let Some(v) = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
        .iter()
        .any(|p| {
            v.strip_prefix(p)
                .is_some_and(|r| r.is_empty() || r.starts_with([':', '/']))
        });
    if v.starts_with("https://") || loopback {
        Ok(Some(v))
    } else {
        Err(invalid(name, format!("'{v}' is not an https URL")))
    }
}

impl AuthSettings {
    /// The verifier's configuration, with the key set read from its file.
    pub fn load(&self) -> Result<AuthConfig, ConfigError> {
        let keys = match &self.jwks_file {
            Some(path) => Some(read_jwks(path)?),
            None => None,
        };
        Ok(AuthConfig {
            issuer: self.issuer.clone(),
            audience: self.audience.clone(),
            algorithms: self.algorithms.clone(),
            hs256_secret: self.hs256_secret.clone(),
            keys,
            jwks_url: self.jwks_url.clone(),
            claims: self.claims.clone(),
            leeway_seconds: self.leeway_seconds,
        })
    }
}

fn read_jwks(path: &Path) -> Result<JwkSet, ConfigError> {
    crate::setting::read_file(path, |text| {
        serde_json::from_str(text).map_err(|e| format!("not a JWKS: {e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(pairs: &[(&str, &str)]) -> Result<AuthSettings, ConfigError> {
        let mut r = None;
        for (k, v) in pairs {
            assert_eq!(apply_env(&mut r, k, v).ok(), Some(true), "{k}");
        }
        r.unwrap_or_default().validate()
    }

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn a_development_secret_configures_hs256() {
        let s = raw(&[
            ("AUTH_ISSUER", "https://idp.test"),
            ("AUTH_AUDIENCE", "carebridge"),
            ("AUTH_ALGORITHMS", "HS256"),
            ("AUTH_HS256_SECRET", SECRET),
            ("AUTH_CLAIM_ROLE", "cb_role"),
        ]);
        let s = s.map_err(|e| e.to_string());
        assert_eq!(
            s.as_ref().map(|s| s.algorithms.clone()),
            Ok(vec![Algorithm::HS256])
        );
        assert_eq!(s.as_ref().map(|s| s.claims.role.as_str()), Ok("cb_role"));
        assert_eq!(s.as_ref().map(|s| s.claims.scope.as_str()), Ok("scope"));
        // The secret never shows in debug output.
        assert!(s.is_ok_and(|s| !format!("{s:?}").contains(SECRET)));
    }

    #[test]
    fn unsafe_or_incomplete_sections_are_refused() {
        let base = [("AUTH_ISSUER", "i"), ("AUTH_AUDIENCE", "a")];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut v = base.to_vec();
            v.extend_from_slice(extra);
            raw(&v).is_err()
        };
        assert!(with(&[]));
        assert!(with(&[("AUTH_ALGORITHMS", "none")]));
        assert!(with(&[("AUTH_ALGORITHMS", "HS512")]));
        assert!(with(&[
            ("AUTH_ALGORITHMS", "HS256"),
            ("AUTH_HS256_SECRET", "short")
        ]));
        assert!(with(&[("AUTH_ALGORITHMS", "RS256")]));
        assert!(with(&[
            ("AUTH_ALGORITHMS", "RS256"),
            ("AUTH_HS256_SECRET", SECRET)
        ]));
        assert!(!with(&[
            ("AUTH_ALGORITHMS", "RS256"),
            ("AUTH_JWKS_FILE", "k.json")
        ]));
        assert!(raw(&[("AUTH_AUDIENCE", "a"), ("AUTH_ALGORITHMS", "HS256")]).is_err());
    }

    #[test]
    fn endpoints_are_https_urls_and_the_development_one_needs_the_secret() {
        let base = [
            ("AUTH_ISSUER", "i"),
            ("AUTH_AUDIENCE", "a"),
            ("AUTH_ALGORITHMS", "RS256"),
            ("AUTH_JWKS_FILE", "k.json"),
        ];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut v = base.to_vec();
            v.extend_from_slice(extra);
            raw(&v).map(|s| s.endpoints).map_err(|e| e.to_string())
        };
        let e = with(&[
            ("AUTH_TOKEN_ENDPOINT", "https://idp.test/token"),
            ("AUTH_AUTHORIZATION_ENDPOINT", "https://idp.test/authorize"),
            (
                "AUTH_INTROSPECTION_ENDPOINT",
                "http://127.0.0.1:9/introspect",
            ),
        ]);
        assert_eq!(
            e,
            Ok(Endpoints {
                token: Some("https://idp.test/token".into()),
                authorization: Some("https://idp.test/authorize".into()),
                introspection: Some("http://127.0.0.1:9/introspect".into()),
                development: false,
            })
        );
        assert!(with(&[("AUTH_TOKEN_ENDPOINT", "http://idp.test/token")]).is_err());
        assert!(with(&[("AUTH_TOKEN_ENDPOINT", "http://127.0.0.1.evil/t")]).is_err());
        assert!(with(&[("AUTH_DEVELOPMENT_TOKEN_ENDPOINT", "true")]).is_err());
        let mut r = None;
        assert!(apply_env(&mut r, "AUTH_DEVELOPMENT_TOKEN_ENDPOINT", "maybe").is_err());
        let dev = raw(&[
            ("AUTH_ISSUER", "i"),
            ("AUTH_AUDIENCE", "a"),
            ("AUTH_ALGORITHMS", "HS256"),
            ("AUTH_HS256_SECRET", SECRET),
            ("AUTH_DEVELOPMENT_TOKEN_ENDPOINT", "true"),
        ]);
        assert!(dev.is_ok_and(|s| s.endpoints.development));
    }

    #[test]
    fn the_key_set_is_read_from_its_file() {
        let s = raw(&[
            ("AUTH_ISSUER", "i"),
            ("AUTH_AUDIENCE", "a"),
            ("AUTH_ALGORITHMS", "RS256,ES256"),
            ("AUTH_JWKS_FILE", "tests/fixtures/keys/jwks.json"),
        ]);
        let config = s
            .map_err(|e| e.to_string())
            .and_then(|s| s.load().map_err(|e| e.to_string()));
        assert_eq!(config.map(|c| c.keys.map_or(0, |k| k.keys.len())), Ok(2));
        let missing = raw(&[
            ("AUTH_ISSUER", "i"),
            ("AUTH_AUDIENCE", "a"),
            ("AUTH_ALGORITHMS", "RS256"),
            ("AUTH_JWKS_FILE", "no/such/file.json"),
        ]);
        assert!(missing.is_ok_and(|s| s.load().is_err()));
    }
}
