//! Why a request could not be classified. Each maps to one HTTP status in the gateway's error
//! table; the messages are safe to show (they echo at most a clipped type name).

use crate::search::SearchParseError;

/// Why a request (or bundle entry) is not an interaction the gateway serves.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The path names a type the gateway does not serve (404).
    #[error("Resource type '{0}' is not supported")]
    UnknownType(String),
    /// No interaction has this path (404).
    #[error("No such endpoint")]
    NoRoute,
    /// The path is known but not with this method (405).
    #[error("Method not allowed on this endpoint")]
    MethodNotAllowed,
    /// A version in a vread path that no resource can have (not a positive number): 404, as
    /// for a version that does not exist.
    #[error("Resource {0}/{1} has no such version")]
    NoSuchVersion(crate::ResourceType, String),
    /// An id in the path that is not a FHIR id (400).
    #[error("The id in the URL is not a valid FHIR id")]
    InvalidId,
    /// A bundle entry URL under another server's base, or of another scheme (400).
    #[error("The URL is not under this server's base URL")]
    OtherServer,
    /// The search or conditional criteria cannot be parsed (400).
    #[error(transparent)]
    Search(#[from] SearchParseError),
    /// Anything else malformed (400).
    #[error("{0}")]
    Malformed(String),
}

impl RequestError {
    pub(crate) fn malformed(msg: impl Into<String>) -> Self {
        RequestError::Malformed(msg.into())
    }
}
