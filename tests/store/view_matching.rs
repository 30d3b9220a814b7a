//! The in-memory matcher (`search::matcher`) against the store it mirrors: on a varied corpus, for
//! every query and every live resource of its type, `holds` (its lookups answered by the store)
//! equals whether the store's search finds the resource, and sorting in memory gives the store's
//! order. The gateway relies on this to judge redacted forms exactly as the store judges stored
//! ones, so any difference between the two is a bug in one of them.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use carebridge::fhir::ResourceType::{
    self, CarePlan, Condition, Organization, Patient, Practitioner, ServiceRequest,
};
use carebridge::fhir::instant::format_instant;
use carebridge::search::matcher::{self, Facts, Lookup};
use carebridge::search::{IndexEntry, SearchQuery};
use carebridge::store::{Store, WriteMethod};
use serde_json::{Value, json};

use crate::fixtures::{self, T0, put, query};
use crate::harness::Db;

const NHS: &str = "https://fhir.nhs.uk/Id/nhs-number";
const ODS: &str = "https://fhir.nhs.uk/Id/ods-organization-code";
const SCT: &str = "http://snomed.info/sct";

/// A live resource as the store holds it: what the matcher is given about it.
pub struct Live {
    pub rtype: ResourceType,
    pub id: String,
    pub version: u64,
    pub last_updated: i64,
    pub entries: Vec<IndexEntry>,
}

impl Live {
    pub fn facts(&self) -> Facts<'_> {
        Facts {
            rtype: self.rtype,
            id: &self.id,
            last_updated: self.last_updated,
            entries: &self.entries,
        }
    }
}

/// The live resources written so far, in row (first creation) order, and the store's answers to
/// the lookups asked so far.
#[derive(Default)]
pub struct Corpus {
    pub live: Vec<Live>,
    pub answers: HashMap<Lookup, bool>,
    /// (resource, query) pairs compared, and how many of them matched.
    pub pairs: usize,
    pub matched: usize,
}

impl Corpus {
    /// Writes `body` as the next version of `rtype/id` at `at`.
    pub async fn write(
        &mut self,
        store: &Store,
        rtype: ResourceType,
        id: &str,
        at: i64,
        body: Value,
    ) {
        let existing = self
            .live
            .iter()
            .position(|l| l.rtype == rtype && l.id == id);
        let (number, method) = match existing.map(|i| self.live[i].version) {
            Some(v) => (v + 1, WriteMethod::Update),
            None => (1, WriteMethod::Create),
        };
        let w = fixtures::version(rtype, id, number, at, body, method);
        let live = Live {
            rtype,
            id: id.to_owned(),
            version: number,
            last_updated: at,
            entries: w.index.clone(),
        };
        put(store, w).await;
        match existing {
            Some(i) => self.live[i] = live,
            None => self.live.push(live),
        }
        self.answers.clear();
    }

    /// Deletes `rtype/id`.
    pub async fn delete(&mut self, store: &Store, rtype: ResourceType, id: &str, at: i64) {
        fixtures::delete(store, rtype, id, at).await;
        self.live.retain(|l| !(l.rtype == rtype && l.id == id));
        self.answers.clear();
    }

    /// Asserts that the matcher decides `qs` on every live resource of `rtype` as the store does
    /// (also through a search restricted by `_id` when `per_id`); returns the ids it matched.
    pub async fn agree(
        &mut self,
        store: &Store,
        rtype: ResourceType,
        qs: &str,
        per_id: bool,
    ) -> Vec<String> {
        let q = query(rtype, qs);
        let by_store: HashSet<String> = found(store, &q).await.into_iter().collect();
        let mut matched = Vec::new();
        for live in self.live.iter().filter(|l| l.rtype == rtype) {
            let facts = live.facts();
            for l in matcher::lookups(&q, &facts) {
                if let Entry::Vacant(slot) = self.answers.entry(l) {
                    let yes = !found(store, &slot.key().query()).await.is_empty();
                    slot.insert(yes);
                }
            }
            let answers = &self.answers;
            let in_memory = matcher::holds(&q, &facts, &|l| match answers.get(l) {
                Some(yes) => *yes,
                None => panic!("{rtype}?{qs}: holds asked {l:?}, which lookups did not list"),
            });
            let id = &live.id;
            assert_eq!(
                in_memory,
                by_store.contains(id),
                "{rtype}?{qs} on {id}: matcher {in_memory}"
            );
            if per_id {
                let restricted = format!("{qs}&_id={id}");
                let one = found(store, &query(rtype, &restricted)).await;
                assert_eq!(in_memory, one == [id.clone()], "{rtype}?{restricted}");
            }
            self.pairs += 1;
            if in_memory {
                self.matched += 1;
                matched.push(id.clone());
            }
        }
        matched
    }

    /// Asserts that the batched form of every lookup asked so far gives the same answers.
    pub async fn batches_agree(&self, store: &Store) {
        let asked: Vec<Lookup> = self.answers.keys().cloned().collect();
        let batches = matcher::batches(&asked);
        for b in &batches {
            let ids = found(store, &b.query).await;
            for l in &b.lookups {
                assert_eq!(
                    ids.contains(&l.id),
                    self.answers[l],
                    "{l:?} in {:?}",
                    b.query
                );
            }
        }
        let batched: usize = batches.iter().map(|b| b.lookups.len()).sum();
        assert_eq!(batched, asked.len());
    }

    /// Asserts that sorting the live resources of `rtype` in memory by `qs`'s `_sort` gives the
    /// store's order (a stable sort of row order, as the store breaks ties by row id).
    pub async fn sorts_agree(&self, store: &Store, rtype: ResourceType, qs: &str) {
        let q = query(rtype, qs);
        let mut in_memory: Vec<(&Live, _)> = self
            .live
            .iter()
            .filter(|l| l.rtype == rtype)
            .map(|l| (l, matcher::sort_values(&q.sort, &l.facts())))
            .collect();
        in_memory.sort_by(|(_, a), (_, b)| matcher::compare(&q.sort, a, b));
        let in_memory: Vec<&str> = in_memory.iter().map(|(l, _)| l.id.as_str()).collect();
        assert_eq!(found(store, &q).await, in_memory, "{rtype}?{qs}");
    }
}

/// The ids `q` finds, in the store's order.
pub async fn found(store: &Store, q: &SearchQuery) -> Vec<String> {
    let backend = store.backend();
    let rows = backend.search(q, 10_000).await.expect("search runs");
    let found = backend.fetch(&rows).await.expect("fetch runs");
    found.into_iter().map(|(_, r)| r.id).collect()
}

fn org(id: &str) -> Value {
    json!({"reference": format!("Organization/{id}")})
}

fn pat(id: &str) -> Value {
    json!({"reference": format!("Patient/{id}")})
}

fn ident(system: &str, value: &str) -> Value {
    json!({"identifier": {"system": system, "value": value}})
}

/// Organisations, a practitioner, patients, care plans (with a redacted twin), referrals and
/// conditions; `_lastUpdated` out of creation order; one patient updated, one patient and one
/// organisation deleted (still referenced).
async fn corpus(store: &Store) -> Corpus {
    let mut c = Corpus::default();
    let at = |n: i64| T0 + n * 1_000;
    let organisations = [
        (
            "gp",
            json!({"identifier": [{"system": ODS, "value": "G1"}], "name": "Riverside Surgery",
                "type": [{"coding": [{"system": "t", "code": "prov"}]}], "active": true}),
        ),
        (
            "cns",
            json!({"identifier": [{"system": ODS, "value": "CNS1"}], "name": "Macmillan CNS Team",
                "alias": ["CNS"], "partOf": org("trust")}),
        ),
        (
            "housing",
            json!({"identifier": [{"system": ODS, "value": "H9"}, {"system": "urn:la", "value": "H9"}],
                "name": "Housing Association", "address": [{"postalCode": "LS1 4AP"}]}),
        ),
        (
            "trust",
            json!({"identifier": [{"value": "T"}], "name": "St. Mary's Trust"}),
        ),
        (
            "hosp",
            json!({"name": "St Mary's Hospital", "partOf": org("trust")}),
        ),
        (
            "old",
            json!({"identifier": [{"system": ODS, "value": "OLD"}], "name": "Old"}),
        ),
    ];
    for (i, (id, body)) in organisations.into_iter().enumerate() {
        c.write(
            store,
            Organization,
            id,
            at(50 - i64::try_from(i).expect("small")),
            body,
        )
        .await;
    }
    c.write(
        store,
        Practitioner,
        "d1",
        at(60),
        json!({"identifier": [{"system": "https://fhir.hl7.org.uk/Id/gmc-number", "value": "C1"}],
            "name": [{"family": "Jones", "given": ["Dai"]}]}),
    )
    .await;
    let patients = [
        (
            "p1",
            at(20),
            json!({"identifier": [{"system": NHS, "value": "9000000009"}],
                "name": [{"family": "Smith", "given": ["Alice"]}], "gender": "female",
                "birthDate": "1980-05-17", "active": true, "generalPractitioner": [org("gp")],
                "managingOrganization": org("hosp"),
                "telecom": [{"system": "phone", "value": "01234"}],
                "address": [{"postalCode": "LS2 9JT"}]}),
        ),
        (
            "p2",
            at(40),
            json!({"identifier": [{"system": NHS, "value": "9000000010"}, {"system": "urn:oid:1.2.3", "value": "L-2"}],
                "name": [{"family": "Smithson", "given": ["Bob"]}], "gender": "male",
                "birthDate": "1975-12-01", "generalPractitioner": [org("gp")]}),
        ),
        (
            "p3",
            at(10),
            json!({"identifier": [{"value": "nosys"}],
                "name": [{"family": "O'Brien-Smith", "given": ["Carol", "Siân"]}],
                "gender": "female", "birthDate": "1980",
                "generalPractitioner": [ident(ODS, "G1")]}),
        ),
        (
            "p4",
            at(30),
            json!({"name": [{"family": "50%_off", "given": ["Åse"]}], "gender": "unknown",
                "birthDate": "2001-01-01", "active": false,
                "generalPractitioner": [{"reference": "http://elsewhere/fhir/Organization/gp"}]}),
        ),
        // The store's prefix search is a range below `lo + U+10FFFF`: `family=zed` misses this.
        (
            "Z9",
            at(35),
            json!({"gender": "male", "name": [{"family": "Zed\u{10FFFF}x"}]}),
        ),
        (
            "a.b",
            at(5),
            json!({"name": [{"text": "Ánne Smith"}], "birthDate": "1980-05-17T23:30:00+01:00",
                "generalPractitioner": [org("cns"), org("nowhere")]}),
        ),
        (
            "p6",
            at(1),
            json!({"name": [{"family": "Gone"}], "gender": "female"}),
        ),
    ];
    for (id, when, body) in patients {
        c.write(store, Patient, id, when, body).await;
    }
    let walk = json!({"detail": {"code": {"coding": [{"system": "s", "code": "walk"}]},
        "scheduledPeriod": {"start": "2026-02-01", "end": "2026-02-28"},
        "performer": [org("cns"), ident(ODS, "CNS1")]}});
    let housing = json!({"detail": {"code": {"coding": [{"system": "s", "code": "housing"}], "text": "Housing"},
        "scheduledString": "2026-03-15", "performer": [org("housing")]}});
    let plans = [
        (
            "cp1",
            json!({"identifier": [{"system": "urn:plans", "value": "1"}], "status": "active",
                "intent": "plan", "subject": pat("p1"),
                "category": [{"coding": [{"system": "s", "code": "assess"}]}],
                "period": {"start": "2026-01-01", "end": "2026-06-30"},
                "activity": [walk.clone(), housing.clone()],
                "supportingInfo": [{"reference": "Condition/c1"}], "addresses": [{"reference": "Condition/c1"}]}),
        ),
        // cp1 as housing would see it if the CNS activity were withheld.
        (
            "cp1r",
            json!({"identifier": [{"system": "urn:plans", "value": "1"}], "status": "active",
                "intent": "plan", "subject": pat("p1"),
                "category": [{"coding": [{"system": "s", "code": "assess"}]}],
                "period": {"start": "2026-01-01", "end": "2026-06-30"}, "activity": [housing]}),
        ),
        (
            "cp2",
            json!({"status": "draft", "intent": "proposal", "subject": pat("p2"),
                "activity": [{"detail": {"code": {"coding": [{"code": "call"}]},
                    "performer": [ident(ODS, "H9"), {"reference": "Practitioner/d1"}]}}],
                "supportingInfo": [{"reference": "QuestionnaireResponse/hna1"}]}),
        ),
        (
            "cp3",
            json!({"status": "active", "intent": "plan", "subject": ident(NHS, "9111111111"),
                "category": [{"coding": [{"system": "s", "code": "assess"}, {"system": "t", "code": "onc"}]}]}),
        ),
        (
            "cp4",
            json!({"status": "completed", "intent": "plan", "subject": pat("p1"),
                "basedOn": [{"reference": "CarePlan/cp1"}], "period": {"start": "2025-12"},
                "instantiatesCanonical": ["https://example.org/pd|1"]}),
        ),
        (
            "cp5",
            json!({"status": "active", "intent": "plan", "subject": org("hosp"),
                "activity": [{"detail": {"performer": [pat("p2")],
                    "scheduledPeriod": {"end": "2026-01-15"}}}]}),
        ),
        (
            "cp6",
            json!({"status": "revoked", "intent": "plan", "subject": pat("p6"),
                "activity": [{"detail": {"performer": [org("old")]}}]}),
        ),
        (
            "cp7",
            json!({"intent": "plan", "subject": pat("p3"), "careTeam": [{"reference": "CareTeam/t1"}]}),
        ),
        // References whose ids are organisations' but whose types are not.
        (
            "cp8",
            json!({"status": "active", "intent": "plan", "subject": pat("p2"),
                "activity": [{"detail": {"performer": [{"reference": "Practitioner/gp"}]}}]}),
        ),
        (
            "cp9",
            json!({"status": "active", "intent": "plan", "subject": org("trust")}),
        ),
    ];
    for (i, (id, body)) in plans.into_iter().enumerate() {
        let n = i64::try_from(i).expect("small");
        c.write(store, CarePlan, id, at(100 + (n * 7) % 5), body)
            .await;
    }
    let referrals = [
        (
            "sr1",
            json!({"status": "active", "intent": "order", "priority": "routine", "subject": pat("p1"),
                "code": {"coding": [{"system": SCT, "code": "ref-cns"}]}, "requester": org("gp"),
                "performer": [org("cns")], "authoredOn": "2026-01-10T09:30:00Z",
                "occurrencePeriod": {"start": "2026-01-12", "end": "2026-01-20"}}),
        ),
        (
            "sr2",
            json!({"status": "entered-in-error", "intent": "order", "subject": pat("p2"),
                "performer": [org("housing"), ident(ODS, "CNS1")],
                "requester": {"reference": "Practitioner/d1"},
                "occurrenceDateTime": "2026-02-01T10:00:00+01:00", "authoredOn": "2026-01"}),
        ),
        (
            "sr3",
            json!({"status": "completed", "intent": "plan", "subject": pat("p4"),
                "code": {"coding": [{"code": "ref-housing"}]}, "category": [{"text": "no codes"}]}),
        ),
    ];
    for (i, (id, body)) in referrals.into_iter().enumerate() {
        let n = i64::try_from(i).expect("small");
        c.write(store, ServiceRequest, id, at(200 - n), body).await;
    }
    let conditions = [
        (
            "c1",
            json!({"clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
                "code": {"coding": [{"system": SCT, "code": "363346000"}]}, "subject": pat("p1"),
                "onsetDateTime": "2025-11", "recordedDate": "2025-11-20T14:00:00Z",
                "asserter": {"reference": "Practitioner/d1"}}),
        ),
        (
            "c2",
            json!({"category": [{"coding": [{"code": "problem-list-item"}]}],
                "code": {"coding": [{"system": SCT, "code": "254637007"}]}, "subject": pat("p2"),
                "onsetPeriod": {"start": "2024-03-01", "end": "2025-01-01"}}),
        ),
        (
            "c3",
            json!({"code": {"text": "free text only"}, "subject": ident(NHS, "9000000009")}),
        ),
    ];
    for (i, (id, body)) in conditions.into_iter().enumerate() {
        let n = i64::try_from(i).expect("small");
        c.write(store, Condition, id, at(300 + n), body).await;
    }
    // p2 changes name and gains a second GP; p6 and Organization/old go (still referenced by cp6).
    c.write(
        store,
        Patient,
        "p2",
        at(45),
        json!({"identifier": [{"system": NHS, "value": "9000000010"}, {"system": "urn:oid:1.2.3", "value": "L-2"}],
            "name": [{"family": "Smithson-Ng", "given": ["Robert"]}], "gender": "male",
            "birthDate": "1975-12-01", "generalPractitioner": [org("gp"), org("housing")]}),
    )
    .await;
    c.delete(store, Patient, "p6", at(400)).await;
    c.delete(store, Organization, "old", at(401)).await;
    c
}

/// Hand-written queries per type: every parameter kind, prefix and modifier, chains, the
/// identifier modifier, alternatives and several filters.
fn queries() -> Vec<(ResourceType, String)> {
    let lu =
        |prefix: &str, n: i64| format!("_lastUpdated={prefix}{}", format_instant(T0 + n * 1_000));
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let mut q: Vec<(ResourceType, String)> = Vec::new();
    let patient = [
        "gender=female".to_owned(),
        "gender=female,male".into(),
        "gender:not=female".into(),
        "gender=|female".into(),
        "gender=x|female".into(),
        "identifier=9000000009".into(),
        format!("identifier={NHS}|9000000009"),
        format!("identifier={NHS}|"),
        format!("identifier:not={NHS}|"),
        "identifier=|nosys".into(),
        "identifier=|9000000009".into(),
        "identifier=urn:oid:1.2.3|L-2".into(),
        "active=true".into(),
        "active:not=true".into(),
        "telecom=phone|01234".into(),
        "_tag:not=vip".into(),
        "family=smith".into(),
        "family=SMITH".into(),
        "family=smithson-".into(),
        "family:exact=Smith".into(),
        "family:exact=smith".into(),
        "family:contains=mit".into(),
        "family:contains=%25".into(),
        "family:contains=_".into(),
        "family:contains=0%25_".into(),
        "family=zed".into(),
        "family:contains=zed".into(),
        "given=sian".into(),
        format!("given={}", enc("Å")),
        "given=rob,ali".into(),
        "name=o'".into(),
        "name:contains=BRIEN".into(),
        "name=anne".into(),
        "name:exact=Ánne Smith".into(),
        "address-postalcode=ls2".into(),
        "birthdate=1980".into(),
        "birthdate=1980-05-17".into(),
        "birthdate=ne1980".into(),
        "birthdate=ge1980-06".into(),
        "birthdate=gt1980".into(),
        "birthdate=lt1980-01-01".into(),
        "birthdate=le1980".into(),
        "birthdate=sa1980-01".into(),
        "birthdate=eb1976".into(),
        "birthdate=ap1980-05-17".into(),
        format!("birthdate={}", enc("1980-05-17T22:30:00Z")),
        // Each prefix at p1's boundaries ([1980-05-17, 1980-05-18)).
        "birthdate=eq1980-05-17".into(),
        "birthdate=gt1980-05-17".into(),
        "birthdate=lt1980-05-17".into(),
        "birthdate=ge1980-05-18".into(),
        "birthdate=le1980-05-16".into(),
        "birthdate=sa1980-05-16".into(),
        "birthdate=eb1980-05-18".into(),
        "birthdate=ap1980-05-18".into(),
        "birthdate=ap1980-05-16".into(),
        "birthdate=ne1980-05-17".into(),
        "birthdate=ge1980&birthdate=lt1981".into(),
        "gender=female&birthdate=1980".into(),
        "general-practitioner=Organization/gp".into(),
        "general-practitioner=gp".into(),
        "general-practitioner:Organization=gp".into(),
        "general-practitioner=Organization/nowhere".into(),
        "general-practitioner=Organization/gp,Organization/cns".into(),
        format!("general-practitioner:identifier={ODS}|G1"),
        "general-practitioner:identifier=G1".into(),
        "general-practitioner:identifier=CNS1".into(),
        "general-practitioner:Organization.name=riverside".into(),
        format!("general-practitioner:Organization.identifier={ODS}|H9"),
        "general-practitioner:Organization.partof=Organization/trust".into(),
        "organization=Organization/hosp".into(),
        "organization.name=st".into(),
        "organization.partof.name=st. mary".into(),
        "organization:identifier=T".into(),
        "organization.partof:identifier=T".into(),
        "_id=p1,p3,Z9".into(),
        lu("ge", 30),
        lu("lt", 20),
        lu("", 45),
        lu("ne", 45),
        "_profile=https://example.org/none".into(),
    ];
    q.extend(patient.into_iter().map(|s| (Patient, s)));
    let plan = [
        "status=active".to_owned(),
        "status:not=active".into(),
        "status=active,draft".into(),
        "status=active&intent=plan".into(),
        "category=s|assess".into(),
        "category=onc".into(),
        "category=s|".into(),
        "identifier=urn:plans|1".into(),
        "date=2026".into(),
        "date=ge2026-07".into(),
        "date=ap2026-03".into(),
        "date=lt2026".into(),
        "date=sa2025".into(),
        "date=eb2027".into(),
        "activity-code=s|walk".into(),
        "activity-code=housing".into(),
        "activity-code=|call".into(),
        "activity-code:not=housing".into(),
        "activity-date=2026-03-15".into(),
        "activity-date=ap2026-02".into(),
        "activity-date=le2026-01-10".into(),
        format!("instantiates-canonical={}", enc("https://example.org/pd|1")),
        "instantiates-canonical=https://example.org/pd".into(),
        "patient=Patient/p1".into(),
        "patient=p1".into(),
        "patient=Organization/hosp".into(),
        "patient=p6".into(),
        "subject=Organization/hosp".into(),
        "subject:Organization=hosp".into(),
        "subject=hosp".into(),
        "performer=Organization/cns".into(),
        "performer=Organization/housing".into(),
        "performer=cns".into(),
        "performer:Organization=housing".into(),
        "performer:Practitioner=d1".into(),
        "performer=Patient/p2".into(),
        "performer=Organization/cns,Organization/housing".into(),
        format!("performer:identifier={ODS}|CNS1"),
        format!("performer:identifier={ODS}|H9"),
        "performer:identifier=urn:la|H9".into(),
        "performer:identifier=CNS1".into(),
        "performer:identifier=|CNS1".into(),
        "performer:identifier=C1".into(),
        "performer:identifier=G1".into(),
        "performer:Organization.name=riverside".into(),
        "subject:identifier=T".into(),
        "patient:identifier=T".into(),
        format!("performer:identifier={ODS}|OLD"),
        format!("performer:Organization.identifier={ODS}|CNS1"),
        format!("performer:Organization.identifier={ODS}|OLD"),
        "performer:Organization.name=housing".into(),
        "performer:Organization.name:exact=Housing Association".into(),
        "performer:Practitioner.family=jones".into(),
        "performer:Patient.gender=male".into(),
        "subject:Patient.name=smith".into(),
        "patient.name=smith".into(),
        "patient.gender=female".into(),
        "patient.birthdate=lt1980".into(),
        "patient.general-practitioner:Organization.name=riverside".into(),
        "patient._id=p1".into(),
        "subject:Organization.name=st".into(),
        format!("patient:identifier={NHS}|9000000009"),
        format!("patient:identifier={NHS}|9111111111"),
        "subject:identifier=9000000009".into(),
        "subject:identifier=9111111111".into(),
        "patient:identifier=L-2".into(),
        "supporting-info=Condition/c1".into(),
        "supporting-info=QuestionnaireResponse/hna1".into(),
        "supporting-info:Condition.code=363346000".into(),
        "condition=c1".into(),
        format!("condition.code={SCT}|363346000"),
        "based-on=cp1".into(),
        "based-on.status=active".into(),
        "based-on.performer=Organization/housing".into(),
        "care-team=t1".into(),
        "status=active&performer=Organization/cns".into(),
        "status=active&performer:Organization.name=macmillan&date=2026".into(),
        lu("le", 102),
        "_id=cp1,cp1r".into(),
    ];
    q.extend(plan.into_iter().map(|s| (CarePlan, s)));
    let referral = [
        "status=active".to_owned(),
        "status:not=entered-in-error".into(),
        "intent=order".into(),
        "priority=routine".into(),
        format!("code={SCT}|ref-cns"),
        "code=|ref-housing".into(),
        "category=x".into(),
        "authored=2026-01-10".into(),
        format!("authored={}", enc("ge2026-01-10T09:30Z")),
        format!("authored={}", enc("gt2026-01-10T09:30:00Z")),
        "authored=2026-01".into(),
        "occurrence=2026-02-01".into(),
        format!("occurrence={}", enc("ap2026-02-01T09:00:00Z")),
        "occurrence=2026-01".into(),
        "occurrence=ne2026-01-15".into(),
        "performer=Organization/cns".into(),
        format!("performer:identifier={ODS}|CNS1"),
        "performer:Organization.name=housing".into(),
        "requester=Practitioner/d1".into(),
        "requester:Practitioner.name=dai".into(),
        "requester:Organization.identifier=G1".into(),
        format!("patient.identifier={NHS}|9000000010"),
        "patient=p1".into(),
        "subject:Patient.family=smith".into(),
        "patient.gender=female,male".into(),
        "patient.gender=female&patient.gender=male".into(),
    ];
    q.extend(referral.into_iter().map(|s| (ServiceRequest, s)));
    let condition = [
        "clinical-status=active".to_owned(),
        "clinical-status=http://terminology.hl7.org/CodeSystem/condition-clinical|active".into(),
        "clinical-status:not=active".into(),
        format!("code={SCT}|363346000"),
        format!("code={SCT}|"),
        "category=problem-list-item".into(),
        "onset-date=2025-11".into(),
        "onset-date=ge2026".into(),
        "onset-date=2024".into(),
        "onset-date=ap2024".into(),
        "recorded-date=2025-11-20".into(),
        "patient=p1".into(),
        "asserter=Practitioner/d1".into(),
        "asserter:Practitioner.identifier=C1".into(),
        "patient.gender=male".into(),
        "subject:identifier=9000000009".into(),
        format!("patient:identifier={NHS}|9000000010"),
    ];
    q.extend(condition.into_iter().map(|s| (Condition, s)));
    let organisation = [
        format!("identifier={ODS}|G1"),
        "identifier=H9".into(),
        "name=riverside".into(),
        "name=cns".into(),
        "name:contains=team".into(),
        "name=st".into(),
        "name=st.".into(),
        "type=prov".into(),
        "active=true".into(),
        "partof=Organization/trust".into(),
        "partof.name=st. mary".into(),
        "partof:identifier=T".into(),
        "address-postalcode=ls1".into(),
        "_id=old".into(),
    ];
    q.extend(organisation.into_iter().map(|s| (Organization, s)));
    q
}

/// Queries the corpus is expected to match nothing with (every other one must match something,
/// so that the comparison is not about empty results).
const EMPTY: &[&str] = &[
    "gender=x|female",
    "identifier=|9000000009",
    "family:exact=smith",
    "family=zed",
    "organization:identifier=T",
    "_profile=https://example.org/none",
    "instantiates-canonical=https://example.org/pd",
    "patient=Organization/hosp",
    "performer:identifier=|CNS1",
    "performer:identifier=G1",
    "performer:Organization.name=riverside",
    "patient:identifier=T",
    "performer:identifier=https://fhir.nhs.uk/Id/ods-organization-code|OLD",
    "performer:Organization.identifier=https://fhir.nhs.uk/Id/ods-organization-code|OLD",
    "category=x",
    "patient.gender=female&patient.gender=male",
    "onset-date=ge2026",
    "onset-date=2024",
    "_id=old",
];

pub async fn matcher_decides_every_query_as_the_store(db: Db) {
    let store = db.open().await;
    let mut c = corpus(&store).await;
    let mut empty = Vec::new();
    for (rtype, qs) in queries() {
        if c.agree(&store, rtype, &qs, true).await.is_empty() {
            empty.push(qs);
        }
    }
    let decoded = |qs: &str| -> String {
        form_urlencoded::parse(qs.as_bytes())
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    };
    let empty: Vec<String> = empty.iter().map(|qs| decoded(qs)).collect();
    assert_eq!(empty, EMPTY, "the queries that match nothing");
    c.batches_agree(&store).await;
    assert!(
        c.pairs > 1000 && c.matched > 200,
        "{} {}",
        c.pairs,
        c.matched
    );
}

/// The redacted twin of cp1 is found by what it shows and by nothing it withholds.
pub async fn a_redacted_form_is_not_found_by_what_it_withholds(db: Db) {
    let store = db.open().await;
    let mut c = corpus(&store).await;
    for qs in [
        "performer=Organization/cns",
        "performer:Organization.identifier=CNS1",
        "performer:identifier=CNS1",
        "activity-code=walk",
        "activity-date=ap2026-02",
    ] {
        let matched = c.agree(&store, CarePlan, qs, false).await;
        assert!(matched.contains(&"cp1".to_owned()), "{qs}");
        assert!(!matched.contains(&"cp1r".to_owned()), "{qs}");
    }
    let matched = c
        .agree(&store, CarePlan, "performer=Organization/housing", false)
        .await;
    assert!(matched.contains(&"cp1r".to_owned()));
}

pub async fn sorting_in_memory_gives_the_stores_order(db: Db) {
    let store = db.open().await;
    let c = corpus(&store).await;
    let sorts: &[(ResourceType, &str)] = &[
        (Patient, "_sort=family"),
        (Patient, "_sort=-family"),
        (Patient, "_sort=name,-_lastUpdated"),
        (Patient, "_sort=birthdate"),
        (Patient, "_sort=-birthdate,_id"),
        (Patient, "_sort=gender,-_id"),
        (Patient, "_sort=_id"),
        (Patient, "_sort=-_id"),
        (Patient, "_sort=_lastUpdated"),
        (Patient, "_sort=identifier"),
        (Patient, "_sort=-active,given"),
        (Patient, "_sort=-address-postalcode"),
        (CarePlan, "_sort=date"),
        (CarePlan, "_sort=-date"),
        (CarePlan, "_sort=status,_id"),
        (CarePlan, "_sort=activity-date"),
        (CarePlan, "_sort=-activity-code,-_lastUpdated"),
        (CarePlan, "_sort=category,intent"),
        (ServiceRequest, "_sort=-authored"),
        (ServiceRequest, "_sort=occurrence,code"),
        (Condition, "_sort=onset-date"),
        (Condition, "_sort=-recorded-date,code"),
        (Organization, "_sort=name"),
        (Organization, "_sort=-identifier,_lastUpdated"),
    ];
    for (rtype, qs) in sorts {
        c.sorts_agree(&store, *rtype, qs).await;
    }
}
