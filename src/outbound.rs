//! Outbound HTTPS: the one place that decides whom the gateway trusts when it calls out (the identity
//! provider's key set, notification endpoints).
//!
//! Every outbound client verifies servers against the bundled Mozilla roots plus the CAs of the
//! deployment's `outbound_ca_file` (a PEM bundle: an NHS or organisational CA, or a test's own), and
//! follows no redirects, so a call goes to the URL that was configured or subscribed and nowhere
//! else. The file is read and checked when settings load, so a wrong path or a file without a
//! certificate stops start-up rather than failing the first notification.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The extra certificate authorities outbound calls trust (none by default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trust {
    /// Where they came from (the PEM file), for messages.
    file: Option<PathBuf>,
    /// Its contents: one or more `CERTIFICATE` blocks.
    pem: Vec<u8>,
}

/// Why the outbound trust or a client could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    /// The CA file could not be read.
    #[error("cannot read {file}: {reason}")]
    Read { file: String, reason: String },
    /// The CA file holds no usable certificate.
    #[error("{file} holds no PEM certificate: {reason}")]
    NoCertificate { file: String, reason: String },
    /// The HTTP client could not be built (its TLS set-up failed).
    #[error("cannot build the outbound HTTPS client: {0}")]
    Client(String),
}

impl Trust {
    /// The CAs of the PEM bundle at `file`, checked to hold at least one certificate.
    pub fn from_file(file: &Path) -> Result<Trust, OutboundError> {
        let pem = std::fs::read(file).map_err(|e| OutboundError::Read {
            file: file.display().to_string(),
            reason: e.to_string(),
        })?;
        Self::from_pem(pem, file)
    }

    /// The CAs of a PEM bundle held in memory, `origin` naming it in messages; checked to hold at
    /// least one certificate.
    pub fn from_pem(pem: Vec<u8>, origin: impl AsRef<Path>) -> Result<Trust, OutboundError> {
        let shown = origin.as_ref().display().to_string();
        let trust = Trust {
            file: Some(origin.as_ref().to_owned()),
            pem,
        };
        match trust.certificates() {
            Ok(certs) if !certs.is_empty() => Ok(trust),
            Ok(_) => Err(OutboundError::NoCertificate {
                file: shown,
                reason: "no CERTIFICATE block".into(),
            }),
            Err(e) => Err(OutboundError::NoCertificate {
                file: shown,
                reason: e.to_string(),
            }),
        }
    }

    fn certificates(&self) -> Result<Vec<reqwest::Certificate>, reqwest::Error> {
        if self.pem.is_empty() {
            return Ok(Vec::new());
        }
        reqwest::Certificate::from_pem_bundle(&self.pem)
    }

    /// A client that trusts these CAs besides the bundled roots, follows no redirect, and gives up
    /// on a call after `timeout` (per request, `RequestBuilder::timeout`, may shorten it).
    pub fn client(&self, timeout: Duration) -> Result<reqwest::Client, OutboundError> {
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none());
        let certs = self.certificates().map_err(|e| {
            let file = self
                .file
                .as_deref()
                .unwrap_or(Path::new("outbound_ca_file"));
            OutboundError::Client(format!("{}: {}", file.display(), cause(&e)))
        })?;
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
        builder
            .build()
            .map_err(|e| OutboundError::Client(cause(&e)))
    }
}

/// An error with its causes, `a: b: c`: reqwest's own message hides why a TLS handshake failed
/// (an unknown issuer, a name mismatch), which is what an operator needs to see.
pub fn cause(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_without_a_certificate_is_refused_naming_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate\n").expect("write");
        let e = Trust::from_file(&path).expect_err("refused");
        assert!(e.to_string().contains("ca.pem"), "{e}");
        assert!(matches!(e, OutboundError::NoCertificate { .. }), "{e}");
    }

    #[test]
    fn a_missing_file_is_refused_naming_it() {
        let e = Trust::from_file(Path::new("/nonexistent/ca.pem")).expect_err("refused");
        assert!(matches!(e, OutboundError::Read { .. }), "{e}");
        assert!(e.to_string().contains("/nonexistent/ca.pem"), "{e}");
    }

    #[test]
    fn no_extra_authorities_still_builds_a_client() {
        assert!(Trust::default().client(Duration::from_secs(1)).is_ok());
    }

    #[test]
    fn causes_are_joined_once() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer")]
        struct Outer(#[source] std::io::Error);
        let e = Outer(std::io::Error::other("inner"));
        assert_eq!(cause(&e), "outer: inner");
    }
}
