//! The operator commands of the `carebridge` binary other than `serve`: each takes its arguments,
//! sets up what it needs through [`crate::startup`] and calls the domain logic, which never calls
//! back up into the set-up.

pub mod audit;
pub mod import;
pub mod outcomes;
pub mod profiles;
pub mod sample;
pub mod subscriber;
pub mod token;

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
