//! `carebridge profiles`: writes the conformance artefacts ([`crate::hna::profiles`]) as one
//! pretty JSON file each, as kept in the repository's `profiles/`.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::hna::profiles::{artefacts, file_name, file_text};
use crate::hna::{Canonical, DEFAULT_CANONICAL};

/// Arguments of `carebridge profiles`.
#[derive(Debug, clap::Args)]
pub struct ProfilesArgs {
    /// Directory to write the artefacts to (created if missing).
    #[arg(long, default_value = "profiles")]
    pub out: PathBuf,
    /// Canonical base URL of the artefacts.
    #[arg(long, default_value = DEFAULT_CANONICAL)]
    pub canonical: String,
}

/// Writes one pretty JSON file per artefact into `--out`; other files there are left alone.
pub async fn run(args: ProfilesArgs) -> ExitCode {
    match write_all(&args.out, &Canonical::new(&args.canonical)) {
        Ok(n) => {
            println!("wrote {n} artefacts to {}", args.out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("carebridge profiles: {e}");
            ExitCode::FAILURE
        }
    }
}

fn write_all(dir: &std::path::Path, c: &Canonical) -> Result<usize, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let all = artefacts(c);
    for a in &all {
        let path = dir.join(file_name(a));
        std::fs::write(&path, file_text(a)).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(all.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_writes_each_artefact_to_its_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let c = Canonical::new(DEFAULT_CANONICAL);
        let all = artefacts(&c);
        assert_eq!(write_all(dir.path(), &c), Ok(all.len()));
        for a in &all {
            let text = std::fs::read_to_string(dir.path().join(file_name(a))).expect("written");
            assert_eq!(text, file_text(a));
        }
    }
}
