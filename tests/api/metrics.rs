//! The metrics listener: its page parses as the Prometheus text format and counts what the
//! gateway did (requests by interaction, type and status with latencies, consent decisions, the
//! journal's state, sync latency and copy lag, the store's connections), names no patient, and is not on the FHIR port; the probes are there too.

use crate::helpers::*;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

#[tokio::test]
async fn the_metrics_page_parses_and_counts_what_happened_without_personal_data() {
    let port = free_port();
    let app = spawn_app_with(move |s| {
        s.metrics_listen = Some(format!("127.0.0.1:{port}").parse().expect("address"));
    })
    .await;
    let nhs = "9434765919";
    let id = app
        .create_id(&serde_json::json!({"resourceType": "Patient",
            "identifier": [{"system": NHS, "value": nhs}]}))
        .await;
    app.read("Patient", &id).await.assert_status(200);
    app.read("Patient", "no-such-patient")
        .await
        .assert_status(404);
    app.get(&format!("{}/Patient?identifier={NHS}|{nhs}", app.base))
        .await
        .assert_status(200);
    let gp = app.token_for("gp", Some("A81001"), None);
    app.send(
        app.anonymous(reqwest::Method::GET, &format!("Patient/{id}"))
            .bearer_auth(&gp),
    )
    .await;
    let page = app
        .client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .expect("metrics answer");
    assert_eq!(page.status().as_u16(), 200);
    assert!(
        page.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/plain; version=0.0.4"))
    );
    let text = page.text().await.expect("text");
    assert!(
        !text.contains(nhs) && !text.contains(&id),
        "no identifiers in metrics"
    );
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))
        .expect("the Prometheus text format");
    let counter = |name: &str, labels: &[(&str, &str)]| -> f64 {
        scrape
            .samples
            .iter()
            .filter(|s| s.metric == name)
            .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .map(|s| match s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                _ => 0.0,
            })
            .sum()
    };
    let read = [("interaction", "read"), ("type", "Patient")];
    assert!(
        counter(
            "carebridge_requests_total",
            &[read[0], read[1], ("status", "200")]
        ) >= 1.0
    );
    assert!(
        counter(
            "carebridge_requests_total",
            &[read[0], read[1], ("status", "404")]
        ) >= 1.0
    );
    assert!(
        counter(
            "carebridge_requests_total",
            &[("interaction", "search-type")]
        ) >= 1.0
    );
    let histogram = scrape.samples.iter().any(|s| {
        s.metric == "carebridge_request_duration_seconds"
            && matches!(s.value, prometheus_parse::Value::Histogram(ref h) if !h.is_empty())
    });
    assert!(histogram, "latency histograms: {text}");
    assert!(
        counter("carebridge_consent_decisions_total", &[]) >= 1.0,
        "{text}"
    );
    assert_eq!(counter("carebridge_audit_journal_writable", &[]), 1.0);
    let synced = scrape.samples.iter().any(|s| {
        s.metric == "carebridge_audit_journal_sync_seconds"
            && matches!(s.value, prometheus_parse::Value::Histogram(ref h)
                if h.iter().any(|b| b.count >= 1.0))
    });
    assert!(synced, "the reads' audit events were synced: {text}");
    assert!(
        counter("carebridge_store_connections", &[]) >= 1.0,
        "{text}"
    );
    for gauge in [
        "carebridge_store_connections_idle",
        "carebridge_store_waiting",
        "carebridge_audit_journal_backlog_events",
        "carebridge_audit_copy_lag_events",
    ] {
        assert!(
            scrape.samples.iter().any(|s| s.metric == gauge),
            "{gauge}: {text}"
        );
    }
    // Probes on the metrics port; no metrics on the FHIR port.
    for probe in ["healthz", "readyz"] {
        let r = app
            .client
            .get(format!("http://127.0.0.1:{port}/{probe}"))
            .send()
            .await
            .expect("probe");
        assert_eq!(r.status().as_u16(), 200, "{probe}");
    }
    app.get(&format!("{}/metrics", app.root))
        .await
        .assert_status(404);
}
