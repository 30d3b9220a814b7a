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

/// How often due deliveries are looked for (besides whenever matching found events, or a request
/// was answered).
pub const SEND_INTERVAL: Duration = Duration::from_millis(200);

/// Subscriptions a process sends to at once: each has at most one request in flight, so one slow
/// or silent endpoint (up to its timeout, at most two minutes) holds up only itself.
pub const SENDING_AT_ONCE: usize = 32;

/// How long stopping waits for requests under way.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// The running matcher and sender.
pub struct Matching {
    tasks: Vec<tokio::task::JoinHandle<()>>,
    stop: tokio::sync::watch::Sender<bool>,
}

/// Waits until `stop` says so (or its sender is gone).
async fn stopped(stop: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Starts matching and sending for `engine`, auditing to `trail`, sending with `client` (built by
/// [`crate::outbound`]: the deployment's trust, no redirects).
pub fn start(
    engine: Arc<Engine>,
    trail: Arc<crate::audit::Trail>,
    client: reqwest::Client,
    holder: String,
) -> Matching {
    let (stop, watch) = tokio::sync::watch::channel(false);
    // Matching new events wakes the sender at once rather than at its next tick.
    let matched = Arc::new(tokio::sync::Notify::new());
    let matching = match_loop(Arc::clone(&engine), watch.clone(), Arc::clone(&matched));
    let sending = send_loop(engine, trail, client, holder, watch, matched);
    Matching {
        tasks: vec![matching, sending],
        stop,
    }
}

fn send_loop(
    engine: Arc<Engine>,
    trail: Arc<crate::audit::Trail>,
    client: reqwest::Client,
    holder: String,
    mut stop: tokio::sync::watch::Receiver<bool>,
    matched: Arc<tokio::sync::Notify>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        match engine.store().backend().outbox().release(&holder).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                subscriptions = n,
                "took back deliveries held before a restart"
            ),
            Err(e) => {
                tracing::warn!(error = %crate::error::chain(&e), "cannot take back deliveries held before a restart")
            }
        }
        let holder: Arc<str> = holder.into();
        let mut sending = tokio::task::JoinSet::new();
        let mut tick = tokio::time::interval(SEND_INTERVAL);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = matched.notified() => {}
                // A request answered: that subscription may have more to send at once.
                Some(_) = sending.join_next(), if !sending.is_empty() => {}
                () = stopped(&mut stop) => break,
            }
            while sending.try_join_next().is_some() {}
            let room = SENDING_AT_ONCE.saturating_sub(sending.len());
            if room == 0 {
                continue;
            }
            let taken = match super::deliver::claim_due(&engine, &holder, room).await {
                Ok(taken) => taken,
                Err(e) => {
                    tracing::warn!(error = %crate::error::chain(&e), "cannot look for due notifications; retrying");
                    continue;
                }
            };
            for (id, state) in taken {
                let (engine, trail, client) =
                    (Arc::clone(&engine), Arc::clone(&trail), client.clone());
                sending.spawn(async move {
                    if let Err(e) = super::deliver::attempt(&engine, &trail, &client, &id, &state).await {
                        tracing::warn!(subscription = %id, error = %crate::error::chain(&e), "notification delivery failed; retrying");
                    }
                });
            }
        }
        // Stopping: the requests under way get a moment to be answered and recorded; any cut
        // short is sent again (same event numbers) by whoever next holds the subscription.
        let drained = tokio::time::timeout(STOP_GRACE, async {
            while sending.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                unanswered = sending.len(),
                "stopping with notifications unanswered; they will be sent again"
            );
            sending.abort_all();
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
                        tracing::warn!(error = %crate::error::chain(&e), "notification matching failed; retrying");
                        break;
                    }
                }
            }
        }
    })
}

impl Matching {
    /// Stops once the batch under way is recorded and the notifications under way answered (or
    /// [`STOP_GRACE`] has passed).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            if let Err(e) = task.await {
                tracing::warn!(error = %crate::error::chain(&e), "notification work ended abnormally");
            }
        }
    }
}
