//! FHIR Bulk Data `$export` (Bulk Data Access IG v2): asynchronous kick-off at system, `Patient`
//! and `Group/[id]` level, status polling, NDJSON files behind the same authentication, deletion.
//!
//! An export is consent-filtered exactly as a search by the same caller: each type is authorised
//! as that caller's search of it ([`plan`]), and its resources are read by walking those searches
//! with the caller's gate (`crate::rest::walk`): narrowed in SQL, every match decided by consent,
//! matched on the view the caller is shown, redacted as a read would be. Decisions:
//! - The kick-off needs `Prefer: respond-async` (400 without). It answers 202 with the job's
//!   status URL (`[base]/_export/[job]`) in `Content-Location`.
//! - Only the caller who started a job (the same subject, role, organisation, patient, purpose and
//!   scopes: [`owner_of`]) can poll it, fetch its files or delete it; anyone else gets 404, as for
//!   a job that does not exist.
//! - Jobs and files live in the database (`crate::store::exports`), so any gateway process on it
//!   answers. A job is run by the process that accepted it; if that process dies, the job's
//!   heartbeat stops and its status turns to failed after [`job::STALE_MS`].
//! - Consent is decided when the job runs. Files are kept for [`job::KEPT_MS`] after the job's
//!   last progress, then deleted with the job (at the next kick-off), so a consent withdrawn after
//!   an export stops its files from being fetched within the hour.
//! - Every kick-off, poll, fetch and deletion leaves its AuditEvent; a file's fetch records every
//!   resource in it (and their patients and deciding consents), as the search that found them
//!   would have.
//! - Without `_type`: every type the caller may search (at `Patient` and `Group` level, those of
//!   the patient compartment), except the audit log, which is exported only when asked for
//!   (`_type=AuditEvent`, auditors and system callers: the events of the period `_since` to the
//!   transaction time, as `$audit-export` serves them). `$audit-export` stays as a synchronous
//!   NDJSON stream for existing scripts; `$export?_type=AuditEvent` is the same data the Bulk Data
//!   way.
//! - A token with the break-glass purpose (`BTG`) cannot export (403): emergency access is for one
//!   record at a time, and the job could not carry the reason given.
//! - A Group export reads the Group as the caller (404 if it may not see it) and covers its active
//!   `Patient` members. Groups are the deployment's (`system`) cohorts; no other role's remit
//!   includes them yet.
//! - A Group that defines an evaluation cohort (`crate::hna::cohort`) exports the evaluators'
//!   de-identified HNA extract instead ([`deidentified`]).

pub mod deidentified;
mod job;
mod plan;
mod run;

pub use job::{Job, JobState, KEPT_MS, Output, STALE_MS, Status, owner_of};
pub use plan::{Part, Plan, plan};
pub use run::{FILE_RESOURCES, run};
