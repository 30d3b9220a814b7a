//! The engine's decisions, case by case, and its properties over generated consents.

use serde_json::{Value, json};

use super::decision::decide;
use super::record::{Actor, Kind, OrgRef, Provision, Window};
use super::verdict::{Content, verdict};
use super::*;
use crate::auth::Role;
use crate::fhir::ResourceType;
use crate::fhir::ids::OrganizationId;
use crate::fhir::ods::OdsCode;

const NOW: i64 = 1_790_000_000_000; // 2026-09-21
const HOUSING: &str = "org-housing";
const PRACTICE: &str = "org-practice";
const LINK: &str = "org-link";

/// `id` as an Organization id (test constants are valid ones).
fn org(id: &str) -> OrganizationId<'static> {
    OrganizationId::from_string(id.to_owned()).expect("a valid id")
}

fn org_of(role: Role) -> &'static str {
    match role {
        Role::Gp => PRACTICE,
        Role::Housing | Role::SocialCare => HOUSING,
        _ => LINK,
    }
}

struct Case {
    role: Role,
    related: bool,
    orgs: Vec<OrganizationId<'static>>,
    purpose: &'static str,
    reason: Option<&'static str>,
    consents: Vec<ConsentRecord>,
}

impl Case {
    fn new(role: Role) -> Self {
        Case {
            role,
            related: true,
            orgs: vec![org(org_of(role))],
            purpose: "TREAT",
            reason: None,
            consents: Vec::new(),
        }
    }

    fn with(mut self, c: ConsentRecord) -> Self {
        self.consents.push(c);
        self
    }

    fn decide(&self, rtype: ResourceType, resource: &Value) -> Decision {
        let recipient = Recipient {
            role: self.role,
            ods: OdsCode::parse("ODS1").ok(),
            organizations: &self.orgs,
            purpose: self.purpose,
            break_glass_reason: self.reason,
        };
        let policy = Policy::default();
        let vocab = Vocabulary::default();
        let ctx = Context {
            recipient: &recipient,
            facts: Facts {
                related: self.related,
                consents: &self.consents,
            },
            policy: &policy,
            vocab: &vocab,
            now: NOW,
        };
        decide(&ctx, rtype, resource)
    }
}

fn provision(kind: Kind) -> Provision {
    Provision::unconditional(kind, "Consent.provision")
}

fn for_actor(mut p: Provision, role: Role, org: Option<&str>) -> Provision {
    p.actors.push(Actor {
        role: Some(role),
        organization: org.map(|o| OrgRef::Id(self::org(o))),
    });
    p
}

fn consent(id: &str, root: Provision) -> ConsentRecord {
    ConsentRecord {
        id: id.into(),
        active: true,
        root,
    }
}

fn vocab() -> Vocabulary {
    Vocabulary::default()
}

fn activity(domain: &str, concern: &str, performer: Option<&str>) -> Value {
    let v = vocab();
    let mut detail = json!({
        "extension": [{"url": v.domain_extension, "valueCoding": {"system": v.domain_system, "code": domain}}],
        "reasonCode": [{"coding": [{"system": v.concern_system, "code": concern}]}],
        "status": "not-started"
    });
    if let Some(p) = performer {
        detail["performer"] = json!([{"reference": format!("Organization/{p}")}]);
    }
    json!({"detail": detail})
}

/// A PCSP plan: housing (practical, assigned to the housing provider), fear (emotional, assigned to
/// the housing provider too, to show sensitivity wins) and breathing (physical, nobody).
fn plan(shared_with_gp: bool) -> Value {
    let v = vocab();
    let mut p = json!({
        "resourceType": "CarePlan", "id": "plan1",
        "meta": {"profile": [v.pcsp_profile]},
        "status": "active", "intent": "plan",
        "subject": {"reference": "Patient/p1"},
        "description": "Distress 7/10. What matters most: my children",
        "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">all of it</div>"},
        "activity": [
            activity("practical", "housing", Some(HOUSING)),
            activity("emotional", "worry-fear-anxiety", Some(HOUSING)),
            activity("physical", "breathing", None)
        ]
    });
    if shared_with_gp {
        p["extension"] = json!([{"url": v.shared_with_extension, "valueCode": "gp"}]);
    }
    p
}

fn hna() -> Value {
    json!({
        "resourceType": "QuestionnaireResponse", "id": "hna1", "status": "completed",
        "subject": {"reference": "Patient/p1"},
        "item": [
            {"linkId": "physical", "item": [{"linkId": "breathing", "answer": [{"valueInteger": 3}]}]},
            {"linkId": "practical", "item": [{"linkId": "housing", "answer": [{"valueInteger": 8}]}]},
            {"linkId": "emotional", "item": [{"linkId": "worry-fear-anxiety", "answer": [{"valueInteger": 9}]}]},
            {"linkId": "distress-thermometer", "answer": [{"valueInteger": 7}]}
        ]
    })
}

fn redacted(d: &Decision) -> &Value {
    match &d.access {
        Access::Redacted(v) => v,
        other => panic!("expected a redaction, got {other:?} ({:?})", d.rule),
    }
}

fn concerns_of_plan(v: &Value) -> Vec<String> {
    v["activity"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            a["detail"]["reasonCode"][0]["coding"][0]["code"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect()
}

fn has_redacted_label(v: &Value) -> bool {
    v["meta"]["security"]
        .as_array()
        .is_some_and(|l| l.iter().any(|c| c["code"] == "REDACTED"))
}

fn housing_practical_permit() -> ConsentRecord {
    let mut p = for_actor(provision(Kind::Permit), Role::Housing, Some(HOUSING));
    p.domains.push("practical".into());
    consent("c-housing", p)
}

/// A deny of everything to the recipient's organisation named as `org`.
fn deny_to(org: OrgRef) -> ConsentRecord {
    let mut p = provision(Kind::Deny);
    p.actors.push(Actor {
        role: None,
        organization: Some(org),
    });
    consent("c-deny", p)
}

#[test]
fn an_organisation_is_matched_by_its_ods_code_and_never_by_one_of_the_wrong_form() {
    let goal = json!({"resourceType": "Goal", "id": "g1", "subject": {"reference": "Patient/p1"}});
    let decide = |org: OrgRef| {
        Case::new(Role::LinkWorker)
            .with(deny_to(org))
            .decide(ResourceType::Goal, &goal)
    };
    let ods = |c: &str| OrgRef::Ods(OdsCode::parse(c).expect("valid").into_owned());
    let mine = decide(ods("ODS1"));
    assert_eq!(mine.access, Access::Deny);
    assert_eq!(mine.rule.consent(), Some("c-deny"));
    assert_eq!(decide(OrgRef::Id(org(LINK))).rule.consent(), Some("c-deny"));
    for other in [ods("ODS2"), OrgRef::Id(org(PRACTICE)), OrgRef::Unrecognised] {
        assert_eq!(decide(other.clone()).rule.consent(), None, "{other:?}");
    }
}

#[test]
fn housing_sees_nothing_until_the_person_permits_it() {
    let d = Case::new(Role::Housing).decide(ResourceType::CarePlan, &plan(true));
    assert_eq!(d.access, Access::Deny);
    assert_eq!(d.rule, Rule::Default(DefaultDecision::Deny));
}

#[test]
fn a_permit_for_the_practical_domain_shows_housing_only_its_own_practical_activity() {
    let d = Case::new(Role::Housing)
        .with(housing_practical_permit())
        .decide(ResourceType::CarePlan, &plan(true));
    let v = redacted(&d);
    assert_eq!(concerns_of_plan(v), vec!["housing"]);
    assert!(
        v.get("description").is_none(),
        "the plan's own text is in no domain"
    );
    assert!(
        v.get("text").is_none(),
        "the narrative could repeat what was withheld"
    );
    assert!(has_redacted_label(v));
    assert_eq!(d.rule.consent(), Some("c-housing"));
    let why: Vec<&str> = d.withheld.iter().map(|w| w.rule.code()).collect();
    assert_eq!(
        why,
        vec!["sensitive-domain", "outside-remit", "policy-default"],
        "fear is sensitive, breathing is not theirs, the description is no domain's"
    );
}

#[test]
fn withdrawing_the_consent_hides_it_again() {
    let mut withdrawn = housing_practical_permit();
    withdrawn.active = false;
    let d = Case::new(Role::Housing)
        .with(withdrawn)
        .decide(ResourceType::CarePlan, &plan(true));
    assert_eq!(d.access, Access::Deny);
}

#[test]
fn housing_never_sees_an_hna_or_a_patient_even_when_permitted() {
    let case = Case::new(Role::Housing).with(consent(
        "c-all",
        for_actor(provision(Kind::Permit), Role::Housing, None),
    ));
    assert_eq!(
        case.decide(ResourceType::QuestionnaireResponse, &hna())
            .access,
        Access::Deny
    );
}

#[test]
fn a_sensitive_domain_leaves_health_care_only_when_a_provision_names_it() {
    let unnamed = Case::new(Role::Housing).with(consent(
        "c-all",
        for_actor(provision(Kind::Permit), Role::Housing, None),
    ));
    let d = unnamed.decide(ResourceType::CarePlan, &plan(false));
    let v = redacted(&d);
    assert_eq!(concerns_of_plan(v), vec!["housing"]);
    assert!(
        v.get("description").is_some(),
        "a permit naming no data shares the plan's text"
    );

    let mut p = for_actor(provision(Kind::Permit), Role::Housing, None);
    p.domains = vec!["practical".into(), "emotional".into()];
    let named = Case::new(Role::Housing).with(consent("c-named", p));
    let d = named.decide(ResourceType::CarePlan, &plan(false));
    assert_eq!(
        concerns_of_plan(redacted(&d)),
        vec!["housing", "worry-fear-anxiety"]
    );
}

#[test]
fn a_referral_reaches_housing_only_when_addressed_to_it() {
    let v = vocab();
    let referral = |performer: &str| {
        json!({"resourceType": "ServiceRequest", "subject": {"reference": "Patient/p1"},
            "performer": [{"reference": format!("Organization/{performer}")}],
            "reasonCode": [{"coding": [{"system": v.concern_system, "code": "housing"}]}]})
    };
    let case = Case::new(Role::Housing).with(housing_practical_permit());
    let mut addressed = referral(HOUSING);
    addressed["note"] = json!([{"text": "Also low mood since the diagnosis"}]);
    addressed["reasonCode"]
        .as_array_mut()
        .expect("reasons")
        .push(json!({"coding": [{"system": v.concern_system, "code": "worry-fear-anxiety"}]}));
    // Housing sees the reason in its permitted domain; the other reason and the referral's
    // domain-free content (its note) are withheld, as a plan's are.
    let d = case.decide(ResourceType::ServiceRequest, &addressed);
    let shown = redacted(&d);
    assert_eq!(shown["reasonCode"].as_array().map(Vec::len), Some(1));
    assert_eq!(shown["reasonCode"][0]["coding"][0]["code"], "housing");
    assert!(shown.get("note").is_none());
    assert_eq!(
        d.withheld
            .iter()
            .map(|w| w.element.as_str())
            .collect::<Vec<_>>(),
        vec!["ServiceRequest.reasonCode[1]", "content in no domain"]
    );
    let d = case.decide(ResourceType::ServiceRequest, &referral("org-other"));
    assert_eq!((d.access, d.rule), (Access::Deny, Rule::OutsideRemit));
}

#[test]
fn a_gp_sees_the_plans_shared_with_it_and_the_hnas_by_default() {
    let gp = Case::new(Role::Gp);
    let shared = gp.decide(ResourceType::CarePlan, &plan(true));
    assert_eq!(shared.access, Access::Permit);
    assert_eq!(shared.rule, Rule::PlanSharing { shared: true });
    let unshared = gp.decide(ResourceType::CarePlan, &plan(false));
    assert_eq!(unshared.access, Access::Deny);
    assert_eq!(
        gp.decide(ResourceType::QuestionnaireResponse, &hna())
            .access,
        Access::Permit
    );
}

#[test]
fn a_gp_of_another_practice_sees_nothing_whatever_the_consent_says() {
    let mut other = Case::new(Role::Gp).with(consent("c-all", provision(Kind::Permit)));
    other.related = false;
    let d = other.decide(ResourceType::CarePlan, &plan(true));
    assert_eq!((d.access, d.rule), (Access::Deny, Rule::NoRelationship));
}

#[test]
fn a_deny_of_a_domain_redacts_the_hna_for_health_care() {
    let mut p = provision(Kind::Deny);
    p.domains.push("emotional".into());
    let d = Case::new(Role::LinkWorker)
        .with(consent("c-private", p))
        .decide(ResourceType::QuestionnaireResponse, &hna());
    let v = redacted(&d);
    let groups: Vec<&str> = v["item"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["linkId"].as_str())
        .collect();
    assert_eq!(
        groups,
        vec!["physical", "practical", "distress-thermometer"]
    );
    assert!(has_redacted_label(v));
    assert_eq!(
        d.withheld[0].element,
        "QuestionnaireResponse.item[2].item[0]"
    );
    assert_eq!(d.withheld[0].rule.consent(), Some("c-private"));
}

/// A plan claiming no profile whose fear activity (catalogue: `emotional`) says `practical`.
fn contradicting_plan() -> Value {
    let mut p = plan(false);
    p.as_object_mut().map(|o| o.remove("meta"));
    p["activity"][1] = activity("practical", "worry-fear-anxiety", Some(HOUSING));
    p
}

#[test]
fn an_activitys_domain_is_its_coded_concerns_whatever_its_extension_says() {
    let d = Case::new(Role::Housing)
        .with(housing_practical_permit())
        .decide(ResourceType::CarePlan, &contradicting_plan());
    assert_eq!(concerns_of_plan(redacted(&d)), vec!["housing"]);
    assert_eq!(
        d.withheld[0],
        Withheld {
            element: "CarePlan.activity[1]".into(),
            rule: Rule::Sensitive { consent: None }
        },
        "no provision names the emotional domain"
    );
    // A deny of the concern's domain reaches it too, for health care.
    let mut deny = provision(Kind::Deny);
    deny.domains.push("emotional".into());
    let d = Case::new(Role::LinkWorker)
        .with(consent("c-private", deny))
        .decide(ResourceType::CarePlan, &contradicting_plan());
    assert_eq!(concerns_of_plan(redacted(&d)), vec!["housing", "breathing"]);
}

#[test]
fn the_extension_speaks_only_for_an_activity_with_no_coded_concern() {
    let mut p = contradicting_plan();
    // An unknown code is no coded concern: the extension's `practical` is all there is.
    p["activity"][1]["detail"]["reasonCode"][0]["coding"][0]["code"] = json!("hiccups");
    let d = Case::new(Role::Housing)
        .with(housing_practical_permit())
        .decide(ResourceType::CarePlan, &p);
    assert_eq!(concerns_of_plan(redacted(&d)), vec!["housing", "hiccups"]);
}

#[test]
fn a_part_naming_concerns_of_two_domains_is_shown_only_when_both_may_be() {
    let v = vocab();
    let both = json!([{"coding": [
        {"system": v.concern_system, "code": "housing"},
        {"system": v.concern_system, "code": "worry-fear-anxiety"}]}]);
    let mut p = contradicting_plan();
    p["activity"][1]["detail"]["reasonCode"] = both.clone();
    let case = Case::new(Role::Housing).with(housing_practical_permit());
    let d = case.decide(ResourceType::CarePlan, &p);
    assert_eq!(concerns_of_plan(redacted(&d)), vec!["housing"]);
    let referral = json!({"resourceType": "ServiceRequest", "subject": {"reference": "Patient/p1"},
        "performer": [{"reference": format!("Organization/{HOUSING}")}], "reasonCode": both});
    let d = case.decide(ResourceType::ServiceRequest, &referral);
    assert_eq!(d.access, Access::Deny);
    assert!(
        matches!(d.withheld[0].rule, Rule::Sensitive { .. }),
        "{:?}",
        d.withheld
    );
}

#[test]
fn an_hna_concern_filed_under_another_domain_is_decided_by_its_own() {
    let mut h = hna();
    // Fear moved into the practical group: still emotional.
    h["item"][1]["item"] = json!([
        {"linkId": "housing", "answer": [{"valueInteger": 8}]},
        {"linkId": "worry-fear-anxiety", "answer": [{"valueInteger": 9}]}
    ]);
    h["item"][2]["item"] = json!([{"linkId": "loneliness", "answer": [{"valueInteger": 2}]}]);
    let mut deny = provision(Kind::Deny);
    deny.domains.push("emotional".into());
    let d = Case::new(Role::LinkWorker)
        .with(consent("c-private", deny))
        .decide(ResourceType::QuestionnaireResponse, &h);
    let withheld: Vec<&str> = d.withheld.iter().map(|w| w.element.as_str()).collect();
    assert_eq!(
        withheld,
        vec![
            "QuestionnaireResponse.item[1].item[1]",
            "QuestionnaireResponse.item[2].item[0]"
        ]
    );
    // An item the catalogue does not know is in its group's domain.
    h["item"][1]["item"][1]["linkId"] = json!("rent-arrears");
    let mut deny = provision(Kind::Deny);
    deny.domains.push("practical".into());
    let d = Case::new(Role::LinkWorker)
        .with(consent("c-private", deny))
        .decide(ResourceType::QuestionnaireResponse, &h);
    let withheld: Vec<&str> = d.withheld.iter().map(|w| w.element.as_str()).collect();
    assert_eq!(
        withheld,
        vec![
            "QuestionnaireResponse.item[1].item[0]",
            "QuestionnaireResponse.item[1].item[1]"
        ]
    );
}

#[test]
fn nested_provisions_are_exceptions_and_deny_overrides_permit_across_consents() {
    // Deny everything to GPs, except care plans.
    let mut root = for_actor(provision(Kind::Deny), Role::Gp, None);
    let mut except = provision(Kind::Permit);
    except.classes.push(ResourceType::CarePlan);
    except.path = "Consent.provision.provision[0]".into();
    root.nested.push(except);
    let gp = Case::new(Role::Gp).with(consent("c-nested", root));
    assert_eq!(
        gp.decide(ResourceType::QuestionnaireResponse, &hna())
            .access,
        Access::Deny
    );
    let d = gp.decide(ResourceType::CarePlan, &plan(false));
    assert_eq!(
        d.access,
        Access::Permit,
        "the exception permits even an unshared plan"
    );
    assert_eq!(
        d.rule,
        Rule::Provision {
            consent: "c-nested".into(),
            path: "Consent.provision.provision[0]".into(),
            kind: Kind::Permit
        }
    );
    // A second consent denying care plans wins over the first's permit.
    let mut deny = provision(Kind::Deny);
    deny.classes.push(ResourceType::CarePlan);
    let both = gp.with(consent("c-deny", deny));
    let d = both.decide(ResourceType::CarePlan, &plan(true));
    assert_eq!(d.access, Access::Deny);
    assert_eq!(d.rule.consent(), Some("c-deny"));
}

#[test]
fn period_and_purpose_narrow_a_provision() {
    let mut expired = provision(Kind::Deny);
    expired.period = Window {
        from: None,
        to: Some(NOW - 1),
    };
    let gp = Case::new(Role::Gp).with(consent("c-old", expired));
    assert_eq!(
        gp.decide(ResourceType::QuestionnaireResponse, &hna())
            .access,
        Access::Permit
    );

    let mut research_only = provision(Kind::Deny);
    research_only.purposes.push("HRESCH".into());
    let gp = Case::new(Role::Gp).with(consent("c-research", research_only));
    assert_eq!(
        gp.decide(ResourceType::QuestionnaireResponse, &hna())
            .access,
        Access::Permit
    );
}

#[test]
fn breaking_the_glass_needs_a_reason_a_health_care_role_and_a_relationship() {
    let deny_all = || consent("c-deny", provision(Kind::Deny));
    let mut btg = Case::new(Role::Gp).with(deny_all());
    btg.purpose = "BTG";
    assert_eq!(
        btg.decide(ResourceType::QuestionnaireResponse, &hna())
            .access,
        Access::Deny
    );
    btg.reason = Some("unconscious in A&E");
    let d = btg.decide(ResourceType::QuestionnaireResponse, &hna());
    assert_eq!(d.access, Access::Permit);
    assert!(d.break_glass());

    let mut housing = Case::new(Role::Housing).with(deny_all());
    housing.purpose = "BTG";
    housing.reason = Some("urgent");
    assert_eq!(
        housing.decide(ResourceType::CarePlan, &plan(true)).access,
        Access::Deny
    );

    btg.related = false;
    assert_eq!(
        btg.decide(ResourceType::QuestionnaireResponse, &hna())
            .access,
        Access::Deny
    );
}

#[test]
fn the_patient_of_each_type_is_read_from_its_reference() {
    use super::decision::patient_of;
    use crate::fhir::ids::PatientId;
    let r = |k: &str| json!({k: {"reference": "Patient/p9"}});
    assert_eq!(
        patient_of(ResourceType::CarePlan, &r("subject"))
            .as_ref()
            .map(PatientId::as_str),
        Some("p9")
    );
    assert_eq!(
        patient_of(ResourceType::Task, &r("for"))
            .as_ref()
            .map(PatientId::as_str),
        Some("p9")
    );
    assert_eq!(
        patient_of(ResourceType::Consent, &r("patient"))
            .as_ref()
            .map(PatientId::as_str),
        Some("p9")
    );
    assert_eq!(
        patient_of(ResourceType::Patient, &json!({"id": "p9"}))
            .as_ref()
            .map(PatientId::as_str),
        Some("p9")
    );
    assert_eq!(
        patient_of(
            ResourceType::CarePlan,
            &json!({"subject": {"reference": "Group/1"}})
        ),
        None
    );
    let two = json!({"target": [{"reference": "Patient/a"}, {"reference": "Patient/b"}]});
    assert_eq!(patient_of(ResourceType::Provenance, &two), None);
    // An id that is not a FHIR id names no patient (the engine then denies: `Rule::NoPatient`).
    for bad in ["Patient/", "Patient/a/b", "Patient/a b"] {
        let r = json!({"subject": {"reference": bad}});
        assert_eq!(patient_of(ResourceType::CarePlan, &r), None, "{bad}");
    }
    assert_eq!(patient_of(ResourceType::Patient, &json!({"id": ""})), None);
}

/// Generated consents: every property below holds for any of them.
mod properties {
    use proptest::prelude::*;

    use super::*;

    const ROLES: [Role; 5] = [
        Role::LinkWorker,
        Role::Cns,
        Role::Gp,
        Role::Housing,
        Role::SocialCare,
    ];
    const CLASSES: [ResourceType; 3] = [
        ResourceType::CarePlan,
        ResourceType::QuestionnaireResponse,
        ResourceType::ServiceRequest,
    ];
    const DOMAINS: [&str; 3] = ["practical", "emotional", "physical"];
    const PURPOSES: [&str; 2] = ["TREAT", "HRESCH"];

    fn leaf() -> impl Strategy<Value = Provision> {
        (
            any::<bool>(),
            proptest::option::of(0..ROLES.len()),
            proptest::option::of(0..CLASSES.len()),
            proptest::option::of(0..DOMAINS.len()),
            proptest::option::of(0..PURPOSES.len()),
        )
            .prop_map(|(permit, role, class, domain, purpose)| {
                let mut p = provision(if permit { Kind::Permit } else { Kind::Deny });
                if let Some(r) = role {
                    p.actors.push(Actor {
                        role: Some(ROLES[r]),
                        organization: None,
                    });
                }
                p.classes.extend(class.map(|c| CLASSES[c]));
                p.domains.extend(domain.map(|d| DOMAINS[d].to_owned()));
                p.purposes.extend(purpose.map(|x| PURPOSES[x].to_owned()));
                p
            })
    }

    fn tree() -> impl Strategy<Value = Provision> {
        (leaf(), proptest::collection::vec(leaf(), 0..3)).prop_map(|(mut root, nested)| {
            root.nested = nested;
            root
        })
    }

    fn consents() -> impl Strategy<Value = Vec<ConsentRecord>> {
        some_consents(0)
    }

    /// At least `min` (and fewer than 4) generated consents.
    fn some_consents(min: usize) -> impl Strategy<Value = Vec<ConsentRecord>> {
        proptest::collection::vec(tree(), min..4).prop_map(|trees| {
            trees
                .into_iter()
                .enumerate()
                .map(|(i, t)| consent(&format!("c{i}"), t))
                .collect()
        })
    }

    /// Every (role, purpose, class, domain) the generated consents can speak about, with whether
    /// it is visible.
    fn visible(consents: &[ConsentRecord]) -> Vec<bool> {
        let policy = Policy::default();
        let mut out = Vec::new();
        for role in ROLES {
            let orgs = vec![org(org_of(role))];
            for purpose in PURPOSES {
                let recipient = Recipient {
                    role,
                    ods: None,
                    organizations: &orgs,
                    purpose,
                    break_glass_reason: None,
                };
                for class in CLASSES {
                    for domain in DOMAINS.iter().map(Some).chain([None]) {
                        let content = Content {
                            class,
                            domain: domain.copied(),
                            concern: None,
                        };
                        let facts = Facts {
                            related: true,
                            consents,
                        };
                        out.push(verdict(&recipient, content, facts, &policy, None, NOW).permit);
                    }
                }
            }
        }
        out
    }

    fn never_more(before: &[bool], after: &[bool]) -> bool {
        before.iter().zip(after).all(|(b, a)| *b || !*a)
    }

    proptest! {
        #[test]
        fn adding_a_deny_consent_never_reveals_more(cs in consents(), extra in tree()) {
            let mut deny = extra;
            deny.kind = Kind::Deny;
            for n in &mut deny.nested { n.kind = Kind::Deny; }
            let before = visible(&cs);
            let mut more = cs.clone();
            more.push(consent("c-new", deny));
            prop_assert!(never_more(&before, &visible(&more)));
        }

        #[test]
        fn adding_a_nested_deny_never_reveals_more(cs in some_consents(1), extra in leaf(), at in 0usize..4) {
            let mut deny = extra;
            deny.kind = Kind::Deny;
            let before = visible(&cs);
            let mut more = cs.clone();
            let i = at % more.len();
            more[i].root.nested.insert(0, deny);
            prop_assert!(never_more(&before, &visible(&more)));
        }

        #[test]
        fn withdrawing_a_permit_consent_never_reveals_more(cs in consents(), extra in tree()) {
            // The consent withdrawn permits throughout (withdrawing a deny is meant to share more).
            let mut permit = extra;
            permit.kind = Kind::Permit;
            for n in &mut permit.nested { n.kind = Kind::Permit; }
            let mut with = cs.clone();
            with.push(consent("c-permit", permit));
            let before = visible(&with);
            let last = with.len() - 1;
            with[last].active = false;
            prop_assert!(never_more(&before, &visible(&with)));
        }

        #[test]
        fn nothing_reaches_an_unrelated_organisation(cs in consents()) {
            let policy = Policy::default();
            let orgs = vec![org(PRACTICE)];
            for role in ROLES {
                let recipient = Recipient { role, ods: None, organizations: &orgs, purpose: "TREAT", break_glass_reason: None };
                let facts = Facts { related: false, consents: &cs };
                let content = Content { class: ResourceType::CarePlan, domain: Some("practical"), concern: None };
                prop_assert!(!verdict(&recipient, content, facts, &policy, None, NOW).permit);
            }
        }

        #[test]
        fn sensitive_domains_stay_in_health_care_unless_named(cs in consents()) {
            let policy = Policy::default();
            for role in [Role::Housing, Role::SocialCare] {
                let orgs = vec![org(org_of(role))];
                let recipient = Recipient { role, ods: None, organizations: &orgs, purpose: "TREAT", break_glass_reason: None };
                let facts = Facts { related: true, consents: &cs };
                let content = Content { class: ResourceType::CarePlan, domain: Some("emotional"), concern: None };
                let named = cs.iter().any(|c| names_emotional(&c.root));
                prop_assert!(named || !verdict(&recipient, content, facts, &policy, None, NOW).permit);
            }
        }
    }

    fn names_emotional(p: &Provision) -> bool {
        p.domains.iter().any(|d| d == "emotional") || p.nested.iter().any(names_emotional)
    }
}
