//! PostgreSQL stopped and started under load, to the real gateway process, with no acknowledged
//! write lost. A private PostgreSQL cluster (never the machine's shared server) is stopped
//! (`pg_ctl stop -m fast`) while eight writers post Patients, and started again two seconds later.
//! This proves that:
//! - during the outage every write that is not acknowledged is answered 503 with `Retry-After` and an
//!   OperationOutcome whose issue code is `transient`: no other status, no dropped connection;
//! - the gateway serves writes again, without a restart of its own, within a bound once PostgreSQL
//!   is back;
//! - every write acknowledged (201) before, during or after the outage reads back 200;
//! - the process still stops cleanly on SIGTERM and its audit chains verify.
//!
//! It needs the PostgreSQL 15 server binaries and root (to run them as the `postgres` user); without
//! them it prints that it was skipped, unless `TEST_REQUIRE_FAULTS=1` (CI) makes that a
//! failure.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::gateway::{KillOnDrop, audit_verifies, free_port, mint, serve, settings};

const SECRET: &str = "pg-outage-test-secret-0123456789abcdef";
const PG_BIN: &str = "/usr/lib/postgresql/15/bin";
/// How long the gateway may take to serve a write again once PostgreSQL has started.
const RECOVERY_BOUND: Duration = Duration::from_secs(10);

/// Load phases: before `pg_ctl stop` was called, from then until `pg_ctl start` returned, after.
const BEFORE: u8 = 0;
const OUTAGE: u8 = 1;
const AFTER: u8 = 2;
const PHASES: [&str; 3] = ["before", "outage", "after"];

/// Why this machine cannot run the test, if it cannot.
fn unsupported() -> Option<String> {
    let initdb = Path::new(PG_BIN).join("initdb");
    if !initdb.exists() {
        return Some(format!("{} is absent", initdb.display()));
    }
    match std::fs::metadata("/proc/self").map(|m| m.uid()) {
        Ok(0) => None,
        Ok(uid) => Some(format!(
            "not root (uid {uid}): cannot run PostgreSQL as `postgres`"
        )),
        Err(e) => Some(format!("cannot tell the user id: {e}")),
    }
}

/// Runs a PostgreSQL binary as the `postgres` user, from `cwd` (a directory it can read).
fn as_postgres(cwd: &Path, bin: &str, args: &[&str]) -> Output {
    Command::new("runuser")
        .current_dir(cwd)
        .args(["-u", "postgres", "--"])
        .arg(Path::new(PG_BIN).join(bin))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("runuser {bin} runs: {e}"))
}

fn expect_success(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what}: {:?}\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A private PostgreSQL cluster in a temporary directory owned by `postgres`; stopped (immediate) and
/// removed when dropped, panic or not.
struct Cluster {
    dir: tempfile::TempDir,
    port: u16,
}

impl Cluster {
    fn init() -> Cluster {
        let dir = tempfile::tempdir().expect("tempdir");
        let chowned = Command::new("chown")
            .args(["postgres:postgres"])
            .arg(dir.path())
            .status()
            .expect("chown runs");
        assert!(chowned.success(), "chown the cluster directory to postgres");
        let cluster = Cluster {
            dir,
            port: free_port(),
        };
        let data = cluster.data();
        let out = as_postgres(
            cluster.dir.path(),
            "initdb",
            &[
                "-D",
                &data,
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        );
        expect_success("initdb", &out);
        cluster
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn url(&self) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/postgres?sslmode=disable",
            self.port
        )
    }

    fn start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("postgres.log").display().to_string();
        let out = as_postgres(
            self.dir.path(),
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-o",
                &options,
                "-l",
                &log,
                "-w",
                "start",
            ],
        );
        expect_success("pg_ctl start", &out);
    }

    fn stop(&self, mode: &str) -> Output {
        as_postgres(
            self.dir.path(),
            "pg_ctl",
            &["-D", &self.data(), "-m", mode, "-w", "stop"],
        )
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Stopped already, or never started: pg_ctl says so and nothing happens.
        let _ = self.stop("immediate");
    }
}

fn env(db: &str, port: u16, journal: &Path) -> Vec<(String, String)> {
    settings(&[
        ("CAREBRIDGE_DATABASE_URL", db.to_owned()),
        ("CAREBRIDGE_LISTEN", format!("127.0.0.1:{port}")),
        ("CAREBRIDGE_AUDIT_DIR", journal.display().to_string()),
        (
            "CAREBRIDGE_AUTH_ISSUER",
            "https://idp.outage.test".to_owned(),
        ),
        ("CAREBRIDGE_AUTH_AUDIENCE", "carebridge".to_owned()),
        ("CAREBRIDGE_AUTH_ALGORITHMS", "HS256".to_owned()),
        ("CAREBRIDGE_AUTH_HS256_SECRET", SECRET.to_owned()),
        ("CAREBRIDGE_SHUTDOWN_DELAY", "0".to_owned()),
        ("CAREBRIDGE_LOG", "warn".to_owned()),
    ])
}

/// What the writers saw.
#[derive(Default)]
struct Seen {
    /// Acknowledged ids, with the phase the request was sent in, the phase its answer came in, and
    /// when it came.
    acknowledged: Vec<(String, u8, u8, Instant)>,
    /// Answers other than 201, by phase (at the answer) and status.
    refused: BTreeMap<(u8, u16), usize>,
    /// Answers that were not a 201 nor a proper transient 503, and transport failures: the first few.
    wrong: Vec<String>,
    wrong_count: usize,
}

impl Seen {
    fn wrong(&mut self, what: String) {
        self.wrong_count += 1;
        if self.wrong.len() < 10 {
            self.wrong.push(what);
        }
    }
}

/// Why a non-201 answer is not the transient 503 an outage must give, if it is not.
fn not_transient(status: u16, retry_after: Option<&str>, body: &str) -> Option<String> {
    let outcome: Value = serde_json::from_str(body).unwrap_or_default();
    let code = outcome["issue"][0]["code"].as_str();
    let fine = status == 503
        && retry_after.is_some_and(|v| !v.is_empty())
        && outcome["resourceType"] == "OperationOutcome"
        && code == Some("transient");
    (!fine).then(|| format!("{status} Retry-After={retry_after:?} {body}"))
}

/// Records one writer's answer; whether it was an acknowledgement.
fn record(
    s: &mut Seen,
    answer: Result<(u16, Option<String>, String), String>,
    sent_in: u8,
    answered_in: u8,
) -> bool {
    match answer {
        Ok((201, _, text)) => {
            let v: Value = serde_json::from_str(&text).unwrap_or_default();
            match v["id"].as_str() {
                Some(id) => {
                    s.acknowledged
                        .push((id.to_owned(), sent_in, answered_in, Instant::now()));
                    return true;
                }
                None => s.wrong(format!("201 without an id: {text}")),
            }
        }
        Ok((status, retry_after, text)) => {
            *s.refused.entry((answered_in, status)).or_default() += 1;
            if let Some(why) = not_transient(status, retry_after.as_deref(), &text) {
                s.wrong(format!("[{}] {why}", PHASES[usize::from(answered_in)]));
            }
        }
        Err(e) => s.wrong(format!(
            "[{}] no answer: {e}",
            PHASES[usize::from(answered_in)]
        )),
    }
    false
}

async fn readyz(client: &reqwest::Client, base: &str) -> Result<u16, String> {
    client
        .get(format!("{base}/readyz"))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .map_err(|e| e.to_string())
}

// Several workers: pg_ctl blocks (`block_in_place`) while the writers keep going.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_stopped_and_started_under_load_loses_no_acknowledged_write() {
    if let Some(reason) = unsupported() {
        assert!(
            std::env::var("TEST_REQUIRE_FAULTS").as_deref() != Ok("1"),
            "TEST_REQUIRE_FAULTS=1 but this machine cannot run the fault test: {reason}"
        );
        println!("skipped: {reason}");
        return;
    }
    let began = Instant::now();
    let cluster = Cluster::init();
    cluster.start();
    let journal = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let env = env(&cluster.url(), port, journal.path());
    let token = mint(&env, "system", "SYS01");
    assert!(!token.is_empty(), "carebridge token printed a token");
    let mut gateway = KillOnDrop(Some(serve(&env, port).await));
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(15))
        .build()
        .expect("client");
    let base = format!("http://127.0.0.1:{port}");
    assert_eq!(
        readyz(&client, &base).await,
        Ok(200),
        "ready before the outage"
    );

    // Eight writers, each posting Patients until told to stop.
    let phase = Arc::new(AtomicU8::new(BEFORE));
    let running = Arc::new(AtomicBool::new(true));
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let mut writers = Vec::new();
    for w in 0..8 {
        let (client, base, token) = (client.clone(), base.clone(), token.clone());
        let (phase, running, seen) = (Arc::clone(&phase), Arc::clone(&running), Arc::clone(&seen));
        writers.push(tokio::spawn(async move {
            let mut i = 0u64;
            while running.load(Ordering::SeqCst) {
                i += 1;
                let body = json!({"resourceType": "Patient",
                    "name": [{"family": format!("Outage{w}"), "given": [format!("n{i}")]}]});
                let sent_in = phase.load(Ordering::SeqCst);
                let sent = client
                    .post(format!("{base}/fhir/Patient"))
                    .bearer_auth(&token)
                    .header("Content-Type", "application/fhir+json")
                    .body(body.to_string())
                    .send()
                    .await;
                let answered_in = phase.load(Ordering::SeqCst);
                let answer = match sent {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        let retry_after = r
                            .headers()
                            .get("Retry-After")
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_owned);
                        let text = r.text().await.map_err(|e| e.to_string());
                        text.map(|t| (status, retry_after, t))
                    }
                    Err(e) => Err(e.to_string()),
                };
                let acknowledged = {
                    let Ok(mut s) = seen.lock() else { return };
                    record(&mut s, answer, sent_in, answered_in)
                };
                if !acknowledged {
                    // A client backing off a little (not the whole Retry-After), so the outage is
                    // still under load without a busy loop.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }));
    }

    tokio::time::sleep(Duration::from_millis(1500)).await;
    phase.store(OUTAGE, Ordering::SeqCst);
    let stopping = Instant::now();
    let stopped = tokio::task::block_in_place(|| cluster.stop("fast"));
    expect_success("pg_ctl stop -m fast", &stopped);
    println!("PostgreSQL stopped in {:?}", stopping.elapsed());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let ready_in_outage = readyz(&client, &base).await;
    println!("/readyz during the outage: {ready_in_outage:?}");
    assert!(
        ready_in_outage.is_ok(),
        "/readyz answers during the outage: {ready_in_outage:?}"
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    tokio::task::block_in_place(|| cluster.start());
    let started = Instant::now();
    phase.store(AFTER, Ordering::SeqCst);

    // The writers' first acknowledgement of a write sent after the start returned.
    let recovered = loop {
        let first = seen.lock().ok().and_then(|s| {
            s.acknowledged
                .iter()
                .filter(|(_, sent_in, _, _)| *sent_in == AFTER)
                .map(|(_, _, _, at)| *at)
                .min()
        });
        if let Some(at) = first {
            break at.saturating_duration_since(started);
        }
        if started.elapsed() > RECOVERY_BOUND {
            running.store(false, Ordering::SeqCst);
            let wrong = seen.lock().map(|s| s.wrong.clone()).unwrap_or_default();
            panic!(
                "no write acknowledged within {RECOVERY_BOUND:?} of PostgreSQL starting; {wrong:#?}"
            );
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    println!("writes served again {recovered:?} after PostgreSQL started");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    running.store(false, Ordering::SeqCst);
    for w in writers {
        w.await.expect("writer finished");
    }
    let ready_after = readyz(&client, &base).await;
    println!("/readyz after the outage: {ready_after:?}");

    let seen = Arc::try_unwrap(seen)
        .ok()
        .and_then(|m| m.into_inner().ok())
        .expect("the writers are done");
    let mut acked_by_phase = [0usize; 3];
    for (_, _, answered_in, _) in &seen.acknowledged {
        acked_by_phase[usize::from(*answered_in)] += 1;
    }
    println!(
        "acknowledged (by phase of the answer): before {}, outage {}, after {}",
        acked_by_phase[0], acked_by_phase[1], acked_by_phase[2]
    );
    for ((p, status), n) in &seen.refused {
        println!(
            "refused in phase {}: {n} x {status}",
            PHASES[usize::from(*p)]
        );
    }
    println!("wrong answers: {} {:#?}", seen.wrong_count, seen.wrong);
    assert_eq!(
        seen.wrong_count, 0,
        "every write not acknowledged is a transient 503 with Retry-After: {:#?}",
        seen.wrong
    );
    assert!(
        acked_by_phase[usize::from(BEFORE)] > 0,
        "writes acknowledged before the outage"
    );
    assert!(
        seen.acknowledged
            .iter()
            .any(|(_, sent_in, _, _)| *sent_in == AFTER),
        "writes acknowledged after the outage"
    );
    assert!(
        seen.refused.keys().any(|(p, _)| *p == OUTAGE),
        "some writes met the outage, else this proved nothing"
    );
    assert_eq!(ready_after, Ok(200), "ready again after the outage");

    // Everything acknowledged reads back.
    for (id, sent_in, _, _) in &seen.acknowledged {
        let r = client
            .get(format!("{base}/fhir/Patient/{id}"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("answered");
        assert_eq!(
            r.status().as_u16(),
            200,
            "acknowledged Patient/{id} (sent {}) reads back",
            PHASES[usize::from(*sent_in)]
        );
    }

    // SIGTERM: exits 0; the audit chains verify.
    gateway.stop().await;
    println!("{}", audit_verifies(&env).trim());
    println!("took {:?}", began.elapsed());
    drop(cluster);
}
