//! The FHIR REST interactions, independent of HTTP: each takes parsed input and returns a [`Reply`].
//! [`Engine::execute`] runs one parsed [`crate::interaction::Request`]; the HTTP layer (`http`) and
//! batch/transaction bundles (`batch`) both call it, after authorising the same value, so an entry
//! in a bundle behaves exactly like the same request sent alone.
//!
//! Decisions where the spec leaves room:
//! - Create ignores a client `id` (the server assigns a random UUID); update with an unknown id
//!   creates it (update-as-create).
//! - An update whose content equals the current version makes no new version (as HAPI does), so
//!   re-sending the same data (imports, retries) is idempotent.
//! - Deleting a resource that never existed is 404; deleting a deleted one is a 204 no-op.
//!   References to a deleted resource are left as they are (no referential integrity on delete).
//! - Duplicate business identifiers (two Patients with one NHS number) are not refused: clients that
//!   must not duplicate use conditional create (`If-None-Exist`), which is atomic.
//! - A conditional read (`If-None-Match`, `If-Modified-Since`) is decided like any read first: a
//!   hidden resource is 404 whatever the client claims to hold, and a 304 is audited as a read.
//! - PATCH takes JSON Patch (`patch.rs`); not supported (yet): FHIRPath Patch (501), PATCH in a
//!   bundle, `_history` `_at`, XML.
//!
//! Writes take the caller's [`Gate`] and the request's audit [`crate::audit::write::Recording`]: a conditional write by a
//! caller who cannot see everything matches only what that caller can see (a hidden resource is
//! as good as absent), and every write appends its event in its own transaction.

pub mod artefacts;
mod batch;
pub mod bundle;
mod chain;
mod changes;
mod execute;
pub mod explain;
mod extract;
mod history;
mod job;
mod message;
pub mod parameters;
mod patch;
mod prefer;
mod read;
mod references;
pub mod rules;
mod search;
mod validate;
mod view;
mod walk;
mod write;

use actix_web::http::StatusCode;
use serde_json::Value;

pub use prefer::{Prefer, Return};
pub use walk::{Walk, WalkPage};
pub use write::{Mark, Visible};

use crate::access::Gate;
use crate::access::gate::ConsentSettings;
use crate::error::Error;
use crate::fhir::{OutcomeIssue, ResourceType, operation_outcome};
use crate::search::{ParseOptions, SearchQuery};
use crate::store::{Store, StoredResource};

pub use crate::fhir::body::Body;

/// What an interaction produced.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: StatusCode,
    /// The body, if any.
    pub body: Option<Body>,
    /// `Location` / `Content-Location`: `Type/id/_history/v`, relative to the base URL.
    pub location: Option<String>,
    /// The version, for `ETag: W/"v"`.
    pub version: Option<u64>,
    /// For `Last-Modified`, epoch milliseconds.
    pub last_modified: Option<i64>,
}

impl Reply {
    /// A reply carrying one stored resource.
    fn resource(status: StatusCode, r: &StoredResource, body: Option<Body>) -> Self {
        Reply {
            status,
            body,
            location: Some(r.version_reference()),
            version: Some(r.version),
            last_modified: Some(r.last_updated),
        }
    }

    /// A 200 reply with JSON text built for it (bundles).
    pub fn raw(text: String) -> Self {
        Reply {
            status: StatusCode::OK,
            body: Some(Body::Raw(text)),
            location: None,
            version: None,
            last_modified: None,
        }
    }

    /// A reply with only a status.
    fn empty(status: StatusCode) -> Self {
        Reply {
            status,
            body: None,
            location: None,
            version: None,
            last_modified: None,
        }
    }

    /// A reply with only a body (operations that build their answer).
    pub fn json(status: StatusCode, body: Value) -> Self {
        Reply {
            status,
            body: Some(Body::Json(body)),
            location: None,
            version: None,
            last_modified: None,
        }
    }

    /// A read's reply, or 304 Not Modified without a body when `fresh` (the client's
    /// `If-None-Match` / `If-Modified-Since`) says the client holds this version. Only a body served
    /// as stored qualifies: a redacted one depends on the consent of the moment as well as the
    /// version, so its ETag cannot vouch for the client's copy, and it is always sent in full.
    pub fn unless_fresh(self, fresh: Option<&crate::interaction::Freshness>) -> Self {
        let stored = matches!(self.body, Some(Body::Raw(_)));
        match (fresh, self.version, self.last_modified) {
            (Some(f), Some(v), Some(t)) if stored && f.unchanged(v, t) => Reply {
                status: StatusCode::NOT_MODIFIED,
                body: None,
                ..self
            },
            _ => self,
        }
    }

    /// A reply carrying a stored resource, shaped by `Prefer: return=`.
    fn written(status: StatusCode, r: &StoredResource, prefer: Return, message: &str) -> Self {
        let body = match prefer {
            Return::Representation => Some(Body::Raw(r.body.clone())),
            Return::Minimal => None,
            Return::OperationOutcome => {
                Some(Body::Json(operation_outcome(&[OutcomeIssue::information(
                    "informational",
                    message,
                )])))
            }
        };
        Reply::resource(status, r, body)
    }
}

/// The interactions, bound to a store and the deployment's settings.
#[derive(Clone)]
pub struct Engine {
    store: Store,
    canonical: crate::hna::Canonical,
    extract_threshold: i64,
    base_url: String,
    default_page_size: usize,
    max_page_size: usize,
    max_search_results: usize,
    /// State of the HNA/PCSP write rules (the compiled-Questionnaire cache), shared by clones.
    hna_rules: std::sync::Arc<rules::Rules>,
    /// The consent engine's policy and vocabulary.
    consent: ConsentSettings,
    /// Where Subscriptions may send notifications (`crate::notify`).
    channel_rules: crate::subscription::ChannelRules,
}

/// What an engine is configured with: the part of the gateway's settings the interactions use
/// (picked out by [`crate::config::Settings::engine_settings`], so that this layer does not
/// import the configuration).
#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// Canonical base of the conformance artefacts.
    pub canonical_base: String,
    /// `$extract`'s default threshold.
    pub extract_threshold: i64,
    /// The public base URL of the FHIR API.
    pub base_url: String,
    /// Page size when a search names none.
    pub default_page_size: usize,
    /// Largest page size served.
    pub max_page_size: usize,
    /// Most results a search collects.
    pub max_search_results: usize,
    /// Hosts Subscriptions may send notifications to.
    pub notify_allowed_hosts: Vec<String>,
    /// Development mode (no `[auth]`): plain http to loopback for a local receiver.
    pub development: bool,
    /// Delivery attempts per notification.
    pub notify_max_attempts: u64,
    /// The deployment's consent policy.
    pub consent_policy: crate::consent::Policy,
}

impl Engine {
    /// An engine over `store` configured by `settings`.
    pub fn new(store: Store, settings: EngineSettings) -> Self {
        let canonical = crate::hna::Canonical::new(&settings.canonical_base);
        Engine {
            store,
            consent: ConsentSettings {
                policy: std::sync::Arc::new(settings.consent_policy),
                vocab: std::sync::Arc::new(crate::consent::Vocabulary::new(&canonical)),
                cache: std::sync::Arc::default(),
            },
            canonical,
            extract_threshold: settings.extract_threshold,
            base_url: settings.base_url,
            default_page_size: settings.default_page_size,
            max_page_size: settings.max_page_size,
            max_search_results: settings.max_search_results,
            hna_rules: std::sync::Arc::default(),
            channel_rules: crate::subscription::ChannelRules {
                allowed_hosts: settings.notify_allowed_hosts,
                loopback_http: settings.development,
                max_attempts: settings.notify_max_attempts,
            },
        }
    }

    /// The consent engine's settings.
    pub fn consent(&self) -> &ConsentSettings {
        &self.consent
    }

    /// The access gate of one request by `principal`.
    pub fn gate(
        &self,
        principal: std::sync::Arc<crate::auth::Principal>,
        break_glass_reason: Option<String>,
    ) -> Gate {
        Gate::new(
            principal,
            break_glass_reason,
            self.consent.clone(),
            self.store.clone(),
        )
    }

    /// A gate for the gateway's own jobs (imports, sample data, tests): a system caller.
    pub fn system_gate(&self) -> Gate {
        self.gate(std::sync::Arc::new(crate::auth::Principal::system()), None)
    }

    /// The HNA/PCSP rules' state.
    pub fn hna_rules(&self) -> &rules::Rules {
        &self.hna_rules
    }

    /// The store (readiness checks).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The canonical URLs of the HNA conformance artefacts.
    pub fn canonical(&self) -> &crate::hna::Canonical {
        &self.canonical
    }

    /// The default `$extract` severity threshold.
    pub fn extract_threshold(&self) -> i64 {
        self.extract_threshold
    }

    /// The public base URL of the FHIR API.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Page sizes for parsing searches, lenient or not (`Prefer: handling=lenient`).
    pub fn parse_options(&self, lenient: bool) -> ParseOptions {
        ParseOptions {
            lenient,
            default_count: self.default_page_size,
            max_count: self.max_page_size,
        }
    }

    /// Where Subscriptions may send notifications.
    pub fn channel_rules(&self) -> &crate::subscription::ChannelRules {
        &self.channel_rules
    }

    /// What the request parse needs of this deployment.
    pub fn parse_context(&self, lenient: bool) -> crate::interaction::Context<'_> {
        crate::interaction::Context {
            base_url: &self.base_url,
            search: self.parse_options(lenient),
        }
    }

    /// Parses conditional criteria given as text (`Type?criteria` or `criteria`) for `rtype`.
    pub fn criteria(&self, rtype: ResourceType, text: &str) -> Result<SearchQuery, Error> {
        Ok(*crate::interaction::parse_criteria(
            rtype,
            text,
            &self.parse_context(false),
        )?)
    }
}

/// Parses a request body as JSON (400 with the parser's position when it is not), and refuses one
/// with a control character FHIR forbids in a string or element name (400 naming each, see
/// [`crate::fhir::text`]): every body is checked here once, whatever it is (a resource, Parameters,
/// a Bundle and every entry in it), before any of it reaches the store.
pub fn parse_json(bytes: &[u8]) -> Result<Value, Error> {
    let body = serde_json::from_slice(bytes)
        .map_err(|e| Error::InvalidJson(format!("line {} column {}", e.line(), e.column())))?;
    crate::fhir::text::check_json(bytes, &body)?;
    Ok(body)
}

/// Parses a type name from a URL segment.
pub fn parse_type(s: &str) -> Result<ResourceType, Error> {
    s.parse().map_err(|_| Error::UnknownType(s.to_owned()))
}

/// Creates `body` through `engine` as one of the gateway's own jobs and returns the id assigned:
/// for unit tests that need records in the real store.
#[cfg(test)]
pub async fn test_create(engine: &Engine, rtype: ResourceType, body: Value) -> String {
    let reply = engine
        .job_create(rtype, body, None, Return::Minimal)
        .await
        .expect("created");
    reply
        .location
        .as_deref()
        .and_then(|l| l.split('/').nth(1))
        .map(str::to_owned)
        .expect("a location")
}
