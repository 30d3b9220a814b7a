//! Concurrent writers, including two stores on one database (two gateway processes): updates of one
//! resource serialise without lost updates, racing creates make one resource, and conditional creates
//! under [`Tx::lock`] make one match.
//!
//! [`Tx::lock`]: carebridge::store::Tx::lock

use std::time::Duration;

use carebridge::fhir::ResourceType::Patient;
use carebridge::store::{HistoryFilter, Store, StoreError, WriteMethod};
use serde_json::{Value, json};

use crate::fixtures::{T0, body, create, ids, query, version};
use crate::harness::Db;

/// Long enough inside a transaction for the other writers to pile up behind it.
const DWELL: Duration = Duration::from_millis(2);

/// Two stores on the test's database.
async fn two_processes(db: &Db) -> [Store; 2] {
    [db.open().await, db.open().await]
}

#[derive(Debug)]
enum JobError {
    Exists,
    Store(StoreError),
}

impl From<StoreError> for JobError {
    fn from(e: StoreError) -> Self {
        JobError::Store(e)
    }
}

pub async fn concurrent_updates_serialise(db: Db) {
    let stores = two_processes(&db).await;
    create(
        &stores[0],
        Patient,
        "p1",
        T0,
        json!({"multipleBirthInteger": 0}),
    )
    .await;
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = stores[i % 2].clone();
            tokio::spawn(async move {
                store
                    .transaction(|tx| {
                        let current = tx
                            .current(Patient, "p1")?
                            .ok_or_else(|| StoreError::Database("p1 missing".into()))?;
                        let seen = serde_json::from_str::<Value>(&current.body)
                            .ok()
                            .and_then(|b| b["multipleBirthInteger"].as_u64())
                            .unwrap_or(u64::MAX / 2);
                        std::thread::sleep(DWELL);
                        let next = current.version + 1;
                        let at = T0 + i64::try_from(next).unwrap_or(0);
                        let body = json!({"multipleBirthInteger": seen + 1});
                        tx.put(&version(Patient, "p1", next, at, body, WriteMethod::Update))?;
                        Ok::<_, StoreError>(next)
                    })
                    .await
            })
        })
        .collect();
    let mut written = Vec::new();
    for task in tasks {
        written.push(task.await.expect("task").expect("update commits"));
    }
    written.sort_unstable();
    assert_eq!(
        written,
        (2..=21).collect::<Vec<u64>>(),
        "consecutive versions"
    );

    for store in &stores {
        let p1 = store
            .backend()
            .read(Patient, "p1")
            .await
            .expect("read")
            .expect("found");
        assert_eq!(p1.version, 21);
        assert_eq!(body(&p1)["multipleBirthInteger"], 20, "no update was lost");
    }
    for v in 1..=21u64 {
        let old = stores[1]
            .backend()
            .vread(Patient, "p1", v)
            .await
            .expect("vread");
        let old = old.expect("every version is kept");
        assert_eq!(body(&old)["multipleBirthInteger"], v - 1);
    }
    let history = stores[0]
        .backend()
        .history(&HistoryFilter {
            rtype: Some(Patient),
            id: Some("p1".into()),
            count: 100,
            ..Default::default()
        })
        .await
        .expect("history");
    let versions: Vec<u64> = history.iter().map(|e| e.resource.version).collect();
    assert_eq!(versions, (1..=21).rev().collect::<Vec<u64>>());
}

pub async fn concurrent_creates_of_one_id_make_one_resource(db: Db) {
    let stores = two_processes(&db).await;
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let store = stores[i % 2].clone();
            tokio::spawn(async move {
                store
                    .transaction(move |tx| {
                        if tx.current(Patient, "p1")?.is_some() {
                            return Err(JobError::Exists);
                        }
                        std::thread::sleep(DWELL);
                        let body =
                            json!({"identifier": [{"system": "writer", "value": i.to_string()}]});
                        tx.put(&version(Patient, "p1", 1, T0, body, WriteMethod::Create))?;
                        Ok(i)
                    })
                    .await
            })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        match task.await.expect("task") {
            Ok(i) => winners.push(i),
            Err(JobError::Exists | JobError::Store(StoreError::Conflict)) => {}
            Err(other) => panic!("unexpected failure: {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one create wins");
    let p1 = stores[1]
        .backend()
        .read(Patient, "p1")
        .await
        .expect("read")
        .expect("found");
    assert_eq!(p1.version, 1);
    assert_eq!(ids(&stores[0], Patient, "").await, ["p1"]);
    let winner = format!("identifier=writer|{}", winners[0]);
    assert_eq!(
        ids(&stores[0], Patient, &winner).await,
        ["p1"],
        "only the winner's index rows"
    );
    assert_eq!(
        stores[0]
            .backend()
            .count(&query(Patient, "identifier=writer|"))
            .await
            .expect("count"),
        1
    );
}

pub async fn conditional_creates_under_lock_make_one_resource(db: Db) {
    let stores = two_processes(&db).await;
    let criteria = "identifier=https://example.org/mrn|42";
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let store = stores[i % 2].clone();
            tokio::spawn(async move {
                store
                    .transaction(move |tx| {
                        let q = query(Patient, criteria);
                        tx.lock(&format!("Patient?{criteria}"))?;
                        if !tx.search_ids(&q, 2)?.is_empty() {
                            return Ok(false);
                        }
                        std::thread::sleep(DWELL);
                        let body = json!({"identifier": [{"system": "https://example.org/mrn", "value": "42"}]});
                        let w = version(Patient, &format!("c{i}"), 1, T0, body, WriteMethod::Create);
                        tx.put(&w)?;
                        Ok::<_, StoreError>(true)
                    })
                    .await
            })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        if task
            .await
            .expect("task")
            .expect("conditional create commits")
        {
            created += 1;
        }
    }
    assert_eq!(created, 1, "exactly one conditional create writes");
    assert_eq!(ids(&stores[1], Patient, criteria).await.len(), 1);
}
