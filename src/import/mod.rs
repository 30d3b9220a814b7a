//! `carebridge import`: brings legacy HNA records (CSV exports) into the gateway through the same
//! validation as the API. (Being built: issue 3.)

use std::process::ExitCode;

/// Arguments of `carebridge import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {}

/// Runs the import.
pub async fn run(_args: ImportArgs) -> ExitCode {
    eprintln!("carebridge import: not available yet");
    ExitCode::FAILURE
}
