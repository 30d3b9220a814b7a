//! `QuestionnaireResponse/$extract` (HL7 SDC): an HNA becomes a draft PCSP CarePlan.
//! (Being built: issue 3.)

use serde_json::Value;

use super::{Engine, Reply};
use crate::error::Error;

impl Engine {
    /// Runs `$extract` on the stored response `id` (instance level) or on the response given in
    /// `params` (type level).
    pub async fn extract(
        &self,
        _id: Option<&str>,
        _params: Value,
        _query: &[(String, String)],
    ) -> Result<Reply, Error> {
        Err(Error::NoRoute)
    }
}
