//! Building and running the gateway. The same [`Application`] serves `carebridge serve` and the
//! integration tests (which bind port 0 and read [`Application::port`]).

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};

use crate::auth::{AuthSettings, Verifier};
use crate::config::Settings;
use crate::http;
use crate::rest::Engine;
use crate::store::Store;

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {reason}")]
    Bind { addr: String, reason: String },
    /// The store could not be opened or migrated.
    #[error("cannot open the store: {0}")]
    Store(#[from] crate::store::StoreError),
    /// The token settings cannot verify tokens.
    #[error("token configuration: {0}")]
    Auth(String),
    /// The audit trail could not be opened or recovered.
    #[error("cannot open the audit trail: {0}")]
    Audit(crate::audit::trail::TrailError),
    /// The HNA conformance artefacts could not be written to the store.
    #[error("cannot install the HNA conformance artefacts: {0}")]
    Artefacts(crate::error::Error),
    /// The listener's TLS could not be set up.
    #[error("{0}")]
    Tls(#[from] crate::tls::TlsError),
    /// The outbound HTTPS client could not be set up.
    #[error("{0}")]
    Outbound(#[from] crate::outbound::OutboundError),
}

/// The token settings: `[auth]`, or development mode without it (see [`crate::auth::dev`]).
fn auth_settings(settings: &Settings) -> Result<AuthSettings, StartError> {
    Ok(match &settings.auth {
        Some(a) => a.clone(),
        None => {
            let dir = crate::auth::dev::secret_dir(&settings.database_url);
            tracing::warn!(
                secret = %dir.join(crate::auth::dev::SECRET_FILE).display(),
                "no [auth] configured: development mode, accepting only tokens from `carebridge token`"
            );
            crate::auth::dev::settings(&dir).map_err(|e| StartError::Auth(e.to_string()))?
        }
    })
}

/// The token verifier for `auth`.
fn verifier(auth: &AuthSettings, trust: &crate::outbound::Trust) -> Result<Verifier, StartError> {
    let config = auth.load().map_err(|e| StartError::Auth(e.to_string()))?;
    Verifier::trusting(config, trust).map_err(|e| StartError::Auth(e.to_string()))
}

/// A bound, ready-to-run gateway.
pub struct Application {
    port: u16,
    server: Server,
    store: Store,
    trail: std::sync::Arc<crate::audit::Trail>,
    copying: crate::audit::trail::Copying,
    readiness: http::Readiness,
    shutdown_delay: std::time::Duration,
    metrics: Option<actix_web::dev::Server>,
    matching: crate::notify::worker::Matching,
}

impl Application {
    /// Opens the store, installs the HNA conformance artefacts, binds the listener and prepares the
    /// server.
    pub async fn build(settings: Settings) -> Result<Self, StartError> {
        let store = crate::audit::open_store(&settings.database_url).await?;
        let listener = TcpListener::bind(settings.listen).map_err(|e| StartError::Bind {
            addr: settings.listen.to_string(),
            reason: e.to_string(),
        })?;
        let port = listener
            .local_addr()
            .map_err(|e| StartError::Bind {
                addr: settings.listen.to_string(),
                reason: e.to_string(),
            })?
            .port();
        let mut settings = settings;
        if settings.listen.port() == 0 {
            settings.base_url = settings.base_url.replacen(":0/", &format!(":{port}/"), 1);
        }
        let engine = web::Data::new(Engine::new(store.clone(), settings.engine_settings()));
        #[cfg(feature = "bench-no-audit")]
        tracing::error!(
            "BENCH-ONLY BUILD: audit events are not written (feature bench-no-audit); never run this binary with real data"
        );
        let trail = crate::audit::Trail::open(
            &store,
            &settings.audit_dir,
            &settings.audit_chain,
            settings.audit_segment_bytes,
            &settings.base_url,
            &settings.canonical_base,
        )
        .await
        .map_err(StartError::Audit)?;
        let trail = web::Data::new(trail);
        let copying = trail.start_copying();
        let notifier = settings
            .outbound_trust
            .client(std::time::Duration::from_secs(
                crate::subscription::MAX_TIMEOUT_SECONDS,
            ))
            .map_err(StartError::Outbound)?;
        let matching = crate::notify::worker::start(
            engine.clone().into_inner(),
            trail.clone().into_inner(),
            notifier,
            settings.audit_chain.clone(),
        );
        let held = trail.clone();
        crate::rest::artefacts::install(&engine)
            .await
            .map_err(StartError::Artefacts)?;
        let auth = auth_settings(&settings)?;
        let root = settings
            .base_url
            .strip_suffix(http::FHIR_PATH)
            .unwrap_or(&settings.base_url)
            .to_owned();
        let smart = web::Data::new(http::SmartConfiguration::new(&auth, &root));
        if smart.uris().token.is_none() {
            tracing::warn!(
                "no token endpoint configured (auth.token_endpoint): SMART clients cannot discover how to get a token"
            );
        }
        let token_endpoint = auth
            .endpoints
            .development
            .then(|| web::Data::new(http::TokenEndpoint(auth.clone())));
        if token_endpoint.is_some() {
            tracing::warn!(
                path = "/auth/token",
                "serving the development token endpoint: for development only"
            );
        }
        let verifier = web::Data::new(verifier(&auth, &settings.outbound_trust)?);
        if !verifier.fetch_keys().await {
            tracing::warn!(
                "starting without the identity provider's keys; they are fetched again when a token needs them"
            );
        }
        let services = web::Data::new(http::Services {
            engine: engine.clone(),
            trail: trail.clone(),
            verifier,
            smart: smart.clone(),
            max_body: settings.max_body_bytes,
            body_deadline: std::time::Duration::from_secs(settings.request_body_timeout),
        });
        let readiness = web::Data::new(http::Readiness::default());
        let metrics = match settings.metrics_listen {
            Some(addr) => Some(
                crate::http::metrics::bind(addr, engine.clone(), trail.clone(), readiness.clone())
                    .map_err(|e| StartError::Bind {
                        addr: addr.to_string(),
                        reason: e.to_string(),
                    })?,
            ),
            None => None,
        };
        let (ready, served_trail) = (readiness.clone(), trail.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(engine.clone())
                .app_data(ready.clone())
                .app_data(served_trail.clone())
                .app_data(smart.clone())
                .app_data(services.clone())
                .configure(|cfg| {
                    if let Some(t) = &token_endpoint {
                        cfg.app_data(t.clone());
                    }
                })
                .wrap(http::outcome_errors())
                .configure(http::routes)
        })
        .on_connect(crate::tls::binding::remember_peer)
        // Signals are ours (`run_until_stopped`): readiness goes first, then the listener.
        .disable_signals()
        .shutdown_timeout(settings.shutdown_timeout);
        let bind_error = |e: std::io::Error| StartError::Bind {
            addr: settings.listen.to_string(),
            reason: e.to_string(),
        };
        let mut server = match &settings.tls {
            Some(tls) => {
                let (config, certs) = crate::tls::server_config(tls)?;
                crate::tls::reload::watch(certs);
                server
                    .listen_rustls_0_23(listener, config)
                    .map_err(bind_error)?
            }
            None => server.listen(listener).map_err(bind_error)?,
        };
        if settings.workers > 0 {
            server = server.workers(settings.workers);
        }
        Ok(Application {
            port,
            server: server.run(),
            store,
            trail: held.into_inner(),
            copying,
            matching,
            readiness: readiness.get_ref().clone(),
            shutdown_delay: std::time::Duration::from_secs(settings.shutdown_delay),
            metrics,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until the process is asked to stop (SIGTERM or SIGINT). Stopping: `/readyz` turns
    /// 503 at once, and requests are still served for `shutdown_delay` (load balancers notice and
    /// stop sending); then the listener closes and requests under way get up to
    /// `shutdown_timeout` to finish; then notification work stops, the audit journal is synced
    /// and copied, and the store closed.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(stop_signal()).await
    }

    /// [`Application::run_until_stopped`], stopping when `stop` completes rather than on a
    /// signal (in-process tests, which must not take the test runner's signals).
    pub async fn run_until(
        self,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let handle = self.server.handle();
        let metrics = self.metrics.map(|m| {
            let h = m.handle();
            tokio::spawn(m);
            h
        });
        let (readiness, delay) = (self.readiness.clone(), self.shutdown_delay);
        let signals = tokio::spawn(async move {
            stop.await;
            readiness.stop();
            tracing::info!(
                delay_seconds = delay.as_secs(),
                "stopping: not ready from now on; draining"
            );
            tokio::time::sleep(delay).await;
            handle.stop(true).await;
        });
        let served = self.server.await;
        signals.abort();
        if let Some(m) = metrics {
            m.stop(true).await;
        }
        served?;
        self.matching.stop().await;
        self.copying.stop().await;
        self.trail.close().await;
        if let Err(e) = self.store.backend().close().await {
            tracing::warn!(error = %e, "store did not close cleanly");
        }
        Ok(())
    }
}

/// Waits for SIGTERM (orchestrators) or SIGINT (a terminal); forever if neither can be listened
/// for.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            tracing::error!("cannot listen for SIGTERM/SIGINT; stop the process by other means");
            return std::future::pending().await;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
