//! The HTTP face of `$process-message` (`crate::messaging`): the BaRS headers, read and echoed on
//! every response to a message, and failures as OperationOutcomes carrying BaRS error codes.

use actix_web::body::BoxBody;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError as _};

use super::request::header_text;
use crate::error::Error;
use crate::messaging::{MessageIds, reply};

/// The message's own id; a repeat carries the same.
const REQUEST_ID: &str = "x-request-id";
/// The conversation's id.
const CORRELATION_ID: &str = "x-correlation-id";

/// The message's ids from its headers (400 naming the header when one is missing or not a GUID).
pub fn ids(req: &HttpRequest) -> Result<MessageIds, Error> {
    MessageIds::from_headers(
        header_text(req, REQUEST_ID),
        header_text(req, CORRELATION_ID),
    )
}

/// The headers a response to `req` echoes: each of the two it was sent, as sent.
pub fn echoed(req: &HttpRequest) -> Vec<(HeaderName, HeaderValue)> {
    [REQUEST_ID, CORRELATION_ID]
        .into_iter()
        .filter_map(|name| {
            let value = req.headers().get(name)?.clone();
            Some((HeaderName::from_static(name), value))
        })
        .collect()
}

/// `response` with `headers` added.
pub fn echo(mut response: HttpResponse, headers: &[(HeaderName, HeaderValue)]) -> HttpResponse {
    for (name, value) in headers {
        response.headers_mut().insert(name.clone(), value.clone());
    }
    response
}

/// The response to a message that failed with `err`: its status and headers as anywhere else,
/// its OperationOutcome with the BaRS code.
pub fn error_response(err: &Error) -> HttpResponse {
    err.error_response()
        .set_body(BoxBody::new(reply::outcome(err).to_string()))
}
