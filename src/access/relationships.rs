//! Care relationships: which organisations stand in which relation to a patient, read afresh from
//! the store on each request, so that a change (a new referral, a plan activity reassigned, a
//! practice change) takes effect at the next request.
//!
//! Sources (design.md section 3), each an Organization reference:
//! - `Patient.generalPractitioner` (registered practice) and `Patient.managingOrganization`;
//! - active `CareTeam.participant.member` and `.onBehalfOf`;
//! - `CarePlan.activity.detail.performer` (plans not `entered-in-error`);
//! - `ServiceRequest.requester` and `.performer` (requests not `entered-in-error`).
//!
//! References to a Practitioner or PractitionerRole are not followed: a relationship is the
//! organisation's, and tokens name organisations. Deleted resources count for nothing.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::error::Error;
use crate::fhir::ResourceType;
use crate::search::ParseOptions;
use crate::store::Store;

/// How an organisation is related to a patient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Relationship {
    /// The patient's registered GP practice.
    RegisteredPractice,
    /// The organisation managing the patient's record.
    ManagingOrganization,
    /// On the patient's care team.
    CareTeam,
    /// Performs an activity of the patient's care plan.
    PlanActivityPerformer,
    /// Sent a referral for the patient.
    ReferralRequester,
    /// Received a referral for the patient.
    ReferralPerformer,
}

/// The relationships of one patient, by Organization id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Relationships {
    by_organization: BTreeMap<String, BTreeSet<Relationship>>,
}

impl Relationships {
    /// How `organization` (an Organization id) is related; empty when it is not.
    pub fn of(&self, organization: &str) -> BTreeSet<Relationship> {
        self.by_organization
            .get(organization)
            .cloned()
            .unwrap_or_default()
    }

    /// Whether `organization` has relationship `r`.
    pub fn has(&self, organization: &str, r: Relationship) -> bool {
        self.by_organization
            .get(organization)
            .is_some_and(|s| s.contains(&r))
    }

    /// Records that `organization` (an Organization id) has relationship `r`.
    pub fn insert(&mut self, organization: &str, r: Relationship) {
        self.by_organization
            .entry(organization.to_owned())
            .or_default()
            .insert(r);
    }

    fn add(&mut self, reference: Option<&Value>, r: Relationship) {
        let id = reference
            .and_then(|v| v.get("reference"))
            .and_then(Value::as_str)
            .and_then(|s| s.strip_prefix("Organization/"))
            .filter(|id| !id.contains('/'));
        if let Some(id) = id {
            self.insert(id, r);
        }
    }
}

/// The live resources of `rtype` whose `subject` is the patient.
async fn of_patient(
    store: &Store,
    rtype: ResourceType,
    patient: &str,
) -> Result<Vec<Value>, Error> {
    let pairs = vec![("subject".to_owned(), format!("Patient/{patient}"))];
    let opts = ParseOptions {
        lenient: false,
        default_count: 1,
        max_count: 1,
    };
    let q = crate::search::parse(rtype, &pairs, opts)?;
    let backend = store.backend();
    let rows = backend.search(&q, usize::MAX).await?;
    let mut out = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(1000) {
        for (_, r) in backend.fetch(chunk).await? {
            if !r.deleted
                && let Ok(v) = serde_json::from_str::<Value>(&r.body)
            {
                out.push(v);
            }
        }
    }
    Ok(out)
}

fn items<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    v.get(key).and_then(Value::as_array).into_iter().flatten()
}

fn entered_in_error(v: &Value) -> bool {
    v.get("status").and_then(Value::as_str) == Some("entered-in-error")
}

/// Reads the relationships of patient `patient` (a Patient id).
pub async fn relationships(store: &Store, patient: &str) -> Result<Relationships, Error> {
    let mut rel = Relationships::default();
    if let Some(p) = store.backend().read(ResourceType::Patient, patient).await?
        && !p.deleted
        && let Ok(p) = serde_json::from_str::<Value>(&p.body)
    {
        for gp in items(&p, "generalPractitioner") {
            rel.add(Some(gp), Relationship::RegisteredPractice);
        }
        rel.add(
            p.get("managingOrganization"),
            Relationship::ManagingOrganization,
        );
    }
    for team in of_patient(store, ResourceType::CareTeam, patient).await? {
        if entered_in_error(&team) || team.get("status").and_then(Value::as_str) == Some("inactive")
        {
            continue;
        }
        for p in items(&team, "participant") {
            rel.add(p.get("member"), Relationship::CareTeam);
            rel.add(p.get("onBehalfOf"), Relationship::CareTeam);
        }
    }
    for plan in of_patient(store, ResourceType::CarePlan, patient).await? {
        if entered_in_error(&plan) {
            continue;
        }
        for a in items(&plan, "activity") {
            if let Some(detail) = a.get("detail") {
                for performer in items(detail, "performer") {
                    rel.add(Some(performer), Relationship::PlanActivityPerformer);
                }
            }
        }
    }
    for sr in of_patient(store, ResourceType::ServiceRequest, patient).await? {
        if entered_in_error(&sr) {
            continue;
        }
        rel.add(sr.get("requester"), Relationship::ReferralRequester);
        for performer in items(&sr, "performer") {
            rel.add(Some(performer), Relationship::ReferralPerformer);
        }
    }
    Ok(rel)
}

#[cfg(test)]
mod tests;
