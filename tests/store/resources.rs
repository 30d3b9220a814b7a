//! Reads, versions, logical deletes, fetch, snapshots and migrations.

use carebridge::fhir::ResourceType::{CarePlan, Patient};
use serde_json::json;

use crate::fixtures::{T0, body, create, delete, ids, put, update, version};
use crate::harness::Db;
use carebridge::store::WriteMethod;

pub async fn create_then_read(db: Db) {
    let store = db.open().await;
    let backend = store.backend();
    assert_eq!(backend.read(Patient, "p1").await.expect("read"), None);
    create(&store, Patient, "p1", T0, json!({"gender": "female"})).await;

    let read = backend
        .read(Patient, "p1")
        .await
        .expect("read")
        .expect("created resource is found");
    assert_eq!((read.rtype, read.id.as_str()), (Patient, "p1"));
    assert_eq!(
        (read.version, read.last_updated, read.deleted),
        (1, T0, false)
    );
    let b = body(&read);
    assert_eq!(b["gender"], "female");
    assert_eq!(b["meta"]["versionId"], "1");
    // Types are separate namespaces.
    assert_eq!(backend.read(CarePlan, "p1").await.expect("read"), None);
    backend.ping().await.expect("ping");
}

pub async fn update_makes_a_new_version(db: Db) {
    let store = db.open().await;
    let backend = store.backend();
    create(&store, Patient, "p1", T0, json!({"gender": "female"})).await;
    let v = update(&store, Patient, "p1", T0 + 1000, json!({"gender": "other"})).await;
    assert_eq!(v, 2);

    let read = backend
        .read(Patient, "p1")
        .await
        .expect("read")
        .expect("found");
    assert_eq!((read.version, read.last_updated), (2, T0 + 1000));
    assert_eq!(body(&read)["gender"], "other");

    let v1 = backend
        .vread(Patient, "p1", 1)
        .await
        .expect("vread")
        .expect("version 1 is kept");
    assert_eq!((v1.version, v1.last_updated, v1.deleted), (1, T0, false));
    assert_eq!(body(&v1)["gender"], "female");
    let v2 = backend.vread(Patient, "p1", 2).await.expect("vread");
    assert_eq!(v2, Some(read));
    assert_eq!(backend.vread(Patient, "p1", 3).await.expect("vread"), None);
    assert_eq!(
        backend.vread(Patient, "p1", u64::MAX).await.expect("vread"),
        None
    );
    assert_eq!(
        backend.vread(Patient, "nope", 1).await.expect("vread"),
        None
    );
}

pub async fn delete_is_logical(db: Db) {
    let store = db.open().await;
    let backend = store.backend();
    create(&store, Patient, "p1", T0, json!({"gender": "female"})).await;
    update(&store, Patient, "p1", T0 + 1, json!({"gender": "male"})).await;
    delete(&store, Patient, "p1", T0 + 2).await;

    let read = backend
        .read(Patient, "p1")
        .await
        .expect("read")
        .expect("the deletion is current");
    assert_eq!(
        (read.version, read.last_updated, read.deleted),
        (3, T0 + 2, true)
    );
    assert_eq!(read.body, "");
    let v3 = backend
        .vread(Patient, "p1", 3)
        .await
        .expect("vread")
        .expect("found");
    assert!(v3.deleted);
    for (v, gender) in [(1, "female"), (2, "male")] {
        let old = backend
            .vread(Patient, "p1", v)
            .await
            .expect("vread")
            .expect("kept");
        assert!(!old.deleted);
        assert_eq!(body(&old)["gender"], gender);
    }
    assert!(ids(&store, Patient, "gender=male").await.is_empty());

    // Writing again after a delete continues the version sequence.
    put(
        &store,
        version(
            Patient,
            "p1",
            4,
            T0 + 3,
            json!({"gender": "male"}),
            WriteMethod::Create,
        ),
    )
    .await;
    let read = backend
        .read(Patient, "p1")
        .await
        .expect("read")
        .expect("found");
    assert_eq!((read.version, read.deleted), (4, false));
    assert_eq!(ids(&store, Patient, "gender=male").await, ["p1"]);
}

pub async fn fetch_keeps_order_and_leaves_out_deleted(db: Db) {
    let store = db.open().await;
    let backend = store.backend();
    for (i, id) in ["a", "b", "c", "d"].iter().enumerate() {
        create(
            &store,
            Patient,
            id,
            T0 + i64::try_from(i).expect("small"),
            json!({}),
        )
        .await;
    }
    let rows = backend
        .search(&crate::fixtures::query(Patient, "_sort=_id"), 10)
        .await
        .expect("search");
    assert_eq!(rows.len(), 4);
    delete(&store, Patient, "b", T0 + 10).await;

    let wanted = vec![rows[3], rows[1], rows[0], rows[2]];
    let found = backend.fetch(&wanted).await.expect("fetch");
    let got: Vec<_> = found.iter().map(|(rid, r)| (*rid, r.id.as_str())).collect();
    assert_eq!(got, [(rows[3], "d"), (rows[0], "a"), (rows[2], "c")]);
    assert!(backend.fetch(&[]).await.expect("fetch nothing").is_empty());
    assert!(
        backend
            .fetch(&[i64::MAX])
            .await
            .expect("fetch unknown")
            .is_empty()
    );
}

pub async fn snapshots_save_and_load(db: Db) {
    let store = db.open().await;
    let backend = store.backend();
    backend.save_snapshot("k1", &[5, 3, 9]).await.expect("save");
    backend.save_snapshot("k2", &[]).await.expect("save empty");
    assert_eq!(
        backend.load_snapshot("k1").await.expect("load"),
        Some(vec![5, 3, 9])
    );
    assert_eq!(
        backend.load_snapshot("k2").await.expect("load"),
        Some(vec![])
    );
    assert_eq!(backend.load_snapshot("nope").await.expect("load"), None);
    // Another process sees the same snapshots.
    let other = db.open().await;
    assert_eq!(
        other.backend().load_snapshot("k1").await.expect("load"),
        Some(vec![5, 3, 9])
    );
}

/// A deployment secret is made once: whichever process stores it first, every process (and every
/// later call) gets that value, not its own fresh one.
pub async fn a_deployment_secret_is_made_once_and_shared(db: Db) {
    let store = db.open().await;
    let other = db.open().await;
    let exports = store.backend().exports();
    let first = exports.secret("k", "aaaa", 1).await.expect("stored");
    assert_eq!(first, "aaaa");
    let again = other
        .backend()
        .exports()
        .secret("k", "bbbb", 2)
        .await
        .expect("read");
    assert_eq!(again, "aaaa", "a second process keeps the first value");
    let separate = exports.secret("k2", "cccc", 3).await.expect("stored");
    assert_eq!(separate, "cccc", "each name is its own secret");
}

pub async fn migrations_are_idempotent(db: Db) {
    if db.is_postgres() {
        // Several gateway processes starting at once against one new database.
        let opening: Vec<_> = (0..4)
            .map(|_| {
                let db = db.clone();
                tokio::spawn(async move { db.open().await })
            })
            .collect();
        for task in opening {
            task.await
                .expect("open task")
                .backend()
                .ping()
                .await
                .expect("ping");
        }
    }
    {
        let store = db.open().await;
        create(&store, Patient, "p1", T0, json!({"gender": "female"})).await;
    }
    let again = db.open().await;
    again.backend().ping().await.expect("ping");
    let read = again.backend().read(Patient, "p1").await.expect("read");
    assert_eq!(read.map(|r| r.version), Some(1));
    assert_eq!(ids(&again, Patient, "gender=female").await, ["p1"]);
}

/// The generation changes with every committed write: caches keyed by it see every change at the
/// next request. (It may also change without a write here: PostgreSQL's snapshot covers the whole
/// server, where other tests write, so only changes are asserted.)
pub async fn generation_changes_with_every_commit(db: Db) {
    let store = db.open().await;
    let backend = store.backend();
    let g0 = backend.generation().await.expect("generation");
    create(&store, Patient, "p1", T0, json!({"gender": "female"})).await;
    let g1 = backend.generation().await.expect("generation");
    assert_ne!(g1, g0);
    update(&store, Patient, "p1", T0 + 1, json!({"gender": "other"})).await;
    let g2 = backend.generation().await.expect("generation");
    assert_ne!(g2, g1);
    // A read at a generation is the read and the generation of one moment.
    let (read, at) = backend
        .read_at_generation(Patient, "p1")
        .await
        .expect("read");
    assert_eq!(read, backend.read(Patient, "p1").await.expect("read"));
    let (missing, _) = backend
        .read_at_generation(Patient, "none")
        .await
        .expect("read");
    assert_eq!(missing, None);
    delete(&store, Patient, "p1", T0 + 2).await;
    assert_ne!(backend.generation().await.expect("generation"), at);
}

/// Audit appends from many concurrent transactions make one gapless chain that verifies.
pub async fn audit_appends_make_one_verifiable_chain(db: Db) {
    use carebridge::audit::stored::append_by_tool as append;
    use carebridge::audit::verify::stored as verify;
    let store = db.open().await;
    let empty = verify(&store).await.expect("verify");
    assert_eq!((empty.count(), empty.broken), (0, None));
    let mut tasks = Vec::new();
    for i in 0..40 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            append(&store, T0 + i, format!("{{\"n\":{i}}}")).await
        }));
    }
    let mut seqs = Vec::new();
    for t in tasks {
        seqs.push(t.await.expect("joined").expect("appended"));
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=40).collect::<Vec<u64>>(), "no gaps, no repeats");
    let report = verify(&store).await.expect("verify");
    assert_eq!(report.broken, None);
    assert_eq!(report.chains.len(), 1);
    assert_eq!(
        (report.chains[0].1.count, report.chains[0].1.head_seq),
        (40, 40)
    );
    let rows = carebridge::audit::stored::select(
        store.backend(),
        &carebridge::store::audit::AuditSelect::ChainPage {
            chain: "store",
            after: 38,
            limit: 10,
        },
    )
    .await
    .expect("rows");
    assert_eq!(rows.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![39, 40]);
}
