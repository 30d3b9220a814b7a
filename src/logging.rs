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

/// Installs the subscriber: the log, and traces when an OTLP endpoint is configured
/// ([`crate::telemetry`]); an unknown format is refused before anything is logged. Keep the
/// returned handle until exit: dropping it exports what is left.
pub fn init() -> Result<crate::telemetry::Telemetry, String> {
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let format: Format = std::env::var("CAREBRIDGE_LOG_FORMAT")
        .unwrap_or_default()
        .parse()?;
    let filter = tracing_subscriber::EnvFilter::try_from_env("CAREBRIDGE_LOG")
        .unwrap_or_else(|_| "info".into());
    let ansi = std::io::stdout().is_terminal();
    let log = match format {
        Format::Text => tracing_subscriber::fmt::layer().with_ansi(ansi).boxed(),
        Format::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_ansi(false)
            .boxed(),
    }
    .with_filter(filter);
    // Traces keep their own level: a quiet log (`CAREBRIDGE_LOG=warn`) still traces requests, and
    // the child spans (DEBUG, so that an `info` log without traces never makes them) are exported.
    let (traces, telemetry) = match crate::telemetry::endpoint() {
        Some(endpoint) => {
            let (layer, t) = crate::telemetry::Telemetry::layer(endpoint)?;
            let only_ours = tracing_subscriber::filter::Targets::new()
                .with_target("carebridge", tracing::Level::DEBUG);
            (Some(layer.with_filter(only_ours)), t)
        }
        None => (None, crate::telemetry::Telemetry::off()),
    };
    tracing_subscriber::registry()
        .with(log)
        .with(traces)
        .try_init()
        .map_err(|e| e.to_string())?;
    Ok(telemetry)
}
