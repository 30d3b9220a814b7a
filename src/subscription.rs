//! A `Subscription` as a subscriber writes it (the R4 backport's shape), checked and read into the
//! [`Spec`] the delivery works from. Every fault is a 422 issue naming its element:
//!
//! - `criteria` is the canonical URL of one of this gateway's topics ([`topic`]);
//! - each filter (the backport's `filterCriteria` extension on `criteria`) is `Type?param=value`
//!   for a type the topic is about and a parameter the topic allows ([`allowed_filters`]);
//! - `channel.type` is `rest-hook`; `channel.endpoint` is an `https` URL whose host is on the
//!   deployment's allow-list, or `http` to a loopback address in development mode or listed
//!   there (a local sidecar carrying it on over TLS); never `http` to anything else;
//! - `channel.payload` is `application/fhir+json`; its content (the backport's `payload-content`
//!   extension) is `id-only` (the default), `empty`, or `full-resource` when the subscriber's role
//!   may be shown every type the topic is about (consent still decides each resource at send time);
//! - `channel.header` is refused: the gateway signs each request itself, and a header the
//!   subscriber chose (a bearer token for its endpoint, say) would be a secret stored in a resource
//!   others can read;
//! - heartbeat period (the backport's `heartbeat-period`) at least [`MIN_HEARTBEAT_SECONDS`];
//!   timeout (`timeout`) 1 to [`MAX_TIMEOUT_SECONDS`] seconds, default [`DEFAULT_TIMEOUT_SECONDS`].

pub mod topic;

use serde_json::Value;

use crate::access::policy::{Remit, remit};
pub use crate::access::subscriber::{SUBSCRIBER_TAG, subscribed_by, subscribers, with_subscriber};
use crate::auth::Role;
use crate::fhir::{OutcomeIssue, ResourceType};
use crate::hna::Canonical;
use topic::Topic;

/// The backport IG's base for its extensions.
const BACKPORT: &str = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition";

/// The extension on `channel` carrying the secret the subscriber verifies each notification's
/// signature with (`valueString`, 32 to 256 characters). The gateway keeps it beside the
/// subscription's delivery state and takes it out of the stored resource: it is never served.
pub const SECRET_EXTENSION: &str =
    "https://fhir.carebridge.uk/StructureDefinition/subscription-signing-secret";

/// Shortest heartbeat period accepted, in seconds.
pub const MIN_HEARTBEAT_SECONDS: u64 = 60;
/// Longest endpoint timeout accepted, in seconds.
pub const MAX_TIMEOUT_SECONDS: u64 = 120;
/// Endpoint timeout when none is given, in seconds.
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 30;

/// How much of a resource a notification carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    /// No resource reference at all: the subscriber asks `$events`.
    Empty,
    /// The focus's reference only.
    IdOnly,
    /// The focus as a read by the subscriber would show it.
    FullResource,
}

impl Content {
    /// The backport's code.
    pub fn code(self) -> &'static str {
        match self {
            Content::Empty => "empty",
            Content::IdOnly => "id-only",
            Content::FullResource => "full-resource",
        }
    }
}

/// Where a deployment lets the gateway send notifications, and how long it keeps trying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelRules {
    /// Hosts (exact, lowercase) `https` endpoints may name.
    pub allowed_hosts: Vec<String>,
    /// Development mode: `http` to a loopback address is allowed too.
    pub loopback_http: bool,
    /// Failed attempts in a row before a subscription is put in `error` (`notify_max_attempts`).
    pub max_attempts: u64,
}

/// One filter: a type and its `param=value` pairs (all must match: the backport's AND).
pub type Filter = (ResourceType, Vec<(String, String)>);

/// A checked Subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// Its topic.
    pub topic: Topic,
    /// Its filters.
    pub filters: Vec<Filter>,
    /// The endpoint.
    pub endpoint: String,
    /// The payload content.
    pub content: Content,
    /// Heartbeat period, seconds.
    pub heartbeat: Option<u64>,
    /// Endpoint timeout, seconds.
    pub timeout: u64,
}

/// The filter parameters a topic allows.
pub fn allowed_filters(topic: Topic) -> &'static [&'static str] {
    match topic {
        Topic::ReferralAddressed | Topic::ReferralSent => &["status", "patient"],
        Topic::PcspShared | Topic::ConsentChanged => &["patient"],
    }
}

/// The canonical URL of `topic` under `c`.
pub fn topic_url(c: &Canonical, topic: Topic) -> String {
    c.url(&format!("SubscriptionTopic/{}", topic.code()))
}

/// Checks `subscription` against the topics and `rules` (what its subscriber's role may receive
/// is [`content_refused`]'s, for the write table).
pub fn check(
    subscription: &Value,
    c: &Canonical,
    rules: &ChannelRules,
) -> Result<Spec, Vec<OutcomeIssue>> {
    let mut issues = Vec::new();
    let mut fault = |path: &str, text: String| {
        issues.push(OutcomeIssue::error("business-rule", text).at(path));
    };
    let criteria = subscription.get("criteria").and_then(Value::as_str);
    let topic = criteria.and_then(|url| Topic::ALL.into_iter().find(|t| topic_url(c, *t) == url));
    if topic.is_none() {
        let known: Vec<String> = Topic::ALL.iter().map(|t| topic_url(c, *t)).collect();
        fault(
            "Subscription.criteria",
            format!(
                "criteria names one of this gateway's topics: {}",
                known.join(", ")
            ),
        );
    }
    let mut filters = Vec::new();
    for (i, text) in
        extension_values(subscription.get("_criteria"), "backport-filter-criteria").enumerate()
    {
        let path = format!("Subscription.criteria.extension[{i}]");
        let Some(topic) = topic else { continue };
        match filter(topic, text.as_str().unwrap_or_default()) {
            Ok(f) => filters.push(f),
            Err(e) => fault(&path, e),
        }
    }
    let channel = subscription.get("channel");
    let get = |key: &str| channel.and_then(|ch| ch.get(key));
    if get("type").and_then(Value::as_str) != Some("rest-hook") {
        fault(
            "Subscription.channel.type",
            "channel.type is rest-hook (the only channel this gateway sends on)".into(),
        );
    }
    let endpoint = get("endpoint").and_then(Value::as_str).unwrap_or_default();
    if let Err(e) = endpoint_allowed(endpoint, rules) {
        fault("Subscription.channel.endpoint", e);
    }
    if get("header").is_some() {
        fault(
            "Subscription.channel.header",
            "channel.header is not supported: each notification is signed by the gateway".into(),
        );
    }
    let payload_ext = get("_payload");
    let content = match extension_values(payload_ext, "backport-payload-content").next() {
        None => Some(Content::IdOnly),
        Some(v) => match v.as_str() {
            Some("empty") => Some(Content::Empty),
            Some("id-only") => Some(Content::IdOnly),
            Some("full-resource") => Some(Content::FullResource),
            _ => None,
        },
    };
    if content.is_none() {
        fault(
            "Subscription.channel.payload.extension",
            "payload content is empty, id-only or full-resource".into(),
        );
    }
    if content != Some(Content::Empty)
        && get("payload").and_then(Value::as_str) != Some("application/fhir+json")
    {
        fault(
            "Subscription.channel.payload",
            "channel.payload is application/fhir+json".into(),
        );
    }
    let channel_ext = channel.map(|ch| ch.get("extension"));
    let number = |name: &str, key: &str| {
        extension(channel_ext.flatten(), name)
            .and_then(|e| e.get(key))
            .map(Value::as_u64)
    };
    let heartbeat = match number("backport-heartbeat-period", "valueUnsignedInt") {
        None => None,
        Some(Some(s)) if s >= MIN_HEARTBEAT_SECONDS => Some(s),
        Some(_) => {
            fault(
                "Subscription.channel.extension",
                format!("heartbeat-period is at least {MIN_HEARTBEAT_SECONDS} seconds"),
            );
            None
        }
    };
    let timeout = match number("backport-timeout", "valueUnsignedInt") {
        None => DEFAULT_TIMEOUT_SECONDS,
        Some(Some(s)) if (1..=MAX_TIMEOUT_SECONDS).contains(&s) => s,
        Some(_) => {
            fault(
                "Subscription.channel.extension",
                format!("timeout is 1 to {MAX_TIMEOUT_SECONDS} seconds"),
            );
            DEFAULT_TIMEOUT_SECONDS
        }
    };
    match (topic, content) {
        (Some(topic), Some(content)) if issues.is_empty() => Ok(Spec {
            topic,
            filters,
            endpoint: endpoint.to_owned(),
            content,
            heartbeat,
            timeout,
        }),
        _ => Err(issues),
    }
}

/// Why a subscriber of `role` may not have `content` of `topic`: `full-resource` of a topic about
/// a type the role is never shown.
pub fn content_refused(topic: Topic, content: Content, role: Role) -> Option<OutcomeIssue> {
    if content != Content::FullResource {
        return None;
    }
    let hidden = topic
        .resource_types()
        .iter()
        .find(|rt| matches!(remit(role, **rt), Remit::Nothing(_)))?;
    Some(
        OutcomeIssue::error(
            "forbidden",
            format!(
                "full-resource: a {role} subscriber is never shown {hidden} resources; use id-only"
            ),
        )
        .at("Subscription.channel.payload.extension"),
    )
}

/// [`content_refused`] for a Subscription as written (its topic read from the last segment of
/// `criteria`; a Subscription whose topic or content is unknown is left to [`check`]).
pub fn content_refused_in(subscription: &Value, role: Role) -> Option<OutcomeIssue> {
    let code = subscription.get("criteria")?.as_str()?.rsplit('/').next()?;
    let topic = Topic::from_code(code)?;
    let content = extension_values(
        subscription.pointer("/channel/_payload"),
        "backport-payload-content",
    )
    .next()
    .and_then(Value::as_str);
    (content == Some("full-resource"))
        .then(|| content_refused(topic, Content::FullResource, role))
        .flatten()
}

/// The filters of a stored Subscription to `topic` (checked when it was written); `None` when one
/// no longer parses, and the Subscription then matches nothing rather than more.
pub fn filters_of(subscription: &Value, topic: Topic) -> Option<Vec<Filter>> {
    extension_values(subscription.get("_criteria"), "backport-filter-criteria")
        .map(|text| filter(topic, text.as_str().unwrap_or_default()).ok())
        .collect()
}

/// Takes the signing secret out of `subscription` (every [`SECRET_EXTENSION`] on `channel`):
/// `Ok(None)` when it has none; the fault when it is not a string of 32 to 256 characters.
pub fn take_secret(subscription: &mut Value) -> Result<Option<String>, OutcomeIssue> {
    let Some(list) = subscription
        .pointer_mut("/channel/extension")
        .and_then(Value::as_array_mut)
    else {
        return Ok(None);
    };
    let mut secret = None;
    let mut bad = false;
    list.retain(|e| {
        if e.get("url").and_then(Value::as_str) != Some(SECRET_EXTENSION) {
            return true;
        }
        match e.get("valueString").and_then(Value::as_str) {
            Some(s) if (32..=256).contains(&s.chars().count()) => secret = Some(s.to_owned()),
            _ => bad = true,
        }
        false
    });
    if list.is_empty()
        && let Some(channel) = subscription
            .get_mut("channel")
            .and_then(Value::as_object_mut)
    {
        channel.remove("extension");
    }
    if bad {
        return Err(OutcomeIssue::error(
            "business-rule",
            "the signing secret is a valueString of 32 to 256 characters",
        )
        .at("Subscription.channel.extension"));
    }
    Ok(secret)
}

/// One filter: `Type?param=value[&param=value]`, the type one the topic is about.
fn filter(topic: Topic, text: &str) -> Result<Filter, String> {
    let (rtype, query) = text
        .split_once('?')
        .ok_or_else(|| format!("a filter is Type?param=value, not '{text}'"))?;
    let rtype: ResourceType = rtype
        .parse()
        .ok()
        .filter(|t| topic.resource_types().contains(t))
        .ok_or_else(|| format!("topic {} is about {}", topic.code(), names(topic)))?;
    let allowed = allowed_filters(topic);
    let mut pairs = Vec::new();
    for part in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        if !allowed.contains(&k) || v.is_empty() {
            return Err(format!(
                "topic {} filters on {} (each with a value), not '{k}'",
                topic.code(),
                allowed.join(", ")
            ));
        }
        pairs.push((k.to_owned(), v.to_owned()));
    }
    if pairs.is_empty() {
        return Err(format!("the filter '{text}' filters on nothing"));
    }
    Ok((rtype, pairs))
}

fn names(topic: Topic) -> String {
    let names: Vec<&str> = topic.resource_types().iter().map(|t| t.as_str()).collect();
    names.join(" and ")
}

/// Whether notifications may be sent to `endpoint`.
fn endpoint_allowed(endpoint: &str, rules: &ChannelRules) -> Result<(), String> {
    let url = reqwest::Url::parse(endpoint)
        .map_err(|_| format!("channel.endpoint is an absolute URL, not '{endpoint}'"))?;
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let loopback = host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !url.username().is_empty() || url.password().is_some() {
        return Err("channel.endpoint carries no credentials".into());
    }
    match url.scheme() {
        "https" if rules.allowed_hosts.contains(&host) => Ok(()),
        "https" => Err(format!(
            "channel.endpoint's host {host} is not on this deployment's allow-list"
        )),
        // Loopback in development mode, or a loopback host the deployment lists (a local
        // sidecar that carries the request on over TLS).
        "http" if loopback && (rules.loopback_http || rules.allowed_hosts.contains(&host)) => {
            Ok(())
        }
        "http" => Err(
            "channel.endpoint is https (plain http only to loopback in development mode)".into(),
        ),
        other => Err(format!("channel.endpoint is https, not {other}")),
    }
}

/// The values (`value[x]`) of the backport extensions called `name` in `element.extension`.
fn extension_values<'a>(
    element: Option<&'a Value>,
    name: &'a str,
) -> impl Iterator<Item = &'a Value> + 'a {
    let url = format!("{BACKPORT}/{name}");
    element
        .and_then(|e| e.get("extension"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(move |e| e.get("url").and_then(Value::as_str) == Some(url.as_str()))
        .filter_map(|e| {
            e.as_object()?
                .iter()
                .find(|(k, _)| k.starts_with("value"))
                .map(|(_, v)| v)
        })
}

/// The backport extension called `name` in an `extension` array.
fn extension<'a>(extensions: Option<&'a Value>, name: &str) -> Option<&'a Value> {
    let url = format!("{BACKPORT}/{name}");
    extensions?
        .as_array()?
        .iter()
        .find(|e| e.get("url").and_then(Value::as_str) == Some(url.as_str()))
}

#[cfg(test)]
mod tests;
