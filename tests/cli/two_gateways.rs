//! Two gateway processes, the real binary, on one PostgreSQL database: a write through one is read
//! through the other; a consent withdrawn through one stops sharing through the other at the next
//! request; killing one while both serve loses nothing it acknowledged; both audit chains verify.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

use crate::gateway::{command, free_port, serve};

const SECRET: &str = "two-gateways-test-secret-0123456789abcdef";

/// A fresh database on the server `TEST_POSTGRES_URL` names; its URL.
async fn fresh_database(admin: &str) -> String {
    let (client, conn) = tokio_postgres::connect(admin, tokio_postgres::NoTls)
        .await
        .expect("the PostgreSQL server answers");
    tokio::spawn(conn);
    let name = format!("cb_two_{}", uuid::Uuid::new_v4().simple());
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("database created");
    let (base, _) = admin.rsplit_once('/').expect("a database in the URL");
    format!("{base}/{name}")
}

fn env(db: &str, port: u16, chain: &str, journal: &std::path::Path) -> Vec<(String, String)> {
    [
        ("CAREBRIDGE_DATABASE_URL", db.to_owned()),
        ("CAREBRIDGE_LISTEN", format!("127.0.0.1:{port}")),
        ("CAREBRIDGE_AUDIT_CHAIN", chain.to_owned()),
        ("CAREBRIDGE_AUDIT_DIR", journal.display().to_string()),
        ("CAREBRIDGE_AUTH_ISSUER", "https://idp.two.test".to_owned()),
        ("CAREBRIDGE_AUTH_AUDIENCE", "carebridge".to_owned()),
        ("CAREBRIDGE_AUTH_ALGORITHMS", "HS256".to_owned()),
        ("CAREBRIDGE_AUTH_HS256_SECRET", SECRET.to_owned()),
        ("CAREBRIDGE_SHUTDOWN_DELAY", "0".to_owned()),
        ("CAREBRIDGE_LOG", "warn".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

struct Gw {
    client: reqwest::Client,
    base: String,
}

impl Gw {
    async fn get(&self, token: &str, path: &str) -> (u16, Value) {
        let r = self
            .client
            .get(format!("{}/{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .expect("answered");
        (r.status().as_u16(), r.json().await.unwrap_or_default())
    }

    async fn send(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: &Value,
    ) -> (u16, Value) {
        let r = self
            .client
            .request(method, format!("{}/{path}", self.base))
            .bearer_auth(token)
            .header("Content-Type", "application/fhir+json")
            .body(body.to_string())
            .send()
            .await
            .expect("answered");
        (r.status().as_u16(), r.json().await.unwrap_or_default())
    }
}

#[tokio::test]
async fn two_gateway_processes_share_one_database_consent_and_audit() {
    let Ok(admin) = std::env::var("TEST_POSTGRES_URL") else {
        println!("skipped: TEST_POSTGRES_URL not set");
        return;
    };
    let db = fresh_database(&admin).await;
    let (ja, jb) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    let (pa, pb) = (free_port(), free_port());
    let (ea, eb) = (
        env(&db, pa, "gw-a", ja.path()),
        env(&db, pb, "gw-b", jb.path()),
    );
    let sample = command(&["sample"], &ea).output().expect("sample runs");
    let out = String::from_utf8_lossy(&sample.stdout).into_owned();
    assert!(
        sample.status.success(),
        "{}",
        String::from_utf8_lossy(&sample.stderr)
    );
    let tokens: BTreeMap<String, String> = out
        .lines()
        .filter_map(|l| l.strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let plan = out
        .lines()
        .find(|l| l.contains("$HOUSING"))
        .and_then(|l| l.rsplit("/CarePlan/").next())
        .expect("Ann's plan in the sample's example")
        .trim()
        .to_owned();
    let system = String::from_utf8_lossy(
        &command(&["token", "--role", "system", "--org", "SYS01"], &ea)
            .output()
            .expect("token")
            .stdout,
    )
    .trim()
    .to_owned();
    let (gp, link, ann) = (&tokens["GP"], &tokens["LINK_WORKER"], &tokens["ANN"]);
    let mut a_proc = serve(&ea, pa).await;
    let mut b_proc = serve(&eb, pb).await;
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let a = Gw {
        client: client.clone(),
        base: format!("http://127.0.0.1:{pa}/fhir"),
    };
    let b = Gw {
        client: client.clone(),
        base: format!("http://127.0.0.1:{pb}/fhir"),
    };

    // A write through A is read through B.
    let (status, mut current) = a.get(link, &format!("CarePlan/{plan}")).await;
    assert_eq!(status, 200);
    current["status"] = json!("on-hold");
    let (status, written) = a
        .send(
            link,
            reqwest::Method::PUT,
            &format!("CarePlan/{plan}"),
            &current,
        )
        .await;
    assert_eq!(status, 200, "{written}");
    let (status, seen) = b.get(gp, &format!("CarePlan/{plan}")).await;
    assert_eq!(status, 200, "the GP sees Ann's shared plan through B");
    assert_eq!(seen["meta"]["versionId"], written["meta"]["versionId"]);
    assert_eq!(seen["status"], "on-hold");

    // Ann withdraws sharing with GPs through A; B refuses the GP at the next request.
    let patient = seen["subject"]["reference"]
        .as_str()
        .expect("subject")
        .to_owned();
    let consent = json!({"resourceType": "Consent", "status": "active",
        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"reference": patient},
        "provision": {"type": "deny", "actor": [{"role": {"coding": [{
            "system": "https://fhir.carebridge.uk/CodeSystem/sharing-role", "code": "gp"}]},
            "reference": {"display": "any organisation in that role"}}]}});
    let (status, body) = a
        .send(ann, reqwest::Method::POST, "Consent", &consent)
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, _) = b.get(gp, &format!("CarePlan/{plan}")).await;
    assert_eq!(status, 404, "withdrawn through A, refused through B");

    // Both serve writes; A is killed mid-load; everything acknowledged is there.
    let mut acknowledged = Vec::new();
    // A number of requests, not a time: a loaded machine serves fewer in any given time.
    let give_up_at = std::time::Instant::now() + Duration::from_secs(60);
    let mut killed = false;
    let mut i = 0;
    while i < 80 && std::time::Instant::now() < give_up_at {
        i += 1;
        if !killed && i == 40 {
            a_proc.kill().expect("SIGKILL");
            a_proc.wait().expect("reaped");
            killed = true;
        }
        let gw = if i % 2 == 0 { &a } else { &b };
        let sent = gw
            .client
            .post(format!("{}/Patient", gw.base))
            .bearer_auth(&system)
            .header("Content-Type", "application/fhir+json")
            .body(
                json!({"resourceType": "Patient", "name": [{"family": format!("Load{i}")}]})
                    .to_string(),
            )
            .send()
            .await;
        if let Ok(r) = sent
            && r.status().as_u16() == 201
        {
            let v: Value = r.json().await.unwrap_or_default();
            acknowledged.push(v["id"].as_str().unwrap_or_default().to_owned());
        }
    }
    assert!(killed && acknowledged.len() > 30, "{}", acknowledged.len());
    for id in &acknowledged {
        let (status, _) = b.get(&system, &format!("Patient/{id}")).await;
        assert_eq!(status, 200, "acknowledged Patient/{id}");
    }
    // A starts again (its journal replays); both chains verify.
    let mut a_proc = serve(&ea, pa).await;
    for p in [&mut a_proc, &mut b_proc] {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &p.id().to_string()])
            .status();
        let _ = p.wait();
    }
    let verified = command(&["audit", "verify"], &ea).output().expect("verify");
    let text = String::from_utf8_lossy(&verified.stdout).into_owned();
    assert!(verified.status.success(), "{text}");
    for chain in ["gw-a", "gw-b"] {
        assert!(
            text.contains(&format!("chain {chain}")),
            "{chain} verified: {text}"
        );
    }
    drop_database(&admin, &db).await;
}

/// Removes the test's database.
async fn drop_database(admin: &str, url: &str) {
    let Some((_, name)) = url.rsplit_once('/') else {
        return;
    };
    if let Ok((client, conn)) = tokio_postgres::connect(admin, tokio_postgres::NoTls).await {
        tokio::spawn(conn);
        let _ = client
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await;
    }
}
