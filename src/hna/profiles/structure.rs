//! The StructureDefinitions: the HNA QuestionnaireResponse, PCSP CarePlan and sharing Consent profiles
//! (on UK Core), the referral profiles ([`super::referral`]), and the two extensions the PCSP uses. Differentials only: a reader resolves the
//! snapshot from UK Core; the gateway's own checks live in `rest::rules`.

use serde_json::{Value, json};

use super::terminology::{last_segment, value_set_url};
use super::{ARTEFACT_DATE, ARTEFACT_VERSION, PUBLISHER};
use crate::hna::{Canonical, SNOMED_CARE_PLAN};

const UK_CORE: &str = "https://fhir.hl7.org.uk/StructureDefinition/UKCore-";
const EXTENSION_BASE: &str = "http://hl7.org/fhir/StructureDefinition/Extension";

pub(super) fn uk_core(t: &str) -> String {
    format!("{UK_CORE}{t}")
}

/// Every StructureDefinition: the three HNA profiles, the two referral profiles, then the two
/// extensions.
pub fn structure_definitions(c: &Canonical) -> Vec<Value> {
    vec![
        hna_response(c),
        pcsp_care_plan(c),
        sharing_consent(c),
        super::referral::referral_request(c),
        super::referral::referral_task(c),
        concern_domain(c),
        shared_with(c),
    ]
}

/// What one StructureDefinition is called and says.
pub(super) struct Head<'a> {
    pub(super) url: String,
    pub(super) name: &'a str,
    pub(super) title: &'a str,
    pub(super) description: &'a str,
}

/// The StructureDefinition common to profiles and extensions, in the order the checked-in files
/// use; `context` only for extensions.
fn definition(
    head: &Head<'_>,
    kind: &str,
    context: Option<Vec<Value>>,
    (rtype, base): (&str, &str),
    elements: Vec<Value>,
) -> Value {
    let mut sd = json!({
        "resourceType": "StructureDefinition",
        "id": last_segment(&head.url),
        "url": head.url,
        "version": ARTEFACT_VERSION,
        "name": head.name,
        "title": head.title,
        "status": "active",
        "date": ARTEFACT_DATE,
        "publisher": PUBLISHER,
        "description": head.description,
        "fhirVersion": "4.0.1",
        "kind": kind,
        "abstract": false,
    });
    if let Some(context) = context {
        sd["context"] = Value::Array(context);
    }
    sd["type"] = json!(rtype);
    sd["baseDefinition"] = json!(base);
    sd["derivation"] = json!("constraint");
    sd["differential"] = json!({"element": elements});
    sd
}

/// A resource profile constraining UK Core's profile of `rtype`.
pub(super) fn profile(head: Head<'_>, rtype: &str, elements: Vec<Value>) -> Value {
    definition(&head, "resource", None, (rtype, &uk_core(rtype)), elements)
}

/// One differential element: `path` (the id is the path, or `path:slice`) plus constraints.
pub(super) fn el(id: &str, constraints: Value) -> Value {
    let path: String = id
        .split('.')
        .map(|part| part.split(':').next().unwrap_or(part))
        .collect::<Vec<_>>()
        .join(".");
    let mut out = json!({"id": id, "path": path});
    if let (Some(o), Value::Object(c)) = (out.as_object_mut(), constraints) {
        o.extend(c);
    }
    out
}

pub(super) fn reference_to(profiles: &[String]) -> Value {
    json!([{"code": "Reference", "targetProfile": profiles}])
}

fn open_slicing(discriminator: &str, path: &str) -> Value {
    json!({"discriminator": [{"type": discriminator, "path": path}], "rules": "open"})
}

fn hna_response(c: &Canonical) -> Value {
    let head = Head {
        url: c.hna_profile(),
        name: "HnaQuestionnaireResponse",
        title: "HNA QuestionnaireResponse",
        description: "A Holistic Needs Assessment: the answers to the HNA Questionnaire for one person, \
                      recorded by one organisation. Every HNA is its own record.",
    };
    profile(
        head,
        "QuestionnaireResponse",
        vec![
            el(
                "QuestionnaireResponse",
                json!({"short": "A Holistic Needs Assessment"}),
            ),
            el(
                "QuestionnaireResponse.identifier",
                json!({"short": "For imported HNAs: the legacy system's assessment id",
                       "definition": format!("System {}, value <source>:<assessment id>.", c.legacy_hna_id())}),
            ),
            el(
                "QuestionnaireResponse.questionnaire",
                json!({"min": 1, "fixedCanonical": c.questionnaire()}),
            ),
            el(
                "QuestionnaireResponse.subject",
                json!({"short": "The person assessed", "min": 1, "max": "1",
                       "type": reference_to(&[uk_core("Patient")])}),
            ),
            el(
                "QuestionnaireResponse.authored",
                json!({"short": "When the HNA was done", "min": 1}),
            ),
            el(
                "QuestionnaireResponse.author",
                json!({"short": "The organisation that recorded the HNA (outcome reports group by it)",
                       "min": 1, "type": reference_to(&[uk_core("Organization")])}),
            ),
        ],
    )
}

fn pcsp_care_plan(c: &Canonical) -> Value {
    let head = Head {
        url: c.pcsp_profile(),
        name: "PcspCarePlan",
        title: "Personalised care and support plan",
        description: "A personalised care and support plan (PCSP): what the person and their link worker \
                      agreed to do about the concerns of an HNA. Each activity names a concern and its \
                      domain, the action, who does it, its status and its outcome.",
    };
    let required = |vs: String| json!({"strength": "required", "valueSet": vs});
    profile(
        head,
        "CarePlan",
        vec![
            el(
                "CarePlan",
                json!({"short": "A personalised care and support plan"}),
            ),
            el(
                "CarePlan.extension",
                json!({"slicing": open_slicing("value", "url")}),
            ),
            el(
                "CarePlan.extension:sharedWith",
                json!({"sliceName": "sharedWith", "short": "Who the person shared the plan with",
                       "type": [{"code": "Extension", "profile": [c.shared_with_extension()]}]}),
            ),
            el(
                "CarePlan.category",
                json!({"slicing": open_slicing("pattern", "$this"), "min": 1}),
            ),
            el(
                "CarePlan.category:pcsp",
                json!({"sliceName": "pcsp", "min": 1, "max": "1",
                       "patternCodeableConcept": {"coding": [{"system": "http://snomed.info/sct",
                                                              "code": SNOMED_CARE_PLAN}]}}),
            ),
            el(
                "CarePlan.subject",
                json!({"short": "The person whose plan it is",
                       "type": reference_to(&[uk_core("Patient")])}),
            ),
            el(
                "CarePlan.author",
                json!({"short": "The organisation responsible for the plan",
                       "type": reference_to(&[uk_core("Organization")])}),
            ),
            el(
                "CarePlan.supportingInfo",
                json!({"slicing": open_slicing("profile", "resolve()"), "min": 1}),
            ),
            el(
                "CarePlan.supportingInfo:hna",
                json!({"sliceName": "hna", "short": "The HNA the plan came from", "min": 1, "max": "1",
                       "type": reference_to(&[c.hna_profile()])}),
            ),
            el("CarePlan.activity.detail", json!({"min": 1})),
            el(
                "CarePlan.activity.detail.extension",
                json!({"slicing": open_slicing("value", "url")}),
            ),
            el(
                "CarePlan.activity.detail.extension:domain",
                json!({"sliceName": "domain", "short": "The domain of the concern", "min": 1, "max": "1",
                       "type": [{"code": "Extension", "profile": [c.domain_extension()]}]}),
            ),
            el(
                "CarePlan.activity.detail.code",
                json!({"short": "The action type", "min": 1,
                       "binding": required(value_set_url(c, &c.action_type_system()))}),
            ),
            el(
                "CarePlan.activity.detail.reasonCode",
                json!({"short": "The concern the activity addresses", "min": 1, "max": "1",
                       "binding": required(value_set_url(c, &c.concern_system()))}),
            ),
            el(
                "CarePlan.activity.detail.status",
                json!({"short": "Where the action stands"}),
            ),
            el(
                "CarePlan.activity.detail.performer",
                json!({"short": "Who does it (a person, organisation or service); for a referral, \
                                 the destination organisation",
                       "mustSupport": true}),
            ),
            el(
                "CarePlan.activity.outcomeCodeableConcept",
                json!({"short": "The agreed outcome", "mustSupport": true}),
            ),
        ],
    )
}

fn sharing_consent(c: &Canonical) -> Value {
    let head = Head {
        url: c.consent_profile(),
        name: "SharingConsent",
        title: "HNA and PCSP sharing consent",
        description: "The person's choice about sharing their HNAs and care plans: each provision permits \
                      or denies an actor access to resource classes. Concerns of sensitive domains \
                      are shared only when a provision names the domain in its securityLabel.",
    };
    profile(
        head,
        "Consent",
        vec![
            el(
                "Consent.scope",
                json!({"patternCodeableConcept": {"coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                    "code": "patient-privacy"}]}}),
            ),
            el(
                "Consent.patient",
                json!({"short": "The person who consents", "min": 1,
                       "type": reference_to(&[uk_core("Patient")])}),
            ),
            el("Consent.provision", json!({"min": 1})),
            el("Consent.provision.type", json!({"min": 1})),
            el(
                "Consent.provision.actor",
                json!({"short": "Who may (or may not) see the records, e.g. the GP practice"}),
            ),
            el(
                "Consent.provision.class",
                json!({"short": "The resource types covered (QuestionnaireResponse, CarePlan)"}),
            ),
            el(
                "Consent.provision.securityLabel",
                json!({"short": "A sensitive HNA domain this provision shares",
                       "definition": format!("A Coding of {} naming a sensitive domain (emotional, \
                                              spiritual, family) whose concerns this provision covers.",
                                             c.domain_system())}),
            ),
        ],
    )
}

/// An extension definition with one `value[x]` of `value_type`.
fn extension(head: Head<'_>, contexts: &[&str], max: &str, value: Value) -> Value {
    let contexts: Vec<Value> = contexts
        .iter()
        .map(|e| json!({"type": "element", "expression": e}))
        .collect();
    let elements = vec![
        el(
            "Extension",
            json!({"short": head.title, "definition": head.description, "max": max}),
        ),
        el("Extension.extension", json!({"max": "0"})),
        el("Extension.url", json!({"fixedUri": head.url})),
        el("Extension.value[x]", value),
    ];
    definition(
        &head,
        "complex-type",
        Some(contexts),
        ("Extension", EXTENSION_BASE),
        elements,
    )
}

fn concern_domain(c: &Canonical) -> Value {
    let head = Head {
        url: c.domain_extension(),
        name: "ConcernDomain",
        title: "Concern domain",
        description: "The HNA domain of the concern a PCSP activity addresses.",
    };
    let value = json!({"min": 1, "type": [{"code": "Coding"}],
                       "binding": {"strength": "required",
                                   "valueSet": value_set_url(c, &c.domain_system())}});
    extension(head, &["CarePlan.activity.detail"], "1", value)
}

fn shared_with(c: &Canonical) -> Value {
    let head = Head {
        url: c.shared_with_extension(),
        name: "PcspSharedWith",
        title: "PCSP shared with",
        description: "Who the person chose to share their care plan with: one per kind of recipient \
                      (`gp` for their GP).",
    };
    let value = json!({"min": 1, "type": [{"code": "code"}]});
    extension(head, &["CarePlan"], "*", value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hna::DEFAULT_CANONICAL;

    #[test]
    fn element_paths_drop_slice_names() {
        let e = el(
            "CarePlan.activity.detail.extension:domain",
            json!({"min": 1}),
        );
        assert_eq!(e["path"], "CarePlan.activity.detail.extension");
        assert_eq!(e["min"], 1);
    }

    #[test]
    fn profiles_constrain_uk_core_and_extensions_the_base_extension() {
        let c = Canonical::new(DEFAULT_CANONICAL);
        let sds = structure_definitions(&c);
        let urls: Vec<&str> = sds.iter().filter_map(|s| s["url"].as_str()).collect();
        let domain_extension = c.domain_extension();
        let shared_with_extension = c.shared_with_extension();
        let (referral, task) = (c.referral_profile(), c.referral_task_profile());
        assert_eq!(
            urls,
            vec![
                c.hna_profile().as_str(),
                c.pcsp_profile().as_str(),
                c.consent_profile().as_str(),
                referral.as_str(),
                task.as_str(),
                domain_extension.as_str(),
                shared_with_extension.as_str(),
            ]
        );
        for sd in &sds[..5] {
            let t = sd["type"].as_str().expect("type");
            assert_eq!(sd["baseDefinition"], uk_core(t));
            assert_eq!(sd["kind"], "resource");
        }
        for sd in &sds[5..] {
            assert_eq!(sd["baseDefinition"], EXTENSION_BASE);
            assert_eq!(sd["kind"], "complex-type");
        }
        let questionnaire = sds[0]["differential"]["element"]
            .as_array()
            .and_then(|es| {
                es.iter()
                    .find(|e| e["id"] == "QuestionnaireResponse.questionnaire")
            })
            .map(|e| e["fixedCanonical"].clone());
        assert_eq!(questionnaire, Some(json!(c.questionnaire())));
    }
}
