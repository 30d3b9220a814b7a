//! `carebridge token`: prints a development token for a role (or, with `--client`, development
//! client credentials for the gateway's `/auth/token`), signed with the configured HS256 secret or,
//! without `[auth]`, the development secret beside the database ([`crate::auth::dev`]).

use std::process::ExitCode;

use crate::auth::mint::{TokenArgs, client_credentials, mint};
use crate::config::Settings;

/// Prints a development token (or, with `--client`, development client credentials).
pub fn run(args: TokenArgs) -> ExitCode {
    let settings = match Settings::load(args.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("carebridge token: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    let auth = match super::signing_settings(settings.auth, &settings.database_url) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("carebridge token: {e}");
            return ExitCode::from(2);
        }
    };
    if args.client {
        return match client_credentials(&auth, &args) {
            Ok((id, secret)) => {
                println!("client_id={id}\nclient_secret={secret}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("carebridge token: {e}");
                ExitCode::from(2)
            }
        };
    }
    match mint(&auth, &args, crate::fhir::instant::now_ms() / 1000) {
        Ok(token) => {
            println!("{token}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("carebridge token: {e}");
            ExitCode::from(2)
        }
    }
}
