//! The FHIR API's one entry point. Every request under the FHIR base goes through [`dispatch`]:
//!
//! 1. read the body (bounded: 413);
//! 2. parse the request once ([`crate::interaction::parse`]): 400, 404 or 405 when it is not an
//!    interaction the gateway serves;
//! 3. authenticate, unless the parsed interaction is the capability statement or the SMART
//!    configuration (401);
//! 4. authorise the parsed request ([`crate::access::authorise`]: scopes, role rules, the
//!    consent-writer rule; 403, 405);
//! 5. execute it: the engine, or the audit log and the whole-store operations;
//!    A `$process-message` is a transaction built from the message (`crate::messaging`); its
//!    response, error or not, echoes the message's `X-Request-ID` and `X-Correlation-ID`, and
//!    its errors carry BaRS codes;
//! 6. record its audit event ([`super::audit`]) and release the response only once that event is
//!    durable (503 with no data when it cannot be).
//!
//! Every step takes the one parsed [`Request`]; none reads the raw path or URL again. The SMART
//! configuration is neither authenticated nor audited: it carries no data.

use std::sync::Arc;

use actix_web::web::{Bytes, Data, Payload};
use actix_web::{HttpRequest, HttpResponse, ResponseError as _};
use serde_json::Value;

use super::audit::{Exchange, finish};
use super::request::{
    break_glass_reason, check_accept, header_text, json_body, patch_body, prefer, read_body,
    search_form,
};
use super::response::to_http;
use super::{FHIR_PATH, SmartConfiguration, audit_log, capability, messaging, operations};
use crate::access::{Gate, authorise};
use crate::audit::Trail;
use crate::audit::write::{Draft, Recording};
use crate::auth::Verifier;
use crate::error::Error;
use crate::fhir::ResourceType;
use crate::interaction::{
    Conditions, Interaction, Operation as Op, Request, decode_path, decode_query,
};
use crate::rest::Engine;

/// Everything the FHIR API needs, shared by every request.
pub struct Services {
    /// The interactions.
    pub engine: Data<Engine>,
    /// The audit trail.
    pub trail: Data<Trail>,
    /// Bearer token verification.
    pub verifier: Data<Verifier>,
    /// The SMART configuration document.
    pub smart: Data<SmartConfiguration>,
    /// The largest request body accepted.
    pub max_body: usize,
    /// How long a request body may take to arrive.
    pub body_deadline: std::time::Duration,
}

/// The default service: a request under the FHIR base is dispatched; anything else is 404.
pub async fn dispatch(
    req: HttpRequest,
    payload: Payload,
    services: Data<Services>,
) -> HttpResponse {
    let Some(below) = below_base(req.uri().path()) else {
        return Error::NoRoute.error_response();
    };
    // Sampled before any span is made: an untraced request pays for no span at all.
    let trace = crate::telemetry::request_trace(req.headers());
    if !trace.sampled {
        let trace_id = trace.parent.map(|p| p.trace_id);
        return dispatch_below(req, payload, services, below, trace_id).await;
    }
    use tracing::Instrument as _;
    let span = tracing::info_span!(
        "fhir.request",
        otel.name = tracing::field::Empty,
        otel.kind = "server",
        http.request.method = %req.method(),
        fhir.interaction = tracing::field::Empty,
        fhir.resource_type = tracing::field::Empty,
        http.response.status_code = tracing::field::Empty,
    );
    crate::telemetry::continue_trace(&span, req.headers());
    let trace_id = crate::telemetry::trace_id(&span);
    let traced = span.clone();
    async move {
        let response = dispatch_below(req, payload, services, below, trace_id).await;
        traced.record("http.response.status_code", response.status().as_u16());
        response
    }
    .instrument(span)
    .await
}

async fn dispatch_below(
    req: HttpRequest,
    payload: Payload,
    services: Data<Services>,
    below: Result<Vec<String>, Error>,
    trace: Option<String>,
) -> HttpResponse {
    let started = std::time::Instant::now();
    let mut exchange = Exchange::new(&req, &below);
    exchange.trace = trace;
    exchange.expected = Some(services.trail.expect());
    let result = serve(&req, payload, &services, below, &mut exchange).await;
    let (interaction, rtype) = exchange.labels();
    let span = tracing::Span::current();
    if !span.is_none() {
        span.record("fhir.interaction", interaction);
        span.record("fhir.resource_type", rtype);
        crate::telemetry::rename(&span, format!("{interaction} {rtype}"));
    }
    let echo = exchange.message_headers.take();
    let response = match result {
        Ok(r) => r,
        Err(e) if echo.is_some() => messaging::error_response(&e),
        Err(e) => e.error_response(),
    };
    let response = if exchange.unaudited {
        response
    } else {
        finish(exchange, response, &services.engine, &services.trail).await
    };
    let response = match echo {
        Some(headers) => messaging::echo(response, &headers),
        None => response,
    };
    crate::metrics::global().request(
        interaction,
        rtype,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// The decoded path segments below the FHIR base, if the request is under it (`Err` when it is
/// but cannot be decoded); `None` for any other path.
fn below_base(raw: &str) -> Option<Result<Vec<String>, Error>> {
    let base = FHIR_PATH.trim_start_matches('/');
    match decode_path(raw) {
        Ok(segments) => match segments.split_first() {
            Some((first, rest)) if first == base => Some(Ok(rest.to_vec())),
            _ => None,
        },
        Err(e) => {
            let under = raw == FHIR_PATH || raw.starts_with(&format!("{FHIR_PATH}/"));
            under.then(|| Err(e.into()))
        }
    }
}

async fn serve(
    req: &HttpRequest,
    payload: Payload,
    services: &Services,
    below: Result<Vec<String>, Error>,
    exchange: &mut Exchange,
) -> Result<HttpResponse, Error> {
    let engine = &services.engine;
    let segments = below?;
    let body = read_body(req, payload, services.max_body, services.body_deadline).await?;
    let method = req.method().as_str();
    let mut params = decode_query(req.query_string())?;
    if method == "POST" && segments.last().is_some_and(|s| s == "_search") {
        params.extend(search_form(req, &body)?);
    }
    let conditions = Conditions {
        if_none_exist: header_text(req, "if-none-exist"),
        if_match: header_text(req, "if-match"),
        if_none_match: header_text(req, "if-none-match"),
        if_modified_since: header_text(req, "if-modified-since"),
    };
    let prefer = prefer(req);
    let request = crate::interaction::parse(
        method,
        &segments,
        params,
        &conditions,
        &engine.parse_context(prefer.lenient),
    )?;
    exchange.parsed(&request);
    if let Interaction::Operation {
        operation: Op::ProcessMessage,
        ..
    } = request.interaction
    {
        exchange.message_headers = Some(messaging::echoed(req));
    }
    match &request.interaction {
        Interaction::SmartConfiguration => {
            exchange.unaudited = true;
            return Ok(super::smart::document(&services.smart));
        }
        Interaction::Capabilities => {
            check_accept(req, &request.params)?;
            return Ok(capability::metadata(engine, &services.smart));
        }
        _ => {}
    }
    let principal = super::authenticate::authenticate(req, &services.verifier).await?;
    exchange.principal = Some(Arc::clone(&principal));
    let gate = Arc::new(engine.gate(principal, break_glass_reason(req)));
    exchange.gate = Some(Arc::clone(&gate));
    // These answer in their own media types (NDJSON, CSV, a Bulk Data manifest).
    let negotiates = matches!(
        request.interaction,
        Interaction::Operation {
            operation: Op::HnaOutcomes | Op::AuditExport,
            ..
        } | Interaction::ExportStatus { .. }
            | Interaction::ExportFile { .. }
            | Interaction::ExportCancel { .. }
    );
    if !negotiates {
        check_accept(req, &request.params)?;
    }
    let resource = resource_of(req, &request, &body)?;
    exchange.sent(resource.as_ref());
    authorise(&gate, &request)?;
    // What may write gets the draft its transaction records; reads are recorded by `finish`.
    let may_write = request.interaction.writes()
        || matches!(
            request.interaction,
            Interaction::Operation {
                operation: Op::Extract,
                ..
            }
        );
    let audit = if may_write {
        let draft = Draft::new(services.trail.writes_chain(), exchange.template());
        exchange.draft = Some(Arc::clone(&draft));
        Recording::Event(draft)
    } else {
        Recording::Unrecorded
    };
    execute(req, services, &request, resource, &gate, &audit).await
}

/// The JSON body the interaction takes, if it takes one (415 for another media type, 400 for
/// bad JSON).
fn resource_of(req: &HttpRequest, request: &Request, body: &Bytes) -> Result<Option<Value>, Error> {
    use Interaction::*;
    let takes = match &request.interaction {
        Create { .. } | Update { .. } | ConditionalUpdate { .. } | Bundle => true,
        Interaction::Operation {
            operation: Op::Extract | Op::HnaOutcomes | Op::Validate,
            ..
        } => !body.is_empty(),
        Interaction::Operation {
            operation: Op::ProcessMessage,
            ..
        } => true,
        _ => false,
    };
    if matches!(request.interaction, Patch { .. } | ConditionalPatch { .. }) {
        return patch_body(req, body).map(Some);
    }
    if takes {
        json_body(req, body).map(Some)
    } else {
        Ok(None)
    }
}

/// Runs the authorised request.
async fn execute(
    req: &HttpRequest,
    services: &Services,
    request: &Request,
    resource: Option<Value>,
    gate: &Gate,
    audit: &Recording,
) -> Result<HttpResponse, Error> {
    use Interaction::*;
    let engine = &services.engine;
    let trail = &services.trail;
    let principal = gate.principal();
    let params = &request.params;
    let ret = prefer(req).return_;
    let reply = match &request.interaction {
        Search { rtype, .. } if *rtype == ResourceType::AuditEvent => {
            return audit_log::search(engine, trail, principal, params).await;
        }
        Read { rtype, id } if *rtype == ResourceType::AuditEvent => {
            return audit_log::read(engine, trail, principal, id).await;
        }
        VRead { rtype, .. } | HistoryInstance { rtype, .. } | HistoryType { rtype }
            if *rtype == ResourceType::AuditEvent =>
        {
            return Err(Error::MethodNotAllowed);
        }
        Interaction::Operation { operation, .. } => match operation {
            Op::AuditVerify => return audit_log::audit_verify(engine, trail).await,
            Op::AuditExport => return audit_log::audit_export(engine, trail, params).await,
            Op::ConsentExplain => return operations::consent_explain(engine, params).await,
            Op::SubscriptionStatus | Op::SubscriptionEvents => {
                let Interaction::Operation {
                    target: crate::interaction::Target::Instance(_, id),
                    ..
                } = &request.interaction
                else {
                    return Err(Error::NoRoute);
                };
                let bundle = if *operation == Op::SubscriptionStatus {
                    crate::notify::query::status(engine, gate, id).await?
                } else {
                    crate::notify::query::events(engine, gate, id, params).await?
                };
                return Ok(HttpResponse::Ok()
                    .insert_header((
                        actix_web::http::header::CONTENT_TYPE,
                        super::response::FHIR_JSON,
                    ))
                    .body(bundle.to_string()));
            }
            Op::HnaOutcomes => {
                return operations::outcomes(engine, req, params, resource.as_ref()).await;
            }
            Op::Extract | Op::Validate => {
                engine.execute(request, resource, gate, audit, ret).await?
            }
            Op::ProcessMessage => {
                let ids = messaging::ids(req)?;
                let message =
                    resource.ok_or_else(|| Error::BadRequest("No message sent".into()))?;
                engine.process_message(message, &ids, gate).await?
            }
        },
        Export { level, spec } => {
            return super::export::kick_off(req, services, level, spec, gate).await;
        }
        ExportStatus { job } => return super::export::status(services, gate, job).await,
        ExportCancel { job } => return super::export::cancel(services, gate, job).await,
        ExportFile { job, file } => {
            return super::export::file(services, gate, job, *file).await;
        }
        Bundle => {
            let bundle = resource.ok_or_else(|| Error::BadRequest("No Bundle sent".into()))?;
            engine.bundle(bundle, ret, gate, audit).await?
        }
        _ => engine.execute(request, resource, gate, audit, ret).await?,
    };
    Ok(to_http(reply, engine.base_url()))
}
