//! `carebridge outcomes`: the evaluation tables of one organisation for a period, from the
//! command line ([`crate::outcomes`] computes them; `$hna-outcomes` serves the same report). The
//! database comes from the settings, as for `serve`.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::hna::Canonical;
use crate::outcomes::{Request, report, to_csv, to_json, to_measure_report};

/// Output format of the CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The JSON document.
    Json,
    /// One CSV section per table.
    Csv,
    /// A FHIR MeasureReport (see [`crate::outcomes::measure_report`]).
    MeasureReport,
}

/// Arguments of `carebridge outcomes`.
#[derive(Debug, clap::Args)]
pub struct OutcomesArgs {
    /// The recording organisation: its Organization id, or its ODS code.
    #[arg(long)]
    pub organization: String,
    /// First day of the period (YYYY-MM-DD).
    #[arg(long)]
    pub start: String,
    /// Last day of the period (YYYY-MM-DD), included.
    #[arg(long)]
    pub end: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    pub format: Format,
    /// A TOML configuration file (database, canonical base); CAREBRIDGE_* variables override it.
    #[arg(long, env = "CAREBRIDGE_CONFIG")]
    pub config: Option<PathBuf>,
}

/// Runs the report from the command line; the database comes from the settings, as for `serve`.
pub async fn run(args: OutcomesArgs) -> ExitCode {
    let settings = match crate::cli::settings("outcomes", args.config.as_deref()) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let request = Request {
        organization: args.organization,
        start: args.start,
        end: args.end,
    };
    if let Err(e) = request.check() {
        eprintln!("carebridge outcomes: {}", crate::error::chain(&e));
        return ExitCode::from(2);
    }
    let store = match crate::cli::store("outcomes", &settings).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    store.backend().prefer_bulk_reads();
    let canonical = Canonical::new(&settings.canonical_base);
    let result = report(&store, &canonical, &request).await;
    // Folds a log left by start-up (migrations) into the file, as the server and importer do.
    if let Err(e) = store.backend().close().await {
        tracing::warn!(error = %e, "store did not close cleanly");
    }
    match result {
        Ok(r) => {
            match args.format {
                Format::Json => println!("{:#}", to_json(&r)),
                Format::Csv => print!("{}", to_csv(&r)),
                Format::MeasureReport => {
                    let now = crate::fhir::instant::format_instant(crate::fhir::instant::now_ms());
                    println!("{:#}", to_measure_report(&r, &canonical, &now));
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("carebridge outcomes: {}", crate::error::chain(&e));
            ExitCode::FAILURE
        }
    }
}
