//! The referral journey as a BaRS sender makes it, through `$process-message`: a new referral
//! becomes the referral and its Task, a repeated message is answered again without a second
//! write, the same request id with another message is a conflict, a cancellation cancels the
//! open Task, and a stale one is refused. Errors carry BaRS codes and every response echoes the
//! message's ids. On SQLite and PostgreSQL.

use reqwest::Method;
use serde_json::{Value, json};

use super::*;

const NHS: &str = "https://fhir.nhs.uk/Id/nhs-number";
const ODS: &str = "https://fhir.nhs.uk/Id/ods-organization-code";
const EVENTS: &str = "https://fhir.nhs.uk/CodeSystem/message-events-bars";
const REASONS: &str = "https://fhir.nhs.uk/CodeSystem/message-reason-bars";
const REFERRALS: &str = "https://hospital.example/referrals";
/// Ann's NHS number in the world.
const ANN_NHS: &str = "9434765919";

/// A referral message from the hospital (C0001) about the patient with `nhs` to `receiver` (an
/// ODS code), for `reason` (`new` or `update`), the referral with `status` and identifier `id`.
fn message(reason: &str, nhs: &str, receiver: &str, status: &str, id: &str) -> Value {
    json!({"resourceType": "Bundle", "type": "message", "timestamp": "2026-12-03T10:00:00Z",
        "entry": [
        {"fullUrl": "urn:uuid:6d1c7a8e-0000-4000-8000-000000000001",
            "resource": {"resourceType": "MessageHeader", "id": format!("hdr-{id}-{status}"),
            "eventCoding": {"system": EVENTS, "code": "servicerequest-request"},
            "reason": {"coding": [{"system": REASONS, "code": reason}]},
            "source": {"endpoint": "https://hospital.example/bars"},
            "destination": [{"endpoint": "https://carebridge.example/fhir"}],
            "focus": [{"reference": "urn:uuid:6d1c7a8e-0000-4000-8000-000000000002"}]}},
        {"fullUrl": "urn:uuid:6d1c7a8e-0000-4000-8000-000000000002",
            "resource": {"resourceType": "ServiceRequest", "id": "sender-side-id",
            "identifier": [{"system": REFERRALS, "value": id}],
            "status": status, "intent": "order",
            "category": [{"coding": [{"system": "http://snomed.info/sct", "code": "3457005"}]}],
            "code": {"text": "Help with housing"},
            "subject": {"reference": "urn:uuid:6d1c7a8e-0000-4000-8000-000000000003"},
            "authoredOn": "2026-12-03T09:30:00Z",
            "requester": {"reference": "urn:uuid:6d1c7a8e-0000-4000-8000-000000000004"},
            "performer": [{"reference": "urn:uuid:6d1c7a8e-0000-4000-8000-000000000005"}],
            "reasonCode": [{"coding": [{"system": concerns(), "code": "housing"}]}]}},
        {"fullUrl": "urn:uuid:6d1c7a8e-0000-4000-8000-000000000003",
            "resource": {"resourceType": "Patient", "identifier": [{"system": NHS, "value": nhs}]}},
        {"fullUrl": "urn:uuid:6d1c7a8e-0000-4000-8000-000000000004",
            "resource": {"resourceType": "Organization", "identifier": [{"system": ODS, "value": "C0001"}]}},
        {"fullUrl": "urn:uuid:6d1c7a8e-0000-4000-8000-000000000005",
            "resource": {"resourceType": "Organization", "identifier": [{"system": ODS, "value": receiver}]}},
    ]})
}

/// A fresh GUID pair for one message.
fn ids(n: u32) -> (String, String) {
    (
        format!("0b7e4f3a-0000-4000-8000-{n:012}"),
        format!("c0771d00-0000-4000-8000-{n:012}"),
    )
}

/// Sends `body` to `$process-message` as `token` with the ids given (each header only if given).
async fn send(r: &Referrals, token: &str, ids: (Option<&str>, Option<&str>), body: &Value) -> Resp {
    let mut rb =
        r.w.app
            .anonymous(Method::POST, "$process-message")
            .bearer_auth(token)
            .header("content-type", "application/fhir+json")
            .body(body.to_string());
    if let Some(id) = ids.0 {
        rb = rb.header("X-Request-ID", id);
    }
    if let Some(id) = ids.1 {
        rb = rb.header("X-Correlation-ID", id);
    }
    r.w.app.send(rb).await
}

async fn send_as(r: &Referrals, token: &str, n: u32, body: &Value) -> Resp {
    let (request, correlation) = ids(n);
    send(r, token, (Some(&request), Some(&correlation)), body).await
}

/// The BaRS code of an error response (its first issue's).
fn bars_code(resp: &Resp) -> String {
    resp.json()["issue"][0]["details"]["coding"][0]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The referrals of Ann with sender identifier `id`, as the system sees them.
async fn referrals_named(r: &Referrals, id: &str) -> Vec<String> {
    r.w.app
        .search_ids("ServiceRequest", &format!("identifier={REFERRALS}|{id}"))
        .await
}

/// The ids of the ServiceRequest and Task a response message carries.
fn written(reply: &Value) -> (String, String) {
    let of = |t: &str| {
        reply["entry"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["resource"]["resourceType"] == t)
            .and_then(|e| e["resource"]["id"].as_str())
            .unwrap_or_default()
            .to_owned()
    };
    (of("ServiceRequest"), of("Task"))
}

on_both_backends! {
    async fn a_referral_by_message_is_created_repeated_cancelled_and_audited(app: TestApp) {
        let r = Referrals::on(app).await;
        let hospital = r.hospital();
        let new = message("new", ANN_NHS, "H0001", "active", "R-1");
        let (request, correlation) = ids(1);
        let first = send(&r, &hospital, (Some(&request), Some(&correlation)), &new).await;
        first.assert_status(200);
        assert_eq!(first.header("x-request-id"), Some(request.as_str()));
        assert_eq!(first.header("x-correlation-id"), Some(correlation.as_str()));
        let reply = first.json();
        assert_eq!(reply["type"], "message");
        let header = &reply["entry"][0]["resource"];
        assert_eq!(header["resourceType"], "MessageHeader");
        assert_eq!(header["response"]["code"], "ok");
        assert_eq!(header["response"]["identifier"], "hdr-R-1-active");
        assert_eq!(header["destination"][0]["endpoint"], "https://hospital.example/bars");
        let (sr, task) = written(&reply);
        assert_eq!(header["focus"][0]["reference"], format!("ServiceRequest/{sr}"));

        // The referral is the workflow's: resolved to the stored patient and organisations, with
        // a Task owned by housing on housing's worklist.
        let (stored, _) = r.current(&hospital, &format!("ServiceRequest/{sr}")).await;
        assert_eq!(stored["subject"]["reference"], format!("Patient/{}", r.w.ann));
        assert_eq!(stored["requester"]["reference"], format!("Organization/{}", r.w.cns_team));
        assert_eq!(stored["performer"][0]["reference"], format!("Organization/{}", r.w.housing));
        let housing = r.w.housing();
        let list = r
            .get_as(&housing, &format!("Task?owner=Organization/{}&status=requested", r.w.housing))
            .await;
        assert_eq!(list.match_ids(), vec![task.clone()]);

        // The same message again: the same reply, and nothing written twice.
        let again = send(&r, &hospital, (Some(&request), Some(&correlation)), &new).await;
        again.assert_status(200);
        assert_eq!(again.text, first.text);
        assert_eq!(referrals_named(&r, "R-1").await, vec![sr.clone()]);

        // The same request id with another message, or in another conversation: 409.
        let other = message("new", ANN_NHS, "H0001", "active", "R-2");
        let clash = send(&r, &hospital, (Some(&request), Some(&correlation)), &other).await;
        assert_outcome(&clash, 409, "conflict", None);
        assert_eq!(bars_code(&clash), "REC_CONFLICT");
        assert_eq!(clash.header("x-request-id"), Some(request.as_str()));
        let (_, elsewhere) = ids(99);
        let moved = send(&r, &hospital, (Some(&request), Some(&elsewhere)), &new).await;
        assert_eq!(moved.status, 409, "{}", moved.text);
        assert!(referrals_named(&r, "R-2").await.is_empty());

        // Housing accepts on the Task (REST); the hospital cancels by message: the referral is
        // revoked and its open Task cancelled with it, in the same transaction.
        r.move_task(&housing, &task, "accepted", None).await.assert_status(200);
        let cancel = message("update", ANN_NHS, "H0001", "revoked", "R-1");
        let cancelled = send_as(&r, &hospital, 2, &cancel).await;
        cancelled.assert_status(200);
        assert_eq!(r.status_of(&format!("ServiceRequest/{sr}")).await, "revoked");
        assert_eq!(r.status_of(&format!("Task/{task}")).await, "cancelled");
        let carried = written(&cancelled.json());
        assert_eq!(carried, (sr.clone(), task.clone()), "{}", cancelled.text);

        // Cancelling it again is stale: refused, and nothing changes.
        let stale = send_as(&r, &hospital, 3, &cancel).await;
        assert_outcome(&stale, 422, "business-rule", Some("Bundle.entry[1].resource.status"));
        assert_eq!(bars_code(&stale), "REC_UNPROCESSABLE");
        let (after, version) = r.current(&hospital, &format!("ServiceRequest/{sr}")).await;
        assert_eq!(after["status"], "revoked");
        assert_eq!(version, "2");

        // Each message left its event (an operation by the hospital), naming what it wrote; the
        // repeat names what its kept reply carried.
        let events = r.w.app.audit_events().await;
        let messages: Vec<&Value> = events
            .iter()
            .filter(|e| e["subtype"][0]["code"] == "operation"
                && e["agent"][0]["role"][1]["coding"][0]["code"] == "C0001")
            .collect();
        assert_eq!(messages.len(), 6, "new, repeat, two conflicts, cancel, stale: {messages:?}");
        let naming = messages
            .iter()
            .filter(|e| e.to_string().contains(&format!("ServiceRequest/{sr}/_history")))
            .count();
        assert!(naming >= 3, "the first, its repeat and the cancellation: {messages:?}");
    }
}

on_both_backends! {
    async fn a_message_sent_twice_at_once_is_processed_once(app: TestApp) {
        let r = Referrals::on(app).await;
        let hospital = r.hospital();
        let new = message("new", ANN_NHS, "H0001", "active", "R-9");
        let (a, b) = tokio::join!(send_as(&r, &hospital, 9, &new), send_as(&r, &hospital, 9, &new));
        a.assert_status(200);
        b.assert_status(200);
        assert_eq!(a.text, b.text, "both get the one reply");
        assert_eq!(referrals_named(&r, "R-9").await.len(), 1);
    }
}

on_both_backends! {
    async fn messages_are_refused_with_bars_codes_and_change_nothing(app: TestApp) {
        let r = Referrals::on(app).await;
        let hospital = r.hospital();
        let new = message("new", ANN_NHS, "H0001", "active", "R-5");
        let (request, _) = ids(5);

        // Without its ids (or with ids that are not GUIDs): 400, echoing what was sent.
        let bare = send(&r, &hospital, (Some(&request), None), &new).await;
        assert_outcome(&bare, 400, "invalid", None);
        assert_eq!(bars_code(&bare), "REC_BAD_REQUEST");
        assert_eq!(bare.header("x-request-id"), Some(request.as_str()));
        let odd = send(&r, &hospital, (Some("42"), Some("43")), &new).await;
        assert_eq!(odd.status, 400);

        // An event it has no workflow for: 501.
        let mut booking = new.clone();
        booking["entry"][0]["resource"]["eventCoding"]["code"] = json!("booking-request");
        let unhandled = send_as(&r, &hospital, 6, &booking).await;
        assert_outcome(&unhandled, 501, "not-supported", None);
        assert_eq!(bars_code(&unhandled), "REC_NOT_IMPLEMENTED");

        // Not a message: 400 naming the element.
        let mut not_message = new.clone();
        not_message["type"] = json!("transaction");
        let refused = send_as(&r, &hospital, 7, &not_message).await;
        assert_outcome(&refused, 400, "invalid", Some("Bundle.type"));

        // A role that sends no referrals: 403. A patient the hospital has no relationship with
        // (Bob) is one it cannot see: the message's patient matches no one (412), exactly as for
        // a patient who does not exist.
        let by_housing = send_as(&r, &r.w.housing(), 8, &new).await;
        assert_eq!(by_housing.status, 403, "{}", by_housing.text);
        assert_eq!(bars_code(&by_housing), "REC_FORBIDDEN");
        let bob = message("new", "9434765870", "H0001", "active", "R-6");
        let stranger = send_as(&r, &hospital, 10, &bob).await;
        let nobody = message("new", "9999999999", "H0001", "active", "R-6");
        let unknown_patient = send_as(&r, &hospital, 14, &nobody).await;
        assert_eq!(stranger.status, 412, "{}", stranger.text);
        assert_eq!(bars_code(&stranger), "REC_CONFLICT");
        assert_eq!(
            stranger.text.replace("9434765870", "N"),
            unknown_patient.text.replace("9999999999", "N")
        );

        // A referral the profile refuses: 422 at the message's entry.
        let mut shapeless = new.clone();
        shapeless["entry"][1]["resource"]["intent"] = json!("proposal");
        let invalid = send_as(&r, &hospital, 11, &shapeless).await;
        assert_eq!(invalid.status, 422, "{}", invalid.text);
        assert!(invalid.text.contains("Bundle.entry[1].resource.intent"), "{}", invalid.text);

        // An update of a referral nobody sent: 404. Without a token: 401.
        let unknown = message("update", ANN_NHS, "H0001", "revoked", "R-404");
        let missing = send_as(&r, &hospital, 12, &unknown).await;
        assert_eq!(missing.status, 404, "{}", missing.text);
        assert_eq!(bars_code(&missing), "REC_NOT_FOUND");
        let (request, correlation) = ids(13);
        let anonymous = r
            .w
            .app
            .send(
                r.w.app
                    .anonymous(Method::POST, "$process-message")
                    .header("X-Request-ID", &request)
                    .header("X-Correlation-ID", &correlation)
                    .header("content-type", "application/fhir+json")
                    .body(new.to_string()),
            )
            .await;
        assert_eq!(anonymous.status, 401);
        assert_eq!(bars_code(&anonymous), "REC_UNAUTHORIZED");
        assert_eq!(anonymous.header("x-correlation-id"), Some(correlation.as_str()));

        // None of it wrote anything; a refused message keeps no reply, so it may be sent again
        // once put right.
        for id in ["R-5", "R-6", "R-404"] {
            assert!(referrals_named(&r, id).await.is_empty(), "{id}");
        }
        send(&r, &hospital, (Some(&request), Some(&correlation)), &new)
            .await
            .assert_status(200);
    }
}

#[tokio::test]
async fn the_message_definition_is_served_and_declared() {
    let app = spawn_app().await;
    let metadata = app.get("metadata").await;
    metadata.assert_status(200);
    let m = metadata.json();
    let messaging = &m["messaging"][0];
    let definition = messaging["supportedMessage"][0]["definition"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(messaging["supportedMessage"][0]["mode"], "receiver");
    assert!(
        messaging["endpoint"][0]["address"]
            .as_str()
            .is_some_and(|a| a.ends_with("/$process-message"))
    );
    let found = app
        .search("MessageDefinition", &format!("url={definition}"))
        .await;
    found.assert_status(200);
    let served = &found.entries()[0]["resource"];
    assert_eq!(served["eventCoding"]["code"], "servicerequest-request");
    assert_eq!(served["focus"][0]["code"], "ServiceRequest");
}

on_both_backends! {
    async fn a_message_inside_a_bundle_is_refused_in_every_shape_and_writes_nothing(app: TestApp) {
        let r = Referrals::on(app).await;
        let hospital = r.hospital();
        let new = message("new", ANN_NHS, "H0001", "active", "R-7");
        let absolute = format!("{}/$process-message", r.w.app.base);
        for url in ["$process-message", "%24process-message", "/fhir/$process-message", &absolute] {
            let entry = json!({"resource": new, "request": {"method": "POST", "url": url}});
            let batch = r.w.bundle_as(&hospital, "batch", vec![entry.clone()]).await;
            batch.assert_status(200);
            assert_eq!(crate::world::entry_status(&batch.entries()[0]), 400, "{url}: {}", batch.text);
            let transaction = r.w.bundle_as(&hospital, "transaction", vec![entry]).await;
            assert_eq!(transaction.status, 400, "{url}: {}", transaction.text);
        }
        assert!(referrals_named(&r, "R-7").await.is_empty());
    }
}
