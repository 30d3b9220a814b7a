//! The operator commands of the `carebridge` binary other than `serve`: each takes its arguments,
//! sets up what it needs through [`setup`] (settings, then the store) and calls the domain logic,
//! which never calls back up into the set-up.

pub mod audit;
pub mod import;
pub mod outcomes;
pub mod profiles;
pub mod sample;
pub mod subscriber;
pub mod token;

use crate::config::Settings;

/// The token settings a command signs with: the configured `[auth]`, else the development secret
/// the gateway itself uses without it, beside the database ([`crate::auth::dev`]).
fn signing_settings(
    auth: Option<crate::auth::AuthSettings>,
    database_url: &str,
) -> Result<crate::auth::AuthSettings, crate::setting::ConfigError> {
    match auth {
        Some(a) => Ok(a),
        None => crate::auth::dev::settings(&crate::auth::dev::secret_dir(database_url)),
    }
}

/// The settings of a command-line job, or exit code 2 after saying why they are invalid.
pub fn settings(
    command: &str,
    config: Option<&std::path::Path>,
) -> Result<Settings, std::process::ExitCode> {
    Settings::load(config).map_err(|e| {
        eprintln!("carebridge {command}: configuration error: {e}");
        std::process::ExitCode::from(2)
    })
}

/// The store a command-line job works on, or exit code 1 after saying why it cannot be opened.
pub async fn store(
    command: &str,
    settings: &Settings,
) -> Result<crate::store::Store, std::process::ExitCode> {
    crate::audit::open_store(&settings.database_url)
        .await
        .map_err(|e| {
            eprintln!("carebridge {command}: cannot open the store: {e}");
            std::process::ExitCode::FAILURE
        })
}

/// Settings and store of a command-line job ([`settings`], then [`store`]).
pub async fn setup(
    command: &str,
    config: Option<&std::path::Path>,
) -> Result<(Settings, crate::store::Store), std::process::ExitCode> {
    let settings = settings(command, config)?;
    let store = store(command, &settings).await?;
    Ok((settings, store))
}
