//! Access control: who may make which request ([`policy`], pure: the one home of those rules),
//! authorising a parsed request ([`authorise`]), and the per-request gate every resource passes on
//! its way out ([`gate`]). What feeds the consent engine (care relationships, the patient's
//! consents, the caller's organisations) is read here, with SQL; the deciding is the consent
//! engine's, which stays pure.

pub mod authorise;
pub mod cache;
pub mod gate;
pub mod policy;
pub mod relationships;
pub mod subscriber;
pub mod writes;

pub use authorise::authorise;
pub use gate::{Disclosures, Gate};
pub use relationships::{related, relationships, restrict};
pub use writes::Writer;
