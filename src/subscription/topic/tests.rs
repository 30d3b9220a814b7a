use serde_json::{Value, json};

use super::*;

const SHARED: &str = "https://fhir.carebridge.uk/StructureDefinition/pcsp-shared-with";

fn task(status: &str) -> Value {
    json!({"resourceType": "Task", "status": status, "intent": "order",
        "owner": {"reference": "Organization/housing"},
        "requester": {"reference": "Organization/hospital"},
        "for": {"reference": "Patient/ann"}})
}

fn orgs(ids: &[&str]) -> Concerned {
    Concerned::Organizations(ids.iter().map(|s| (*s).to_owned()).collect())
}

fn topics(events: &[Triggered]) -> Vec<Topic> {
    events.iter().map(|e| e.topic).collect()
}

#[test]
fn a_new_task_tells_its_owner_and_a_status_change_tells_both_sides() {
    let t = ResourceType::Task;
    let created = triggered(t, None, Some(&task("requested")), SHARED);
    assert_eq!(
        created,
        vec![Triggered {
            topic: Topic::ReferralAddressed,
            concerned: orgs(&["housing"])
        }]
    );
    let accepted = triggered(t, Some(&task("requested")), Some(&task("accepted")), SHARED);
    assert_eq!(
        accepted,
        vec![
            Triggered {
                topic: Topic::ReferralAddressed,
                concerned: orgs(&["housing"])
            },
            Triggered {
                topic: Topic::ReferralSent,
                concerned: orgs(&["hospital"])
            }
        ]
    );
    let mut noted = task("accepted");
    noted["note"] = json!([{"text": "called"}]);
    assert!(triggered(t, Some(&task("accepted")), Some(&noted), SHARED).is_empty());
    let deleted = triggered(t, Some(&task("accepted")), None, SHARED);
    assert_eq!(
        topics(&deleted),
        [Topic::ReferralAddressed, Topic::ReferralSent]
    );
}

#[test]
fn a_new_referral_tells_every_performer() {
    let sr = json!({"resourceType": "ServiceRequest", "status": "active",
        "performer": [{"reference": "Organization/housing"}, {"reference": "Practitioner/p1"},
            {"reference": "https://x/fhir/Organization/welfare"}],
        "requester": {"reference": "Organization/hospital"}});
    assert_eq!(
        triggered(ResourceType::ServiceRequest, None, Some(&sr), SHARED),
        vec![Triggered {
            topic: Topic::ReferralAddressed,
            concerned: orgs(&["housing", "welfare"])
        }]
    );
}

fn plan(shared: bool) -> Value {
    let mut p = json!({"resourceType": "CarePlan", "status": "active", "intent": "plan",
        "subject": {"reference": "Patient/ann"}, "title": "Ann's plan",
        "activity": [{"detail": {"status": "scheduled"}}]});
    if shared {
        p["extension"] = json!([{"url": SHARED, "valueCode": "gp"}]);
    }
    p
}

#[test]
fn a_shared_plan_tells_the_practice_of_what_matters_to_it() {
    let t = ResourceType::CarePlan;
    let practice = vec![Triggered {
        topic: Topic::PcspShared,
        concerned: Concerned::PracticeOf("ann".into()),
    }];
    assert_eq!(triggered(t, None, Some(&plan(true)), SHARED), practice);
    let mut retitled = plan(true);
    retitled["title"] = json!("New title");
    assert!(
        triggered(t, Some(&plan(true)), Some(&retitled), SHARED).is_empty(),
        "metadata only"
    );
    let mut done = plan(true);
    done["activity"][0]["detail"]["status"] = json!("completed");
    assert_eq!(
        triggered(t, Some(&plan(true)), Some(&done), SHARED),
        practice
    );
    assert_eq!(
        triggered(t, Some(&plan(true)), Some(&plan(false)), SHARED),
        practice,
        "no longer shared"
    );
    assert!(
        triggered(t, None, Some(&plan(false)), SHARED).is_empty(),
        "never shared"
    );
    assert!(triggered(t, Some(&plan(false)), Some(&done_unshared()), SHARED).is_empty());
}

fn done_unshared() -> Value {
    let mut p = plan(false);
    p["status"] = json!("completed");
    p
}

#[test]
fn a_consent_tells_the_organisations_its_provisions_name() {
    let consent = |org: &str| {
        json!({"resourceType": "Consent", "status": "active",
            "provision": {"type": "deny", "actor": [{"reference": {"reference": "Organization/gp1"}}],
                "provision": [{"type": "permit", "actor": [
                    {"role": {"text": "housing"}},
                    {"reference": {"reference": format!("Organization/{org}")}}]}]}})
    };
    let before = consent("housing");
    let after = consent("welfare");
    assert_eq!(
        triggered(ResourceType::Consent, Some(&before), Some(&after), SHARED),
        vec![Triggered {
            topic: Topic::ConsentChanged,
            concerned: orgs(&["gp1", "housing", "welfare"])
        }]
    );
    let roles_only =
        json!({"resourceType": "Consent", "provision": {"actor": [{"role": {"text": "gp"}}]}});
    assert!(triggered(ResourceType::Consent, None, Some(&roles_only), SHARED).is_empty());
}

#[test]
fn topics_name_themselves_and_their_types() {
    for t in Topic::ALL {
        assert_eq!(Topic::from_code(t.code()), Some(t));
        assert!(!t.resource_types().is_empty());
    }
    assert_eq!(Topic::from_code("nope"), None);
    assert!(watched(ResourceType::Task) && watched(ResourceType::Consent));
    assert!(!watched(ResourceType::Patient));
}
