//! The search parameters carebridge indexes, per resource type: the standard R4 parameters that GP,
//! hospital, community and audit clients use. Each is extracted at write time into an index table
//! (`search::extract`) and searched with SQL (`store::search_sql`). Adding a parameter here makes it
//! searchable for resources written afterwards; existing resources need a reindex (not yet offered).
//!
//! Paths are dotted element names; every step flattens arrays. Choice elements list each concrete
//! name (`onsetDateTime`, `onsetPeriod`). `_id` and `_lastUpdated` live on the resource row itself.

use crate::ResourceType::{self, *};

/// How a parameter's values are indexed and compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// `system|code` on Coding, CodeableConcept, Identifier, ContactPoint, code, boolean.
    Token,
    /// Case-insensitive prefix match on strings, HumanName and Address parts.
    String,
    /// Range comparison with prefixes on date, dateTime, instant and Period.
    Date,
    /// `Type/id` literal references (and `:identifier` on Reference.identifier).
    Reference,
    /// Exact match on a uri or canonical.
    Uri,
}

impl ParamKind {
    /// The FHIR name of the type, for the CapabilityStatement.
    pub fn fhir_name(self) -> &'static str {
        match self {
            ParamKind::Token => "token",
            ParamKind::String => "string",
            ParamKind::Date => "date",
            ParamKind::Reference => "reference",
            ParamKind::Uri => "uri",
        }
    }
}

/// One search parameter of one resource type.
#[derive(Debug)]
pub struct ParamDef {
    /// The name used in queries, e.g. `patient`.
    pub name: &'static str,
    /// How values are compared.
    pub kind: ParamKind,
    /// Where values come from in the resource.
    pub paths: &'static [&'static str],
    /// For references: the target types kept (empty: any served type).
    pub targets: &'static [ResourceType],
    /// For a reference parameter that is another one narrowed to `targets` (`patient` is `subject`
    /// restricted to Patient): that one's name. Its literal references are not indexed twice but
    /// found among the other's rows by target type (a fifth fewer index rows per HNA and care
    /// plan); its `:identifier` rows, which carry no target type, are still its own.
    pub narrows: Option<&'static str>,
}

const fn p(name: &'static str, kind: ParamKind, paths: &'static [&'static str]) -> ParamDef {
    ParamDef {
        name,
        kind,
        paths,
        targets: &[],
        narrows: None,
    }
}

const fn r(
    name: &'static str,
    paths: &'static [&'static str],
    targets: &'static [ResourceType],
) -> ParamDef {
    reference(name, paths, targets, None)
}

/// `name`: the reference parameter `of` (same paths) narrowed to `targets`.
const fn narrowed(
    name: &'static str,
    of: &'static str,
    paths: &'static [&'static str],
    targets: &'static [ResourceType],
) -> ParamDef {
    reference(name, paths, targets, Some(of))
}

const fn reference(
    name: &'static str,
    paths: &'static [&'static str],
    targets: &'static [ResourceType],
    narrows: Option<&'static str>,
) -> ParamDef {
    ParamDef {
        name,
        kind: ParamKind::Reference,
        paths,
        targets,
        narrows,
    }
}

use ParamKind::{Date as D, String as S, Token as T, Uri as U};

/// Parameters every type has (besides `_id` and `_lastUpdated`).
static COMMON: &[ParamDef] = &[
    p("_tag", T, &["meta.tag"]),
    p("_security", T, &["meta.security"]),
    p("_profile", U, &["meta.profile"]),
];

static PATIENT: &[ParamDef] = &[
    p("identifier", T, &["identifier"]),
    p("name", S, &["name"]),
    p("family", S, &["name.family"]),
    p("given", S, &["name.given"]),
    p("birthdate", D, &["birthDate"]),
    p("gender", T, &["gender"]),
    p("active", T, &["active"]),
    p("telecom", T, &["telecom"]),
    p("address-postalcode", S, &["address.postalCode"]),
    r("general-practitioner", &["generalPractitioner"], &[]),
    r("organization", &["managingOrganization"], &[Organization]),
];

static PRACTITIONER: &[ParamDef] = &[
    p("identifier", T, &["identifier"]),
    p("name", S, &["name"]),
    p("family", S, &["name.family"]),
    p("given", S, &["name.given"]),
    p("active", T, &["active"]),
];

static PRACTITIONER_ROLE: &[ParamDef] = &[
    p("identifier", T, &["identifier"]),
    p("role", T, &["code"]),
    p("specialty", T, &["specialty"]),
    p("active", T, &["active"]),
    r("practitioner", &["practitioner"], &[Practitioner]),
    r("organization", &["organization"], &[Organization]),
];

static ORGANIZATION: &[ParamDef] = &[
    p("identifier", T, &["identifier"]),
    p("name", S, &["name", "alias"]),
    p("type", T, &["type"]),
    p("active", T, &["active"]),
    p("address-postalcode", S, &["address.postalCode"]),
    r("partof", &["partOf"], &[Organization]),
];

static CARE_TEAM: &[ParamDef] = &[
    p("identifier", T, &["identifier"]),
    p("status", T, &["status"]),
    p("category", T, &["category"]),
    p("date", D, &["period"]),
    narrowed("patient", "subject", &["subject"], &[Patient]),
    r("subject", &["subject"], &[]),
    r("participant", &["participant.member"], &[]),
];

static QUESTIONNAIRE: &[ParamDef] = &[
    p("identifier", T, &["identifier"]),
    p("url", U, &["url"]),
    p("version", T, &["version"]),
    p("name", S, &["name"]),
    p("title", S, &["title"]),
    p("status", T, &["status"]),
    p("code", T, &["item.code"]),
    p("date", D, &["date"]),
];

static QUESTIONNAIRE_RESPONSE: &[ParamDef] = &[
    p("identifier", T, &["identifier"]),
    p("status", T, &["status"]),
    p("authored", D, &["authored"]),
    p("questionnaire", U, &["questionnaire"]),
    narrowed("patient", "subject", &["subject"], &[Patient]),
    r("subject", &["subject"], &[]),
    r("author", &["author"], &[]),
    r("source", &["source"], &[]),
    r("based-on", &["basedOn"], &[]),
    r("part-of", &["partOf"], &[]),
];

static CARE_PLAN: &[ParamDef] = &[
    p("identifier", T, &["identifier"]),
    p("status", T, &["status"]),
    p("intent", T, &["intent"]),
    p("category", T, &["category"]),
    p("date", D, &["period"]),
    p("activity-code", T, &["activity.detail.code"]),
    p(
        "activity-date",
        D,
        &[
            "activity.detail.scheduledPeriod",
            "activity.detail.scheduledString",
        ],
    ),
    p("instantiates-canonical", U, &["instantiatesCanonical"]),
    narrowed("patient", "subject", &["subject"], &[Patient]),
    r("subject", &["subject"], &[]),
    r("performer", &["activity.detail.performer"], &[]),
    r("care-team", &["careTeam"], &[CareTeam]),
    r("goal", &["goal"], &[Goal]),
    r("condition", &["addresses"], &[Condition]),
    r("based-on", &["basedOn"], &[CarePlan]),
    r("part-of", &["partOf"], &[CarePlan]),
    r("replaces", &["replaces"], &[CarePlan]),
    r("supporting-info", &["supportingInfo"], &[]),
];

static GOAL: &[ParamDef] = &[
    p("identifier", T, &["identifier"]),
    p("lifecycle-status", T, &["lifecycleStatus"]),
    p("achievement-status", T, &["achievementStatus"]),
    p("category", T, &["category"]),
    p("start-date", D, &["startDate"]),
    p("target-date", D, &["target.dueDate"]),
    narrowed("patient", "subject", &["subject"], &[Patient]),
    r("subject", &["subject"], &[]),
];

static CONDITION: &[ParamDef] = &[
    p("identifier", T, &["identifier"]),
    p("clinical-status", T, &["clinicalStatus"]),
    p("verification-status", T, &["verificationStatus"]),
    p("category", T, &["category"]),
    p("code", T, &["code"]),
    p("onset-date", D, &["onsetDateTime", "onsetPeriod"]),
    p("recorded-date", D, &["recordedDate"]),
    narrowed("patient", "subject", &["subject"], &[Patient]),
    r("subject", &["subject"], &[]),
    r("asserter", &["asserter"], &[]),
];

static SERVICE_REQUEST: &[ParamDef] = &[
    p("identifier", T, &["identifier"]),
    p("status", T, &["status"]),
    p("intent", T, &["intent"]),
    p("priority", T, &["priority"]),
    p("category", T, &["category"]),
    p("code", T, &["code"]),
    p("authored", D, &["authoredOn"]),
    p("occurrence", D, &["occurrenceDateTime", "occurrencePeriod"]),
    narrowed("patient", "subject", &["subject"], &[Patient]),
    r("subject", &["subject"], &[]),
    r("performer", &["performer"], &[]),
    r("requester", &["requester"], &[]),
    r("based-on", &["basedOn"], &[]),
    r("replaces", &["replaces"], &[ServiceRequest]),
];

static TASK: &[ParamDef] = &[
    p("identifier", T, &["identifier"]),
    p("status", T, &["status"]),
    p("business-status", T, &["businessStatus"]),
    p("intent", T, &["intent"]),
    p("priority", T, &["priority"]),
    p("code", T, &["code"]),
    p("performer", T, &["performerType"]),
    p("authored-on", D, &["authoredOn"]),
    p("modified", D, &["lastModified"]),
    p("period", D, &["executionPeriod"]),
    narrowed("patient", "subject", &["for"], &[Patient]),
    r("subject", &["for"], &[]),
    r("owner", &["owner"], &[]),
    r("requester", &["requester"], &[]),
    r("focus", &["focus"], &[]),
    r("based-on", &["basedOn"], &[]),
    r("part-of", &["partOf"], &[Task]),
];

static CONSENT: &[ParamDef] = &[
    p("identifier", T, &["identifier"]),
    p("status", T, &["status"]),
    p("scope", T, &["scope"]),
    p("category", T, &["category"]),
    p("date", D, &["dateTime"]),
    p("period", D, &["provision.period"]),
    p("action", T, &["provision.action"]),
    p("purpose", T, &["provision.purpose"]),
    p("security-label", T, &["provision.securityLabel"]),
    r("patient", &["patient"], &[Patient]),
    r("actor", &["provision.actor.reference"], &[]),
    r("organization", &["organization"], &[Organization]),
    r("consentor", &["performer"], &[]),
    r("data", &["provision.data.reference"], &[]),
    r("source-reference", &["sourceReference"], &[]),
];

static AUDIT_EVENT: &[ParamDef] = &[
    p("date", D, &["recorded"]),
    p("type", T, &["type"]),
    p("subtype", T, &["subtype"]),
    p("action", T, &["action"]),
    p("outcome", T, &["outcome"]),
    p("agent-role", T, &["agent.role"]),
    p("altid", T, &["agent.altId"]),
    p("entity-type", T, &["entity.type"]),
    p("entity-role", T, &["entity.role"]),
    p("policy", U, &["agent.policy"]),
    p("purpose", T, &["purposeOfEvent", "agent.purposeOfUse"]),
    p("site", T, &["source.site"]),
    r("agent", &["agent.who"], &[]),
    r("entity", &["entity.what"], &[]),
    r("patient", &["entity.what"], &[Patient]),
    r("source", &["source.observer"], &[]),
];

static PROVENANCE: &[ParamDef] = &[
    p("recorded", D, &["recorded"]),
    p("when", D, &["occurredDateTime", "occurredPeriod"]),
    p("signature-type", T, &["signature.type"]),
    r("target", &["target"], &[]),
    r("patient", &["target"], &[Patient]),
    r("agent", &["agent.who"], &[]),
    r("entity", &["entity.what"], &[]),
];

static STRUCTURE_DEFINITION: &[ParamDef] = &[
    p("url", U, &["url"]),
    p("version", T, &["version"]),
    p("name", S, &["name"]),
    p("title", S, &["title"]),
    p("status", T, &["status"]),
    p("type", T, &["type"]),
    p("base", U, &["baseDefinition"]),
    p("derivation", T, &["derivation"]),
];

static CODE_SYSTEM: &[ParamDef] = &[
    p("url", U, &["url"]),
    p("system", U, &["url"]),
    p("version", T, &["version"]),
    p("name", S, &["name"]),
    p("title", S, &["title"]),
    p("status", T, &["status"]),
    p("code", T, &["concept.code"]),
];

static VALUE_SET: &[ParamDef] = &[
    p("url", U, &["url"]),
    p("version", T, &["version"]),
    p("name", S, &["name"]),
    p("title", S, &["title"]),
    p("status", T, &["status"]),
    p("reference", U, &["compose.include.system"]),
];

static MESSAGE_DEFINITION: &[ParamDef] = &[
    p("url", U, &["url"]),
    p("version", T, &["version"]),
    p("name", S, &["name"]),
    p("title", S, &["title"]),
    p("status", T, &["status"]),
    p("event", T, &["eventCoding"]),
];

static GROUP: &[ParamDef] = &[
    p("identifier", T, &["identifier"]),
    p("type", T, &["type"]),
    p("actual", T, &["actual"]),
    p("code", T, &["code"]),
    r("member", &["member.entity"], &[Patient]),
    r("managing-entity", &["managingEntity"], &[Organization]),
];

/// A subscription's owner is the organisation whose token created it, recorded by the gateway in
/// the `subscriber` extension (`crate::notify` in the server).
static SUBSCRIPTION: &[ParamDef] = &[
    p("status", T, &["status"]),
    p("type", T, &["channel.type"]),
    p("url", U, &["channel.endpoint"]),
    p("criteria", S, &["criteria"]),
];

static OPERATION_DEFINITION: &[ParamDef] = &[
    p("url", U, &["url"]),
    p("version", T, &["version"]),
    p("name", S, &["name"]),
    p("title", S, &["title"]),
    p("status", T, &["status"]),
    p("code", T, &["code"]),
    p("kind", T, &["kind"]),
    p("base", U, &["base"]),
];

/// The type-specific parameters of `rtype` (without the common ones).
pub fn params_of(rtype: ResourceType) -> &'static [ParamDef] {
    match rtype {
        Patient => PATIENT,
        Practitioner => PRACTITIONER,
        PractitionerRole => PRACTITIONER_ROLE,
        Organization => ORGANIZATION,
        CareTeam => CARE_TEAM,
        Questionnaire => QUESTIONNAIRE,
        QuestionnaireResponse => QUESTIONNAIRE_RESPONSE,
        CarePlan => CARE_PLAN,
        Goal => GOAL,
        Condition => CONDITION,
        ServiceRequest => SERVICE_REQUEST,
        Task => TASK,
        Consent => CONSENT,
        AuditEvent => AUDIT_EVENT,
        Provenance => PROVENANCE,
        StructureDefinition => STRUCTURE_DEFINITION,
        CodeSystem => CODE_SYSTEM,
        ValueSet => VALUE_SET,
        MessageDefinition => MESSAGE_DEFINITION,
        Group => GROUP,
        OperationDefinition => OPERATION_DEFINITION,
        Subscription => SUBSCRIPTION,
    }
}

/// Every indexed parameter of `rtype`: its own and the common ones.
pub fn all_params(rtype: ResourceType) -> impl Iterator<Item = &'static ParamDef> {
    params_of(rtype).iter().chain(COMMON.iter())
}

/// Where a reference parameter's literal references are stored: the parameter's own name, or for
/// a narrowed one the name it narrows and the one target type its rows must have.
pub fn stored_reference(rtype: &str, name: &'static str) -> (&'static str, Option<ResourceType>) {
    let def = rtype
        .parse::<ResourceType>()
        .ok()
        .and_then(|t| find(t, name));
    match def {
        Some(ParamDef {
            narrows: Some(of),
            targets: [only],
            ..
        }) => (of, Some(*only)),
        _ => (name, None),
    }
}

/// The types a reference parameter `param` of `rtype` may point at that have an `identifier`
/// parameter: where `param:identifier=` looks for the referenced resource's identifier (every
/// served type with one when the parameter declares no targets).
pub fn identifier_targets(rtype: &str, param: &str) -> Vec<ResourceType> {
    let declared = rtype
        .parse::<ResourceType>()
        .ok()
        .and_then(|t| find(t, param))
        .map(|d| d.targets)
        .unwrap_or_default();
    let candidates: &[ResourceType] = if declared.is_empty() {
        ResourceType::ALL
    } else {
        declared
    };
    candidates
        .iter()
        .copied()
        .filter(|t| find(*t, "identifier").is_some())
        .collect()
}

/// Looks up parameter `name` of `rtype`.
pub fn find(rtype: ResourceType, name: &str) -> Option<&'static ParamDef> {
    all_params(rtype).find(|d| d.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A narrowed parameter is found among the rows of the one it narrows, so that one must exist
    /// with the same paths and keep every target type, and the narrowing must name one type.
    #[test]
    fn narrowed_parameters_are_subsets_of_an_indexed_one() {
        for rtype in ResourceType::ALL {
            for def in all_params(*rtype) {
                let Some(of) = def.narrows else { continue };
                let wide = find(*rtype, of).expect("the narrowed parameter exists");
                assert_eq!(wide.paths, def.paths, "{rtype} {}", def.name);
                assert!(wide.targets.is_empty(), "{rtype} {of}");
                assert!(wide.narrows.is_none(), "{rtype} {of}");
                assert_eq!(def.targets.len(), 1, "{rtype} {}", def.name);
                assert_eq!(
                    stored_reference(rtype.as_str(), def.name),
                    (of, def.targets.first().copied())
                );
            }
        }
    }

    #[test]
    fn the_clients_parameters_are_registered() {
        assert_eq!(
            find(CarePlan, "patient").map(|d| d.kind),
            Some(ParamKind::Reference)
        );
        assert_eq!(
            find(ServiceRequest, "performer").map(|d| d.kind),
            Some(ParamKind::Reference)
        );
        assert_eq!(
            find(QuestionnaireResponse, "authored").map(|d| d.kind),
            Some(ParamKind::Date)
        );
        assert_eq!(
            find(Patient, "identifier").map(|d| d.kind),
            Some(ParamKind::Token)
        );
        assert_eq!(
            find(Patient, "_tag").map(|d| d.kind),
            Some(ParamKind::Token)
        );
        assert!(find(Patient, "nonsense").is_none());
    }

    #[test]
    fn names_are_unique_within_a_type() {
        for t in ResourceType::ALL {
            let mut names: Vec<_> = all_params(*t).map(|d| d.name).collect();
            let n = names.len();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), n, "{t}");
        }
    }
}
