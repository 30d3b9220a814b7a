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
            // The whole cause chain (a store failure's database message) goes to the log; the body
            // below is the table's safe message only.
            tracing::error!(error = %crate::error::chain(self), "request failed");
        }
        let mut b = HttpResponse::build(self.status());
        if let Error::Unauthenticated { token_presented } = self {
            // RFC 6750: no error code when no credentials were sent, `invalid_token` otherwise.
            let challenge = if *token_presented {
                "Bearer realm=\"carebridge\", error=\"invalid_token\""
            } else {
                "Bearer realm=\"carebridge\""
            };
            b.insert_header((header::WWW_AUTHENTICATE, challenge));
        }
        b.insert_header((header::CONTENT_TYPE, FHIR_JSON))
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

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::store::StoreError;

    /// A log sink the test can read back.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if let Ok(mut v) = self.0.lock() {
                v.extend_from_slice(buf);
            }
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_store_failure_is_logged_with_its_cause_and_answered_without_it() {
        let log = Captured::default();
        let sink = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || sink.clone())
            .with_ansi(false)
            .finish();
        let e: Error = StoreError::Database("disk I/O error on page 7".into()).into();
        let res = tracing::subscriber::with_default(subscriber, || e.error_response());
        assert_eq!(
            res.status(),
            actix_web::http::StatusCode::INTERNAL_SERVER_ERROR
        );
        let body = actix_web::body::to_bytes(res.into_body())
            .await
            .expect("body");
        let body = String::from_utf8_lossy(&body);
        assert!(!body.contains("disk I/O"), "{body}");
        assert!(!body.contains("store failed"), "{body}");
        assert!(body.contains("An internal error occurred"), "{body}");
        let logged = String::from_utf8_lossy(&log.0.lock().expect("log").clone()).into_owned();
        assert!(
            logged.contains("internal: the store failed: database error: disk I/O error on page 7"),
            "{logged}"
        );
    }
}
