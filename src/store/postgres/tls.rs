//! TLS to PostgreSQL (rustls with the ring provider, through `tokio-postgres-rustls`), chosen by the
//! libpq parameters `sslmode` and `sslrootcert` in the database URL.
//!
//! A database outside the gateway's host is reached over a network that may not be trusted, and what
//! travels is health data and, with password authentication, credentials: the connection should be
//! encrypted, and the server should be proved to be the database (`verify-full`). tokio-postgres only
//! knows `sslmode=disable|prefer|require` and does not read `sslrootcert`, so [`configure`] takes both
//! parameters out of the URL, hands the rest to tokio-postgres and builds the rustls configuration.
//!
//! | `sslmode`     | TLS                         | certificate checked                                   |
//! |---------------|-----------------------------|-------------------------------------------------------|
//! | `disable`     | never                       | -                                                     |
//! | `prefer`      | if the server offers it     | not at all; the chain only when `sslrootcert` is given |
//! | `require`     | always                      | not at all; the chain only when `sslrootcert` is given |
//! | `verify-ca`   | always                      | chain against the roots, not the host name             |
//! | `verify-full` | always                      | chain against the roots and the host name              |
//!
//! **Default.** Without `sslmode` the mode is `prefer`, libpq's default, so that deployments and test
//! servers without TLS keep working as before. It protects against passive eavesdropping only: a
//! production URL should say `sslmode=verify-full`.
//!
//! **Roots.** `sslrootcert=<path>` names a PEM bundle of trusted certificates; a file that cannot be
//! read or holds no certificate stops the store from opening, naming the setting. Without it,
//! `verify-full` trusts the Mozilla roots bundled with the binary (`webpki-roots`); so does
//! `sslrootcert=system` (as in libpq 16, which then requires and defaults to `verify-full`).
//! `verify-ca` needs `sslrootcert`: checking a chain against public roots without the name would
//! accept any publicly trusted certificate (libpq refuses it too).
//!
//! **Unverified modes.** Like libpq, `require` and `prefer` without `sslrootcert` accept any server
//! certificate (`verify::AnyCertificate`); the handshake signatures are still checked, so the
//! session is bound to the key of the certificate presented, but whose key that is is not known.
//! With `sslrootcert` they verify the chain (libpq does so when a root file exists).
//!
//! Differences from libpq: `allow` is refused (tokio-postgres cannot try plain first); `prefer` does
//! not retry without TLS when the handshake fails; `sslcert`/`sslkey` (client certificates) are not
//! supported and, like any other parameter tokio-postgres does not know, refused.

mod verify;

use std::str::FromStr;
use std::sync::Arc;

use percent_encoding::percent_decode_str;
use rustls::client::danger::ServerCertVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{ClientConfig, RootCertStore};
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::store::StoreError;

/// The TLS connector tokio-postgres and the pool use.
pub type Connector = MakeRustlsConnect;

/// What `sslmode` asks for (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl Mode {
    fn parse(value: &str) -> Result<Self, StoreError> {
        Ok(match value {
            "disable" => Mode::Disable,
            "prefer" => Mode::Prefer,
            "require" => Mode::Require,
            "verify-ca" => Mode::VerifyCa,
            "verify-full" => Mode::VerifyFull,
            other => {
                return Err(invalid(format!(
                    "sslmode={other} is not supported (use disable, prefer, require, verify-ca or \
                     verify-full)"
                )));
            }
        })
    }
}

/// The tokio-postgres configuration of a `postgres://` URL and the TLS connector its `sslmode` and
/// `sslrootcert` ask for. Fails with [`StoreError::Unavailable`] naming the setting at fault.
pub fn configure(url: &str) -> Result<(tokio_postgres::Config, Connector), StoreError> {
    let (rest, mode, rootcert) = split(url)?;
    let system = rootcert.as_deref() == Some("system");
    let mode = match mode.as_deref() {
        Some(m) => Mode::parse(m)?,
        None if system => Mode::VerifyFull,
        None => Mode::Prefer,
    };
    if system && mode != Mode::VerifyFull {
        return Err(invalid(
            "sslrootcert=system requires sslmode=verify-full".to_owned(),
        ));
    }
    let mut config = tokio_postgres::Config::from_str(&rest).map_err(|e| invalid(e.to_string()))?;
    config.ssl_mode(match mode {
        Mode::Disable => SslMode::Disable,
        Mode::Prefer => SslMode::Prefer,
        Mode::Require | Mode::VerifyCa | Mode::VerifyFull => SslMode::Require,
    });
    let roots = match rootcert {
        Some(path) if !system => Some(read_roots(&path)?),
        _ => None,
    };
    Ok((config, connector(mode, roots)?))
}

/// The URL without `sslmode` and `sslrootcert`, and their (percent-decoded) values; the last one wins
/// when a parameter is repeated, as in tokio-postgres.
fn split(url: &str) -> Result<(String, Option<String>, Option<String>), StoreError> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), None, None));
    };
    let (mut mode, mut rootcert, mut kept) = (None, None, Vec::new());
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match decode(key)?.as_str() {
            "sslmode" => mode = Some(decode(value)?),
            "sslrootcert" => rootcert = Some(decode(value)?),
            _ => kept.push(pair),
        }
    }
    let rest = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((rest, mode, rootcert))
}

fn decode(s: &str) -> Result<String, StoreError> {
    percent_decode_str(s)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|e| invalid(format!("query parameter {s:?}: {e}")))
}

/// The certificates of the PEM bundle `sslrootcert` names.
fn read_roots(path: &str) -> Result<RootCertStore, StoreError> {
    let pem = std::fs::read(path)
        .map_err(|e| invalid(format!("sslrootcert={path} cannot be read: {e}")))?;
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| invalid(format!("sslrootcert={path}: bad PEM: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| invalid(format!("sslrootcert={path}: {e}")))?;
    }
    if roots.is_empty() {
        return Err(invalid(format!(
            "sslrootcert={path} holds no PEM certificate"
        )));
    }
    Ok(roots)
}

/// The rustls client configuration for `mode` (never used with `disable`, which connects without TLS).
fn connector(mode: Mode, roots: Option<RootCertStore>) -> Result<Connector, StoreError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(format!("TLS configuration: {e}")))?;
    let verifier: Arc<dyn ServerCertVerifier> = match (mode, roots) {
        (Mode::VerifyFull, Some(roots)) => {
            let config = builder.with_root_certificates(roots).with_no_client_auth();
            return Ok(MakeRustlsConnect::new(config));
        }
        (Mode::VerifyFull, None) => return Ok(bundled_roots()),
        (Mode::VerifyCa, None) => {
            return Err(invalid(
                "sslmode=verify-ca requires sslrootcert (the CA to verify against)".to_owned(),
            ));
        }
        (_, Some(roots)) => Arc::new(verify::ChainOnly::new(roots, &provider)?),
        (_, None) => Arc::new(verify::AnyCertificate::new(provider)),
    };
    let config = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// `verify-full` against the bundled Mozilla roots. `tokio-postgres-rustls` builds that configuration
/// with the process-wide crypto provider, so ring is installed as that first unless one already is.
fn bundled_roots() -> Connector {
    if CryptoProvider::get_default().is_none() {
        // Fails only if another thread installed one meanwhile, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    MakeRustlsConnect::with_webpki_roots()
}

fn invalid(message: String) -> StoreError {
    StoreError::Unavailable(format!("invalid PostgreSQL URL: {message}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(url: &str) -> String {
        match configure(url) {
            Ok(_) => panic!("{url} should be refused"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn tls_parameters_are_taken_out_and_the_rest_kept() {
        let (rest, mode, root) =
            split("postgres://u@h/db?application_name=a&sslmode=verify%2Dfull&sslrootcert=%2Fx&connect_timeout=3")
                .expect("splits");
        assert_eq!(
            rest,
            "postgres://u@h/db?application_name=a&connect_timeout=3"
        );
        assert_eq!(mode.as_deref(), Some("verify-full"));
        assert_eq!(root.as_deref(), Some("/x"));
        let (rest, mode, _) = split("postgres://u@h/db?sslmode=disable").expect("splits");
        assert_eq!(
            (rest.as_str(), mode.as_deref()),
            ("postgres://u@h/db", Some("disable"))
        );
    }

    #[test]
    fn modes_map_to_tokio_postgres() {
        let mode = |url: &str| configure(url).expect("configures").0.get_ssl_mode();
        assert_eq!(mode("postgres://u@h/db"), SslMode::Prefer);
        assert_eq!(mode("postgres://u@h/db?sslmode=disable"), SslMode::Disable);
        assert_eq!(mode("postgres://u@h/db?sslmode=require"), SslMode::Require);
        assert_eq!(
            mode("postgres://u@h/db?sslmode=verify-full"),
            SslMode::Require
        );
        assert_eq!(
            mode("postgres://u@h/db?sslrootcert=system"),
            SslMode::Require
        );
    }

    #[test]
    fn bad_settings_are_named() {
        assert!(message("postgres://u@h/db?sslmode=bogus").contains("sslmode=bogus"));
        assert!(message("postgres://u@h/db?sslmode=allow").contains("sslmode=allow"));
        let m = message("postgres://u@h/db?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem");
        assert!(
            m.contains("sslrootcert=/nonexistent/ca.pem cannot be read"),
            "{m}"
        );
        assert!(message("postgres://u@h/db?sslmode=verify-ca").contains("requires sslrootcert"));
        let m = message("postgres://u@h/db?sslmode=require&sslrootcert=system");
        assert!(
            m.contains("sslrootcert=system requires sslmode=verify-full"),
            "{m}"
        );
    }
}
