//! The audit journal on a file system that fills up, and then has room again.
//!
//! The journal alone: events refused while the disk is full, the journal writing again by itself
//! once there is room, and one gapless chain holding exactly the acknowledged events. The real
//! gateway: requests answer 503 (with `Retry-After`) and `/readyz` 503 while full; both turn 200
//! again without a restart once there is room, and `carebridge audit verify` passes.

use std::time::{Duration, Instant};

use carebridge::audit::chain::{Link, Verifier};
use carebridge::audit::journal::{Head, Journal, complete_lines, segments};

use crate::gateway::{KillOnDrop, audit_verifies, free_port, mint, serve, settings};
use crate::small_disk::SmallDisk;

/// Waits up to `limit` for `ok`.
async fn within(limit: Duration, mut ok: impl AsyncFnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if ok().await {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

#[tokio::test]
async fn a_full_journal_refuses_then_resumes_the_chain_by_itself() {
    let Some(disk) = SmallDisk::mount(1024) else {
        return;
    };
    // Small segments, so that a segment also rolls over while the disk is nearly full.
    let journal = Journal::open_with(disk.path(), "gw", Head::default(), 16 * 1024).expect("opens");
    let body = format!("{{\"pad\":\"{}\"}}", "x".repeat(200));
    let mut acknowledged = Vec::new();
    for i in 0..20 {
        acknowledged.push(journal.append(i, &body).await.expect("room for these"));
    }
    let filler = disk.fill();
    let mut refused = 0;
    for i in 0..2_000 {
        match journal.append(100 + i, &body).await {
            Ok(seq) => acknowledged.push(seq),
            Err(_) => refused += 1,
        }
        if refused > 5 {
            break;
        }
    }
    assert!(refused > 5, "the full disk refused events");
    assert!(journal.failure().is_some(), "the journal says it failed");
    assert!(
        journal.append(0, &body).await.is_err(),
        "refused while full, without waiting for a write"
    );

    std::fs::remove_file(&filler).expect("room again");
    let resumed = within(Duration::from_secs(5), async || journal.failure().is_none()).await;
    assert!(resumed.is_some(), "the journal writes again by itself");
    for i in 0..20 {
        acknowledged.push(
            journal
                .append(5_000 + i, &body)
                .await
                .expect("written again"),
        );
    }
    journal.close();

    // One gapless chain of exactly the acknowledged events: none lost, none twice.
    let mut lines = Vec::new();
    for (_, path) in segments(disk.path(), "gw").expect("segments") {
        let text = std::fs::read(path).expect("read");
        let (complete, used) = complete_lines(&text);
        assert!(
            text[used..].iter().all(|b| *b == 0),
            "no partial line left behind (only the zeros of a preallocated segment)"
        );
        lines.extend(complete.into_iter().map(|(l, _)| l));
    }
    let seqs: Vec<u64> = lines.iter().map(|l| l.seq).collect();
    assert_eq!(
        seqs, acknowledged,
        "the journal holds what was acknowledged"
    );
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
    let mut verifier = Verifier::default();
    for l in &lines {
        verifier
            .check(&Link {
                seq: l.seq,
                recorded: l.recorded,
                hash: &l.hash,
                body: &l.body,
            })
            .expect("the chain holds across the failure");
    }
    // A journal opened again continues after the last acknowledged event.
    let again = Journal::open_with(disk.path(), "gw", Head::default(), 16 * 1024).expect("opens");
    assert_eq!(again.durable(), seqs.len() as u64);
}

#[tokio::test]
async fn a_gateway_whose_journal_disk_fills_is_unready_and_recovers_without_a_restart() {
    let Some(disk) = SmallDisk::mount(2048) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let env = settings(&[
        (
            "CAREBRIDGE_DATABASE_URL",
            format!("sqlite://{}", dir.path().join("cb.db").display()),
        ),
        ("CAREBRIDGE_AUDIT_DIR", disk.path().display().to_string()),
        // Segments are preallocated: small ones, so that the disk holds them and fills up.
        ("CAREBRIDGE_AUDIT_SEGMENT_BYTES", (64 * 1024).to_string()),
        ("CAREBRIDGE_LISTEN", format!("127.0.0.1:{port}")),
        ("CAREBRIDGE_SHUTDOWN_DELAY", "0".to_owned()),
        ("CAREBRIDGE_LOG", "error".to_owned()),
    ]);
    let token = mint(&env, "system", "SYS01");
    let mut gateway = KillOnDrop(Some(serve(&env, port).await));
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let base = format!("http://127.0.0.1:{port}");
    // Reads are recorded in the journal (writes are recorded with the write, in the store).
    let body = serde_json::json!({"resourceType": "Patient", "name": [{"family": "Full"}]});
    let created = client
        .post(format!("{base}/fhir/Patient"))
        .bearer_auth(&token)
        .header("Content-Type", "application/fhir+json")
        .body(body.to_string())
        .send()
        .await
        .expect("answered");
    assert_eq!(created.status().as_u16(), 201);
    let id = created.json::<serde_json::Value>().await.expect("json")["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let read = async || {
        let r = client
            .get(format!("{base}/fhir/Patient/{id}"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("answered");
        let status = r.status().as_u16();
        let retry = r.headers().contains_key("retry-after");
        let text = r.text().await.unwrap_or_default();
        (status, retry, text)
    };
    let ready = async || {
        client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    };
    let mut acknowledged = 0;
    for _ in 0..5 {
        assert_eq!(read().await.0, 200);
        acknowledged += 1;
    }
    assert_eq!(ready().await, 200);

    let filler = disk.fill();
    // The slack in the journal's last page may take a few more events; then it is full.
    let mut refusal = None;
    for _ in 0..500 {
        let (status, retry, text) = read().await;
        if status == 200 {
            acknowledged += 1;
            continue;
        }
        refusal = Some((status, retry, text));
        break;
    }
    let (status, retry, text) = refusal.expect("the full disk refuses requests");
    assert_eq!(status, 503, "{text}");
    assert!(retry, "a 503 says when to retry");
    assert!(text.contains("OperationOutcome"), "{text}");
    assert_eq!(ready().await, 503, "unready while the journal cannot write");
    assert_eq!(read().await.0, 503, "still refused while full");

    std::fs::remove_file(&filler).expect("room again");
    let back = within(Duration::from_secs(10), async || ready().await == 200).await;
    assert!(back.is_some(), "ready again without a restart");
    println!("ready again {back:?} after the space returned");
    for _ in 0..5 {
        assert_eq!(read().await.0, 200, "serving again");
        acknowledged += 1;
    }

    gateway.stop().await;
    let report = audit_verifies(&env);
    assert!(!report.contains("BROKEN"), "{report}");
    assert!(acknowledged >= 10, "{acknowledged}");
}
