//! Referral tables: what happened to the referrals an organisation sent or received in the period.
//!
//! A referral is a `ServiceRequest` with the SNOMED CT category `3457005` (patient referral), not
//! `entered-in-error`; its fulfilment is the `Task` (`task-code` `fulfill`) whose `focus` is it.
//!
//! Population for organisation X and period [start, end]: the referrals whose `authoredOn` date, as
//! written (the sender's local date, as for an HNA's `authored`), is in the period, both ends
//! included, and whose requester or first performer is X. So one report shows both directions: for
//! a link-worker service, the referrals it received (from hospitals, GPs, ...) and the onward
//! referrals it made; a referral X made to itself is counted once. The period is about when the
//! referral was made: its outcome is as it stands when the report runs, not at the period's end.
//!
//! Outcomes come from the fulfilment Task, never from the ServiceRequest's status (the gateway
//! derives that one from the Task's):
//! - `rejected`, `cancelled`, `completed`, `failed`: the Task's current status;
//! - `open`: any other current status (`requested`, `received`, `accepted`, `in-progress`,
//!   `on-hold`), or no fulfilment Task (nobody has acted on the referral); a Task
//!   `entered-in-error` is no Task. Should a referral have several fulfilment Tasks (the contract
//!   allows one), the first stored is taken;
//! - `accepted` (not one of the above: a referral can be accepted and later completed or failed):
//!   some version of the Task had the status `accepted`.
//!
//! Times: acceptance is the `meta.lastUpdated` of the Task's earliest version with status
//! `accepted`, completion that of its earliest version with status `completed`; the intervals run
//! from `authoredOn` (the start of its day when it has no time) and are in days with fractions,
//! since a referral is often accepted the day it is made.
//!
//! Reading: the referrals come from two indexed searches (requester, performer) over the period
//! widened by a day each side, so that no time zone drops one, then are kept by their written
//! date; they are fetched in chunks, each chunk bringing its Tasks by one reverse include
//! (`_revinclude=Task:focus`). Only a Task that was updated (version above 1) has its history read,
//! one instance history each, several in flight: the work grows with the referrals in the
//! population, not with the store. The tables are in [`tables`].

mod facts;
mod read;
pub mod tables;

use std::collections::HashMap;

pub use facts::{ReferralFacts, TaskStatus};
pub use read::gather;

/// What became of a referral, from its fulfilment Task's current status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The receiving organisation declined it.
    Rejected,
    /// Withdrawn.
    Cancelled,
    /// Done.
    Completed,
    /// Attempted and not achieved.
    Failed,
    /// None of those yet (or no fulfilment Task).
    Open,
}

impl Outcome {
    /// The outcome of a Task whose current status is `status`; `None` for no Task.
    pub fn of(status: Option<TaskStatus>) -> Self {
        match status {
            Some(TaskStatus::Rejected) => Self::Rejected,
            Some(TaskStatus::Cancelled) => Self::Cancelled,
            Some(TaskStatus::Completed) => Self::Completed,
            Some(TaskStatus::Failed) => Self::Failed,
            _ => Self::Open,
        }
    }
}

/// One referral of the population with its outcome.
#[derive(Debug, Clone)]
pub struct Referral {
    /// What the ServiceRequest says.
    pub facts: ReferralFacts,
    /// What became of it.
    pub outcome: Outcome,
    /// When its Task first had the status `accepted` (epoch milliseconds), if ever.
    pub accepted_ms: Option<i64>,
    /// When its Task first had the status `completed`, for a referral whose outcome is completed.
    pub completed_ms: Option<i64>,
}

/// The population's referrals and the types of the organisations they name.
#[derive(Debug, Clone, Default)]
pub struct Referrals {
    /// The referrals, in store order.
    pub list: Vec<Referral>,
    /// Organization id -> type code, for every requester and performer that has one.
    pub org_types: HashMap<String, String>,
}
