//! What a FHIR request is, worked out once: the served resource types, logical ids, the search
//! parameter registry and the parse of search queries, and (in [`interaction`]) the one parse of a
//! request or bundle entry that authorisation, execution and audit all take.
//!
//! Pure and small on purpose: no HTTP, no SQL, no typed FHIR models. The gateway re-exports it
//! (`carebridge::fhir`, `carebridge::search`), and the fuzz targets in `fuzz/` build against it
//! alone, in seconds.

pub mod id;
pub mod interaction;
mod resource_type;
pub mod search;

pub use resource_type::{ResourceType, UnknownResourceType};
