//! The HNA conformance artefacts (Questionnaire, CodeSystems, ValueSets, StructureDefinitions),
//! generated from the concern catalogue. (Being built: issue 3.)

use std::process::ExitCode;

/// Arguments of `carebridge profiles`.
#[derive(Debug, clap::Args)]
pub struct ProfilesArgs {}

/// Writes the artefacts.
pub async fn run(_args: ProfilesArgs) -> ExitCode {
    eprintln!("carebridge profiles: not available yet");
    ExitCode::FAILURE
}
