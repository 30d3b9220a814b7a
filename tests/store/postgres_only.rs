//! Behaviour only the PostgreSQL backend has: connection failures and aborted transactions.

use carebridge::fhir::ResourceType::Patient;
use carebridge::store::{Store, StoreError, WriteMethod};
use serde_json::json;

use crate::fixtures::{T0, create, version};
use crate::harness::{self, Db};

async fn open_error(url: &str) -> StoreError {
    match Store::open(url).await {
        Ok(_) => panic!("{url} should not open"),
        Err(e) => e,
    }
}

#[tokio::test]
async fn unreachable_database_is_unavailable() {
    // Nothing listens on port 1.
    match open_error("postgres://postgres:secret@127.0.0.1:1/carebridge").await {
        StoreError::Unavailable(m) => {
            assert!(m.contains("127.0.0.1:1/carebridge"), "{m}");
            assert!(m.contains("refused"), "the cause is given: {m}");
            assert!(!m.contains("secret"), "the password is never shown: {m}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn malformed_url_is_unavailable() {
    let e = open_error("postgres://127.0.0.1:notaport/x").await;
    assert!(matches!(e, StoreError::Unavailable(_)), "{e:?}");
}

/// A job that ignores a failed statement and returns `Ok` must not be told it committed: PostgreSQL
/// has aborted the transaction (SQLite would have kept the statements before the failure).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swallowed_error_is_not_reported_as_committed() {
    harness::postgres(swallowed_error).await;
}

async fn swallowed_error(db: Db) {
    let store = db.open().await;
    create(&store, Patient, "p1", T0, json!({})).await;
    let result = store
        .transaction(|tx| {
            tx.put(&version(
                Patient,
                "p2",
                1,
                T0,
                json!({}),
                WriteMethod::Create,
            ))?;
            let duplicate = version(Patient, "p1", 1, T0, json!({}), WriteMethod::Update);
            let ignored = tx.put(&duplicate);
            // Later statements fail the same way instead of reaching the database.
            let after = tx.current(Patient, "p1");
            Ok::<_, StoreError>((ignored.is_err(), after.is_err()))
        })
        .await;
    assert!(matches!(result, Err(StoreError::Conflict)), "{result:?}");
    assert_eq!(
        store.backend().read(Patient, "p2").await.expect("read"),
        None
    );
    assert_eq!(
        store
            .backend()
            .read(Patient, "p1")
            .await
            .expect("read")
            .map(|r| r.version),
        Some(1)
    );
}

/// More distinct statements than the per-connection cache keeps: the cache starts afresh and
/// searches keep working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_search_shapes_keep_working() {
    harness::postgres(many_shapes).await;
}

async fn many_shapes(db: Db) {
    let store = db.open().await;
    create(&store, Patient, "p1", T0, json!({})).await;
    let mut ids = vec!["p1".to_owned()];
    for n in 0..600 {
        ids.push(format!("x{n}"));
        let qs = format!("_id={}", ids.join(","));
        assert_eq!(
            crate::fixtures::ids(&store, Patient, &qs).await,
            ["p1"],
            "{n}"
        );
    }
}
