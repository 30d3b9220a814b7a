//! Every interaction type gives a well-formed event (validated as R4 AuditEvent by fhir-sdk), with
//! its subtype, action and outcome, and no clinical content.

use serde_json::Value;

use super::*;
use crate::auth::Role;
use crate::fhir::ResourceType;
use crate::fhir::validate::{IdRule, validate};

fn record(method: &str, path: &str, query: &str, status: u16) -> Record {
    let mut p = Principal::system();
    p.role = Role::Gp;
    p.organization = Some("A81001".into());
    p.fhir_user = Some("PractitionerRole/pr1".into());
    Record {
        recorded: 1_790_000_000_000,
        method: method.into(),
        path: path.into(),
        query: query.into(),
        status,
        agent: Some(Agent::of(&p)),
        patients: vec!["p1".into()],
        disclosed: vec![Disclosed {
            reference: "CarePlan/c1/_history/2".into(),
            redacted: true,
            patient: Some("p1".into()),
        }],
        consents: vec!["k1".into()],
        break_glass: None,
        ..Record::default()
    }
}

const SOURCE: Source<'static> = Source {
    chain: "gw1",
    base_url: "https://gw.example/fhir",
    canonical: "https://fhir.carebridge.uk",
};

fn render(r: &Record) -> Value {
    build(r, &SOURCE, Some("7"))
}

fn valid(event: &Value) {
    if let Err(e) = validate(ResourceType::AuditEvent, event, IdRule::Ignored) {
        panic!("not a valid AuditEvent: {e:?}\n{event:#}");
    }
}

#[test]
fn each_interaction_has_its_subtype_and_action() {
    let cases = [
        ("GET", "/CarePlan/1", "read", "R"),
        ("GET", "/CarePlan/1/_history/2", "vread", "R"),
        ("GET", "/CarePlan/1/_history", "history-instance", "R"),
        ("GET", "/CarePlan/_history", "history-type", "R"),
        ("GET", "/_history", "history-system", "R"),
        ("GET", "/CarePlan", "search-type", "E"),
        ("POST", "/CarePlan/_search", "search-type", "E"),
        ("POST", "/CarePlan", "create", "C"),
        ("PUT", "/CarePlan/1", "update", "U"),
        ("PUT", "/CarePlan", "update", "U"),
        ("DELETE", "/CarePlan/1", "delete", "D"),
        ("POST", "/", "transaction", "E"),
        (
            "POST",
            "/QuestionnaireResponse/1/$extract",
            "operation",
            "E",
        ),
        ("GET", "/$hna-outcomes", "operation", "E"),
        ("GET", "/metadata", "capabilities", "R"),
    ];
    for (method, path, subtype, action) in cases {
        assert_eq!(
            kind(method, path),
            Kind { subtype, action },
            "{method} {path}"
        );
        let e = render(&record(method, path, "", 200));
        assert_eq!(e["subtype"][0]["code"], subtype);
        assert_eq!(e["action"], action);
        valid(&e);
    }
}

#[test]
fn outcomes_follow_the_status_and_failures_say_so() {
    for (status, outcome) in [(200, "0"), (201, "0"), (404, "4"), (403, "4"), (503, "8")] {
        let e = render(&record("GET", "/CarePlan/1", "", status));
        assert_eq!(e["outcome"], outcome, "{status}");
        assert_eq!(e.get("outcomeDesc").is_some(), status >= 400);
        valid(&e);
    }
    let mut anonymous = record("GET", "/CarePlan/1", "", 401);
    anonymous.agent = None;
    anonymous.patients.clear();
    anonymous.disclosed.clear();
    anonymous.consents.clear();
    let e = render(&anonymous);
    assert_eq!(e["agent"][0]["who"]["display"], "unauthenticated caller");
    valid(&e);
}

#[test]
fn the_caller_patient_resources_consent_and_broken_glass_are_recorded() {
    let mut r = record("GET", "/CarePlan/c1", "", 200);
    r.break_glass = Some("collapsed in clinic".into());
    let e = render(&r);
    let agent = &e["agent"][0];
    assert_eq!(agent["who"]["reference"], "PractitionerRole/pr1");
    assert_eq!(agent["role"][0]["coding"][0]["code"], "gp");
    assert_eq!(agent["role"][1]["coding"][0]["code"], "A81001");
    assert_eq!(agent["purposeOfUse"][0]["coding"][0]["code"], "TREAT");
    let whats: Vec<&str> = e["entity"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x["what"]["reference"].as_str())
        .collect();
    assert_eq!(
        whats,
        vec!["Patient/p1", "CarePlan/c1/_history/2", "Consent/k1"]
    );
    assert_eq!(e["entity"][1]["securityLabel"][0]["code"], "REDACTED");
    assert_eq!(e["purposeOfEvent"][0]["coding"][0]["code"], "BTG");
    assert_eq!(
        e["entity"][3]["detail"][0]["valueString"],
        "collapsed in clinic"
    );
    valid(&e);
}

#[test]
fn a_search_records_its_query_without_patient_data() {
    use base64::Engine as _;
    assert_eq!(
        sanitised_query(
            "name=Smith&patient=Patient/p1&birthdate=1950&_count=5&subject:Patient.name=Ann"
        ),
        "name=*&patient=Patient%2Fp1&birthdate=*&_count=5&subject%3APatient.name=*"
    );
    let e = render(&record("GET", "/Patient", "name=Smith&_id=p1", 200));
    let query = e["entity"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|x| x["query"].as_str())
        .unwrap_or_default();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(query)
        .unwrap_or_default();
    assert_eq!(String::from_utf8_lossy(&decoded), "name=*&_id=p1");
    assert!(!e.to_string().contains("Smith"));
    valid(&e);
}

#[test]
fn the_stored_record_is_compact_and_reads_back_the_same() {
    let r = record("GET", "/CarePlan/c1", "", 200);
    let text = r.to_text();
    assert!(text.len() < 400, "{} bytes: {text}", text.len());
    assert_eq!(Record::from_text(&text), Some(r.clone()));
    assert!(
        !text.contains('\n') && !text.contains('\t'),
        "one journal line"
    );
    let e = render(&r);
    assert_eq!(e["id"], "7");
    assert_eq!(e["source"]["observer"]["display"], "carebridge (gw1)");
}

#[test]
fn search_keys_name_the_caller_patients_and_resources() {
    let mut r = record("GET", "/CarePlan", "", 200);
    r.disclosed.push(Disclosed {
        reference: "CarePlan/c1/_history/3".into(),
        redacted: false,
        patient: Some("p1".into()),
    });
    let k = r.keys();
    assert_eq!(
        (k.subtype.as_str(), k.action.as_str(), k.outcome.as_str()),
        ("search-type", "E", "0")
    );
    assert_eq!(
        (k.role.as_str(), k.org.as_str(), k.purpose.as_str()),
        ("gp", "A81001", "TREAT")
    );
    assert_eq!(k.user, "PractitionerRole/pr1");
    assert_eq!(k.patients, vec!["p1".to_owned()]);
    assert_eq!(
        k.entities,
        vec!["CarePlan/c1".to_owned()],
        "unversioned, once"
    );
}

#[test]
fn a_patient_sees_their_own_resources_and_not_who_exactly_nor_others() {
    let mut r = record("GET", "/CarePlan", "name=Smith", 200);
    r.patients.push("p2".into());
    r.disclosed.push(Disclosed {
        reference: "CarePlan/c9/_history/1".into(),
        redacted: false,
        patient: Some("p2".into()),
    });
    let mine = r.for_patient("p1");
    let e = render(&mine);
    let text = e.to_string();
    assert!(text.contains("CarePlan/c1/_history/2"));
    assert!(!text.contains("c9") && !text.contains("p2"), "{text}");
    assert!(!text.contains("pr1"), "the individual is not named: {text}");
    assert_eq!(e["agent"][0]["role"][1]["coding"][0]["code"], "A81001");
    assert!(!text.contains("Consent/k1"));
    valid(&e);
}
