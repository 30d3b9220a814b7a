//! Notifications as the receiving system gets them: signed `history` Bundles headed by the
//! subscription status, in event order, `id-only` or `full-resource` (redacted as a read by the
//! subscriber is), decided by consent when sent, retried until the endpoint answers.

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::Referrals;
use super::notified::{matched, subscribe, subscription};
use crate::receiver::{Received, Receiver};

const SECRET: &str = "a-secret-of-at-least-thirty-two-characters";

/// A Subscription to `topic` sending `content` to `receiver`.
fn to(receiver: &Receiver, topic: &str, content: &str) -> Value {
    let mut s = subscription(topic, None);
    s["channel"]["endpoint"] = json!(receiver.url);
    s["channel"]["_payload"] = json!({"extension": [{"url":
        "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content",
        "valueCode": content}]});
    s
}

fn signed(r: &Received) -> bool {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(SECRET.as_bytes()).expect("key");
    mac.update(r.body.as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    r.signature == format!("sha256={hex}")
}

/// The status Parameters' value of `name` (the first entry of a notification).
fn status<'a>(n: &'a Value, name: &str) -> &'a Value {
    n["entry"][0]["resource"]["parameter"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == name))
        .unwrap_or(&Value::Null)
}

/// The event numbers and focus references of a notification.
fn events(n: &Value) -> Vec<(String, String)> {
    n["entry"][0]["resource"]["parameter"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["name"] == "notification-event")
        .map(|p| {
            let part = |name: &str| {
                p["part"]
                    .as_array()
                    .and_then(|ps| ps.iter().find(|x| x["name"] == name))
                    .cloned()
                    .unwrap_or(Value::Null)
            };
            (
                part("event-number")["valueString"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                part("focus")["valueReference"]["reference"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect()
}

fn total(got: &[Received]) -> usize {
    got.iter()
        .filter(|r| r.status == 200)
        .map(|r| events(&r.json()).len())
        .sum()
}

on_both_backends! {
    async fn a_receiver_gets_signed_notifications_of_what_it_may_see(app: TestApp) {
        let r = Referrals::on(app).await;
        let receiver = Receiver::start().await;
        let housing = r.w.housing();
        let ids = subscribe(&r, &housing, &to(&receiver, "referral-addressed", "id-only")).await;
        let full_receiver = Receiver::start().await;
        subscribe(&r, &housing, &to(&full_receiver, "referral-addressed", "full-resource")).await;
        matched(&r.w.app).await;
        let (sr, task) = r.refer_ann(&r.w.housing, &["housing", "worry-fear-anxiety"]).await;
        let got = receiver.until(10, |g| total(g) >= 2).await;
        assert_eq!(total(&got), 2, "{got:?}");
        // A handshake first, then the Subscription is active.
        assert_eq!(got[0].event, format!("{ids}/handshake"));
        assert_eq!(status(&got[0].json(), "type")["valueCode"], "handshake");
        let (s, _) = r.current(&housing, &format!("Subscription/{ids}")).await;
        assert_eq!(s["status"], "active");
        let got: Vec<Received> = got.into_iter().skip(1).collect();
        for n in &got {
            assert!(signed(n), "signed with the subscriber's secret");
            assert!(n.event.starts_with(&format!("{ids}/")), "{}", n.event);
            let body = n.json();
            assert_eq!(body["type"], "history");
            assert_eq!(status(&body, "type")["valueCode"], "event-notification");
            assert!(
                body["entry"].as_array().into_iter().flatten().skip(1).all(|e| e.get("resource").is_none()),
                "id-only carries no resource"
            );
        }
        let all: Vec<(String, String)> = got.iter().flat_map(|n| events(&n.json())).collect();
        let base = &r.w.app.base;
        assert_eq!(
            all,
            [
                ("1".to_owned(), format!("{base}/ServiceRequest/{sr}")),
                ("2".to_owned(), format!("{base}/Task/{task}")),
            ]
        );
        // full-resource: what a read by housing shows, the emotional concern redacted.
        let full = full_receiver.until(10, |g| total(g) >= 2).await;
        let text: String = full.iter().map(|n| n.body.clone()).collect();
        assert!(text.contains("\"resourceType\":\"ServiceRequest\""), "{text}");
        assert!(!text.contains("worry-fear-anxiety"), "housing never sees the emotional concern");
        assert!(text.contains("REDACTED"));
        // Each attempt is audited: the subscriber as agent, what it was shown as entities.
        let events = r.w.app.audit_events().await;
        let sent: Vec<&Value> = events
            .iter()
            .filter(|e| e.to_string().contains(&format!("Subscription/{ids}/$notify")))
            .collect();
        assert!(!sent.is_empty(), "the notifications are in the audit log");
        for shown in [format!("Task/{task}"), format!("ServiceRequest/{sr}")] {
            assert!(
                sent.iter().any(|e| e.to_string().contains(&shown)),
                "{shown} is recorded as disclosed"
            );
        }
    }
}

on_both_backends! {
    async fn an_endpoint_that_fails_gets_every_event_in_order_when_it_returns(app: TestApp) {
        let r = Referrals::on(app).await;
        let receiver = Receiver::start().await;
        let housing = r.w.housing();
        subscribe(&r, &housing, &to(&receiver, "referral-addressed", "id-only")).await;
        matched(&r.w.app).await;
        receiver.fail(true);
        let (_, task) = r.refer_ann(&r.w.housing, &["housing"]).await;
        let failed = receiver.until(10, |g| g.iter().any(|x| x.status == 500)).await;
        assert!(failed.iter().any(|x| x.status == 500), "it was tried");
        r.move_task(&housing, &task, "accepted", None).await.assert_status(200);
        receiver.fail(false);
        let got = receiver.until(15, |g| total(g) >= 3).await;
        let numbers: Vec<String> = got
            .iter()
            .filter(|x| x.status == 200)
            .flat_map(|n| events(&n.json()))
            .map(|(n, _)| n)
            .collect();
        assert_eq!(numbers, ["1", "2", "3"], "every event, in order, once delivered");
    }
}

on_both_backends! {
    /// Consent is decided when an event is sent: a Task the receiver can no longer see is not
    /// sent, though its number is consumed.
    async fn an_event_the_subscriber_may_no_longer_see_is_not_sent(app: TestApp) {
        let r = Referrals::on(app).await;
        let receiver = Receiver::start().await;
        // The practice hears of Cara's plan (shared with it), which Cara's consent denies it.
        subscribe(&r, &r.w.gp(), &to(&receiver, "pcsp-shared", "id-only")).await;
        matched(&r.w.app).await;
        let mut cara = r.w.app.read("CarePlan", &r.w.cara_plan).await.json();
        cara["status"] = json!("on-hold");
        r.w.app.update(&cara).await.assert_status(200);
        let mut ann = r.w.app.read("CarePlan", &r.w.ann_plan).await.json();
        ann["status"] = json!("on-hold");
        r.w.app.update(&ann).await.assert_status(200);
        receiver.until(10, |g| total(g) >= 1).await;
        // Long enough for a wrongly sent Cara event to have arrived too.
        matched(&r.w.app).await;
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let got = receiver.received();
        let all: Vec<(String, String)> = got.iter().flat_map(|n| events(&n.json())).collect();
        assert_eq!(all.len(), 1, "{all:?}");
        assert!(all[0].1.ends_with(&format!("CarePlan/{}", r.w.ann_plan)), "{all:?}");
        assert_eq!(all[0].0, "2", "Cara's event was number 1, consumed unsent");
        let since = status(&got[got.len() - 1].json(), "events-since-subscription-start").clone();
        assert_eq!(since["valueString"], "2");
    }
}

on_both_backends! {
    /// A subscriber whose endpoint is down sees where it stands (`$status`) and fetches what it
    /// missed (`$events`); nobody else can ask of its subscription.
    async fn a_subscriber_recovers_what_it_missed(app: TestApp) {
        let r = Referrals::on(app).await;
        let receiver = Receiver::start().await;
        receiver.fail(true);
        let housing = r.w.housing();
        let id = subscribe(&r, &housing, &to(&receiver, "referral-addressed", "id-only")).await;
        matched(&r.w.app).await;
        let (sr, task) = r.refer_ann(&r.w.housing, &["housing"]).await;
        r.move_task(&housing, &task, "accepted", None).await.assert_status(200);
        matched(&r.w.app).await;
        receiver.until(10, |g| !g.is_empty()).await;
        let s = r.w.get_as(&housing, &format!("Subscription/{id}/$status")).await;
        s.assert_status(200);
        let s = s.json();
        let param = |name: &str| {
            s["entry"][0]["resource"]["parameter"]
                .as_array()
                .and_then(|ps| ps.iter().find(|p| p["name"] == name))
                .cloned()
                .unwrap_or(Value::Null)
        };
        assert_eq!(param("type")["valueCode"], "query-status");
        assert_eq!(param("events-since-subscription-start")["valueString"], "3");
        let e = r.w.get_as(&housing, &format!("Subscription/{id}/$events?eventsSinceNumber=2")).await;
        e.assert_status(200);
        let base = &r.w.app.base;
        assert_eq!(
            events(&e.json()),
            [
                ("2".to_owned(), format!("{base}/Task/{task}")),
                ("3".to_owned(), format!("{base}/Task/{task}")),
            ]
        );
        let all = r.w.get_as(&housing, &format!("Subscription/{id}/$events")).await.json();
        assert_eq!(events(&all)[0], ("1".to_owned(), format!("{base}/ServiceRequest/{sr}")));
        // Not more than the Subscription's payload, no unknown parameters, nobody else's.
        let more = r.w.get_as(&housing, &format!("Subscription/{id}/$events?content=full-resource")).await;
        more.assert_status(403);
        let odd = r.w.get_as(&housing, &format!("Subscription/{id}/$events?since=1")).await;
        odd.assert_status(400);
        for path in [format!("Subscription/{id}/$status"), format!("Subscription/{id}/$events")] {
            r.w.get_as(&r.w.gp(), &path).await.assert_status(404);
        }
    }
}

/// The status Parameters' `error` text of `Subscription/{id}/$status` as `token` sees it, and its
/// `status`.
async fn where_it_stands(r: &Referrals, token: &str, id: &str) -> (String, String) {
    let s =
        r.w.get_as(token, &format!("Subscription/{id}/$status"))
            .await;
    s.assert_status(200);
    let s = s.json();
    (
        status(&s, "status")["valueCode"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        status(&s, "error")["valueCodeableConcept"]["text"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

/// Delivery gives up after the deployment's number of attempts: the Subscription is rewritten as
/// `error` with the last failure, nothing more is sent, and the subscriber's rewrite as
/// `requested` brings every event, in order, after a new handshake.
#[tokio::test]
async fn delivery_that_gives_up_puts_the_subscription_in_error_until_rewritten() {
    let app = crate::helpers::spawn_app_with(|s| s.notify_max_attempts = 2).await;
    let r = Referrals::on(app).await;
    let receiver = Receiver::start().await;
    let housing = r.w.housing();
    let id = subscribe(
        &r,
        &housing,
        &to(&receiver, "referral-addressed", "id-only"),
    )
    .await;
    matched(&r.w.app).await;
    total(&receiver.until(10, |g| !g.is_empty()).await);
    receiver.fail(true);
    r.refer_ann(&r.w.housing, &["housing"]).await;
    let mut gave_up = Value::Null;
    for _ in 0..100 {
        let (s, _) = r.current(&housing, &format!("Subscription/{id}")).await;
        if s["status"] == "error" {
            gave_up = s;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(gave_up["status"], "error", "{gave_up}");
    assert!(
        gave_up["error"].as_str().is_some_and(|e| e.contains("500")),
        "{gave_up}"
    );
    let tried = receiver
        .received()
        .iter()
        .filter(|x| x.status == 500)
        .count();
    assert_eq!(tried, 2, "two attempts, then no more");
    let (shown, why) = where_it_stands(&r, &housing, &id).await;
    assert_eq!(shown, "error");
    assert!(why.contains("500"), "{why}");
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(
        receiver.received().len(),
        3,
        "nothing more is sent while in error"
    );
    // The subscriber rewrites it as requested once its endpoint is back.
    receiver.fail(false);
    let (mut s, version) = r.current(&housing, &format!("Subscription/{id}")).await;
    s["status"] = json!("requested");
    s["channel"]["extension"] =
        subscription("referral-addressed", None)["channel"]["extension"].clone();
    r.put_as(&housing, &s, Some(&version))
        .await
        .assert_status(200);
    let got = receiver.until(10, |g| total(g) >= 2).await;
    let after: Vec<&Received> = got.iter().skip(3).collect();
    assert_eq!(after[0].event, format!("{id}/handshake"), "{after:?}");
    let numbers: Vec<String> = after
        .iter()
        .filter(|x| x.status == 200)
        .flat_map(|n| events(&n.json()))
        .map(|(n, _)| n)
        .collect();
    assert_eq!(numbers, ["1", "2"], "every event, in order");
    let (s, _) = r.current(&housing, &format!("Subscription/{id}")).await;
    assert_eq!(s["status"], "active");
    assert!(s.get("error").is_none(), "{s}");
}

/// An endpoint whose certificate the deployment does not trust is sent nothing: the TLS
/// handshake fails, and `$status` says why.
#[tokio::test]
async fn an_endpoint_whose_certificate_is_not_trusted_is_sent_nothing() {
    let app = crate::helpers::spawn_app_with(|s| {
        s.outbound_trust = carebridge::outbound::Trust::default();
    })
    .await;
    let r = Referrals::on(app).await;
    let receiver = Receiver::start().await;
    let housing = r.w.housing();
    let id = subscribe(
        &r,
        &housing,
        &to(&receiver, "referral-addressed", "id-only"),
    )
    .await;
    let mut why = String::new();
    for _ in 0..100 {
        why = where_it_stands(&r, &housing, &id).await.1;
        if !why.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(why.to_lowercase().contains("certificate"), "{why}");
    assert!(
        receiver.received().is_empty(),
        "no request reached the endpoint"
    );
    let (s, _) = r.current(&housing, &format!("Subscription/{id}")).await;
    assert_eq!(s["status"], "requested", "never activated");
}

on_both_backends! {
    /// Subscriptions are sent to side by side: an endpoint that takes its time holds up only its
    /// own subscription.
    async fn a_slow_endpoint_holds_up_only_its_own_subscription(app: TestApp) {
        let r = Referrals::on(app).await;
        let slow = Receiver::start().await;
        slow.delay(5000);
        let quick = Receiver::start().await;
        let housing = r.w.housing();
        subscribe(&r, &housing, &to(&slow, "referral-addressed", "id-only")).await;
        subscribe(&r, &housing, &to(&quick, "referral-addressed", "id-only")).await;
        quick.until(3, |g| !g.is_empty()).await;
        r.refer_ann(&r.w.housing, &["housing"]).await;
        let started = std::time::Instant::now();
        let got = quick.until(4, |g| total(g) >= 2).await;
        assert_eq!(total(&got), 2, "{got:?}");
        assert!(started.elapsed() < std::time::Duration::from_secs(4));
        assert_eq!(slow.received().len(), 1, "the slow one is still at its handshake");
    }
}
