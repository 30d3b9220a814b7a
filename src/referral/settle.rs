//! The workflow inside a write's store transaction, after the write's own changes and before
//! commit: [`settle`] checks each touched Task and referral (a new Task against its referral,
//! each change against [`super::change`]) and returns the writes that keep each pair in step;
//! the engine makes them in the same transaction, then [`verify`] checks that every pair it
//! touched agrees. A failure rolls everything back, so the two never disagree, whichever write
//! path (update, conditional update, transaction entry, message) and whichever backend: two
//! concurrent writes to one pair both write the referral's next version, and the store's unique
//! version key lets only one of them commit.

use serde_json::{Value, json};

use super::change::{self, Actor};
use super::status::{Mover, TaskStatus};
use crate::access::Writer;
use crate::access::writes::reference;
use crate::error::Error;
use crate::fhir::instant::{format_instant, now_ms};
use crate::fhir::{OutcomeIssue, ResourceType};
use crate::search::{self, ParseOptions};
use crate::store::Tx;

/// A Task or referral the transaction wrote, with the version it replaced (`None`: created).
#[derive(Debug, Clone)]
pub struct Touched {
    /// Task or ServiceRequest.
    pub rtype: ResourceType,
    /// Its id.
    pub id: String,
    /// The live version the write replaced, as JSON.
    pub before: Option<Value>,
}

impl Touched {
    /// Whether writes of `rtype` are the workflow's to settle.
    pub fn concerns(rtype: ResourceType) -> bool {
        matches!(rtype, ResourceType::Task | ResourceType::ServiceRequest)
    }
}

/// A write the workflow makes to keep a pair in step (a new version of the whole resource).
#[derive(Debug, Clone)]
pub struct Consequence {
    /// Task or ServiceRequest.
    pub rtype: ResourceType,
    /// Its id.
    pub id: String,
    /// The new version's body.
    pub body: Value,
}

/// Checks every touched Task and referral (as they now are in `tx`) and returns the writes that
/// keep each pair in step.
pub fn settle(
    tx: &mut dyn Tx,
    writer: &Writer,
    touched: &[Touched],
) -> Result<Vec<Consequence>, Error> {
    let mut out = Vec::new();
    for t in touched
        .iter()
        .filter(|t| t.rtype == ResourceType::ServiceRequest)
    {
        let Some(after) = live(tx, ResourceType::ServiceRequest, &t.id)? else {
            continue;
        };
        let actor = actor(writer, &after, "performer");
        let Some(before) = &t.before else {
            if actor != Actor::Gateway && !matches!(status(&after), Some("active" | "draft")) {
                return Err(rule(
                    "ServiceRequest.status",
                    "A referral is made active (or draft)",
                ));
            }
            continue;
        };
        change::request(before, &after, actor)?;
        let revoked = status(&after) == Some("revoked") && status(before) != Some("revoked");
        if let (true, Some((task_id, task))) = (revoked, task_of(tx, &t.id)?) {
            out.extend(cancel(&task_id, task)?);
        }
    }
    for t in touched.iter().filter(|t| t.rtype == ResourceType::Task) {
        let Some(after) = live(tx, ResourceType::Task, &t.id)? else {
            continue;
        };
        let actor = actor(writer, &after, "owner");
        let (sr_id, sr) = referral_of(tx, &after, writer)?;
        match &t.before {
            None => new_task(tx, &t.id, &after, &sr_id, &sr)?,
            Some(before) => change::task(before, &after, actor)?,
        }
        let Some(task_status) = task_status(&after) else {
            continue;
        };
        let wanted = task_status.request_status();
        if status(&sr) != Some(wanted) {
            out.push(follow(sr_id, sr, task_status, &after));
        }
    }
    Ok(out)
}

/// 422 unless every referral in `touched` (or focused by a touched Task) has the status its Task
/// gives it.
pub fn verify(tx: &mut dyn Tx, touched: &[Touched]) -> Result<(), Error> {
    for t in touched {
        let (sr_id, task) = match t.rtype {
            ResourceType::ServiceRequest => match task_of(tx, &t.id)? {
                Some((_, task)) => (t.id.clone(), task),
                None => continue,
            },
            _ => match live(tx, ResourceType::Task, &t.id)? {
                Some(task) => match focus_id(&task) {
                    Some(sr) => (sr.to_owned(), task),
                    None => continue,
                },
                None => continue,
            },
        };
        let Some(sr) = live(tx, ResourceType::ServiceRequest, &sr_id)? else {
            return Err(rule(
                "ServiceRequest",
                "A referral with a Task cannot be deleted; delete its Task first",
            ));
        };
        if let Some(s) = task_status(&task)
            && status(&sr) != Some(s.request_status())
        {
            return Err(rule(
                "ServiceRequest.status",
                &format!(
                    "The referral's status must follow its Task's ({s}: {})",
                    s.request_status()
                ),
            ));
        }
    }
    Ok(())
}

/// Who changes `resource`: the gateway, or an organisation that is (or is not) its receiver
/// (`receiver` names the element: `owner` of a Task, `performer` of a referral) and requester.
fn actor(writer: &Writer, resource: &Value, receiver: &str) -> Actor {
    if writer.organizations().is_none() {
        return Actor::Gateway;
    }
    Actor::Party {
        owner: writer.is_own(reference(resource, receiver)),
        requester: writer.is_own(reference(resource, "requester")),
    }
}

/// A new Task: it starts `requested`, names its referral's patient and parties, and is the
/// referral's only Task. An organisation is told alike of a referral that does not exist and
/// one it did not send.
fn new_task(tx: &mut dyn Tx, id: &str, task: &Value, sr_id: &str, sr: &Value) -> Result<(), Error> {
    if task_status(task) != Some(TaskStatus::Requested) {
        return Err(rule("Task.status", "A referral's Task starts requested"));
    }
    for (mine, theirs, path) in [
        ("for", "subject", "Task.for"),
        ("owner", "performer", "Task.owner"),
        ("requester", "requester", "Task.requester"),
    ] {
        if reference(task, mine) != reference(sr, theirs) {
            return Err(rule(
                path,
                &format!("{path} must be the referral's {theirs}"),
            ));
        }
    }
    if status(sr) != Some("active") {
        return Err(rule("Task.focus", "The referral is not active"));
    }
    let others = tasks_for(tx, sr_id)?;
    if others.iter().any(|t| t != id) {
        return Err(rule("Task.focus", "The referral already has its Task"));
    }
    Ok(())
}

/// The referral a Task focuses on, live in `tx`. An organisation that neither sent nor receives
/// it is told the same as if it did not exist.
fn referral_of(tx: &mut dyn Tx, task: &Value, writer: &Writer) -> Result<(String, Value), Error> {
    let unknown = || {
        rule(
            "Task.focus",
            "Task.focus must reference a referral held here",
        )
    };
    let id = focus_id(task).ok_or_else(unknown)?.to_owned();
    let sr = live(tx, ResourceType::ServiceRequest, &id)?.ok_or_else(unknown)?;
    if actor(writer, &sr, "performer")
        == (Actor::Party {
            owner: false,
            requester: false,
        })
    {
        return Err(unknown());
    }
    Ok((id, sr))
}

/// The referral's new version when its Task moved: the status the Task gives, and the reason in
/// a note when the Task failed.
fn follow(sr_id: String, mut sr: Value, s: TaskStatus, task: &Value) -> Consequence {
    sr["status"] = json!(s.request_status());
    if s == TaskStatus::Failed {
        let reason = reason_text(task).unwrap_or_else(|| "no reason given".to_owned());
        let note = json!({
            "time": format_instant(now_ms()),
            "text": format!("The receiving organisation could not complete this referral: {reason}"),
        });
        match sr.get_mut("note").and_then(Value::as_array_mut) {
            Some(notes) => notes.push(note),
            None => sr["note"] = json!([note]),
        }
    }
    Consequence {
        rtype: ResourceType::ServiceRequest,
        id: sr_id,
        body: sr,
    }
}

/// The Task's new version when its requester revoked the referral: cancelled if it still can be,
/// untouched if it is already closed, and 422 if its receiver has started.
fn cancel(task_id: &str, mut task: Value) -> Result<Option<Consequence>, Error> {
    let Some(s) = task_status(&task) else {
        return Ok(None);
    };
    if s.is_final() {
        return Ok(None);
    }
    if s.mover(TaskStatus::Cancelled) != Some(Mover::Requester) {
        return Err(rule(
            "ServiceRequest.status",
            &format!(
                "The receiving organisation has this referral {s}; it can no longer be withdrawn"
            ),
        ));
    }
    task["status"] = json!("cancelled");
    task["statusReason"] =
        json!({"text": "The referral was revoked by the organisation that made it"});
    task["lastModified"] = json!(format_instant(now_ms()));
    Ok(Some(Consequence {
        rtype: ResourceType::Task,
        id: task_id.to_owned(),
        body: task,
    }))
}

/// The live Task of referral `sr_id`, if it has one.
fn task_of(tx: &mut dyn Tx, sr_id: &str) -> Result<Option<(String, Value)>, Error> {
    for id in tasks_for(tx, sr_id)? {
        if let Some(t) = live(tx, ResourceType::Task, &id)? {
            return Ok(Some((id, t)));
        }
    }
    Ok(None)
}

/// Ids of the live Tasks focused on referral `sr_id`, in `tx` (at most two: enough to tell one
/// from several).
fn tasks_for(tx: &mut dyn Tx, sr_id: &str) -> Result<Vec<String>, Error> {
    let pairs = [("focus".to_owned(), format!("ServiceRequest/{sr_id}"))];
    let q = search::parse(
        ResourceType::Task,
        &pairs,
        ParseOptions {
            lenient: false,
            default_count: 2,
            max_count: 2,
        },
    )?;
    Ok(tx.search_ids(&q, 2)?)
}

fn live(tx: &mut dyn Tx, rtype: ResourceType, id: &str) -> Result<Option<Value>, Error> {
    match tx.current(rtype, id)? {
        Some(r) if !r.deleted => serde_json::from_str(&r.body)
            .map(Some)
            .map_err(|e| Error::internal_from(format!("stored {rtype} is not JSON"), e)),
        _ => Ok(None),
    }
}

fn focus_id(task: &Value) -> Option<&str> {
    reference(task, "focus")?
        .strip_prefix("ServiceRequest/")
        .filter(|id| !id.is_empty() && !id.contains('/'))
}

fn status(v: &Value) -> Option<&str> {
    v.get("status").and_then(Value::as_str)
}

fn task_status(task: &Value) -> Option<TaskStatus> {
    status(task).and_then(TaskStatus::from_code)
}

fn reason_text(task: &Value) -> Option<String> {
    let r = task.get("statusReason")?;
    r.get("text")
        .and_then(Value::as_str)
        .or_else(|| {
            r.get("coding")?
                .as_array()?
                .iter()
                .find_map(|c| c.get("display").and_then(Value::as_str))
        })
        .map(str::to_owned)
}

fn rule(path: &str, message: &str) -> Error {
    Error::BusinessRule(vec![
        OutcomeIssue::error("business-rule", message).at(path.to_owned()),
    ])
}
