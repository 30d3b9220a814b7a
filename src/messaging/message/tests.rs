use serde_json::{Value, json};

use super::*;

const NHS: &str = "https://fhir.nhs.uk/Id/nhs-number";

/// A referral message: header, referral (focus), patient and the two organisations.
fn message(event: &str, reason: &str) -> Value {
    json!({"resourceType": "Bundle", "type": "message", "entry": [
        {"fullUrl": "urn:uuid:h", "resource": {"resourceType": "MessageHeader", "id": "hdr",
            "eventCoding": {"system": EVENTS, "code": event},
            "reason": {"coding": [{"system": REASONS, "code": reason}]},
            "source": {"endpoint": "https://sender.example/fhir"},
            "focus": [{"reference": "urn:uuid:sr"}]}},
        {"fullUrl": "urn:uuid:sr", "resource": {"resourceType": "ServiceRequest", "id": "theirs",
            "status": "active",
            "identifier": [{"system": "https://sender.example/referrals", "value": "R-1"}],
            "subject": {"reference": "urn:uuid:pt"},
            "requester": {"reference": "Organization/from"},
            "performer": [{"reference": "urn:uuid:to"}]}},
        {"fullUrl": "urn:uuid:pt", "resource": {"resourceType": "Patient",
            "identifier": [{"system": NHS, "value": "9000000009"}]}},
        {"fullUrl": "urn:uuid:to", "resource": {"resourceType": "Organization", "id": "to",
            "identifier": [{"system": crate::fhir::ods::SYSTEM, "value": "H0001"}]}},
        {"fullUrl": "urn:uuid:enc", "resource": {"resourceType": "Encounter"}},
    ]})
}

fn expression(err: &Error) -> Option<String> {
    err.issues().first().and_then(|i| i.expression.clone())
}

#[test]
fn a_referral_message_is_read_with_its_references_made_conditional() {
    let m = read(message(REFERRAL_REQUEST, "new"));
    let Ok(m) = m else {
        panic!("{m:?}");
    };
    assert_eq!(m.reason, Reason::New);
    assert_eq!(m.header_id.as_deref(), Some("hdr"));
    assert_eq!(m.focus_entry, 1);
    assert_eq!(m.source.as_deref(), Some("https://sender.example/fhir"));
    let r = &m.referral;
    assert_eq!(
        r["subject"]["reference"],
        format!("Patient?identifier={NHS}|9000000009")
    );
    assert_eq!(
        r["performer"][0]["reference"],
        format!("Organization?identifier={}|H0001", crate::fhir::ods::SYSTEM)
    );
    // A reference to something outside the message is left for the transaction to resolve.
    assert_eq!(r["requester"]["reference"], "Organization/from");
    assert!(r.get("id").is_none(), "the gateway assigns the id");
    assert_eq!(
        m.identifier(),
        Some(("https://sender.example/referrals".into(), "R-1".into()))
    );
}

#[test]
fn an_update_to_revoked_is_a_cancellation() {
    let mut b = message(REFERRAL_REQUEST, "update");
    b["entry"][1]["resource"]["status"] = json!("revoked");
    let m = read(b);
    assert!(m.as_ref().is_ok_and(Message::cancels), "{m:?}");
    let m = read(message(REFERRAL_REQUEST, "new"));
    assert!(m.is_ok_and(|m| !m.cancels()));
}

#[test]
fn events_and_reasons_without_a_workflow_are_not_implemented() {
    for (event, reason) in [
        ("servicerequest-response", "new"),
        ("booking-request", "new"),
        (REFERRAL_REQUEST, "delete"),
    ] {
        let r = read(message(event, reason));
        assert!(
            matches!(r, Err(Error::NotImplemented(_))),
            "{event} {reason}: {r:?}"
        );
    }
    let mut b = message(REFERRAL_REQUEST, "new");
    b["entry"][0]["resource"]["eventCoding"]["system"] = json!("http://example.org/events");
    assert!(matches!(read(b), Err(Error::NotImplemented(_))));
}

#[test]
fn a_malformed_message_is_refused_naming_the_element() {
    type Change = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(Change, &str)> = vec![
        (
            Box::new(|b| b["type"] = json!("transaction")),
            "Bundle.type",
        ),
        (Box::new(|b| b["entry"] = json!([])), "Bundle.entry"),
        (
            Box::new(|b| b["entry"][0]["resource"]["resourceType"] = json!("Patient")),
            "Bundle.entry[0].resource",
        ),
        (
            Box::new(|b| b["entry"][0]["resource"]["reason"] = json!({"text": "new"})),
            "MessageHeader.reason",
        ),
        (
            Box::new(|b| {
                b["entry"][0]["resource"]["focus"] = json!([{"reference": "urn:uuid:pt"}])
            }),
            "MessageHeader.focus",
        ),
        (
            Box::new(|b| {
                b["entry"][0]["resource"]["focus"] = json!([{"reference": "urn:uuid:nowhere"}])
            }),
            "MessageHeader.focus",
        ),
    ];
    for (change, path) in cases {
        let mut b = message(REFERRAL_REQUEST, "new");
        change(&mut b);
        let err = read(b).err();
        assert!(
            matches!(err, Some(Error::InvalidResource(_))),
            "{path}: {err:?}"
        );
        assert_eq!(err.as_ref().and_then(expression).as_deref(), Some(path));
    }
}

#[test]
fn a_reference_to_an_entry_the_gateway_does_not_keep_is_refused() {
    let mut b = message(REFERRAL_REQUEST, "new");
    b["entry"][1]["resource"]["encounter"] = json!({"reference": "urn:uuid:enc"});
    let err = read(b).err();
    assert!(matches!(err, Some(Error::BusinessRule(_))), "{err:?}");
    assert_eq!(
        err.as_ref().and_then(expression).as_deref(),
        Some("ServiceRequest.encounter.reference")
    );
    // A Patient entry without an NHS number cannot be found.
    let mut b = message(REFERRAL_REQUEST, "new");
    b["entry"][2]["resource"]["identifier"] = json!([]);
    let err = read(b).err();
    assert_eq!(
        err.as_ref().and_then(expression).as_deref(),
        Some("ServiceRequest.subject.reference")
    );
}

#[test]
fn identifiers_are_encoded_in_the_conditional_reference() {
    let mut b = message(REFERRAL_REQUEST, "new");
    b["entry"][3]["resource"]["identifier"][0]["value"] = json!("H0&1");
    let m = read(b);
    assert!(m.is_ok_and(|m| m.referral["performer"][0]["reference"]
        == format!(
            "Organization?identifier={}|H0%261",
            crate::fhir::ods::SYSTEM
        )));
}
