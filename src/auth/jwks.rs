//! Fetching the identity provider's key set (JWKS) over HTTPS, for [`super::Verifier`]: at start-up
//! and again when a token names a key not held (key rotation), at most every
//! [`KeyFetcher::MIN_INTERVAL`] so that tokens with made-up `kid`s cannot make the gateway hammer
//! its identity provider.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;

use super::verify::AuthConfigError;

/// Fetches one URL's key set.
pub struct KeyFetcher {
    url: String,
    client: reqwest::Client,
    last: Mutex<Option<Instant>>,
}

/// Largest key set read, bytes.
const MAX_BYTES: usize = 1024 * 1024;

impl KeyFetcher {
    /// Least time between two fetches.
    pub const MIN_INTERVAL: Duration = Duration::from_secs(30);

    /// A fetcher for `url`: https, or http on localhost (tests, a sidecar).
    pub fn new(url: &str, trust: &crate::outbound::Trust) -> Result<Self, AuthConfigError> {
        let local = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
            .iter()
            .any(|p| url.starts_with(p));
        if !(url.starts_with("https://") || local) {
            return Err(AuthConfigError::JwksUrl(url.chars().take(200).collect()));
        }
        let client = trust
            .client(Duration::from_secs(5))
            .map_err(|e| AuthConfigError::JwksUrl(e.to_string()))?;
        Ok(KeyFetcher {
            url: url.to_owned(),
            client,
            last: Mutex::new(None),
        })
    }

    /// The key set, unless the last fetch was under [`Self::MIN_INTERVAL`] ago or this one fails
    /// (logged).
    pub async fn fetch(&self) -> Option<JwkSet> {
        {
            let mut last = self.last.lock().ok()?;
            if last.is_some_and(|t| t.elapsed() < Self::MIN_INTERVAL) {
                return None;
            }
            *last = Some(Instant::now());
        }
        match self.get().await {
            Ok(set) => Some(set),
            Err(e) => {
                tracing::warn!(url = %self.url, error = %e, "cannot fetch the token signing keys");
                None
            }
        }
    }

    /// The time of the last fetch, for tests that need to pass the interval without waiting.
    #[cfg(test)]
    pub(crate) fn last_fetch(
        &self,
    ) -> Result<
        std::sync::MutexGuard<'_, Option<Instant>>,
        std::sync::PoisonError<std::sync::MutexGuard<'_, Option<Instant>>>,
    > {
        self.last.lock()
    }

    async fn get(&self) -> Result<JwkSet, String> {
        use tracing::Instrument as _;
        let span =
            crate::telemetry::outgoing(|| tracing::info_span!("jwks.fetch", otel.kind = "client"));
        let mut request = self.client.get(&self.url);
        if let Some(parent) = crate::telemetry::traceparent(&span) {
            request = request.header("traceparent", parent);
        }
        let resp = request
            .send()
            .instrument(span)
            .await
            .map_err(|e| crate::outbound::cause(&e))?;
        if !resp.status().is_success() {
            return Err(format!("HTTP {}", resp.status()));
        }
        let body = resp.bytes().await.map_err(|e| e.to_string())?;
        if body.len() > MAX_BYTES {
            return Err("the key set is larger than 1 MiB".into());
        }
        serde_json::from_slice(&body).map_err(|e| format!("not a JWKS: {e}"))
    }
}
