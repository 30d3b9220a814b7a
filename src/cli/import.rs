//! `carebridge import`: brings a legacy system's CSV export in through the same validation as any
//! client ([`crate::import`]), with a reject file and a summary; exit 0 unless the file, the
//! configuration or the store fails (rejected rows are reported, not fatal).

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::import::{Format, Options, import};
use crate::rest::Engine;

/// Arguments of `carebridge import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// Which legacy system the file comes from.
    #[arg(long, value_enum)]
    pub format: Format,
    /// The CSV export.
    #[arg(long)]
    pub file: PathBuf,
    /// Where rejected rows go (default: `<file>.rejects.csv`).
    #[arg(long)]
    pub rejects: Option<PathBuf>,
    /// Label of the source in legacy identifiers (default: the file name without extension).
    #[arg(long)]
    pub source: Option<String>,
    /// A TOML configuration file (the database, as for `serve`); CAREBRIDGE_* variables override it.
    #[arg(long, env = "CAREBRIDGE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Assessments per transaction Bundle.
    #[arg(long, default_value_t = crate::import::DEFAULT_BATCH)]
    pub batch_size: usize,
}

/// Runs `carebridge import`: exit 0 unless the file, the configuration or the store fails
/// (rejected rows are reported, not fatal).
pub async fn run(args: ImportArgs) -> ExitCode {
    let (settings, store) = match crate::cli::setup("import", args.config.as_deref()).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    let engine = Engine::new(store.clone(), settings.engine_settings());
    let mut opts = Options::new(args.format, &args.file);
    if let Some(r) = args.rejects {
        opts.rejects = r;
    }
    if let Some(s) = args.source {
        opts.source = s;
    }
    opts.batch_size = args.batch_size.max(1);
    opts.progress = std::io::stderr().is_terminal();
    let result = import(&engine, &opts).await;
    if let Err(e) = store.backend().close().await {
        tracing::warn!(error = %e, "store did not close cleanly");
    }
    match result {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("carebridge import: {}", crate::error::chain(&e));
            ExitCode::FAILURE
        }
    }
}
