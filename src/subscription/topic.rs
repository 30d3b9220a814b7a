//! The subscription topics the gateway serves (R5-style topics on R4, per the Subscriptions
//! backport): what each is about, which change of which resource triggers it, and which
//! organisation a triggered event concerns. Matching is pure: it takes the version before a change
//! and the version after it, so the outbox can be matched long after the write committed.
//!
//! | topic | triggered by | concerns |
//! |---|---|---|
//! | `referral-addressed` | a `Task` or `ServiceRequest` created, or its `status` changed | the Task's `owner` / the referral's `performer` Organizations |
//! | `referral-sent` | a `Task` or `ServiceRequest` whose `status` changed (not its creation: the sender made it) | the Task's `requester` / the referral's `requester` Organization |
//! | `pcsp-shared` | a `CarePlan` shared with the GP (`pcsp-shared-with` = `gp`) created, or changed in `status`, `activity` or `goal` (not only its metadata), or no longer shared | the subject's registered practice (read when the event is matched to subscriptions) |
//! | `consent-changed` | a `Consent` created, changed or deleted | the Organizations its provisions name as actors |
//!
//! A deletion triggers the topics its last version was in (`referral-*` as a status change).

use serde_json::Value;

use crate::fhir::ResourceType;
use crate::fhir::reference::ref_id;

/// A topic of this gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Topic {
    /// A referral or its Task addressed to my organisation was created or changed status.
    ReferralAddressed,
    /// A referral I sent, or its Task, changed status.
    ReferralSent,
    /// A plan shared with my practice was created or changed in what matters to the GP.
    PcspShared,
    /// A consent naming my organisation changed.
    ConsentChanged,
}

impl Topic {
    /// Every topic, in the order they are listed.
    pub const ALL: [Topic; 4] = [
        Topic::ReferralAddressed,
        Topic::ReferralSent,
        Topic::PcspShared,
        Topic::ConsentChanged,
    ];

    /// The last segment of its canonical URL (`{canonical}/SubscriptionTopic/<code>`).
    pub fn code(self) -> &'static str {
        match self {
            Topic::ReferralAddressed => "referral-addressed",
            Topic::ReferralSent => "referral-sent",
            Topic::PcspShared => "pcsp-shared",
            Topic::ConsentChanged => "consent-changed",
        }
    }

    /// What it tells a subscriber, for the CapabilityStatement and error messages.
    pub fn title(self) -> &'static str {
        match self {
            Topic::ReferralAddressed => {
                "A referral or its Task addressed to my organisation was created or changed status"
            }
            Topic::ReferralSent => "A referral my organisation sent, or its Task, changed status",
            Topic::PcspShared => {
                "A care plan shared with my practice was created or changed (status, activities, goals)"
            }
            Topic::ConsentChanged => "A consent naming my organisation was recorded or changed",
        }
    }

    /// The resource types whose changes trigger it.
    pub fn resource_types(self) -> &'static [ResourceType] {
        match self {
            Topic::ReferralAddressed | Topic::ReferralSent => {
                &[ResourceType::ServiceRequest, ResourceType::Task]
            }
            Topic::PcspShared => &[ResourceType::CarePlan],
            Topic::ConsentChanged => &[ResourceType::Consent],
        }
    }

    /// The topic whose code is `code`.
    pub fn from_code(code: &str) -> Option<Topic> {
        Topic::ALL.into_iter().find(|t| t.code() == code)
    }
}

/// Whom a triggered event concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Concerned {
    /// These Organizations (ids).
    Organizations(Vec<String>),
    /// The registered practice of this Patient (id), looked up when the event is matched.
    PracticeOf(String),
}

/// One triggered event: its topic and whom it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Triggered {
    /// The topic.
    pub topic: Topic,
    /// Whom it concerns.
    pub concerned: Concerned,
}

/// Whether a change of `rtype` can trigger any topic (the write path records only these).
pub fn watched(rtype: ResourceType) -> bool {
    Topic::ALL
        .iter()
        .any(|t| t.resource_types().contains(&rtype))
}

/// The events a change of a `rtype` from `before` to `after` triggers (`None`: did not exist, or
/// deleted). `shared_with` is the URL of the plan's shared-with extension.
pub fn triggered(
    rtype: ResourceType,
    before: Option<&Value>,
    after: Option<&Value>,
    shared_with: &str,
) -> Vec<Triggered> {
    let mut out = Vec::new();
    let Some(last) = after.or(before) else {
        return out;
    };
    match rtype {
        ResourceType::Task | ResourceType::ServiceRequest => {
            let created = before.is_none();
            let moved = !created && (after.is_none() || status(before) != status(after));
            let (addressee, sender) = if rtype == ResourceType::Task {
                ("owner", "requester")
            } else {
                ("performer", "requester")
            };
            if created || moved {
                push(
                    &mut out,
                    Topic::ReferralAddressed,
                    organizations(last, addressee),
                );
            }
            if moved {
                push(&mut out, Topic::ReferralSent, organizations(last, sender));
            }
        }
        ResourceType::CarePlan => {
            let shared = |v: Option<&Value>| v.is_some_and(|p| shared_with_gp(p, shared_with));
            let matters = |v: Option<&Value>| {
                v.map(|p| {
                    ["status", "activity", "goal"].map(|k| p.get(k).cloned().unwrap_or(Value::Null))
                })
            };
            let (was, is) = (shared(before), shared(after));
            let changed = matters(before) != matters(after);
            if (is && changed) || (was && !is) {
                let patient = last
                    .pointer("/subject/reference")
                    .and_then(Value::as_str)
                    .and_then(|r| ref_id(r, "Patient"));
                if let Some(p) = patient {
                    out.push(Triggered {
                        topic: Topic::PcspShared,
                        concerned: Concerned::PracticeOf(p.to_owned()),
                    });
                }
            }
        }
        ResourceType::Consent => {
            let mut orgs = actors(before);
            orgs.extend(actors(after));
            orgs.sort();
            orgs.dedup();
            push(&mut out, Topic::ConsentChanged, orgs);
        }
        _ => {}
    }
    out
}

fn status(v: Option<&Value>) -> Option<&str> {
    v?.get("status")?.as_str()
}

fn push(out: &mut Vec<Triggered>, topic: Topic, orgs: Vec<String>) {
    if !orgs.is_empty() {
        out.push(Triggered {
            topic,
            concerned: Concerned::Organizations(orgs),
        });
    }
}

/// The Organization ids `key` (a reference or a list of them) names.
fn organizations(resource: &Value, key: &str) -> Vec<String> {
    let refs: Vec<&Value> = match resource.get(key) {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(one) => vec![one],
        None => Vec::new(),
    };
    refs.into_iter()
        .filter_map(|r| ref_id(r.get("reference")?.as_str()?, "Organization"))
        .map(str::to_owned)
        .collect()
}

/// The Organizations a Consent's provisions (nested ones too) name as actors.
fn actors(consent: Option<&Value>) -> Vec<String> {
    fn walk(provision: &Value, out: &mut Vec<String>) {
        for actor in provision
            .get("actor")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(id) = actor
                .pointer("/reference/reference")
                .and_then(Value::as_str)
                .and_then(|r| ref_id(r, "Organization"))
            {
                out.push(id.to_owned());
            }
        }
        for inner in provision
            .get("provision")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            walk(inner, out);
        }
    }
    let mut out = Vec::new();
    if let Some(p) = consent.and_then(|c| c.get("provision")) {
        walk(p, &mut out);
    }
    out
}

fn shared_with_gp(plan: &Value, url: &str) -> bool {
    plan.get("extension")
        .and_then(Value::as_array)
        .is_some_and(|exts| {
            exts.iter().any(|e| {
                e.get("url").and_then(Value::as_str) == Some(url)
                    && e.get("valueCode").and_then(Value::as_str) == Some("gp")
            })
        })
}

#[cfg(test)]
mod tests;
