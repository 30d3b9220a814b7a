//! The HNA `Questionnaire`, generated from the concern catalogue.
//!
//! Which items are `required`, and why:
//! - `distress-thermometer` is required: every HNA records overall distress (4 or more is moderate to
//!   high distress), and the outcome tables compare it between assessments.
//! - `point-of-pathway` is required: the outcome tables break users down by pathway stage, and an HNA
//!   without it cannot be placed.
//! - concern items are optional: the person scores only the concerns that apply to them; an unscored
//!   concern is "not a concern", not a missing answer. Domain groups are optional for the same reason.
//! - `what-matters-most`, `setting` and `completed-by` are optional: useful, but often not recorded
//!   by the legacy systems an HNA may come from.

use serde_json::{Value, json};

use super::terminology::value_set_url;
use super::{ARTEFACT_DATE, ARTEFACT_VERSION, PUBLISHER};
use crate::hna::catalogue::{self, Concern};
use crate::hna::{
    Canonical, LINK_COMPLETED_BY, LINK_DISTRESS, LINK_PATHWAY, LINK_SETTING, LINK_WHAT_MATTERS,
    SEVERITY_RANGE,
};

/// The standard extensions giving an integer item's bounds.
const MIN_VALUE: &str = "http://hl7.org/fhir/StructureDefinition/minValue";
const MAX_VALUE: &str = "http://hl7.org/fhir/StructureDefinition/maxValue";

/// The HNA Questionnaire at `c.questionnaire()`: a group per domain (catalogue order) holding an
/// integer item per concern, then the Distress Thermometer, what matters most, point of pathway,
/// setting and who completed it.
pub fn hna_questionnaire(c: &Canonical) -> Value {
    let mut items: Vec<Value> = catalogue::DOMAINS
        .iter()
        .map(|(code, display)| domain_group(c, code, display))
        .collect();
    items.push(with_bounds(json!({
        "linkId": LINK_DISTRESS,
        "text": "Distress Thermometer: how distressed have you been in the past week, \
                 from 0 (no distress) to 10 (extreme distress)?",
        "type": "integer",
        "required": true,
    })));
    items.push(json!({
        "linkId": LINK_WHAT_MATTERS,
        "text": "What matters most to you?",
        "type": "text",
    }));
    items.push(choice(
        LINK_PATHWAY,
        "Point of the pathway",
        true,
        value_set_url(c, &c.pathway_system()),
    ));
    items.push(choice(
        LINK_SETTING,
        "Setting",
        false,
        value_set_url(c, &c.setting_system()),
    ));
    items.push(choice(
        LINK_COMPLETED_BY,
        "Who completed the questionnaire",
        false,
        value_set_url(c, &c.completed_by_system()),
    ));
    json!({
        "resourceType": "Questionnaire",
        "id": "hna",
        "url": c.questionnaire(),
        "version": ARTEFACT_VERSION,
        "name": "HolisticNeedsAssessment",
        "title": "Holistic Needs Assessment",
        "status": "active",
        "subjectType": ["Patient"],
        "date": ARTEFACT_DATE,
        "publisher": PUBLISHER,
        "description": "The concerns checklist of a Holistic Needs Assessment: the person scores each \
                        concern that applies to them from 0 (no concern) to 10 (extreme), then the \
                        Distress Thermometer and what matters most to them.",
        "item": items,
    })
}

fn domain_group(c: &Canonical, code: &str, display: &str) -> Value {
    let concerns: Vec<Value> = catalogue::concerns()
        .iter()
        .filter(|k| k.domain == code)
        .map(|k| concern_item(c, k))
        .collect();
    json!({
        "linkId": code,
        "text": display,
        "type": "group",
        "item": concerns,
    })
}

fn concern_item(c: &Canonical, k: &Concern) -> Value {
    with_bounds(json!({
        "linkId": k.code,
        "code": [{"system": c.concern_system(), "code": k.code, "display": k.display}],
        "text": k.display,
        "type": "integer",
    }))
}

/// Puts the 0-10 `minValue`/`maxValue` extensions first on an integer item.
fn with_bounds(item: Value) -> Value {
    let mut out = serde_json::Map::new();
    out.insert(
        "extension".into(),
        json!([
            {"url": MIN_VALUE, "valueInteger": SEVERITY_RANGE.start()},
            {"url": MAX_VALUE, "valueInteger": SEVERITY_RANGE.end()},
        ]),
    );
    if let Value::Object(fields) = item {
        out.extend(fields);
    }
    Value::Object(out)
}

fn choice(link_id: &str, text: &str, required: bool, value_set: String) -> Value {
    let mut item = json!({
        "linkId": link_id,
        "text": text,
        "type": "choice",
        "answerValueSet": value_set,
    });
    if required {
        item["required"] = json!(true);
    }
    item
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hna::DEFAULT_CANONICAL;

    fn bounds(item: &Value) -> (Option<i64>, Option<i64>) {
        let ext = |url: &str| {
            item["extension"]
                .as_array()
                .and_then(|es| es.iter().find(|e| e["url"] == url))
                .and_then(|e| e["valueInteger"].as_i64())
        };
        (ext(MIN_VALUE), ext(MAX_VALUE))
    }

    #[test]
    fn a_group_per_domain_and_a_bounded_coded_item_per_concern() {
        let c = Canonical::new(DEFAULT_CANONICAL);
        let q = hna_questionnaire(&c);
        let items = q["item"].as_array().expect("items");
        let groups: Vec<&Value> = items.iter().filter(|i| i["type"] == "group").collect();
        let codes: Vec<&str> = groups.iter().filter_map(|g| g["linkId"].as_str()).collect();
        let domains: Vec<&str> = catalogue::DOMAINS.iter().map(|(d, _)| *d).collect();
        assert_eq!(codes, domains);
        let concerns: Vec<&Value> = groups
            .iter()
            .flat_map(|g| g["item"].as_array().into_iter().flatten())
            .collect();
        assert_eq!(concerns.len(), catalogue::concerns().len());
        for item in concerns {
            let code = item["linkId"].as_str().expect("linkId");
            let concern = catalogue::concern(code).expect("a catalogue concern");
            assert_eq!(item["type"], "integer");
            assert_eq!(bounds(item), (Some(0), Some(10)), "{code}");
            assert_eq!(item["code"][0]["system"], c.concern_system());
            assert_eq!(item["code"][0]["display"], concern.display.as_str());
            assert!(item.get("required").is_none(), "{code} is optional");
        }
    }

    #[test]
    fn the_closing_items_follow_the_contract() {
        let c = Canonical::new("https://example.org/fhir/");
        let q = hna_questionnaire(&c);
        assert_eq!(q["url"], "https://example.org/fhir/Questionnaire/hna");
        let items = q["item"].as_array().expect("items");
        let top: Vec<(&str, &str, bool)> = items
            .iter()
            .filter(|i| i["type"] != "group")
            .map(|i| {
                (
                    i["linkId"].as_str().unwrap_or_default(),
                    i["type"].as_str().unwrap_or_default(),
                    i["required"] == true,
                )
            })
            .collect();
        assert_eq!(
            top,
            vec![
                (LINK_DISTRESS, "integer", true),
                (LINK_WHAT_MATTERS, "text", false),
                (LINK_PATHWAY, "choice", true),
                (LINK_SETTING, "choice", false),
                (LINK_COMPLETED_BY, "choice", false),
            ]
        );
        let distress = items.iter().find(|i| i["linkId"] == LINK_DISTRESS);
        assert_eq!(distress.map(bounds), Some((Some(0), Some(10))));
        let pathway = items.iter().find(|i| i["linkId"] == LINK_PATHWAY);
        assert_eq!(
            pathway.map(|p| p["answerValueSet"].clone()),
            Some(json!(
                "https://example.org/fhir/ValueSet/hna-point-of-pathway"
            ))
        );
    }
}
