//! Reading Consents: what a stored sharing consent must say, and how an unreadable one is read.

use serde_json::{Value, json};

use super::*;

fn vocab() -> Vocabulary {
    Vocabulary::default()
}

fn consent(provision: Value) -> Value {
    json!({
        "resourceType": "Consent", "id": "c1", "status": "active",
        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"reference": "Patient/p1"},
        "provision": provision
    })
}

fn error_at(provision: Value) -> String {
    parse(&consent(provision), &vocab())
        .expect_err("refused")
        .expression
}

#[test]
fn a_full_provision_tree_is_read() {
    let v = vocab();
    let c = consent(json!({
        "type": "deny",
        "provision": [{
            "type": "permit",
            "period": {"start": "2026-01-01", "end": "2026-12-31"},
            "actor": [{"role": {"coding": [{"system": v.role_system, "code": "housing"}]},
                       "reference": {"identifier": {"system": crate::fhir::ods::SYSTEM, "value": "HX1"}}}],
            "class": [{"system": "http://hl7.org/fhir/resource-types", "code": "CarePlan"}],
            "securityLabel": [{"system": v.domain_system, "code": "practical"}],
            "code": [{"coding": [{"system": v.concern_system, "code": "housing"}]}],
            "purpose": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "TREAT"}],
            "provision": [{"class": [{"code": "ServiceRequest"}]}]
        }]
    }));
    let r = parse(&c, &v).expect("parsed");
    assert!(r.active);
    assert_eq!(r.root.kind, Kind::Deny);
    let p = &r.root.nested[0];
    assert_eq!(p.kind, Kind::Permit);
    assert_eq!(p.path, "Consent.provision.provision[0]");
    assert_eq!(
        p.actors,
        vec![Actor {
            role: Some(Role::Housing),
            organization: Some(OrgRef::Ods(
                crate::fhir::ods::OdsCode::parse("HX1")
                    .expect("valid")
                    .into_owned()
            ))
        }]
    );
    assert_eq!(p.classes, vec![ResourceType::CarePlan]);
    assert_eq!(p.domains, vec!["practical".to_owned()]);
    assert_eq!(p.concerns, vec!["housing".to_owned()]);
    assert_eq!(p.purposes, vec!["TREAT".to_owned()]);
    assert!(p.period.contains(1_770_000_000_000));
    assert!(!p.period.contains(1_800_000_000_000));
    // A nested provision without a type takes its parent's.
    assert_eq!(p.nested[0].kind, Kind::Permit);
}

#[test]
fn what_a_sharing_consent_must_say_is_checked_with_its_path() {
    let v = vocab();
    assert_eq!(error_at(json!({})), "Consent.provision.type");
    assert_eq!(error_at(json!({"type": "maybe"})), "Consent.provision.type");
    assert_eq!(
        error_at(json!({"type": "permit", "class": [{"code": "Observation"}]})),
        "Consent.provision.class[0]"
    );
    assert_eq!(
        error_at(
            json!({"type": "permit", "actor": [{"role": {"coding": [{"code": "PRCP"}]}, "reference": {"reference": "Practitioner/1"}}]})
        ),
        "Consent.provision.actor[0].reference"
    );
    assert_eq!(
        error_at(
            json!({"type": "permit", "provision": [{"actor": [{"role": {"coding": [{"system": v.role_system, "code": "landlord"}]}}]}]})
        ),
        "Consent.provision.provision[0].actor[0].role"
    );
    assert_eq!(
        error_at(
            json!({"type": "permit", "securityLabel": [{"system": v.domain_system, "code": "finance"}]})
        ),
        "Consent.provision.securityLabel"
    );
    assert_eq!(
        error_at(json!({"type": "permit", "period": {"start": "soon"}})),
        "Consent.provision.period.start"
    );
    let mut no_scope = consent(json!({"type": "permit"}));
    no_scope["scope"] = json!({"coding": [{"code": "research"}]});
    assert_eq!(
        parse(&no_scope, &v).expect_err("refused").expression,
        "Consent.scope"
    );
    let mut no_patient = consent(json!({"type": "permit"}));
    no_patient["patient"] = json!({"reference": "Group/1"});
    assert_eq!(
        parse(&no_patient, &v).expect_err("refused").expression,
        "Consent.patient"
    );
}

#[test]
fn a_stored_consent_that_cannot_be_read_denies_everything() {
    let v = vocab();
    let broken = consent(json!({"type": "permit", "class": [{"code": "Nonsense"}]}));
    let r = ConsentRecord::from_stored("c1", &broken, &v).expect("a sharing consent");
    assert_eq!(r.root.kind, Kind::Deny);
    assert!(r.root.actors.is_empty() && r.root.classes.is_empty());
    let mut research = broken.clone();
    research["scope"] = json!({"coding": [{"code": "research"}]});
    assert_eq!(ConsentRecord::from_stored("c1", &research, &v), None);
}

#[test]
fn the_next_change_is_the_nearest_period_bound_ahead() {
    let v = vocab();
    let c = consent(
        json!({"type": "deny", "period": {"start": "2026-01-01", "end": "2027-01-01"},
        "provision": [{"type": "permit", "period": {"end": "2026-06-01"}}]}),
    );
    let r = parse(&c, &v).expect("parsed");
    let jan = parse_range("2026-01-01").expect("date").lo;
    let jun = parse_range("2026-06-01").expect("date").hi;
    let next_year = parse_range("2027-01-01").expect("date").hi;
    assert_eq!(r.root.next_change(jan - 1), Some(jan));
    assert_eq!(r.root.next_change(jan), Some(jun));
    assert_eq!(r.root.next_change(jun), Some(next_year));
    assert_eq!(r.root.next_change(next_year), None);
}

#[test]
fn an_actor_organisation_of_the_wrong_form_is_kept_as_one_nobody_is() {
    // Accepted before ids and codes were checked: neither refused now nor read as a deny-all.
    let v = vocab();
    let org = |reference: Value| {
        let c = consent(json!({"type": "permit", "actor": [{"reference": reference}]}));
        let r = parse(&c, &v).expect("still accepted");
        assert_eq!(
            ConsentRecord::from_stored("c1", &c, &v).as_ref(),
            Some(&r),
            "read as written"
        );
        r.root.actors[0].organization.clone()
    };
    let ods =
        |value: &str| json!({"identifier": {"system": crate::fhir::ods::SYSTEM, "value": value}});
    assert_eq!(org(ods("hx1")), Some(OrgRef::Unrecognised));
    assert_eq!(org(ods("HX 1")), Some(OrgRef::Unrecognised));
    assert_eq!(
        org(json!({"reference": "Organization/a b"})),
        Some(OrgRef::Unrecognised)
    );
    let id = crate::fhir::ids::OrganizationId::parse("o-1").expect("valid");
    assert_eq!(
        org(json!({"reference": "Organization/o-1"})),
        Some(OrgRef::Id(id.into_owned()))
    );
}
