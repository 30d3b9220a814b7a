//! Search through the shared SQL: every parameter kind, modifiers, chains, sorting, count, includes.

use carebridge::fhir::ResourceType::{CarePlan, Patient};
use carebridge::store::Store;
use serde_json::json;

use crate::fixtures::{T0, create, delete, ids, query, sorted_ids, update};
use crate::harness::Db;

const NHS: &str = "https://fhir.nhs.uk/Id/nhs-number";

/// Four patients with identifiers, names, genders and birth dates of different precision, written
/// with `_lastUpdated` out of insertion order (p3 oldest, then p1, p4, p2).
async fn patients(store: &Store) {
    let p = [
        (
            "p1",
            T0 + 20,
            json!({
                "identifier": [{"system": NHS, "value": "9000000009"}],
                "name": [{"family": "Smith", "given": ["Alice"]}],
                "gender": "female", "birthDate": "1980-05-17", "active": true
            }),
        ),
        (
            "p2",
            T0 + 40,
            json!({
                "identifier": [{"system": "urn:oid:1.2.3", "value": "L-2"}],
                "name": [{"family": "Smithson", "given": ["Bob"]}],
                "gender": "male", "birthDate": "1975-12-01"
            }),
        ),
        (
            "p3",
            T0 + 10,
            json!({
                "identifier": [{"value": "nosys"}],
                "name": [{"family": "O'Brien-Smith", "given": ["Carol"]}],
                "gender": "female", "birthDate": "1980"
            }),
        ),
        (
            "p4",
            T0 + 30,
            json!({
                "name": [{"family": "50%_off", "given": ["Åse"]}],
                "gender": "unknown", "birthDate": "2001-01-01"
            }),
        ),
    ];
    for (id, at, body) in p {
        create(store, Patient, id, at, body).await;
    }
}

/// Care plans: cp1 and cp4 for p1, cp2 for p2, cp3 naming its subject only by identifier.
async fn care_plans(store: &Store) {
    let plans = [
        (
            "cp1",
            json!({"status": "active", "subject": {"reference": "Patient/p1"}}),
        ),
        (
            "cp2",
            json!({"status": "draft", "subject": {"reference": "Patient/p2"}}),
        ),
        (
            "cp3",
            json!({"status": "active", "subject": {"identifier": {"system": NHS, "value": "9111111111"}}}),
        ),
        (
            "cp4",
            json!({"status": "completed", "subject": {"reference": "Patient/p1"},
                   "basedOn": [{"reference": "CarePlan/cp1"}]}),
        ),
    ];
    for (i, (id, body)) in plans.into_iter().enumerate() {
        create(
            store,
            CarePlan,
            id,
            T0 + 100 + i64::try_from(i).expect("small"),
            body,
        )
        .await;
    }
}

pub async fn token_search(db: Db) {
    let store = db.open().await;
    patients(&store).await;
    let cases: &[(&str, &[&str])] = &[
        ("gender=female", &["p1", "p3"]),
        ("gender=female,male", &["p1", "p2", "p3"]),
        ("gender:not=female", &["p2", "p4"]),
        ("gender=female&family=smith", &["p1"]),
        ("identifier=9000000009", &["p1"]),
        (&format!("identifier={NHS}|9000000009"), &["p1"]),
        ("identifier=urn:oid:1.2.3|9000000009", &[]),
        ("identifier=urn:oid:1.2.3|", &["p2"]),
        ("identifier=|nosys", &["p3"]),
        ("identifier=|9000000009", &[]),
        ("active=true", &["p1"]),
        ("_id=p2,p4", &["p2", "p4"]),
        ("gender=FEMALE", &[]),
    ];
    for (qs, expected) in cases {
        assert_eq!(sorted_ids(&store, Patient, qs).await, *expected, "{qs}");
    }
}

pub async fn string_search(db: Db) {
    let store = db.open().await;
    patients(&store).await;
    let cases: &[(&str, &[&str])] = &[
        ("family=smith", &["p1", "p2"]),
        ("family=SMITH", &["p1", "p2"]),
        ("family=smiths", &["p2"]),
        ("family:exact=Smith", &["p1"]),
        ("family:exact=smith", &[]),
        ("family:contains=smith", &["p1", "p2", "p3"]),
        ("family:contains=BRIEN-", &["p3"]),
        ("family:contains=%25", &["p4"]),
        ("family:contains=_", &["p4"]),
        ("family:contains=0%25_", &["p4"]),
        ("family=5", &["p4"]),
        // Accents and case fold away: `å` is `a`, so Alice matches too.
        ("given=å", &["p1", "p4"]),
        ("given=ÅSE", &["p4"]),
        ("given=ase", &["p4"]),
        ("name=alice", &["p1"]),
        ("name=o'brien", &["p3"]),
        ("family=zzz", &[]),
    ];
    for (qs, expected) in cases {
        assert_eq!(sorted_ids(&store, Patient, qs).await, *expected, "{qs}");
    }
}

pub async fn date_search(db: Db) {
    let store = db.open().await;
    patients(&store).await;
    // p1 1980-05-17, p2 1975-12-01, p3 1980 (the whole year), p4 2001-01-01.
    let cases: &[(&str, &[&str])] = &[
        ("birthdate=1980-05-17", &["p1"]),
        ("birthdate=1980-05", &["p1"]),
        ("birthdate=1980", &["p1", "p3"]),
        ("birthdate=eq1980", &["p1", "p3"]),
        ("birthdate=ne1980", &["p2", "p4"]),
        ("birthdate=ge1980-06", &["p3", "p4"]),
        ("birthdate=gt1980", &["p4"]),
        ("birthdate=lt1980-01-01", &["p2"]),
        ("birthdate=le1980", &["p1", "p2", "p3"]),
        ("birthdate=sa1980-01", &["p1", "p4"]),
        ("birthdate=eb1976", &["p2"]),
        ("birthdate=ap1980-05-17", &["p1", "p3"]),
        ("birthdate=ge1980&birthdate=lt1981", &["p1", "p3"]),
        ("birthdate=1999", &[]),
    ];
    for (qs, expected) in cases {
        assert_eq!(sorted_ids(&store, Patient, qs).await, *expected, "{qs}");
    }
}

pub async fn last_updated_search_and_sort(db: Db) {
    let store = db.open().await;
    patients(&store).await;
    assert_eq!(
        ids(&store, Patient, "_sort=_lastUpdated").await,
        ["p3", "p1", "p4", "p2"]
    );
    assert_eq!(
        ids(&store, Patient, "_sort=-_lastUpdated").await,
        ["p2", "p4", "p1", "p3"]
    );
    assert_eq!(
        ids(&store, Patient, "gender=female&_sort=-_lastUpdated").await,
        ["p1", "p3"]
    );
    // No _sort: insertion order.
    assert_eq!(ids(&store, Patient, "").await, ["p1", "p2", "p3", "p4"]);
    let limited = store
        .backend()
        .search(&query(Patient, "_sort=-_lastUpdated"), 2)
        .await
        .expect("search");
    assert_eq!(limited.len(), 2);

    let at = |ms: i64| carebridge::fhir::instant::format_instant(ms);
    let qs = format!("_lastUpdated=ge{}&_sort=_lastUpdated", at(T0 + 30));
    assert_eq!(ids(&store, Patient, &qs).await, ["p4", "p2"]);
    let qs = format!("_lastUpdated=lt{}", at(T0 + 20));
    assert_eq!(ids(&store, Patient, &qs).await, ["p3"]);
    let qs = format!("_lastUpdated={}", at(T0 + 40));
    assert_eq!(ids(&store, Patient, &qs).await, ["p2"]);
}

pub async fn sort_by_string_puts_missing_values_last(db: Db) {
    let store = db.open().await;
    patients(&store).await;
    create(&store, Patient, "p5", T0 + 50, json!({"gender": "male"})).await;
    assert_eq!(
        ids(&store, Patient, "_sort=family").await,
        ["p4", "p3", "p1", "p2", "p5"]
    );
    assert_eq!(
        ids(&store, Patient, "_sort=-family").await,
        ["p2", "p1", "p3", "p4", "p5"]
    );
    assert_eq!(
        ids(&store, Patient, "_sort=-birthdate").await,
        ["p4", "p1", "p3", "p2", "p5"]
    );
    assert_eq!(
        ids(&store, Patient, "_sort=gender,-_id").await,
        ["p3", "p1", "p5", "p2", "p4"]
    );
}

pub async fn reference_search(db: Db) {
    let store = db.open().await;
    patients(&store).await;
    care_plans(&store).await;
    let cases: &[(&str, &[&str])] = &[
        ("patient=Patient/p1", &["cp1", "cp4"]),
        ("patient=p1", &["cp1", "cp4"]),
        ("subject=Patient/p2", &["cp2"]),
        ("subject:Patient=p2", &["cp2"]),
        ("based-on=CarePlan/cp1", &["cp4"]),
        ("patient=Patient/p3", &[]),
        ("patient=p1&status=completed", &["cp4"]),
    ];
    for (qs, expected) in cases {
        assert_eq!(sorted_ids(&store, CarePlan, qs).await, *expected, "{qs}");
    }
}

pub async fn chained_search(db: Db) {
    let store = db.open().await;
    patients(&store).await;
    care_plans(&store).await;
    let cases: &[(&str, &[&str])] = &[
        (
            &format!("patient.identifier={NHS}|9000000009"),
            &["cp1", "cp4"],
        ),
        ("patient.family=smithson", &["cp2"]),
        ("patient.family=smith", &["cp1", "cp2", "cp4"]),
        ("patient.gender=female", &["cp1", "cp4"]),
        ("subject:Patient.birthdate=lt1980", &["cp2"]),
        ("based-on.status=active", &["cp4"]),
        ("patient.gender=unknown", &[]),
    ];
    for (qs, expected) in cases {
        assert_eq!(sorted_ids(&store, CarePlan, qs).await, *expected, "{qs}");
    }
    // A chain only goes through live resources.
    delete(&store, Patient, "p1", T0 + 500).await;
    assert!(
        ids(&store, CarePlan, "patient.gender=female")
            .await
            .is_empty()
    );
}

pub async fn identifier_modifier_search(db: Db) {
    let store = db.open().await;
    patients(&store).await;
    care_plans(&store).await;
    let cases: &[(&str, &[&str])] = &[
        // Reference.identifier itself.
        (&format!("patient:identifier={NHS}|9111111111"), &["cp3"]),
        ("patient:identifier=9111111111", &["cp3"]),
        // The referenced resource's identifier.
        (
            &format!("patient:identifier={NHS}|9000000009"),
            &["cp1", "cp4"],
        ),
        ("patient:identifier=urn:oid:1.2.3|L-2", &["cp2"]),
        ("patient:identifier=urn:oid:9|L-2", &[]),
    ];
    for (qs, expected) in cases {
        assert_eq!(sorted_ids(&store, CarePlan, qs).await, *expected, "{qs}");
    }
}

pub async fn count_matches(db: Db) {
    let store = db.open().await;
    patients(&store).await;
    let count = |qs: &'static str| {
        let store = store.clone();
        async move {
            store
                .backend()
                .count(&query(Patient, qs))
                .await
                .expect("count")
        }
    };
    assert_eq!(count("").await, 4);
    assert_eq!(count("gender=female").await, 2);
    assert_eq!(count("family=smith&_sort=_id").await, 2);
    assert_eq!(count("family=nobody").await, 0);
    delete(&store, Patient, "p1", T0 + 100).await;
    assert_eq!(count("gender=female").await, 1);
    assert_eq!(count("").await, 3);
}

pub async fn include_and_revinclude(db: Db) {
    let store = db.open().await;
    patients(&store).await;
    care_plans(&store).await;
    let backend = store.backend();

    let q = query(
        CarePlan,
        "status=active,completed&_include=CarePlan:patient",
    );
    let rows = backend.search(&q, 100).await.expect("search");
    assert_eq!(rows.len(), 3);
    let included = backend
        .included(&rows, &q.includes[0])
        .await
        .expect("include");
    let ids: Vec<_> = included.iter().map(|(_, r)| r.id.as_str()).collect();
    assert_eq!(ids, ["p1"], "one patient, once");
    let q = query(CarePlan, "_include=CarePlan:patient:Practitioner");
    let rows = backend.search(&q, 100).await.expect("search");
    assert!(
        backend
            .included(&rows, &q.includes[0])
            .await
            .expect("include")
            .is_empty()
    );

    let q = query(Patient, "gender=female&_revinclude=CarePlan:patient");
    let targets = vec![(Patient, "p1".to_owned()), (Patient, "p3".to_owned())];
    let rev = backend
        .revincluded(&targets, &q.revincludes[0])
        .await
        .expect("revinclude");
    let mut ids: Vec<_> = rev.iter().map(|(_, r)| r.id.clone()).collect();
    ids.sort();
    assert_eq!(ids, ["cp1", "cp4"]);

    // Deleted resources are neither included nor revincluded.
    delete(&store, CarePlan, "cp4", T0 + 1000).await;
    delete(&store, Patient, "p1", T0 + 1001).await;
    let rev = backend
        .revincluded(&targets, &q.revincludes[0])
        .await
        .expect("revinclude");
    let ids: Vec<_> = rev.iter().map(|(_, r)| r.id.as_str()).collect();
    assert_eq!(ids, ["cp1"]);
    let q = query(CarePlan, "status=active&_include=CarePlan:patient");
    let rows = backend.search(&q, 100).await.expect("search");
    assert!(
        backend
            .included(&rows, &q.includes[0])
            .await
            .expect("include")
            .is_empty()
    );
}

pub async fn deleted_resources_leave_search(db: Db) {
    let store = db.open().await;
    patients(&store).await;
    update(&store, Patient, "p2", T0 + 60, json!({"gender": "female"})).await;
    assert_eq!(
        sorted_ids(&store, Patient, "gender=female").await,
        ["p1", "p2", "p3"]
    );
    // The update replaced p2's index rows: the old name is gone.
    assert!(ids(&store, Patient, "family=smithson").await.is_empty());
    delete(&store, Patient, "p3", T0 + 70).await;
    assert_eq!(
        sorted_ids(&store, Patient, "gender=female").await,
        ["p1", "p2"]
    );
    assert_eq!(ids(&store, Patient, "_id=p3").await, Vec::<String>::new());
}

/// The care-relationship predicate access control adds to searches: every kind of relationship,
/// retracted ones excluded, through the patient parameter or a Patient's own id.
pub async fn related_predicate_finds_related_patients_only(db: Db) {
    use carebridge::fhir::ResourceType::{self, Organization, ServiceRequest};
    use carebridge::search::{CareLink, Filter, Predicate, SearchQuery};
    let store = db.open().await;
    for o in ["gp", "team", "housing", "old"] {
        create(&store, Organization, o, T0, json!({"name": o})).await;
    }
    let org = |o: &str| json!({"reference": format!("Organization/{o}")});
    let pat = |p: &str| json!({"reference": format!("Patient/{p}")});
    let resources = [
        (Patient, "a", json!({"generalPractitioner": [org("gp")]})),
        (Patient, "b", json!({})),
        (Patient, "c", json!({})),
        (
            ResourceType::CareTeam,
            "t",
            json!({"status": "active", "subject": pat("b"), "participant": [{"member": org("team")}]}),
        ),
        (
            ResourceType::CareTeam,
            "t-old",
            json!({"status": "inactive", "subject": pat("c"), "participant": [{"member": org("old")}]}),
        ),
        (
            CarePlan,
            "cp-a",
            json!({"status": "active", "intent": "plan", "subject": pat("a")}),
        ),
        (
            CarePlan,
            "cp-b",
            json!({"status": "active", "intent": "plan", "subject": pat("b"),
                "activity": [{"detail": {"status": "scheduled", "performer": [org("housing")]}}]}),
        ),
        (
            CarePlan,
            "cp-c",
            json!({"status": "active", "intent": "plan", "subject": pat("c")}),
        ),
        (
            ServiceRequest,
            "sr",
            json!({"status": "entered-in-error", "intent": "order",
                "subject": pat("c"), "performer": [org("housing")]}),
        ),
    ];
    for (rtype, id, body) in resources {
        create(&store, rtype, id, T0, body).await;
    }
    let find = |rtype, param: &'static str, orgs: &[&str], links: &[CareLink]| {
        let mut q = SearchQuery::all(rtype, 100);
        q.filters.push(Filter(vec![Predicate::Related {
            patient_param: param,
            organizations: orgs.iter().map(|o| (*o).to_owned()).collect(),
            links: links.to_vec(),
        }]));
        let store = store.clone();
        async move {
            let rows = store.backend().search(&q, 100).await.expect("search");
            let mut ids: Vec<String> = store
                .backend()
                .fetch(&rows)
                .await
                .expect("fetch")
                .into_iter()
                .map(|(_, r)| r.id)
                .collect();
            ids.sort();
            ids
        }
    };
    use CareLink::*;
    assert_eq!(
        find(CarePlan, "patient", &["gp"], &[RegisteredPractice]).await,
        vec!["cp-a"]
    );
    assert_eq!(
        find(Patient, "_id", &["gp"], &[RegisteredPractice]).await,
        vec!["a"]
    );
    assert_eq!(
        find(CarePlan, "patient", &["team"], &[CareLink::CareTeam]).await,
        vec!["cp-b"]
    );
    assert_eq!(
        find(Patient, "_id", &["old"], &[CareLink::CareTeam]).await,
        Vec::<String>::new(),
        "inactive team"
    );
    assert_eq!(
        find(
            CarePlan,
            "patient",
            &["housing"],
            &[PlanActivityPerformer, ReferralPerformer]
        )
        .await,
        vec!["cp-b"],
        "the entered-in-error referral to c counts for nothing"
    );
    assert_eq!(
        find(
            CarePlan,
            "patient",
            &["gp", "team"],
            &[RegisteredPractice, CareLink::CareTeam]
        )
        .await,
        vec!["cp-a", "cp-b"]
    );
    assert_eq!(
        find(CarePlan, "patient", &[], &[RegisteredPractice]).await,
        Vec::<String>::new()
    );
}
