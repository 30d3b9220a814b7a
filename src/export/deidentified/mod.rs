//! The evaluators' de-identified HNA extract, as a Bulk Data `Group/[id]/$export` of a Group that
//! defines an evaluation cohort (`crate::hna::cohort`): the HNAs one organisation recorded in a
//! period, the people they are about and the plans citing them, which is exactly what the outcome
//! tables (`crate::outcomes`) are computed from, so an evaluator can reproduce and extend them.
//!
//! Decisions:
//! - **Who**: `system` callers only, as for `$hna-outcomes` (the deployment's own service
//!   evaluation, over every patient of the organisation; no sharing role's remit covers that). A
//!   person's sharing consents govern who sees their record, not the deployment's own evaluation;
//!   de-identification is the safeguard here. Every file fetched is audited like any export: its
//!   AuditEvent names each source resource and each person in the file, so the patient's access
//!   report shows the extract.
//! - **What** (by allow-list, [`reduce`]): `QuestionnaireResponse`s (scores, codes, the day), their
//!   `Patient`s (gender and year of birth), the `CarePlan`s citing them (coded activities, shared
//!   with the GP or not) and the `Organization`s these name (authors and performers: published
//!   bodies, kept by id and ODS code). No names, identifiers, addresses, free text, narratives or
//!   times of day. Pseudonymised resources carry the `PSEUDED` security label.
//! - **Population**: as the outcome tables' (HNAs answering the HNA Questionnaire, `completed`
//!   or `amended`, authored by the organisation in the period; plans citing them, not
//!   `entered-in-error`). A plan whose subject is not a Patient is left out (the PCSP profile
//!   requires one). A plan's `supportingInfo` keeps only the HNAs of the extract.
//! - **Pseudonyms** ([`pseudonym`]): a keyed hash (HMAC-SHA256) of the Group id, the type and the
//!   id, under a 256-bit deployment key the gateway makes at the first extract and keeps in its
//!   database (`deployment_secrets`), so every replica pseudonymises alike and the key never
//!   leaves the deployment. The same Group exported again gives the same pseudonyms (a follow-up
//!   extract joins the first); two Groups give unlinkable ones.
//! - **Parameters**: `_type` picks among `QuestionnaireResponse`, `Patient` and `CarePlan`
//!   (anything else is 400; `Organization`s come only with the whole extract, the `_type` of a
//!   Group export being the patient compartment's); `_since` and `_typeFilter` are 400: the
//!   Group's period is the extract's.

pub mod pseudonym;
pub mod reduce;
mod run;

use crate::access::Gate;
use crate::auth::Role;
use crate::error::Error;
use crate::fhir::instant::now_ms;
use crate::fhir::{OutcomeIssue, ResourceType};
use crate::hna::cohort::Cohort;
use crate::interaction::ExportSpec;
use crate::rest::Engine;
use pseudonym::{KEY_NAME, Pseudonyms, fresh_key};
pub(super) use run::run;

/// The parts of a whole extract, in the order they are written.
pub const TYPES: [ResourceType; 4] = [
    ResourceType::QuestionnaireResponse,
    ResourceType::Patient,
    ResourceType::CarePlan,
    ResourceType::Organization,
];

/// An extract ready to run.
#[derive(Debug, Clone)]
pub struct Extract {
    /// The population.
    pub cohort: Cohort,
    /// This Group's pseudonyms.
    pub pseudonyms: Pseudonyms,
}

/// The extract Group `group` defines for `cohort`, checked for `gate`'s caller and `spec`'s
/// parameters, with the types it will write.
pub async fn prepare(
    engine: &Engine,
    gate: &Gate,
    group: &str,
    cohort: Cohort,
    spec: &ExportSpec,
) -> Result<(Extract, Vec<ResourceType>), Error> {
    if gate.principal().role != Role::System {
        return Err(Error::Forbidden(
            "The de-identified HNA extract is the deployment's own evaluation: system callers only"
                .into(),
        ));
    }
    if spec.since.is_some() || !spec.type_filters.is_empty() {
        return Err(Error::BadRequest(
            "_since and _typeFilter do not apply to the de-identified HNA extract: its Group's period says what it covers".into(),
        ));
    }
    let types = match &spec.types {
        None => TYPES.to_vec(),
        Some(asked) => {
            if let Some(t) = asked.iter().find(|t| !TYPES[..3].contains(t)) {
                return Err(Error::BadRequest(format!(
                    "_type {t}: the de-identified HNA extract holds QuestionnaireResponse, Patient and CarePlan"
                )));
            }
            TYPES
                .iter()
                .copied()
                .filter(|t| asked.contains(t))
                .collect()
        }
    };
    let live = engine
        .store()
        .backend()
        .read(ResourceType::Organization, &cohort.organization)
        .await?
        .is_some_and(|r| !r.deleted);
    if !live {
        return Err(Error::BusinessRule(vec![
            OutcomeIssue::error(
                "business-rule",
                format!(
                    "the Group's recording organisation Organization/{} does not exist",
                    cohort.organization
                ),
            )
            .at("Group.characteristic[0].valueReference"),
        ]));
    }
    let key = engine
        .store()
        .backend()
        .exports()
        .secret(KEY_NAME, &fresh_key(), now_ms())
        .await?;
    let extract = Extract {
        cohort,
        pseudonyms: Pseudonyms::new(&key, group),
    };
    Ok((extract, types))
}
