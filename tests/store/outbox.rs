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
