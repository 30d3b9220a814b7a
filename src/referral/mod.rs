//! Referrals that close the loop (FHIR workflow "option F", as the SDOH Clinical Care and BaRS
//! guides use it): a referral is a `ServiceRequest` from the sending organisation (`requester`)
//! to the receiving one (`performer`), and the receiver answers on its fulfilment `Task` (`focus`
//! the referral, `owner` the receiver).
//!
//! - [`shape`]: the two profiles' rules, checked on every write before its transaction (422
//!   naming the element).
//! - [`status`]: the Task's state machine and the referral status each Task status gives.
//! - [`change`]: what each party may change of a Task or referral it already has (pure).
//! - [`settle`]: inside the write's store transaction, after its writes: the new Task's
//!   consistency with its referral, each change's legality, and the writes that keep the pair in
//!   step (a Task's status moves its referral's; a referral revoked by its requester cancels its
//!   open Task), all committed with the write or not at all.
//!
//! Every `ServiceRequest` carebridge holds is a referral and every `Task` a referral's fulfilment
//! Task: the gateway exists for these, and one rule for all of them leaves no shape unchecked.

pub mod change;
pub mod settle;
pub mod shape;
pub mod status;

pub use settle::{Consequence, Touched, settle, verify};
pub use status::{Mover, TaskStatus};

pub use crate::fhir::codes::{FULFILL, REFERRAL_CATEGORY, SNOMED, TASK_CODE_SYSTEM};
