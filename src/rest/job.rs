//! Writes made by the gateway's own jobs outside any request (the HNA artefacts installed at
//! start-up, `carebridge sample`, unit tests): they run as the gateway itself, a system caller
//! with every scope, and record no audit event ([`Recording::Unrecorded`]): an operator runs
//! them, not a client.

use serde_json::Value;

use super::{Engine, Reply, Return};
use crate::audit::write::Recording;
use crate::error::Error;
use crate::fhir::ResourceType;

impl Engine {
    /// Creates `body`, or finds the one resource `criteria` (`identifier=...`) matches.
    pub async fn job_create(
        &self,
        rtype: ResourceType,
        body: Value,
        criteria: Option<&str>,
        ret: Return,
    ) -> Result<Reply, Error> {
        let criteria = criteria.map(|c| self.criteria(rtype, c)).transpose()?;
        let gate = self.system_gate();
        self.create(
            rtype,
            body,
            criteria.as_ref(),
            ret,
            &gate,
            &Recording::Unrecorded,
        )
        .await
    }

    /// Replaces `rtype/id`, whose current version must be `if_match`.
    pub async fn job_update(
        &self,
        rtype: ResourceType,
        id: &str,
        body: Value,
        if_match: u64,
    ) -> Result<Reply, Error> {
        let gate = self.system_gate();
        self.update(
            rtype,
            id,
            body,
            Some(if_match),
            Return::Minimal,
            &gate,
            &Recording::Unrecorded,
        )
        .await
    }

    /// Updates the one resource `criteria` matches, or creates it.
    pub async fn job_put(
        &self,
        rtype: ResourceType,
        criteria: &str,
        body: Value,
        ret: Return,
    ) -> Result<Reply, Error> {
        let criteria = self.criteria(rtype, criteria)?;
        let gate = self.system_gate();
        self.conditional_update(
            rtype,
            (&criteria, None),
            body,
            ret,
            &gate,
            &Recording::Unrecorded,
        )
        .await
    }
}
