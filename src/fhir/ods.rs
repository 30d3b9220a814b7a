//! ODS organisation codes: how the NHS Organisation Data Service names practices, trusts and
//! other organisations (domain.md, "Identifiers"). Consent grants, tokens' `org` claim, messages
//! and imports all name organisations by this code, so its system is defined here once.

/// The identifier system of ODS organisation codes.
pub const SYSTEM: &str = "https://fhir.nhs.uk/Id/ods-organization-code";
