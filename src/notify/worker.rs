//! The background work of notifications, until stopped: matching the outbox to subscriptions
//! ([`super::fanout`]) and sending what is due ([`super::deliver`]), each a few times a second, as
//! two tasks so that a slow endpoint never holds up matching. Every gateway process runs both; the
//! fan-out's lock and row removal, and delivery's claims, make that safe.

use std::sync::Arc;
use std::time::Duration;

use crate::rest::Engine;

/// How often the outbox is looked at (a change waits half of this on average before it is
/// matched; its subscribers' delivery starts as soon as it is).
pub const INTERVAL: Duration = Duration::from_millis(50);

/// Changes matched per transaction.
pub const BATCH: usize = 500;

/// How often due deliveries are looked for.
pub const SEND_INTERVAL: Duration = Duration::from_millis(200);

/// The running matcher and sender.
pub struct Matching {
    tasks: Vec<tokio::task::JoinHandle<()>>,
    stop: tokio::sync::watch::Sender<bool>,
}

/// Waits until `stop` says so (or its sender is gone).
async fn stopped(stop: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Starts matching and sending for `engine`, auditing to `trail`.
pub fn start(engine: Arc<Engine>, trail: Arc<crate::audit::Trail>) -> Matching {
    let (stop, watch) = tokio::sync::watch::channel(false);
    // Matching new events wakes the sender at once rather than at its next tick.
    let matched = Arc::new(tokio::sync::Notify::new());
    let matching = match_loop(Arc::clone(&engine), watch.clone(), Arc::clone(&matched));
    let sending = send_loop(engine, trail, watch, matched);
    Matching {
        tasks: vec![matching, sending],
        stop,
    }
}

fn send_loop(
    engine: Arc<Engine>,
    trail: Arc<crate::audit::Trail>,
    mut stop: tokio::sync::watch::Receiver<bool>,
    matched: Arc<tokio::sync::Notify>,
) -> tokio::task::JoinHandle<()> {
    // No redirects: a notification goes to the endpoint the subscriber named, nowhere else.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SEND_INTERVAL);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = matched.notified() => {}
                () = stopped(&mut stop) => return,
            }
            if let Err(e) = super::deliver::deliver_due(&engine, &trail, &client).await {
                tracing::warn!(error = %e, "notification delivery failed; retrying");
            }
        }
    })
}

fn match_loop(
    engine: Arc<Engine>,
    mut stop: tokio::sync::watch::Receiver<bool>,
    matched: Arc<tokio::sync::Notify>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(INTERVAL);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = stopped(&mut stop) => return,
            }
            // Drain a backlog batch by batch; a full batch is looked at again at once.
            loop {
                match super::fanout::fan_out(&engine, BATCH).await {
                    Ok(n) if n == BATCH => {
                        matched.notify_one();
                        tokio::task::yield_now().await;
                    }
                    Ok(n) => {
                        if n > 0 {
                            matched.notify_one();
                        }
                        break;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "notification matching failed; retrying");
                        break;
                    }
                }
            }
        }
    })
}

impl Matching {
    /// Stops once the batch under way is recorded and the notification under way answered.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            if let Err(e) = task.await {
                tracing::warn!(error = %e, "notification work ended abnormally");
            }
        }
    }
}
