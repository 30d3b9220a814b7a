//! FHIR messaging for systems that speak the NHS Booking and Referral Standard (BaRS):
//! `POST [base]/$process-message` with a `message` Bundle, answered synchronously with a response
//! message (`MessageHeader.response.code` `ok`) or an OperationOutcome carrying a BaRS error code.
//!
//! A message is not a second way in: it becomes a transaction of the referral workflow
//! (`crate::referral`) and runs through the same parse, authorisation, write table, profiles and
//! state machine as the same writes sent by REST, in one store transaction.
//!
//! | event / reason | what it does |
//! |---|---|
//! | `servicerequest-request` / `new` | creates the focus referral and its fulfilment Task (status `requested`, owner the referral's performer) |
//! | `servicerequest-request` / `update` | replaces the referral the message names by `ServiceRequest.identifier` (at its current version); a cancellation (`status` `revoked`) cancels its open Task, and is refused (422) once the referral is no longer active |
//! | any other event or reason | 501 `REC_NOT_IMPLEMENTED` |
//!
//! Decisions where BaRS leaves room:
//! - the message's other entries are context: a Patient or Organization entry the referral
//!   references is resolved to the stored one by NHS number or ODS code (a conditional
//!   reference, matched as the caller may see); the gateway keeps nothing else of a message, so a
//!   referral reference to any other entry is refused (422) rather than silently dropped;
//! - `X-Request-ID` and `X-Correlation-ID` (GUIDs) are required and echoed on every response;
//!   request ids belong to the sender (the token's subject), so two senders cannot collide. The
//!   reply is kept in the same store transaction as the writes, so a repeat of a processed
//!   message (same ids, same body) gets the kept reply and writes nothing, while a message that
//!   failed kept nothing and may be sent again. The same request id with a different body or
//!   correlation id is 409.
//! - errors are OperationOutcomes whose issues carry the BaRS code in `details`
//!   ([`reply::outcome`]); the HTTP status is the one the same error has anywhere else.

pub mod headers;
pub mod message;
pub mod plan;
pub mod reply;

pub use headers::{MessageIds, digest};
pub use message::{Message, Reason, encoded, read};

pub use crate::fhir::codes::bars::{EVENTS, REFERRAL_REQUEST};

/// BaRS message reasons.
pub const REASONS: &str = "https://fhir.nhs.uk/CodeSystem/message-reason-bars";

/// The BaRS HTTP error codes (`OperationOutcome.issue.details`).
pub const ERROR_CODES: &str = "https://fhir.nhs.uk/CodeSystem/http-error-codes";
