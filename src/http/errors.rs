//! Every error response is an OperationOutcome, including the ones actix produces itself (routing,
//! payload limits, malformed requests): this middleware rewrites any error response whose body is not
//! already JSON, keeping its status.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};

use super::response::FHIR_JSON;
use crate::error::Error;
use crate::fhir::{OutcomeIssue, operation_outcome};

/// The middleware, for `App::wrap`.
pub fn outcome_errors<B: MessageBody + 'static>() -> ErrorHandlers<B> {
    ErrorHandlers::new().default_handler(rewrite)
}

/// Seconds a client is asked to wait after a 503 (`Retry-After`): outages the gateway answers 503
/// for (a database restart, the audit journal unable to write) last about that long or are
/// retried cheaply.
pub const RETRY_AFTER_SECONDS: &str = "1";

fn rewrite<B: MessageBody + 'static>(
    mut res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    if res.status() == StatusCode::SERVICE_UNAVAILABLE
        && !res.headers().contains_key(header::RETRY_AFTER)
    {
        res.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from_static(RETRY_AFTER_SECONDS),
        );
    }
    let is_fhir = res
        .response()
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        // FHIR JSON, or JSON a handler chose (the OAuth errors of the development token endpoint).
        .is_some_and(|v| {
            v.starts_with("application/fhir+json") || v.starts_with("application/json")
        });
    if is_fhir {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let issues = outcome_for(status);
    let (req, res) = res.into_parts();
    let mut res = res.set_body(BoxBody::new(operation_outcome(&issues).to_string()));
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, res).map_into_right_body::<B>(),
    ))
}

/// The outcome shown for an error status actix produced on its own.
fn outcome_for(status: StatusCode) -> Vec<OutcomeIssue> {
    let known = match status {
        StatusCode::NOT_FOUND => Some(Error::NoRoute),
        StatusCode::METHOD_NOT_ALLOWED => Some(Error::MethodNotAllowed),
        StatusCode::PAYLOAD_TOO_LARGE => Some(Error::PayloadTooLarge),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => Some(Error::UnsupportedMediaType),
        StatusCode::SERVICE_UNAVAILABLE => Some(Error::Unavailable(String::new())),
        _ => None,
    };
    match known {
        Some(e) => e.issues(),
        None if status.is_server_error() => Error::internal("").issues(),
        None => vec![OutcomeIssue::error(
            "invalid",
            status.canonical_reason().unwrap_or("Bad request"),
        )],
    }
}
