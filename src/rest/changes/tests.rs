//! The referral state machine as a property: whatever sequence of writes any caller makes (the
//! receiver, the sender, an organisation that can read but is no party, the system), through the
//! engine's own update path, a Task and its referral never disagree, and the Task only ever moves
//! as the machine allows.

use std::sync::Arc;

use proptest::prelude::*;
use serde_json::{Value, json};

use crate::audit::write::Recording;
use crate::auth::scopes::Grants;
use crate::auth::{Principal, Role};
use crate::config::test_engine;
use crate::fhir::ResourceType;
use crate::referral::TaskStatus;
use crate::rest::{Engine, Return, test_create};

const ODS: &str = "https://fhir.nhs.uk/Id/ods-organization-code";

#[derive(Debug, Clone, Copy)]
enum Who {
    Receiver,
    Sender,
    Bystander,
    System,
}

#[derive(Debug, Clone)]
enum Step {
    /// The Task to a status, with or without a reason.
    Task(TaskStatus, bool),
    /// The referral to a status.
    Referral(&'static str),
    /// A note added to the Task.
    Note,
    /// The Task to one of the moves the machine has from where it is (the n-th, wrapping), with a
    /// reason: so that sequences reach the far states, not only the first moves.
    Next(usize),
}

fn principal(role: Role, ods: &str) -> Arc<Principal> {
    let mut p = Principal::system();
    p.role = role;
    p.organization = Some(ods.to_owned());
    p.scopes = vec!["user/*.cruds".into()];
    p.grants = Grants::new(&p.scopes);
    Arc::new(p)
}

struct Pair {
    engine: Engine,
    sr: String,
    task: String,
}

async fn pair(dir: &std::path::Path) -> Pair {
    let engine = test_engine(dir).await;
    let org = |code: &str| json!({"resourceType": "Organization", "identifier": [{"system": ODS, "value": code}]});
    let sender = test_create(&engine, ResourceType::Organization, org("C0001")).await;
    let receiver = test_create(&engine, ResourceType::Organization, org("H0001")).await;
    let practice = test_create(&engine, ResourceType::Organization, org("A81001")).await;
    let o = |id: &str| json!({"reference": format!("Organization/{id}")});
    let patient = test_create(
        &engine,
        ResourceType::Patient,
        json!({"resourceType": "Patient", "generalPractitioner": [o(&practice)]}),
    )
    .await;
    let p = json!({"reference": format!("Patient/{patient}")});
    let sr = test_create(
        &engine,
        ResourceType::ServiceRequest,
        json!({"resourceType": "ServiceRequest", "status": "active", "intent": "order",
            "category": [{"coding": [{"system": "http://snomed.info/sct", "code": "3457005"}]}],
            "subject": p, "authoredOn": "2026-12-01", "requester": o(&sender),
            "performer": [o(&receiver)]}),
    )
    .await;
    let task = test_create(
        &engine,
        ResourceType::Task,
        json!({"resourceType": "Task", "status": "requested", "intent": "order",
            "code": {"coding": [{"system": "http://hl7.org/fhir/CodeSystem/task-code", "code": "fulfill"}]},
            "focus": {"reference": format!("ServiceRequest/{sr}")}, "for": p,
            "requester": o(&sender), "owner": o(&receiver)}),
    )
    .await;
    Pair { engine, sr, task }
}

async fn current(engine: &Engine, rtype: ResourceType, id: &str) -> (Value, u64) {
    let r = engine
        .store()
        .backend()
        .read(rtype, id)
        .await
        .ok()
        .flatten()
        .expect("stored");
    (serde_json::from_str(&r.body).expect("json"), r.version)
}

fn status(v: &Value) -> String {
    v["status"].as_str().unwrap_or_default().to_owned()
}

/// `step` with a `Next` resolved against the Task's status `from`.
fn resolve(step: &Step, from: TaskStatus) -> Step {
    let Step::Next(n) = step else {
        return step.clone();
    };
    let moves: Vec<TaskStatus> = TaskStatus::ALL
        .into_iter()
        .filter(|to| from.mover(*to).is_some())
        .collect();
    match moves.get(n % moves.len().max(1)) {
        Some(to) => Step::Task(*to, true),
        None => Step::Note,
    }
}

async fn apply(p: &Pair, who: Who, step: &Step) -> Option<u16> {
    let gate = match who {
        // A health-care receiver: what it may see is not in question here, only what it may do.
        Who::Receiver => p.engine.gate(principal(Role::LinkWorker, "H0001"), None),
        Who::Sender => p.engine.gate(principal(Role::Cns, "C0001"), None),
        Who::Bystander => p.engine.gate(principal(Role::Gp, "A81001"), None),
        Who::System => p.engine.system_gate(),
    };
    let (rtype, id) = match step {
        Step::Referral(_) => (ResourceType::ServiceRequest, &p.sr),
        _ => (ResourceType::Task, &p.task),
    };
    let (mut body, version) = current(&p.engine, rtype, id).await;
    match step {
        Step::Task(s, reason) => {
            body["status"] = json!(s.code());
            if *reason {
                body["statusReason"] = json!({"text": "because"});
            }
        }
        Step::Referral(s) => body["status"] = json!(s),
        Step::Note | Step::Next(_) => {
            let mut notes = body["note"].as_array().cloned().unwrap_or_default();
            notes.push(json!({"text": "called the person"}));
            body["note"] = Value::Array(notes);
        }
    }
    let r = p
        .engine
        .update(
            rtype,
            id,
            body,
            Some(version),
            Return::Minimal,
            &gate,
            &Recording::Unrecorded,
        )
        .await;
    r.err().map(|e| e.status().as_u16())
}

/// Whether the machine lets `who` move a Task from `from` to `to` (with a reason or not).
fn allowed(who: Who, from: TaskStatus, to: TaskStatus, reason: bool) -> bool {
    use crate::referral::Mover;
    let mover = from.mover(to);
    let party = match who {
        Who::Receiver => mover == Some(Mover::Owner),
        Who::Sender => mover == Some(Mover::Requester),
        Who::System => mover.is_some(),
        Who::Bystander => false,
    };
    party && (reason || !to.needs_reason())
}

fn who() -> impl Strategy<Value = Who> {
    prop_oneof![
        3 => Just(Who::Receiver),
        2 => Just(Who::Sender),
        1 => Just(Who::Bystander),
        1 => Just(Who::System)
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (proptest::sample::select(TaskStatus::ALL.to_vec()), any::<bool>())
            .prop_map(|(s, r)| Step::Task(s, r)),
        1 => proptest::sample::select(vec!["revoked", "completed", "on-hold", "active", "entered-in-error"])
            .prop_map(Step::Referral),
        1 => Just(Step::Note),
        6 => any::<usize>().prop_map(Step::Next),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn no_sequence_of_writes_makes_a_task_and_its_referral_disagree(
        steps in proptest::collection::vec((who(), step()), 1..14)
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async {
            let dir = tempfile::tempdir().expect("dir");
            let p = pair(dir.path()).await;
            let mut was = TaskStatus::Requested;
            for (who, step) in &steps {
                let step = &resolve(step, was);
                let before = (current(&p.engine, ResourceType::Task, &p.task).await, current(&p.engine, ResourceType::ServiceRequest, &p.sr).await);
                let refused = apply(&p, *who, step).await;
                let (task, _) = current(&p.engine, ResourceType::Task, &p.task).await;
                let (sr, _) = current(&p.engine, ResourceType::ServiceRequest, &p.sr).await;
                let now = TaskStatus::from_code(&status(&task)).expect("a workflow status");
                // The Task moves only as the machine allows, and the referral follows it.
                assert!(now == was || was.mover(now).is_some(), "{was} -> {now} by {who:?} {step:?}");
                assert_eq!(status(&sr), now.request_status(), "after {who:?} {step:?}");
                // A refusal changes nothing, and no one but a party or the system writes.
                if refused.is_some() || matches!(who, Who::Bystander) {
                    assert_eq!((before.0.1, before.1.1), (current(&p.engine, ResourceType::Task, &p.task).await.1, current(&p.engine, ResourceType::ServiceRequest, &p.sr).await.1), "{who:?} {step:?} {refused:?}");
                }
                if let Some(code) = refused {
                    assert!((400..500).contains(&code), "{code} for {who:?} {step:?}");
                }
                // And every move the machine gives the writer is made.
                if let Step::Task(to, reason) = step
                    && allowed(*who, was, *to, *reason)
                {
                    assert_eq!((refused, now), (None, *to), "{who:?} {was} -> {to}");
                }
                if matches!((who, step), (Who::Receiver | Who::System, Step::Note)) {
                    assert_eq!(refused, None, "{who:?} adds a note");
                }
                was = now;
            }
        });
    }
}
