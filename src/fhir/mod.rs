//! FHIR R4 basics the gateway needs everywhere: resource types, ids (typed where they must not be
//! mixed up: [`ids`], [`ods`]) and references, time, NHS numbers, OperationOutcome, control
//! characters in request text, and validation of incoming resources.

pub mod body;
pub mod codes;
pub mod days;
pub mod elements;
pub mod fhirpath_patch;
pub mod ids;
pub mod instant;
pub mod json_patch;
pub mod nhs_number;
pub mod ods;
pub mod outcome;
pub mod reference;
pub mod refusal;
pub mod text;
pub mod validate;

pub use carebridge_request::id;
pub use carebridge_request::{ResourceType, UnknownResourceType};
pub use outcome::{OutcomeIssue, Severity, operation_outcome};
pub use refusal::Refusal;
