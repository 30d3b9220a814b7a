//! The referral profiles: a `ServiceRequest` from one organisation to another, and its fulfilment
//! `Task` (FHIR workflow "option F"). Differentials on UK Core; the rules the gateway enforces on
//! every write are `crate::referral::shape` (elements) and `crate::referral::status` (the Task's
//! state machine), and these say the same in the form a client's validator reads.

use serde_json::{Value, json};

use super::structure::{Head, el, profile, reference_to, uk_core};
use crate::fhir::codes::{FULFILL, REFERRAL_CATEGORY, SNOMED, TASK_CODE_SYSTEM};
use crate::hna::Canonical;

fn organisation() -> Value {
    reference_to(&[uk_core("Organization")])
}

/// The referral profile.
pub fn referral_request(c: &Canonical) -> Value {
    let head = Head {
        url: c.referral_profile(),
        name: "ReferralServiceRequest",
        title: "Referral",
        description: "A referral from one organisation (requester) to another (performer) for one person, \
                      answered on its fulfilment Task. Its status follows the Task's: completed with it, \
                      revoked when it is rejected, cancelled or failed.",
    };
    profile(
        head,
        "ServiceRequest",
        vec![
            el(
                "ServiceRequest.status",
                json!({"short": "draft | active | on-hold | revoked | completed | entered-in-error (follows the Task)"}),
            ),
            el("ServiceRequest.intent", json!({"short": "order | plan"})),
            el(
                "ServiceRequest.category",
                json!({"min": 1, "patternCodeableConcept": {"coding": [{
                    "system": SNOMED, "code": REFERRAL_CATEGORY}]}}),
            ),
            el(
                "ServiceRequest.subject",
                json!({"type": reference_to(&[uk_core("Patient")])}),
            ),
            el("ServiceRequest.authoredOn", json!({"min": 1})),
            el(
                "ServiceRequest.requester",
                json!({"short": "The sending organisation", "min": 1, "type": organisation()}),
            ),
            el(
                "ServiceRequest.performer",
                json!({"short": "The receiving organisation", "min": 1, "max": "1",
                       "type": organisation()}),
            ),
            el(
                "ServiceRequest.reasonCode",
                json!({"short": "The HNA concerns the referral addresses",
                       "definition": format!("Codings of {} where the reason is a concern of the \
                                              catalogue: they decide which domains the referral is in.",
                                             c.concern_system())}),
            ),
            el(
                "ServiceRequest.supportingInfo",
                json!({"short": "The care and support plan or HNA the referral comes from"}),
            ),
        ],
    )
}

/// The fulfilment Task profile.
pub fn referral_task(c: &Canonical) -> Value {
    let head = Head {
        url: c.referral_task_profile(),
        name: "ReferralTask",
        title: "Referral fulfilment Task",
        description: "The receiving organisation's answer to a referral. Created requested; the owner moves \
                      it requested -> received | accepted | rejected, received -> accepted | rejected, \
                      accepted -> in-progress, in-progress <-> on-hold, in-progress -> completed | failed; \
                      the requester cancels it while requested or accepted. Rejected, cancelled and failed \
                      need a statusReason; updates need If-Match.",
    };
    profile(
        head,
        "Task",
        vec![
            el(
                "Task.status",
                json!({"short": "requested | received | accepted | rejected | cancelled | in-progress | on-hold | completed | failed"}),
            ),
            el(
                "Task.statusReason",
                json!({"short": "Why it was rejected, cancelled or failed (required then)"}),
            ),
            el("Task.intent", json!({"fixedCode": "order"})),
            el(
                "Task.code",
                json!({"min": 1, "patternCodeableConcept": {"coding": [{
                    "system": TASK_CODE_SYSTEM, "code": FULFILL}]}}),
            ),
            el(
                "Task.focus",
                json!({"short": "The referral", "min": 1,
                       "type": reference_to(&[c.referral_profile()])}),
            ),
            el(
                "Task.for",
                json!({"short": "The referral's subject", "min": 1,
                       "type": reference_to(&[uk_core("Patient")])}),
            ),
            el(
                "Task.requester",
                json!({"short": "The referral's requester", "min": 1, "type": organisation()}),
            ),
            el(
                "Task.owner",
                json!({"short": "The referral's performer: the receiving organisation", "min": 1,
                       "type": organisation()}),
            ),
        ],
    )
}
