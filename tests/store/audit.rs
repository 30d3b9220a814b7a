//! The audit log tables on both backends: events copied from a journal with their search keys,
//! found again by the auditors' filters, in order, page by page.

use carebridge::audit::chain;
use carebridge::audit::event::{Agent, Disclosed, Record};
use carebridge::audit::stored;
use carebridge::store::audit::{Filter, Key};
use carebridge::store::{AuditKeys, ChainedEvent};

use crate::harness::Db;

fn event(seq: u64, recorded: i64, patient: &str, role: &str) -> ChainedEvent {
    ChainedEvent {
        chain: "gw".into(),
        seq,
        recorded,
        hash: format!("h{seq}"),
        body: format!("{{\"n\":{seq}}}"),
        keys: AuditKeys {
            subtype: "read".into(),
            action: "R".into(),
            outcome: "0".into(),
            agent: "user".into(),
            user: String::new(),
            org: "A81001".into(),
            role: role.into(),
            purpose: "TREAT".into(),
            patients: vec![patient.into()],
            entities: vec![format!("CarePlan/{patient}"), format!("CarePlan/{patient}")],
        },
    }
}

/// Copied events are found by patient, entity, role and date, newest first or oldest first, and a
/// cursor continues a page without repeating; a second copy of an event is refused, not doubled.
pub async fn copied_events_are_found_by_the_auditors_filters(db: Db) {
    let store = db.open().await;
    let events = vec![
        event(1, 1_000, "ann", "gp"),
        event(2, 2_000, "bob", "gp"),
        event(3, 3_000, "ann", "housing"),
        event(4, 4_000, "ann", "gp"),
    ];
    let copy = events.clone();
    let fresh: Vec<bool> = store
        .transaction(move |tx| {
            copy.iter()
                .map(|e| carebridge::audit::stored::insert_one(tx, e))
                .collect()
        })
        .await
        .expect("copied");
    assert_eq!(fresh, vec![true; 4]);
    let again = events[0].clone();
    let doubled = store
        .transaction(move |tx| carebridge::audit::stored::insert_one(tx, &again))
        .await
        .expect("copied");
    assert!(!doubled, "a chain holds each sequence number once");

    let find = |filter: Filter| {
        let store = store.clone();
        async move {
            carebridge::audit::stored::select(
                store.backend(),
                &carebridge::store::audit::AuditSelect::Search(&filter),
            )
            .await
            .expect("search")
            .iter()
            .map(|r| r.seq)
            .collect::<Vec<u64>>()
        }
    };
    let base = Filter {
        limit: 10,
        descending: true,
        ..Filter::default()
    };
    let with = |key, value: &str| Filter {
        conditions: vec![(key, vec![value.to_owned()])],
        ..base.clone()
    };
    assert_eq!(find(with(Key::Patient, "ann")).await, vec![4, 3, 1]);
    assert_eq!(find(with(Key::Entity, "CarePlan/bob")).await, vec![2]);
    assert_eq!(find(with(Key::Role, "housing")).await, vec![3]);
    assert_eq!(find(with(Key::Organization, "A81001")).await.len(), 4);
    let period = Filter {
        from: Some(2_000),
        to: Some(4_000),
        descending: false,
        ..base.clone()
    };
    assert_eq!(find(period).await, vec![2, 3]);
    let first_page = Filter {
        limit: 2,
        ..with(Key::Patient, "ann")
    };
    assert_eq!(find(first_page.clone()).await, vec![4, 3]);
    let next = Filter {
        after: Some((3_000, 3)),
        ..first_page
    };
    assert_eq!(find(next).await, vec![1]);
    let head = carebridge::audit::stored::select(
        store.backend(),
        &carebridge::store::audit::AuditSelect::ChainHead("gw"),
    )
    .await
    .expect("head");
    assert_eq!(head.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![4]);
}

/// A read's record as the gateway writes it.
fn record(recorded: i64, patient: &str) -> Record {
    Record {
        recorded,
        method: "GET".into(),
        path: format!("/CarePlan/{patient}-plan"),
        status: 200,
        agent: Some(Agent {
            sub: "dr-jones".into(),
            user: Some("Practitioner/gp-1".into()),
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
        consents: vec!["consent-1".into()],
        interaction: Some("read".into()),
        target: Some(format!("CarePlan/{patient}-plan")),
        ..Record::default()
    }
}

/// A store written before the compact form: its events (records and a tool's text) move into the
/// compact form when the store opens, each body and hash reading back exactly as hashed, the
/// chain verifying, and every event found by the auditors' filters; the old table is left empty.
pub async fn events_stored_before_the_compact_form_move_into_it(db: Db) {
    let store = db.open().await;
    let bodies = [
        record(1_000, "ann").to_text(),
        record(2_000, "bob").to_text(),
        "{\"n\":3}".to_owned(),
        record(4_000, "ann").to_text(),
    ];
    let mut prev = chain::GENESIS.to_owned();
    let mut values = Vec::new();
    for (i, body) in bodies.iter().enumerate() {
        let seq = i as u64 + 1;
        let recorded = seq as i64 * 1_000;
        prev = chain::hash(&prev, seq, recorded, body);
        values.push(format!(
            "('gw', {seq}, {recorded}, '{prev}', '{}')",
            body.replace('\'', "''")
        ));
    }
    db.execute(&format!(
        "INSERT INTO audit_event_text (chain, seq, recorded, hash, body) VALUES {}",
        values.join(", ")
    ))
    .await;
    assert_eq!(stored::upgrade(&store).await.expect("moved"), 4);
    assert_eq!(stored::upgrade(&store).await.expect("nothing left"), 0);

    let rows = stored::select(
        store.backend(),
        &carebridge::store::audit::AuditSelect::ChainPage {
            chain: "gw",
            after: 0,
            limit: 10,
        },
    )
    .await
    .expect("rows");
    assert_eq!(
        rows.iter().map(|r| &r.body).collect::<Vec<_>>(),
        bodies.iter().collect::<Vec<_>>()
    );
    assert_eq!(rows.last().map(|r| r.hash.clone()), Some(prev));
    let raw = store
        .backend()
        .audit()
        .select(&carebridge::store::audit::AuditSelect::ChainPage {
            chain: "gw",
            after: 0,
            limit: 10,
        })
        .await
        .expect("raw rows");
    let compact: Vec<bool> = raw.iter().map(|r| r.body.first() == Some(&1)).collect();
    assert_eq!(compact, vec![true, true, false, true]);
    assert!(raw[0].body.len() < 40, "{} bytes", raw[0].body.len());
    assert_eq!(raw[0].hash.len(), 32);

    let report = carebridge::audit::verify::stored(&store)
        .await
        .expect("verified");
    assert!(report.broken.is_none(), "{report:?}");
    assert_eq!(report.count(), 4);
    let filter = Filter {
        conditions: vec![(Key::Patient, vec!["ann".into()])],
        limit: 10,
        descending: true,
        ..Filter::default()
    };
    let found = stored::select(
        store.backend(),
        &carebridge::store::audit::AuditSelect::Search(&filter),
    )
    .await
    .expect("search");
    assert_eq!(found.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![4, 1]);
    let by_subtype = Filter {
        conditions: vec![
            (Key::Subtype, vec!["read".into()]),
            (Key::Organization, vec!["A81001".into()]),
        ],
        ..filter
    };
    let found = stored::select(
        store.backend(),
        &carebridge::store::audit::AuditSelect::Search(&by_subtype),
    )
    .await
    .expect("search");
    assert_eq!(
        found.iter().map(|r| r.seq).collect::<Vec<_>>(),
        vec![4, 2, 1]
    );
}

/// Writers on several chains storing the same new texts at the same moment, each in its own
/// order, all commit: new terms never make two transactions wait for each other.
pub async fn concurrent_writers_storing_the_same_new_terms_all_commit(db: Db) {
    let store = db.open().await;
    let mut tasks = Vec::new();
    for w in 0..6u64 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for round in 0..15u64 {
                let mut patients: Vec<String> = (0..8).map(|k| format!("p-{round}-{k}")).collect();
                patients.rotate_left(usize::try_from(w).unwrap_or(0));
                if w % 2 == 1 {
                    patients.reverse();
                }
                let mut r = record(1_000 + i64::try_from(round).unwrap_or(0), "x");
                r.patients = patients;
                let body = r.to_text();
                let keys = r.keys();
                let chain = format!("writer-{w}");
                store
                    .transaction(move |tx| {
                        stored::append(tx, &chain, r.recorded, &body, &keys).map(|_| ())
                    })
                    .await
                    .expect("committed");
            }
        }));
    }
    for t in tasks {
        t.await.expect("writer");
    }
    let report = carebridge::audit::verify::stored(&store)
        .await
        .expect("verified");
    assert!(report.broken.is_none(), "{report:?}");
    assert_eq!(report.count(), 6 * 15);
}
