//! The audit log tables on both backends: events copied from a journal with their search keys,
//! found again by the auditors' filters, in order, page by page.

use carebridge::store::audit_sql::{self, Filter, Key};
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
        .transaction(move |tx| copy.iter().map(|e| tx.insert_audit(e)).collect())
        .await
        .expect("copied");
    assert_eq!(fresh, vec![true; 4]);
    let again = events[0].clone();
    let doubled = store
        .transaction(move |tx| tx.insert_audit(&again))
        .await
        .expect("copied");
    assert!(!doubled, "a chain holds each sequence number once");

    let find = |filter: Filter| {
        let store = store.clone();
        async move {
            store
                .backend()
                .audit_select(&audit_sql::search(&filter))
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
    let head = store
        .backend()
        .audit_select(&audit_sql::chain_head("gw"))
        .await
        .expect("head");
    assert_eq!(head.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![4]);
}
