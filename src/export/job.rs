//! An export job's state, as kept in the store (`crate::store::exports`) and told to its owner:
//! in progress (with how far it got), complete (the manifest) or failed.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::auth::Principal;
use crate::error::Error;
use crate::fhir::instant::format_instant;
use crate::store::exports::ExportRow;

/// A job that has not saved its progress for this long is taken to have died with its process.
pub const STALE_MS: i64 = 2 * 60 * 1000;
/// How long a job and its files are kept after its last progress (the files' `Expires`).
pub const KEPT_MS: i64 = 60 * 60 * 1000;

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Still writing files.
    InProgress,
    /// Every file written.
    Complete,
    /// Stopped by an error (its message in [`JobState::error`]).
    Failed,
}

/// One output file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Output {
    /// The resource type of every line.
    #[serde(rename = "type")]
    pub rtype: String,
    /// Its number (in its URL).
    pub file: u32,
    /// How many resources it holds.
    pub count: u64,
}

/// What the store keeps of a job besides its row's keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobState {
    /// Where it is.
    pub status: Status,
    /// The kick-off request's URL (the manifest's `request`).
    pub request: String,
    /// The instant the export reflects (the manifest's `transactionTime`), ms since the epoch.
    pub transaction_time: i64,
    /// The files written so far.
    pub outputs: Vec<Output>,
    /// Resources written so far.
    pub resources: u64,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A job: its stored row and its state.
#[derive(Debug, Clone)]
pub struct Job {
    /// The id, owner and times.
    pub row: ExportRow,
    /// Its state.
    pub state: JobState,
}

impl Job {
    /// A new job for `owner`, kicked off by `request` at `now`.
    pub fn new(owner: String, request: String, now: i64) -> Job {
        Job {
            row: ExportRow {
                id: uuid::Uuid::new_v4().simple().to_string(),
                owner,
                created: now,
                updated: now,
                state: String::new(),
            },
            state: JobState {
                status: Status::InProgress,
                request,
                transaction_time: now,
                outputs: Vec::new(),
                resources: 0,
                error: None,
            },
        }
    }

    /// The job a stored row holds.
    pub fn from_row(row: ExportRow) -> Result<Job, Error> {
        let state = serde_json::from_str(&row.state)
            .map_err(|e| Error::internal_from(format!("export job {}", row.id), e))?;
        Ok(Job { row, state })
    }

    /// The row to store, its state and heartbeat brought up to date at `now`.
    pub fn to_row(&mut self, now: i64) -> &ExportRow {
        self.row.updated = now;
        self.row.state = serde_json::to_string(&self.state).unwrap_or_default();
        &self.row
    }

    /// Whether it is in progress but no process has advanced it lately.
    pub fn stale(&self, now: i64) -> bool {
        self.state.status == Status::InProgress && now - self.row.updated > STALE_MS
    }

    /// The Bulk Data manifest of a complete job; file URLs under `base_url`.
    pub fn manifest(&self, base_url: &str) -> Value {
        let output: Vec<Value> = self
            .state
            .outputs
            .iter()
            .map(|o| {
                json!({
                    "type": o.rtype,
                    "url": format!("{base_url}/_export/{}/{}", self.row.id, o.file),
                    "count": o.count,
                })
            })
            .collect();
        json!({
            "transactionTime": format_instant(self.state.transaction_time),
            "request": self.state.request,
            "requiresAccessToken": true,
            "output": output,
            "error": [],
        })
    }
}

/// Whose a job is: the caller's fingerprint ([`Principal::fingerprint`]), so that only the same
/// caller, with the same rights, can poll it, fetch its files or delete it.
pub fn owner_of(p: &Principal) -> String {
    p.fingerprint()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_round_trips_through_its_row_and_goes_stale_without_progress() {
        let mut job = Job::new("o".into(), "http://x/fhir/$export".into(), 1_000);
        job.state.outputs.push(Output {
            rtype: "CarePlan".into(),
            file: 1,
            count: 3,
        });
        let row = job.to_row(2_000).clone();
        let back = Job::from_row(row).expect("reads");
        assert_eq!(back.state, job.state);
        assert!(!back.stale(2_000 + STALE_MS));
        assert!(back.stale(2_001 + STALE_MS));
        let m = back.manifest("http://x/fhir");
        assert_eq!(
            m["output"][0]["url"],
            format!("http://x/fhir/_export/{}/1", back.row.id)
        );
        assert_eq!(m["output"][0]["count"], 3);
        assert_eq!(m["requiresAccessToken"], true);
    }
}
