//! Retention over a large log (issue 18): how many bytes an audited read takes in the store, and
//! how long `carebridge audit archive` takes to seal a million events, to verify the archive
//! offline and to search it.
//!
//!     cargo bench --bench audit_archive                   # 1,000,000 archived of 1,100,000
//!     AUDIT_EVENTS=100000 cargo bench --bench audit_archive
//!     AUDIT_DB_COPY=/tmp/audit.db cargo bench --bench audit_archive   # keeps the filled store
//!
//! Fills a fresh SQLite store the way a gateway's journal copy does (`audit::stored::prepare` and
//! `insert` with one dictionary, transactions of 10,000) with a GP read's record for each event:
//! 5,000 patients, 50 GPs of 10 practices, a consent each, one event a millisecond. Prints the
//! store's bytes per event (the whole database file, which holds nothing else), then seals the
//! first `AUDIT_EVENTS` into an archive (`audit::archive::seal`: write, read back and verify,
//! remove from the store), and times `verify_file`, a search by patient, and verifying the 10%
//! left in the store from the anchor.

use std::sync::Arc;
use std::time::Instant;

use carebridge::audit::archive;
use carebridge::audit::chain::{self, GENESIS};
use carebridge::audit::event::{Agent, Disclosed, Record};
use carebridge::audit::stored::{self, Dictionary, Fresh};
use carebridge::store::audit::{Filter, Key};
use carebridge::store::{ChainedEvent, Store, StoreError};

const BATCH: u64 = 10_000;
const START: i64 = 1_790_000_000_000;

fn read(n: u64) -> Record {
    let patient = format!("pat-{}", n % 5_000);
    let plan = format!("CarePlan/plan-{}", n % 5_000);
    Record {
        recorded: START + i64::try_from(n).unwrap_or(0),
        method: "GET".into(),
        path: format!("/{plan}"),
        status: 200,
        agent: Some(Agent {
            sub: format!("gp-{}", n % 50),
            user: Some(format!("Practitioner/gp-{}", n % 50)),
            role: "gp".into(),
            org: Some(format!("A8{:04}", n % 10)),
            purpose: "TREAT".into(),
        }),
        patients: vec![patient.clone()],
        disclosed: vec![Disclosed {
            reference: format!("{plan}/_history/{}", 1 + n % 3),
            redacted: n.is_multiple_of(4),
            patient: Some(patient),
        }],
        consents: vec![format!("consent-{}", n % 5_000)],
        interaction: Some("read".into()),
        target: Some(plan),
        ..Record::default()
    }
}

#[tokio::main]
async fn main() {
    let archived: u64 = std::env::var("AUDIT_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let total = archived + archived / 10;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = dir.path().join("audit.db");
    let store = Store::open(&format!("sqlite://{}", db.display()))
        .await
        .expect("store");
    let dictionary = Arc::new(Dictionary::default());
    let fill = Instant::now();
    let mut prev = GENESIS.to_owned();
    let mut n = 0;
    while n < total {
        let upto = (n + BATCH).min(total);
        let mut batch = Vec::new();
        for i in n..upto {
            let r = read(i);
            let body = r.to_text();
            prev = chain::hash(&prev, i + 1, r.recorded, &body);
            let e = ChainedEvent {
                chain: "gateway".into(),
                seq: i + 1,
                recorded: r.recorded,
                hash: prev.clone(),
                body,
                keys: r.keys(),
            };
            batch.push(stored::prepare_parsed(&e, Some(&r)));
        }
        let d = Arc::clone(&dictionary);
        let fresh = store
            .transaction(move |tx| {
                let mut fresh = Fresh::default();
                for p in &batch {
                    stored::insert(tx, p, &d, &mut fresh)?;
                }
                Ok::<_, StoreError>(fresh)
            })
            .await
            .expect("stored");
        dictionary.keep(fresh);
        n = upto;
    }
    store.backend().close().await.expect("checkpointed");
    let bytes = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
    if let Ok(copy) = std::env::var("AUDIT_DB_COPY") {
        // For `python3 bench/audit_bytes.py` (each table and index).
        std::fs::copy(&db, &copy).expect("copied");
    }
    println!(
        "filled {total} read events ({} bytes of JSON each) in {:.1} s: database {bytes} bytes, {:.0} bytes per event",
        read(0).to_text().len(),
        fill.elapsed().as_secs_f64(),
        bytes as f64 / total as f64
    );

    let file = dir.path().join("archive.ndjson");
    let before = START + i64::try_from(archived).unwrap_or(0);
    let started = Instant::now();
    let sealed = archive::seal(&store, before, &file).await.expect("sealed");
    let seal_secs = started.elapsed().as_secs_f64();
    assert_eq!(sealed.events, archived);
    let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    println!(
        "archive: {} events sealed in {seal_secs:.1} s (written, read back and verified, removed from the store); file {size} bytes",
        sealed.events
    );
    let started = Instant::now();
    archive::verify_file(&file).expect("verifies");
    println!("verify-archive: {:.1} s", started.elapsed().as_secs_f64());
    let started = Instant::now();
    let filter = Filter {
        conditions: vec![(Key::Patient, vec!["pat-42".into()])],
        ..Filter::default()
    };
    let found = archive::search(&file, &filter, |_, _| Ok(())).expect("searched");
    println!(
        "search --archive patient=pat-42: {found} events in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let report = carebridge::audit::verify::stored(&store)
        .await
        .expect("verified");
    assert!(report.broken.is_none(), "{report:?}");
    println!(
        "verify of the {} events left, from the anchor: {:.2} s",
        report.count(),
        started.elapsed().as_secs_f64()
    );
}
