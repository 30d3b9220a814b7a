//! The MessageDefinition of the one message `$process-message` handles (`crate::messaging`): a
//! BaRS referral request, new or update, whose focus is a referral on the referral profile.

use serde_json::{Value, json};

use super::{ARTEFACT_DATE, ARTEFACT_VERSION, PUBLISHER};
use crate::fhir::codes::bars::{EVENTS, REFERRAL_REQUEST};
use crate::hna::Canonical;

/// The referral request message.
pub fn referral_request(c: &Canonical) -> Value {
    json!({
        "resourceType": "MessageDefinition",
        "id": "referral-request",
        "url": c.referral_message(),
        "version": ARTEFACT_VERSION,
        "name": "ReferralRequestMessage",
        "title": "Referral request (BaRS servicerequest-request)",
        "status": "active",
        "date": ARTEFACT_DATE,
        "publisher": PUBLISHER,
        "description": "A referral sent as a message to $process-message: reason new creates the \
                        referral and its fulfilment Task; reason update replaces the referral named \
                        by its identifier (status revoked cancels it, while it is still active). \
                        Patient and Organization entries the referral references are matched to \
                        stored ones by NHS number and ODS code; nothing else in the message is kept. \
                        X-Request-ID and X-Correlation-ID are required: a repeat gets the first reply.",
        "eventCoding": {"system": EVENTS, "code": REFERRAL_REQUEST},
        "category": "consequence",
        "focus": [{"code": "ServiceRequest", "profile": c.referral_profile(), "min": 1, "max": "1"}],
        "responseRequired": "always",
    })
}
