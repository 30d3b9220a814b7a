//! HNA and PCSP rules applied to every write of a QuestionnaireResponse or CarePlan, before the store
//! transaction: responses are checked against their Questionnaire, PCSP care plans against their
//! profile. (Being built: issue 3.)

use serde_json::Value;

use crate::error::Error;
use crate::fhir::ResourceType;
use crate::rest::Engine;

/// Checks `resource` (already structurally valid) against the HNA/PCSP rules; 422 when it breaks one.
/// `pending` lists the `fullUrl`s written in the same transaction, which references may name.
pub async fn check(
    _engine: &Engine,
    _rtype: ResourceType,
    _resource: &Value,
    _pending: &[String],
) -> Result<(), Error> {
    Ok(())
}
