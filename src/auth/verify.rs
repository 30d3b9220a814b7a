//! Bearer token verification (docs/design.md section 2).
//!
//! - The header's `alg` must be one the deployment pinned ([`AuthConfig::algorithms`]); `none` is
//!   not an algorithm jsonwebtoken knows, so it can never be pinned.
//! - HS256 is checked with the configured shared secret only, and only when one is configured; RS256
//!   and ES256 with the key its `kid` names in the deployment's key set, of the matching key type. A
//!   public key is therefore never used as an HMAC secret (the classic algorithm confusion).
//! - `iss` and `aud` must match; `exp` and `sub` are required; `exp` and `nbf` are checked with the
//!   configured leeway.
//! - The role, organisation, purpose, patient, `fhirUser` and scope claims are read under
//!   configurable names (a deployment maps its identity provider's claims); the role must be a
//!   sharing role, roles acting for an organisation must name it, and patient tokens their patient.
//! - `sub` and every claim above must hold no control character (below U+0020, or U+007F), tab
//!   and line breaks included: they are identifiers, codes and URLs that end up in audit records
//!   (PostgreSQL cannot store a NUL), so a token carrying one is invalid like any other.
//! - Verified tokens are cached until they expire, so a client that reuses its token pays for one
//!   signature check, not one per request. Only verified tokens enter the cache.
//!
//! Every failure is an [`AuthError`]. Its detail is for logs and audit; the HTTP layer answers every
//! one alike (401, `WWW-Authenticate: Bearer error="invalid_token"`), as RFC 6750 allows, so a caller
//! learns nothing about which check failed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde_json::{Map, Value};

use super::jwks::KeyFetcher;
use super::principal::{DEFAULT_PURPOSE, Principal, Role};
use super::scopes::Grants;
use crate::fhir::text::has_control;

/// Names of the claims carebridge reads beyond the registered ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimNames {
    /// The sharing role (default `role`).
    pub role: String,
    /// The ODS organisation code (default `org`).
    pub organization: String,
    /// Purpose of use (default `purpose_of_use`).
    pub purpose: String,
    /// Patient context (default `patient`).
    pub patient: String,
    /// The user's FHIR resource (default `fhirUser`).
    pub fhir_user: String,
    /// Granted scopes, space separated (default `scope`).
    pub scope: String,
}

impl Default for ClaimNames {
    fn default() -> Self {
        ClaimNames {
            role: "role".into(),
            organization: "org".into(),
            purpose: "purpose_of_use".into(),
            patient: "patient".into(),
            fhir_user: "fhirUser".into(),
            scope: "scope".into(),
        }
    }
}

/// What a deployment trusts.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Expected `iss`.
    pub issuer: String,
    /// Expected `aud` (the gateway's own identifier).
    pub audience: String,
    /// The algorithms accepted (pinned): any of HS256, RS256, ES256.
    pub algorithms: Vec<Algorithm>,
    /// The shared secret for HS256 (development and tests).
    pub hs256_secret: Option<super::Secret>,
    /// Public keys for RS256 and ES256, by `kid`.
    pub keys: Option<JwkSet>,
    /// Where to fetch (and refetch) the key set: the identity provider's JWKS URL.
    pub jwks_url: Option<String>,
    /// Claim names.
    pub claims: ClaimNames,
    /// Clock skew tolerated on `exp` and `nbf`, seconds.
    pub leeway_seconds: u64,
}

/// Why a configuration cannot verify anything safely.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthConfigError {
    /// No algorithm pinned.
    #[error("no token algorithm is configured")]
    NoAlgorithm,
    /// An algorithm other than HS256, RS256 and ES256.
    #[error("token algorithm {0:?} is not supported (HS256, RS256, ES256)")]
    Unsupported(Algorithm),
    /// HS256 pinned without a secret, or a secret too short to resist guessing.
    #[error("HS256 needs a shared secret of at least 32 bytes")]
    WeakSecret,
    /// RS256 or ES256 pinned without keys.
    #[error("{0:?} needs a key set (JWKS)")]
    NoKeys(Algorithm),
    /// A key of the set cannot be used.
    #[error("key '{kid}' cannot be used: {reason}")]
    BadKey {
        /// The key's id.
        kid: String,
        /// Why.
        reason: String,
    },
    /// The JWKS URL is not an https URL (http only for localhost).
    #[error("the JWKS URL must be https (http only for localhost): {0}")]
    JwksUrl(String),
    /// `iss` or `aud` empty.
    #[error("the token issuer and audience must be configured")]
    NoIssuerOrAudience,
}

/// Why a request is not authenticated. Never shown to the caller beyond "invalid token".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Bearer` header.
    #[error("no bearer token")]
    Missing,
    /// Not a JWT, or undecodable parts.
    #[error("malformed token")]
    Malformed,
    /// `alg` not pinned by the deployment.
    #[error("token algorithm not accepted")]
    Algorithm,
    /// No key of the deployment has the token's `kid` (or the key type does not fit `alg`).
    #[error("unknown signing key")]
    UnknownKey,
    /// The signature does not verify.
    #[error("bad signature")]
    Signature,
    /// `exp` has passed.
    #[error("token expired")]
    Expired,
    /// `nbf` is in the future.
    #[error("token not yet valid")]
    NotYetValid,
    /// `iss` is not the configured issuer.
    #[error("wrong issuer")]
    Issuer,
    /// `aud` does not include the configured audience.
    #[error("wrong audience")]
    Audience,
    /// A required claim is missing or unusable.
    #[error("claim '{0}' is missing or invalid")]
    Claim(String),
}

/// Most tokens kept verified; beyond it, expired entries go, then all.
const CACHE_CAPACITY: usize = 10_000;

/// Verifies bearer tokens against one configuration.
pub struct Verifier {
    config: AuthConfig,
    secret: Option<DecodingKey>,
    keys: RwLock<HashMap<String, (DecodingKey, KeyKind)>>,
    cache: Mutex<HashMap<String, Arc<Principal>>>,
    fetcher: Option<KeyFetcher>,
}

/// The type of a public key, which decides the algorithms it may verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Rsa,
    Ec,
}

fn kind_for(alg: Algorithm) -> Option<KeyKind> {
    match alg {
        Algorithm::RS256 => Some(KeyKind::Rsa),
        Algorithm::ES256 => Some(KeyKind::Ec),
        _ => None,
    }
}

impl Verifier {
    /// A verifier for `config` whose key set, if fetched, is verified against the bundled roots only.
    pub fn new(config: AuthConfig) -> Result<Self, AuthConfigError> {
        Self::trusting(config, &crate::outbound::Trust::default())
    }

    /// A verifier for `config`, fetching its key set (if any) over HTTPS that trusts `trust`;
    /// refuses configurations that could not verify safely.
    pub fn trusting(
        config: AuthConfig,
        trust: &crate::outbound::Trust,
    ) -> Result<Self, AuthConfigError> {
        if config.issuer.trim().is_empty() || config.audience.trim().is_empty() {
            return Err(AuthConfigError::NoIssuerOrAudience);
        }
        if config.algorithms.is_empty() {
            return Err(AuthConfigError::NoAlgorithm);
        }
        let mut secret = None;
        for alg in &config.algorithms {
            match alg {
                Algorithm::HS256 => {
                    let s = config
                        .hs256_secret
                        .as_ref()
                        .map(super::Secret::expose)
                        .filter(|s| s.len() >= 32)
                        .ok_or(AuthConfigError::WeakSecret)?;
                    secret = Some(DecodingKey::from_secret(s.as_bytes()));
                }
                Algorithm::RS256 | Algorithm::ES256 => {
                    if config.keys.as_ref().is_none_or(|k| k.keys.is_empty())
                        && config.jwks_url.is_none()
                    {
                        return Err(AuthConfigError::NoKeys(*alg));
                    }
                }
                other => return Err(AuthConfigError::Unsupported(*other)),
            }
        }
        let keys = match &config.keys {
            Some(set) => parse_keys(set)?,
            None => HashMap::new(),
        };
        let fetcher = config
            .jwks_url
            .as_deref()
            .map(|url| KeyFetcher::new(url, trust))
            .transpose()?;
        Ok(Verifier {
            config,
            secret,
            keys: RwLock::new(keys),
            cache: Mutex::new(HashMap::new()),
            fetcher,
        })
    }

    /// The principal of an `Authorization` header value.
    pub fn authenticate(&self, authorization: Option<&str>) -> Result<Arc<Principal>, AuthError> {
        let header = authorization.ok_or(AuthError::Missing)?;
        let (scheme, token) = header.trim().split_once(' ').ok_or(AuthError::Missing)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(AuthError::Missing);
        }
        self.verify(token.trim())
    }

    /// [`Verifier::authenticate`], refetching the key set once when a token names a key it does
    /// not hold (an identity provider rotating its keys), at most every
    /// [`KeyFetcher::MIN_INTERVAL`].
    pub async fn authenticate_refreshing(
        &self,
        authorization: Option<&str>,
    ) -> Result<Arc<Principal>, AuthError> {
        match self.authenticate(authorization) {
            Err(AuthError::UnknownKey) => {
                let Some(fetcher) = &self.fetcher else {
                    return Err(AuthError::UnknownKey);
                };
                if self.refresh(fetcher).await {
                    self.authenticate(authorization)
                } else {
                    Err(AuthError::UnknownKey)
                }
            }
            other => other,
        }
    }

    /// Fetches the key set now (at start-up); `false`, after logging why, when it cannot.
    pub async fn fetch_keys(&self) -> bool {
        match &self.fetcher {
            Some(f) => self.refresh(f).await,
            None => true,
        }
    }

    async fn refresh(&self, fetcher: &KeyFetcher) -> bool {
        let Some(set) = fetcher.fetch().await else {
            return false;
        };
        match parse_keys(&set) {
            Ok(keys) => match self.keys.write() {
                Ok(mut current) => {
                    *current = keys;
                    true
                }
                Err(_) => false,
            },
            Err(e) => {
                tracing::warn!(error = %e, "the fetched key set is unusable; keeping the previous keys");
                false
            }
        }
    }

    /// Verifies `token` (cached while it is valid).
    pub fn verify(&self, token: &str) -> Result<Arc<Principal>, AuthError> {
        let now = now_seconds();
        if let Some(p) = self.cached(token, now) {
            return Ok(p);
        }
        let principal = Arc::new(self.check(token)?);
        self.remember(token, &principal, now);
        Ok(principal)
    }

    fn cached(&self, token: &str, now: i64) -> Option<Arc<Principal>> {
        let cache = self.cache.lock().ok()?;
        cache.get(token).filter(|p| p.expires > now).cloned()
    }

    fn remember(&self, token: &str, principal: &Arc<Principal>, now: i64) {
        let Ok(mut cache) = self.cache.lock() else {
            return;
        };
        if cache.len() >= CACHE_CAPACITY {
            cache.retain(|_, p| p.expires > now);
            if cache.len() >= CACHE_CAPACITY {
                cache.clear();
            }
        }
        cache.insert(token.to_owned(), Arc::clone(principal));
    }

    /// The full check, uncached.
    fn check(&self, token: &str) -> Result<Principal, AuthError> {
        let header = decode_header(token).map_err(|_| AuthError::Malformed)?;
        let alg = header.alg;
        if !self.config.algorithms.contains(&alg) {
            return Err(AuthError::Algorithm);
        }
        let key = match (alg, kind_for(alg)) {
            (Algorithm::HS256, _) => self.secret.as_ref().ok_or(AuthError::Algorithm)?,
            (_, Some(kind)) => {
                let kid = header.kid.as_deref().ok_or(AuthError::UnknownKey)?;
                let keys = self.keys.read().map_err(|_| AuthError::UnknownKey)?;
                match keys.get(kid) {
                    Some((key, k)) if *k == kind => return self.decode(token, alg, key),
                    _ => return Err(AuthError::UnknownKey),
                }
            }
            _ => return Err(AuthError::Algorithm),
        };
        self.decode(token, alg, key)
    }

    /// Checks signature and registered claims with `key`, then reads the principal.
    fn decode(
        &self,
        token: &str,
        alg: Algorithm,
        key: &DecodingKey,
    ) -> Result<Principal, AuthError> {
        let mut validation = Validation::new(alg);
        validation.algorithms = vec![alg];
        validation.leeway = self.config.leeway_seconds;
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data =
            decode::<Map<String, Value>>(token, key, &validation).map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => AuthError::Expired,
                ErrorKind::ImmatureSignature => AuthError::NotYetValid,
                ErrorKind::InvalidIssuer => AuthError::Issuer,
                ErrorKind::InvalidAudience => AuthError::Audience,
                ErrorKind::InvalidSignature => AuthError::Signature,
                ErrorKind::MissingRequiredClaim(c) => AuthError::Claim(c.clone()),
                _ => AuthError::Malformed,
            })?;
        self.principal(&data.claims)
    }

    /// The principal the verified claims describe.
    fn principal(&self, claims: &Map<String, Value>) -> Result<Principal, AuthError> {
        let names = &self.config.claims;
        let claim = |name: &str| AuthError::Claim(name.to_owned());
        // A text claim, trimmed; `None` when absent or blank. One holding a control character
        // invalidates the token: its claims end up in audit records, which PostgreSQL cannot
        // store with a NUL, and no identifier, code or URL has a use for one.
        let text = |name: &str| -> Result<Option<String>, AuthError> {
            match claims.get(name).and_then(Value::as_str) {
                Some(s) if has_control(s) => Err(claim(name)),
                Some(s) => Ok(Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_owned)),
                None => Ok(None),
            }
        };
        let subject = text("sub")?.ok_or_else(|| claim("sub"))?;
        let role: Role = text(&names.role)?
            .and_then(|r| r.parse().ok())
            .ok_or_else(|| claim(&names.role))?;
        let organization = text(&names.organization)?;
        if role.needs_organization() && organization.is_none() {
            return Err(claim(&names.organization));
        }
        let patient = text(&names.patient)?;
        if role == Role::Patient && patient.is_none() {
            return Err(claim(&names.patient));
        }
        let expires = claims
            .get("exp")
            .and_then(Value::as_i64)
            .ok_or_else(|| claim("exp"))?;
        let scopes: Vec<String> = text(&names.scope)?
            .map(|s| s.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default();
        let grants = Grants::new(&scopes);
        // RFC 8705: a certificate-bound token names its certificate's thumbprint.
        let bound_certificate = match claims.get("cnf") {
            None => None,
            Some(cnf) => match cnf.get("x5t#S256").and_then(Value::as_str) {
                Some(t) if !t.is_empty() && !has_control(t) => Some(t.to_owned()),
                // A confirmation the gateway cannot check is not ignored: the token is refused.
                _ => return Err(claim("cnf")),
            },
        };
        Ok(Principal {
            bound_certificate,
            subject,
            role,
            organization,
            fhir_user: text(&names.fhir_user)?,
            scopes,
            grants,
            purpose: text(&names.purpose)?.unwrap_or_else(|| DEFAULT_PURPOSE.to_owned()),
            patient,
            expires,
        })
    }
}

/// The usable keys of a set, by `kid`.
fn parse_keys(set: &JwkSet) -> Result<HashMap<String, (DecodingKey, KeyKind)>, AuthConfigError> {
    let mut keys = HashMap::new();
    for jwk in &set.keys {
        let kid = jwk.common.key_id.clone().unwrap_or_default();
        let bad = |reason: String| AuthConfigError::BadKey {
            kid: kid.clone(),
            reason,
        };
        if kid.is_empty() {
            return Err(bad("a key without 'kid' cannot be chosen".into()));
        }
        let kind = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => KeyKind::Rsa,
            AlgorithmParameters::EllipticCurve(_) => KeyKind::Ec,
            _ => return Err(bad("only RSA and EC (P-256) keys are supported".into())),
        };
        let key = DecodingKey::from_jwk(jwk).map_err(|e| bad(e.to_string()))?;
        keys.insert(kid, (key, kind));
    }
    Ok(keys)
}

fn now_seconds() -> i64 {
    crate::fhir::instant::now_ms() / 1000
}

#[cfg(test)]
mod tests;
