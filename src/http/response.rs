//! Turning [`Reply`] and [`Error`] into HTTP responses: FHIR content type, `ETag`, `Last-Modified`,
//! `Location`, and an OperationOutcome for every error.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};

use crate::error::Error;
use crate::fhir::instant::http_date;
use crate::fhir::operation_outcome;
use crate::rest::Reply;

/// The media type of every response body.
pub const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";

impl ResponseError for Error {
    fn status_code(&self) -> actix_web::http::StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        if self.is_server_fault() {
            tracing::error!(error = %self, "request failed");
        }
        HttpResponse::build(self.status())
            .insert_header((header::CONTENT_TYPE, FHIR_JSON))
            .body(operation_outcome(&self.issues()).to_string())
    }
}

/// Builds the HTTP response for `reply`; `base_url` makes `Location` absolute.
pub fn to_http(reply: Reply, base_url: &str) -> HttpResponse {
    let mut b = HttpResponse::build(reply.status);
    if let Some(v) = reply.version {
        b.insert_header((header::ETAG, format!("W/\"{v}\"")));
    }
    if let Some(t) = reply.last_modified {
        b.insert_header((header::LAST_MODIFIED, http_date(t)));
    }
    if let Some(l) = &reply.location
        && (reply.status == actix_web::http::StatusCode::CREATED
            || reply.status == actix_web::http::StatusCode::OK)
        && let Ok(v) = HeaderValue::from_str(&format!("{base_url}/{l}"))
    {
        let name = if reply.status == actix_web::http::StatusCode::CREATED {
            header::LOCATION
        } else {
            header::CONTENT_LOCATION
        };
        b.insert_header((name, v));
    }
    match reply.body {
        Some(body) => b
            .insert_header((header::CONTENT_TYPE, FHIR_JSON))
            .body(body.into_string()),
        None => b.finish(),
    }
}
