//! The HNA conformance artefacts (Questionnaire, CodeSystems, ValueSets, StructureDefinitions),
//! generated from the concern catalogue and the code lists in [`crate::hna`], so that the served
//! artefacts, the checked-in `profiles/*.json` and the code that validates against them cannot drift.
//!
//! The gateway installs them at start-up ([`install`]) under its configured canonical base;
//! `carebridge profiles` writes them as files. Each artefact's id is the last segment of its URL
//! (`Questionnaire/hna`, `CodeSystem/hna-concern`, ...), and a ValueSet shares its CodeSystem's id.

mod message;
mod operations;
mod questionnaire;
mod referral;
mod structure;
mod terminology;

use serde_json::Value;

pub use operations::{operation_codes, operation_url};
pub use questionnaire::hna_questionnaire;
pub use terminology::value_set_url;

use crate::hna::Canonical;

/// Business version of every artefact; bump it (and [`ARTEFACT_DATE`]) when the catalogue or a code
/// list changes, so that stored HNAs can tell which edition they answered.
pub const ARTEFACT_VERSION: &str = "1.0.0";

/// Publication date of [`ARTEFACT_VERSION`] (fixed, so regenerating changes nothing).
pub const ARTEFACT_DATE: &str = "2026-11-24";

const PUBLISHER: &str = "carebridge";

/// Every artefact under the canonical base `c`: the Questionnaire, the CodeSystems, the ValueSets,
/// the StructureDefinitions, the MessageDefinition of the referral message, then the
/// OperationDefinitions of the gateway's own operations.
pub fn artefacts(c: &Canonical) -> Vec<Value> {
    let mut all = vec![hna_questionnaire(c)];
    all.extend(terminology::terminology(c));
    all.extend(structure::structure_definitions(c));
    all.push(message::referral_request(c));
    all.extend(operations::operation_definitions(c));
    all
}

/// The file an artefact is written to: `<resourceType>-<id>.json`.
pub fn file_name(artefact: &Value) -> String {
    format!(
        "{}-{}.json",
        artefact["resourceType"].as_str().unwrap_or("Resource"),
        artefact["id"].as_str().unwrap_or("unknown")
    )
}

/// The text of an artefact file: pretty JSON with a final newline.
pub fn file_text(artefact: &Value) -> String {
    serde_json::to_string_pretty(artefact).unwrap_or_default() + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fhir::ResourceType;
    use crate::hna::DEFAULT_CANONICAL;

    #[test]
    fn every_artefact_has_a_distinct_url_id_and_file() {
        let c = Canonical::new(DEFAULT_CANONICAL);
        let all = artefacts(&c);
        assert_eq!(all.len(), 1 + 8 + 8 + 7 + 1 + 4);
        let mut files: Vec<String> = all.iter().map(file_name).collect();
        files.sort();
        files.dedup();
        assert_eq!(files.len(), all.len());
        for a in &all {
            let url = a["url"].as_str().expect("url");
            assert!(url.starts_with("https://fhir.carebridge.uk/"), "{url}");
            assert!(url.ends_with(&format!("/{}", a["id"].as_str().expect("id"))));
            assert_eq!(a["version"], ARTEFACT_VERSION);
        }
        assert!(files.contains(&"Questionnaire-hna.json".to_owned()));
        assert!(files.contains(&"CodeSystem-hna-concern.json".to_owned()));
    }

    #[test]
    fn every_artefact_passes_the_gateways_validation() {
        for a in artefacts(&Canonical::new("https://example.org/base")) {
            let rtype: ResourceType = a["resourceType"]
                .as_str()
                .and_then(|t| t.parse().ok())
                .expect("a served type");
            let checked =
                crate::fhir::validate::validate(rtype, &a, crate::fhir::validate::IdRule::Ignored);
            assert!(checked.is_ok(), "{}: {checked:?}", file_name(&a));
        }
    }
}
