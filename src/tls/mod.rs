//! TLS on the listener, with rustls: the server certificate, mutual TLS for system callers, and
//! the binding of a bearer token to the client certificate it was issued for.
//!
//! Decisions:
//! - **Versions and suites**: TLS 1.3 and 1.2 only, with rustls's ring suites (AES-GCM and
//!   ChaCha20-Poly1305, ECDHE key exchange): nothing older or weaker can be negotiated.
//! - **Reload**: the certificate and key are read again when either file changes (looked at every
//!   [`reload::CHECK_EVERY`]) or on SIGHUP; connections under way keep the certificate they
//!   started with, new handshakes get the new one, and a pair that fails to load leaves the old
//!   one in service (logged). The client CA bundle is read at start-up only.
//! - **Client certificates** (`tls_client_auth`): `off` asks for none; `optional` verifies one
//!   if presented against `tls_client_ca_file`; `required` refuses the handshake without one.
//! - **Binding** ([`binding`]): a request on a connection with a client certificate is accepted
//!   only if its token names that certificate (`cnf.x5t#S256`, RFC 8705) or, for a token without
//!   a binding, if the token's organisation is the certificate's subject common name (the ODS
//!   code the certificate was issued for). A certificate-bound token on a connection without its
//!   certificate is refused. Either refusal is 401, like any other failed authentication.

pub mod binding;
pub mod reload;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;

/// Whether and how client certificates are asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// Not asked for.
    Off,
    /// Verified when presented.
    Optional,
    /// The handshake fails without one.
    Required,
}

impl std::str::FromStr for ClientAuth {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "off" => Ok(ClientAuth::Off),
            "optional" => Ok(ClientAuth::Optional),
            "required" => Ok(ClientAuth::Required),
            other => Err(format!("'{other}' is not off, optional or required")),
        }
    }
}

/// The listener's TLS settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// The server certificate chain, PEM (leaf first).
    pub cert_file: PathBuf,
    /// Its private key, PEM (PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
    /// CAs that client certificates must chain to, PEM.
    pub client_ca_file: Option<PathBuf>,
    /// Whether client certificates are asked for.
    pub client_auth: ClientAuth,
}

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read or holds nothing usable.
    #[error("{file}: {reason}")]
    File { file: String, reason: String },
    /// rustls refused the configuration (a key that does not match the certificate, say).
    #[error("TLS configuration: {0}")]
    Config(String),
}

fn file_error(file: &Path, reason: impl std::fmt::Display) -> TlsError {
    TlsError::File {
        file: file.display().to_string(),
        reason: reason.to_string(),
    }
}

/// The certificates of a PEM file, at least one.
pub fn certificates(file: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(file)
        .map_err(|e| file_error(file, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(file, e))?;
    if certs.is_empty() {
        return Err(file_error(file, "no CERTIFICATE block"));
    }
    Ok(certs)
}

/// The private key of a PEM file.
pub fn private_key(file: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(file).map_err(|e| file_error(file, e))
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The listener's rustls configuration, and the certificate holder that [`reload::watch`] keeps
/// current.
pub fn server_config(
    settings: &TlsSettings,
) -> Result<(rustls::ServerConfig, Arc<reload::Certificates>), TlsError> {
    let certs = Arc::new(reload::Certificates::load(settings)?);
    let builder = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsError::Config(e.to_string()))?;
    let builder = match (settings.client_auth, &settings.client_ca_file) {
        (ClientAuth::Off, _) => builder.with_no_client_auth(),
        (_, None) => {
            return Err(TlsError::Config(
                "client certificates need tls_client_ca_file".into(),
            ));
        }
        (mode, Some(file)) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in certificates(file)? {
                roots.add(cert).map_err(|e| file_error(file, e))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(roots.into(), provider());
            let verifier = if mode == ClientAuth::Optional {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            builder.with_client_cert_verifier(
                verifier
                    .build()
                    .map_err(|e| TlsError::Config(e.to_string()))?,
            )
        }
    };
    let mut config = builder.with_cert_resolver(certs.clone());
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((config, certs))
}
