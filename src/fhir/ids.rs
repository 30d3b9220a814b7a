//! Typed ids for what the consent engine decides with: an Organization's id and a Patient's id are
//! both strings in FHIR, and so is an ODS code ([`super::ods::OdsCode`]); as separate types they
//! cannot be passed one for the other (a token's ODS code compared with an Organization id would
//! silently match nothing, or the wrong thing).
//!
//! Each type holds a `Cow<str>`: borrowed where a request reads it (from a token, from a stored
//! resource's reference), so the decision that runs on every read allocates nothing for it; owned
//! (`'static`) where it is kept (a parsed Consent, the organisation cache). Each is checked once, at
//! construction ([`OrganizationId::parse`], [`PatientId::parse`]); a value that fails the check is
//! never an error for the request, the caller treats it as naming nothing (which denies: fail
//! closed), see each caller.

/// A value that is not of the kind expected. It does not carry the value: it may come from a
/// token or a resource, and errors reach logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a valid {0}")]
pub struct InvalidId(pub &'static str);

/// Defines a `Cow<str>` newtype checked by `$valid`.
macro_rules! checked_str {
    ($(#[$doc:meta])* $name:ident, $what:literal, $valid:path) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name<'a>(std::borrow::Cow<'a, str>);

        impl<'a> $name<'a> {
            /// Borrows `s` when it is valid (no allocation).
            pub fn parse(s: &'a str) -> Result<Self, $crate::fhir::ids::InvalidId> {
                if $valid(s) {
                    Ok($name(std::borrow::Cow::Borrowed(s)))
                } else {
                    Err($crate::fhir::ids::InvalidId($what))
                }
            }

            /// Takes `s` when it is valid (no copy).
            pub fn from_string(s: String) -> Result<$name<'static>, $crate::fhir::ids::InvalidId> {
                if $valid(&s) {
                    Ok($name(std::borrow::Cow::Owned(s)))
                } else {
                    Err($crate::fhir::ids::InvalidId($what))
                }
            }

            /// The value as written.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// An owned copy, to keep beyond what it was read from.
            pub fn into_owned(self) -> $name<'static> {
                $name(std::borrow::Cow::Owned(self.0.into_owned()))
            }

            /// A borrowed view (no allocation), for a callee that takes the borrowed form.
            pub fn borrowed(&self) -> $name<'_> {
                $name(std::borrow::Cow::Borrowed(&self.0))
            }
        }

        impl std::fmt::Display for $name<'_> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<$name<'_>> for String {
            fn from(v: $name<'_>) -> String {
                v.0.into_owned()
            }
        }
    };
}
pub(crate) use checked_str;

checked_str!(
    /// The id of an Organization resource (`Organization/<id>`): what care relationships, referral
    /// parties and consent actors name. Checked against the FHIR id grammar.
    OrganizationId,
    "Organization id",
    super::id::is_valid_id
);

checked_str!(
    /// The id of a Patient resource: whose record a resource is, and whose consents decide it.
    /// Checked against the FHIR id grammar.
    PatientId,
    "Patient id",
    super::id::is_valid_id
);

impl OrganizationId<'_> {
    /// The id in a reference `Organization/<id>`; `None` for any other reference or a bad id.
    pub fn from_reference(reference: &str) -> Option<OrganizationId<'_>> {
        OrganizationId::parse(reference.strip_prefix("Organization/")?).ok()
    }
}

impl PatientId<'_> {
    /// The id in a reference `Patient/<id>`; `None` for any other reference or a bad id.
    pub fn from_reference(reference: &str) -> Option<PatientId<'_>> {
        PatientId::parse(reference.strip_prefix("Patient/")?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_organization_id_follows_the_fhir_id_grammar() {
        for ok in ["lw1", "A-b.9", &"x".repeat(64)] {
            assert_eq!(
                OrganizationId::parse(ok).map(|i| i.to_string()),
                Ok(ok.to_owned())
            );
        }
        for bad in ["", "a/b", "a b", "é", &"x".repeat(65), "Organization/x"] {
            assert_eq!(
                OrganizationId::parse(bad),
                Err(InvalidId("Organization id")),
                "{bad:?}"
            );
        }
        assert!(OrganizationId::from_string("o1".into()).is_ok());
        assert!(OrganizationId::from_string("o 1".into()).is_err());
    }

    #[test]
    fn a_patient_id_follows_the_fhir_id_grammar() {
        assert!(PatientId::parse("p-1.2").is_ok());
        for bad in ["", "p/1", "p 1", "p\u{0}"] {
            assert_eq!(
                PatientId::parse(bad),
                Err(InvalidId("Patient id")),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn references_give_their_id_only_for_their_own_type() {
        assert_eq!(
            PatientId::from_reference("Patient/p1")
                .as_ref()
                .map(PatientId::as_str),
            Some("p1")
        );
        assert!(PatientId::from_reference("Organization/p1").is_none());
        assert!(PatientId::from_reference("Patient/").is_none());
        assert!(PatientId::from_reference("Patient/a/b").is_none());
        assert_eq!(
            OrganizationId::from_reference("Organization/o1").map(String::from),
            Some("o1".to_owned())
        );
        assert!(OrganizationId::from_reference("Patient/o1").is_none());
    }

    #[test]
    fn borrowed_and_owned_forms_are_equal() {
        let owned = OrganizationId::from_string("o1".into()).expect("valid");
        let borrowed = OrganizationId::parse("o1").expect("valid");
        assert_eq!(owned, borrowed);
        assert_eq!(owned.borrowed(), borrowed.clone().into_owned());
    }
}
