//! `$validate` (FHIR R4 `Resource-validate`): would this resource be accepted? The same checks a
//! write runs before it touches the store: structure and types (fhir-sdk), ids, references, and
//! the profile rules of HNAs, plans, consents and referrals. It never stores anything.
//!
//! Decisions where the spec leaves room:
//! - The answer is 200 with an OperationOutcome whether or not the resource is valid (its issues
//!   say; one `information` issue when there are none). A 4xx means the operation itself could not
//!   run: no resource, a mode the level does not take, a profile this server does not publish, an
//!   instance the caller cannot see (404, as a read would answer).
//! - Inputs come as a `Parameters` body (`resource`, `mode`, `profile`) or as the resource itself,
//!   with `mode` and `profile` in the URL.
//! - The write table's condition is checked as the write checks it (`access::Writer`, in a
//!   transaction that writes nothing): a refused write is never validated as acceptable.
//! - `mode=update` checks the content against the instance named (it must exist and be visible,
//!   and the ids must agree); the workflow's transition rules (a Task's status move, the referral
//!   it settles) are decided inside the write's transaction against what is stored then, so
//!   `$validate` does not rehearse them. `mode=delete` says whether the caller's role may delete.
//! - Who may ask is decided by `access::policy`: whoever may make the write rehearsed.

use std::collections::HashSet;

use actix_web::http::StatusCode;
use serde_json::{Value, json};

use super::{Engine, Reply};
use crate::access::Gate;
use crate::error::Error;
use crate::fhir::validate::{IdRule, validate};
use crate::fhir::{OutcomeIssue, ResourceType, operation_outcome};
use crate::interaction::{Interaction, Request, Target};

/// `resource-validation-mode`, as the server acts on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// No mode, or `profile`: the content, as a create would check it.
    General,
    /// `create`.
    Create,
    /// `update` (instance level).
    Update,
    /// `delete` (instance level).
    Delete,
}

/// The operation's inputs, from the body and the URL.
struct Input {
    resource: Option<Value>,
    mode: Mode,
    profile: Option<String>,
}

impl Input {
    fn read(body: Option<Value>, params: &[(String, String)]) -> Result<Input, Error> {
        let mut mode = None;
        let mut profile = None;
        let mut resource = None;
        let set = |slot: &mut Option<String>, name: &str, v: &str| {
            if slot.replace(v.to_owned()).is_some() {
                Err(Error::BadRequest(format!(
                    "'{name}' is given more than once"
                )))
            } else {
                Ok(())
            }
        };
        for (k, v) in params {
            match k.as_str() {
                "mode" => set(&mut mode, "mode", v)?,
                "profile" => set(&mut profile, "profile", v)?,
                "_format" | "_pretty" => {}
                other => {
                    return Err(Error::BadRequest(format!(
                        "$validate takes no parameter '{}'",
                        other.chars().take(64).collect::<String>()
                    )));
                }
            }
        }
        match body {
            Some(b) if b["resourceType"] == "Parameters" => {
                for p in b["parameter"].as_array().into_iter().flatten() {
                    match p["name"].as_str() {
                        Some("resource") if p.get("resource").is_some() => {
                            if resource.replace(p["resource"].clone()).is_some() {
                                return Err(Error::BadRequest(
                                    "'resource' is given more than once".into(),
                                ));
                            }
                        }
                        Some("mode") => {
                            set(&mut mode, "mode", p["valueCode"].as_str().unwrap_or(""))?;
                        }
                        Some("profile") => {
                            let uri = p["valueUri"].as_str().or(p["valueCanonical"].as_str());
                            set(&mut profile, "profile", uri.unwrap_or(""))?;
                        }
                        _ => {
                            return Err(Error::BadRequest(
                                "$validate takes the parameters resource, mode and profile".into(),
                            ));
                        }
                    }
                }
            }
            Some(b) => resource = Some(b),
            None => {}
        }
        let mode = match mode.as_deref() {
            None | Some("profile") => Mode::General,
            Some("create") => Mode::Create,
            Some("update") => Mode::Update,
            Some("delete") => Mode::Delete,
            Some(other) => {
                return Err(Error::BadRequest(format!(
                    "mode '{}' is not one of create, update, delete, profile",
                    other.chars().take(64).collect::<String>()
                )));
            }
        };
        Ok(Input {
            resource,
            mode,
            profile,
        })
    }
}

/// Whether `e` is about the content (reported as issues) rather than the operation.
fn about_content(e: &Error) -> bool {
    matches!(
        e,
        Error::InvalidResource(_) | Error::BusinessRule(_) | Error::BadRequest(_)
    )
}

impl Engine {
    /// `[type]/$validate` or `[type]/[id]/$validate` with `body` (the resource, or `Parameters`)
    /// and the URL's `params`, for the gate's caller.
    pub async fn validate_resource(
        &self,
        target: &Target,
        body: Option<Value>,
        params: &[(String, String)],
        gate: &Gate,
    ) -> Result<Reply, Error> {
        let (rtype, id) = match target {
            Target::Type(t) => (*t, None),
            Target::Instance(t, id) => (*t, Some(id.as_str())),
            Target::System => return Err(Error::NoRoute),
        };
        let input = Input::read(body, params)?;
        if id.is_none() && matches!(input.mode, Mode::Update | Mode::Delete) {
            return Err(Error::BadRequest(
                "mode update and delete validate against an instance: [type]/[id]/$validate".into(),
            ));
        }
        if let Some(id) = id {
            self.must_see(rtype, id, gate).await?;
        }
        let issues = match (input.mode, id) {
            (Mode::Delete, Some(id)) => {
                // The same rules as the delete itself: scopes, and the role's (the write table).
                let delete = Request {
                    interaction: Interaction::Delete {
                        rtype,
                        id: id.to_owned(),
                    },
                    params: Vec::new(),
                    head: false,
                    if_match: None,
                    fresh: None,
                };
                match crate::access::policy::permits(gate.principal(), &delete, false) {
                    Ok(()) => Vec::new(),
                    Err(e) => e.issues(),
                }
            }
            (mode, id) => {
                let mut resource = input.resource.ok_or_else(|| {
                    Error::BadRequest(
                        "No resource to validate: send it, or a Parameters with a 'resource'"
                            .into(),
                    )
                })?;
                if let Some(p) = &input.profile {
                    self.claim_profile(rtype, &mut resource, p)?;
                }
                let rule = match (mode, id) {
                    (Mode::Update, Some(id)) => IdRule::MustEqual(id),
                    _ => IdRule::Ignored,
                };
                let mut issues = self.content_issues(rtype, &resource, rule).await?;
                let replaces = match (mode, id) {
                    (Mode::Update, Some(id)) => Some(id),
                    _ => None,
                };
                issues.extend(self.writer_issues(rtype, resource, replaces, gate).await?);
                issues
            }
        };
        let issues = if issues.is_empty() {
            vec![OutcomeIssue::information(
                "informational",
                "No issues: the resource would be accepted",
            )]
        } else {
            issues
        };
        Ok(Reply::json(StatusCode::OK, operation_outcome(&issues)))
    }

    /// The issues a write of `resource` would be refused for, before the store.
    async fn content_issues(
        &self,
        rtype: ResourceType,
        resource: &Value,
        rule: IdRule<'_>,
    ) -> Result<Vec<OutcomeIssue>, Error> {
        let checked = match validate(rtype, resource, rule) {
            Ok(()) => crate::rest::rules::check(self, rtype, resource, &HashSet::new()).await,
            Err(e) => Err(e.into()),
        };
        match checked {
            Ok(()) => Ok(Vec::new()),
            Err(e) if about_content(&e) => Ok(e.issues()),
            Err(e) => Err(e),
        }
    }

    /// The issues the write's own checks in its transaction would refuse it for (the write table's
    /// condition: a patient the writer's organisation already cares for, its own organisation as
    /// requester or member), run in a transaction that writes nothing.
    async fn writer_issues(
        &self,
        rtype: ResourceType,
        resource: Value,
        replaces: Option<&str>,
        gate: &Gate,
    ) -> Result<Vec<OutcomeIssue>, Error> {
        let current: Option<Value> = match replaces {
            Some(id) => self
                .store
                .backend()
                .read(rtype, id)
                .await?
                .filter(|r| !r.deleted)
                .and_then(|r| serde_json::from_str(&r.body).ok()),
            None => None,
        };
        let writer = gate.writer().await?;
        let checked = self
            .store
            .transaction(move |tx| {
                let creating = current.is_none();
                let (resource, _) = super::changes::for_writer(&writer, rtype, resource, creating)?;
                writer.check(tx, rtype, &resource, current.as_ref())
            })
            .await;
        match checked {
            Ok(()) => Ok(Vec::new()),
            Err(e @ (Error::Forbidden(_) | Error::ForbiddenContent(_))) => Ok(e.issues()),
            Err(e) if about_content(&e) => Ok(e.issues()),
            Err(e) => Err(e),
        }
    }

    /// 404 unless the instance exists and the caller may see it.
    async fn must_see(&self, rtype: ResourceType, id: &str, gate: &Gate) -> Result<(), Error> {
        let seen = match self.store.backend().read(rtype, id).await? {
            Some(r) if !r.deleted => gate.admit(&r).await?.is_some(),
            _ => false,
        };
        if seen {
            Ok(())
        } else {
            Err(Error::NotFound {
                rtype,
                id: id.to_owned(),
            })
        }
    }

    /// Adds `profile` to the resource's `meta.profile`, so that its rules apply; 400 unless it is
    /// one this server publishes for `rtype`.
    fn claim_profile(
        &self,
        rtype: ResourceType,
        resource: &mut Value,
        profile: &str,
    ) -> Result<(), Error> {
        if !self
            .canonical
            .profiles_of(rtype)
            .iter()
            .any(|p| p == profile)
        {
            return Err(Error::NotImplemented(format!(
                "This server validates {rtype} against no profile '{}'",
                profile.chars().take(200).collect::<String>()
            )));
        }
        let Some(obj) = resource.as_object_mut() else {
            return Ok(());
        };
        let meta = obj.entry("meta").or_insert_with(|| json!({}));
        if let Some(m) = meta.as_object_mut() {
            let list = m.entry("profile").or_insert_with(|| json!([]));
            if let Some(a) = list.as_array_mut()
                && !a.iter().any(|p| p == profile)
            {
                a.push(json!(profile));
            }
        }
        Ok(())
    }
}
