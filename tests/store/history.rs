//! History: newest first, `_since`, cursor paging, instance, type and system scope.

use carebridge::fhir::ResourceType::{self, CarePlan, Patient};
use carebridge::store::{HistoryEntry, HistoryFilter, Store, WriteMethod};
use serde_json::json;

use crate::fixtures::{T0, create, delete, update};
use crate::harness::Db;

async fn history(store: &Store, filter: HistoryFilter) -> Vec<HistoryEntry> {
    store.backend().history(&filter).await.expect("history")
}

fn versions(entries: &[HistoryEntry]) -> Vec<(String, u64)> {
    entries
        .iter()
        .map(|e| (e.resource.id.clone(), e.resource.version))
        .collect()
}

fn filter(rtype: Option<ResourceType>, id: Option<&str>, count: usize) -> HistoryFilter {
    HistoryFilter {
        rtype,
        id: id.map(str::to_owned),
        since: None,
        before: None,
        count,
    }
}

/// p1 v1, p1 v2, p2 v1, cp1 v1, p1 v3 (deleted), in that order and time.
async fn seed(store: &Store) {
    create(store, Patient, "p1", T0, json!({"gender": "female"})).await;
    update(store, Patient, "p1", T0 + 1000, json!({"gender": "male"})).await;
    create(store, Patient, "p2", T0 + 2000, json!({})).await;
    create(
        store,
        CarePlan,
        "cp1",
        T0 + 3000,
        json!({"status": "active"}),
    )
    .await;
    delete(store, Patient, "p1", T0 + 4000).await;
}

pub async fn instance_history_is_newest_first(db: Db) {
    let store = db.open().await;
    seed(&store).await;
    let entries = history(&store, filter(Some(Patient), Some("p1"), 10)).await;
    assert_eq!(
        versions(&entries),
        [("p1".into(), 3), ("p1".into(), 2), ("p1".into(), 1)]
    );
    let methods: Vec<_> = entries.iter().map(|e| e.method).collect();
    assert_eq!(
        methods,
        [
            WriteMethod::Delete,
            WriteMethod::Update,
            WriteMethod::Create
        ]
    );
    assert!(entries[0].resource.deleted);
    assert_eq!(entries[0].resource.body, "");
    assert_eq!(entries[1].resource.last_updated, T0 + 1000);
    assert!(entries[1].resource.body.contains("\"male\""));
    assert!(
        entries.windows(2).all(|w| w[0].cursor > w[1].cursor),
        "cursors decrease"
    );
    assert!(
        history(&store, filter(Some(Patient), Some("nope"), 10))
            .await
            .is_empty()
    );
    assert!(
        history(&store, filter(Some(CarePlan), Some("p1"), 10))
            .await
            .is_empty()
    );
}

pub async fn type_and_system_history_page_with_cursors(db: Db) {
    let store = db.open().await;
    seed(&store).await;
    let all = history(&store, filter(Some(Patient), None, 10)).await;
    assert_eq!(
        versions(&all),
        [
            ("p1".into(), 3),
            ("p2".into(), 1),
            ("p1".into(), 2),
            ("p1".into(), 1)
        ]
    );

    let mut pages = Vec::new();
    let mut before = None;
    loop {
        let page = history(
            &store,
            HistoryFilter {
                before,
                ..filter(Some(Patient), None, 3)
            },
        )
        .await;
        let Some(last) = page.last() else { break };
        before = Some(last.cursor);
        pages.push(versions(&page));
    }
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[0].len(), 3);
    assert_eq!(pages.concat(), versions(&all));

    let system = history(&store, filter(None, None, 10)).await;
    assert_eq!(system.len(), 5);
    assert_eq!(system[1].resource.rtype, CarePlan);
    let two = history(&store, filter(None, None, 2)).await;
    assert_eq!(versions(&two), versions(&system[..2]));
}

pub async fn since_limits_history(db: Db) {
    let store = db.open().await;
    seed(&store).await;
    let since = |since, rtype, id: Option<&str>| HistoryFilter {
        since: Some(since),
        ..filter(rtype, id, 10)
    };
    let p1 = history(&store, since(T0 + 1000, Some(Patient), Some("p1"))).await;
    assert_eq!(versions(&p1), [("p1".into(), 3), ("p1".into(), 2)]);
    let patients = history(&store, since(T0 + 1001, Some(Patient), None)).await;
    assert_eq!(versions(&patients), [("p1".into(), 3), ("p2".into(), 1)]);
    let everything = history(&store, since(T0 + 3000, None, None)).await;
    assert_eq!(versions(&everything), [("p1".into(), 3), ("cp1".into(), 1)]);
    assert!(
        history(&store, since(T0 + 5000, None, None))
            .await
            .is_empty()
    );
}
