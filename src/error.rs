//! The one error type of the gateway and its table: every error maps here to an HTTP status, a FHIR
//! `IssueType` code and a message that is safe to show. 5xx messages never carry internals (the cause
//! is logged instead). Used for plain responses and for batch/transaction entries alike.
//!
//! An internal error keeps what caused it ([`Internal`]: a context and the source error, a store
//! failure for instance), so the place that logs a server fault writes the whole `source()` chain
//! ([`chain`]) while the client is told only "An internal error occurred".
//!
//! | error | status | issue code |
//! |---|---|---|
//! | `InvalidJson`, `BadRequest`, `InvalidResource` (and a content [`Refusal`]) | 400 | `invalid` / `structure` / `required` / `value` |
//! | a request the parse refuses ([`RequestError`]) | 400, 404 or 405 | as the variant it maps to |
//! | `InvalidSearch` | 400 | `invalid` / `not-supported` |
//! | `Unauthenticated` | 401 (with `WWW-Authenticate: Bearer`) | `login` |
//! | `Forbidden`, `ForbiddenContent` | 403 | `forbidden` |
//! | `NotFound`, `UnknownType`, `NoRoute` | 404 | `not-found` |
//! | `MethodNotAllowed` | 405 | `not-supported` |
//! | `NotAcceptable` | 406 | `not-supported` |
//! | `Conflict` | 409 | `conflict` |
//! | `Gone`, `SearchExpired` | 410 | `deleted` / `not-found` |
//! | `PreconditionFailed` | 412 | `conflict` / `multiple-matches` |
//! | `PreconditionRequired` | 428 | `required` |
//! | `RequestTimeout` | 408 | `timeout` |
//! | `PayloadTooLarge` | 413 | `too-costly` |
//! | `UnsupportedMediaType` | 415 | `not-supported` |
//! | `BusinessRule` | 422 | `business-rule` / `value` |
//! | `NotImplemented` | 501 | `not-supported` |
//! | `Unavailable` | 503 | `transient` |
//! | `Internal` | 500 | `exception` |

use std::fmt;

use actix_web::http::StatusCode;

use crate::fhir::{OutcomeIssue, Refusal, ResourceType};
use crate::interaction::RequestError;
use crate::search::SearchParseError;

/// Everything that can go wrong with a request.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No valid bearer token. Whatever check failed, the answer is the same (RFC 6750 allows no
    /// more than "invalid_token"); `token_presented` only decides whether that error code is sent.
    #[error("not authenticated")]
    Unauthenticated {
        /// Whether the request carried a token at all.
        token_presented: bool,
    },
    /// Authenticated, but not allowed this interaction.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// Allowed the interaction, but not this content: each issue names the element the caller
    /// may not write (a requester that is not its organisation, a Task field that is not its to
    /// change).
    #[error("forbidden content")]
    ForbiddenContent(Vec<OutcomeIssue>),
    /// The body is not JSON.
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    /// The request is malformed in a way that has no more specific variant.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The resource fails structural validation; each issue names its element.
    #[error("invalid resource")]
    InvalidResource(Vec<OutcomeIssue>),
    /// The resource breaks a business rule (e.g. an NHS number check digit).
    #[error("business rule")]
    BusinessRule(Vec<OutcomeIssue>),
    /// The search cannot be run.
    #[error(transparent)]
    InvalidSearch(#[from] SearchParseError),
    /// No such resource (also: not visible to the caller).
    #[error("not found")]
    NotFound { rtype: ResourceType, id: String },
    /// The URL names a type this server does not serve.
    #[error("unknown resource type")]
    UnknownType(String),
    /// No route for the path.
    #[error("no route")]
    NoRoute,
    /// The route exists but not with this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// Only JSON is served.
    #[error("not acceptable")]
    NotAcceptable,
    /// A concurrent change won.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A paging link whose saved search expired.
    #[error("search expired")]
    SearchExpired,
    /// The resource was deleted.
    #[error("gone")]
    Gone { rtype: ResourceType, id: String },
    /// `If-Match` or a conditional interaction's precondition failed.
    #[error("precondition failed: {0}")]
    PreconditionFailed(String),
    /// An update that must name the version it replaces (`If-Match`) did not.
    #[error("precondition required: {0}")]
    PreconditionRequired(String),
    /// Several resources matched a conditional interaction that needs one.
    #[error("multiple matches")]
    MultipleMatches(String),
    /// The body did not arrive within the deadline (`request_body_timeout`).
    #[error("request body too slow")]
    RequestTimeout,
    /// The body is over the configured limit.
    #[error("payload too large")]
    PayloadTooLarge,
    /// The body is not FHIR JSON.
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// A message or operation the gateway does not handle (an event it has no workflow for).
    #[error("not implemented: {0}")]
    NotImplemented(String),
    /// The store is unavailable; retry later.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A fault of ours; details (and their cause) are logged only.
    #[error(transparent)]
    Internal(Internal),
}

/// What an internal error says to the log: what was being done, and the error that caused it, as
/// its [`source`](std::error::Error::source) (not flattened into text), so the log shows every
/// cause down to the database's own error ([`chain`]). None of it reaches a client.
#[derive(Debug)]
pub struct Internal {
    context: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl fmt::Display for Internal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "internal: {}", self.context)
    }
}

impl std::error::Error for Internal {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl Error {
    /// An internal error described by `context` alone (nothing caused it but our own logic).
    pub fn internal(context: impl Into<String>) -> Self {
        Error::Internal(Internal {
            context: context.into(),
            source: None,
        })
    }

    /// An internal error while doing `context`, caused by `source` (kept, for the log).
    pub fn internal_from(
        context: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Error::Internal(Internal {
            context: context.into(),
            source: Some(source.into()),
        })
    }
}

/// `e` and every cause under it (`source()`), joined by `: `: the form an error takes in the log.
pub fn chain<'e>(e: &'e (dyn std::error::Error + 'static)) -> Chain<'e> {
    Chain(e)
}

/// An error with its causes, for `Display` ([`chain`]).
pub struct Chain<'e>(&'e (dyn std::error::Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(c) = cause {
            write!(f, ": {c}")?;
            cause = c.source();
        }
        Ok(())
    }
}

impl From<RequestError> for Error {
    fn from(e: RequestError) -> Self {
        match e {
            RequestError::UnknownType(t) => Error::UnknownType(t),
            RequestError::NoRoute => Error::NoRoute,
            RequestError::MethodNotAllowed => Error::MethodNotAllowed,
            RequestError::Search(e) => Error::InvalidSearch(e),
            RequestError::NoSuchVersion(rtype, id) => Error::NotFound { rtype, id },
            e @ (RequestError::InvalidId
            | RequestError::OtherServer
            | RequestError::Malformed(_)) => Error::BadRequest(e.to_string()),
        }
    }
}

impl From<Refusal> for Error {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Malformed(m) => Error::BadRequest(m),
            Refusal::Invalid(issues) => Error::InvalidResource(issues),
            Refusal::BusinessRule(issues) => Error::BusinessRule(issues),
        }
    }
}

impl Error {
    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::InvalidJson(_)
            | Error::BadRequest(_)
            | Error::InvalidResource(_)
            | Error::InvalidSearch(_) => StatusCode::BAD_REQUEST,
            Error::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) | Error::ForbiddenContent(_) => StatusCode::FORBIDDEN,
            Error::NotFound { .. } | Error::UnknownType(_) | Error::NoRoute => {
                StatusCode::NOT_FOUND
            }
            Error::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Error::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::Gone { .. } | Error::SearchExpired => StatusCode::GONE,
            Error::PreconditionFailed(_) | Error::MultipleMatches(_) => {
                StatusCode::PRECONDITION_FAILED
            }
            Error::PreconditionRequired(_) => StatusCode::PRECONDITION_REQUIRED,
            Error::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Error::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Error::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::BusinessRule(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The OperationOutcome issues shown to the client (safe: no internals).
    pub fn issues(&self) -> Vec<OutcomeIssue> {
        let one = |code, msg: String| vec![OutcomeIssue::error(code, msg)];
        match self {
            Error::InvalidJson(m) => one("structure", format!("The body is not valid JSON: {m}")),
            Error::BadRequest(m) => one("invalid", m.clone()),
            Error::Unauthenticated { .. } => one(
                "login",
                "Authentication required: send a valid bearer token".into(),
            ),
            Error::Forbidden(m) => one("forbidden", m.clone()),
            Error::InvalidResource(issues)
            | Error::BusinessRule(issues)
            | Error::ForbiddenContent(issues) => issues.clone(),
            Error::InvalidSearch(e @ SearchParseError::NotSupported(_)) => {
                one("not-supported", e.to_string())
            }
            Error::InvalidSearch(e) => one("invalid", e.to_string()),
            Error::NotFound { rtype, id } => {
                one("not-found", format!("Resource {rtype}/{id} is not known"))
            }
            Error::UnknownType(t) => one(
                "not-found",
                format!("Resource type '{}' is not supported", clip(t)),
            ),
            Error::NoRoute => one("not-found", "No such endpoint".into()),
            Error::MethodNotAllowed => one(
                "not-supported",
                "Method not allowed on this endpoint".into(),
            ),
            Error::NotAcceptable => one(
                "not-supported",
                "Only application/fhir+json is served".into(),
            ),
            Error::Conflict(m) => one("conflict", m.clone()),
            Error::Gone { rtype, id } => {
                one("deleted", format!("Resource {rtype}/{id} has been deleted"))
            }
            Error::SearchExpired => {
                one("not-found", "This search has expired; run it again".into())
            }
            Error::PreconditionFailed(m) => one("conflict", m.clone()),
            Error::MultipleMatches(m) => one("multiple-matches", m.clone()),
            Error::PreconditionRequired(m) => one("required", m.clone()),
            Error::RequestTimeout => one(
                "timeout",
                "The request body did not arrive in time; nothing was done".into(),
            ),
            Error::PayloadTooLarge => one(
                "too-costly",
                "The request body is larger than this server accepts".into(),
            ),
            Error::UnsupportedMediaType => one(
                "not-supported",
                "Send application/fhir+json (or application/json)".into(),
            ),
            Error::NotImplemented(m) => one("not-supported", m.clone()),
            Error::Unavailable(_) => one(
                "transient",
                "The service is temporarily unavailable; retry later".into(),
            ),
            Error::Internal(_) => one("exception", "An internal error occurred".into()),
        }
    }

    /// True when the cause must be logged because the client sees only a generic message.
    pub fn is_server_fault(&self) -> bool {
        self.status().is_server_error() && !matches!(self, Error::NotImplemented(_))
    }
}

/// Shortens client text echoed in messages.
fn clip(s: &str) -> String {
    s.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fhir::operation_outcome;
    use crate::store::StoreError;

    #[test]
    fn a_store_failure_keeps_its_cause_for_the_log_and_tells_the_client_nothing_of_it() {
        let e: Error = StoreError::Database("disk I/O error on page 7".into()).into();
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let log = chain(&e).to_string();
        assert!(log.contains("disk I/O error on page 7"), "{log}");
        assert!(log.starts_with("internal: "), "{log}");
        let body = operation_outcome(&e.issues()).to_string();
        assert!(!body.contains("disk I/O"), "{body}");
        assert!(body.contains("An internal error occurred"), "{body}");
    }

    #[test]
    fn a_chain_names_every_cause_once_in_order() {
        let json = serde_json::from_str::<serde_json::Value>("{").expect_err("not JSON");
        let cause = json.to_string();
        let e = Error::internal_from("stored Consent is not JSON", json);
        assert_eq!(
            chain(&e).to_string(),
            format!("internal: stored Consent is not JSON: {cause}")
        );
        assert_eq!(e.to_string(), "internal: stored Consent is not JSON");
        let bare = Error::internal("patient data without a patient");
        assert_eq!(
            chain(&bare).to_string(),
            "internal: patient data without a patient"
        );
    }
}
