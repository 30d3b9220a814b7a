//! The consent engine (docs/design.md section 4): a pure decision over the recipient, the resource,
//! the patient's Consents, their care relationships and the deployment policy; no actix, no SQL, so
//! it is tested exhaustively here and every read path shares it (`access` feeds it from the store).
//!
//! - [`policy`]: the deployment's defaults (a TOML file);
//! - [`record`]: a `Consent` reduced to its provision tree (and its validation);
//! - [`verdict`]: the verdict on one piece of content (class, domain, concern);
//! - [`decision`]: the decision on a whole resource, with redaction;
//! - [`vocabulary`]: the codes and URLs it recognises.

pub mod decision;
pub mod policy;
pub mod record;
pub mod verdict;
pub mod vocabulary;

pub use decision::{Access, Context, Decision, Withheld};
pub use policy::{DefaultDecision, Policy};
pub use record::{ConsentError, ConsentRecord};
pub use verdict::{Facts, Recipient, Rule};
pub use vocabulary::Vocabulary;

#[cfg(test)]
mod tests;
