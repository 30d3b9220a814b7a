//! What a subscriber asks of its own subscription (Subscriptions backport): `$status` (where its
//! delivery stands) and `$events` (the events it missed, decided by consent now, as `$events`
//! is asked). Another organisation's subscription answers 404, as one that does not exist.
//!
//! `$events` takes `eventsSinceNumber` and `eventsUntilNumber` (both included; default: the last
//! [`MAX_EVENTS`]) and `content` (`empty`, `id-only` or `full-resource`, no more than the
//! Subscription's own payload allows).

use serde_json::{Value, json};

use super::deliver::{notification, visible};
use crate::access::Gate;
use crate::error::Error;
use crate::fhir::ResourceType;
use crate::rest::Engine;
use crate::subscription::{Content, check};

/// Most events one `$events` returns.
pub const MAX_EVENTS: u64 = 100;

/// The Subscription `id` as the caller may see it (404 otherwise).
async fn own(engine: &Engine, gate: &Gate, id: &str) -> Result<Value, Error> {
    let not_found = || Error::NotFound {
        rtype: ResourceType::Subscription,
        id: id.to_owned(),
    };
    let r = engine
        .store()
        .backend()
        .read(ResourceType::Subscription, id)
        .await?
        .filter(|r| !r.deleted)
        .ok_or_else(not_found)?;
    let body = gate.admit(&r).await?.ok_or_else(not_found)?;
    gate.disclose(&r);
    serde_json::from_str(&body.into_string())
        .map_err(|e| Error::internal_from(format!("stored Subscription/{id}"), e))
}

/// `Subscription/[id]/$status`: a searchset Bundle of the status Parameters.
pub async fn status(engine: &Engine, gate: &Gate, id: &str) -> Result<Value, Error> {
    let subscription = own(engine, gate, id).await?;
    let state = engine
        .store()
        .backend()
        .outbox()
        .delivery(id)
        .await?
        .unwrap_or_default();
    let stated = subscription
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or("requested");
    let shown_status = if state.failed { "error" } else { stated };
    let mut parameters = vec![
        json!({"name": "subscription", "valueReference": {"reference": format!("{}/Subscription/{id}", engine.base_url())}}),
        json!({"name": "topic", "valueCanonical": subscription.get("criteria").cloned().unwrap_or(Value::Null)}),
        json!({"name": "status", "valueCode": shown_status}),
        json!({"name": "type", "valueCode": "query-status"}),
        json!({"name": "events-since-subscription-start", "valueString": state.events.to_string()}),
    ];
    if let Some(e) = &state.last_error {
        parameters.push(json!({"name": "error", "valueCodeableConcept": {"text": e}}));
    }
    Ok(json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "total": 1,
        "entry": [{
            "fullUrl": format!("urn:uuid:{}", uuid::Uuid::new_v4()),
            "resource": {"resourceType": "Parameters", "parameter": parameters},
            "search": {"mode": "match"},
        }],
    }))
}

/// `Subscription/[id]/$events`: a `query-event` Bundle of the events asked for that the caller
/// may see now.
pub async fn events(
    engine: &Engine,
    gate: &Gate,
    id: &str,
    params: &[(String, String)],
) -> Result<Value, Error> {
    let subscription = own(engine, gate, id).await?;
    let mut spec =
        check(&subscription, engine.canonical(), engine.channel_rules()).map_err(|_| {
            Error::BusinessRule(vec![crate::fhir::OutcomeIssue::error(
                "business-rule",
                "this Subscription can no longer be honoured; rewrite it",
            )])
        })?;
    let outbox = engine.store().backend().outbox();
    let total = outbox.event_count(id).await?;
    let number = |name: &str| -> Result<Option<u64>, Error> {
        match params.iter().find(|(k, _)| k == name) {
            None => Ok(None),
            Some((_, v)) => v
                .parse()
                .map(Some)
                .map_err(|_| Error::BadRequest(format!("{name} is an event number, not '{v}'"))),
        }
    };
    for (k, _) in params {
        if !matches!(
            k.as_str(),
            "eventsSinceNumber" | "eventsUntilNumber" | "content" | "_format"
        ) {
            return Err(Error::BadRequest(format!(
                "$events takes no parameter '{k}'"
            )));
        }
    }
    let until = number("eventsUntilNumber")?.unwrap_or(total).min(total);
    let since = number("eventsSinceNumber")?.unwrap_or(until.saturating_sub(MAX_EVENTS - 1).max(1));
    if since > until.saturating_add(1) || until.saturating_sub(since) >= MAX_EVENTS {
        return Err(Error::BadRequest(format!(
            "ask for at most {MAX_EVENTS} events, eventsSinceNumber no later than eventsUntilNumber"
        )));
    }
    if let Some((_, c)) = params.iter().find(|(k, _)| k == "content") {
        let asked = match c.as_str() {
            "empty" => Content::Empty,
            "id-only" => Content::IdOnly,
            "full-resource" => Content::FullResource,
            other => return Err(Error::BadRequest(format!("content '{other}' is not known"))),
        };
        let rank = |c: Content| match c {
            Content::Empty => 0,
            Content::IdOnly => 1,
            Content::FullResource => 2,
        };
        if rank(asked) > rank(spec.content) {
            return Err(Error::Forbidden(format!(
                "this Subscription's payload is {}; it may not ask for more",
                spec.content.code()
            )));
        }
        spec.content = asked;
    }
    let listed = if until >= since {
        let n = usize::try_from(until - since + 1).unwrap_or(0);
        outbox.events(id, since.saturating_sub(1), n).await?
    } else {
        Vec::new()
    };
    let mut shown = Vec::new();
    for e in &listed {
        if let Some(focus) = visible(engine, gate, e).await? {
            shown.push((e, focus));
        }
    }
    Ok(notification(
        engine,
        id,
        &spec,
        total,
        &shown,
        "query-event",
    ))
}
