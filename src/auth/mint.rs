//! `carebridge token`: development tokens for trying every role, signed with the deployment's HS256
//! secret, or in development mode (no `[auth]`) with the gateway's own (see [`super::dev`]). It
//! refuses when `[auth]` pins no HS256 secret, so it cannot mint tokens a production deployment
//! (RS256 or ES256 keys held by its identity provider) would accept.

use std::path::PathBuf;

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Map, Value, json};

use super::principal::{DEFAULT_PURPOSE, Role};
use super::settings::AuthSettings;

/// Longest lifetime of a development token, minutes (a day).
const MAX_MINUTES: u32 = 24 * 60;

/// Arguments of `carebridge token`.
#[derive(Debug, Clone, clap::Args)]
pub struct TokenArgs {
    /// The sharing role: link-worker, cns, gp, housing, social-care, patient, auditor, system.
    #[arg(long)]
    pub role: String,
    /// The caller's ODS organisation code (required for every role but patient and auditor).
    #[arg(long)]
    pub org: Option<String>,
    /// The patient id, for a patient token.
    #[arg(long)]
    pub patient: Option<String>,
    /// `sub` (default `dev-<role>`).
    #[arg(long)]
    pub sub: Option<String>,
    /// `fhirUser`, e.g. `Practitioner/123`.
    #[arg(long)]
    pub fhir_user: Option<String>,
    /// Scopes, space separated (default: read and search of everything in the role's context).
    #[arg(long)]
    pub scope: Option<String>,
    /// Purpose of use (v3-ActReason code).
    #[arg(long, default_value = DEFAULT_PURPOSE)]
    pub purpose: String,
    /// Lifetime in minutes (at most a day).
    #[arg(long, default_value_t = 60)]
    pub minutes: u32,
    /// A TOML configuration file; CAREBRIDGE_* environment variables override it.
    #[arg(long, env = "CAREBRIDGE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Print development client credentials instead (`client_id=` and `client_secret=` lines), for
    /// a SMART client to get its own tokens from the development token endpoint.
    #[arg(long)]
    pub client: bool,
}

/// Why no token was minted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MintError {
    /// No HS256 secret configured.
    #[error(
        "development tokens are signed with the HS256 secret: configure auth.hs256_secret (CAREBRIDGE_AUTH_HS256_SECRET) and HS256 in auth.algorithms"
    )]
    NoSecret,
    /// An argument the verifier would refuse.
    #[error("{0}")]
    Argument(String),
}

/// The default scopes of a role: read and search in its context, and the writes the write table
/// (`access::writes`) gives the role: a token never needs more than its role may do.
pub fn default_scope(role: Role) -> &'static str {
    match role {
        Role::Patient => "patient/*.rs patient/Consent.cu",
        Role::LinkWorker => {
            "user/*.rs user/Consent.cu user/QuestionnaireResponse.cu user/CarePlan.cu user/CareTeam.cu user/ServiceRequest.cu user/Task.cu user/Subscription.cu"
        }
        Role::Cns => {
            "user/*.rs user/QuestionnaireResponse.cu user/CarePlan.cu user/CareTeam.cu user/ServiceRequest.cu user/Task.cu user/Subscription.cu"
        }
        Role::Gp => "user/*.rs user/ServiceRequest.cu user/Task.cu user/Subscription.cu",
        Role::Housing | Role::SocialCare => "user/*.rs user/Task.u user/Subscription.cu",
        Role::System => "system/*.cruds",
        Role::Auditor => "user/*.rs",
    }
}

/// The scopes granted to a development client of `role` that asked for `requested`: those it asked
/// for among its role's defaults, or all the defaults when it asked for none of them (RFC 6749
/// 3.3 lets the server grant other scopes than requested; the token response says which).
pub fn granted_scope(role: Role, requested: Option<&str>) -> String {
    let defaults: Vec<&str> = default_scope(role).split_whitespace().collect();
    let asked: Vec<&str> = requested
        .unwrap_or_default()
        .split_whitespace()
        .filter(|s| defaults.contains(s))
        .collect();
    if asked.is_empty() {
        defaults.join(" ")
    } else {
        asked.join(" ")
    }
}

/// A signed development token for `args`, valid from `now` (seconds since the epoch).
pub fn mint(auth: &AuthSettings, args: &TokenArgs, now: i64) -> Result<String, MintError> {
    let secret = auth
        .hs256_secret
        .as_ref()
        .map(super::Secret::expose)
        .filter(|_| auth.algorithms.contains(&Algorithm::HS256))
        .ok_or(MintError::NoSecret)?;
    let role: Role = args
        .role
        .parse()
        .map_err(|()| MintError::Argument(format!("'{}' is not a sharing role", args.role)))?;
    if role.needs_organization() && args.org.is_none() {
        return Err(MintError::Argument(format!("--org is required for {role}")));
    }
    if role == Role::Patient && args.patient.is_none() {
        return Err(MintError::Argument(
            "--patient is required for patient".into(),
        ));
    }
    if args.minutes == 0 || args.minutes > MAX_MINUTES {
        return Err(MintError::Argument(format!(
            "--minutes must be between 1 and {MAX_MINUTES}"
        )));
    }
    let names = &auth.claims;
    let mut claims = Map::new();
    let mut put = |k: &str, v: Value| {
        claims.insert(k.to_owned(), v);
    };
    put("iss", json!(auth.issuer));
    put("aud", json!(auth.audience));
    put(
        "sub",
        json!(args.sub.clone().unwrap_or_else(|| format!("dev-{role}"))),
    );
    put("iat", json!(now));
    put("exp", json!(now + i64::from(args.minutes) * 60));
    put(&names.role, json!(role.code()));
    put(&names.purpose, json!(args.purpose));
    put(
        &names.scope,
        json!(args.scope.as_deref().unwrap_or(default_scope(role))),
    );
    if let Some(o) = &args.org {
        put(&names.organization, json!(o));
    }
    if let Some(p) = &args.patient {
        put(&names.patient, json!(p));
    }
    if let Some(u) = &args.fhir_user {
        put(&names.fhir_user, json!(u));
    }
    encode(
        &Header::new(Algorithm::HS256),
        &Value::Object(claims),
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .map_err(|e| MintError::Argument(e.to_string()))
}

/// A token for the development `client` with `scope`, valid for `minutes` from `now`: what the
/// development token endpoint issues.
pub fn token_for_client(
    auth: &AuthSettings,
    client: &super::client::DevClient,
    scope: &str,
    minutes: u32,
    now: i64,
) -> Result<String, MintError> {
    let args = TokenArgs {
        role: client.role.code().to_owned(),
        org: client.org.clone(),
        patient: client.patient.clone(),
        sub: Some(client.id()),
        fhir_user: None,
        scope: Some(scope.to_owned()),
        purpose: DEFAULT_PURPOSE.to_owned(),
        minutes,
        config: None,
        client: false,
    };
    mint(auth, &args, now)
}

/// A token for `role` with the defaults of the command (an hour, default scopes, `TREAT`), valid
/// from now: for tests and tools that need one without the command line.
pub fn token_for(
    auth: &AuthSettings,
    role: &str,
    org: Option<&str>,
    patient: Option<&str>,
) -> Result<String, MintError> {
    let args = TokenArgs {
        role: role.to_owned(),
        org: org.map(str::to_owned),
        patient: patient.map(str::to_owned),
        sub: None,
        fhir_user: None,
        scope: None,
        purpose: DEFAULT_PURPOSE.to_owned(),
        minutes: 60,
        config: None,
        client: false,
    };
    mint(auth, &args, crate::fhir::instant::now_ms() / 1000)
}

/// The development client id and secret of the caller `args` describes.
pub fn client_credentials(
    auth: &AuthSettings,
    args: &TokenArgs,
) -> Result<(String, String), MintError> {
    let secret = auth
        .hs256_secret
        .as_ref()
        .map(super::Secret::expose)
        .ok_or(MintError::NoSecret)?;
    let id = match (&args.org, &args.patient) {
        (Some(o), _) => format!("{}.{o}", args.role),
        (None, Some(p)) => format!("{}.{p}", args.role),
        (None, None) => args.role.clone(),
    };
    let client = super::client::DevClient::from_id(&id).ok_or_else(|| {
        MintError::Argument(format!(
            "'{id}' names no development client: a role, with --org (or --patient for a patient)"
        ))
    })?;
    let id = client.id();
    let secret = super::client::client_secret(secret, &id);
    Ok((id, secret))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::verify::{ClaimNames, Verifier};

    fn settings() -> AuthSettings {
        AuthSettings {
            issuer: "https://idp.test".into(),
            audience: "carebridge".into(),
            algorithms: vec![Algorithm::HS256],
            hs256_secret: Some("0123456789abcdef0123456789abcdef".into()),
            jwks_file: None,
            jwks_url: None,
            endpoints: crate::auth::settings::Endpoints::default(),
            leeway_seconds: 30,
            claims: ClaimNames::default(),
        }
    }

    fn args(role: &str) -> TokenArgs {
        TokenArgs {
            role: role.into(),
            org: None,
            patient: None,
            sub: None,
            fhir_user: None,
            scope: None,
            purpose: DEFAULT_PURPOSE.into(),
            minutes: 60,
            config: None,
            client: false,
        }
    }

    #[test]
    fn a_minted_token_verifies_as_the_role_asked_for() {
        let s = settings();
        let verifier = s
            .load()
            .map_err(|e| e.to_string())
            .and_then(|c| Verifier::new(c).map_err(|e| e.to_string()));
        let now = crate::fhir::instant::now_ms() / 1000;
        let mut housing = args("housing");
        housing.org = Some("H0001".into());
        let token = mint(&s, &housing, now);
        let principal = match (&verifier, &token) {
            (Ok(v), Ok(t)) => v.verify(t).ok(),
            _ => None,
        };
        assert_eq!(principal.as_ref().map(|p| p.role), Some(Role::Housing));
        assert_eq!(
            principal.as_ref().map(|p| p.scopes.clone()),
            Some(vec![
                "user/*.rs".to_owned(),
                "user/Task.u".to_owned(),
                "user/Subscription.cu".to_owned()
            ])
        );
        assert_eq!(
            principal.map(|p| p.expires),
            Some(now + 3600),
            "an hour by default"
        );
    }

    #[test]
    fn a_client_is_granted_what_it_asks_among_its_role_defaults() {
        assert_eq!(
            granted_scope(Role::Housing, None),
            "user/*.rs user/Task.u user/Subscription.cu"
        );
        assert_eq!(
            granted_scope(Role::Housing, Some("user/*.rs system/*.cruds")),
            "user/*.rs"
        );
        assert_eq!(
            granted_scope(Role::Housing, Some("system/*.cruds")),
            "user/*.rs user/Task.u user/Subscription.cu",
            "nothing it may have: its defaults"
        );
    }

    #[test]
    fn refuses_without_a_secret_or_with_arguments_the_gateway_would_refuse() {
        let now = 1_800_000_000;
        let mut no_secret = settings();
        no_secret.hs256_secret = None;
        assert_eq!(
            mint(&no_secret, &args("auditor"), now),
            Err(MintError::NoSecret)
        );
        assert!(mint(&settings(), &args("superuser"), now).is_err());
        assert!(mint(&settings(), &args("gp"), now).is_err());
        assert!(mint(&settings(), &args("patient"), now).is_err());
        let mut long = args("auditor");
        long.minutes = MAX_MINUTES + 1;
        assert!(mint(&settings(), &long, now).is_err());
        assert!(mint(&settings(), &args("auditor"), now).is_ok());
    }
}
