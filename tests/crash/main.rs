//! Durability: every write the gateway acknowledged is still there after the process is killed with
//! SIGKILL mid-load and restarted on the same SQLite file.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

struct Gateway {
    child: Child,
    base: String,
}

impl Gateway {
    async fn start(db: &std::path::Path, port: u16) -> Gateway {
        let child = Command::new(env!("CARGO_BIN_EXE_carebridge"))
            .arg("serve")
            .env("CAREBRIDGE_LISTEN", format!("127.0.0.1:{port}"))
            .env(
                "CAREBRIDGE_DATABASE_URL",
                format!("sqlite://{}", db.display()),
            )
            .env("CAREBRIDGE_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gateway starts");
        let gw = Gateway {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(r) = client.get(format!("{}/readyz", gw.base)).send().await
                && r.status().is_success()
            {
                return gw;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("gateway did not become ready");
    }

    fn kill9(mut self) {
        // Child::kill sends SIGKILL on Unix: no shutdown hooks, no flush.
        self.child.kill().expect("kill");
        let _ = self.child.wait();
    }
}

/// A client whose every request carries a system token of the gateway's development secret.
fn client_for(dir: &std::path::Path) -> reqwest::Client {
    let auth = carebridge::auth::dev::settings(dir).expect("dev secret");
    let token =
        carebridge::auth::mint::token_for(&auth, "system", Some("CRASH"), None).expect("a token");
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse().expect("a header value"),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .expect("client")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_kill_dash_nine() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("crash.db");
    let gw = Gateway::start(&db, free_port()).await;
    // No [auth]: development mode, whose secret (beside the store) mints a system token.
    let client = client_for(dir.path());

    // Eight writers create patients as fast as they can; each records what was acknowledged.
    let mut tasks = Vec::new();
    for w in 0..8 {
        let (client, base) = (client.clone(), gw.base.clone());
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for i in 0..10_000 {
                let body =
                    json!({"resourceType": "Patient", "name": [{"family": format!("w{w}-{i}")}]});
                let sent = client
                    .post(format!("{base}/fhir/Patient"))
                    .header("content-type", "application/fhir+json")
                    .body(body.to_string())
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status() == 201 => match r.json::<Value>().await {
                        Ok(v) => acked.push(v["id"].as_str().unwrap_or_default().to_owned()),
                        Err(_) => break,
                    },
                    _ => break,
                }
            }
            acked
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    gw.kill9();
    let mut acked = Vec::new();
    for t in tasks {
        acked.extend(t.await.expect("writer task"));
    }
    assert!(
        acked.len() > 50,
        "too few writes before the kill to prove anything: {}",
        acked.len()
    );

    let gw = Gateway::start(&db, free_port()).await;
    let mut missing = Vec::new();
    for id in &acked {
        let r = client
            .get(format!("{}/fhir/Patient/{id}", gw.base))
            .send()
            .await
            .expect("read");
        if r.status() != 200 {
            missing.push(id.clone());
        }
    }
    gw.kill9();
    eprintln!(
        "{} creates acknowledged before SIGKILL; {} missing after restart",
        acked.len(),
        missing.len()
    );
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged creates lost: {:?}",
        missing.len(),
        acked.len(),
        &missing[..missing.len().min(5)]
    );
}

/// The `_id` values of every search the gateway recorded, read from `$audit-export`.
async fn recorded_ids(client: &reqwest::Client, base: &str) -> std::collections::HashSet<String> {
    use base64::Engine as _;
    let text = client
        .get(format!("{base}/fhir/$audit-export"))
        .send()
        .await
        .expect("export")
        .text()
        .await
        .expect("export body");
    let mut ids = std::collections::HashSet::new();
    for line in text.lines() {
        let event: Value = serde_json::from_str(line).expect("one event per line");
        for e in event["entity"].as_array().into_iter().flatten() {
            let Some(q) = e["query"].as_str() else {
                continue;
            };
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(q)
                .expect("base64 query");
            for (k, v) in form_urlencoded::parse(&decoded) {
                if k == "_id" {
                    ids.insert(v.into_owned());
                }
            }
        }
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_answered_request_has_its_audit_event_after_kill_dash_nine() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("crash.db");
    let gw = Gateway::start(&db, free_port()).await;
    let client = client_for(dir.path());

    // Eight readers search as fast as they can, each request tagged with its own `_id` (kept in
    // the recorded query); each records the tags of the responses it received.
    let mut tasks = Vec::new();
    for w in 0..8 {
        let (client, base) = (client.clone(), gw.base.clone());
        tasks.push(tokio::spawn(async move {
            let mut answered = Vec::new();
            for i in 0..100_000 {
                let tag = format!("r{w}-{i}");
                let sent = client
                    .get(format!("{base}/fhir/Patient?_id={tag}"))
                    .send()
                    .await;
                let Ok(r) = sent else { break };
                if r.status() != 200 || r.bytes().await.is_err() {
                    break;
                }
                answered.push(tag);
            }
            answered
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    gw.kill9();
    let mut answered = Vec::new();
    for t in tasks {
        answered.extend(t.await.expect("reader task"));
    }
    assert!(
        answered.len() > 200,
        "too few requests before the kill to prove anything: {}",
        answered.len()
    );

    // The restart copies the journal into the store; the chain must verify and hold them all.
    let gw = Gateway::start(&db, free_port()).await;
    let verify: Value = client
        .get(format!("{}/fhir/$audit-verify", gw.base))
        .send()
        .await
        .expect("verify")
        .json()
        .await
        .expect("parameters");
    let intact = verify["parameter"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == "intact"))
        .map(|p| p["valueBoolean"].clone());
    assert_eq!(intact, Some(Value::Bool(true)), "{verify}");
    let recorded = recorded_ids(&client, &gw.base).await;
    gw.kill9();
    let missing: Vec<&String> = answered.iter().filter(|t| !recorded.contains(*t)).collect();
    eprintln!(
        "{} answered searches before SIGKILL; {} events recorded; {} answered without an event",
        answered.len(),
        recorded.len(),
        missing.len()
    );
    assert!(
        missing.is_empty(),
        "{} of {} answered requests have no audit event: {:?}",
        missing.len(),
        answered.len(),
        &missing[..missing.len().min(5)]
    );
}
