//! `carebridge subscriber`: a notification receiver for trying subscriptions by hand. It listens
//! for the gateway's `rest-hook` requests, checks each one's signature against the secret the
//! Subscription was given, answers 200 (401 for a bad signature, so a forged request is not taken
//! for a delivered one) and prints one line per notification:
//!
//! ```text
//! 2026-12-04T08:30:01Z event-notification Subscription/abc events 3-4 of 4: Task/t1, ServiceRequest/s1
//! ```
//!
//! Run it on loopback and name `http://127.0.0.1:<port>/hook` as the Subscription's endpoint
//! (allowed in development mode, or with `127.0.0.1` in `notify_allowed_hosts`).

use std::net::SocketAddr;
use std::process::ExitCode;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::Value;

use crate::fhir::instant::{format_instant, now_ms};
use crate::notify::deliver::sign;

/// Arguments of `carebridge subscriber`.
#[derive(Debug, clap::Args)]
pub struct SubscriberArgs {
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:9000")]
    pub listen: SocketAddr,
    /// The signing secret given in the Subscription (better from the environment than the
    /// command line, where other users of the machine can see it).
    #[arg(long, env = "CAREBRIDGE_SUBSCRIBER_SECRET", hide_env_values = true)]
    pub secret: String,
}

/// Listens until interrupted.
pub async fn run(args: SubscriberArgs) -> ExitCode {
    let secret = web::Data::new(args.secret);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(secret.clone())
            .route("/hook", web::post().to(receive))
    })
    .workers(1)
    .bind(args.listen);
    let server = match server {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "carebridge subscriber: cannot listen on {}: {e}",
                args.listen
            );
            return ExitCode::FAILURE;
        }
    };
    println!(
        "listening on http://{}/hook (press Ctrl-C to stop)",
        args.listen
    );
    match server.run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("carebridge subscriber: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn receive(req: HttpRequest, body: String, secret: web::Data<String>) -> HttpResponse {
    let signature = req
        .headers()
        .get("x-carebridge-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if signature != format!("sha256={}", sign(&secret, &body)) {
        println!(
            "{} REJECTED: the signature does not match the secret",
            format_instant(now_ms())
        );
        return HttpResponse::Unauthorized().finish();
    }
    println!("{} {}", format_instant(now_ms()), describe(&body));
    HttpResponse::Ok().finish()
}

/// One line about a notification Bundle: its type, subscription, event numbers and foci.
pub fn describe(body: &str) -> String {
    let Ok(bundle) = serde_json::from_str::<Value>(body) else {
        return "a body that is not JSON".into();
    };
    let params: &[Value] = bundle
        .pointer("/entry/0/resource/parameter")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    let param = |name: &str| params.iter().find(|p| p["name"] == name);
    let kind = param("type")
        .and_then(|p| p["valueCode"].as_str())
        .unwrap_or("?");
    let subscription = param("subscription")
        .and_then(|p| p.pointer("/valueReference/reference"))
        .and_then(Value::as_str)
        .map_or_else(|| "?".into(), short_ref);
    let total = param("events-since-subscription-start")
        .and_then(|p| p["valueString"].as_str())
        .unwrap_or("?");
    let mut numbers = Vec::new();
    let mut foci = Vec::new();
    for event in params.iter().filter(|p| p["name"] == "notification-event") {
        let parts: &[Value] = event["part"].as_array().map_or(&[], Vec::as_slice);
        for part in parts {
            match part["name"].as_str() {
                Some("event-number") => numbers.extend(part["valueString"].as_str()),
                Some("focus") => foci.extend(
                    part.pointer("/valueReference/reference")
                        .and_then(Value::as_str)
                        .map(short_ref),
                ),
                _ => {}
            }
        }
    }
    let events = match (numbers.first(), numbers.last()) {
        (Some(a), Some(b)) if a == b => format!(" events {a} of {total}"),
        (Some(a), Some(b)) => format!(" events {a}-{b} of {total}"),
        _ => format!(" ({total} events so far)"),
    };
    let foci = if foci.is_empty() {
        String::new()
    } else {
        format!(": {}", foci.join(", "))
    };
    format!("{kind} {subscription}{events}{foci}")
}

/// `Type/id` of an absolute reference.
fn short_ref(reference: &str) -> String {
    let mut parts = reference.rsplit('/');
    let id = parts.next().unwrap_or_default();
    let rtype = parts.next().unwrap_or("?");
    format!("{rtype}/{id}")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_notification_reads_as_one_line() {
        let body = json!({"resourceType": "Bundle", "type": "history", "entry": [{"resource": {
            "resourceType": "Parameters", "parameter": [
                {"name": "subscription", "valueReference": {"reference": "http://gw/fhir/Subscription/abc"}},
                {"name": "type", "valueCode": "event-notification"},
                {"name": "events-since-subscription-start", "valueString": "4"},
                {"name": "notification-event", "part": [
                    {"name": "event-number", "valueString": "3"},
                    {"name": "focus", "valueReference": {"reference": "http://gw/fhir/Task/t1"}}]},
                {"name": "notification-event", "part": [
                    {"name": "event-number", "valueString": "4"},
                    {"name": "focus", "valueReference": {"reference": "http://gw/fhir/ServiceRequest/s1"}}]}]}}]});
        assert_eq!(
            describe(&body.to_string()),
            "event-notification Subscription/abc events 3-4 of 4: Task/t1, ServiceRequest/s1"
        );
        let handshake = json!({"entry": [{"resource": {"parameter": [
            {"name": "type", "valueCode": "handshake"},
            {"name": "events-since-subscription-start", "valueString": "0"}]}}]});
        assert_eq!(
            describe(&handshake.to_string()),
            "handshake ? (0 events so far)"
        );
        assert_eq!(describe("nope"), "a body that is not JSON");
    }
}
