//! `carebridge audit archive` (retention) on the real binary, on both backends: the stored
//! events before the date go to a file that `audit verify-archive` verifies and `audit search
//! --archive` searches offline; the live trail (store from its anchor, then the journal) still
//! verifies, and the journal's later lines are still copied; an existing file is never
//! overwritten, and an altered archive is reported.

use crate::journal::{run, trail};
use crate::journal_support::{copy, stored_seqs};

async fn a_sealed_period_verifies_offline_and_the_live_trail_goes_on(postgres: bool) {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some((env, _db)) = trail(dir.path(), postgres).await else {
        return;
    };
    let file = dir.path().join("audit-2026.ndjson");
    let path = file.display().to_string();
    let archive = ["audit", "archive", "--before", "2026-12-01", "--out", &path];
    let (code, text) = run(&archive, &env);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("chain gateway: events 1 to 3 archived (3)"),
        "{text}"
    );
    assert!(text.contains("archived 3 events"), "{text}");

    let (code, text) = run(&["audit", "verify"], &env);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("audit log intact"), "{text}");
    assert!(text.contains("head: event 6"), "{text}");

    let (code, text) = run(&["audit", "verify-archive", &path], &[]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("archive intact: 3 events"), "{text}");
    let (code, text) = run(&["audit", "search", "--archive", &path], &[]);
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(
        text.lines().filter(|l| l.starts_with('{')).count(),
        3,
        "{text}"
    );
    let (code, text) = run(&["audit", "search", "--archive", &path, "patient=ann"], &[]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("0 events found"), "{text}");

    let (code, text) = run(&archive, &env);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("already exists"), "{text}");

    // The gateway's copy continues from the anchor.
    let url = env[0].1.clone();
    let store = carebridge::store::Store::open(&url).await.expect("store");
    copy(&store, &dir.path().join("audit"), "gateway")
        .await
        .expect("copied");
    assert_eq!(stored_seqs(&store, "gateway").await, vec![4, 5, 6]);
    store.backend().close().await.expect("closed");
    let (code, text) = run(&["audit", "verify"], &env);
    assert_eq!(code, Some(0), "{text}");

    let sealed = std::fs::read_to_string(&file).expect("archive");
    std::fs::write(
        &file,
        sealed.replacen("\\\"event\\\":2", "\\\"event\\\":9", 1),
    )
    .expect("tampered");
    let (code, text) = run(&["audit", "verify-archive", &path], &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("archive BROKEN: chain gateway breaks at event 2"),
        "{text}"
    );
}

#[tokio::test]
async fn a_sealed_period_verifies_offline_and_the_live_trail_goes_on_on_sqlite() {
    a_sealed_period_verifies_offline_and_the_live_trail_goes_on(false).await;
}

#[tokio::test]
async fn a_sealed_period_verifies_offline_and_the_live_trail_goes_on_on_postgres() {
    a_sealed_period_verifies_offline_and_the_live_trail_goes_on(true).await;
}
