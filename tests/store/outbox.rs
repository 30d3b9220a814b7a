//! The notification outbox: a row per change enqueued in the change's transaction, committed with
//! it or not at all, read back in order.

use carebridge::fhir::ResourceType::{CarePlan, Task};
use carebridge::store::outbox::Change;
use carebridge::store::{StoreError, WriteMethod};
use serde_json::json;

use crate::fixtures::{T0, version};
use crate::harness::Db;

pub async fn a_change_and_its_outbox_row_commit_together_or_not_at_all(db: Db) {
    let store = db.open().await;
    let outbox = |s: &carebridge::store::Store| {
        let s = s.clone();
        async move { s.backend().outbox().pending(100).await.expect("pending") }
    };
    assert!(outbox(&store).await.is_empty());
    store
        .transaction(|tx| {
            tx.put(&version(
                Task,
                "t1",
                1,
                T0,
                json!({"status": "requested"}),
                WriteMethod::Create,
            ))?;
            tx.enqueue_change(Task, "t1", 1, T0)?;
            tx.put(&version(
                CarePlan,
                "c1",
                1,
                T0 + 1,
                json!({}),
                WriteMethod::Create,
            ))?;
            tx.enqueue_change(CarePlan, "c1", 1, T0 + 1)
        })
        .await
        .expect("commits");
    // A transaction that fails after enqueueing leaves neither its write nor its row.
    let failed: Result<(), StoreError> = store
        .transaction(|tx| {
            tx.put(&version(
                Task,
                "t2",
                1,
                T0 + 2,
                json!({}),
                WriteMethod::Create,
            ))?;
            tx.enqueue_change(Task, "t2", 1, T0 + 2)?;
            Err(StoreError::Conflict)
        })
        .await;
    assert!(failed.is_err());
    let pending = outbox(&store).await;
    let seen: Vec<(String, u64, i64)> = pending
        .iter()
        .map(|c: &Change| (format!("{}/{}", c.rtype, c.id), c.version, c.recorded))
        .collect();
    assert_eq!(
        seen,
        [
            ("Task/t1".to_owned(), 1, T0),
            ("CarePlan/c1".to_owned(), 1, T0 + 1)
        ]
    );
    assert!(pending[0].row < pending[1].row, "in insertion order");
    assert!(
        store
            .backend()
            .read(Task, "t2")
            .await
            .expect("read")
            .is_none()
    );
    // Another process sees the same rows.
    assert_eq!(outbox(&db.open().await).await, pending);
}

/// Events are numbered per subscription from 1, in the order they are appended; an outbox row is
/// taken once.
pub async fn events_are_numbered_per_subscription_and_rows_taken_once(db: Db) {
    let store = db.open().await;
    store
        .transaction(|tx| {
            tx.put(&version(Task, "t1", 1, T0, json!({}), WriteMethod::Create))?;
            tx.enqueue_change(Task, "t1", 1, T0)
        })
        .await
        .expect("commits");
    let row = store.backend().outbox().pending(1).await.expect("pending")[0].row;
    let event = |subscription: &str, version: u64| carebridge::store::outbox::Event {
        subscription: subscription.to_owned(),
        number: 0,
        topic: "referral-addressed".into(),
        rtype: Task,
        id: "t1".into(),
        version,
        recorded: T0,
    };
    let (first, again, numbers) = store
        .transaction(move |tx| {
            let first = tx.take_change(row)?;
            let again = tx.take_change(row)?;
            let numbers = [
                tx.append_event(&event("s1", 1))?,
                tx.append_event(&event("s2", 1))?,
                tx.append_event(&event("s1", 2))?,
            ];
            Ok::<_, StoreError>((first, again, numbers))
        })
        .await
        .expect("commits");
    assert!(first && !again, "a row is taken once");
    assert_eq!(numbers, [1, 1, 2]);
    let outbox = store.backend().outbox();
    assert!(outbox.pending(10).await.expect("pending").is_empty());
    let later = outbox.events("s1", 1, 10).await.expect("events");
    assert_eq!(
        later
            .iter()
            .map(|e| (e.number, e.version))
            .collect::<Vec<_>>(),
        [(2, 2)]
    );
    assert_eq!(outbox.event_count("s1").await.expect("count"), 2);
    assert_eq!(outbox.event_count("nobody").await.expect("count"), 0);
}

/// A subscription is held by one process at a time; a process starting again under its chain name
/// takes back what it held, and nothing another process holds.
pub async fn a_restarted_process_takes_back_what_it_held_and_nothing_else(db: Db) {
    let store = db.open().await;
    let (s1, s2) = ("s1".to_owned(), "s2".to_owned());
    store
        .transaction(move |tx| {
            tx.keep_subscriber(&s1, "housing", Some("secret-one"))?;
            tx.keep_subscriber(&s2, "housing", Some("secret-two"))
        })
        .await
        .expect("commits");
    let outbox = store.backend().outbox();
    let (now, until) = (T0, T0 + 300_000);
    let ids = |taken: Vec<(String, carebridge::store::outbox::Delivery)>| {
        taken.into_iter().map(|(id, _)| id).collect::<Vec<_>>()
    };
    let first = ids(outbox
        .claim_due(now, until, "gw-1", 1)
        .await
        .expect("claim"));
    assert_eq!(first.len(), 1, "as many as asked for");
    let second = ids(outbox
        .claim_due(now, until, "gw-2", 10)
        .await
        .expect("claim"));
    assert_eq!(
        second.len(),
        1,
        "only the one gw-1 does not hold: {second:?}"
    );
    assert_ne!(first, second);
    assert!(
        ids(outbox
            .claim_due(now + 1, until, "gw-3", 10)
            .await
            .expect("claim"))
        .is_empty(),
        "both held"
    );
    assert_eq!(outbox.release("gw-1").await.expect("release"), 1);
    assert_eq!(
        ids(outbox
            .claim_due(now + 1, until, "gw-1", 10)
            .await
            .expect("claim")),
        first,
        "taken back at once; gw-2's is still gw-2's"
    );
    assert_eq!(outbox.release("gw-3").await.expect("release"), 0);
    // A held subscription is free again when its lease runs out.
    assert_eq!(
        ids(outbox
            .claim_due(until, until + 1, "gw-3", 10)
            .await
            .expect("claim"))
        .len(),
        2
    );
}
