//! Reading a FHIR request: media types, `Accept`/`_format`, `Prefer`, `If-Match`, query pairs and the
//! JSON body. Checks happen before any work, so a refused request changes nothing.

use actix_web::HttpRequest;
use actix_web::http::header;
use serde_json::Value;

use crate::error::Error;
use crate::rest::{Prefer, parse_if_match, parse_json};

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

/// Refuses requests that ask for anything but JSON (`Accept`, `_format`).
pub fn check_accept(req: &HttpRequest) -> Result<(), Error> {
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
    for (k, v) in query_pairs(req) {
        if k == "_format" && !(is_json_type(&v) || v == "json") {
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

/// The query string as ordered pairs, percent-decoded.
pub fn query_pairs(req: &HttpRequest) -> Vec<(String, String)> {
    form_urlencoded::parse(req.query_string().as_bytes())
        .into_owned()
        .collect()
}

/// `POST [type]/_search` parameters: the form body plus the query string.
pub fn search_form(req: &HttpRequest, body: &[u8]) -> Result<Vec<(String, String)>, Error> {
    let ctype = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !body.is_empty() && !ctype.starts_with("application/x-www-form-urlencoded") {
        return Err(Error::UnsupportedMediaType);
    }
    let mut pairs = query_pairs(req);
    pairs.extend(form_urlencoded::parse(body).into_owned());
    Ok(pairs)
}

/// The client's `Prefer` header.
pub fn prefer(req: &HttpRequest) -> Prefer {
    Prefer::parse(
        req.headers()
            .get_all("prefer")
            .filter_map(|v| v.to_str().ok()),
    )
}

/// The `If-Match` version, when sent.
pub fn if_match(req: &HttpRequest) -> Result<Option<u64>, Error> {
    req.headers()
        .get(header::IF_MATCH)
        .map(|v| {
            v.to_str()
                .map_err(|_| Error::BadRequest("If-Match is not text".into()))
                .and_then(parse_if_match)
        })
        .transpose()
}

/// The `If-None-Exist` criteria, when sent.
pub fn if_none_exist(req: &HttpRequest) -> Result<Option<String>, Error> {
    req.headers()
        .get("if-none-exist")
        .map(|v| {
            v.to_str()
                .map(str::to_owned)
                .map_err(|_| Error::BadRequest("If-None-Exist is not text".into()))
        })
        .transpose()
}
