//! ODS organisation codes: how the NHS Organisation Data Service names practices, trusts and
//! other organisations (domain.md, "Identifiers"). Consent grants, tokens' `org` claim, messages
//! and imports all name organisations by this code, so its system is defined here once.

/// The identifier system of ODS organisation codes.
pub const SYSTEM: &str = "https://fhir.nhs.uk/Id/ods-organization-code";

super::ids::checked_str!(
    /// An ODS organisation code (`A81001`, `RR8`): what a token's `org` claim and a consent actor's
    /// ODS identifier name, never an Organization resource's id
    /// ([`super::ids::OrganizationId`]). Non-empty, uppercase ASCII letters and digits.
    OdsCode,
    "ODS organisation code",
    is_ods_code
);

/// Whether `s` has the form of an ODS code: non-empty, uppercase ASCII letters and digits.
pub fn is_ods_code(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fhir::ids::InvalidId;

    #[test]
    fn an_ods_code_is_uppercase_letters_and_digits() {
        for ok in ["A81001", "RR8", "H0001", "TESTSYS", "8"] {
            assert_eq!(OdsCode::parse(ok).map(String::from), Ok(ok.to_owned()));
        }
        for bad in ["", "a81001", "A81 001", "A-1", "A81001\u{7}", "Ä1"] {
            assert_eq!(
                OdsCode::parse(bad),
                Err(InvalidId("ODS organisation code")),
                "{bad:?}"
            );
        }
        assert!(OdsCode::from_string("L0001".into()).is_ok());
        assert!(OdsCode::from_string("l0001".into()).is_err());
    }
}
