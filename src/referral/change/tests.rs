use serde_json::{Value, json};

use super::*;

fn stored_task(status: &str) -> Value {
    json!({"resourceType": "Task", "id": "t1", "meta": {"versionId": "1"}, "status": status,
        "intent": "order", "focus": {"reference": "ServiceRequest/s1"},
        "for": {"reference": "Patient/p1"}, "requester": {"reference": "Organization/h"},
        "owner": {"reference": "Organization/o"}, "note": [{"text": "first"}]})
}

const OWNER: Actor = Actor::Party {
    owner: true,
    requester: false,
};
const REQUESTER: Actor = Actor::Party {
    owner: false,
    requester: true,
};

fn answer(r: Result<(), Error>) -> (u16, Option<String>) {
    match r {
        Ok(()) => (200, None),
        Err(e) => (
            e.status().as_u16(),
            e.issues().first().and_then(|i| i.expression.clone()),
        ),
    }
}

fn moved(from: &str, to: &str) -> (Value, Value) {
    let mut after = stored_task(to);
    after["meta"] = json!({"versionId": "2"});
    (stored_task(from), after)
}

#[test]
fn the_owner_moves_the_task_and_the_requester_cancels() {
    let (b, a) = moved("requested", "accepted");
    assert_eq!(answer(task_change(&b, &a, OWNER)), (200, None));
    assert_eq!(
        answer(task_change(&b, &a, REQUESTER)),
        (403, Some("Task.status".into()))
    );
    let (b, a) = moved("accepted", "cancelled");
    assert_eq!(answer(task_change(&b, &a, REQUESTER)), (200, None));
    assert_eq!(
        answer(task_change(&b, &a, OWNER)),
        (403, Some("Task.status".into()))
    );
    let (b, a) = moved("requested", "completed");
    for actor in [OWNER, REQUESTER, Actor::Gateway] {
        assert_eq!(
            answer(task_change(&b, &a, actor)),
            (422, Some("Task.status".into()))
        );
    }
}

fn task_change(b: &Value, a: &Value, actor: Actor) -> Result<(), Error> {
    super::task(b, a, actor)
}

#[test]
fn a_party_changes_only_its_own_elements() {
    let b = stored_task("accepted");
    let mut a = b.clone();
    a["businessStatus"] = json!({"text": "Visit booked"});
    a["note"] = json!([{"text": "first"}, {"text": "second"}]);
    assert_eq!(answer(task_change(&b, &a, OWNER)), (200, None));
    assert_eq!(
        answer(task_change(&b, &a, REQUESTER)),
        (403, Some("Task.businessStatus".into()))
    );
    let mut rewritten = b.clone();
    rewritten["note"] = json!([{"text": "changed"}]);
    assert_eq!(
        answer(task_change(&b, &rewritten, OWNER)),
        (403, Some("Task.note".into()))
    );
    let mut described = b.clone();
    described["description"] = json!("anything");
    assert_eq!(
        answer(task_change(&b, &described, OWNER)),
        (403, Some("Task.description".into()))
    );
    assert_eq!(
        answer(task_change(&b, &described, Actor::Gateway)),
        (200, None)
    );
}

#[test]
fn nobody_moves_a_task_to_another_referral_or_party() {
    let b = stored_task("requested");
    for (key, value) in [
        ("owner", json!({"reference": "Organization/x"})),
        ("focus", json!({"reference": "ServiceRequest/s2"})),
        ("for", json!({"reference": "Patient/p2"})),
    ] {
        let mut a = b.clone();
        a[key] = value;
        let path = Some(format!("Task.{key}"));
        assert_eq!(answer(task_change(&b, &a, OWNER)), (403, path.clone()));
        assert_eq!(answer(task_change(&b, &a, Actor::Gateway)), (422, path));
    }
}

fn referral(status: &str) -> Value {
    json!({"resourceType": "ServiceRequest", "status": status, "intent": "order",
        "subject": {"reference": "Patient/p1"}, "requester": {"reference": "Organization/h"},
        "performer": [{"reference": "Organization/o"}]})
}

#[test]
fn the_requester_revokes_its_referral_and_nothing_else_moves_it() {
    let sender = REQUESTER;
    assert_eq!(
        answer(request(&referral("active"), &referral("revoked"), sender)),
        (200, None)
    );
    assert_eq!(
        answer(request(&referral("active"), &referral("completed"), sender)),
        (422, Some("ServiceRequest.status".into()))
    );
    assert_eq!(
        answer(request(
            &referral("revoked"),
            &referral("active"),
            Actor::Gateway
        )),
        (422, Some("ServiceRequest.status".into()))
    );
    assert_eq!(
        answer(request(&referral("active"), &referral("revoked"), OWNER)),
        (403, Some("ServiceRequest.requester".into()))
    );
    let mut redirected = referral("active");
    redirected["performer"] = json!([{"reference": "Organization/x"}]);
    assert_eq!(
        answer(request(&referral("active"), &redirected, sender)),
        (403, Some("ServiceRequest.performer".into()))
    );
}
