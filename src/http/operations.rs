//! Handlers of the FHIR operations: `QuestionnaireResponse/$extract` (HL7 SDC; instance and type level)
//! and `$hna-outcomes` (the outcome tables).

use actix_web::web::{Bytes, Data, Path};
use actix_web::{HttpRequest, HttpResponse};

use super::request::{check_accept, json_body, query_pairs};
use super::response::to_http;
use crate::error::Error;
use crate::rest::Engine;

/// `POST [base]/QuestionnaireResponse/$extract` with a Parameters body.
pub async fn extract_type(
    engine: Data<Engine>,
    req: HttpRequest,
    body: Bytes,
) -> Result<HttpResponse, Error> {
    check_accept(&req)?;
    let params = json_body(&req, &body)?;
    let r = engine.extract(None, params, &query_pairs(&req)).await?;
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
    let r = engine
        .extract(Some(&path), params, &query_pairs(&req))
        .await?;
    Ok(to_http(r, engine.base_url()))
}

/// `GET|POST [base]/$hna-outcomes?organization=..&start=..&end=..` (parameters in the query string
/// for both methods). The report is not a FHIR resource, so it is served as `application/json`, or as
/// `text/csv` for `_format=csv` (or `text/csv`) or an `Accept` naming `text/csv`.
pub async fn outcomes(engine: Data<Engine>, req: HttpRequest) -> Result<HttpResponse, Error> {
    let query = query_pairs(&req);
    let csv_format = query
        .iter()
        .any(|(k, v)| k == "_format" && matches!(v.as_str(), "csv" | "text/csv"));
    let csv_accept = req
        .headers()
        .get(actix_web::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| {
            a.split(',')
                .any(|m| m.split(';').next().unwrap_or("").trim() == "text/csv")
        });
    let csv = csv_format || csv_accept;
    if !csv {
        check_accept(&req)?;
    }
    let report = crate::outcomes::operation_report(&engine, &query).await?;
    Ok(if csv {
        HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .body(crate::outcomes::to_csv(&report))
    } else {
        HttpResponse::Ok()
            .content_type("application/json; charset=utf-8")
            .body(crate::outcomes::to_json(&report).to_string())
    })
}
