//! The resource types the gateway serves (docs/design.md section 7), as a closed enum so that a
//! type name from a URL or body is checked once and can never be misspelt further in.

use std::fmt;
use std::str::FromStr;

macro_rules! resource_types {
    ($($variant:ident),* $(,)?) => {
        /// A resource type carebridge stores and serves.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ResourceType { $($variant),* }

        impl ResourceType {
            /// Every served type, in CapabilityStatement order.
            pub const ALL: &'static [ResourceType] = &[$(ResourceType::$variant),*];

            /// The FHIR name of the type, as used in URLs and `resourceType`.
            pub const fn as_str(self) -> &'static str {
                match self { $(ResourceType::$variant => stringify!($variant)),* }
            }
        }

        impl FromStr for ResourceType {
            type Err = UnknownResourceType;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $(stringify!($variant) => Ok(ResourceType::$variant),)*
                    _ => Err(UnknownResourceType),
                }
            }
        }
    };
}

resource_types!(
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
    Group,
    OperationDefinition,
    Subscription,
);

/// The name is not a resource type this gateway serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown resource type")]
pub struct UnknownResourceType;

impl fmt::Display for ResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips_through_its_name() {
        for t in ResourceType::ALL {
            assert_eq!(t.as_str().parse::<ResourceType>(), Ok(*t));
        }
    }

    #[test]
    fn names_are_case_sensitive_and_closed() {
        assert!("patient".parse::<ResourceType>().is_err());
        assert!("Observation".parse::<ResourceType>().is_err());
    }
}
