//! The top-level elements a subsetted resource (`_elements`, `_summary`) keeps whatever was asked:
//! FHIR R4 says a server returns mandatory elements (minimum cardinality 1) and modifier elements
//! (`isModifier`, e.g. `status`), so that a client never misreads a subset and strict validators
//! accept it. Taken from the R4 (4.0.1) definitions of the types served; `[x]` choices are matched
//! by prefix.

use super::ResourceType;

/// Kept in every resource: what identifies it, and the modifiers every resource has.
const EVERY: &[&str] = &[
    "resourceType",
    "id",
    "meta",
    "implicitRules",
    "modifierExtension",
];

/// The mandatory and modifier top-level elements of `t` (choice elements end in `[x]`).
pub fn required_elements(t: ResourceType) -> &'static [&'static str] {
    use ResourceType::*;
    match t {
        Patient => &["active", "deceased[x]", "link"],
        Organization => &["active"],
        Practitioner | PractitionerRole => &[],
        CareTeam => &["status"],
        Questionnaire | QuestionnaireResponse | ValueSet => &["status"],
        CarePlan => &["status", "intent", "subject"],
        Goal => &["lifecycleStatus", "description", "subject"],
        Condition => &["clinicalStatus", "verificationStatus", "subject"],
        ServiceRequest => &["status", "intent", "doNotPerform", "subject"],
        Task => &["status", "intent"],
        Consent => &["status", "scope", "category"],
        AuditEvent => &["type", "recorded", "agent", "source"],
        Provenance => &["target", "recorded", "agent"],
        StructureDefinition => &["url", "name", "status", "kind", "abstract", "type"],
        CodeSystem => &["status", "content"],
        MessageDefinition => &["status", "date", "event[x]"],
        Group => &["type", "actual"],
        OperationDefinition => &[
            "name", "status", "kind", "code", "system", "type", "instance",
        ],
        Subscription => &["status", "reason", "criteria", "channel"],
    }
}

/// Whether element `name` (a JSON key of a resource of type `t`) is kept in every subset.
pub fn always_kept(t: ResourceType, name: &str) -> bool {
    EVERY.contains(&name)
        || required_elements(t)
            .iter()
            .any(|e| match e.strip_suffix("[x]") {
                Some(prefix) => name
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_uppercase())),
                None => *e == name,
            })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mandatory_modifier_and_choice_elements_are_kept() {
        assert!(always_kept(ResourceType::CarePlan, "subject"));
        assert!(always_kept(ResourceType::CarePlan, "status"));
        assert!(always_kept(ResourceType::CarePlan, "meta"));
        assert!(!always_kept(ResourceType::CarePlan, "title"));
        assert!(always_kept(ResourceType::Patient, "deceasedBoolean"));
        assert!(!always_kept(ResourceType::Patient, "deceased"));
        assert!(!always_kept(ResourceType::Patient, "name"));
        assert!(always_kept(ResourceType::MessageDefinition, "eventCoding"));
    }

    #[test]
    fn every_served_type_has_an_entry() {
        // A type added to the gateway must say what its subsets keep (the match is exhaustive);
        // this also keeps the table's names well formed.
        for t in ResourceType::ALL {
            for e in required_elements(*t) {
                assert!(
                    e.chars().next().is_some_and(|c| c.is_ascii_lowercase()),
                    "{t}: {e}"
                );
            }
        }
    }
}
