//! Traces from the real binary to an OTLP/HTTP receiver in the test: the request's span continues
//! the caller's `traceparent`, carries the interaction, type and status, has the consent decision
//! and the audit journal and the store as children, names no patient, and its trace id is in the
//! AuditEvent. A request whose caller did not sample its trace exports nothing, and its AuditEvent
//! still names the caller's trace.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::Value;

use crate::gateway::{KillOnDrop, free_port, mint, serve, settings};

async fn collect(body: String, got: web::Data<Arc<Mutex<Vec<String>>>>) -> HttpResponse {
    if let Ok(mut g) = got.lock() {
        g.push(body);
    }
    HttpResponse::Ok().finish()
}

/// Every span received: (name, traceId, spanId, parentSpanId, attributes as key=value).
fn spans(bodies: &[String]) -> Vec<(String, String, String, String, Vec<String>)> {
    let mut out = Vec::new();
    for b in bodies {
        let v: Value = serde_json::from_str(b).unwrap_or_default();
        for rs in v["resourceSpans"].as_array().into_iter().flatten() {
            for ss in rs["scopeSpans"].as_array().into_iter().flatten() {
                for s in ss["spans"].as_array().into_iter().flatten() {
                    let attrs = s["attributes"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|a| {
                            let v = &a["value"];
                            let text = v["stringValue"]
                                .as_str()
                                .map(str::to_owned)
                                .or_else(|| v["intValue"].as_str().map(str::to_owned))
                                .unwrap_or_else(|| v.to_string());
                            format!("{}={text}", a["key"].as_str().unwrap_or_default())
                        })
                        .collect();
                    let text = |k: &str| s[k].as_str().unwrap_or_default().to_owned();
                    out.push((
                        text("name"),
                        text("traceId"),
                        text("spanId"),
                        text("parentSpanId"),
                        attrs,
                    ));
                }
            }
        }
    }
    out
}

#[tokio::test]
async fn a_request_is_traced_as_the_caller_asked_without_personal_data() {
    let got: Arc<Mutex<Vec<String>>> = Arc::default();
    let data = web::Data::new(Arc::clone(&got));
    let receiver = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(16 * 1024 * 1024))
            .route("/v1/traces", web::post().to(collect))
    })
    .workers(1)
    .bind(("127.0.0.1", 0))
    .expect("binds");
    let otlp = receiver.addrs()[0].port();
    tokio::spawn(receiver.run());

    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("cb.db");
    let port = free_port();
    let env = settings(&[
        (
            "CAREBRIDGE_DATABASE_URL",
            format!("sqlite://{}", db.display()),
        ),
        ("CAREBRIDGE_LISTEN", format!("127.0.0.1:{port}")),
        ("CAREBRIDGE_SHUTDOWN_DELAY", "0".to_owned()),
        ("CAREBRIDGE_LOG", "warn".to_owned()),
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://127.0.0.1:{otlp}"),
        ),
        ("OTEL_SERVICE_NAME", "carebridge-under-test".to_owned()),
    ]);
    let (system, gp) = (mint(&env, "system", "SYS01"), mint(&env, "gp", "A81001"));
    let mut gateway = KillOnDrop(Some(serve(&env, port).await));
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let nhs = "9434765919";
    let created: Value = client
        .post(format!("http://127.0.0.1:{port}/fhir/Patient"))
        .bearer_auth(&system)
        .header("Content-Type", "application/fhir+json")
        .body(
            serde_json::json!({"resourceType": "Patient", "identifier": [
                {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": nhs}],
                "name": [{"family": "Tracewell"}]})
            .to_string(),
        )
        .send()
        .await
        .expect("created")
        .json()
        .await
        .expect("json");
    let id = created["id"].as_str().expect("id").to_owned();
    let (trace, parent) = ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7");
    let read = client
        .get(format!("http://127.0.0.1:{port}/fhir/Patient/{id}"))
        .bearer_auth(&gp)
        .header("traceparent", format!("00-{trace}-{parent}-01"))
        .send()
        .await
        .expect("answered");
    assert_eq!(
        read.status().as_u16(),
        404,
        "an unrelated GP does not see the patient"
    );
    // A caller that did not sample its trace: no spans, but the audit still names the trace.
    let unsampled = "0af7651916cd43dd8448eb211c80319c";
    let read = client
        .get(format!("http://127.0.0.1:{port}/fhir/Patient/{id}"))
        .bearer_auth(&system)
        .header("traceparent", format!("00-{unsampled}-b7ad6b7169203331-00"))
        .send()
        .await
        .expect("answered");
    assert_eq!(read.status().as_u16(), 200);
    gateway.stop().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let bodies = got.lock().map(|g| g.clone()).unwrap_or_default();
    let all = bodies.concat();
    assert!(
        all.contains("carebridge-under-test"),
        "service.name from OTEL_SERVICE_NAME"
    );
    assert!(
        !all.contains(nhs) && !all.contains(&id) && !all.contains("Tracewell"),
        "no personal data in spans"
    );
    let spans = spans(&bodies);
    let request = spans
        .iter()
        .find(|s| s.1 == trace && s.3 == parent)
        .unwrap_or_else(|| panic!("the read continues the caller's trace: {spans:?}"));
    assert_eq!(request.0, "read Patient");
    for a in [
        "fhir.interaction=read",
        "fhir.resource_type=Patient",
        "http.response.status_code=404",
    ] {
        assert!(request.4.iter().any(|x| x == a), "{a} in {:?}", request.4);
    }
    let children: Vec<&String> = spans
        .iter()
        .filter(|s| s.3 == request.2)
        .map(|s| &s.0)
        .collect();
    for child in ["consent.decide", "audit.journal", "store read"] {
        assert!(
            children.iter().any(|c| *c == child),
            "{child} under the request: {children:?}"
        );
    }
    // The AuditEvent of the read carries the trace id.
    let store = carebridge::store::Store::open(&format!("sqlite://{}", db.display()))
        .await
        .expect("the store");
    let bodies: Vec<String> = carebridge::audit::stored::select(
        store.backend(),
        &carebridge::store::audit::AuditSelect::ExportPage {
            after: 0,
            from: None,
            to: None,
            limit: 10_000,
        },
    )
    .await
    .expect("the events")
    .into_iter()
    .map(|r| r.body)
    .collect();
    let naming = |t: &str| bodies.iter().filter(|b| b.contains(t)).count();
    assert_eq!(naming(trace), 1, "the read's event names its trace");
    assert!(
        spans.iter().all(|s| s.1 != unsampled),
        "nothing exported for a trace its caller did not sample"
    );
    assert_eq!(
        naming(unsampled),
        1,
        "the untraced read's event names the caller's trace"
    );
}
