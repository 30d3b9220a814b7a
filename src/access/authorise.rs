//! Authorising one parsed request (or bundle entry) before it runs: the pure rules of
//! [`super::policy`], with the write table of [`super::writes`]. The HTTP layer calls
//! [`authorise`] once per request; bundles once per entry, before anything of the bundle runs.
//! What a write's condition needs of the store (is the patient related, is the requester the
//! writer's organisation) is checked in the write's own transaction, by [`super::Writer`].

use super::Gate;
use super::policy;
use crate::error::Error;
use crate::interaction::Request;

/// 403 (or 405) unless the gate's caller may make `request`. A refusal changes nothing: it comes
/// before execution.
pub fn authorise(gate: &Gate, request: &Request) -> Result<(), Error> {
    policy::permits(
        gate.principal(),
        request,
        gate.break_glass_reason().is_some(),
    )
}
