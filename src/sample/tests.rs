//! The sample world loads through the real engine, loads again without change, and shows each
//! role what the module's table says.

use std::sync::Arc;

use serde_json::Value;

use super::*;
use crate::auth::scopes::Grants;
use crate::auth::{Principal, Role};

fn caller(role: Role, org: Option<&str>, patient: Option<&str>) -> Arc<Principal> {
    let mut p = Principal::system();
    p.role = role;
    p.organization = org.map(str::to_owned);
    p.patient = patient.map(str::to_owned);
    p.grants = Grants::new(&["user/*.rs", "patient/*.rs"]);
    Arc::new(p)
}

async fn search(engine: &Engine, role: Role, org: Option<&str>, rtype: ResourceType) -> Vec<Value> {
    let gate = engine.gate(caller(role, org, None), None);
    let reply = engine
        .search(&crate::search::SearchQuery::all(rtype, 20), &[], &gate)
        .await
        .expect("search");
    let bundle = reply.body.expect("a bundle").into_value();
    bundle["entry"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|e| e["resource"].clone())
        .collect()
}

fn concerns(plan: &Value) -> Vec<&str> {
    plan["activity"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["detail"]["reasonCode"][0]["coding"][0]["code"].as_str())
        .collect()
}

#[tokio::test]
async fn the_sample_world_shows_each_role_its_share() {
    use ResourceType::{CarePlan, QuestionnaireResponse, ServiceRequest};
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = crate::config::test_engine(dir.path()).await;
    let world = load(&engine).await.expect("loaded");
    let again = load(&engine).await.expect("loaded again");
    assert_eq!(world, again, "a second load finds what the first wrote");
    let [ann, bob, cara] = &world.patients;
    let of = |p: &str| format!("Patient/{p}");

    // Who finds whose resources: (role, organisation, type, the patients found).
    let cases = [
        (Role::Housing, Some("H0001"), CarePlan, vec![of(ann)]),
        (
            Role::SocialCare,
            Some("W0001"),
            ServiceRequest,
            vec![of(ann)],
        ),
        (
            Role::SocialCare,
            Some("W0001"),
            QuestionnaireResponse,
            vec![],
        ),
        (Role::Gp, Some("A81001"), CarePlan, vec![of(ann), of(cara)]),
        // Cara denied her GP her HNA.
        (
            Role::Gp,
            Some("A81001"),
            QuestionnaireResponse,
            vec![of(ann)],
        ),
        // Bob did not share his plan with his GP.
        (Role::Gp, Some("B82002"), CarePlan, vec![]),
        (
            Role::Gp,
            Some("B82002"),
            QuestionnaireResponse,
            vec![of(bob)],
        ),
        (
            Role::LinkWorker,
            Some("L0001"),
            CarePlan,
            vec![of(ann), of(bob), of(cara)],
        ),
        (Role::Cns, Some("RH001"), CarePlan, vec![of(ann)]),
        (Role::Auditor, None, CarePlan, vec![]),
    ];
    // Housing's and welfare's worklists hold their own Task, at the point the story left it; the hospital
    // sees all three, with each referral's status following its Task.
    let tasks = |found: Vec<Value>| -> Vec<String> {
        let mut out: Vec<String> = found
            .iter()
            .filter_map(|t| t["status"].as_str().map(str::to_owned))
            .collect();
        out.sort();
        out
    };
    for (role, org, want) in [
        (Role::Housing, "H0001", vec!["requested"]),
        (Role::SocialCare, "W0001", vec!["accepted"]),
        // The link service manages Ann's record: it sees all her referrals' Tasks.
        (
            Role::LinkWorker,
            "L0001",
            vec!["accepted", "in-progress", "requested"],
        ),
    ] {
        let found = tasks(search(&engine, role, Some(org), ResourceType::Task).await);
        assert_eq!(found, want, "{role}");
    }
    let hospital = search(&engine, Role::Cns, Some("RH001"), ResourceType::Task).await;
    let mut statuses: Vec<&str> = hospital
        .iter()
        .filter_map(|t| t["status"].as_str())
        .collect();
    statuses.sort_unstable();
    assert_eq!(statuses, vec!["accepted", "in-progress", "requested"]);
    let referrals = search(&engine, Role::Cns, Some("RH001"), ServiceRequest).await;
    assert!(
        referrals.iter().all(|r| r["status"] == "active"),
        "{referrals:?}"
    );
    assert_eq!(referrals.len(), 3);

    for (role, org, rtype, mut want) in cases {
        let found = search(&engine, role, org, rtype).await;
        let mut subjects: Vec<String> = found
            .iter()
            .filter_map(|r| r["subject"]["reference"].as_str().map(str::to_owned))
            .collect();
        subjects.sort();
        want.sort();
        assert_eq!(subjects, want, "{role} {org:?} {rtype}");
        if role == Role::Housing {
            assert_eq!(concerns(&found[0]), vec!["housing"]);
        }
    }
}

#[test]
fn sample_nhs_numbers_are_valid_test_numbers() {
    for n in 0..5 {
        let nhs = test_nhs_number(n);
        assert!(nhs.starts_with("999"), "{nhs}");
        assert!(crate::fhir::nhs_number::is_valid(&nhs), "{nhs}");
    }
}
