//! `$consent-explain`: for an information-governance lead, what a recipient (role, organisation,
//! purpose of use) would get of one resource, and the rule and Consent that decided it, as a FHIR
//! `Parameters` resource. It runs the very decision the read paths run (the same [`Gate`]), for a
//! recipient described by the question rather than by a token, so it cannot drift from enforcement.
//!
//! Inputs (query): `resource` (`Type/id`, required), `role` (required), `organization` (ODS code;
//! required for roles acting for one), `purpose` (default `TREAT`), `patient` (a patient id; when
//! given, the resource must be theirs) and `break-glass-reason` (to ask about breaking the glass).
//! Output parameters: `decision` (permit | redacted | deny), `rule` and `explanation`, `consent`
//! (the deciding Consent, if any), `break-glass`, one `relationship` per care relationship the
//! organisation has with the patient, and one `withheld` part per element a redaction removes.

use std::sync::Arc;

use serde_json::{Value, json};

use super::Engine;
use super::parameters::QueryInputs;
use crate::access::{Gate, relationships};
use crate::auth::scopes::Grants;
use crate::auth::{Principal, Role};
use crate::consent::decision::{Access, patient_of};
use crate::error::Error;
use crate::fhir::ids::PatientId;

/// The question asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// `Type/id` of the resource.
    pub resource: String,
    /// The recipient's role.
    pub role: Role,
    /// The recipient's ODS code.
    pub organization: Option<String>,
    /// Purpose of use.
    pub purpose: String,
    /// The patient the resource should belong to.
    pub patient: Option<String>,
    /// A reason for breaking the glass.
    pub break_glass_reason: Option<String>,
}

impl Question {
    /// Reads the question from query parameters (400 naming the parameter at fault).
    pub fn from_query(pairs: &[(String, String)]) -> Result<Question, Error> {
        let q = QueryInputs::new(
            "$consent-explain",
            pairs,
            &[
                "resource",
                "role",
                "organization",
                "purpose",
                "patient",
                "break-glass-reason",
            ],
        )?;
        let get = |name: &str| q.get(name);
        let resource = get("resource")?
            .ok_or_else(|| Error::BadRequest("'resource' (Type/id) is required".into()))?;
        let role_text =
            get("role")?.ok_or_else(|| Error::BadRequest("'role' is required".into()))?;
        let role: Role = role_text
            .parse()
            .map_err(|()| Error::BadRequest("'role' is not a sharing role".into()))?;
        let organization = get("organization")?;
        if role.needs_organization() && organization.is_none() {
            return Err(Error::BadRequest(format!(
                "'organization' (ODS code) is required for the '{role}' role"
            )));
        }
        Ok(Question {
            resource,
            role,
            organization,
            purpose: get("purpose")?.unwrap_or_else(|| "TREAT".to_owned()),
            patient: get("patient")?,
            break_glass_reason: get("break-glass-reason")?,
        })
    }
}

/// Answers `q`.
pub async fn explain(engine: &Engine, q: &Question) -> Result<Value, Error> {
    let (t, id) = q
        .resource
        .split_once('/')
        .ok_or_else(|| Error::BadRequest("'resource' is Type/id".into()))?;
    let rtype = crate::rest::parse_type(t)?;
    let not_found = || Error::NotFound {
        rtype,
        id: id.to_owned(),
    };
    let stored = engine
        .store()
        .backend()
        .read(rtype, id)
        .await?
        .filter(|r| !r.deleted)
        .ok_or_else(not_found)?;
    let body: Value = serde_json::from_str(&stored.body)
        .map_err(|e| Error::internal_from("stored resource is not JSON", e))?;
    let patient = patient_of(rtype, &body);
    if let Some(asked) = &q.patient
        && patient.as_ref().map(PatientId::as_str) != Some(asked.as_str())
    {
        return Err(Error::BadRequest(format!(
            "{} does not belong to Patient/{}",
            q.resource,
            asked.chars().take(64).collect::<String>()
        )));
    }
    let recipient = Principal {
        subject: "explain".into(),
        role: q.role,
        organization: q.organization.clone(),
        fhir_user: None,
        scopes: Vec::new(),
        grants: Grants::new::<&str>(&[]),
        purpose: q.purpose.clone(),
        patient: (q.role == Role::Patient)
            .then(|| patient.clone().map(String::from))
            .flatten(),
        expires: i64::MAX,
        bound_certificate: None,
    };
    let gate: Gate = engine.gate(Arc::new(recipient), q.break_glass_reason.clone());
    let decision = gate.decide(&stored).await?;
    let mut params = vec![
        json!({"name": "decision", "valueCode": match decision.access {
            Access::Permit => "permit",
            Access::Redacted(_) => "redacted",
            Access::Deny => "deny",
        }}),
        json!({"name": "rule", "valueCode": decision.rule.code()}),
        json!({"name": "explanation", "valueString": decision.rule.describe()}),
        json!({"name": "break-glass", "valueBoolean": decision.break_glass()}),
    ];
    if let Some(c) = decision.rule.consent() {
        params.push(
            json!({"name": "consent", "valueReference": {"reference": format!("Consent/{c}")}}),
        );
    }
    if let Some(p) = &patient {
        let orgs = gate.organizations().await?;
        for r in relationships(engine.store(), p, orgs).await? {
            params.push(json!({"name": "relationship", "valueCode": r.code()}));
        }
    }
    for w in &decision.withheld {
        let mut part = vec![
            json!({"name": "element", "valueString": w.element}),
            json!({"name": "rule", "valueCode": w.rule.code()}),
            json!({"name": "explanation", "valueString": w.rule.describe()}),
        ];
        if let Some(c) = w.rule.consent() {
            part.push(
                json!({"name": "consent", "valueReference": {"reference": format!("Consent/{c}")}}),
            );
        }
        params.push(json!({"name": "withheld", "part": part}));
    }
    Ok(json!({"resourceType": "Parameters", "parameter": params}))
}
