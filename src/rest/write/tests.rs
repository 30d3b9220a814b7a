//! Conditional writes by a caller who cannot see everything: a match hidden from the caller is
//! as good as absent, and nothing hidden comes back in a reply.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::audit::write::Recording;
use crate::auth::scopes::Grants;
use crate::auth::{Principal, Role};
use crate::config::test_engine;
use crate::fhir::ResourceType;
use crate::rest::{Return, test_create as id_of};

/// A link worker of organisation L0001, with every user scope.
fn link_worker() -> Arc<Principal> {
    let mut p = Principal::system();
    p.role = Role::LinkWorker;
    p.organization = Some("L0001".into());
    p.scopes = vec!["user/*.cruds".into()];
    p.grants = Grants::new(&p.scopes);
    Arc::new(p)
}

fn plan(patient: &str, text: &str) -> Value {
    json!({"resourceType": "CarePlan", "status": "active", "intent": "plan",
        "description": text, "subject": {"reference": format!("Patient/{patient}")}})
}

#[tokio::test]
async fn a_hidden_match_is_as_good_as_absent() {
    let dir = tempfile::tempdir().expect("dir");
    let engine = test_engine(dir.path()).await;
    let service = id_of(
        &engine,
        ResourceType::Organization,
        json!({"resourceType": "Organization",
            "identifier": [{"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "L0001"}]}),
    )
    .await;
    // A person the link worker's organisation supports (it manages their record).
    let supported = id_of(
        &engine,
        ResourceType::Patient,
        json!({"resourceType": "Patient",
            "managingOrganization": {"reference": format!("Organization/{service}")}}),
    )
    .await;
    // A patient the link worker's organisation has no relationship with, and their plan.
    let stranger = id_of(
        &engine,
        ResourceType::Patient,
        json!({"resourceType": "Patient"}),
    )
    .await;
    let hidden = id_of(
        &engine,
        ResourceType::CarePlan,
        plan(&stranger, "not for you"),
    )
    .await;
    let gate = engine.gate(link_worker(), None);
    let criteria = engine
        .criteria(ResourceType::CarePlan, &format!("_id={hidden}"))
        .expect("criteria");

    // A conditional create creates, and returns only what it made.
    let created = engine
        .create(
            ResourceType::CarePlan,
            plan(&supported, "mine"),
            Some(&criteria),
            Return::Representation,
            &gate,
            &Recording::Unrecorded,
        )
        .await
        .expect("a create");
    assert_eq!(created.status.as_u16(), 201);
    let body = created
        .body
        .map(crate::rest::Body::into_string)
        .unwrap_or_default();
    assert!(!body.contains("not for you"), "{body}");

    // A conditional delete deletes nothing.
    let deleted = engine
        .conditional_delete(
            ResourceType::CarePlan,
            &criteria,
            &gate,
            &Recording::Unrecorded,
        )
        .await
        .expect("a delete");
    assert_eq!(deleted.status.as_u16(), 204);
    assert!(deleted.location.is_none(), "nothing was deleted");
    let still = engine
        .store()
        .backend()
        .read(ResourceType::CarePlan, &hidden)
        .await
        .expect("read")
        .expect("the hidden plan");
    assert!(!still.deleted);

    // An update or delete by id of the hidden plan reads as one of a missing plan.
    let update = engine
        .update(
            ResourceType::CarePlan,
            &hidden,
            json!({"resourceType": "CarePlan", "id": hidden, "status": "revoked", "intent": "plan",
                "subject": {"reference": format!("Patient/{stranger}")}}),
            None,
            Return::Minimal,
            &gate,
            &Recording::Unrecorded,
        )
        .await;
    assert_eq!(update.err().map(|e| e.status().as_u16()), Some(404));
    let delete = engine
        .delete(
            ResourceType::CarePlan,
            &hidden,
            None,
            &gate,
            &Recording::Unrecorded,
        )
        .await;
    assert_eq!(delete.err().map(|e| e.status().as_u16()), Some(404));

    // The same conditional create by the system finds the plan.
    let system = engine.system_gate();
    let found = engine
        .create(
            ResourceType::CarePlan,
            plan(&stranger, "again"),
            Some(&criteria),
            Return::Minimal,
            &system,
            &Recording::Unrecorded,
        )
        .await
        .expect("a create");
    assert_eq!(found.status.as_u16(), 200);
}
