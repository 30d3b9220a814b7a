//! Tamper-evident audit (design.md section 5), being built in steps: [`chain`], the hash chain
//! that makes the stored log tamper-evident, and [`log`], appending to it and verifying it.

pub mod chain;
pub mod log;
