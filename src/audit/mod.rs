//! Tamper-evident audit (design.md section 5), being built in steps: [`chain`], the hash chain
//! that makes the stored log tamper-evident; [`log`], appending to it, verifying it and exporting
//! a period; [`event`], the BALP-shaped AuditEvent of one interaction.
//!
//! Not wired into request handling yet: a first middleware (commit 54da9d2, reverted) appended
//! one event per request through the store's group commit and cut consent-filtered reads from
//! about 63k to 24k requests/s (`bench/results/consent-2026-11-24T212107Z.md`), far outside the 15%
//! budget. Neither batching the appends into one store job nor dropping the per-commit fsync
//! moved that figure (the two `consent-2026-11-24T2135*`/`T2137*` records): the writer thread's
//! CPU and the hand-offs between threads are what to profile next. The middleware returns when
//! its cost is within budget.

pub mod chain;
pub mod event;
pub mod log;
