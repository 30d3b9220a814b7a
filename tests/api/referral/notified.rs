//! The referral journey as subscribers are told of it: each committed change (its outbox row is
//! written in the change's transaction: `tests/store/outbox.rs`) is matched to the live
//! subscriptions of the organisations it concerns, as their next numbered events, once, with their
//! filters applied; a refused write is no change; the outbox is drained.

use reqwest::Method;
use serde_json::{Value, json};

use super::Referrals;
use crate::helpers::*;
use crate::sharing::CANON;

const BACKPORT: &str = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition";

pub fn subscription(topic: &str, filter: Option<&str>) -> Value {
    let mut s = json!({"resourceType": "Subscription", "status": "requested", "reason": "worklist",
        "criteria": format!("{CANON}/SubscriptionTopic/{topic}"),
        "channel": {"type": "rest-hook", "endpoint": "https://hooks.example/notify",
            "payload": "application/fhir+json",
            "extension": [{"url": "https://fhir.carebridge.uk/StructureDefinition/subscription-signing-secret",
                "valueString": "a-secret-of-at-least-thirty-two-characters"}]}});
    if let Some(f) = filter {
        s["_criteria"] = json!({"extension": [{"url": format!("{BACKPORT}/backport-filter-criteria"),
            "valueString": f}]});
    }
    s
}

/// `Type/id/version` of each event of `subscription`, in number order, once every number from 1
/// is there.
async fn events(app: &TestApp, subscription: &str) -> Vec<String> {
    let store = carebridge::store::Store::open(&app.database_url)
        .await
        .expect("the database opens");
    let events = store
        .backend()
        .outbox()
        .events(subscription, 0, 1000)
        .await
        .expect("events");
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.number, i as u64 + 1, "numbered without gaps");
    }
    events
        .iter()
        .map(|e| format!("{}/{}/{}", e.rtype, e.id, e.version))
        .collect()
}

/// Waits until the outbox is empty (the background matcher runs ten times a second).
pub async fn matched(app: &TestApp) {
    let store = carebridge::store::Store::open(&app.database_url)
        .await
        .expect("the database opens");
    for _ in 0..200 {
        if store
            .backend()
            .outbox()
            .pending(1)
            .await
            .expect("outbox")
            .is_empty()
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the outbox was not drained");
}

pub async fn subscribe(r: &Referrals, token: &str, body: &Value) -> String {
    let resp = r.w.send_as(token, Method::POST, "Subscription", body).await;
    resp.assert_status(201);
    resp.json()["id"].as_str().expect("id").to_owned()
}

on_both_backends! {
    async fn each_subscriber_is_told_of_exactly_the_changes_that_concern_it(app: TestApp) {
        let r = Referrals::on(app).await;
        let housing = r.w.housing();
        let receiver = crate::receiver::Receiver::start().await;
    let mut to_receiver = subscription("referral-addressed", None);
    to_receiver["channel"]["endpoint"] = json!(receiver.url);
    let all = subscribe(&r, &housing, &to_receiver).await;
    receiver.until(10, |g| !g.is_empty()).await;
        let accepted_only =
            subscribe(&r, &housing, &subscription("referral-addressed", Some("Task?status=accepted"))).await;
        let sent = subscribe(&r, &r.hospital(), &subscription("referral-sent", None)).await;
        let gp = subscribe(&r, &r.w.gp(), &subscription("referral-addressed", None)).await;
        matched(&r.w.app).await;
        let (sr, task) = r.refer_ann(&r.w.housing, &["housing"]).await;
        matched(&r.w.app).await;
        let (sr1, t1) = (format!("ServiceRequest/{sr}/1"), format!("Task/{task}/1"));
        assert_eq!(events(&r.w.app, &all).await, [sr1.clone(), t1.clone()]);
        assert_eq!(
            events(&r.w.app, &accepted_only).await,
            [sr1.as_str()],
            "a Task filter leaves the referral itself alone"
        );
        assert!(events(&r.w.app, &sent).await.is_empty(), "the sender made it");
        assert!(events(&r.w.app, &gp).await.is_empty(), "not addressed to the practice");
        r.move_task(&housing, &task, "accepted", None).await.assert_status(200);
        matched(&r.w.app).await;
        let t2 = format!("Task/{task}/2");
        assert_eq!(events(&r.w.app, &all).await, [sr1.clone(), t1, t2.clone()]);
        assert_eq!(events(&r.w.app, &accepted_only).await, [sr1, t2.clone()]);
        assert_eq!(events(&r.w.app, &sent).await, [t2], "the sender hears of the answer");
        assert!(events(&r.w.app, &gp).await.is_empty());
        // A refused write is no change: an illegal transition, a write by a non-party.
        r.move_task(&housing, &task, "requested", None).await.assert_status(422);
        let stranger = r.move_task(&r.w.gp(), &task, "completed", None).await;
        assert!(matches!(stranger.status, 403 | 404), "{}", stranger.status);
        matched(&r.w.app).await;
        assert_eq!(events(&r.w.app, &all).await.len(), 3, "nothing refused is told");
        // A subscription turned off hears nothing more.
        let (mut off, version) = r.current(&housing, &format!("Subscription/{all}")).await;
        off["status"] = json!("off");
        r.put_as(&housing, &off, Some(&version)).await.assert_status(200);
        r.move_task(&housing, &task, "in-progress", None).await.assert_status(200);
        matched(&r.w.app).await;
        assert_eq!(events(&r.w.app, &all).await.len(), 3);
        assert_eq!(events(&r.w.app, &accepted_only).await.len(), 2, "filtered out: in-progress");
        assert_eq!(events(&r.w.app, &sent).await.len(), 2);
    }
}

/// Two gateway processes on one PostgreSQL database, both matching and sending: every change of
/// either is matched once, the subscription's events are numbered 1..n without a gap or a repeat,
/// and each is delivered once (the processes claim subscriptions, they do not elect a leader).
#[tokio::test]
async fn two_gateways_on_one_database_match_and_deliver_each_change_once() {
    let Some(app) = spawn_app_on_postgres().await else {
        return;
    };
    let r = Referrals::on(app).await;
    let second = r.w.app.second_gateway().await;
    let housing = r.w.housing();
    let receiver = crate::receiver::Receiver::start().await;
    let mut to_receiver = subscription("referral-addressed", None);
    to_receiver["channel"]["endpoint"] = json!(receiver.url);
    let all = subscribe(&r, &housing, &to_receiver).await;
    receiver.until(10, |g| !g.is_empty()).await;
    let mut expected = Vec::new();
    for i in 0..12 {
        let gateway = if i % 2 == 0 { &r.w.app } else { &second };
        let sr = super::referral(&r.w.ann, &r.w.cns_team, &r.w.housing, &["housing"]);
        let task = super::task(
            &r.w.ann,
            &r.w.cns_team,
            &r.w.housing,
            "urn:uuid:5a1e0c1e-0000-4000-8000-000000000002",
        );
        let b = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
            {"fullUrl": "urn:uuid:5a1e0c1e-0000-4000-8000-000000000002", "resource": sr,
                "request": {"method": "POST", "url": "ServiceRequest"}},
            {"resource": task, "request": {"method": "POST", "url": "Task"}}]});
        let resp = gateway
            .send_json_as(&r.hospital(), Method::POST, "", &b)
            .await;
        resp.assert_status(200);
        for e in resp.entries() {
            let location = e["response"]["location"].as_str().unwrap_or_default();
            let mut parts = location.split('/');
            let (t, id) = (
                parts.next().unwrap_or_default(),
                parts.next().unwrap_or_default(),
            );
            expected.push(format!("{t}/{id}/1"));
        }
    }
    matched(&r.w.app).await;
    let mut got = events(&r.w.app, &all).await;
    got.sort();
    expected.sort();
    assert_eq!(got, expected, "each change once");
    let got = receiver
        .until(20, |g| delivered_numbers(g).len() >= expected.len())
        .await;
    let mut numbers = delivered_numbers(&got);
    numbers.sort_unstable();
    let once: Vec<u64> = (1..=expected.len() as u64).collect();
    assert_eq!(
        numbers, once,
        "each event delivered once, by one of the two"
    );
}

/// The event numbers in what `got` holds, as they came.
fn delivered_numbers(got: &[crate::receiver::Received]) -> Vec<u64> {
    got.iter()
        .flat_map(|r| {
            let body = r.json();
            body["entry"][0]["resource"]["parameter"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter(|p| p["name"] == "notification-event")
        .filter_map(|p| {
            p["part"]
                .as_array()
                .and_then(|ps| ps.iter().find(|x| x["name"] == "event-number"))
                .and_then(|x| x["valueString"].as_str())
                .and_then(|n| n.parse().ok())
        })
        .collect()
}

on_both_backends! {
    /// A practice hears of the plans shared with it changing in what matters to it (status,
    /// activities, goals), for its own registered patients only, and of consents naming it.
    async fn a_practice_hears_of_shared_plans_and_consents_naming_it(app: TestApp) {
        let r = Referrals::on(app).await;
        let w = &r.w;
        let plans = subscribe(&r, &w.gp(), &subscription("pcsp-shared", None)).await;
        let consents = subscribe(&r, &w.gp(), &subscription("consent-changed", None)).await;
        matched(&w.app).await;
        let change = |id: String, edit: fn(&mut Value)| async move {
            let mut plan = w.app.read("CarePlan", &id).await.json();
            edit(&mut plan);
            w.app.update(&plan).await.assert_status(200);
        };
        change(w.ann_plan.clone(), |p| p["title"] = json!("Only the title")).await;
        change(w.ann_plan.clone(), |p| p["status"] = json!("on-hold")).await;
        change(w.bob_plan.clone(), |p| p["status"] = json!("on-hold")).await;
        matched(&w.app).await;
        assert_eq!(
            events(&w.app, &plans).await,
            [format!("CarePlan/{}/3", w.ann_plan)],
            "Ann's status change only: not the title, not Bob's plan (another practice)"
        );
        let practice_a = w.app.search_ids("Organization", "identifier=https://fhir.nhs.uk/Id/ods-organization-code|A81001").await;
        let consent = crate::sharing::consent(
            &w.ann,
            json!({"type": "deny", "actor": [crate::sharing::role_actor("gp", Some(&practice_a[0]))]}),
        );
        let id = w.app.create_id(&consent).await;
        matched(&w.app).await;
        assert_eq!(events(&w.app, &consents).await, [format!("Consent/{id}/1")]);
    }
}
