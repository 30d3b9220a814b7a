//! The background matching of the outbox to subscriptions ([`super::fanout`]), a few times a
//! second, until stopped. Every gateway process runs one; the fan-out's lock and row removal make
//! that safe.

use std::sync::Arc;
use std::time::Duration;

use crate::rest::Engine;

/// How often the outbox is looked at.
pub const INTERVAL: Duration = Duration::from_millis(100);

/// Changes matched per transaction.
pub const BATCH: usize = 500;

/// The running matcher.
pub struct Matching {
    task: tokio::task::JoinHandle<()>,
    stop: Arc<tokio::sync::Notify>,
}

/// Starts matching for `engine`.
pub fn start(engine: Arc<Engine>) -> Matching {
    let stop = Arc::new(tokio::sync::Notify::new());
    let stopped = Arc::clone(&stop);
    let task = tokio::spawn(async move {
        let mut tick = tokio::time::interval(INTERVAL);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = stopped.notified() => return,
            }
            // Drain a backlog batch by batch; a full batch is looked at again at once.
            loop {
                match super::fanout::fan_out(&engine, BATCH).await {
                    Ok(n) if n == BATCH => tokio::task::yield_now().await,
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "notification matching failed; retrying");
                        break;
                    }
                }
            }
        }
    });
    Matching { task, stop }
}

impl Matching {
    /// Stops once the batch under way is recorded.
    pub async fn stop(self) {
        self.stop.notify_one();
        if let Err(e) = self.task.await {
            tracing::warn!(error = %e, "notification matching ended abnormally");
        }
    }
}
