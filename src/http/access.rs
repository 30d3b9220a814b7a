//! What each role may do besides reading through consent (design.md sections 3 and 4), checked
//! before any handler runs so a refused request changes nothing, and the per-request access gate.
//!
//! - `system` tokens: anything their scopes grant.
//! - Every other role reads and searches (consent decides what it sees) and writes nothing, except:
//!   a link worker (recording the person's decision) or the patient creates or updates a sharing
//!   `Consent` (never conditionally), for a patient the link worker's organisation is related to or
//!   the patient's own; an update must name a consent the caller can see (no update-as-create, so
//!   a write cannot probe for hidden ids).
//! - Type and system history, `$hna-outcomes` (figures over every patient) are for system callers;
//!   `$consent-explain`, `$audit-verify` and `$audit-export` for auditors and system callers.
//! - AuditEvent is the gateway's own log: create, update and delete are 405 for every caller,
//!   `system` included.
//! - Purpose of use `BTG` needs a reason in the `X-Break-Glass-Reason` header; without one the
//!   request is refused outright rather than served as an ordinary one.

use std::sync::Arc;

use actix_web::HttpRequest;
use serde_json::Value;

use super::authorise::{self, Need};
use crate::access::{Gate, related};
use crate::auth::scopes::Permission;
use crate::auth::{Principal, Role};
use crate::consent::decide::{BREAK_GLASS, needed_relationships};
use crate::error::Error;
use crate::rest::Engine;

/// The header carrying the reason for breaking the glass.
pub const BREAK_GLASS_HEADER: &str = "x-break-glass-reason";

/// The access gate of request `req`, left on the request too, for its audit event.
pub fn gate(req: &HttpRequest, engine: &Engine) -> Result<Arc<Gate>, Error> {
    use actix_web::HttpMessage as _;
    let principal = authorise::principal(req)?;
    let gate = Arc::new(engine.gate(principal, break_glass_reason(req)));
    req.extensions_mut().insert(Arc::clone(&gate));
    Ok(gate)
}

fn break_glass_reason(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(BREAK_GLASS_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().chars().take(500).collect::<String>())
        .filter(|s| !s.is_empty())
}

/// 403 unless the role may make a request with `needs` to `path` (below the FHIR base).
pub fn role_permits(
    principal: &Principal,
    req: &HttpRequest,
    path: &str,
    needs: Option<&[Need]>,
) -> Result<(), Error> {
    if principal.purpose == BREAK_GLASS && break_glass_reason(req).is_none() {
        return Err(Error::Forbidden(
            "Breaking the glass (purpose of use BTG) needs a reason in the X-Break-Glass-Reason header".into(),
        ));
    }
    append_only(needs.unwrap_or_default())?;
    if principal.role == Role::System {
        return Ok(());
    }
    let operation = path.trim_start_matches('/');
    if operation.starts_with("$hna-outcomes") {
        return Err(forbidden(principal, "run $hna-outcomes"));
    }
    let governance = ["$consent-explain", "$audit-verify", "$audit-export"];
    if governance.iter().any(|op| operation.starts_with(op)) {
        return if principal.role == Role::Auditor {
            Ok(())
        } else {
            Err(forbidden(
                principal,
                "run this information-governance operation",
            ))
        };
    }
    needs.map_or(Ok(()), |n| writes_permitted(principal, n))
}

/// 403 unless every need is a read or search, or the one sharing-consent write the role may make.
fn writes_permitted(principal: &Principal, needs: &[Need]) -> Result<(), Error> {
    if principal.role == Role::System {
        return Ok(());
    }
    let consent_writer = matches!(principal.role, Role::LinkWorker | Role::Patient);
    let consent_write =
        matches!(needs, [(t, Permission::Create | Permission::Update)] if t == "Consent");
    let reads_only = needs
        .iter()
        .all(|(_, i)| matches!(i, Permission::Read | Permission::Search));
    if reads_only || (consent_writer && consent_write) {
        Ok(())
    } else {
        Err(forbidden(principal, "write this"))
    }
}

/// 405 for a create, update or delete of AuditEvent, by anyone: the audit trail is the gateway's
/// own record, written by it alone and never changed.
pub fn append_only(needs: &[Need]) -> Result<(), Error> {
    let rewrites_audit = needs.iter().any(|(t, i)| {
        t == "AuditEvent"
            && matches!(
                i,
                Permission::Create | Permission::Update | Permission::Delete
            )
    });
    if rewrites_audit {
        Err(Error::MethodNotAllowed)
    } else {
        Ok(())
    }
}

/// 403 unless every entry of a bundle is a read or search (or the caller is a system): the consent
/// write checks are made per request, not per entry.
pub fn bundle_permitted(principal: &Principal, needs: &[Need]) -> Result<(), Error> {
    let reads_only = needs
        .iter()
        .all(|(_, i)| matches!(i, Permission::Read | Permission::Search));
    if principal.role == Role::System || reads_only {
        Ok(())
    } else {
        Err(forbidden(principal, "write in a bundle"))
    }
}

fn forbidden(principal: &Principal, what: &str) -> Error {
    Error::Forbidden(format!("The '{}' role may not {what}", principal.role))
}

/// Checks a sharing-consent write by a link worker or patient: the consent's patient must be the
/// patient's own or related to the link worker's organisation, and an update must replace a consent
/// the caller can see. Refusals name no data: an unknown patient and an unrelated one read alike.
pub async fn check_consent_write(
    engine: &Engine,
    gate: &Gate,
    consent: &Value,
    id: Option<&str>,
) -> Result<(), Error> {
    let principal = gate.principal();
    if principal.role == Role::System {
        return Ok(());
    }
    let patient = consent
        .get("patient")
        .and_then(|p| p.get("reference"))
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("Patient/"))
        .unwrap_or_default();
    let allowed = match principal.role {
        Role::Patient => principal.patient.as_deref() == Some(patient),
        Role::LinkWorker => {
            let orgs = gate.organizations().await?;
            related(
                engine.store(),
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
        engine
            .read(crate::fhir::ResourceType::Consent, id, gate)
            .await?;
    }
    Ok(())
}
