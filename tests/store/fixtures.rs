//! Building versions and running common operations through the public store API.

use carebridge::fhir::ResourceType;
use carebridge::fhir::instant::format_instant;
use carebridge::search::{self, ParseOptions, SearchQuery};
use carebridge::store::{Store, StoreError, StoredResource, VersionWrite, WriteMethod};
use serde_json::{Value, json};

/// 2026-01-01T00:00:00Z: version times are set explicitly so that order and `_since` are exact.
pub const T0: i64 = 1_767_225_600_000;

/// A version of `rtype/id` with `body` stamped (`resourceType`, `id`, `meta`) and indexed.
pub fn version(
    rtype: ResourceType,
    id: &str,
    version: u64,
    last_updated: i64,
    body: Value,
    method: WriteMethod,
) -> VersionWrite {
    let mut body = body;
    if let Some(obj) = body.as_object_mut() {
        obj.insert("resourceType".into(), json!(rtype.as_str()));
        obj.insert("id".into(), json!(id));
        obj.insert(
            "meta".into(),
            json!({"versionId": version.to_string(), "lastUpdated": format_instant(last_updated)}),
        );
    }
    VersionWrite {
        index: search::extract(rtype, &body),
        resource: StoredResource {
            rtype,
            id: id.to_owned(),
            version,
            last_updated,
            deleted: false,
            body: body.to_string(),
        },
        method,
    }
}

/// The deletion of `rtype/id` as version `version`.
pub fn deletion(rtype: ResourceType, id: &str, version: u64, last_updated: i64) -> VersionWrite {
    VersionWrite {
        resource: StoredResource {
            rtype,
            id: id.to_owned(),
            version,
            last_updated,
            deleted: true,
            body: String::new(),
        },
        method: WriteMethod::Delete,
        index: Vec::new(),
    }
}

/// Writes `w` in its own transaction.
pub async fn put(store: &Store, w: VersionWrite) {
    store
        .transaction(move |tx| tx.put(&w))
        .await
        .expect("write commits");
}

/// Creates `rtype/id` as version 1 at `at`.
pub async fn create(store: &Store, rtype: ResourceType, id: &str, at: i64, body: Value) {
    put(store, version(rtype, id, 1, at, body, WriteMethod::Create)).await;
}

/// Writes the next version of `rtype/id` (read inside the transaction) at `at`; returns its number.
pub async fn update(store: &Store, rtype: ResourceType, id: &str, at: i64, body: Value) -> u64 {
    let id = id.to_owned();
    store
        .transaction(move |tx| {
            let next = tx.current(rtype, &id)?.map_or(1, |c| c.version + 1);
            tx.put(&version(rtype, &id, next, at, body, WriteMethod::Update))?;
            Ok::<_, StoreError>(next)
        })
        .await
        .expect("update commits")
}

/// Deletes `rtype/id` (the next version, read inside the transaction) at `at`.
pub async fn delete(store: &Store, rtype: ResourceType, id: &str, at: i64) {
    let id = id.to_owned();
    store
        .transaction(move |tx| {
            let current = tx.current(rtype, &id)?.expect("resource to delete exists");
            tx.put(&deletion(rtype, &id, current.version + 1, at))
        })
        .await
        .expect("delete commits");
}

/// Parses a query string for a search of `rtype`.
pub fn query(rtype: ResourceType, qs: &str) -> SearchQuery {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(qs.as_bytes()).into_owned().collect();
    search::parse(
        rtype,
        &pairs,
        ParseOptions {
            lenient: false,
            default_count: 100,
            max_count: 1000,
        },
    )
    .expect("query parses")
}

/// The ids a search of `rtype` with `qs` finds, in order.
pub async fn ids(store: &Store, rtype: ResourceType, qs: &str) -> Vec<String> {
    let backend = store.backend();
    let rows = backend
        .search(&query(rtype, qs), 1000)
        .await
        .expect("search runs");
    let found = backend.fetch(&rows).await.expect("fetch runs");
    assert_eq!(found.len(), rows.len(), "every row found is live");
    found.into_iter().map(|(_, r)| r.id).collect()
}

/// Like [`ids`], sorted, for searches whose order is unspecified.
pub async fn sorted_ids(store: &Store, rtype: ResourceType, qs: &str) -> Vec<String> {
    let mut found = ids(store, rtype, qs).await;
    found.sort();
    found
}

/// The body of a stored version as JSON.
pub fn body(r: &StoredResource) -> Value {
    serde_json::from_str(&r.body).expect("stored body is JSON")
}
