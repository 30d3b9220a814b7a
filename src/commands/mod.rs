//! The operator commands of the `carebridge` binary other than `serve`: each takes its arguments,
//! sets up what it needs through [`crate::startup`] and calls the domain logic, which never calls
//! back up into the set-up.

pub mod audit;
pub mod import;
pub mod outcomes;
pub mod profiles;
pub mod sample;
pub mod subscriber;
pub mod token;
