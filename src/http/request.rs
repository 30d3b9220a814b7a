//! Reading what the parse does not: media types, `Accept`/`_format`, `Prefer`, the break-glass
//! reason, and the body (bounded, then as JSON or as a search form). Checks happen before any work,
//! so a refused request changes nothing.

use actix_web::HttpRequest;
use actix_web::http::header;
use serde_json::Value;

use crate::error::Error;
use crate::rest::{Prefer, parse_json};

fn is_json_type(media: &str) -> bool {
    let essence = media
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    matches!(
        essence.as_str(),
        "application/fhir+json" | "application/json" | "application/json+fhir"
    )
}

/// Refuses requests that ask for anything but JSON (`Accept`, or `_format` among `params`).
pub fn check_accept(req: &HttpRequest, params: &[(String, String)]) -> Result<(), Error> {
    if let Some(accept) = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
    {
        let ok = accept.split(',').any(|m| {
            let essence = m.split(';').next().unwrap_or("").trim();
            is_json_type(essence) || matches!(essence, "*/*" | "application/*" | "")
        });
        if !ok {
            return Err(Error::NotAcceptable);
        }
    }
    for (k, v) in params {
        if k == "_format" && !(is_json_type(v) || v == "json") {
            return Err(Error::NotAcceptable);
        }
    }
    Ok(())
}

/// The JSON body of a create, update or bundle: 415 for other media types, 400 for bad JSON.
pub fn json_body(req: &HttpRequest, body: &[u8]) -> Result<Value, Error> {
    let ctype = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !is_json_type(ctype) {
        return Err(Error::UnsupportedMediaType);
    }
    parse_json(body)
}

/// The body of a PATCH: a JSON Patch (`application/json-patch+json`), or a FHIR JSON body (a
/// FHIRPath Patch `Parameters`, which the engine answers); 415 for another media type.
pub fn patch_body(req: &HttpRequest, body: &[u8]) -> Result<Value, Error> {
    let ctype = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = ctype
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence != "application/json-patch+json" && !is_json_type(ctype) {
        return Err(Error::UnsupportedMediaType);
    }
    parse_json(body)
}

/// The parameters of a `POST [type]/_search` form body (415 for another media type).
pub fn search_form(req: &HttpRequest, body: &[u8]) -> Result<Vec<(String, String)>, Error> {
    let ctype = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !body.is_empty() && !ctype.starts_with("application/x-www-form-urlencoded") {
        return Err(Error::UnsupportedMediaType);
    }
    let text = std::str::from_utf8(body)
        .map_err(|_| Error::BadRequest("The search form is not UTF-8".into()))?;
    Ok(crate::interaction::decode_query(text)?)
}

/// The request body, read up to `limit` bytes (413 beyond it, before reading further) within
/// `deadline` of its start (408 after it: a client that trickles its body, a byte at a time, holds
/// a connection and a worker's memory no longer than that).
pub async fn read_body(
    req: &HttpRequest,
    payload: actix_web::web::Payload,
    limit: usize,
    deadline: std::time::Duration,
) -> Result<actix_web::web::Bytes, Error> {
    tokio::time::timeout(deadline, read_body_unbounded(req, payload, limit))
        .await
        .map_err(|_| Error::RequestTimeout)?
}

async fn read_body_unbounded(
    req: &HttpRequest,
    mut payload: actix_web::web::Payload,
    limit: usize,
) -> Result<actix_web::web::Bytes, Error> {
    use futures_util::StreamExt as _;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(Error::PayloadTooLarge);
    }
    let mut body = actix_web::web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|_| Error::BadRequest("The request body could not be read".into()))?;
        if body.len() + chunk.len() > limit {
            return Err(Error::PayloadTooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// The header carrying the reason for breaking the glass.
pub const BREAK_GLASS_HEADER: &str = "x-break-glass-reason";

/// The reason given for breaking the glass, trimmed and bounded; `None` when absent or blank.
pub fn break_glass_reason(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(BREAK_GLASS_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().chars().take(500).collect::<String>())
        .filter(|s| !s.is_empty())
}

/// A header's value as text, if present and text.
pub fn header_text<'r>(req: &'r HttpRequest, name: &str) -> Option<&'r str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The client's `Prefer` header.
pub fn prefer(req: &HttpRequest) -> Prefer {
    Prefer::parse(
        req.headers()
            .get_all("prefer")
            .filter_map(|v| v.to_str().ok()),
    )
}
