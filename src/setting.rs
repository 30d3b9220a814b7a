//! What can go wrong reading a setting, and reading a settings file: shared by the gateway's
//! configuration ([`crate::config`]) and the files it names (the `[auth]` keys, the consent
//! policy), which sit in lower layers and must not import the configuration itself.

use std::path::Path;

/// Why the configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read configuration file {path}: {reason}")]
    File { path: String, reason: String },
    /// The file is not valid TOML for these settings.
    #[error("configuration file {path} is invalid: {reason}")]
    Parse { path: String, reason: String },
    /// A setting has a value that cannot be right.
    #[error("setting {name} is invalid: {reason}")]
    Invalid { name: String, reason: String },
    /// An environment variable with our prefix that names no setting.
    #[error("unknown environment variable {0} (see the configuration table in the README)")]
    UnknownVariable(String),
}

/// Reads the configuration file at `path` and parses it with `parse`; either failure names the file.
pub fn read_file<T>(
    path: &Path,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, ConfigError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    parse(&text).map_err(|reason| ConfigError::Parse {
        path: shown,
        reason,
    })
}
