//! What a message is answered with (pure): a response message naming the request's header, or an
//! OperationOutcome whose issues carry the BaRS error code of the failure's HTTP status.

use actix_web::http::StatusCode;
use serde_json::{Value, json};

use super::{ERROR_CODES, EVENTS, Message, REFERRAL_REQUEST};
use crate::error::Error;
use crate::fhir::operation_outcome;

/// The response message to `message` (whose ids are `ids`), from the gateway at `base`: a
/// `message` Bundle whose MessageHeader answers `ok` to the request's header and focuses on the
/// referral, followed by `written` (the stored resources the message wrote, each `(Type/id,
/// JSON text)`, the referral first). `id` is the reply's own id and `now` its timestamp.
pub fn response(
    message: &Message,
    request_id: &str,
    base: &str,
    written: &[(String, String)],
    id: &str,
    now: &str,
) -> String {
    let mut header = json!({
        "resourceType": "MessageHeader",
        "id": id,
        "eventCoding": {"system": EVENTS, "code": REFERRAL_REQUEST},
        "source": {"endpoint": base},
        "response": {
            "identifier": message.header_id.as_deref().unwrap_or(request_id),
            "code": "ok",
        },
        "focus": written.first().map(|(r, _)| json!([{"reference": r}])).unwrap_or(json!([])),
    });
    if let Some(source) = &message.source {
        header["destination"] = json!([{"endpoint": source}]);
    }
    // The written resources are stored text: spliced in, never parsed again.
    let mut out = json!({"resourceType": "Bundle", "id": id, "type": "message", "timestamp": now})
        .to_string();
    out.pop();
    out.push_str(",\"entry\":[");
    out.push_str(&json!({"fullUrl": format!("urn:uuid:{id}"), "resource": header}).to_string());
    for (reference, text) in written {
        out.push_str(&format!(
            ",{{\"fullUrl\":{},\"resource\":{text}}}",
            json!(format!("{base}/{reference}"))
        ));
    }
    out.push_str("]}");
    out
}

/// The BaRS code of a failure with HTTP `status`.
pub fn error_code(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 => "REC_UNAUTHORIZED",
        403 => "REC_FORBIDDEN",
        404 => "REC_NOT_FOUND",
        405 => "REC_METHOD_NOT_ALLOWED",
        409 | 412 => "REC_CONFLICT",
        422 => "REC_UNPROCESSABLE",
        501 => "REC_NOT_IMPLEMENTED",
        503 => "REC_SERVICE_UNAVAILABLE",
        s if s >= 500 => "REC_SERVER_ERROR",
        _ => "REC_BAD_REQUEST",
    }
}

/// The OperationOutcome of `err` for a message: the issues it has anywhere, each with the BaRS
/// code of its status in `details`.
pub fn outcome(err: &Error) -> Value {
    let code = error_code(err.status());
    let mut outcome = operation_outcome(&err.issues());
    if let Some(issues) = outcome["issue"].as_array_mut() {
        for issue in issues {
            issue["details"] = json!({"coding": [{"system": ERROR_CODES, "code": code}]});
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messaging::Reason;

    fn message() -> Message {
        Message {
            header_id: Some("h1".into()),
            reason: Reason::New,
            source: Some("https://sender.example/fhir".into()),
            focus_entry: 1,
            referral: json!({}),
        }
    }

    #[test]
    fn a_response_answers_the_request_header_and_carries_what_was_written() {
        let written = vec![
            (
                "ServiceRequest/r1".to_owned(),
                r#"{"resourceType":"ServiceRequest","id":"r1"}"#.to_owned(),
            ),
            (
                "Task/t1".to_owned(),
                r#"{"resourceType":"Task","id":"t1"}"#.to_owned(),
            ),
        ];
        let text = response(&message(), "req", "https://gw/fhir", &written, "m1", "now");
        let v: Value = serde_json::from_str(&text).unwrap_or_default();
        let header = &v["entry"][0]["resource"];
        assert_eq!(header["response"]["identifier"], "h1");
        assert_eq!(header["response"]["code"], "ok");
        assert_eq!(header["focus"][0]["reference"], "ServiceRequest/r1");
        assert_eq!(
            header["destination"][0]["endpoint"],
            "https://sender.example/fhir"
        );
        assert_eq!(v["entry"][2]["fullUrl"], "https://gw/fhir/Task/t1");
        assert_eq!(v["entry"][2]["resource"]["id"], "t1");
    }

    #[test]
    fn failures_carry_the_bars_code_of_their_status() {
        let cases = [
            (Error::BadRequest("x".into()), "REC_BAD_REQUEST"),
            (Error::Forbidden("x".into()), "REC_FORBIDDEN"),
            (Error::Conflict("x".into()), "REC_CONFLICT"),
            (Error::BusinessRule(vec![]), "REC_UNPROCESSABLE"),
            (Error::NotImplemented("x".into()), "REC_NOT_IMPLEMENTED"),
            (Error::internal("x"), "REC_SERVER_ERROR"),
        ];
        for (err, code) in cases {
            assert_eq!(error_code(err.status()), code, "{err}");
        }
        let o = outcome(&Error::NotImplemented("no".into()));
        assert_eq!(
            o["issue"][0]["details"]["coding"][0]["code"],
            "REC_NOT_IMPLEMENTED"
        );
        assert_eq!(o["issue"][0]["details"]["coding"][0]["system"], ERROR_CODES);
    }
}
