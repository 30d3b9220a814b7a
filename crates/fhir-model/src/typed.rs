//! The only module that touches fhir-sdk's typed models: typed parse and re-serialisation.
//!
//! We dispatch on the resource type to each concrete model rather than parsing the generic
//! `Resource` enum: that enum is internally tagged by `resourceType`, so serde buffers the whole
//! body into its private `Content` type before picking the variant, and `serde_path_to_error`
//! then loses every path below the root. The concrete types keep full paths. The cost is one
//! serde instantiation per supported type (the shared datatypes are instantiated only once, as
//! all types use the same deserializer type); `Resource` itself is instantiated anyway because
//! every resource has `contained: Vec<Resource>`.

use fhir_sdk::r4b::resources::{
    AuditEvent, CarePlan, CareTeam, CodeSystem, Condition, Consent, Goal, Group, MeasureReport,
    MessageDefinition, OperationDefinition, Organization, Patient, Practitioner, PractitionerRole,
    Provenance, Questionnaire, QuestionnaireResponse, ServiceRequest, StructureDefinition,
    Subscription, Task, ValueSet,
};
use serde_json::Value;

use crate::mirror::{Stop, mirror};
use crate::unknown::{Found, unknown_elements};
use crate::{Issue, IssueKind, paths};

/// Parses `resource` as the typed model of `resource_type` and lists the input elements the model
/// did not keep (see `unknown` and `mirror`): `Err` when the parse fails, else the unknown elements.
pub(crate) fn parse_and_compare(
    resource_type: &str,
    resource: &Value,
) -> Result<Vec<Issue>, Issue> {
    /// One match arm per model type (a macro: the types share no trait we could be generic over
    /// without instantiating serde for all of them in the caller).
    ///
    /// The fast path parses and writes without tracking paths; only input that fails is parsed
    /// again with `serde_path_to_error`, to name where. Tracking the path of every element cost
    /// more than the parse itself on valid input, which is nearly all input.
    macro_rules! dispatch {
        ($($name:ident),* $(,)?) => {
            match resource_type {
                $(stringify!($name) => {
                    let typed = match <$name as serde::Deserialize>::deserialize(resource) {
                        Ok(t) => t,
                        Err(_) => {
                            let slow: Result<$name, _> = serde_path_to_error::deserialize(resource);
                            return Err(match slow {
                                Err(e) => paths::de_issue(resource_type, &e),
                                // Cannot happen (the same parse); say so rather than panic.
                                Ok(_) => unexplained(resource_type),
                            });
                        }
                    };
                    let mut found = Found::new(resource_type);
                    match mirror(&typed, resource, &mut found) {
                        Ok(()) => return Ok(found.finish(resource_type)),
                        Err(Stop::Shape) => {}
                        Err(Stop::Refused) => return Err(unwritable(resource_type, &typed)),
                    }
                    match serde_json::to_value(&typed) {
                        Ok(v) => Ok(unknown_elements(resource_type, resource, &v)),
                        Err(_) => Err(unwritable(resource_type, &typed)),
                    }
                })*
                // Unreachable through `validate`, which checks `is_supported` first; no panic.
                other => Err(Issue {
                    path: paths::clip(other),
                    kind: IssueKind::Structure,
                    message: "Unsupported resource type".to_owned(),
                }),
            }
        };
    }
    dispatch!(
        Patient,
        Practitioner,
        PractitionerRole,
        Organization,
        CareTeam,
        Questionnaire,
        QuestionnaireResponse,
        CarePlan,
        Goal,
        Condition,
        ServiceRequest,
        Task,
        Consent,
        AuditEvent,
        Provenance,
        StructureDefinition,
        CodeSystem,
        ValueSet,
        MessageDefinition,
        MeasureReport,
        Group,
        OperationDefinition,
        Subscription,
    )
}

/// The issue for a model that parsed but cannot be written back: fhir-sdk parses the date `"12"`
/// as year 12 but refuses to write a year that is not 4 digits. Found again with path tracking.
fn unwritable<T: serde::Serialize>(resource_type: &str, typed: &T) -> Issue {
    match serde_path_to_error::serialize(typed, serde_json::value::Serializer) {
        Err(e) => paths::ser_issue(resource_type, &e),
        Ok(_) => unexplained(resource_type),
    }
}

/// An issue for a failure that did not repeat when retried with path tracking.
fn unexplained(resource_type: &str) -> Issue {
    Issue {
        path: paths::clip(resource_type),
        kind: IssueKind::Structure,
        message: "The resource could not be read as FHIR".to_owned(),
    }
}
