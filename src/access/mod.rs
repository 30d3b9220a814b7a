//! Access control between the REST interactions and the store: what feeds the consent engine (care
//! relationships, the patient's consents, the caller's organisations) is read here, with SQL; the
//! deciding is the consent engine's, which stays pure.

pub mod cache;
pub mod explain;
pub mod gate;
pub mod relationships;

pub use gate::Gate;
pub use relationships::{Relationship, related, relationships, restrict};
