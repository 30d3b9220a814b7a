use std::cmp::Ordering;

use serde_json::{Value, json};

use super::*;
use crate::ResourceType::{self, CarePlan, Organization, Patient};
use crate::search::{ParseOptions, extract, parse};

const NHS: &str = "https://fhir.nhs.uk/Id/nhs-number";
const ODS: &str = "https://fhir.nhs.uk/Id/ods-organization-code";
/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600_000;

fn query(rtype: ResourceType, qs: &str) -> SearchQuery {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(qs.as_bytes()).into_owned().collect();
    let opts = ParseOptions {
        lenient: false,
        default_count: 20,
        max_count: 100,
    };
    parse(rtype, &pairs, opts).expect("query parses")
}

/// A resource of `rtype` with `body`, and the lookups it is asked answered by `found`.
struct Resource {
    rtype: ResourceType,
    id: &'static str,
    entries: Vec<IndexEntry>,
}

impl Resource {
    fn new(rtype: ResourceType, id: &'static str, body: Value) -> Self {
        Resource {
            rtype,
            id,
            entries: extract(rtype, &body),
        }
    }

    fn facts(&self) -> Facts<'_> {
        Facts {
            rtype: self.rtype,
            id: self.id,
            last_updated: T0,
            entries: &self.entries,
        }
    }

    /// Whether `qs` holds, every lookup answered no.
    fn matches(&self, qs: &str) -> bool {
        holds(&query(self.rtype, qs), &self.facts(), &|_| false)
    }

    fn lookups(&self, qs: &str) -> Vec<Lookup> {
        lookups(&query(self.rtype, qs), &self.facts())
    }
}

fn patient() -> Resource {
    Resource::new(
        Patient,
        "p1",
        json!({
            "identifier": [{"system": NHS, "value": "9000000009"}, {"value": "nosys"}],
            "name": [{"family": "O'Brien-Smith", "given": ["Siân"]}],
            "gender": "female", "birthDate": "1980-05-17", "active": true,
            "meta": {"profile": ["https://example.org/p"]},
            "generalPractitioner": [{"reference": "Organization/gp"}]
        }),
    )
}

/// A plan for p1 whose one activity is with the CNS team, named by reference and by ODS code.
fn plan(with_activity: bool) -> Resource {
    let mut body = json!({
        "status": "active", "intent": "plan",
        "subject": {"reference": "Patient/p1", "identifier": {"system": NHS, "value": "9000000009"}},
        "period": {"start": "2026-01-01"}
    });
    if with_activity && let Some(o) = body.as_object_mut() {
        o.insert(
            "activity".into(),
            json!([{"detail": {"code": {"coding": [{"system": "s", "code": "walk"}]},
                "scheduledPeriod": {"start": "2026-02-01", "end": "2026-03-01"},
                "performer": [{"reference": "Organization/cns"},
                    {"identifier": {"system": ODS, "value": "X1"}}]}}]),
        );
    }
    Resource::new(CarePlan, "cp1", body)
}

#[test]
fn tokens_match_on_code_and_system_as_stored() {
    let p = patient();
    let cases = [
        ("gender=female", true),
        ("gender=male", false),
        ("gender=FEMALE", false),
        ("gender=male,female", true),
        ("gender=|female", true),
        ("gender=other|female", false),
        (&format!("identifier={NHS}|9000000009"), true),
        (&format!("identifier={NHS}|"), true),
        ("identifier=urn:x|", false),
        ("identifier=|nosys", true),
        ("identifier=|9000000009", false),
        ("active=true", true),
        ("_profile=https://example.org/p", true),
        ("_profile=https://example.org", false),
    ];
    for (qs, expected) in cases {
        assert_eq!(p.matches(qs), expected, "{qs}");
    }
}

#[test]
fn negation_holds_when_no_row_matches() {
    let p = patient();
    assert!(!p.matches("gender:not=female"));
    assert!(p.matches("gender:not=male"));
    assert!(p.matches("_tag:not=x"), "no tags at all");
    assert!(!p.matches(&format!("identifier:not={NHS}|")));
}

#[test]
fn strings_start_with_exact_or_contain_as_normalised() {
    let p = patient();
    let cases = [
        ("family=o'brien", true),
        ("family=O'BRIEN-SMITH", true),
        ("family=smith", false),
        ("family:contains=smith", true),
        ("family:contains=%25", false),
        ("family:exact=O'Brien-Smith", true),
        ("family:exact=o'brien-smith", false),
        ("given=sian", true),
        ("given:exact=Sian", false),
        ("name=si", true),
        ("name=brien", false),
    ];
    for (qs, expected) in cases {
        assert_eq!(p.matches(qs), expected, "{qs}");
    }
}

#[test]
fn dates_compare_half_open_ranges_under_each_prefix() {
    let p = patient();
    let cases = [
        ("birthdate=1980-05-17", true),
        ("birthdate=1980", true),
        ("birthdate=1980-05-17T10:00:00Z", false),
        ("birthdate=ne1980", false),
        ("birthdate=gt1980-05-16", true),
        ("birthdate=gt1980-05-17", false),
        ("birthdate=lt1980-05-18", true),
        ("birthdate=ge1980-05-17T23:00:00Z", true),
        ("birthdate=le1980-05-17", true),
        ("birthdate=sa1980-05-16", true),
        ("birthdate=eb1980-05-18", true),
        ("birthdate=eb1980-05-17", false),
        ("birthdate=ap1980-05-17T12:00:00Z", true),
        ("birthdate=ge1980&birthdate=lt1981", true),
    ];
    for (qs, expected) in cases {
        assert_eq!(p.matches(qs), expected, "{qs}");
    }
    assert!(p.matches("_id=p2,p1"));
    assert!(!p.matches("_id=p2"));
    assert!(p.matches("_lastUpdated=2026-01-01"));
    assert!(p.matches("_lastUpdated=ge2026-01-01T00:00:00Z"));
    assert!(!p.matches("_lastUpdated=gt2026-01-01T00:00:00Z"));
    assert!(!p.matches("_lastUpdated=lt2026"));
}

#[test]
fn narrowed_parameters_are_found_among_the_wider_ones_rows() {
    let cp = plan(true);
    assert!(cp.matches("patient=Patient/p1"));
    assert!(cp.matches("patient=p1"));
    assert!(!cp.matches("patient=Organization/p1"));
    assert!(cp.matches("subject=p1"));
    assert!(cp.matches("subject:Patient=p1"));
    // A subject of another type is the wider parameter's, never the narrowed one's.
    let org_subject = Resource::new(
        CarePlan,
        "cp2",
        json!({"subject": {"reference": "Organization/p1"}}),
    );
    assert!(org_subject.matches("subject=p1"));
    assert!(org_subject.matches("subject=Organization/p1"));
    assert!(!org_subject.matches("patient=p1"));
    // Reference.identifier rows are the narrowed parameter's own as well.
    assert!(cp.matches("patient:identifier=9000000009"));
    assert!(cp.matches(&format!("subject:identifier={NHS}|9000000009")));
    assert!(!cp.matches("patient:identifier=urn:x|9000000009"));
}

#[test]
fn a_withheld_activity_no_longer_matches() {
    for qs in [
        "performer=Organization/cns",
        &format!("performer:identifier={ODS}|X1"),
        "activity-code=s|walk",
        "activity-date=ap2026-02",
    ] {
        assert!(plan(true).matches(qs), "{qs}");
        assert!(!plan(false).matches(qs), "{qs}");
    }
}

#[test]
fn chains_ask_about_each_referenced_resource_of_the_chain_type() {
    let cp = plan(true);
    let qs = format!("performer:Organization.identifier={ODS}|X1");
    let asked = cp.lookups(&qs);
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].rtype, Organization);
    assert_eq!(asked[0].id, "cns");
    assert_eq!(
        asked[0].predicate,
        Predicate::Token {
            param: "identifier",
            system: SystemMatch::Is(ODS.into()),
            code: Some("X1".into()),
            negate: false
        }
    );
    let q = query(CarePlan, &qs);
    assert!(holds(&q, &cp.facts(), &|l| l.id == "cns"));
    assert!(!holds(&q, &cp.facts(), &|_| false));
    // Without the activity there is nothing to ask, and nothing holds.
    let redacted = plan(false);
    assert!(redacted.lookups(&qs).is_empty());
    assert!(!holds(&q, &redacted.facts(), &|_| true));
    // A chain through a narrowed parameter asks about the wider one's references of its type.
    let asked = cp.lookups("patient.name=sian");
    assert_eq!(
        asked
            .iter()
            .map(|l| (l.rtype, l.id.as_str()))
            .collect::<Vec<_>>(),
        [(Patient, "p1")]
    );
}

#[test]
fn identifier_searches_ask_about_referenced_resources_of_identifier_types() {
    let sr = Resource::new(
        ResourceType::ServiceRequest,
        "sr",
        json!({"subject": {"reference": "Patient/p1"},
            "performer": [{"reference": "Organization/cns"}, {"reference": "Patient/p1"},
                {"reference": "Organization/cns"}, {"reference": "Practitioner/d"}]}),
    );
    let asked = sr.lookups("performer:identifier=X1,X2&patient:identifier=X1");
    let seen: Vec<_> = asked
        .iter()
        .map(|l| (l.rtype, l.id.as_str(), l.predicate.clone()))
        .collect();
    let token = |code: &str| Predicate::Token {
        param: "identifier",
        system: SystemMatch::Any,
        code: Some(code.into()),
        negate: false,
    };
    assert_eq!(
        seen,
        [
            (Patient, "p1", token("X1")),
            (ResourceType::Practitioner, "d", token("X1")),
            (Organization, "cns", token("X1")),
            (Patient, "p1", token("X2")),
            (ResourceType::Practitioner, "d", token("X2")),
            (Organization, "cns", token("X2")),
        ],
        "in the order of the filters, the identifier types and the entries, once each"
    );
    let q = query(ResourceType::ServiceRequest, "patient:identifier=X1");
    assert!(holds(&q, &sr.facts(), &|l| l.rtype == Patient));
    assert!(!holds(&q, &sr.facts(), &|l| l.rtype == Organization));
}

#[test]
fn batches_ask_once_per_type_and_predicate() {
    let cp = plan(true);
    let other = Resource::new(
        CarePlan,
        "cp3",
        json!({"activity": [{"detail": {"performer": [{"reference": "Organization/cns"},
            {"reference": "Organization/hosp"}]}}]}),
    );
    let qs = "performer:Organization.name=cns";
    let mut all = cp.lookups(qs);
    all.extend(other.lookups(qs));
    let b = batches(&all);
    assert_eq!(b.len(), 1);
    assert_eq!(
        b[0].lookups
            .iter()
            .map(|l| l.id.as_str())
            .collect::<Vec<_>>(),
        ["cns", "hosp"]
    );
    assert_eq!(
        b[0].query,
        query(Organization, "_id=cns,hosp&name=cns").with_count(2)
    );
    assert_eq!(
        all[0].query(),
        query(Organization, "_id=cns&name=cns").with_count(1)
    );
}

trait WithCount {
    fn with_count(self, n: usize) -> Self;
}

impl WithCount for SearchQuery {
    /// As a lookup's search: the count set and no `self` link parameters.
    fn with_count(mut self, n: usize) -> Self {
        self.count = n;
        self.canonical.clear();
        self
    }
}

#[test]
fn access_controls_predicate_holds_and_other_types_never_match() {
    let p = patient();
    let mut q = query(Patient, "gender=female");
    q.filters.push(Filter(vec![Predicate::Related {
        patient_param: "_id",
        organizations: Vec::new(),
        links: Vec::new(),
    }]));
    assert!(holds(&q, &p.facts(), &|_| false));
    assert!(!holds(&query(CarePlan, ""), &p.facts(), &|_| true));
    assert!(holds(&query(Patient, ""), &p.facts(), &|_| false));
}

#[test]
fn sort_values_are_the_lowest_and_missing_ones_sort_last() {
    let p = patient();
    let sort = query(
        Patient,
        "_sort=family,-birthdate,gender,identifier,_id,-_lastUpdated",
    )
    .sort;
    let values = sort_values(&sort, &p.facts());
    let text = |s: &str| Some(SortValue::Text(s.into()));
    assert_eq!(
        values,
        [
            text("o'brien-smith"),
            Some(SortValue::Int(
                crate::search::date::parse_range("1980-05-17").map_or(0, |r| r.lo)
            )),
            text("female"),
            text("9000000009"),
            text("p1"),
            Some(SortValue::Int(T0)),
        ]
    );
    let empty = Resource::new(Patient, "p0", json!({}));
    let none = sort_values(&sort, &empty.facts());
    assert_eq!(none[..4], [None, None, None, None]);
    for key in [0, 1] {
        let one = &sort[key..=key];
        let (a, b) = (&values[key..=key], &none[key..=key]);
        assert_eq!(compare(one, a, b), Ordering::Less, "{:?}", one);
        assert_eq!(compare(one, b, a), Ordering::Greater, "{:?}", one);
        assert_eq!(compare(one, b, b), Ordering::Equal);
    }
    let desc = query(Patient, "_sort=-family").sort;
    let smith = Resource::new(Patient, "p2", json!({"name": [{"family": "Smith"}]}));
    assert_eq!(
        compare(
            &desc,
            &sort_values(&desc, &smith.facts()),
            &sort_values(&desc, &p.facts())
        ),
        Ordering::Less
    );
}
