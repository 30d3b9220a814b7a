//! `carebridge subscriber`: the real binary receives a signed notification, answers 200 and
//! prints it; a request with a bad signature is answered 401 and reported.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::gateway::free_port;

#[tokio::test]
async fn the_subscriber_verifies_and_prints_notifications() {
    let secret = "a-secret-of-at-least-thirty-two-characters";
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_carebridge"))
        .args(["subscriber", "--listen", &format!("127.0.0.1:{port}")])
        .env("CAREBRIDGE_SUBSCRIBER_SECRET", secret)
        .env("CAREBRIDGE_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("the subscriber starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    assert!(first.contains("listening"), "{first}");
    let body = serde_json::json!({"resourceType": "Bundle", "type": "history", "entry": [{"resource": {
        "resourceType": "Parameters", "parameter": [
            {"name": "subscription", "valueReference": {"reference": "http://gw/fhir/Subscription/abc"}},
            {"name": "type", "valueCode": "event-notification"},
            {"name": "events-since-subscription-start", "valueString": "1"},
            {"name": "notification-event", "part": [
                {"name": "event-number", "valueString": "1"},
                {"name": "focus", "valueReference": {"reference": "http://gw/fhir/Task/t1"}}]}]}}]})
    .to_string();
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let url = format!("http://127.0.0.1:{port}/hook");
    let signature = carebridge::notify::deliver::sign(secret, &body);
    let ok = client
        .post(&url)
        .header("X-Carebridge-Signature", format!("sha256={signature}"))
        .body(body.clone())
        .send()
        .await
        .expect("answered");
    assert_eq!(ok.status().as_u16(), 200);
    let forged = client
        .post(&url)
        .header("X-Carebridge-Signature", "sha256=00")
        .body(body)
        .send()
        .await
        .expect("answered");
    assert_eq!(forged.status().as_u16(), 401);
    let printed: Vec<String> = lines.by_ref().take(2).map_while(Result::ok).collect();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        printed[0].ends_with("event-notification Subscription/abc events 1 of 1: Task/t1"),
        "{printed:?}"
    );
    assert!(printed[1].contains("REJECTED"), "{printed:?}");
}
