//! The process's log: a tracing subscriber filtered by `CAREBRIDGE_LOG` (default `info`), written
//! to standard output as text, or as one JSON object a line with `CAREBRIDGE_LOG_FORMAT=json` (for
//! log shippers). Colour codes only when standard output is a terminal, so files and pipes get
//! plain text.

use std::io::IsTerminal as _;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Human-readable lines.
    Text,
    /// One JSON object a line.
    Json,
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "" | "text" => Ok(Format::Text),
            "json" => Ok(Format::Json),
            other => Err(format!(
                "CAREBRIDGE_LOG_FORMAT is text or json, not '{other}'"
            )),
        }
    }
}

/// Installs the subscriber; an unknown format is refused before anything is logged.
pub fn init() -> Result<(), String> {
    let format: Format = std::env::var("CAREBRIDGE_LOG_FORMAT")
        .unwrap_or_default()
        .parse()?;
    let filter = tracing_subscriber::EnvFilter::try_from_env("CAREBRIDGE_LOG")
        .unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stdout().is_terminal());
    match format {
        Format::Text => builder.init(),
        Format::Json => builder.json().flatten_event(true).init(),
    }
    Ok(())
}
