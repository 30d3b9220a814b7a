//! Authorising one parsed request (or bundle entry): the pure rules of [`super::policy`], then the
//! one rule that needs the store, whose sharing consent a link worker or patient may write.
//! The HTTP layer calls [`authorise`] once per request; bundles once per entry, before anything
//! of the bundle runs.

use serde_json::Value;

use super::Gate;
use super::policy;
use super::relationships::related;
use crate::auth::Role;
use crate::consent::decide::needed_relationships;
use crate::error::Error;
use crate::fhir::ResourceType;
use crate::interaction::{Interaction, Request};

/// 403 (or 405) unless the gate's caller may make `request`; `body` is the resource a write
/// sends. A refusal changes nothing: it comes before execution.
pub async fn authorise(gate: &Gate, request: &Request, body: Option<&Value>) -> Result<(), Error> {
    let principal = gate.principal();
    policy::permits(principal, request, gate.break_glass_reason().is_some())?;
    if principal.role == Role::System {
        return Ok(());
    }
    match &request.interaction {
        Interaction::Create {
            rtype: ResourceType::Consent,
            ..
        } => consent_write(gate, body, None).await,
        Interaction::Update {
            rtype: ResourceType::Consent,
            id,
        } => consent_write(gate, body, Some(id)).await,
        _ => Ok(()),
    }
}

/// A sharing-consent write by a link worker or patient: the consent's patient must be the
/// patient's own or related to the link worker's organisation, and an update must replace a
/// consent the caller can see (no update-as-create, so a write cannot probe for hidden ids).
/// Refusals name no data: an unknown patient and an unrelated one read alike.
async fn consent_write(
    gate: &Gate,
    consent: Option<&Value>,
    id: Option<&str>,
) -> Result<(), Error> {
    let principal = gate.principal();
    let patient = consent
        .and_then(|c| c.get("patient"))
        .and_then(|p| p.get("reference"))
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("Patient/"))
        .unwrap_or_default();
    let allowed = match principal.role {
        Role::Patient => !patient.is_empty() && principal.patient.as_deref() == Some(patient),
        Role::LinkWorker => {
            let orgs = gate.organizations().await?;
            related(
                gate.store(),
                patient,
                orgs,
                needed_relationships(Role::LinkWorker),
            )
            .await?
        }
        _ => false,
    };
    if !allowed {
        return Err(Error::Forbidden(
            "A consent may be recorded only for your own record, or by a link worker whose organisation cares for the patient".into(),
        ));
    }
    if let Some(id) = id {
        // Replacing a consent: it must exist and be visible (404 exactly as a read would say).
        let not_found = || Error::NotFound {
            rtype: ResourceType::Consent,
            id: id.to_owned(),
        };
        let current = gate
            .store()
            .backend()
            .read(ResourceType::Consent, id)
            .await?
            .filter(|r| !r.deleted)
            .ok_or_else(not_found)?;
        gate.admit(&current).await?.ok_or_else(not_found)?;
    }
    Ok(())
}
