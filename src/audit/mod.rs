//! Tamper-evident audit (design.md section 5), being built in steps: [`chain`], the hash chain
//! that makes the stored log tamper-evident; [`log`], appending to it and verifying it; [`event`],
//! the BALP-shaped AuditEvent of one interaction.

pub mod chain;
pub mod event;
pub mod log;
