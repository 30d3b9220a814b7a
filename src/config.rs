//! Configuration: defaults, then a TOML file (`--config`), then `CAREBRIDGE_`-prefixed environment
//! variables. Anything wrong stops start-up with a message naming the setting; nothing falls back
//! silently. Unknown keys in the file and unknown `CAREBRIDGE_` variables are errors too, so a typo
//! cannot leave a default in force unnoticed.
//!
//! | setting | file key | environment variable | default |
//! |---|---|---|---|
//! | listen address | `listen` | `CAREBRIDGE_LISTEN` | `127.0.0.1:8080` |
//! | database URL (`sqlite://path` or `postgres://...`) | `database_url` | `CAREBRIDGE_DATABASE_URL` | `sqlite://data/carebridge.db` |
//! | public base URL of the FHIR API, used in links | `base_url` | `CAREBRIDGE_BASE_URL` | `http://<listen>/fhir` |
//! | largest request body, bytes | `max_body_bytes` | `CAREBRIDGE_MAX_BODY_BYTES` | `4194304` |
//! | metrics (Prometheus text, `/metrics`) and the probes again, plain HTTP on their own address | `metrics_listen` | `CAREBRIDGE_METRICS_LISTEN` | none (off); see [`crate::metrics`] |
//! | on SIGTERM: seconds `/readyz` is 503 while requests are still served, then the most seconds requests under way get to finish | `shutdown_delay`, `shutdown_timeout` | `CAREBRIDGE_SHUTDOWN_DELAY`, `CAREBRIDGE_SHUTDOWN_TIMEOUT` | `5`, `30` |
//! | seconds a request body may take to arrive (then 408) | `request_body_timeout` | `CAREBRIDGE_REQUEST_BODY_TIMEOUT` | `30` |
//! | default search page size | `default_page_size` | `CAREBRIDGE_DEFAULT_PAGE_SIZE` | `20` |
//! | largest search page size | `max_page_size` | `CAREBRIDGE_MAX_PAGE_SIZE` | `1000` |
//! | most results a search pages through | `max_search_results` | `CAREBRIDGE_MAX_SEARCH_RESULTS` | `10000` |
//! | HTTP worker threads (0 = one per core) | `workers` | `CAREBRIDGE_WORKERS` | `0` |
//! | canonical base of the conformance artefacts (profiles, HNA Questionnaire, code systems) | `canonical_base` | `CAREBRIDGE_CANONICAL_BASE` | `https://fhir.carebridge.uk` |
//! | lowest concern severity `$extract` turns into a care-plan activity | `extract_threshold` | `CAREBRIDGE_EXTRACT_THRESHOLD` | `4` |
//! | bearer tokens (issuer, audience, algorithms, keys, claim names) | `[auth]` | `CAREBRIDGE_AUTH_*` | none; see [`crate::auth::settings`] |
//! | consent policy file (defaults per role, sensitive domains) | `consent_policy` | `CAREBRIDGE_CONSENT_POLICY` | docs/design.md's; see [`crate::consent::policy`] |
//! | audit journal directory (durable before the response; keep it on persistent storage) | `audit_dir` | `CAREBRIDGE_AUDIT_DIR` | `audit` beside the SQLite file, else `data/audit` |
//! | this process's audit chain (distinct for every gateway sharing a PostgreSQL database) | `audit_chain` | `CAREBRIDGE_AUDIT_CHAIN` | `gateway` |
//! | audit journal segment size, bytes (each is written as zeros when made, and the next is made while one fills: keep room for two; 65536 up to the default) | `audit_segment_bytes` | `CAREBRIDGE_AUDIT_SEGMENT_BYTES` | `67108864` (64 MiB) |
//! | TLS on the listener: server certificate chain and key (PEM; reloaded when they change or on SIGHUP); plain HTTP without them, meant for loopback development only | `tls_cert_file`, `tls_key_file` | `CAREBRIDGE_TLS_CERT_FILE`, `CAREBRIDGE_TLS_KEY_FILE` | none; see [`crate::tls`] |
//! | client certificates: `off`, `optional` or `required`, verified against the CA bundle | `tls_client_auth`, `tls_client_ca_file` | `CAREBRIDGE_TLS_CLIENT_AUTH`, `CAREBRIDGE_TLS_CLIENT_CA_FILE` | `off` |
//! | failed deliveries in a row before a Subscription is put in `error` (1-100; retried after 1 s, 2 s, 4 s ... up to 5 min) | `notify_max_attempts` | `CAREBRIDGE_NOTIFY_MAX_ATTEMPTS` | `10` (about 17 minutes) |
//! | extra CAs (PEM bundle) that outbound HTTPS (token keys, notifications) trusts besides the bundled roots | `outbound_ca_file` | `CAREBRIDGE_OUTBOUND_CA_FILE` | none; see [`crate::outbound`] |
//! | hosts notification endpoints (`https`) may name; in development mode (no `[auth]`) `http` to loopback too | `notify_allowed_hosts` | `CAREBRIDGE_NOTIFY_ALLOWED_HOSTS` (comma-separated) | none |

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;

use serde::Deserialize;

use crate::auth::settings::{self as auth, AuthSettings, RawAuth};

/// Validated settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Socket address to bind.
    pub listen: SocketAddr,
    /// Store location.
    pub database_url: String,
    /// Public base URL of the FHIR API, without a trailing slash (e.g. `https://host/fhir`).
    pub base_url: String,
    /// Request body limit.
    pub max_body_bytes: usize,
    /// Seconds a request body may take to arrive.
    pub request_body_timeout: u64,
    /// Where `/metrics` (and the probes) are served, when they are.
    pub metrics_listen: Option<SocketAddr>,
    /// Seconds between readiness turning off and the listener closing, on SIGTERM.
    pub shutdown_delay: u64,
    /// Most seconds requests under way get to finish once the listener closed.
    pub shutdown_timeout: u64,
    /// Search page size when `_count` is absent.
    pub default_page_size: usize,
    /// Largest `_count` honoured.
    pub max_page_size: usize,
    /// Most results one search pages through.
    pub max_search_results: usize,
    /// HTTP worker threads; 0 means one per core.
    pub workers: usize,
    /// Canonical base URL of the HNA conformance artefacts (no trailing slash).
    pub canonical_base: String,
    /// Default severity threshold of `QuestionnaireResponse/$extract` (0-10).
    pub extract_threshold: i64,
    /// Bearer token settings, when configured.
    pub auth: Option<AuthSettings>,
    /// The consent engine's deployment policy (read from its file at start-up).
    pub consent_policy: crate::consent::Policy,
    /// Directory of the audit journal ([`crate::audit::journal`]).
    pub audit_dir: std::path::PathBuf,
    /// This process's audit chain: letters, digits, `-` and `_`; not `store`.
    pub audit_chain: String,
    /// Size of the audit journal's segments (preallocated: [`crate::audit::journal`]); smaller
    /// than [`crate::audit::journal::SEGMENT_BYTES`] for a small disk.
    pub audit_segment_bytes: u64,
    /// Hosts (lowercase) that Subscription endpoints may name (`crate::notify`).
    pub notify_allowed_hosts: Vec<String>,
    /// Failed deliveries in a row before a Subscription is put in `error` (`crate::notify`).
    pub notify_max_attempts: u64,
    /// TLS on the listener, when configured.
    pub tls: Option<crate::tls::TlsSettings>,
    /// Whom outbound HTTPS trusts besides the bundled roots (`crate::outbound`).
    pub outbound_trust: crate::outbound::Trust,
}

/// The file form: every key optional, unknown keys rejected.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    listen: Option<String>,
    database_url: Option<String>,
    base_url: Option<String>,
    max_body_bytes: Option<usize>,
    request_body_timeout: Option<usize>,
    shutdown_delay: Option<usize>,
    metrics_listen: Option<String>,
    shutdown_timeout: Option<usize>,
    default_page_size: Option<usize>,
    max_page_size: Option<usize>,
    max_search_results: Option<usize>,
    workers: Option<usize>,
    canonical_base: Option<String>,
    extract_threshold: Option<i64>,
    auth: Option<RawAuth>,
    consent_policy: Option<String>,
    audit_dir: Option<String>,
    audit_chain: Option<String>,
    audit_segment_bytes: Option<usize>,
    notify_allowed_hosts: Option<Vec<String>>,
    outbound_ca_file: Option<String>,
    notify_max_attempts: Option<usize>,
    tls_cert_file: Option<String>,
    tls_key_file: Option<String>,
    tls_client_ca_file: Option<String>,
    tls_client_auth: Option<String>,
}

pub use crate::setting::{ConfigError, read_file};

const PREFIX: &str = "CAREBRIDGE_";

/// Smallest audit journal segment: a few dozen events, so that a segment still holds a batch.
const MIN_SEGMENT_BYTES: u64 = 64 * 1024;
const KNOWN_VARIABLES: &[&str] = &[
    "LISTEN",
    "DATABASE_URL",
    "BASE_URL",
    "MAX_BODY_BYTES",
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "MAX_SEARCH_RESULTS",
    "WORKERS",
    "CANONICAL_BASE",
    "EXTRACT_THRESHOLD",
    "LOG",
    "LOG_FORMAT",
    "CONFIG",
];

impl Settings {
    /// What the interactions' engine is configured with ([`crate::rest::Engine::new`]).
    pub fn engine_settings(&self) -> crate::rest::EngineSettings {
        crate::rest::EngineSettings {
            canonical_base: self.canonical_base.clone(),
            extract_threshold: self.extract_threshold,
            base_url: self.base_url.clone(),
            default_page_size: self.default_page_size,
            max_page_size: self.max_page_size,
            max_search_results: self.max_search_results,
            notify_allowed_hosts: self.notify_allowed_hosts.clone(),
            development: self.auth.is_none(),
            notify_max_attempts: self.notify_max_attempts,
            consent_policy: self.consent_policy.clone(),
        }
    }

    /// Loads settings from an optional file and the process environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let env: BTreeMap<String, String> = std::env::vars().collect();
        Self::from_sources(file, &env)
    }

    /// Loads settings from an optional file and the given environment (testable without the process's).
    pub fn from_sources(
        file: Option<&Path>,
        env: &BTreeMap<String, String>,
    ) -> Result<Self, ConfigError> {
        let mut raw = match file {
            Some(path) => read_file(path, |text| {
                toml::from_str::<RawSettings>(text).map_err(|e| e.message().to_owned())
            })?,
            None => RawSettings::default(),
        };
        for (key, value) in env.iter().filter(|(k, _)| k.starts_with(PREFIX)) {
            let name = &key[PREFIX.len()..];
            let number = || parse_number(key, value);
            match name {
                "LISTEN" => raw.listen = Some(value.clone()),
                "DATABASE_URL" => raw.database_url = Some(value.clone()),
                "BASE_URL" => raw.base_url = Some(value.clone()),
                "MAX_BODY_BYTES" => raw.max_body_bytes = Some(number()?),
                "REQUEST_BODY_TIMEOUT" => raw.request_body_timeout = Some(number()?),
                "SHUTDOWN_DELAY" => raw.shutdown_delay = Some(number()?),
                "METRICS_LISTEN" => raw.metrics_listen = Some(value.clone()),
                "SHUTDOWN_TIMEOUT" => raw.shutdown_timeout = Some(number()?),
                "DEFAULT_PAGE_SIZE" => raw.default_page_size = Some(number()?),
                "MAX_PAGE_SIZE" => raw.max_page_size = Some(number()?),
                "MAX_SEARCH_RESULTS" => raw.max_search_results = Some(number()?),
                "WORKERS" => raw.workers = Some(number()?),
                "CANONICAL_BASE" => raw.canonical_base = Some(value.clone()),
                "CONSENT_POLICY" => raw.consent_policy = Some(value.clone()),
                "AUDIT_DIR" => raw.audit_dir = Some(value.clone()),
                "AUDIT_CHAIN" => raw.audit_chain = Some(value.clone()),
                "AUDIT_SEGMENT_BYTES" => raw.audit_segment_bytes = Some(number()?),
                "OUTBOUND_CA_FILE" => raw.outbound_ca_file = Some(value.clone()),
                "NOTIFY_MAX_ATTEMPTS" => raw.notify_max_attempts = Some(number()?),
                "TLS_CERT_FILE" => raw.tls_cert_file = Some(value.clone()),
                "TLS_KEY_FILE" => raw.tls_key_file = Some(value.clone()),
                "TLS_CLIENT_CA_FILE" => raw.tls_client_ca_file = Some(value.clone()),
                "TLS_CLIENT_AUTH" => raw.tls_client_auth = Some(value.clone()),
                "NOTIFY_ALLOWED_HOSTS" => {
                    raw.notify_allowed_hosts = Some(
                        value
                            .split(',')
                            .map(str::trim)
                            .filter(|h| !h.is_empty())
                            .map(str::to_owned)
                            .collect(),
                    );
                }
                "EXTRACT_THRESHOLD" => {
                    raw.extract_threshold = Some(i64::try_from(number()?).unwrap_or(i64::MAX))
                }
                n if KNOWN_VARIABLES.contains(&n) => {}
                n if auth::apply_env(&mut raw.auth, n, value)? => {}
                _ => return Err(ConfigError::UnknownVariable(key.clone())),
            }
        }
        raw.validate()
    }
}

fn parse_number(name: &str, value: &str) -> Result<usize, ConfigError> {
    value.trim().parse().map_err(|_| ConfigError::Invalid {
        name: name.to_owned(),
        reason: format!("'{value}' is not a whole number"),
    })
}

fn invalid(name: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        name: name.to_owned(),
        reason: reason.into(),
    }
}

impl RawSettings {
    /// The listener's TLS: certificate and key together or not at all; client certificates only
    /// over TLS and with a CA bundle to verify them.
    fn tls(&self) -> Result<Option<crate::tls::TlsSettings>, ConfigError> {
        use crate::tls::ClientAuth;
        let client_auth: ClientAuth = match &self.tls_client_auth {
            Some(mode) => mode.parse().map_err(|e| invalid("tls_client_auth", e))?,
            None => ClientAuth::Off,
        };
        let (cert, key) = match (&self.tls_cert_file, &self.tls_key_file) {
            (Some(c), Some(k)) => (c, k),
            (None, None) => {
                if client_auth != ClientAuth::Off || self.tls_client_ca_file.is_some() {
                    return Err(invalid(
                        "tls_client_auth",
                        "client certificates need TLS (tls_cert_file and tls_key_file)",
                    ));
                }
                return Ok(None);
            }
            (Some(_), None) => return Err(invalid("tls_key_file", "needed with tls_cert_file")),
            (None, Some(_)) => return Err(invalid("tls_cert_file", "needed with tls_key_file")),
        };
        if client_auth != ClientAuth::Off && self.tls_client_ca_file.is_none() {
            return Err(invalid(
                "tls_client_ca_file",
                "needed when tls_client_auth is optional or required",
            ));
        }
        Ok(Some(crate::tls::TlsSettings {
            cert_file: cert.into(),
            key_file: key.into(),
            client_ca_file: self.tls_client_ca_file.as_ref().map(Into::into),
            client_auth,
        }))
    }

    /// The settings, each checked in turn (the first wrong one stops start-up) and defaulted.
    fn validate(self) -> Result<Settings, ConfigError> {
        let tls = self.tls()?;
        let metrics_listen = metrics_listen(self.metrics_listen.as_deref())?;
        let listen = listen(self.listen)?;
        let database_url = database_url(self.database_url)?;
        let base_url = base_url(self.base_url, listen)?;
        let (default_page_size, max_page_size, max_search_results) = page_sizes(
            self.default_page_size,
            self.max_page_size,
            self.max_search_results,
        )?;
        let canonical_base = canonical_base(self.canonical_base)?;
        let extract_threshold = self.extract_threshold.unwrap_or(4);
        if !crate::hna::SEVERITY_RANGE.contains(&extract_threshold) {
            return Err(invalid("extract_threshold", "must be between 0 and 10"));
        }
        let audit_dir = audit_dir(self.audit_dir.as_deref(), &database_url);
        let audit_chain = audit_chain(self.audit_chain)?;
        let audit_segment_bytes = audit_segment_bytes(self.audit_segment_bytes)?;
        let notify_allowed_hosts = notify_allowed_hosts(self.notify_allowed_hosts)?;
        let outbound_trust = match &self.outbound_ca_file {
            Some(file) => crate::outbound::Trust::from_file(Path::new(file))
                .map_err(|e| invalid("outbound_ca_file", e.to_string()))?,
            None => crate::outbound::Trust::default(),
        };
        let notify_max_attempts = match self.notify_max_attempts.unwrap_or(10) {
            n @ 1..=100 => n as u64,
            _ => return Err(invalid("notify_max_attempts", "must be between 1 and 100")),
        };
        Ok(Settings {
            metrics_listen,
            tls,
            notify_max_attempts,
            audit_dir,
            outbound_trust,
            audit_chain,
            audit_segment_bytes,
            notify_allowed_hosts,
            listen,
            database_url,
            base_url,
            max_body_bytes: positive("max_body_bytes", self.max_body_bytes, 4 * 1024 * 1024)?,
            request_body_timeout: positive("request_body_timeout", self.request_body_timeout, 30)?
                as u64,
            shutdown_delay: self.shutdown_delay.unwrap_or(5) as u64,
            shutdown_timeout: positive("shutdown_timeout", self.shutdown_timeout, 30)? as u64,
            default_page_size,
            max_page_size,
            max_search_results,
            workers: self.workers.unwrap_or(0),
            canonical_base,
            extract_threshold,
            auth: self.auth.map(RawAuth::validate).transpose()?,
            consent_policy: match &self.consent_policy {
                Some(path) => crate::consent::Policy::load(Path::new(path))?,
                None => crate::consent::Policy::default(),
            },
        })
    }
}

/// `metrics_listen`: an address, when given.
fn metrics_listen(text: Option<&str>) -> Result<Option<SocketAddr>, ConfigError> {
    match text {
        Some(a) => Ok(Some(a.parse::<SocketAddr>().map_err(|_| {
            invalid(
                "metrics_listen",
                format!("'{a}' is not an address like 0.0.0.0:9090"),
            )
        })?)),
        None => Ok(None),
    }
}

/// `listen`: an address (127.0.0.1:8080 by default).
fn listen(text: Option<String>) -> Result<SocketAddr, ConfigError> {
    let listen_text = text.unwrap_or_else(|| "127.0.0.1:8080".into());
    listen_text.parse().map_err(|_| {
        invalid(
            "listen",
            format!("'{listen_text}' is not an address like 127.0.0.1:8080"),
        )
    })
}

/// `database_url`: a SQLite or PostgreSQL URL with something after the scheme.
fn database_url(text: Option<String>) -> Result<String, ConfigError> {
    let database_url = text.unwrap_or_else(|| "sqlite://data/carebridge.db".into());
    let known_scheme = ["sqlite://", "postgres://", "postgresql://"]
        .iter()
        .any(|s| database_url.starts_with(s));
    if !known_scheme || database_url.ends_with("://") {
        return Err(invalid(
            "database_url",
            "expected sqlite://<path> or postgres://<user>@<host>/<db>",
        ));
    }
    Ok(database_url)
}

/// `base_url`: an absolute http(s) URL without query or fragment (by default the listen address's),
/// kept without a trailing slash.
fn base_url(text: Option<String>, listen: SocketAddr) -> Result<String, ConfigError> {
    let base_url = text.unwrap_or_else(|| format!("http://{listen}/fhir"));
    let base_url = base_url.trim_end_matches('/').to_owned();
    if !(base_url.starts_with("http://") || base_url.starts_with("https://"))
        || base_url.contains(['?', '#', ' '])
    {
        return Err(invalid(
            "base_url",
            "expected an absolute http(s) URL without query or fragment",
        ));
    }
    Ok(base_url)
}

/// A count that must be positive: `v`, or `default` when absent.
fn positive(name: &str, v: Option<usize>, default: usize) -> Result<usize, ConfigError> {
    match v.unwrap_or(default) {
        0 => Err(invalid(name, "must be greater than 0")),
        n => Ok(n),
    }
}

/// The page sizes and the most results a search pages through, each positive and in that order.
fn page_sizes(
    default_page_size: Option<usize>,
    max_page_size: Option<usize>,
    max_search_results: Option<usize>,
) -> Result<(usize, usize, usize), ConfigError> {
    let default_page_size = positive("default_page_size", default_page_size, 20)?;
    let max_page_size = positive("max_page_size", max_page_size, 1000)?;
    let max_search_results = positive("max_search_results", max_search_results, 10_000)?;
    if default_page_size > max_page_size || max_page_size > max_search_results {
        return Err(invalid(
            "default_page_size",
            "need default_page_size <= max_page_size <= max_search_results",
        ));
    }
    Ok((default_page_size, max_page_size, max_search_results))
}

/// `canonical_base`: an absolute http(s) URL with no trailing slash, and nothing that would break
/// a canonical reference (`|`).
fn canonical_base(text: Option<String>) -> Result<String, ConfigError> {
    let canonical_base = text
        .unwrap_or_else(|| crate::hna::DEFAULT_CANONICAL.to_owned())
        .trim_end_matches('/')
        .to_owned();
    if !(canonical_base.starts_with("http://") || canonical_base.starts_with("https://"))
        || canonical_base.contains(['?', '#', ' ', '|'])
    {
        return Err(invalid(
            "canonical_base",
            "expected an absolute http(s) URL",
        ));
    }
    Ok(canonical_base)
}

/// `audit_dir`: as given, else `audit` beside the SQLite file, else `data/audit`.
fn audit_dir(dir: Option<&str>, database_url: &str) -> std::path::PathBuf {
    match (dir, database_url.strip_prefix("sqlite://")) {
        (Some(dir), _) => std::path::PathBuf::from(dir),
        (None, Some(file)) => Path::new(file)
            .parent()
            .unwrap_or(Path::new("."))
            .join("audit"),
        (None, None) => std::path::PathBuf::from("data/audit"),
    }
}

/// `audit_chain`: 1-64 letters, digits, `-` or `_`, and not the store's own chain.
fn audit_chain(text: Option<String>) -> Result<String, ConfigError> {
    let audit_chain = text.unwrap_or_else(|| "gateway".into());
    let chain_ok = (1..=64).contains(&audit_chain.len())
        && audit_chain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && audit_chain != crate::store::STORE_CHAIN;
    if !chain_ok {
        return Err(invalid(
            "audit_chain",
            "expected 1-64 letters, digits, '-' or '_', other than 'store'",
        ));
    }
    Ok(audit_chain)
}

/// `audit_segment_bytes`: between [`MIN_SEGMENT_BYTES`] and the journal's own size (the default).
fn audit_segment_bytes(v: Option<usize>) -> Result<u64, ConfigError> {
    let most = crate::audit::journal::SEGMENT_BYTES;
    match v.map(u64::try_from) {
        None => Ok(most),
        Some(Ok(n)) if (MIN_SEGMENT_BYTES..=most).contains(&n) => Ok(n),
        Some(_) => Err(invalid(
            "audit_segment_bytes",
            format!("must be between {MIN_SEGMENT_BYTES} and {most}"),
        )),
    }
}

/// `notify_allowed_hosts`: bare host names, lowercased.
fn notify_allowed_hosts(hosts: Option<Vec<String>>) -> Result<Vec<String>, ConfigError> {
    let notify_allowed_hosts: Vec<String> = hosts
        .unwrap_or_default()
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    if let Some(bad) = notify_allowed_hosts
        .iter()
        .find(|h| h.is_empty() || h.contains(['/', ':', '@', ' ']))
    {
        return Err(invalid(
            "notify_allowed_hosts",
            format!("'{bad}' is not a host name (no scheme, port or path)"),
        ));
    }
    Ok(notify_allowed_hosts)
}

/// An engine over a new SQLite file in `dir`, with default settings: for unit tests that need the
/// real store behind the engine.
#[cfg(test)]
pub async fn test_engine(dir: &std::path::Path) -> crate::rest::Engine {
    let env: std::collections::BTreeMap<String, String> = [(
        "CAREBRIDGE_DATABASE_URL".to_owned(),
        format!("sqlite://{}", dir.join("test.db").to_string_lossy()),
    )]
    .into_iter()
    .collect();
    let settings = Settings::from_sources(None, &env).expect("settings");
    let store = crate::store::Store::open(&settings.database_url)
        .await
        .expect("store");
    crate::rest::Engine::new(store, settings.engine_settings())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_give_an_embedded_store_on_localhost() {
        let s = Settings::from_sources(None, &env(&[])).expect("defaults");
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(s.database_url, "sqlite://data/carebridge.db");
        assert_eq!(s.base_url, "http://127.0.0.1:8080/fhir");
    }

    #[test]
    fn environment_overrides_the_file() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "listen = \"0.0.0.0:9000\"\nbase_url = \"https://x.nhs.uk/fhir/\"\n",
        )
        .expect("write");
        let s = Settings::from_sources(
            Some(&path),
            &env(&[("CAREBRIDGE_LISTEN", "127.0.0.1:9001")]),
        )
        .expect("ok");
        assert_eq!(s.listen.port(), 9001);
        assert_eq!(s.base_url, "https://x.nhs.uk/fhir");
    }

    #[test]
    fn the_audit_journal_lives_beside_the_embedded_store_unless_told() {
        let beside = Settings::from_sources(
            None,
            &env(&[("CAREBRIDGE_DATABASE_URL", "sqlite:///var/lib/cb/store.db")]),
        )
        .expect("valid");
        assert_eq!(
            beside.audit_dir,
            std::path::PathBuf::from("/var/lib/cb/audit")
        );
        assert_eq!(beside.audit_chain, "gateway");
        assert_eq!(
            beside.audit_segment_bytes,
            crate::audit::journal::SEGMENT_BYTES
        );
        let told = Settings::from_sources(
            None,
            &env(&[
                ("CAREBRIDGE_DATABASE_URL", "postgres://u@h/db"),
                ("CAREBRIDGE_AUDIT_DIR", "/journal"),
                ("CAREBRIDGE_AUDIT_CHAIN", "gw-2"),
                ("CAREBRIDGE_AUDIT_SEGMENT_BYTES", "1048576"),
            ]),
        )
        .expect("valid");
        assert_eq!(told.audit_dir, std::path::PathBuf::from("/journal"));
        assert_eq!(told.audit_chain, "gw-2");
        assert_eq!(told.audit_segment_bytes, 1024 * 1024);
    }

    #[test]
    fn notification_hosts_are_a_lowercase_list_of_bare_host_names() {
        let none = Settings::from_sources(None, &env(&[])).expect("valid");
        assert!(none.notify_allowed_hosts.is_empty());
        let some = Settings::from_sources(
            None,
            &env(&[(
                "CAREBRIDGE_NOTIFY_ALLOWED_HOSTS",
                "Hooks.Housing.example, gp.example,",
            )]),
        )
        .expect("valid");
        assert_eq!(
            some.notify_allowed_hosts,
            ["hooks.housing.example", "gp.example"]
        );
    }

    #[test]
    fn delivery_gives_up_after_ten_attempts_unless_told() {
        let default = Settings::from_sources(None, &env(&[])).expect("valid");
        assert_eq!(default.notify_max_attempts, 10);
        let told = Settings::from_sources(None, &env(&[("CAREBRIDGE_NOTIFY_MAX_ATTEMPTS", "3")]))
            .expect("valid");
        assert_eq!(told.notify_max_attempts, 3);
    }

    #[test]
    fn bad_settings_stop_start_up_with_their_name() {
        let cases = [
            ("CAREBRIDGE_LISTEN", "localhost"),
            ("CAREBRIDGE_DATABASE_URL", "mysql://x"),
            ("CAREBRIDGE_BASE_URL", "ftp://x"),
            ("CAREBRIDGE_MAX_BODY_BYTES", "lots"),
            ("CAREBRIDGE_LISTN", "127.0.0.1:1"),
            ("CAREBRIDGE_AUDIT_CHAIN", "store"),
            ("CAREBRIDGE_AUDIT_CHAIN", "gw 1"),
            ("CAREBRIDGE_AUDIT_SEGMENT_BYTES", "4096"),
            ("CAREBRIDGE_AUDIT_SEGMENT_BYTES", "1073741824"),
            ("CAREBRIDGE_NOTIFY_ALLOWED_HOSTS", "https://hooks.example"),
            ("CAREBRIDGE_NOTIFY_ALLOWED_HOSTS", "hooks.example:8443"),
            ("CAREBRIDGE_NOTIFY_MAX_ATTEMPTS", "0"),
            ("CAREBRIDGE_TLS_CERT_FILE", "/etc/cb/cert.pem"),
            ("CAREBRIDGE_TLS_CLIENT_AUTH", "required"),
            ("CAREBRIDGE_TLS_CLIENT_AUTH", "sometimes"),
            ("CAREBRIDGE_NOTIFY_MAX_ATTEMPTS", "101"),
            ("CAREBRIDGE_OUTBOUND_CA_FILE", "/nonexistent/ca.pem"),
        ];
        for (k, v) in cases {
            let err = Settings::from_sources(None, &env(&[(k, v)])).expect_err(k);
            let text = err.to_string();
            assert!(
                text.contains(&k[PREFIX.len()..].to_lowercase()) || text.contains(k),
                "{k}: {text}"
            );
        }
    }

    #[test]
    fn unknown_file_keys_are_refused() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "lisen = \"0.0.0.0:9000\"\n").expect("write");
        assert!(matches!(
            Settings::from_sources(Some(&path), &env(&[])),
            Err(ConfigError::Parse { .. })
        ));
    }
}
