//! Handlers of the FHIR operations: `QuestionnaireResponse/$extract` (HL7 SDC; instance and type level),
//! `$hna-outcomes` (the outcome tables, as JSON, CSV or a MeasureReport), `$consent-explain` and
//! `$audit-verify` (the audit log's hash chain, as `carebridge audit verify` checks it).

use crate::audit::Trail;
use actix_web::http::StatusCode;
use actix_web::web::{Bytes, Data, Path};
use actix_web::{HttpRequest, HttpResponse};

use super::request::{check_accept, json_body, query_pairs};
use super::response::to_http;
use crate::error::Error;
use crate::fhir::instant::{format_instant, now_ms};
use crate::rest::parameters::QueryInputs;
use crate::rest::{Engine, Reply};

/// `GET [base]/$consent-explain?resource=&role=&organization=...` (auditors and system callers).
pub async fn consent_explain(
    engine: Data<Engine>,
    req: HttpRequest,
) -> Result<HttpResponse, Error> {
    check_accept(&req)?;
    let q = crate::access::explain::Question::from_query(&query_pairs(&req))?;
    let answer = crate::access::explain::explain(&engine, &q).await?;
    Ok(to_http(
        Reply::json(StatusCode::OK, answer),
        engine.base_url(),
    ))
}

/// `GET [base]/$audit-verify` (auditors and system callers): a Parameters resource with `intact`,
/// `verified` (events, over every chain), a `chain` part per chain (`name`, `verified`,
/// `head-sequence`, `head-hash`), and for a broken log `broken-chain`, `broken-at` (the first
/// event at fault) and `reason`. Events made durable before the request are copied from the
/// journal first, so they are covered.
pub async fn audit_verify(
    engine: Data<Engine>,
    trail: Data<Trail>,
    req: HttpRequest,
) -> Result<HttpResponse, Error> {
    use serde_json::json;
    check_accept(&req)?;
    catch_up(&trail).await?;
    // R4 integers are 32-bit: a larger count is given as a decimal rather than clamped.
    let number = |name: &str, n: u64| match i32::try_from(n) {
        Ok(i) => json!({"name": name, "valueInteger": i}),
        Err(_) => json!({"name": name, "valueDecimal": n}),
    };
    let report = crate::audit::log::verify(engine.store()).await?;
    let mut params = vec![
        json!({"name": "intact", "valueBoolean": report.broken.is_none()}),
        number("verified", report.count()),
    ];
    for (chain, v) in &report.chains {
        params.push(json!({"name": "chain", "part": [
            {"name": "name", "valueString": chain},
            number("verified", v.count),
            number("head-sequence", v.head_seq),
            {"name": "head-hash", "valueString": v.head_hash},
        ]}));
    }
    if let Some((chain, at)) = &report.broken {
        params.push(json!({"name": "broken-chain", "valueString": chain}));
        params.push(number("broken-at", at.seq()));
        params.push(json!({"name": "reason", "valueString": at.to_string()}));
    }
    let parameters = json!({"resourceType": "Parameters", "parameter": params});
    Ok(to_http(
        Reply::json(StatusCode::OK, parameters),
        engine.base_url(),
    ))
}

/// Copies the journal into the store before an auditor reads it.
async fn catch_up(trail: &Trail) -> Result<(), Error> {
    trail.catch_up().await.map(|_| ()).map_err(|e| {
        tracing::error!(error = %e, "audit journal not copied before an audit query");
        Error::Unavailable("The audit log cannot be read completely just now; try again".into())
    })
}

/// `GET [base]/$audit-export?start=&end=` (auditors and system callers): the events recorded in
/// the period as `application/fhir+ndjson`, in storage order, each with its storage id as `id`,
/// streamed page by page. A page that cannot be read ends the stream early (and is logged); the
/// client sees a short export rather than a half-written line.
pub async fn audit_export(
    engine: Data<Engine>,
    trail: Data<Trail>,
    req: HttpRequest,
) -> Result<HttpResponse, Error> {
    use crate::audit::log::{Period, export_page};
    let pairs = query_pairs(&req);
    let q = QueryInputs::new("$audit-export", &pairs, &["start", "end"])?;
    let period = Period::parse(q.get("start")?.as_deref(), q.get("end")?.as_deref())
        .map_err(Error::BadRequest)?;
    catch_up(&trail).await?;
    let store = engine.store().clone();
    let pages = futures_util::stream::unfold(Some(0i64), move |after| {
        let store = store.clone();
        let trail = trail.clone();
        async move {
            let after = after?;
            match export_page(&store, &trail.source(""), period, after).await {
                Ok(Some((text, last))) => Some((
                    Ok::<_, actix_web::Error>(actix_web::web::Bytes::from(text)),
                    Some(last),
                )),
                Ok(None) => None,
                Err(e) => {
                    tracing::error!(error = %e, "audit export stopped early");
                    None
                }
            }
        }
    });
    Ok(HttpResponse::Ok()
        .content_type("application/fhir+ndjson")
        .streaming(pages))
}

/// `POST [base]/QuestionnaireResponse/$extract` with a Parameters body.
pub async fn extract_type(
    engine: Data<Engine>,
    req: HttpRequest,
    body: Bytes,
) -> Result<HttpResponse, Error> {
    check_accept(&req)?;
    let params = json_body(&req, &body)?;
    let gate = super::access::gate(&req, &engine)?;
    let r = engine
        .extract(None, params, &query_pairs(&req), &gate)
        .await?;
    Ok(to_http(r, engine.base_url()))
}

/// `POST [base]/QuestionnaireResponse/[id]/$extract` (body optional: a Parameters resource).
pub async fn extract_instance(
    engine: Data<Engine>,
    path: Path<String>,
    req: HttpRequest,
    body: Bytes,
) -> Result<HttpResponse, Error> {
    check_accept(&req)?;
    let params = if body.is_empty() {
        serde_json::json!({"resourceType": "Parameters"})
    } else {
        json_body(&req, &body)?
    };
    let gate = super::access::gate(&req, &engine)?;
    let r = engine
        .extract(Some(&path), params, &query_pairs(&req), &gate)
        .await?;
    Ok(to_http(r, engine.base_url()))
}

/// The three forms of the outcome report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReportForm {
    Json,
    Csv,
    MeasureReport,
}

impl ReportForm {
    /// The form a media type (or `_format` shorthand) names, if any.
    fn named(media: &str) -> Option<Self> {
        match media.trim().to_ascii_lowercase().as_str() {
            "csv" | "text/csv" => Some(ReportForm::Csv),
            "fhir" | "application/fhir+json" | "application/json+fhir" => {
                Some(ReportForm::MeasureReport)
            }
            "json" | "application/json" | "*/*" | "application/*" | "text/*" => {
                Some(ReportForm::Json)
            }
            _ => None,
        }
    }

    /// `_format` when given, else the `Accept` type with the highest quality this operation can
    /// produce (the first of equals); JSON without either; 406 when nothing acceptable is offered.
    fn negotiate(req: &HttpRequest, query: &[(String, String)]) -> Result<Self, Error> {
        if let Some((_, f)) = query.iter().find(|(k, _)| k == "_format") {
            return Self::named(f).ok_or(Error::NotAcceptable);
        }
        let Some(accept) = req
            .headers()
            .get(actix_web::http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
        else {
            return Ok(ReportForm::Json);
        };
        let mut best: Option<(f32, Self)> = None;
        for range in accept.split(',') {
            let mut parts = range.split(';');
            let Some(form) = parts.next().and_then(Self::named) else {
                continue;
            };
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, form));
            }
        }
        best.map(|(_, f)| f).ok_or(Error::NotAcceptable)
    }
}

/// `GET|POST [base]/$hna-outcomes`: parameters in the query string or, for `POST`, a `Parameters`
/// body too. The report is served as a JSON document (`application/json`, the default), as CSV
/// (`text/csv`) or as a FHIR `MeasureReport` (`application/fhir+json`), chosen by `_format`
/// (`json`, `csv`, `fhir` or a media type) or else by `Accept`.
pub async fn outcomes(
    engine: Data<Engine>,
    req: HttpRequest,
    body: Bytes,
) -> Result<HttpResponse, Error> {
    let query = query_pairs(&req);
    let form = ReportForm::negotiate(&req, &query)?;
    let params = if body.is_empty() {
        None
    } else {
        Some(json_body(&req, &body)?)
    };
    let report = crate::outcomes::operation_report(&engine, params.as_ref(), &query).await?;
    Ok(match form {
        ReportForm::Csv => HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .body(crate::outcomes::to_csv(&report)),
        ReportForm::Json => HttpResponse::Ok()
            .content_type("application/json; charset=utf-8")
            .body(crate::outcomes::to_json(&report).to_string()),
        ReportForm::MeasureReport => {
            let now = format_instant(now_ms());
            let mr = crate::outcomes::to_measure_report(&report, engine.canonical(), &now);
            HttpResponse::Ok()
                .content_type("application/fhir+json; charset=utf-8")
                .body(mr.to_string())
        }
    })
}
