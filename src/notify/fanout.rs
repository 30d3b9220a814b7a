//! Matching the outbox to subscriptions: each waiting change is read back (the version it made and
//! the one before), the topics it triggers are worked out ([`crate::subscription::topic`]), and each live
//! Subscription of a concerned organisation to such a topic, whose filters the changed resource
//! passes, gets the change as its next numbered event. The outbox row is removed in the same
//! transaction as the events are recorded, under one lock shared by every gateway process: a
//! change is matched once, and each subscription's events are numbered without gaps, in the order
//! their changes were matched.
//!
//! Reading and matching happen before that transaction, on the read side, so the writer holds the
//! lock only to number and insert. Two processes may read the same rows; only the one that removes
//! a row records its events. Subscriptions `requested` and `active` are matched (`off` and `error`
//! are not), so none misses what happened between its creation and its activation.
//!
//! A change written before a Subscription was made is not matched to it (by the two write times:
//! a subscriber hears of what happens from its subscription on).
//!
//! What is matched is not what is sent: consent is decided when an event is delivered, for the
//! subscriber as it is then.

use serde_json::Value;

use crate::access::subscriber::SUBSCRIBER_TAG;
use crate::consent::decision::patient_of;
use crate::error::Error;
use crate::fhir::ResourceType;
use crate::fhir::reference::ref_id;
use crate::rest::Engine;
use crate::store::outbox::{Change, Event};
use crate::subscription::topic::{Concerned, triggered};
use crate::subscription::{Filter, filters_of, topic_url};

/// Matches up to `limit` waiting changes; returns how many were taken from the outbox.
pub async fn fan_out(engine: &Engine, limit: usize) -> Result<usize, Error> {
    let backend = engine.store().backend();
    let changes = backend.outbox().pending(limit).await?;
    if changes.is_empty() {
        return Ok(0);
    }
    // Only topics someone subscribes to are worth reading a change back for: with none, the
    // batch costs four index lookups and the rows' removal.
    let live = live_topics(engine).await?;
    let mut matched: Vec<(i64, Vec<Event>)> = Vec::with_capacity(changes.len());
    for change in &changes {
        let watched = live
            .iter()
            .any(|t| t.resource_types().contains(&change.rtype));
        let events = if watched {
            events_of(engine, change).await?
        } else {
            Vec::new()
        };
        matched.push((change.row, events));
    }
    let taken = engine
        .store()
        .transaction(move |tx| {
            tx.lock("carebridge:notify:fan-out")?;
            let mut taken = 0;
            for (row, events) in &matched {
                if !tx.take_change(*row)? {
                    continue;
                }
                taken += 1;
                for e in events {
                    tx.append_event(e)?;
                }
            }
            Ok::<_, Error>(taken)
        })
        .await?;
    Ok(taken)
}

/// The topics with at least one live (requested or active) Subscription, now.
async fn live_topics(engine: &Engine) -> Result<Vec<crate::subscription::topic::Topic>, Error> {
    let mut live = Vec::new();
    for topic in crate::subscription::topic::Topic::ALL {
        let q = live_subscriptions(engine, topic, None)?;
        if !engine.store().backend().search(&q, 1).await?.is_empty() {
            live.push(topic);
        }
    }
    Ok(live)
}

/// The search for live (requested or active) Subscriptions to `topic`, of the subscribers `tags`
/// names (`_tag` values) when given.
fn live_subscriptions(
    engine: &Engine,
    topic: crate::subscription::topic::Topic,
    tags: Option<String>,
) -> Result<crate::search::SearchQuery, Error> {
    let mut pairs = vec![
        (
            "criteria:exact".to_owned(),
            topic_url(engine.canonical(), topic),
        ),
        ("status".to_owned(), "requested,active".to_owned()),
    ];
    pairs.extend(tags.map(|t| ("_tag".to_owned(), t)));
    crate::search::parse(
        ResourceType::Subscription,
        &pairs,
        engine.parse_options(false),
    )
    .map_err(|e| Error::internal_from("subscription search", e))
}

/// The events `change` makes: one per live subscription it matches.
async fn events_of(engine: &Engine, change: &Change) -> Result<Vec<Event>, Error> {
    let (before, after) = versions(engine, change).await?;
    let shared = engine.canonical().shared_with_extension();
    let mut out = Vec::new();
    for t in triggered(change.rtype, before.as_ref(), after.as_ref(), &shared) {
        let organizations = match &t.concerned {
            Concerned::Organizations(ids) => ids.clone(),
            Concerned::PracticeOf(patient) => practice_of(engine, patient).await?,
        };
        if organizations.is_empty() {
            continue;
        }
        let Some(focus) = after.as_ref().or(before.as_ref()) else {
            continue;
        };
        for (id, subscription, since) in subscriptions(engine, t.topic, &organizations).await? {
            if change.recorded < since {
                // Written before the Subscription was made: not its news.
                continue;
            }
            let Some(filters) = filters_of(&subscription, t.topic) else {
                continue;
            };
            if !passes(&filters, change.rtype, focus) {
                continue;
            }
            out.push(Event {
                subscription: id,
                number: 0,
                topic: t.topic.code().to_owned(),
                rtype: change.rtype,
                id: change.id.clone(),
                version: change.version,
                recorded: change.recorded,
            });
        }
    }
    Ok(out)
}

/// The resource before and after the change (`None`: not there; a deletion has no after).
async fn versions(
    engine: &Engine,
    change: &Change,
) -> Result<(Option<Value>, Option<Value>), Error> {
    let backend = engine.store().backend();
    let read = |v: u64| backend.vread(change.rtype, &change.id, v);
    let body = |r: Option<crate::store::StoredResource>| -> Option<Value> {
        r.filter(|r| !r.deleted)
            .and_then(|r| serde_json::from_str(&r.body).ok())
    };
    let after = body(read(change.version).await?);
    let before = match change.version {
        0 | 1 => None,
        v => body(read(v - 1).await?),
    };
    Ok((before, after))
}

/// The Organizations a Patient's `generalPractitioner` names.
async fn practice_of(engine: &Engine, patient: &str) -> Result<Vec<String>, Error> {
    let Some(r) = engine
        .store()
        .backend()
        .read(ResourceType::Patient, patient)
        .await?
        .filter(|r| !r.deleted)
    else {
        return Ok(Vec::new());
    };
    let body: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
    Ok(body
        .get("generalPractitioner")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|g| ref_id(g.get("reference")?.as_str()?, "Organization"))
        .map(str::to_owned)
        .collect())
}

/// The live Subscriptions of `organizations` to `topic`: id, body and when each was made.
async fn subscriptions(
    engine: &Engine,
    topic: crate::subscription::topic::Topic,
    organizations: &[String],
) -> Result<Vec<(String, Value, i64)>, Error> {
    let tags: Vec<String> = organizations
        .iter()
        .map(|o| format!("{SUBSCRIBER_TAG}|{o}"))
        .collect();
    let q = live_subscriptions(engine, topic, Some(tags.join(",")))?;
    let backend = engine.store().backend();
    let rows = backend.search(&q, usize::MAX).await?;
    let mut out = Vec::new();
    for (_, r) in backend.fetch(&rows).await? {
        let made = match r.version {
            1 => Some(r.last_updated),
            _ => backend
                .vread(ResourceType::Subscription, &r.id, 1)
                .await?
                .map(|first| first.last_updated),
        };
        if let (Ok(body), Some(made)) = (serde_json::from_str(&r.body), made) {
            out.push((r.id, body, made));
        }
    }
    Ok(out)
}

/// Whether `focus` (of `rtype`) passes the filters for its type: every `param=value` of each.
pub fn passes(filters: &[Filter], rtype: ResourceType, focus: &Value) -> bool {
    filters
        .iter()
        .filter(|(t, _)| *t == rtype)
        .all(|(_, pairs)| {
            pairs.iter().all(|(param, value)| match param.as_str() {
                "status" => {
                    let status = focus.get("status").and_then(Value::as_str);
                    value.split(',').any(|v| Some(v) == status)
                }
                "patient" => {
                    let patient = patient_of(rtype, focus);
                    value.split(',').any(|v| {
                        let v = v.strip_prefix("Patient/").unwrap_or(v);
                        patient.as_ref().is_some_and(|p| p.as_str() == v)
                    })
                }
                _ => false,
            })
        })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_focus_passes_the_filters_of_its_type_only() {
        let task = json!({"resourceType": "Task", "status": "requested",
            "for": {"reference": "Patient/ann"}});
        let t = ResourceType::Task;
        let f = |pairs: &[(&str, &str)]| {
            vec![(
                t,
                pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            )]
        };
        assert!(passes(&[], t, &task), "no filter");
        assert!(passes(&f(&[("status", "received,requested")]), t, &task));
        assert!(!passes(&f(&[("status", "accepted")]), t, &task));
        assert!(passes(
            &f(&[("patient", "Patient/ann"), ("status", "requested")]),
            t,
            &task
        ));
        assert!(!passes(&f(&[("patient", "bob")]), t, &task));
        // A ServiceRequest filter says nothing of a Task.
        let other = vec![(
            ResourceType::ServiceRequest,
            vec![("status".to_owned(), "revoked".to_owned())],
        )];
        assert!(passes(&other, t, &task));
    }
}
