//! Sending each subscription its events, in order, as `rest-hook` notifications (the R4 backport's
//! `history` Bundle whose first entry is the subscription status `Parameters`).
//!
//! Decisions:
//! - **Consent at send time**: each event's focus is decided by the gate for the subscriber (its
//!   organisation and role, as recorded when the Subscription was written) when it is sent, not
//!   when it was matched. An event the subscriber may no longer see is not sent; its number is
//!   still consumed, so `events-since-subscription-start` stays honest without saying what it
//!   was. `full-resource` carries the focus as a read by the subscriber would show it (redacted).
//! - **Handshake and heartbeat**: a `requested` Subscription (new, or rewritten as requested) is
//!   first sent a `handshake` (no events); when its endpoint answers 2xx the gateway makes it
//!   `active`, and only then are its events sent. With a heartbeat period, a `heartbeat` goes
//!   whenever that long has passed without a request.
//! - **Order and batching**: a subscription's events are sent in number order, up to
//!   [`EVENTS_PER_NOTIFICATION`] a request; the next request waits for the answer to this one.
//!   Different subscriptions are sent to at once (`super::worker::SENDING_AT_ONCE`), so a slow
//!   or silent endpoint holds up only its own subscription.
//! - **One sender**: a process takes a subscription for [`LEASE_MS`] before sending (`claim`, as its
//!   audit chain, which is distinct for every live process), so two gateway processes never send
//!   one subscription's events at once. A process that dies holding one (kill -9, a lost node)
//!   leaves the lease to expire, unless it starts again: a starting process first lets go of what
//!   its chain held (`release`), so a restart resumes delivery at once. What was sent but not
//!   recorded as sent before the death is sent again with the same event numbers (at least once;
//!   receivers de-duplicate by `X-Carebridge-Event` or the numbers).
//! - **Retries**: an answer other than 2xx, or none within the Subscription's timeout, is retried
//!   after 1 s, 2 s, 4 s ... (at most [`MAX_BACKOFF_MS`]), each with up to a quarter more at
//!   random; after the deployment's `notify_max_attempts` failures in a row (10 by default, about
//!   17 minutes) the gateway rewrites the Subscription as `status` `error` with the last failure in
//!   `error`, and nothing more is sent until its subscriber rewrites it (as `requested`: a new
//!   handshake, then the events from where delivery stopped). Events stay numbered and
//!   `$events` serves them meanwhile, so none is lost.
//! - **Signature**: each request carries `X-Carebridge-Signature: sha256=<hex>`, the HMAC-SHA256
//!   of the body under the secret the subscriber gave (`subscription::SECRET_EXTENSION`), and
//!   `X-Carebridge-Event: <subscription>/<first>-<last>` for de-duplication (at least once).
//! - **Audit**: every attempt is an AuditEvent (operation `$notify` on the Subscription, the
//!   subscriber's organisation as the agent, each resource disclosed, the endpoint's status, or
//!   502 when it gave none).

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::access::Gate;
use crate::access::subscriber::subscribers;
use crate::audit::Trail;
use crate::audit::event::{Agent, Record};
use crate::auth::{Principal, Role};
use crate::error::Error;
use crate::fhir::ResourceType;
use crate::fhir::instant::{format_instant, now_ms};
use crate::rest::{Engine, Mark};
use crate::store::outbox::{Delivery, Event, Settled};
use crate::subscription::{Content, Spec, check};

/// Most events in one notification.
pub const EVENTS_PER_NOTIFICATION: usize = 20;
/// How long a process holds a subscription while sending to it.
pub const LEASE_MS: i64 = 5 * 60 * 1000;
/// Longest wait between attempts.
pub const MAX_BACKOFF_MS: i64 = 5 * 60 * 1000;

/// Takes up to `limit` subscriptions that are due, as `holder` (this process's audit chain), for
/// [`attempt`]; each with its state when taken. One another process took first is left out.
pub async fn claim_due(
    engine: &Engine,
    holder: &str,
    limit: usize,
) -> Result<Vec<(String, Delivery)>, Error> {
    let now = now_ms();
    Ok(engine
        .store()
        .backend()
        .outbox()
        .claim_due(now, now + LEASE_MS, holder, limit)
        .await?)
}

/// One request to claimed subscription `id` (its handshake, heartbeat or next events), then its
/// outcome recorded and the subscription let go; put in `error` when delivery gives up.
pub async fn attempt(
    engine: &Engine,
    trail: &Trail,
    client: &reqwest::Client,
    id: &str,
    state: &Delivery,
) -> Result<(), Error> {
    let result = deliver(engine, trail, client, id, state).await;
    // Backoff counts from the answer (or the timeout), not from when the attempt began.
    let now = now_ms();
    crate::metrics::global().notification(if result.is_ok() {
        "delivered"
    } else {
        "failed"
    });
    let outcome = match result {
        Ok(done) => Settled {
            delivered: done.delivered,
            attempts: 0,
            next_attempt: 0,
            failed: false,
            next_contact: done.next_contact,
            error: None,
        },
        Err(Failure::Gone(to)) => Settled {
            delivered: to,
            attempts: 0,
            next_attempt: 0,
            failed: false,
            next_contact: i64::MAX,
            error: None,
        },
        Err(Failure::Invalid(why)) => Settled {
            delivered: state.delivered,
            attempts: state.attempts,
            next_attempt: 0,
            failed: true,
            next_contact: state.next_contact,
            error: Some(why),
        },
        Err(Failure::Endpoint(why)) => {
            let attempts = state.attempts + 1;
            Settled {
                delivered: state.delivered,
                attempts,
                next_attempt: now + backoff(attempts),
                failed: attempts >= engine.channel_rules().max_attempts,
                next_contact: state.next_contact,
                error: Some(why),
            }
        }
    };
    if let Some(e) = &outcome.error {
        tracing::warn!(subscription = %id, error = %e, "notification not delivered");
    }
    engine
        .store()
        .backend()
        .outbox()
        .settle(id, &outcome)
        .await?;
    if outcome.failed {
        let why = outcome.error.as_deref().unwrap_or("delivery failed");
        engine.mark_subscription(id, Mark::Error(why)).await?;
    }
    Ok(())
}

/// The wait before attempt `attempts + 1`.
fn backoff(attempts: u64) -> i64 {
    let base = 1000_i64
        .saturating_mul(1_i64 << attempts.saturating_sub(1).min(20))
        .min(MAX_BACKOFF_MS);
    base + rand::random_range(0..=base / 4)
}

/// What a delivery did: events up to `delivered` are sent (or passed over); the next handshake
/// or heartbeat is due at `next_contact`.
struct Done {
    delivered: u64,
    next_contact: i64,
}

/// Why it did not.
enum Failure {
    /// The Subscription is gone or turned off: its events up to this number are dropped.
    Gone(u64),
    /// It can no longer be honoured (its endpoint left the allow-list, its subscriber's role is
    /// unknown): in error until rewritten.
    Invalid(String),
    /// The endpoint failed: retried.
    Endpoint(String),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Endpoint(format!("gateway: {e}"))
    }
}

impl From<crate::store::StoreError> for Failure {
    fn from(e: crate::store::StoreError) -> Self {
        Failure::Endpoint(format!("store: {e}"))
    }
}

/// One request to a subscription's endpoint.
struct Request<'a> {
    spec: &'a Spec,
    secret: &'a str,
    id: &'a str,
    principal: &'a Principal,
}

async fn deliver(
    engine: &Engine,
    trail: &Trail,
    client: &reqwest::Client,
    id: &str,
    state: &Delivery,
) -> Result<Done, Failure> {
    let backend = engine.store().backend();
    let subscription: Option<Value> = backend
        .read(ResourceType::Subscription, id)
        .await?
        .filter(|r| !r.deleted)
        .and_then(|r| serde_json::from_str(&r.body).ok());
    let Some(subscription) = subscription.filter(|s| {
        !matches!(
            s.get("status").and_then(Value::as_str),
            Some("off" | "error")
        )
    }) else {
        return Err(Failure::Gone(state.events));
    };
    let spec = check(&subscription, engine.canonical(), engine.channel_rules())
        .map_err(|issues| Failure::Invalid(describe(&issues)))?;
    let (Some(role), Some(secret)) = (
        state.role.as_deref().and_then(|r| r.parse::<Role>().ok()),
        state.secret.as_deref(),
    ) else {
        return Err(Failure::Invalid(
            "the subscriber's role or signing secret is not recorded".into(),
        ));
    };
    let principal = subscriber(engine, id, role, &subscription).await?;
    let request = Request {
        spec: &spec,
        secret,
        id,
        principal: &principal,
    };
    let now = now_ms();
    let next_contact = spec.heartbeat.map_or(i64::MAX, |s| {
        now.saturating_add(i64::try_from(s).unwrap_or(i64::MAX / 1000) * 1000)
    });
    let gate = engine.gate(Arc::new(principal.clone()), None);
    if subscription.get("status").and_then(Value::as_str) == Some("requested") {
        // The handshake first: no event goes to an endpoint that has not answered one.
        let body = notification(engine, id, &spec, state.events, &[], "handshake");
        post(trail, client, &request, &gate, body, "handshake").await?;
        engine.mark_subscription(id, Mark::Active).await?;
        return Ok(Done {
            delivered: state.delivered,
            next_contact,
        });
    }
    let events = backend
        .outbox()
        .events(id, state.delivered, EVENTS_PER_NOTIFICATION)
        .await?;
    let Some(last) = events.last().map(|e| e.number) else {
        // Nothing to tell: a heartbeat.
        let body = notification(engine, id, &spec, state.events, &[], "heartbeat");
        post(trail, client, &request, &gate, body, "heartbeat").await?;
        return Ok(Done {
            delivered: state.delivered,
            next_contact,
        });
    };
    let mut shown = Vec::new();
    for e in &events {
        if let Some(focus) = visible(engine, &gate, e).await.map_err(Failure::from)? {
            shown.push((e, focus));
        }
    }
    if shown.is_empty() {
        // Nothing the subscriber may see: the numbers are consumed, nothing is sent.
        return Ok(Done {
            delivered: last,
            next_contact: state.next_contact,
        });
    }
    let body = notification(engine, id, &spec, last, &shown, "event-notification");
    let label = format!("{}-{last}", shown[0].0.number);
    post(trail, client, &request, &gate, body, &label).await?;
    Ok(Done {
        delivered: last,
        next_contact,
    })
}

/// Sends `body`, signed, to the subscription's endpoint, and audits the attempt; `label` names
/// what it carries in `X-Carebridge-Event` (`<first>-<last>` event numbers, `handshake`,
/// `heartbeat`).
async fn post(
    trail: &Trail,
    client: &reqwest::Client,
    r: &Request<'_>,
    gate: &Gate,
    body: Value,
    label: &str,
) -> Result<(), Failure> {
    use tracing::Instrument as _;
    let body = body.to_string();
    let signature = sign(r.secret, &body);
    let span = crate::telemetry::outgoing(|| {
        tracing::info_span!(
            "notify.deliver",
            otel.kind = "client",
            http.response.status_code = tracing::field::Empty
        )
    });
    let mut request = client
        .post(&r.spec.endpoint)
        .timeout(Duration::from_secs(r.spec.timeout))
        .header("Content-Type", "application/fhir+json")
        .header("X-Carebridge-Signature", format!("sha256={signature}"))
        .header("X-Carebridge-Event", format!("{}/{label}", r.id));
    if let Some(parent) = crate::telemetry::traceparent(&span) {
        request = request.header("traceparent", parent);
    }
    let sent = request.body(body).send().instrument(span.clone()).await;
    let status = match &sent {
        Ok(resp) => resp.status().as_u16(),
        Err(_) => 502,
    };
    span.record("http.response.status_code", status);
    audit(trail, r.principal, r.id, gate, status).await;
    match sent {
        Ok(resp) if resp.status().is_success() => Ok(()),
        Ok(resp) => Err(Failure::Endpoint(format!(
            "the endpoint answered {}",
            resp.status()
        ))),
        Err(e) => Err(Failure::Endpoint(format!(
            "the endpoint did not answer: {}",
            crate::outbound::cause(&e)
        ))),
    }
}

/// The subscriber as the recipient: its role, and its organisation's ODS code (from the
/// Organization its subscriber tag names).
async fn subscriber(
    engine: &Engine,
    id: &str,
    role: Role,
    subscription: &Value,
) -> Result<Principal, Failure> {
    let org = subscribers(subscription).first().map(|s| (*s).to_owned());
    let mut ods = None;
    if let Some(org) = org
        && let Some(r) = engine
            .store()
            .backend()
            .read(ResourceType::Organization, &org)
            .await?
    {
        let body: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
        ods = body
            .get("identifier")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|i| i.get("system").and_then(Value::as_str) == Some(crate::fhir::ods::SYSTEM))
            .and_then(|i| i.get("value").and_then(Value::as_str))
            .map(str::to_owned);
    }
    if role != Role::System && ods.is_none() {
        return Err(Failure::Invalid(
            "the subscriber's organisation has no ODS code".into(),
        ));
    }
    Ok(Principal::subscriber(id, role, ods))
}

/// What the subscriber may see of event `e`'s focus now (recorded as disclosed, or attempted, by
/// `gate`): the version the change made (for a
/// deletion, the last version before it), as a read would show it; `None` when hidden.
pub async fn visible(engine: &Engine, gate: &Gate, e: &Event) -> Result<Option<Value>, Error> {
    let backend = engine.store().backend();
    let mut r = backend.vread(e.rtype, &e.id, e.version).await?;
    if r.as_ref().is_some_and(|r| r.deleted) && e.version > 1 {
        r = backend.vread(e.rtype, &e.id, e.version - 1).await?;
    }
    let Some(r) = r.filter(|r| !r.deleted) else {
        return Ok(None);
    };
    let shown = gate.admit(&r).await?;
    Ok(match shown {
        Some(body) => {
            gate.disclose(&r);
            serde_json::from_str(&body.into_string()).ok()
        }
        None => {
            gate.attempted(&r);
            None
        }
    })
}

/// A notification Bundle of `kind` (`event-notification`, or `query-event` for `$events`): the
/// status Parameters, then one entry per event shown (with its resource for `full-resource`).
pub fn notification(
    engine: &Engine,
    id: &str,
    spec: &Spec,
    total: u64,
    shown: &[(&Event, Value)],
    kind: &str,
) -> Value {
    let base = engine.base_url();
    let topic = crate::subscription::topic_url(engine.canonical(), spec.topic);
    let events: Vec<Value> = shown
        .iter()
        .map(|(e, _)| {
            let mut parts = vec![
                json!({"name": "event-number", "valueString": e.number.to_string()}),
                json!({"name": "timestamp", "valueInstant": format_instant(e.recorded)}),
            ];
            if spec.content != Content::Empty {
                parts.push(json!({"name": "focus", "valueReference": {
                    "reference": format!("{base}/{}/{}", e.rtype, e.id)}}));
            }
            json!({"name": "notification-event", "part": parts})
        })
        .collect();
    let mut parameters = vec![
        json!({"name": "subscription", "valueReference": {"reference": format!("{base}/Subscription/{id}")}}),
        json!({"name": "topic", "valueCanonical": topic}),
        json!({"name": "status", "valueCode": "active"}),
        json!({"name": "type", "valueCode": kind}),
        json!({"name": "events-since-subscription-start", "valueString": total.to_string()}),
    ];
    parameters.extend(events);
    let status = json!({
        "fullUrl": format!("urn:uuid:{}", uuid::Uuid::new_v4()),
        "resource": {"resourceType": "Parameters", "meta": {"profile": [
            "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-status-r4"]},
            "parameter": parameters},
        "request": {"method": "GET", "url": format!("Subscription/{id}/$status")},
        "response": {"status": "200"},
    });
    let mut entries = vec![status];
    if spec.content != Content::Empty {
        for (e, focus) in shown {
            let mut entry = json!({
                "fullUrl": format!("{base}/{}/{}", e.rtype, e.id),
                "request": {"method": "PUT", "url": format!("{}/{}", e.rtype, e.id)},
                "response": {"status": "200"},
            });
            if spec.content == Content::FullResource {
                entry["resource"] = focus.clone();
            }
            entries.push(entry);
        }
    }
    json!({
        "resourceType": "Bundle",
        "id": uuid::Uuid::new_v4().to_string(),
        "type": "history",
        "timestamp": format_instant(now_ms()),
        "entry": entries,
    })
}

/// The hex HMAC-SHA256 of `body` under `secret`.
pub fn sign(secret: &str, body: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(body.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Records the attempt.
async fn audit(trail: &Trail, principal: &Principal, id: &str, gate: &Gate, status: u16) {
    let d = gate.disclosures();
    let record = Record {
        recorded: now_ms(),
        method: "POST".into(),
        path: format!("/Subscription/{id}/$notify"),
        query: String::new(),
        status,
        agent: Some(Agent::of(principal)),
        patients: d.patients.into_iter().collect(),
        disclosed: d.resources,
        consents: d.consents.into_iter().collect(),
        break_glass: None,
        interaction: Some("operation".into()),
        target: Some(format!("Subscription/{id}")),
        attempted: d.attempted,
        trace: None,
    };
    if let Err(e) = trail.record(&record).await {
        tracing::error!(subscription = %id, error = %e, "notification attempt not audited");
    }
}

fn describe(issues: &[crate::fhir::OutcomeIssue]) -> String {
    let texts: Vec<&str> = issues.iter().map(|i| i.diagnostics.as_str()).collect();
    format!(
        "the Subscription can no longer be honoured: {}",
        texts.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_its_cap_with_a_little_jitter() {
        for (attempts, base) in [(1, 1000), (2, 2000), (3, 4000), (40, MAX_BACKOFF_MS)] {
            let wait = backoff(attempts);
            assert!(
                (base..=base + base / 4).contains(&wait),
                "{attempts}: {wait}"
            );
        }
    }

    #[test]
    fn the_signature_is_the_hmac_of_the_body() {
        // RFC 4231 test case 2.
        assert_eq!(
            sign("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
