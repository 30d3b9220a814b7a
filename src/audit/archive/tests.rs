use super::*;
use crate::audit::chain;
use crate::audit::event::{Agent, Disclosed};
use crate::store::ChainedEvent;

async fn sqlite_store(dir: &Path) -> Store {
    Store::open(&format!("sqlite://{}", dir.join("s.db").display()))
        .await
        .expect("store")
}

/// A GP's read of `patient`'s plan at `recorded`.
fn read(recorded: i64, patient: &str) -> Record {
    Record {
        recorded,
        method: "GET".into(),
        path: format!("/CarePlan/{patient}-plan"),
        status: 200,
        agent: Some(Agent {
            sub: "dr-jones".into(),
            user: None,
            role: "gp".into(),
            org: Some("A81001".into()),
            purpose: "TREAT".into(),
        }),
        patients: vec![patient.into()],
        disclosed: vec![Disclosed {
            reference: format!("CarePlan/{patient}-plan/_history/1"),
            redacted: false,
            patient: Some(patient.into()),
        }],
        interaction: Some("read".into()),
        target: Some(format!("CarePlan/{patient}-plan")),
        ..Record::default()
    }
}

/// Stores chain `gw` continuing from `(seq, hash)` with one read per entry of `patients`, the
/// n-th recorded at n * 1000 ms; returns the new head.
async fn record(store: &Store, from: (u64, String), patients: &[&str]) -> (u64, String) {
    let (mut seq, mut prev) = from;
    let mut events = Vec::new();
    for p in patients {
        seq += 1;
        let r = read(i64::try_from(seq).unwrap_or(0) * 1000, p);
        let body = r.to_text();
        prev = chain::hash(&prev, seq, r.recorded, &body);
        events.push(ChainedEvent {
            chain: "gw".into(),
            seq,
            recorded: r.recorded,
            hash: prev.clone(),
            body,
            keys: r.keys(),
        });
    }
    store
        .transaction(move |tx| {
            for e in &events {
                stored::insert_one(tx, e)?;
            }
            Ok::<_, StoreError>(())
        })
        .await
        .expect("stored");
    (seq, prev)
}

async fn stored_seqs(store: &Store, chain: &str) -> Vec<u64> {
    stored::select(
        store.backend(),
        &AuditSelect::ChainPage {
            chain,
            after: 0,
            limit: 100,
        },
    )
    .await
    .expect("rows")
    .iter()
    .map(|r| r.seq)
    .collect()
}

/// Sealing moves a chain's oldest events into a file that verifies on its own and is searchable;
/// the store keeps the rest, verifies from the anchor, and records the sealing; a later seal
/// continues from the anchor, and the chain grows on from it.
#[tokio::test]
async fn a_sealed_period_leaves_the_store_and_both_verify() {
    let dir = tempfile::tempdir().expect("dir");
    let store = sqlite_store(dir.path()).await;
    let head = record(
        &store,
        (0, GENESIS.into()),
        &["ann", "bob", "ann", "cat", "ann"],
    )
    .await;

    let first = dir.path().join("2026-q1.ndjson");
    let sealed = seal(&store, 3_500, &first).await.expect("sealed");
    assert_eq!(sealed.events, 3);
    assert_eq!(sealed.parts.len(), 1);
    assert_eq!((sealed.parts[0].after, sealed.parts[0].last), (0, 3));
    assert_eq!(verify_file(&first).expect("verifies"), sealed);
    assert_eq!(stored_seqs(&store, "gw").await, vec![4, 5]);
    let report = crate::audit::verify::stored(&store).await.expect("verify");
    assert!(report.broken.is_none(), "{report:?}");
    let gw = report.chains.iter().find(|(c, _)| c == "gw").expect("gw");
    assert_eq!((gw.1.count, gw.1.head_seq), (2, 5));
    // The sealing is on record, with the file's digest.
    let own = stored::select(
        store.backend(),
        &AuditSelect::ChainPage {
            chain: crate::store::STORE_CHAIN,
            after: 0,
            limit: 10,
        },
    )
    .await
    .expect("store chain");
    assert!(own.iter().any(|r| r.body.contains(&sealed.sha256)));

    let ann = Filter {
        conditions: vec![(crate::store::audit::Key::Patient, vec!["ann".into()])],
        ..Filter::default()
    };
    let mut seqs = Vec::new();
    let n = search(&first, &ann, |e, _| {
        seqs.push(e.seq);
        Ok(())
    })
    .expect("searched");
    assert_eq!((n, seqs), (2, vec![1, 3]));

    // The chain goes on from the store, and a second period starts where the first ended.
    record(&store, head, &["dan"]).await;
    let second = dir.path().join("2026-q2.ndjson");
    let sealed = seal(&store, 5_500, &second).await.expect("sealed again");
    let gw = sealed
        .parts
        .iter()
        .find(|p| p.chain == "gw")
        .expect("gw part");
    assert_eq!((gw.after, gw.last, gw.events), (3, 5, 2));
    assert_eq!(stored_seqs(&store, "gw").await, vec![6]);
    let report = crate::audit::verify::stored(&store).await.expect("verify");
    assert!(report.broken.is_none(), "{report:?}");
    // Everything archived: the head is the anchor, and appending continues after it.
    let third = dir.path().join("2026-q3.ndjson");
    seal(&store, 10_000, &third).await.expect("sealed all");
    assert_eq!(stored_seqs(&store, "gw").await, Vec::<u64>::new());
    let head = stored::head(store.backend(), "gw").await.expect("head");
    assert_eq!(head.map(|(seq, _)| seq), Some(6));
    let report = crate::audit::verify::stored(&store).await.expect("verify");
    assert!(report.broken.is_none(), "{report:?}");
}

/// An archive altered, cut short or extended after sealing does not verify, and says where.
#[tokio::test]
async fn an_altered_or_truncated_archive_does_not_verify() {
    let dir = tempfile::tempdir().expect("dir");
    let store = sqlite_store(dir.path()).await;
    record(&store, (0, GENESIS.into()), &["ann", "bob", "cat"]).await;
    let path = dir.path().join("a.ndjson");
    seal(&store, 10_000, &path).await.expect("sealed");
    let text = std::fs::read_to_string(&path).expect("read");
    let cases = [
        (text.replacen("bob-plan", "eve-plan", 1), "altered"),
        (
            text.lines()
                .take(text.lines().count() - 1)
                .map(|l| format!("{l}\n"))
                .collect(),
            "no closing line",
        ),
        (
            text.lines()
                .enumerate()
                .filter(|(i, _)| *i != 2)
                .map(|(_, l)| format!("{l}\n"))
                .collect(),
            "missing",
        ),
        (format!("{text}{text}"), "after the closing line"),
    ];
    for (changed, reason) in cases {
        std::fs::write(&path, changed).expect("write");
        let e = verify_file(&path).expect_err("must not verify");
        assert!(e.to_string().contains(reason), "{reason}: {e}");
    }
}

/// Nothing is archived or removed from a chain that does not verify, or onto an existing file.
#[tokio::test]
async fn a_broken_chain_or_an_existing_file_archives_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let store = sqlite_store(dir.path()).await;
    record(&store, (0, GENESIS.into()), &["ann", "bob", "cat"]).await;
    let existing = dir.path().join("exists.ndjson");
    std::fs::write(&existing, "keep me").expect("write");
    assert!(matches!(
        seal(&store, 10_000, &existing).await,
        Err(ArchiveError::Exists(_))
    ));
    assert_eq!(std::fs::read_to_string(&existing).expect("read"), "keep me");

    let conn = rusqlite::Connection::open(dir.path().join("s.db")).expect("open");
    conn.execute_batch("UPDATE audit_event SET recorded = recorded + 1 WHERE seq = 2")
        .expect("tampered");
    drop(conn);
    let path = dir.path().join("a.ndjson");
    let e = seal(&store, 10_000, &path).await.expect_err("refused");
    assert!(matches!(e, ArchiveError::Broken { seq: 2, .. }), "{e}");
    assert!(!path.exists() && !path.with_extension("partial").exists());
    assert_eq!(stored_seqs(&store, "gw").await, vec![1, 2, 3]);
}
