//! What the referral tables need from a `ServiceRequest` and its fulfilment `Task`, read with small
//! borrowing structs as the HNA facts are (see [`super::super::facts`]): a report reads every
//! referral of an organisation's year, and most of each resource is skipped unparsed.

use std::borrow::Cow;

use serde::Deserialize;

use crate::fhir::days::parse_day;
use crate::fhir::reference::ref_id;
use crate::hna::catalogue::{DOMAINS, concern};
use crate::search::date::parse_range;

/// SNOMED CT, whose `3457005` (patient referral) in `category` makes a ServiceRequest a referral.
const SNOMED: &str = "http://snomed.info/sct";
/// SNOMED CT "Patient referral".
const REFERRAL_CODE: &str = "3457005";
/// The task-code system and the code of the Task that fulfils a referral.
const TASK_CODE_SYSTEM: &str = "http://hl7.org/fhir/CodeSystem/task-code";
const FULFIL: &str = "fulfill";

/// One referral, reduced to what the tables use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralFacts {
    /// `authoredOn`'s date as written (days since 1970-01-01): the period is about this date.
    pub day: i32,
    /// `authoredOn` as epoch milliseconds (the start of the day for a date without a time): the
    /// intervals to acceptance and completion start here.
    pub authored_ms: i64,
    /// The subject Patient's id.
    pub patient: Option<String>,
    /// The requester Organization's id.
    pub requester: Option<String>,
    /// The first performer's Organization id.
    pub performer: Option<String>,
    /// Catalogue domain indices (into [`DOMAINS`]) of the concerns in `reasonCode`, each once, in
    /// catalogue order; empty when no catalogue concern is coded.
    pub domains: Vec<u8>,
}

/// A fulfilment Task's status (FHIR `TaskStatus`; the contract uses all but `draft`, `ready` and
/// `entered-in-error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskStatus {
    /// Sent, not yet seen.
    Requested,
    /// Seen by the receiving organisation.
    Received,
    /// Taken on.
    Accepted,
    /// Declined by the receiving organisation.
    Rejected,
    /// Withdrawn.
    Cancelled,
    /// Being worked on.
    InProgress,
    /// Paused.
    OnHold,
    /// Done.
    Completed,
    /// Attempted and not achieved.
    Failed,
    /// A status outside the contract that still leaves the referral open (`draft`, `ready`).
    Other,
    /// Recorded by mistake: the Task does not count.
    EnteredInError,
}

impl TaskStatus {
    /// From the `status` code; `None` when it is not a FHIR Task status.
    pub fn parse(code: &str) -> Option<Self> {
        Some(match code {
            "requested" => Self::Requested,
            "received" => Self::Received,
            "accepted" => Self::Accepted,
            "rejected" => Self::Rejected,
            "cancelled" => Self::Cancelled,
            "in-progress" => Self::InProgress,
            "on-hold" => Self::OnHold,
            "completed" => Self::Completed,
            "failed" => Self::Failed,
            "draft" | "ready" => Self::Other,
            "entered-in-error" => Self::EnteredInError,
            _ => return None,
        })
    }
}

/// One fulfilment Task, current version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskFacts {
    /// The ServiceRequest id in `focus`.
    pub focus: String,
    /// Its status.
    pub status: TaskStatus,
}

#[derive(Deserialize)]
struct RawRef<'a> {
    #[serde(borrow)]
    reference: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct RawCoding<'a> {
    #[serde(borrow)]
    system: Option<Cow<'a, str>>,
    #[serde(borrow)]
    code: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct RawConcept<'a> {
    #[serde(borrow, default)]
    coding: Vec<RawCoding<'a>>,
}

impl RawConcept<'_> {
    fn has(&self, system: &str, code: &str) -> bool {
        self.coding
            .iter()
            .any(|c| c.system.as_deref() == Some(system) && c.code.as_deref() == Some(code))
    }
}

#[derive(Deserialize)]
struct RawServiceRequest<'a> {
    #[serde(borrow)]
    status: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    category: Vec<RawConcept<'a>>,
    #[serde(borrow)]
    subject: Option<RawRef<'a>>,
    #[serde(rename = "authoredOn", borrow)]
    authored_on: Option<Cow<'a, str>>,
    #[serde(borrow)]
    requester: Option<RawRef<'a>>,
    #[serde(borrow, default)]
    performer: Vec<RawRef<'a>>,
    #[serde(rename = "reasonCode", borrow, default)]
    reason_code: Vec<RawConcept<'a>>,
}

#[derive(Deserialize)]
struct RawTask<'a> {
    #[serde(borrow)]
    status: Option<Cow<'a, str>>,
    #[serde(borrow)]
    code: Option<RawConcept<'a>>,
    #[serde(borrow)]
    focus: Option<RawRef<'a>>,
}

#[derive(Deserialize)]
struct RawStatus<'a> {
    #[serde(borrow)]
    status: Option<Cow<'a, str>>,
}

fn org(r: Option<&RawRef<'_>>) -> Option<String> {
    ref_id(r?.reference.as_deref()?, "Organization").map(str::to_owned)
}

/// Reads a referral; `None` when unreadable, not a referral (no SNOMED `3457005` category),
/// `entered-in-error`, or without a readable `authoredOn` (it cannot be placed in a period).
/// Concerns are codings of `concern_system` whose code the catalogue knows.
pub fn referral(body: &str, concern_system: &str) -> Option<ReferralFacts> {
    let raw: RawServiceRequest<'_> = serde_json::from_str(body).ok()?;
    if raw.status.as_deref() == Some("entered-in-error")
        || !raw.category.iter().any(|c| c.has(SNOMED, REFERRAL_CODE))
    {
        return None;
    }
    let authored = raw.authored_on.as_deref()?;
    let mut domains: Vec<u8> = raw
        .reason_code
        .iter()
        .flat_map(|c| &c.coding)
        .filter(|k| k.system.as_deref() == Some(concern_system))
        .filter_map(|k| concern(k.code.as_deref()?))
        .filter_map(|c| DOMAINS.iter().position(|(d, _)| *d == c.domain))
        .filter_map(|d| u8::try_from(d).ok())
        .collect();
    domains.sort_unstable();
    domains.dedup();
    Some(ReferralFacts {
        day: parse_day(authored)?,
        authored_ms: parse_range(authored)?.lo,
        patient: raw
            .subject
            .and_then(|s| ref_id(s.reference.as_deref()?, "Patient").map(str::to_owned)),
        requester: org(raw.requester.as_ref()),
        performer: org(raw.performer.first()),
        domains,
    })
}

/// Reads a Task; `None` unless it is a fulfilment Task (`task-code` `fulfill`) focused on a
/// ServiceRequest with a known status.
pub fn fulfilment_task(body: &str) -> Option<TaskFacts> {
    let raw: RawTask<'_> = serde_json::from_str(body).ok()?;
    if !raw.code.is_some_and(|c| c.has(TASK_CODE_SYSTEM, FULFIL)) {
        return None;
    }
    Some(TaskFacts {
        focus: ref_id(raw.focus?.reference.as_deref()?, "ServiceRequest")?.to_owned(),
        status: TaskStatus::parse(raw.status.as_deref()?)?,
    })
}

/// The status of one version of a Task (history versions need nothing else).
pub fn task_status(body: &str) -> Option<TaskStatus> {
    let raw: RawStatus<'_> = serde_json::from_str(body).ok()?;
    TaskStatus::parse(raw.status.as_deref()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONCERNS: &str = "https://x/CodeSystem/hna-concern";

    fn sr(extra: &str) -> String {
        format!(
            r#"{{"resourceType":"ServiceRequest","status":"active","intent":"order",
            "category":[{{"coding":[{{"system":"http://snomed.info/sct","code":"3457005"}}]}}],
            "subject":{{"reference":"Patient/p"}},"requester":{{"reference":"Organization/a"}},
            "performer":[{{"reference":"Organization/b"}},{{"reference":"Organization/c"}}]{extra}}}"#
        )
    }

    #[test]
    fn a_referral_yields_its_organisations_date_and_concern_domains() {
        let body = sr(r#","authoredOn":"2026-03-01T23:30:00-05:00","reasonCode":[
            {"coding":[{"system":"https://x/CodeSystem/hna-concern","code":"pain"}]},
            {"coding":[{"system":"https://x/CodeSystem/hna-concern","code":"breathing"},
                       {"system":"https://x/CodeSystem/hna-concern","code":"money-finance"}]},
            {"coding":[{"system":"https://y/other","code":"worry-fear-anxiety"}]},
            {"coding":[{"system":"https://x/CodeSystem/hna-concern","code":"no-such-concern"}]}]"#);
        let f = referral(&body, CONCERNS).expect("a referral");
        // The recorded local date, not the UTC one (2026-03-02).
        assert_eq!(f.day, parse_day("2026-03-01").unwrap_or_default());
        assert_eq!(
            f.authored_ms,
            parse_range("2026-03-02T04:30:00Z").map_or(0, |r| r.lo)
        );
        assert_eq!(f.patient.as_deref(), Some("p"));
        assert_eq!(f.requester.as_deref(), Some("a"));
        assert_eq!(f.performer.as_deref(), Some("b"));
        // physical (pain, breathing) once, practical once; the other system and code do not count.
        assert_eq!(f.domains, vec![0, 1]);
    }

    #[test]
    fn other_service_requests_are_not_referrals() {
        let dated = r#","authoredOn":"2026-03-01""#;
        assert!(referral(&sr(dated), CONCERNS).is_some());
        assert!(referral(&sr(""), CONCERNS).is_none(), "no authoredOn");
        let wrong = sr(dated).replace(r#""status":"active""#, r#""status":"entered-in-error""#);
        assert!(referral(&wrong, CONCERNS).is_none());
        let other = sr(dated).replace("3457005", "386053000");
        assert!(referral(&other, CONCERNS).is_none());
    }

    #[test]
    fn only_fulfilment_tasks_count() {
        let task = |code: &str, status: &str| {
            format!(
                r#"{{"resourceType":"Task","status":"{status}","intent":"order",
                "code":{{"coding":[{{"system":"http://hl7.org/fhir/CodeSystem/task-code","code":"{code}"}}]}},
                "focus":{{"reference":"ServiceRequest/r1"}}}}"#
            )
        };
        assert_eq!(
            fulfilment_task(&task("fulfill", "in-progress")),
            Some(TaskFacts {
                focus: "r1".into(),
                status: TaskStatus::InProgress
            })
        );
        assert_eq!(fulfilment_task(&task("approve", "accepted")), None);
        assert_eq!(fulfilment_task(&task("fulfill", "bogus")), None);
        assert_eq!(
            task_status(&task("approve", "rejected")),
            Some(TaskStatus::Rejected)
        );
    }
}
