//! Durable delivery through a crash: the real gateway process is killed (SIGKILL) while a
//! notification is in flight to a slow HTTPS receiver, then started again on the same store. Every
//! event reaches the receiver, in order; what it gets twice is only what was in flight at the
//! kill, under the same event numbers (at least once, de-duplicable by number).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::gateway::{command, free_port, serve};
use crate::pki::pki;
use crate::receiver::{Received, Receiver};

const SECRET: &str = "a-secret-of-at-least-thirty-two-characters";
/// Plan changes made before the kill.
const CHANGES: u64 = 30;

/// The gateway's environment: development mode over `db`, trusting the test CA for outbound calls.
fn gateway_env(db: &str, ca: &str, port: u16) -> Vec<(String, String)> {
    [
        ("CAREBRIDGE_DATABASE_URL", db.to_owned()),
        ("CAREBRIDGE_LISTEN", format!("127.0.0.1:{port}")),
        ("CAREBRIDGE_NOTIFY_ALLOWED_HOSTS", "127.0.0.1".to_owned()),
        ("CAREBRIDGE_OUTBOUND_CA_FILE", ca.to_owned()),
        ("CAREBRIDGE_LOG", "warn".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// Event numbers and focus references of a notification.
fn events(r: &Received) -> Vec<(u64, String)> {
    let body: Value = serde_json::from_str(&r.body).unwrap_or_default();
    body["entry"][0]["resource"]["parameter"]
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
                    .unwrap_or_default()
            };
            (
                part("event-number")["valueString"]
                    .as_str()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0),
                part("focus")["valueReference"]["reference"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect()
}

struct Api {
    client: reqwest::Client,
    base: String,
}

impl Api {
    async fn send(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> reqwest::Response {
        let mut req = self
            .client
            .request(method, format!("{}/{path}", self.base))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req
                .header("Content-Type", "application/fhir+json")
                .body(b.to_string());
        }
        req.send().await.expect("answered")
    }
}

#[tokio::test]
async fn a_gateway_killed_during_delivery_loses_no_event_when_it_starts_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite://{}", dir.path().join("cb.db").display());
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &pki().ca_pem).expect("the CA file");
    let port = free_port();
    let env = gateway_env(&db, &ca.display().to_string(), port);
    // The sample world: Ann's and Cara's plans are shared with Riverside Surgery.
    let sample = command(&["sample"], &env).output().expect("sample runs");
    assert!(
        sample.status.success(),
        "{}",
        String::from_utf8_lossy(&sample.stderr)
    );
    let tokens: BTreeMap<String, String> = String::from_utf8_lossy(&sample.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let (gp, link) = (&tokens["GP"], &tokens["LINK_WORKER"]);
    let mut gateway = serve(&env, port).await;
    let api = Api {
        client: reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client"),
        base: format!("http://127.0.0.1:{port}/fhir"),
    };
    let receiver = Receiver::start().await;
    let subscription = json!({"resourceType": "Subscription", "status": "requested",
        "reason": "shared plans",
        "criteria": "https://fhir.carebridge.uk/SubscriptionTopic/pcsp-shared",
        "channel": {"type": "rest-hook", "endpoint": receiver.url, "payload": "application/fhir+json",
            "extension": [{"url": "https://fhir.carebridge.uk/StructureDefinition/subscription-signing-secret",
                "valueString": SECRET}]}});
    let created = api
        .send(
            gp,
            reqwest::Method::POST,
            "Subscription",
            Some(&subscription),
        )
        .await;
    assert_eq!(created.status().as_u16(), 201);
    receiver.until(20, |g| !g.is_empty()).await;
    // Ann's plan, changed CHANGES times (status back and forth: a change that matters to the GP).
    let plans: Value = api
        .send(gp, reqwest::Method::GET, "CarePlan?_count=1", None)
        .await
        .json()
        .await
        .expect("a Bundle");
    let plan_id = plans["entry"][0]["resource"]["id"]
        .as_str()
        .expect("a shared plan")
        .to_owned();
    receiver.delay(400);
    for i in 0..CHANGES {
        let mut plan: Value = api
            .send(
                link,
                reqwest::Method::GET,
                &format!("CarePlan/{plan_id}"),
                None,
            )
            .await
            .json()
            .await
            .expect("the plan");
        plan["status"] = json!(if i % 2 == 0 { "on-hold" } else { "active" });
        let put = api
            .send(
                link,
                reqwest::Method::PUT,
                &format!("CarePlan/{plan_id}"),
                Some(&plan),
            )
            .await;
        assert_eq!(
            put.status().as_u16(),
            200,
            "{}",
            put.text().await.unwrap_or_default()
        );
    }
    // A notification is in flight (kept on arrival, answered 400 ms later): kill the gateway.
    let before_kill = receiver
        .until(20, |g| g.iter().any(|r| !events(r).is_empty()))
        .await
        .len();
    gateway.kill().expect("SIGKILL");
    gateway.wait().expect("reaped");
    assert!(
        before_kill >= 2,
        "a handshake and at least one notification before the kill"
    );
    receiver.delay(0);
    let mut gateway = serve(&env, port).await;
    let got = receiver
        .until(60, |g| {
            let mut seen: Vec<u64> = g.iter().flat_map(events).map(|(n, _)| n).collect();
            seen.sort_unstable();
            seen.dedup();
            seen.len() as u64 >= CHANGES
        })
        .await;
    let _ = gateway.kill();
    let _ = gateway.wait();
    let all: Vec<(u64, String)> = got.iter().flat_map(events).collect();
    let mut numbers: Vec<u64> = all.iter().map(|(n, _)| *n).collect();
    numbers.sort_unstable();
    numbers.dedup();
    assert_eq!(
        numbers,
        (1..=CHANGES).collect::<Vec<_>>(),
        "every event: {all:?}"
    );
    // Each request carries consecutive numbers; a number always names the same focus.
    for r in &got {
        let ns: Vec<u64> = events(r).iter().map(|(n, _)| *n).collect();
        assert!(ns.windows(2).all(|w| w[1] == w[0] + 1), "in order: {ns:?}");
    }
    let mut focus: BTreeMap<u64, &str> = BTreeMap::new();
    for (n, f) in &all {
        assert!(f.ends_with(&format!("CarePlan/{plan_id}")), "{f}");
        assert_eq!(*focus.entry(*n).or_insert(f), f.as_str(), "event {n}");
    }
    // What came twice is only what was in flight at the kill: one request's events.
    let twice = all.len() as u64 - CHANGES;
    assert!(twice <= 20, "{twice} duplicates: {all:?}");
    // First arrivals are in number order.
    let mut first_seen = Vec::new();
    for (n, _) in &all {
        if !first_seen.contains(n) {
            first_seen.push(*n);
        }
    }
    assert!(first_seen.windows(2).all(|w| w[0] < w[1]), "{first_seen:?}");
}
