//! Reading the population's referrals, their fulfilment Tasks and those Tasks' histories.

use std::collections::{HashMap, HashSet};

use futures_util::StreamExt as _;

use super::facts::{self, TaskStatus};
use super::{Outcome, Referral, Referrals};
use crate::error::Error;
use crate::fhir::ResourceType;
use crate::fhir::days::{civil_from_days, parse_day};
use crate::hna::Canonical;
use crate::outcomes::facts::organization_type;
use crate::search::Include;
use crate::store::{Backend, HistoryFilter, Store};

/// Referrals per reverse include of their Tasks: within every backend's limit on bound parameters
/// (two per referral).
const CHUNK: usize = 10_000;

/// Referral rows per fetch (the store reorders each fetch at a cost that grows with its square).
const FETCH: usize = 1_000;

/// Task histories read at once: PostgreSQL then has several round trips under way (SQLite reads
/// in place, so for it this is one after the other).
const IN_FLIGHT: usize = 8;

/// Versions per history page; a fulfilment Task has a handful.
const PAGE: usize = 100;

/// The referrals of `org` (an Organization id) authored from `start` to `end` (`YYYY-MM-DD`,
/// both included), with their outcomes and the types of the organisations they name.
pub async fn gather(
    store: &Store,
    canonical: &Canonical,
    org: &str,
    start: &str,
    end: &str,
) -> Result<Referrals, Error> {
    let started = std::time::Instant::now();
    let (Some(first), Some(last)) = (parse_day(start), parse_day(end)) else {
        return Err(Error::internal("report period not a date"));
    };
    let backend = store.backend();
    let mut rows = Vec::new();
    for role in ["requester", "performer"] {
        let q = super::super::parse(
            ResourceType::ServiceRequest,
            &[
                (role, format!("Organization/{org}")),
                ("authored", format!("ge{}", ymd(first - 1))),
                ("authored", format!("le{}", ymd(last + 1))),
            ],
        )?;
        rows.extend(backend.search(&q, usize::MAX).await?);
    }
    let searched = started.elapsed();
    // Ascending rows make the store's per-fetch reordering cheap; a self-referral was found twice.
    rows.sort_unstable();
    rows.dedup();
    let concern_system = canonical.concern_system();
    let in_population = |f: &facts::ReferralFacts| {
        (first..=last).contains(&f.day)
            && (f.requester.as_deref() == Some(org) || f.performer.as_deref() == Some(org))
    };
    let mut list = Vec::new();
    let mut histories = Vec::new();
    let (mut fetched, mut tasks) = (std::time::Duration::ZERO, std::time::Duration::ZERO);
    for chunk in rows.chunks(CHUNK) {
        let mut ids = HashMap::new();
        for part in chunk.chunks(FETCH) {
            let t = std::time::Instant::now();
            let part = backend.fetch(part).await?;
            fetched += t.elapsed();
            for (_, r) in part {
                if let Some(f) = facts::referral(&r.body, &concern_system).filter(in_population) {
                    ids.insert(r.id, list.len());
                    list.push(Referral {
                        facts: f,
                        outcome: Outcome::Open,
                        accepted_ms: None,
                        completed_ms: None,
                    });
                }
            }
        }
        let t = std::time::Instant::now();
        histories.extend(attach_tasks(backend, &ids, &mut list).await?);
        tasks += t.elapsed();
    }
    tracing::debug!(
        referrals = list.len(),
        histories = histories.len(),
        ?searched,
        ?fetched,
        ?tasks,
        elapsed = ?started.elapsed(),
        "outcomes: referrals and Tasks read"
    );
    let mut read = futures_util::stream::iter(histories)
        .map(|(i, id)| async move { (i, milestones(backend, id).await) })
        .buffer_unordered(IN_FLIGHT);
    while let Some((i, times)) = read.next().await {
        let (accepted, completed) = times?;
        if let Some(r) = list.get_mut(i) {
            r.accepted_ms = accepted;
            r.completed_ms = completed.filter(|_| r.outcome == Outcome::Completed);
        }
    }
    tracing::debug!(elapsed = ?started.elapsed(), "outcomes: Task histories read");
    let org_types = organization_types(store, &list).await?;
    Ok(Referrals { list, org_types })
}

fn ymd(day: i32) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Gives the referrals of one chunk (`ids`: ServiceRequest id -> index in `list`) the outcome of
/// their fulfilment Task; the times too when the Task has only the version read. Returns the Tasks
/// whose history is needed for the times, with the index of their referral.
async fn attach_tasks(
    backend: &dyn Backend,
    ids: &HashMap<String, usize>,
    list: &mut [Referral],
) -> Result<Vec<(usize, String)>, Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let include = Include {
        source: ResourceType::Task,
        param: "focus",
        target: None,
    };
    let targets: Vec<(ResourceType, String)> = ids
        .keys()
        .map(|id| (ResourceType::ServiceRequest, id.clone()))
        .collect();
    let mut tasks = backend.revincluded(&targets, &include).await?;
    // The first stored Task wins when a referral has more than one.
    tasks.sort_unstable_by_key(|(row, _)| *row);
    let mut seen = HashSet::new();
    let mut histories = Vec::new();
    for (_, task) in tasks {
        let Some(t) = facts::fulfilment_task(&task.body) else {
            continue;
        };
        let Some(&i) = ids.get(&t.focus) else {
            continue;
        };
        if t.status == TaskStatus::EnteredInError || !seen.insert(i) {
            continue;
        }
        let Some(r) = list.get_mut(i) else {
            continue;
        };
        r.outcome = Outcome::of(Some(t.status));
        if task.version > 1 {
            histories.push((i, task.id));
        } else {
            let at = |s: TaskStatus| (t.status == s).then_some(task.last_updated);
            r.accepted_ms = at(TaskStatus::Accepted);
            r.completed_ms = at(TaskStatus::Completed);
        }
    }
    Ok(histories)
}

/// When Task `id` first had the status `accepted`, and `completed`, from its history.
async fn milestones(
    backend: &dyn Backend,
    id: String,
) -> Result<(Option<i64>, Option<i64>), Error> {
    let mut filter = HistoryFilter {
        rtype: Some(ResourceType::Task),
        id: Some(id),
        count: PAGE,
        ..HistoryFilter::default()
    };
    let (mut accepted, mut completed) = (None, None);
    loop {
        let page = backend.history(&filter).await?;
        // Newest first: the last match is the earliest version.
        for e in page.iter().filter(|e| !e.resource.deleted) {
            match facts::task_status(&e.resource.body) {
                Some(TaskStatus::Accepted) => accepted = Some(e.resource.last_updated),
                Some(TaskStatus::Completed) => completed = Some(e.resource.last_updated),
                _ => {}
            }
        }
        match page.last() {
            Some(e) if page.len() == PAGE => filter.before = Some(e.cursor),
            _ => break,
        }
    }
    Ok((accepted, completed))
}

/// Types of the Organizations the referrals name as requester or performer (each read once).
async fn organization_types(
    store: &Store,
    list: &[Referral],
) -> Result<HashMap<String, String>, Error> {
    let ids: HashSet<&String> = list
        .iter()
        .flat_map(|r| [&r.facts.requester, &r.facts.performer])
        .filter_map(Option::as_ref)
        .collect();
    let mut types = HashMap::new();
    for id in ids {
        if let Some(r) = store.backend().read(ResourceType::Organization, id).await?
            && !r.deleted
            && let Some(t) = organization_type(&r.body)
        {
            types.insert(id.clone(), t);
        }
    }
    Ok(types)
}
