//! The fulfilment Task's state machine (FHIR workflow "option F"): which status may follow which,
//! who may move it, which moves need a reason, and the status the referral then takes.
//!
//! | from | to | by |
//! |---|---|---|
//! | requested | received, accepted, rejected | owner |
//! | requested | cancelled | requester |
//! | received | accepted, rejected | owner |
//! | accepted | in-progress | owner |
//! | accepted | cancelled | requester |
//! | in-progress | on-hold, completed, failed | owner |
//! | on-hold | in-progress | owner |
//!
//! A Task is created `requested`. Rejected, cancelled and failed need a `statusReason`. Completed,
//! rejected, cancelled and failed are final.

use std::fmt;

/// A fulfilment Task's status (the subset of FHIR's `task-status` the workflow uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TaskStatus {
    /// Sent, not yet seen by the receiver.
    Requested,
    /// The receiver has it and is deciding.
    Received,
    /// The receiver will do it.
    Accepted,
    /// The receiver will not do it.
    Rejected,
    /// The sender withdrew it.
    Cancelled,
    /// Work has started.
    InProgress,
    /// Work is paused.
    OnHold,
    /// Done.
    Completed,
    /// Started but could not be done.
    Failed,
}

/// Which party to the referral may make a move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mover {
    /// The receiving organisation (`Task.owner`).
    Owner,
    /// The sending organisation (`Task.requester`).
    Requester,
}

impl TaskStatus {
    /// Every status the workflow knows.
    pub const ALL: [TaskStatus; 9] = [
        TaskStatus::Requested,
        TaskStatus::Received,
        TaskStatus::Accepted,
        TaskStatus::Rejected,
        TaskStatus::Cancelled,
        TaskStatus::InProgress,
        TaskStatus::OnHold,
        TaskStatus::Completed,
        TaskStatus::Failed,
    ];

    /// The FHIR code.
    pub fn code(self) -> &'static str {
        match self {
            TaskStatus::Requested => "requested",
            TaskStatus::Received => "received",
            TaskStatus::Accepted => "accepted",
            TaskStatus::Rejected => "rejected",
            TaskStatus::Cancelled => "cancelled",
            TaskStatus::InProgress => "in-progress",
            TaskStatus::OnHold => "on-hold",
            TaskStatus::Completed => "completed",
            TaskStatus::Failed => "failed",
        }
    }

    /// The status with FHIR code `code`, if the workflow knows it.
    pub fn from_code(code: &str) -> Option<TaskStatus> {
        TaskStatus::ALL.into_iter().find(|s| s.code() == code)
    }

    /// Who may move a Task from `self` to `to`; `None` when the machine has no such move.
    pub fn mover(self, to: TaskStatus) -> Option<Mover> {
        use TaskStatus::*;
        match (self, to) {
            (Requested, Received | Accepted | Rejected)
            | (Received, Accepted | Rejected)
            | (Accepted, InProgress)
            | (InProgress, OnHold | Completed | Failed)
            | (OnHold, InProgress) => Some(Mover::Owner),
            (Requested | Accepted, Cancelled) => Some(Mover::Requester),
            _ => None,
        }
    }

    /// Whether a Task may come to this status only with a `statusReason`.
    pub fn needs_reason(self) -> bool {
        matches!(
            self,
            TaskStatus::Rejected | TaskStatus::Cancelled | TaskStatus::Failed
        )
    }

    /// Whether nothing can follow.
    pub fn is_final(self) -> bool {
        TaskStatus::ALL.iter().all(|to| self.mover(*to).is_none())
    }

    /// The referral's (`ServiceRequest.status`) while its Task is in this status: the request
    /// stands while the Task is open (on hold included: the receiver paused, the referral stands),
    /// is completed with it, and is revoked when it was rejected, cancelled or failed.
    pub fn request_status(self) -> &'static str {
        match self {
            TaskStatus::Completed => "completed",
            TaskStatus::Rejected | TaskStatus::Cancelled | TaskStatus::Failed => "revoked",
            _ => "active",
        }
    }
}

impl fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::TaskStatus::*;
    use super::*;

    #[test]
    fn the_table_in_the_docs_is_the_machine() {
        let mut moves: Vec<(TaskStatus, TaskStatus, Mover)> = Vec::new();
        for from in TaskStatus::ALL {
            for to in TaskStatus::ALL {
                if let Some(m) = from.mover(to) {
                    moves.push((from, to, m));
                }
            }
        }
        use Mover::{Owner as O, Requester as R};
        assert_eq!(
            moves,
            vec![
                (Requested, Received, O),
                (Requested, Accepted, O),
                (Requested, Rejected, O),
                (Requested, Cancelled, R),
                (Received, Accepted, O),
                (Received, Rejected, O),
                (Accepted, Cancelled, R),
                (Accepted, InProgress, O),
                (InProgress, OnHold, O),
                (InProgress, Completed, O),
                (InProgress, Failed, O),
                (OnHold, InProgress, O),
            ]
        );
    }

    #[test]
    fn final_states_and_the_referral_status_they_give() {
        let finals: Vec<_> = TaskStatus::ALL
            .into_iter()
            .filter(|s| s.is_final())
            .collect();
        assert_eq!(finals, vec![Rejected, Cancelled, Completed, Failed]);
        assert_eq!(OnHold.request_status(), "active");
        assert_eq!(Completed.request_status(), "completed");
        assert_eq!(Failed.request_status(), "revoked");
        for s in TaskStatus::ALL {
            assert_eq!(TaskStatus::from_code(s.code()), Some(s));
            assert_eq!(s.needs_reason(), s.request_status() == "revoked");
        }
        assert_eq!(TaskStatus::from_code("draft"), None);
    }
}
