//! Relationships read from a real store, written through the engine as a client would.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::*;
use crate::rest::{Engine, test_create as create};

async fn engine(dir: &tempfile::TempDir) -> Engine {
    crate::config::test_engine(dir.path()).await
}

fn pid(id: &str) -> PatientId<'_> {
    PatientId::parse(id).expect("a server-assigned id")
}

fn ids(orgs: &[String]) -> Vec<OrganizationId<'_>> {
    orgs.iter()
        .map(|o| OrganizationId::parse(o).expect("a server-assigned id"))
        .collect()
}

fn org_ref(id: &str) -> Value {
    json!({"reference": format!("Organization/{id}")})
}

#[tokio::test]
async fn every_source_of_a_relationship_counts_and_retracted_ones_do_not() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = engine(&dir).await;
    let mut orgs = Vec::new();
    for name in [
        "Practice", "Trust", "Link", "Housing", "Hospital", "Welfare", "Stranger",
    ] {
        orgs.push(
            create(
                &e,
                ResourceType::Organization,
                json!({"resourceType": "Organization", "name": name}),
            )
            .await,
        );
    }
    let [practice, trust, link, housing, hospital, welfare, stranger] =
        <[String; 7]>::try_from(orgs).expect("seven");
    let patient = create(
        &e,
        ResourceType::Patient,
        json!({"resourceType": "Patient", "generalPractitioner": [org_ref(&practice)],
            "managingOrganization": org_ref(&trust)}),
    )
    .await;
    let subject = json!({"reference": format!("Patient/{patient}")});
    create(
        &e,
        ResourceType::CareTeam,
        json!({"resourceType": "CareTeam", "status": "active",
        "subject": subject, "participant": [{"member": org_ref(&link)}]}),
    )
    .await;
    create(
        &e,
        ResourceType::CarePlan,
        json!({"resourceType": "CarePlan", "status": "active",
        "intent": "plan", "subject": subject,
        "activity": [{"detail": {"status": "scheduled", "performer": [org_ref(&housing)]}}]}),
    )
    .await;
    create(
        &e,
        ResourceType::ServiceRequest,
        json!({"resourceType": "ServiceRequest",
        "status": "active", "intent": "order", "subject": subject,
        "category": [{"coding": [{"system": "http://snomed.info/sct", "code": "3457005"}]}],
        "authoredOn": "2026-12-01",
        "requester": org_ref(&hospital), "performer": [org_ref(&welfare)]}),
    )
    .await;
    // Retracted: an entered-in-error referral and a deleted plan name the stranger.
    create(
        &e,
        ResourceType::ServiceRequest,
        json!({"resourceType": "ServiceRequest",
        "status": "entered-in-error", "intent": "order", "subject": subject,
        "category": [{"coding": [{"system": "http://snomed.info/sct", "code": "3457005"}]}],
        "authoredOn": "2026-12-01",
        "requester": org_ref(&hospital), "performer": [org_ref(&stranger)]}),
    )
    .await;
    // Retracted too: a revoked referral (rejected, cancelled or failed) to the stranger.
    create(
        &e,
        ResourceType::ServiceRequest,
        json!({"resourceType": "ServiceRequest",
        "status": "revoked", "intent": "order", "subject": subject,
        "category": [{"coding": [{"system": "http://snomed.info/sct", "code": "3457005"}]}],
        "authoredOn": "2026-12-01",
        "requester": org_ref(&hospital), "performer": [org_ref(&stranger)]}),
    )
    .await;
    let gone = create(
        &e,
        ResourceType::CarePlan,
        json!({"resourceType": "CarePlan",
        "status": "active", "intent": "plan", "subject": subject,
        "activity": [{"detail": {"status": "scheduled", "performer": [org_ref(&stranger)]}}]}),
    )
    .await;
    let system = e.system_gate();
    let unrecorded = crate::audit::write::Recording::Unrecorded;
    e.delete(ResourceType::CarePlan, &gone, None, &system, &unrecorded)
        .await
        .expect("deleted");

    use CareLink::*;
    let expect = [
        (&practice, RegisteredPractice),
        (&trust, ManagingOrganization),
        (&link, CareTeam),
        (&housing, PlanActivityPerformer),
        (&hospital, ReferralRequester),
        (&welfare, ReferralPerformer),
    ];
    for (org, link) in expect {
        let found = relationships(e.store(), &pid(&patient), &ids(std::slice::from_ref(org)))
            .await
            .expect("read");
        assert_eq!(found, BTreeSet::from([link]), "{link:?}");
    }
    let strangers = [stranger];
    assert!(
        relationships(e.store(), &pid(&patient), &ids(&strangers))
            .await
            .expect("read")
            .is_empty()
    );
    let all = [practice.clone(), housing.clone()];
    assert!(
        related(
            e.store(),
            &pid(&patient),
            &ids(&all),
            &[PlanActivityPerformer]
        )
        .await
        .expect("read")
    );
    assert!(
        !related(e.store(), &pid(&patient), &ids(&all), &[CareTeam])
            .await
            .expect("read")
    );
    // Another patient has none of them, and an unknown patient none either.
    let other = create(
        &e,
        ResourceType::Patient,
        json!({"resourceType": "Patient"}),
    )
    .await;
    let everyone = [practice, trust, link, housing, hospital, welfare];
    assert!(
        relationships(e.store(), &pid(&other), &ids(&everyone))
            .await
            .expect("read")
            .is_empty()
    );
    assert!(
        relationships(e.store(), &pid("no-such"), &ids(&everyone))
            .await
            .expect("read")
            .is_empty()
    );
}

#[tokio::test]
async fn a_retracted_care_team_counts_for_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = engine(&dir).await;
    let org = create(
        &e,
        ResourceType::Organization,
        json!({"resourceType": "Organization"}),
    )
    .await;
    let patient = create(
        &e,
        ResourceType::Patient,
        json!({"resourceType": "Patient"}),
    )
    .await;
    create(
        &e,
        ResourceType::CareTeam,
        json!({"resourceType": "CareTeam", "status": "inactive",
            "subject": {"reference": format!("Patient/{patient}")},
            "participant": [{"member": org_ref(&org)}]}),
    )
    .await;
    let orgs = [org];
    assert!(
        !related(
            e.store(),
            &pid(&patient),
            &ids(&orgs),
            &[CareLink::CareTeam]
        )
        .await
        .expect("read")
    );
}
