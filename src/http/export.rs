//! The Bulk Data endpoints over HTTP (`crate::export` holds the decisions): the kick-off, the
//! status URL (poll with `GET`, cancel or delete with `DELETE`) and the output files.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};

use super::fhir::Services;
use super::request::prefer;
use super::response::FHIR_JSON;
use crate::access::{Disclosures, Gate};
use crate::error::Error;
use crate::export::{Job, KEPT_MS, Status, owner_of, plan};
use crate::fhir::instant::{http_date, now_ms};
use crate::fhir::{OutcomeIssue, ResourceType, operation_outcome};
use crate::interaction::{ExportLevel, ExportSpec};

/// How long a client is asked to wait between polls, in seconds.
const RETRY_AFTER: &str = "2";

/// `GET [base]/$export`, `[base]/Patient/$export`, `[base]/Group/[id]/$export`: plans the export
/// as the caller, records the job and starts it; 202 with its status URL.
pub async fn kick_off(
    req: &HttpRequest,
    services: &Services,
    level: &ExportLevel,
    spec: &ExportSpec,
    gate: &Gate,
) -> Result<HttpResponse, Error> {
    if !prefer(req).respond_async {
        return Err(Error::BadRequest(
            "$export is asynchronous: send 'Prefer: respond-async'".into(),
        ));
    }
    if gate.principal().purpose == crate::consent::verdict::BREAK_GLASS {
        return Err(Error::Forbidden(
            "Breaking the glass is for the record in front of you: a bulk export cannot break it"
                .into(),
        ));
    }
    let engine = &services.engine;
    let now = now_ms();
    let exports = engine.store().backend().exports();
    exports.expire_jobs(now - KEPT_MS).await?;
    let plan = plan(engine, gate, level, spec).await?;
    if plan
        .parts
        .iter()
        .any(|p| p.rtype == ResourceType::AuditEvent)
    {
        super::audit_log::catch_up(&services.trail).await?;
    }
    let principal = Arc::new(gate.principal().clone());
    let request = format!(
        "{}{}",
        engine.base_url().trim_end_matches(super::FHIR_PATH),
        req.uri()
    );
    let mut job = Job::new(owner_of(&principal), request, now);
    exports.create_job(job.to_row(now)).await?;
    let url = format!("{}/_export/{}", engine.base_url(), job.row.id);
    // The job decides as the caller, on a gate of its own: what it discloses is recorded when
    // each file is fetched, not in this request's event.
    let job_gate = engine.gate(principal, None);
    let (engine, trail) = (Arc::clone(&**engine), Arc::clone(&*services.trail));
    actix_web::rt::spawn(crate::export::run(engine, trail, job_gate, job, plan));
    let outcome = operation_outcome(&[OutcomeIssue::information(
        "informational",
        format!("Export started; poll {url}"),
    )]);
    Ok(HttpResponse::Accepted()
        .insert_header((header::CONTENT_LOCATION, url))
        .insert_header((header::CONTENT_TYPE, FHIR_JSON))
        .body(outcome.to_string()))
}

/// The caller's job `id` (404 for a job that does not exist or is someone else's).
async fn own_job(services: &Services, gate: &Gate, id: &str) -> Result<Job, Error> {
    let exports = services.engine.store().backend().exports();
    let row = exports.load_job(id).await?.ok_or(Error::NoRoute)?;
    if row.owner != owner_of(gate.principal()) || now_ms() - row.updated > KEPT_MS {
        return Err(Error::NoRoute);
    }
    Job::from_row(row)
}

/// `GET [base]/_export/[job]`: 202 with `X-Progress` and `Retry-After` while it runs, 200 with
/// the manifest when complete, 500 with an OperationOutcome when it failed.
pub async fn status(services: &Services, gate: &Gate, id: &str) -> Result<HttpResponse, Error> {
    let job = own_job(services, gate, id).await?;
    let now = now_ms();
    if job.stale(now) || job.state.status == Status::Failed {
        let why = job.state.error.clone().unwrap_or_else(|| {
            "The export was interrupted (its process stopped); start it again".into()
        });
        let outcome = operation_outcome(&[OutcomeIssue::error("exception", why)]);
        return Ok(HttpResponse::InternalServerError()
            .insert_header((header::CONTENT_TYPE, FHIR_JSON))
            .body(outcome.to_string()));
    }
    if job.state.status == Status::InProgress {
        let progress = format!(
            "{} resources in {} files",
            job.state.resources,
            job.state.outputs.len()
        );
        return Ok(HttpResponse::Accepted()
            .insert_header(("x-progress", progress))
            .insert_header((header::RETRY_AFTER, RETRY_AFTER))
            .finish());
    }
    let mut res = HttpResponse::Ok();
    if let Ok(v) = HeaderValue::from_str(&http_date(job.row.updated + KEPT_MS)) {
        res.insert_header((header::EXPIRES, v));
    }
    Ok(res
        .insert_header((header::CONTENT_TYPE, "application/json; charset=utf-8"))
        .body(job.manifest(services.engine.base_url()).to_string()))
}

/// `DELETE [base]/_export/[job]`: cancels a running job or deletes a finished one's files; 202.
pub async fn cancel(services: &Services, gate: &Gate, id: &str) -> Result<HttpResponse, Error> {
    own_job(services, gate, id).await?;
    services
        .engine
        .store()
        .backend()
        .exports()
        .remove_job(id)
        .await?;
    Ok(HttpResponse::Accepted().finish())
}

/// `GET [base]/_export/[job]/[n]`: the file as NDJSON; its fetch's AuditEvent records every
/// resource in it.
pub async fn file(
    services: &Services,
    gate: &Gate,
    id: &str,
    n: u32,
) -> Result<HttpResponse, Error> {
    own_job(services, gate, id).await?;
    let exports = services.engine.store().backend().exports();
    let file = exports.load_file(id, n).await?.ok_or(Error::NoRoute)?;
    let disclosed: Disclosures = serde_json::from_str(&file.audit)
        .map_err(|e| Error::internal_from(format!("export {id} file {n}"), e))?;
    gate.replay(disclosed);
    Ok(HttpResponse::build(StatusCode::OK)
        .insert_header((header::CONTENT_TYPE, "application/fhir+ndjson"))
        .body(file.body))
}
