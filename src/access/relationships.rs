//! Care relationships: which organisations stand in which relation to a patient (docs/design.md
//! section 3), answered from the search index on each request, so that a change (a new referral, a
//! plan activity reassigned, a practice change) takes effect at the next request.
//!
//! The sources are [`CareLink`]'s; each is an Organization reference:
//! - `Patient.generalPractitioner` (registered practice) and `Patient.managingOrganization`;
//! - `CareTeam.participant.member` of care teams neither `inactive` nor `entered-in-error`;
//! - `CarePlan.activity.detail.performer` of plans not `entered-in-error`;
//! - `ServiceRequest.requester` / `.performer` of referrals neither `entered-in-error` nor
//!   `revoked` (rejected, cancelled or failed: the receiver is related from the moment a referral
//!   is addressed to it until then; afterwards it sees only the referral and its Task, as a party
//!   to them, `consent::decision::decide`).
//!
//! References to a Practitioner or PractitionerRole (and `CareTeam.participant.onBehalfOf`) are not
//! followed: a relationship is an organisation's, and tokens name organisations. Deleted resources
//! count for nothing (their index rows go with them). Reads ask one question ([`related`]); searches
//! carry the same question into SQL ([`restrict`]), so both see exactly the same relationships.

use std::collections::BTreeSet;

use crate::error::Error;
use crate::fhir::ResourceType;
use crate::fhir::ids::{OrganizationId, PatientId};
use crate::search::{Filter, Predicate, SearchQuery};
use crate::store::Store;

use crate::search::CareLink;

/// Narrows `query` to resources of patients related to `organizations` by one of `links`;
/// `patient_param` ties the searched type to its patient (`_id` for Patient).
pub fn restrict(
    query: &mut SearchQuery,
    patient_param: &'static str,
    organizations: &[OrganizationId<'_>],
    links: &[CareLink],
) {
    query.filters.push(Filter(vec![Predicate::Related {
        patient_param,
        organizations: organizations.iter().map(ToString::to_string).collect(),
        links: links.to_vec(),
    }]));
}

/// Whether one of `organizations` has one of `links` with patient `patient` (a Patient id).
pub async fn related(
    store: &Store,
    patient: &PatientId<'_>,
    organizations: &[OrganizationId<'_>],
    links: &[CareLink],
) -> Result<bool, Error> {
    if organizations.is_empty() || links.is_empty() {
        return Ok(false);
    }
    let mut q = SearchQuery::all(ResourceType::Patient, 1);
    q.filters
        .push(Filter(vec![Predicate::Id(patient.to_string())]));
    restrict(&mut q, "_id", organizations, links);
    Ok(!store.backend().search(&q, 1).await?.is_empty())
}

/// Every relationship `organizations` have with `patient` (explanations and tests).
pub async fn relationships(
    store: &Store,
    patient: &PatientId<'_>,
    organizations: &[OrganizationId<'_>],
) -> Result<BTreeSet<CareLink>, Error> {
    let mut out = BTreeSet::new();
    for link in CareLink::ALL {
        if related(store, patient, organizations, &[link]).await? {
            out.insert(link);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
