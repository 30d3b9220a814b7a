//! Who owns a `Subscription`: the organisation its subscriber tag names. The gateway tags a
//! subscriber's new Subscription with its organisation (`crate::rest::changes`); the write table
//! lets a subscriber name only its own organisation ([`super::writes`]); the gate shows each
//! organisation its own Subscriptions only ([`super::gate`]). Delivery is `crate::notify`'s.

use serde_json::Value;

use crate::fhir::ids::OrganizationId;

/// The `meta.tag` system naming a Subscription's subscriber; the code is its Organization's id.
/// The gateway sets it when a subscriber creates a Subscription without it; a subscriber may name
/// only its own organisation ([`super::writes`]), and sees only its own Subscriptions.
pub const SUBSCRIBER_TAG: &str = "https://fhir.carebridge.uk/CodeSystem/subscriber";

/// The Organization ids a Subscription's subscriber tags name.
pub fn subscribers(subscription: &Value) -> Vec<&str> {
    subscription
        .pointer("/meta/tag")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|t| t.get("system").and_then(Value::as_str) == Some(SUBSCRIBER_TAG))
        .filter_map(|t| t.get("code").and_then(Value::as_str))
        .collect()
}

/// Whether `subscription` is one of `organizations`' own: it names a subscriber, and each it
/// names is one of them.
pub fn subscribed_by(subscription: &Value, organizations: &[OrganizationId<'_>]) -> bool {
    let named = subscribers(subscription);
    !named.is_empty()
        && named
            .iter()
            .all(|s| organizations.iter().any(|o| o.as_str() == *s))
}

/// `subscription` with `organization` as its subscriber when it names none.
pub fn with_subscriber(mut subscription: Value, organization: &str) -> Value {
    if !subscribers(&subscription).is_empty() {
        return subscription;
    }
    let tag = serde_json::json!({"system": SUBSCRIBER_TAG, "code": organization});
    if let Some(obj) = subscription.as_object_mut() {
        let meta = obj.entry("meta").or_insert_with(|| serde_json::json!({}));
        if let Some(meta) = meta.as_object_mut() {
            match meta.get_mut("tag").and_then(Value::as_array_mut) {
                Some(tags) => tags.push(tag),
                None => {
                    meta.insert("tag".into(), Value::Array(vec![tag]));
                }
            }
        }
    }
    subscription
}
