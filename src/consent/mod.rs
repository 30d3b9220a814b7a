//! The consent engine (design.md section 4): a pure decision over the principal, the resource, the
//! patient's Consents, their care relationships and the deployment policy; no actix, no SQL. It is
//! being built in steps: [`policy`] (the deployment's defaults) first.

pub mod policy;

pub use policy::{DefaultDecision, Policy};
