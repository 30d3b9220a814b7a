//! FHIR R4 basics the gateway needs everywhere: resource types, ids and references, time, NHS
//! numbers, OperationOutcome, and validation of incoming resources.

pub mod id;
pub mod instant;
pub mod nhs_number;
pub mod outcome;
mod resource_type;
pub mod validate;

pub use outcome::{OutcomeIssue, Severity, operation_outcome};
pub use resource_type::{ResourceType, UnknownResourceType};
