//! The server certificate, kept current: read again when its files change or on SIGHUP, without
//! dropping a connection (a handshake takes whichever pair is current when it starts).

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use super::{TlsError, TlsSettings, certificates, private_key, provider};

/// How often the files are looked at.
pub const CHECK_EVERY: Duration = Duration::from_secs(5);

/// The certificate and key in service, and where they come from.
#[derive(Debug)]
pub struct Certificates {
    current: RwLock<Arc<CertifiedKey>>,
    cert_file: PathBuf,
    key_file: PathBuf,
}

impl Certificates {
    /// Reads the pair named in `settings`; refuses a key that does not match the certificate.
    pub fn load(settings: &TlsSettings) -> Result<Self, TlsError> {
        let key = read(&settings.cert_file, &settings.key_file)?;
        Ok(Certificates {
            current: RwLock::new(Arc::new(key)),
            cert_file: settings.cert_file.clone(),
            key_file: settings.key_file.clone(),
        })
    }

    /// Reads the files again and puts the pair in service; on failure the old pair stays.
    pub fn reload(&self) -> Result<(), TlsError> {
        let key = read(&self.cert_file, &self.key_file)?;
        if let Ok(mut current) = self.current.write() {
            *current = Arc::new(key);
        }
        Ok(())
    }

    fn modified(&self) -> Option<(SystemTime, SystemTime)> {
        let m = |p: &PathBuf| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        Some((m(&self.cert_file)?, m(&self.key_file)?))
    }
}

fn read(cert_file: &std::path::Path, key_file: &std::path::Path) -> Result<CertifiedKey, TlsError> {
    let chain = certificates(cert_file)?;
    let key = private_key(key_file)?;
    let key = CertifiedKey::from_der(chain, key, &provider())
        .map_err(|e| TlsError::Config(format!("{}: {e}", key_file.display())))?;
    Ok(key)
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current.read().ok().map(|c| Arc::clone(&c))
    }
}

/// Keeps `certs` current until the process ends: on a change of either file's modification time,
/// and on SIGHUP.
pub fn watch(certs: Arc<Certificates>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        #[cfg(unix)]
        let mut hangup =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        let mut seen = certs.modified();
        let mut tick = tokio::time::interval(CHECK_EVERY);
        loop {
            #[cfg(unix)]
            let signalled = async {
                match hangup.as_mut() {
                    Some(h) => h.recv().await,
                    None => std::future::pending().await,
                }
            };
            #[cfg(not(unix))]
            let signalled = std::future::pending::<Option<()>>();
            let why = tokio::select! {
                _ = tick.tick() => {
                    let now = certs.modified();
                    if now == seen || now.is_none() {
                        continue;
                    }
                    seen = now;
                    "the certificate files changed"
                }
                _ = signalled => "SIGHUP",
            };
            match certs.reload() {
                Ok(()) => tracing::info!(reason = why, "TLS certificate reloaded"),
                Err(e) => tracing::error!(
                    reason = why,
                    error = %e,
                    "TLS certificate not reloaded; the previous one stays in service"
                ),
            }
        }
    })
}
