//! Codes and code systems that several layers name: the referral workflow's (kept by `referral`,
//! described by the HNA profiles) and the BaRS messages' (handled by `messaging`, described by the
//! MessageDefinition the profiles build). Defined once here, below all of them.

/// SNOMED CT, the referral category's system.
pub const SNOMED: &str = "http://snomed.info/sct";

/// `3457005` Patient referral: the category every referral carries.
pub const REFERRAL_CATEGORY: &str = "3457005";

/// FHIR's task codes.
pub const TASK_CODE_SYSTEM: &str = "http://hl7.org/fhir/CodeSystem/task-code";

/// `fulfill`: the Task asks its owner to fulfil its focus.
pub const FULFILL: &str = "fulfill";

/// The BaRS (Booking and Referral Standard) message codes.
pub mod bars {
    /// BaRS message events.
    pub const EVENTS: &str = "https://fhir.nhs.uk/CodeSystem/message-events-bars";

    /// The one event the gateway handles: a referral request.
    pub const REFERRAL_REQUEST: &str = "servicerequest-request";
}
