//! Holistic Needs Assessments (HNA) and personalised care and support plans (PCSP) as FHIR: the shared
//! vocabulary every part of the HNA work uses (profiles, validation, `$extract`, import, outcomes).
//!
//! The contract, in one place:
//!
//! | what | FHIR shape |
//! |---|---|
//! | HNA questionnaire | `Questionnaire` at `{canonical}/Questionnaire/hna`, one `group` item per domain (linkId = domain code), one `integer` item per concern inside it (linkId = concern code, `code` from the concern CodeSystem, 0-10 via the `minValue`/`maxValue` extensions), then `distress-thermometer` (integer 0-10), `what-matters-most` (text), `point-of-pathway` and `setting` (choice, Coding), `completed-by` (choice: person, link-worker, together) |
//! | HNA response | `QuestionnaireResponse` with `questionnaire` = the canonical above, `meta.profile` = `{canonical}/StructureDefinition/hna-questionnaireresponse`, `subject` a Patient, `authored`, answers `valueInteger` / `valueString` / `valueCoding` |
//! | who recorded it | `QuestionnaireResponse.author` = the recording `Organization` (`Organization/<id>`, the organisation carrying an ODS code); outcome reports group by it |
//! | legacy identity | `QuestionnaireResponse.identifier` system `{canonical}/Id/legacy-hna`, value `<source>:<assessment id>` (imports are idempotent through it) |
//! | PCSP care plan | `CarePlan` with `meta.profile` = `{canonical}/StructureDefinition/pcsp-careplan`, `category` SNOMED 734163000, `supportingInfo` -> the HNA; per activity: `detail.reasonCode` = the concern (concern CodeSystem), extension [`DOMAIN_EXTENSION`] = its domain, `detail.code` = the action type, `detail.performer`, `detail.status`, `outcomeCodeableConcept` = the outcome; `author` = the organisation; extension [`SHARED_WITH_EXTENSION`] (valueCode `gp`, repeating per recipient kind) when the person chose to share the plan with their GP |
//! | onward referral | a PCSP activity whose action type is `referral`; its destination is the `detail.performer` Organization's `type` (first coding code), `unknown` when absent |
//!
//! The canonical base is configurable per deployment; [`DEFAULT_CANONICAL`] is the project's own.

pub mod catalogue;
pub mod cohort;
pub mod domain;
pub mod pcsp_check;
pub mod plan;
pub mod profiles;
pub mod questionnaire_check;

/// The project's canonical base for its conformance artefacts.
pub const DEFAULT_CANONICAL: &str = "https://fhir.carebridge.uk";

/// linkId of the Distress Thermometer item.
pub const LINK_DISTRESS: &str = "distress-thermometer";
/// linkId of the free-text "what matters most" item.
pub const LINK_WHAT_MATTERS: &str = "what-matters-most";
/// linkId of the point-of-pathway item.
pub const LINK_PATHWAY: &str = "point-of-pathway";
/// linkId of the setting item.
pub const LINK_SETTING: &str = "setting";
/// linkId of the "who completed it" item.
pub const LINK_COMPLETED_BY: &str = "completed-by";

/// Lowest and highest concern severity (and Distress Thermometer score).
pub const SEVERITY_RANGE: std::ops::RangeInclusive<i64> = 0..=10;

/// SNOMED CT "Care plan", the category of every PCSP.
pub const SNOMED_CARE_PLAN: &str = "734163000";

/// Action types recorded against a concern (eHNA data).
pub const ACTION_TYPES: &[(&str, &str)] = &[
    ("discussion", "Discussion"),
    ("information-advice", "Information or advice"),
    ("signposting", "Signposting"),
    ("referral", "Referral"),
];

/// Points of the cancer pathway at which an HNA is done.
pub const POINTS_OF_PATHWAY: &[(&str, &str)] = &[
    ("diagnosis", "At diagnosis"),
    ("start-of-treatment", "Start of treatment"),
    ("during-treatment", "During treatment"),
    ("end-of-treatment", "End of treatment"),
    ("recurrence", "Recurrence"),
    ("palliative", "Palliative care"),
];

/// Settings in which an HNA is done.
pub const SETTINGS: &[(&str, &str)] = &[
    ("home", "Home"),
    ("community", "Community"),
    ("hospital", "Hospital"),
    ("gp-practice", "GP practice"),
    ("telephone", "Telephone"),
    ("video", "Video"),
];

/// Who completed the questionnaire.
pub const COMPLETED_BY: &[(&str, &str)] = &[
    ("person", "The person"),
    ("link-worker", "The link worker"),
    ("together", "The person with the link worker"),
];

/// Codes of the evaluation cohorts a `Group` defines: its `code` says what the Group is for, a
/// characteristic's `code` what it selects (see `crate::export::deidentified`).
pub const COHORT_CODES: &[(&str, &str)] = &[
    (COHORT_HNA_EXTRACT, "De-identified HNA extract"),
    (
        COHORT_HNA_AUTHOR,
        "HNAs recorded by an organisation (valueReference) in a period (period)",
    ),
];

/// `Group.code` of a de-identified HNA extract.
pub const COHORT_HNA_EXTRACT: &str = "hna-extract";
/// The extract Group's characteristic: HNAs recorded by an organisation in a period.
pub const COHORT_HNA_AUTHOR: &str = "hna-author";

/// Extension on a PCSP activity's `detail` carrying the concern's domain (a Coding).
pub const DOMAIN_EXTENSION: &str = "StructureDefinition/concern-domain";

/// Extension on a PCSP `CarePlan` naming who the person shared the plan with (valueCode, e.g. `gp`).
pub const SHARED_WITH_EXTENSION: &str = "StructureDefinition/pcsp-shared-with";

/// Identifier system (under the canonical base) of HNAs brought in from legacy systems.
pub const LEGACY_HNA_ID: &str = "Id/legacy-hna";

/// The canonical URLs of one deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Canonical {
    base: String,
}

impl Canonical {
    /// URLs under `base` (no trailing slash).
    pub fn new(base: &str) -> Self {
        Canonical {
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    /// The base itself.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `{base}/{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.base)
    }

    /// The HNA Questionnaire.
    pub fn questionnaire(&self) -> String {
        self.url("Questionnaire/hna")
    }

    /// The concern CodeSystem.
    pub fn concern_system(&self) -> String {
        self.url("CodeSystem/hna-concern")
    }

    /// The domain CodeSystem.
    pub fn domain_system(&self) -> String {
        self.url("CodeSystem/hna-domain")
    }

    /// The action-type CodeSystem.
    pub fn action_type_system(&self) -> String {
        self.url("CodeSystem/pcsp-action-type")
    }

    /// The point-of-pathway CodeSystem.
    pub fn pathway_system(&self) -> String {
        self.url("CodeSystem/hna-point-of-pathway")
    }

    /// The setting CodeSystem.
    pub fn setting_system(&self) -> String {
        self.url("CodeSystem/hna-setting")
    }

    /// The completed-by CodeSystem.
    pub fn completed_by_system(&self) -> String {
        self.url("CodeSystem/hna-completed-by")
    }

    /// The HNA QuestionnaireResponse profile.
    pub fn hna_profile(&self) -> String {
        self.url("StructureDefinition/hna-questionnaireresponse")
    }

    /// The PCSP CarePlan profile.
    pub fn pcsp_profile(&self) -> String {
        self.url("StructureDefinition/pcsp-careplan")
    }

    /// The referral (ServiceRequest) profile.
    pub fn referral_profile(&self) -> String {
        self.url("StructureDefinition/referral-servicerequest")
    }

    /// The referral's fulfilment Task profile.
    pub fn referral_task_profile(&self) -> String {
        self.url("StructureDefinition/referral-task")
    }

    /// The profiles this server publishes for `t` (the HNA and referral work's): listed as the
    /// type's `supportedProfile`, and the ones `$validate` takes as `profile`.
    pub fn profiles_of(&self, t: crate::fhir::ResourceType) -> Vec<String> {
        use crate::fhir::ResourceType as T;
        match t {
            T::QuestionnaireResponse => vec![self.hna_profile()],
            T::CarePlan => vec![self.pcsp_profile()],
            T::Consent => vec![self.consent_profile()],
            T::ServiceRequest => vec![self.referral_profile()],
            T::Task => vec![self.referral_task_profile()],
            _ => Vec::new(),
        }
    }

    /// The MessageDefinition of the referral message `$process-message` takes.
    pub fn referral_message(&self) -> String {
        format!("{}/MessageDefinition/referral-request", self.base)
    }

    /// The sharing Consent profile.
    pub fn consent_profile(&self) -> String {
        self.url("StructureDefinition/sharing-consent")
    }

    /// The sharing roles of the token contract (`Consent.provision.actor.role`, audit agents).
    pub fn sharing_role_system(&self) -> String {
        self.url("CodeSystem/sharing-role")
    }

    /// The evaluation cohort codes ([`COHORT_CODES`]).
    pub fn cohort_system(&self) -> String {
        self.url("CodeSystem/evaluation-cohort")
    }

    /// The shared-with extension on PCSP care plans.
    pub fn shared_with_extension(&self) -> String {
        self.url(SHARED_WITH_EXTENSION)
    }

    /// The identifier system of imported HNAs.
    pub fn legacy_hna_id(&self) -> String {
        self.url(LEGACY_HNA_ID)
    }

    /// The domain extension on PCSP activities.
    pub fn domain_extension(&self) -> String {
        self.url(DOMAIN_EXTENSION)
    }
}
