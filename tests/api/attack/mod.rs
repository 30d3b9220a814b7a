//! Tests by attack: each rule of access control tried the way an outside tester would, with
//! tokens for every role, through every shape of request the server accepts. Each example of the
//! security review (issue 12) is a test here that failed before the one parse and passes after.

mod attempts;
mod bundles;
mod chains;
mod entry_shapes;
mod export_shapes;
mod paths;
mod redaction;
mod search_shapes;
pub mod shapes;
