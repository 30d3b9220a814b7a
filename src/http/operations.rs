//! The whole-store operations answered over HTTP: `$hna-outcomes` (the outcome tables, as JSON,
//! CSV or a MeasureReport) and `$consent-explain`. (`$extract` is the engine's; the audit
//! operations are in `audit_log`.)

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::Value;

use super::response::to_http;
use crate::error::Error;
use crate::fhir::instant::{format_instant, now_ms};
use crate::rest::{Engine, Reply};

/// `GET [base]/$consent-explain?resource=&role=&organization=...` (auditors and system callers).
pub async fn consent_explain(
    engine: &Engine,
    params: &[(String, String)],
) -> Result<HttpResponse, Error> {
    let q = crate::rest::explain::Question::from_query(params)?;
    let answer = crate::rest::explain::explain(engine, &q).await?;
    Ok(to_http(
        Reply::json(StatusCode::OK, answer),
        engine.base_url(),
    ))
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
    engine: &Engine,
    req: &HttpRequest,
    query: &[(String, String)],
    params: Option<&Value>,
) -> Result<HttpResponse, Error> {
    let form = ReportForm::negotiate(req, query)?;
    let report = crate::outcomes::operation_report(engine, params, query).await?;
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
