//! `QuestionnaireResponse/$extract` (HL7 SDC): an HNA becomes a draft PCSP CarePlan
//! ([`crate::hna::plan::draft_plan`] decides its content).
//!
//! Parameters, in a `Parameters` body or as query parameters (each at most once, in either place;
//! see [`super::parameters`]):
//! `questionnaire-response` (a resource; type level only, where it is required), `threshold`
//! (integer 0-10, default the configured `extract_threshold`) and `store` (boolean, default false).
//! At type level the body may also be the QuestionnaireResponse itself (the FHIR rule for an
//! operation whose one resource input is given alone).
//!
//! Decisions:
//! - Output: SDC allows the extracted resource or a Bundle (a transaction to post). One CarePlan is
//!   extracted, so it is returned itself: a client can read it or `POST` it unchanged.
//! - `store=false` (default): 200 with the draft, nothing written.
//! - `store=true`: only for a stored response (instance level), so that the plan links back to it.
//!   The plan goes through [`Engine::create`] (validation and PCSP rules as for any client) as a
//!   conditional create on `supporting-info=QuestionnaireResponse/<id>`, so the check and the write
//!   are atomic: when a live plan already lists the response, 409 names that plan and nothing is
//!   written (a second draft would sit beside a plan being agreed, or tempt an overwrite).
//! - An inline response is validated as if it were being created (structure and HNA rules) before it
//!   is drafted; a stored one was validated when written.
//! - A response whose scores cannot be read (outside 0-10, not an integer, answered twice) is 422.

use std::collections::HashSet;

use actix_web::http::StatusCode;
use serde_json::Value;

use super::parameters::{bad, body_parameters, is_format, name_of, once, unknown};
use super::{Engine, Reply, Return};
use crate::error::Error;
use crate::fhir::instant::{format_instant, now_ms};
use crate::fhir::validate::{IdRule, validate};
use crate::fhir::{OutcomeIssue, ResourceType};
use crate::hna::SEVERITY_RANGE;
use crate::hna::plan::draft_plan;

const P_RESPONSE: &str = "questionnaire-response";
const P_THRESHOLD: &str = "threshold";
const P_STORE: &str = "store";

/// The operation's inputs, parsed.
#[derive(Debug, Default)]
struct Params {
    response: Option<Value>,
    threshold: Option<i64>,
    store: Option<bool>,
}

fn threshold_in_range(name: &str, v: i64) -> Result<i64, Error> {
    if SEVERITY_RANGE.contains(&v) {
        Ok(v)
    } else {
        Err(bad(
            name,
            format!("{name} must be between 0 and 10, not {v}"),
        ))
    }
}

impl Params {
    /// Reads the body (a Parameters resource, or at type level a bare QuestionnaireResponse) and the
    /// query; each parameter may be given once.
    fn parse(body: Value, query: &[(String, String)], type_level: bool) -> Result<Self, Error> {
        let mut p = Params::default();
        if type_level && body["resourceType"] == "QuestionnaireResponse" {
            p.response = Some(body);
        } else {
            for param in body_parameters("$extract", &body)? {
                p.body_param(param)?;
            }
        }
        for (name, value) in query {
            p.query_param(name, value)?;
        }
        Ok(p)
    }

    fn body_param(&mut self, param: &Value) -> Result<(), Error> {
        let name = name_of(param);
        match name {
            P_RESPONSE => {
                let r = param
                    .get("resource")
                    .filter(|r| r["resourceType"] == "QuestionnaireResponse")
                    .ok_or_else(|| {
                        bad(
                            name,
                            "questionnaire-response must be a QuestionnaireResponse resource",
                        )
                    })?;
                once(name, &mut self.response, r.clone())
            }
            P_THRESHOLD => {
                let v = param
                    .get("valueInteger")
                    .and_then(Value::as_i64)
                    .ok_or_else(|| bad(name, "threshold must be a valueInteger"))?;
                once(name, &mut self.threshold, threshold_in_range(name, v)?)
            }
            P_STORE => {
                let v = param
                    .get("valueBoolean")
                    .and_then(Value::as_bool)
                    .ok_or_else(|| bad(name, "store must be a valueBoolean"))?;
                once(name, &mut self.store, v)
            }
            other => Err(unknown("$extract", other)),
        }
    }

    fn query_param(&mut self, name: &str, value: &str) -> Result<(), Error> {
        match name {
            P_THRESHOLD => {
                let v = value
                    .parse::<i64>()
                    .map_err(|_| bad(name, "threshold must be an integer between 0 and 10"))?;
                once(name, &mut self.threshold, threshold_in_range(name, v)?)
            }
            P_STORE => {
                let v = match value {
                    "true" => true,
                    "false" => false,
                    _ => return Err(bad(name, "store must be true or false")),
                };
                once(name, &mut self.store, v)
            }
            P_RESPONSE => Err(bad(
                name,
                "questionnaire-response is a resource: send it in a Parameters body",
            )),
            // Format parameters are the HTTP layer's business (checked there).
            f if is_format(f) => Ok(()),
            other => Err(unknown("$extract", other)),
        }
    }
}

impl Engine {
    /// Runs `$extract` on the stored response `id` (instance level) or on the response given in
    /// `params` (type level).
    pub async fn extract(
        &self,
        id: Option<&str>,
        params: Value,
        query: &[(String, String)],
        gate: &crate::access::Gate,
        audit: &crate::audit::write::Recording,
    ) -> Result<Reply, Error> {
        let p = Params::parse(params, query, id.is_none())?;
        let threshold = p.threshold.unwrap_or(self.extract_threshold);
        let store = p.store.unwrap_or(false);
        let (response, response_ref) = match (id, p.response) {
            (Some(_), Some(_)) => {
                return Err(bad(
                    P_RESPONSE,
                    "questionnaire-response is for the type-level operation; this call names a stored response",
                ));
            }
            (Some(id), None) => {
                let stored = self
                    .read(ResourceType::QuestionnaireResponse, id, gate)
                    .await?
                    .body
                    .map(super::Body::into_value)
                    .ok_or_else(|| Error::internal("a read without a body"))?;
                // The stored id, not the URL's text, so the link is exactly the resource's.
                let rid = stored.get("id").and_then(Value::as_str).unwrap_or(id);
                let reference = format!("QuestionnaireResponse/{rid}");
                (stored, Some(reference))
            }
            (None, Some(r)) => {
                if store {
                    return Err(bad(
                        P_STORE,
                        "store=true needs a stored response, so that the plan links to it: create the QuestionnaireResponse, then call QuestionnaireResponse/[id]/$extract",
                    ));
                }
                validate(ResourceType::QuestionnaireResponse, &r, IdRule::Ignored)?;
                crate::rest::rules::check(
                    self,
                    ResourceType::QuestionnaireResponse,
                    &r,
                    &HashSet::new(),
                )
                .await?;
                (r, None)
            }
            (None, None) => {
                return Err(bad(
                    P_RESPONSE,
                    "questionnaire-response is required at type level",
                ));
            }
        };
        let created = format_instant(now_ms());
        let plan = draft_plan(
            &response,
            response_ref.as_deref(),
            &self.canonical,
            threshold,
            &created,
        )
        .map_err(|e| {
            Error::BusinessRule(vec![
                OutcomeIssue::error("business-rule", e.message).at(e.expression),
            ])
        })?;
        match (store, response_ref) {
            (true, Some(reference)) => {
                // Storing is a create of the plan: the caller must be one who may create it.
                crate::access::policy::permits(
                    gate.principal(),
                    &crate::access::policy::extract_store(),
                    gate.break_glass_reason().is_some(),
                )?;
                self.store_plan(plan, &reference, gate, audit).await
            }
            _ => Ok(Reply::json(StatusCode::OK, plan)),
        }
    }

    /// Creates `plan` unless a live CarePlan already lists `reference` in `supportingInfo` (409).
    async fn store_plan(
        &self,
        plan: Value,
        reference: &str,
        gate: &crate::access::Gate,
        audit: &crate::audit::write::Recording,
    ) -> Result<Reply, Error> {
        let condition = format!("supporting-info={reference}");
        let criteria = self.criteria(ResourceType::CarePlan, &condition)?;
        let reply = self
            .create(
                ResourceType::CarePlan,
                plan,
                Some(&criteria),
                Return::Representation,
                gate,
                audit,
            )
            .await
            .map_err(|e| match e {
                Error::MultipleMatches(_) => Error::Conflict(format!(
                    "Several care plans already list {reference} in supportingInfo ({condition}); no plan was created"
                )),
                other => other,
            })?;
        if reply.status == StatusCode::CREATED {
            return Ok(reply);
        }
        // A conditional create that matched: the plan it found, named by its Location.
        let existing = reply
            .location
            .as_deref()
            .and_then(|l| l.split("/_history/").next())
            .unwrap_or("a CarePlan");
        Err(Error::Conflict(format!(
            "{existing} already lists {reference} in supportingInfo; update that plan instead of extracting another (no plan was created)"
        )))
    }
}
