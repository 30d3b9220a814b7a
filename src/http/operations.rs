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

/// `GET|POST [base]/$hna-outcomes?organization=..&start=..&end=..`.
pub async fn outcomes(engine: Data<Engine>, req: HttpRequest) -> Result<HttpResponse, Error> {
    check_accept(&req)?;
    let r = crate::outcomes::operation(&engine, &query_pairs(&req)).await?;
    Ok(to_http(r, engine.base_url()))
}
