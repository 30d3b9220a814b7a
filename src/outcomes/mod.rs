//! Outcome reporting: the tables the service evaluations published, per organisation and period.
//! (Being built: issue 3.)

use std::process::ExitCode;

/// Arguments of `carebridge outcomes`.
#[derive(Debug, clap::Args)]
pub struct OutcomesArgs {}

/// Runs the report from the command line.
pub async fn run(_args: OutcomesArgs) -> ExitCode {
    eprintln!("carebridge outcomes: not available yet");
    ExitCode::FAILURE
}

/// The `$hna-outcomes` operation.
pub async fn operation(
    _engine: &crate::rest::Engine,
    _query: &[(String, String)],
) -> Result<crate::rest::Reply, crate::error::Error> {
    Err(crate::error::Error::NoRoute)
}
