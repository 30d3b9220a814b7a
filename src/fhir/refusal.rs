//! Why FHIR content is refused, as this module's checks (validation, text, patches) say it. The
//! gateway's error table (`crate::error`) gives each its HTTP status; the checks name nothing
//! above them.

use super::OutcomeIssue;

/// A refusal of content by a check of this module.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The request is malformed (a patch that is not a list of operations, say): 400.
    #[error("bad request: {0}")]
    Malformed(String),
    /// The resource fails structural validation; each issue names its element: 400.
    #[error("invalid resource")]
    Invalid(Vec<OutcomeIssue>),
    /// The resource breaks a business rule (an NHS number's check digit, say): 422.
    #[error("business rule")]
    BusinessRule(Vec<OutcomeIssue>),
}
