//! Tamper-evident audit (design.md section 5), being built in steps: [`chain`], the hash chain
//! that makes the stored log tamper-evident; [`log`], appending to it and verifying it; [`event`],
//! the BALP-shaped AuditEvent of one interaction.
//!
//! Not wired into request handling yet: a first middleware (commit 54da9d2, reverted) appended
//! one event per request through the store's group commit and cut consent-filtered reads from
//! about 63k to 24k requests/s (`bench/results/consent-2026-11-24T212107Z.md`), far outside the 15%
//! budget. It returns with a batching appender (one store job for many events, the chain head
//! kept between batches) that meets the budget.

pub mod chain;
pub mod event;
pub mod log;
