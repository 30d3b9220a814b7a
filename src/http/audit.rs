//! The audit event of every request to the FHIR API (docs/design.md section 5): served, refused or
//! failed, each leaves one AuditEvent in the hash-chained log, and its response is released only
//! once that event is durable in the gateway's journal ([`crate::audit::journal`]). If it cannot be
//! stored the client gets 503 and none of the response.
//!
//! An [`Exchange`] gathers what the event will say while the request is handled: the request as
//! sent (method, path, sanitised query), then as parsed (interaction, target), the verified
//! caller, the access gate (what was disclosed, what was asked for and withheld, the deciding
//! consents, broken glass) and, for writes, the version written. A write's event is committed in
//! the write's own transaction ([`crate::audit::write`]); then nothing more is journaled unless
//! the response differs from the one recorded.
//!
//! Attempts are recorded as fully as the gateway knows them: a refused or hidden access names the
//! resource asked for and, when the gateway can tell, its patient (from the resource itself, or
//! the body of a refused write), so information governance can find it by patient and by record.
//! Nothing of this reaches the caller.

use std::sync::Arc;

use actix_web::HttpRequest;
use actix_web::HttpResponse;
use actix_web::ResponseError as _;
use serde_json::Value;

use crate::access::Gate;
use crate::access::policy::is_directory;
use crate::audit::Trail;
use crate::audit::event::{Agent, Disclosed, Record, sanitised_query};
use crate::audit::write::Draft;
use crate::auth::Principal;
use crate::consent::decision::patient_of;
use crate::error::Error;
use crate::fhir::ResourceType;
use crate::fhir::instant::now_ms;
use crate::interaction::Request;
use crate::rest::Engine;

/// What a request's audit event will say, gathered as the request is handled.
pub struct Exchange {
    method: String,
    path: String,
    query: String,
    interaction: Option<&'static str>,
    rtype: Option<ResourceType>,
    target: Option<String>,
    /// The one resource the request named, if it named one.
    instance: Option<(ResourceType, String)>,
    /// Whether the interaction writes (its `Location` names what it wrote).
    writes: bool,
    /// The patient a write's body names.
    sent_for: Option<String>,
    /// The verified caller, once known.
    pub principal: Option<Arc<Principal>>,
    /// The request's access gate, once made.
    pub gate: Option<Arc<Gate>>,
    /// The draft handed to the writes, once the request is authorised.
    pub draft: Option<Arc<Draft>>,
    /// Set for what carries no data and is not audited (the SMART configuration).
    pub unaudited: bool,
    /// The request's trace id (its span's, or the caller's `traceparent` when it is not
    /// traced), recorded in its AuditEvent so an auditor can join the two.
    pub trace: Option<String>,
    /// Tells the audit journal this request's event is coming (it syncs sooner when every
    /// request under way is waiting for it).
    pub expected: Option<crate::audit::journal::Expected>,
    /// For a message (`$process-message`): the headers its response echoes.
    pub message_headers: Option<
        Vec<(
            actix_web::http::header::HeaderName,
            actix_web::http::header::HeaderValue,
        )>,
    >,
}

impl Exchange {
    /// An exchange for `req`, whose path below the base is `below` (decoded segments, or the
    /// error of a path that could not be decoded, whose raw text is recorded instead).
    pub fn new(req: &HttpRequest, below: &Result<Vec<String>, Error>) -> Exchange {
        let path = match below {
            Ok(segments) => format!("/{}", segments.join("/")),
            Err(_) => req
                .uri()
                .path()
                .strip_prefix(super::FHIR_PATH)
                .unwrap_or_default()
                .to_owned(),
        };
        Exchange {
            method: req.method().as_str().to_owned(),
            path,
            query: sanitised_query(req.query_string()),
            interaction: None,
            rtype: None,
            target: None,
            instance: None,
            writes: false,
            sent_for: None,
            principal: None,
            gate: None,
            draft: None,
            unaudited: false,
            trace: None,
            expected: None,
            message_headers: None,
        }
    }

    /// Notes what the request is, as parsed.
    pub fn parsed(&mut self, request: &Request) {
        let i = &request.interaction;
        self.interaction = Some(i.code());
        self.rtype = i.resource_type();
        self.target = request.target();
        self.writes = i.writes();
        self.instance = i.resource_type().zip(i.id().map(str::to_owned));
    }

    /// The request's metric labels: its interaction code and resource type, `-` where unknown
    /// (a request refused before it was parsed).
    pub fn labels(&self) -> (&'static str, &'static str) {
        (
            self.interaction.unwrap_or("-"),
            self.rtype.map_or("-", ResourceType::as_str),
        )
    }

    /// Notes the resource a write sends (its patient, for the event of a refused write).
    pub fn sent(&mut self, resource: Option<&Value>) {
        let rtype = self.instance.as_ref().map(|(t, _)| *t).or_else(|| {
            resource
                .and_then(|r| r.get("resourceType"))
                .and_then(Value::as_str)
                .and_then(|t| t.parse().ok())
        });
        self.sent_for = rtype
            .zip(resource)
            .and_then(|(t, r)| patient_of(t, r).map(String::from));
    }

    /// The event as known before execution: what a write's transaction records.
    pub fn template(&self) -> Record {
        Record {
            method: self.method.clone(),
            path: self.path.clone(),
            query: self.query.clone(),
            agent: self.principal.as_deref().map(Agent::of),
            interaction: self.interaction.map(str::to_owned),
            target: self.target.clone(),
            patients: self.sent_for.iter().cloned().collect(),
            trace: self.trace.clone(),
            ..Record::default()
        }
    }

    /// The patient of the instance a refused request named, read from the store: only for an
    /// authenticated caller, only when nothing else said whose it is.
    async fn patient_of_target(&self, engine: &Engine) -> Option<Disclosed> {
        self.principal.as_ref()?;
        let (rtype, id) = self.instance.as_ref()?;
        if is_directory(*rtype) || *rtype == ResourceType::AuditEvent {
            return None;
        }
        let r = engine.store().backend().read(*rtype, id).await.ok()??;
        let patient = serde_json::from_str::<Value>(&r.body)
            .ok()
            .and_then(|v| patient_of(*rtype, &v).map(String::from));
        Some(Disclosed {
            reference: r.version_reference(),
            redacted: false,
            patient,
        })
    }
}

/// Records the exchange's event and releases `response` once it is durable; 503 with no data when
/// it cannot be recorded.
pub async fn finish(
    mut exchange: Exchange,
    response: HttpResponse,
    engine: &Engine,
    trail: &Trail,
) -> HttpResponse {
    let exchange_expected = exchange.expected.take();
    let status = response.status().as_u16();
    if exchange
        .draft
        .as_ref()
        .is_some_and(|d| d.recorded_status() == Some(status))
    {
        // The write's transaction committed its event (`audit::write`).
        return response;
    }
    let disclosures = exchange
        .gate
        .as_ref()
        .map(|g| g.disclosures())
        .unwrap_or_default();
    let mut disclosed = disclosures.resources;
    if exchange.writes && status < 300 {
        let location = response
            .headers()
            .get(actix_web::http::header::LOCATION)
            .or_else(|| {
                response
                    .headers()
                    .get(actix_web::http::header::CONTENT_LOCATION)
            })
            .and_then(|v| v.to_str().ok());
        if let Some(l) = location {
            let reference = l
                .strip_prefix(engine.base_url())
                .unwrap_or(l)
                .trim_start_matches('/')
                .to_owned();
            disclosed.push(Disclosed {
                reference,
                redacted: false,
                patient: None,
            });
        }
    }
    let mut patients = disclosures.patients;
    patients.extend(exchange.sent_for.clone());
    let mut attempted = disclosures.attempted;
    if status >= 400
        && attempted.is_empty()
        && disclosed.is_empty()
        && let Some(a) = exchange.patient_of_target(engine).await
    {
        patients.extend(a.patient.clone());
        attempted.push(a);
    }
    let gate = exchange.gate.as_ref();
    let record = Record {
        recorded: now_ms(),
        status,
        patients: patients.into_iter().collect(),
        disclosed,
        consents: disclosures.consents.into_iter().collect(),
        break_glass: disclosures
            .break_glass
            .then(|| gate.and_then(|g| g.break_glass_reason().map(str::to_owned)))
            .flatten(),
        attempted,
        ..exchange.template()
    };
    let recorded = {
        use tracing::Instrument as _;
        trail
            .record_expected(&record, exchange_expected)
            .instrument(crate::telemetry::child(|| {
                tracing::debug_span!("audit.journal")
            }))
            .await
    };
    if let Err(e) = recorded {
        tracing::error!(error = %e, status, "audit event not stored: response withheld");
        return Error::Unavailable(
            "The access could not be recorded in the audit trail, so nothing was served; try again"
                .into(),
        )
        .error_response();
    }
    response
}
