//! Transactions: all-or-nothing, conflicts, reads of the transaction's own writes, reindexing.

use carebridge::fhir::ResourceType::Patient;
use carebridge::search::SearchQuery;
use carebridge::store::{StoreError, WriteMethod};
use serde_json::json;

use crate::fixtures::{T0, create, ids, query, update, version};
use crate::harness::Db;

/// A job's own failure, distinct from the store's.
#[derive(Debug)]
enum JobError {
    Deliberate,
    Store(StoreError),
}

impl From<StoreError> for JobError {
    fn from(e: StoreError) -> Self {
        JobError::Store(e)
    }
}

pub async fn failing_job_rolls_back_everything(db: Db) {
    let store = db.open().await;
    create(&store, Patient, "p1", T0, json!({"gender": "female"})).await;
    let result = store
        .transaction(|tx| {
            tx.put(&version(
                Patient,
                "new",
                1,
                T0 + 1,
                json!({"gender": "male"}),
                WriteMethod::Create,
            ))?;
            tx.put(&version(
                Patient,
                "p1",
                2,
                T0 + 1,
                json!({"gender": "male"}),
                WriteMethod::Update,
            ))?;
            // The transaction sees its own writes before failing (no assert: a job must not panic).
            match tx.current(Patient, "new")? {
                Some(_) => Err::<(), _>(JobError::Deliberate),
                None => Err(JobError::Store(StoreError::Database(
                    "own write unseen".into(),
                ))),
            }
        })
        .await;
    match result {
        Err(JobError::Deliberate) => {}
        Err(JobError::Store(e)) => panic!("the store failed instead of the job: {e}"),
        Ok(()) => panic!("the job's failure was lost"),
    }

    let backend = store.backend();
    assert_eq!(backend.read(Patient, "new").await.expect("read"), None);
    let p1 = backend
        .read(Patient, "p1")
        .await
        .expect("read")
        .expect("found");
    assert_eq!(p1.version, 1);
    assert_eq!(backend.vread(Patient, "p1", 2).await.expect("vread"), None);
    assert!(ids(&store, Patient, "gender=male").await.is_empty());
    assert_eq!(ids(&store, Patient, "gender=female").await, ["p1"]);
    let history = backend
        .history(&carebridge::store::HistoryFilter {
            count: 10,
            ..Default::default()
        })
        .await
        .expect("history");
    assert_eq!(history.len(), 1);

    // The store is still usable afterwards.
    assert_eq!(
        update(&store, Patient, "p1", T0 + 2, json!({"gender": "male"})).await,
        2
    );
}

pub async fn conflicting_version_rolls_back(db: Db) {
    let store = db.open().await;
    create(&store, Patient, "p1", T0, json!({"gender": "female"})).await;
    // Writing a version that already exists is a conflict, and takes the job's other writes with it.
    let result = store
        .transaction(|tx| {
            tx.put(&version(
                Patient,
                "other",
                1,
                T0 + 1,
                json!({}),
                WriteMethod::Create,
            ))?;
            tx.put(&version(
                Patient,
                "p1",
                1,
                T0 + 1,
                json!({"gender": "male"}),
                WriteMethod::Update,
            ))
        })
        .await;
    assert!(matches!(result, Err(StoreError::Conflict)), "{result:?}");
    let backend = store.backend();
    assert_eq!(backend.read(Patient, "other").await.expect("read"), None);
    let p1 = backend
        .read(Patient, "p1")
        .await
        .expect("read")
        .expect("found");
    assert_eq!((p1.version, p1.last_updated), (1, T0));
    assert_eq!(ids(&store, Patient, "gender=female").await, ["p1"]);
}

pub async fn transaction_sees_its_own_writes(db: Db) {
    let store = db.open().await;
    create(&store, Patient, "p1", T0, json!({"gender": "female"})).await;
    let found = store
        .transaction(|tx| {
            let q = query(Patient, "gender=female&_sort=_id");
            let before = tx.search_ids(&q, 10)?;
            tx.put(&version(
                Patient,
                "p0",
                1,
                T0 + 1,
                json!({"gender": "female"}),
                WriteMethod::Create,
            ))?;
            let after = tx.search_ids(&q, 10)?;
            let limited = tx.search_ids(&q, 1)?;
            let none = tx.search_ids(&query(Patient, "gender=male"), 10)?;
            let all = tx.search_ids(&SearchQuery::all(Patient, 10), 10)?;
            tx.lock("Patient?gender=female")?;
            tx.lock("Patient?gender=female")?;
            Ok::<_, StoreError>((before, after, limited, none, all.len()))
        })
        .await
        .expect("transaction commits");
    assert_eq!(found.0, ["p1"]);
    assert_eq!(found.1, ["p0", "p1"]);
    assert_eq!(found.2, ["p0"]);
    assert!(found.3.is_empty());
    assert_eq!(found.4, 2);
    assert_eq!(
        ids(&store, Patient, "gender=female&_sort=_id").await,
        ["p0", "p1"]
    );
}

pub async fn reindexing_replaces_old_index_rows(db: Db) {
    let store = db.open().await;
    let body = json!({
        "identifier": [{"system": "s", "value": "1"}],
        "name": [{"family": "Jones"}],
        "birthDate": "1990-01-01",
        "generalPractitioner": [{"reference": "Practitioner/gp1"}]
    });
    create(&store, Patient, "p1", T0, body).await;
    for qs in [
        "identifier=s|1",
        "family=jones",
        "birthdate=1990",
        "general-practitioner=gp1",
    ] {
        assert_eq!(ids(&store, Patient, qs).await, ["p1"], "{qs}");
    }
    let body = json!({
        "identifier": [{"system": "s", "value": "2"}],
        "name": [{"family": "Evans"}],
        "birthDate": "1991-01-01",
        "generalPractitioner": [{"reference": "Practitioner/gp2"}]
    });
    update(&store, Patient, "p1", T0 + 1, body).await;
    for qs in [
        "identifier=s|1",
        "family=jones",
        "birthdate=1990",
        "general-practitioner=gp1",
    ] {
        assert!(ids(&store, Patient, qs).await.is_empty(), "{qs}");
    }
    for qs in [
        "identifier=s|2",
        "family=evans",
        "birthdate=1991",
        "general-practitioner=gp2",
    ] {
        assert_eq!(ids(&store, Patient, qs).await, ["p1"], "{qs}");
    }
    // A version that changes one value keeps the rows of the others (SQLite rewrites only the
    // rows that differ) and replaces that one.
    let body = json!({
        "identifier": [{"system": "s", "value": "2"}],
        "name": [{"family": "Owen"}],
        "birthDate": "1991-01-01",
        "generalPractitioner": [{"reference": "Practitioner/gp2"}]
    });
    update(&store, Patient, "p1", T0 + 2, body).await;
    assert!(ids(&store, Patient, "family=evans").await.is_empty());
    for qs in [
        "identifier=s|2",
        "family=owen",
        "birthdate=1991",
        "general-practitioner=gp2",
    ] {
        assert_eq!(ids(&store, Patient, qs).await, ["p1"], "{qs}");
    }
}
