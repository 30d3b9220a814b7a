//! SIGTERM under load, to the real process: `/readyz` turns 503 at once while requests are still
//! served, the process exits 0 once what was under way finished, and every write it acknowledged
//! is in the store with its audit event (the chains verify).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::gateway::{audit_verifies, free_port, mint, serve, settings, sigterm};

#[tokio::test]
async fn sigterm_under_load_turns_unready_first_and_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite://{}", dir.path().join("cb.db").display());
    let port = free_port();
    let env = settings(&[
        ("CAREBRIDGE_DATABASE_URL", db.clone()),
        ("CAREBRIDGE_LISTEN", format!("127.0.0.1:{port}")),
        ("CAREBRIDGE_SHUTDOWN_DELAY", "1".to_owned()),
        ("CAREBRIDGE_LOG", "warn".to_owned()),
    ]);
    let token = mint(&env, "system", "SYS01");
    let mut gateway = serve(&env, port).await;
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let base = format!("http://127.0.0.1:{port}");
    // Four writers, each posting Patients until the gateway stops answering.
    let acknowledged: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut writers = Vec::new();
    for w in 0..4 {
        let (client, base, token, acked) = (
            client.clone(),
            base.clone(),
            token.clone(),
            Arc::clone(&acknowledged),
        );
        writers.push(tokio::spawn(async move {
            for i in 0.. {
                let body = serde_json::json!({"resourceType": "Patient",
                    "name": [{"family": format!("Writer{w}"), "given": [format!("n{i}")]}]});
                let sent = client
                    .post(format!("{base}/fhir/Patient"))
                    .bearer_auth(&token)
                    .header("Content-Type", "application/fhir+json")
                    .body(body.to_string())
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status().as_u16() == 201 => {
                        let id: serde_json::Value = r.json().await.unwrap_or_default();
                        if let (Some(id), Ok(mut a)) = (id["id"].as_str(), acked.lock()) {
                            a.push(id.to_owned());
                        }
                    }
                    Ok(_) => {}
                    Err(_) => return,
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    sigterm(&gateway);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let probe = |path: &'static str| {
        let (client, base) = (client.clone(), base.clone());
        async move {
            client
                .get(format!("{base}{path}"))
                .send()
                .await
                .map(|r| r.status().as_u16())
                .ok()
        }
    };
    assert_eq!(probe("/readyz").await, Some(503), "not ready once stopping");
    assert_eq!(
        probe("/healthz").await,
        Some(200),
        "still serving during the delay"
    );
    let status = tokio::task::spawn_blocking(move || gateway.wait())
        .await
        .expect("joined")
        .expect("exited");
    assert!(status.success(), "exit 0 after SIGTERM: {status:?}");
    for w in writers {
        let _ = w.await;
    }
    let acked = acknowledged.lock().map(|a| a.clone()).unwrap_or_default();
    assert!(acked.len() > 10, "the load ran: {}", acked.len());
    // Every acknowledged write is stored...
    let store = carebridge::store::Store::open(&db)
        .await
        .expect("the store opens");
    for id in &acked {
        let found = store
            .backend()
            .read(carebridge::fhir::ResourceType::Patient, id)
            .await
            .expect("read");
        assert!(found.is_some(), "acknowledged Patient/{id} is stored");
    }
    store.backend().close().await.expect("closed");
    // ...and audited: the chains verify, with at least one event per acknowledged write.
    let text = audit_verifies(&env);
    let events: usize = text
        .lines()
        .filter_map(|l| l.split(": ").nth(1))
        .filter_map(|l| l.split(' ').next())
        .filter_map(|n| n.parse::<usize>().ok())
        .sum();
    assert!(
        events >= acked.len(),
        "{events} events for {} writes: {text}",
        acked.len()
    );
}
