//! What the consent engine decides on besides the token and the Consents: the care relationships
//! between organisations and a patient, derived from stored resources (design.md section 3).
//! Reading them is SQL; deciding with them is the consent engine's, which stays pure.

pub mod relationships;

pub use relationships::{Relationship, Relationships, relationships};
