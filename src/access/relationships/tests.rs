//! Relationships read from a real store, written through the engine as a client would.

use serde_json::{Value, json};

use super::*;
use crate::rest::{Engine, Return};

async fn engine(dir: &tempfile::TempDir) -> Engine {
    crate::rest::test_engine(dir.path()).await
}

async fn create(engine: &Engine, rtype: ResourceType, body: Value) -> String {
    let reply = engine
        .create(rtype, body, None, Return::Minimal)
        .await
        .expect("created");
    reply
        .location
        .as_deref()
        .and_then(|l| l.split('/').nth(1))
        .map(str::to_owned)
        .expect("a location")
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
        "requester": org_ref(&hospital), "performer": [org_ref(&welfare)]}),
    )
    .await;
    // Retracted: an entered-in-error referral and a deleted plan name the stranger.
    create(
        &e,
        ResourceType::ServiceRequest,
        json!({"resourceType": "ServiceRequest",
        "status": "entered-in-error", "intent": "order", "subject": subject,
        "performer": [org_ref(&stranger)]}),
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
    e.delete(ResourceType::CarePlan, &gone, None)
        .await
        .expect("deleted");

    let r = relationships(e.store(), &patient).await.expect("read");
    assert!(r.has(&practice, Relationship::RegisteredPractice));
    assert!(r.has(&trust, Relationship::ManagingOrganization));
    assert!(r.has(&link, Relationship::CareTeam));
    assert!(r.has(&housing, Relationship::PlanActivityPerformer));
    assert!(r.has(&hospital, Relationship::ReferralRequester));
    assert!(r.has(&welfare, Relationship::ReferralPerformer));
    assert!(r.of(&stranger).is_empty(), "{:?}", r.of(&stranger));
    assert!(!r.has(&housing, Relationship::CareTeam));
    // Another patient has none of them.
    let other = create(
        &e,
        ResourceType::Patient,
        json!({"resourceType": "Patient"}),
    )
    .await;
    let none = relationships(e.store(), &other).await.expect("read");
    assert_eq!(none, Relationships::default());
}
