//! The HNA and PCSP CodeSystems, each with a ValueSet holding all of its codes.

use serde_json::{Value, json};

use super::{ARTEFACT_DATE, ARTEFACT_VERSION, PUBLISHER};
use crate::hna::catalogue::{self, SENSITIVE_DOMAINS};
use crate::hna::{
    ACTION_TYPES, COHORT_CODES, COMPLETED_BY, Canonical, POINTS_OF_PATHWAY, SETTINGS,
};

/// The ValueSet holding every code of the CodeSystem at `system`: same id, under `ValueSet/`.
pub fn value_set_url(c: &Canonical, system: &str) -> String {
    c.url(&format!("ValueSet/{}", last_segment(system)))
}

/// The id of an artefact: the last path segment of its canonical URL.
pub(super) fn last_segment(url: &str) -> &str {
    url.rsplit('/').next().unwrap_or(url)
}

/// What one CodeSystem is called and says.
struct System {
    url: String,
    name: &'static str,
    title: &'static str,
    description: &'static str,
}

/// Every CodeSystem then every ValueSet, in a stable order.
pub fn terminology(c: &Canonical) -> Vec<Value> {
    let systems = [
        concern_system(c),
        domain_system(c),
        simple(
            System {
                url: c.action_type_system(),
                name: "PcspActionType",
                title: "PCSP action types",
                description: "What was done about a concern in a personalised care and support plan \
                              (as recorded in the eHNA data).",
            },
            ACTION_TYPES,
        ),
        simple(
            System {
                url: c.pathway_system(),
                name: "HnaPointOfPathway",
                title: "HNA points of pathway",
                description: "The point of the cancer pathway at which an HNA is done.",
            },
            POINTS_OF_PATHWAY,
        ),
        simple(
            System {
                url: c.setting_system(),
                name: "HnaSetting",
                title: "HNA settings",
                description: "Where (or by what means) an HNA is done.",
            },
            SETTINGS,
        ),
        simple(
            System {
                url: c.completed_by_system(),
                name: "HnaCompletedBy",
                title: "HNA completed by",
                description: "Who completed the HNA questionnaire.",
            },
            COMPLETED_BY,
        ),
        simple(
            System {
                url: c.sharing_role_system(),
                name: "SharingRole",
                title: "carebridge sharing roles",
                description: "The roles of the token contract, which decide what a recipient may see: \
                              named by Consent provision actors and recorded on audit agents.",
            },
            &sharing_roles(),
        ),
        simple(
            System {
                url: c.cohort_system(),
                name: "EvaluationCohort",
                title: "carebridge evaluation cohorts",
                description: "What a Group defines for service evaluation: its code (a de-identified \
                              HNA extract) and its characteristics (the HNAs an organisation \
                              recorded in a period).",
            },
            COHORT_CODES,
        ),
    ];
    let value_sets: Vec<Value> = systems.iter().map(|cs| value_set(c, cs)).collect();
    systems.into_iter().chain(value_sets).collect()
}

/// The sharing roles as (code, display).
fn sharing_roles() -> Vec<(&'static str, &'static str)> {
    crate::auth::Role::ALL
        .iter()
        .map(|r| (r.code(), r.display()))
        .collect()
}

fn concern_system(c: &Canonical) -> Value {
    let concepts: Vec<Value> = catalogue::concerns()
        .iter()
        .map(|k| {
            json!({
                "code": k.code,
                "display": k.display,
                "property": [
                    {"code": "domain", "valueCode": k.domain},
                    {"code": "source", "valueString": k.source},
                ],
            })
        })
        .collect();
    let properties = json!([
        {
            "code": "domain",
            "uri": c.domain_system(),
            "description": "The HNA domain of the concern (a code of the domain CodeSystem).",
            "type": "code",
        },
        {
            "code": "source",
            "description": "Where the item comes from (NCSI 2012 checklist, or a local addition).",
            "type": "string",
        },
    ]);
    code_system(
        System {
            url: c.concern_system(),
            name: "HnaConcern",
            title: "HNA concerns",
            description: "The concerns a person can score in a Holistic Needs Assessment, each with its \
                          domain. Also the linkIds of the HNA Questionnaire's concern items.",
        },
        Some(properties),
        concepts,
    )
}

fn domain_system(c: &Canonical) -> Value {
    let concepts: Vec<Value> = catalogue::DOMAINS
        .iter()
        .map(|(code, display)| {
            json!({
                "code": code,
                "display": display,
                "property": [{"code": "sensitive", "valueBoolean": SENSITIVE_DOMAINS.contains(code)}],
            })
        })
        .collect();
    let properties = json!([{
        "code": "sensitive",
        "description": "Concerns of this domain are not shared outside health care unless a consent \
                        provision names the domain.",
        "type": "boolean",
    }]);
    code_system(
        System {
            url: c.domain_system(),
            name: "HnaDomain",
            title: "HNA domains",
            description: "The domains of the HNA concerns checklist, in questionnaire order.",
        },
        Some(properties),
        concepts,
    )
}

fn simple(s: System, codes: &[(&str, &str)]) -> Value {
    let concepts = codes
        .iter()
        .map(|(code, display)| json!({"code": code, "display": display}))
        .collect();
    code_system(s, None, concepts)
}

fn code_system(s: System, properties: Option<Value>, concepts: Vec<Value>) -> Value {
    let id = last_segment(&s.url).to_owned();
    let mut cs = json!({
        "resourceType": "CodeSystem",
        "id": id,
        "url": s.url,
        "version": ARTEFACT_VERSION,
        "name": s.name,
        "title": s.title,
        "status": "active",
        "date": ARTEFACT_DATE,
        "publisher": PUBLISHER,
        "description": s.description,
        "caseSensitive": true,
        "content": "complete",
        "count": concepts.len(),
    });
    if let Some(p) = properties {
        cs["property"] = p;
    }
    cs["concept"] = Value::Array(concepts);
    cs
}

/// The ValueSet of all codes of a generated CodeSystem.
fn value_set(c: &Canonical, cs: &Value) -> Value {
    let system = cs["url"].as_str().unwrap_or_default();
    let url = value_set_url(c, system);
    json!({
        "resourceType": "ValueSet",
        "id": last_segment(&url),
        "url": url,
        "version": ARTEFACT_VERSION,
        "name": cs["name"],
        "title": cs["title"],
        "status": "active",
        "date": ARTEFACT_DATE,
        "publisher": PUBLISHER,
        "description": format!("All codes of the {} CodeSystem.", cs["title"].as_str().unwrap_or_default()),
        "compose": {"include": [{"system": system}]},
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hna::DEFAULT_CANONICAL;

    #[test]
    fn every_concern_carries_its_domain() {
        let c = Canonical::new(DEFAULT_CANONICAL);
        let all = terminology(&c);
        let concerns = all
            .iter()
            .find(|r| r["url"] == c.concern_system())
            .expect("the concern CodeSystem");
        let concepts = concerns["concept"].as_array().expect("concepts");
        assert_eq!(concepts.len(), 54);
        assert_eq!(concerns["count"], 54);
        for (concept, k) in concepts.iter().zip(catalogue::concerns()) {
            assert_eq!(concept["code"], k.code.as_str());
            assert_eq!(concept["property"][0]["code"], "domain");
            assert_eq!(concept["property"][0]["valueCode"], k.domain.as_str());
        }
    }

    #[test]
    fn eight_code_systems_each_with_a_value_set_including_it() {
        let c = Canonical::new(DEFAULT_CANONICAL);
        let all = terminology(&c);
        let (systems, sets): (Vec<&Value>, Vec<&Value>) =
            all.iter().partition(|r| r["resourceType"] == "CodeSystem");
        assert_eq!(systems.len(), 8);
        assert_eq!(sets.len(), 8);
        for (cs, vs) in systems.iter().zip(&sets) {
            assert_eq!(vs["compose"]["include"][0]["system"], cs["url"]);
            assert_eq!(cs["id"], vs["id"]);
            assert_eq!(cs["content"], "complete");
            assert_eq!(cs["caseSensitive"], true);
        }
        assert_eq!(
            value_set_url(&c, &c.action_type_system()),
            "https://fhir.carebridge.uk/ValueSet/pcsp-action-type"
        );
    }
}
