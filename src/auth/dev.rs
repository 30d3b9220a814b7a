//! Development mode: with no `[auth]` configured, the gateway still requires tokens, but accepts
//! HS256 tokens signed with a random secret of its own, kept beside the embedded store
//! (`dev-token-secret`, readable by its owner only) so that `carebridge token` can mint them. Nobody
//! without that file can mint one, so a deployment that forgot `[auth]` stays closed; start-up logs
//! a warning saying so. Production deployments configure `[auth]` (RS256 or ES256 keys of their
//! identity provider).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use jsonwebtoken::Algorithm;
use rand::RngCore as _;

use super::settings::AuthSettings;
use super::verify::ClaimNames;
use crate::setting::ConfigError;

/// `iss` of development tokens.
pub const DEV_ISSUER: &str = "https://carebridge.invalid/dev";
/// `aud` of development tokens.
pub const DEV_AUDIENCE: &str = "carebridge";
/// The secret's file name, in the store's directory.
pub const SECRET_FILE: &str = "dev-token-secret";

/// Where the development secret lives for a store: beside a SQLite file, else under `data/`.
pub fn secret_dir(database_url: &str) -> PathBuf {
    database_url
        .strip_prefix("sqlite://")
        .and_then(|p| Path::new(p).parent())
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("data"), Path::to_path_buf)
}

/// The development settings, creating the secret on first use.
pub fn settings(dir: &Path) -> Result<AuthSettings, ConfigError> {
    let path = dir.join(SECRET_FILE);
    let failed = |e: std::io::Error| ConfigError::File {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let secret = match std::fs::read_to_string(&path) {
        Ok(s) => s.trim().to_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir).map_err(failed)?;
            let mut bytes = [0u8; 32];
            rand::rng().fill_bytes(&mut bytes);
            let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            write_private(&path, &secret).map_err(failed)?;
            secret
        }
        Err(e) => return Err(failed(e)),
    };
    if secret.len() < 32 {
        return Err(ConfigError::Invalid {
            name: path.display().to_string(),
            reason: "the development secret is shorter than 32 bytes".into(),
        });
    }
    Ok(AuthSettings {
        issuer: DEV_ISSUER.into(),
        audience: DEV_AUDIENCE.into(),
        algorithms: vec![Algorithm::HS256],
        hs256_secret: Some(secret.into()),
        jwks_file: None,
        jwks_url: None,
        endpoints: super::settings::Endpoints {
            development: true,
            ..Default::default()
        },
        leeway_seconds: 30,
        claims: ClaimNames::default(),
    })
}

/// Creates `path` readable and writable by its owner only (on Unix), failing if it exists.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut f = options.open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_is_made_once_and_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = settings(dir.path()).map(|s| s.hs256_secret);
        let second = settings(dir.path()).map(|s| s.hs256_secret);
        assert!(
            first
                .as_ref()
                .is_ok_and(|s| s.as_ref().is_some_and(|s| s.len() == 64))
        );
        assert_eq!(first.ok(), second.ok());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join(SECRET_FILE))
                .map(|m| m.permissions().mode() & 0o777)
                .ok();
            assert_eq!(mode, Some(0o600));
        }
    }

    #[test]
    fn the_secret_lives_beside_the_embedded_store() {
        assert_eq!(secret_dir("sqlite://var/cb/x.db"), PathBuf::from("var/cb"));
        assert_eq!(secret_dir("sqlite://x.db"), PathBuf::from("data"));
        assert_eq!(secret_dir("postgres://u@h/db"), PathBuf::from("data"));
    }
}
