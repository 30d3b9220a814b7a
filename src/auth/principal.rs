//! Who is calling, as the verified token says: the sharing role, organisation, purpose of use and
//! (for patient-context tokens) the patient. The consent engine decides on this alone.

use std::fmt;
use std::str::FromStr;

use super::scopes::Grants;

/// A sharing role (docs/design.md section 3). Exactly one per token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Community link workers and care coordinators.
    LinkWorker,
    /// Hospital clinical nurse specialists.
    Cns,
    /// GP practice staff.
    Gp,
    /// Housing provider officers.
    Housing,
    /// Welfare rights and social care.
    SocialCare,
    /// The person themself.
    Patient,
    /// Information governance: audit only.
    Auditor,
    /// An integrated system acting for its organisation.
    System,
}

impl Role {
    /// Every role, in the order of the design notes.
    pub const ALL: [Role; 8] = [
        Role::LinkWorker,
        Role::Cns,
        Role::Gp,
        Role::Housing,
        Role::SocialCare,
        Role::Patient,
        Role::Auditor,
        Role::System,
    ];

    /// Whether the role sees only what is addressed to its organisation: the care-plan
    /// activities it performs and the referrals sent to it, with their Tasks (housing and social
    /// care, whose remit is one part of a person's plan). The gate and the consent decision both
    /// ask this, so the two cannot disagree about who is held to it.
    pub fn addressed_only(self) -> bool {
        matches!(self, Role::Housing | Role::SocialCare)
    }

    /// The claim value.
    pub fn code(self) -> &'static str {
        match self {
            Role::LinkWorker => "link-worker",
            Role::Cns => "cns",
            Role::Gp => "gp",
            Role::Housing => "housing",
            Role::SocialCare => "social-care",
            Role::Patient => "patient",
            Role::Auditor => "auditor",
            Role::System => "system",
        }
    }

    /// What the role is, for people (the sharing-role CodeSystem's displays).
    pub fn display(self) -> &'static str {
        match self {
            Role::LinkWorker => "Community link worker or care coordinator",
            Role::Cns => "Hospital clinical nurse specialist",
            Role::Gp => "GP practice staff",
            Role::Housing => "Housing provider officer",
            Role::SocialCare => "Welfare rights or social care",
            Role::Patient => "The person themself",
            Role::Auditor => "Information governance (audit only)",
            Role::System => "An integrated system acting for its organisation",
        }
    }

    /// Roles that read every event of the audit log (search, read and export); a patient reads
    /// only the events about their own record, and nobody else reads any.
    pub fn reads_every_audit_event(self) -> bool {
        matches!(self, Role::Auditor | Role::System)
    }

    /// Roles that act for an organisation, whose tokens must name it (`org`).
    pub fn needs_organization(self) -> bool {
        !matches!(self, Role::Patient | Role::Auditor)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Role {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        Role::ALL.into_iter().find(|r| r.code() == s).ok_or(())
    }
}

/// The default purpose of use (v3-ActReason): treatment.
pub const DEFAULT_PURPOSE: &str = "TREAT";

/// A verified caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// `sub`.
    pub subject: String,
    /// The sharing role.
    pub role: Role,
    /// The caller's ODS organisation code, for roles that act for one.
    pub organization: Option<String>,
    /// `fhirUser`: the user's resource (`Practitioner/..`, `PractitionerRole/..`, `Patient/..`).
    pub fhir_user: Option<String>,
    /// The granted scopes, as given (SMART v2, or v1 forms).
    pub scopes: Vec<String>,
    /// The resource scopes among them, parsed.
    pub grants: Grants,
    /// Purpose of use (v3-ActReason code), `TREAT` unless the token says otherwise.
    pub purpose: String,
    /// The patient of a patient-context token.
    pub patient: Option<String>,
    /// `exp`, seconds since the epoch.
    pub expires: i64,
    /// The client certificate the token is bound to (RFC 8705 `cnf.x5t#S256`: base64url of the
    /// SHA-256 of its DER), checked against the connection's certificate (`crate::tls`).
    pub bound_certificate: Option<String>,
}

impl Principal {
    /// A digest of everything about the caller that decides what it may see (subject, role,
    /// organisation, patient, purpose and scopes): two callers with the same fingerprint are
    /// shown the same things, so what was computed for one may be given to the other (an export
    /// job's files, a cached search result).
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut scopes = self.scopes.clone();
        scopes.sort();
        let mut h = Sha256::new();
        for part in [
            self.subject.as_str(),
            self.role.code(),
            self.organization.as_deref().unwrap_or(""),
            self.patient.as_deref().unwrap_or(""),
            self.purpose.as_str(),
            &scopes.join(" "),
        ] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// A subscriber's organisation as the recipient of a notification: `role` for the
    /// Organization with ODS code `ods`, with the role's default scopes and purpose, named after the
    /// subscription (`Subscription/<id>`). Never built from a request.
    pub fn subscriber(subscription: &str, role: Role, ods: Option<String>) -> Self {
        let scopes: Vec<String> = crate::auth::mint::default_scope(role)
            .split(' ')
            .map(str::to_owned)
            .collect();
        Principal {
            subject: format!("Subscription/{subscription}"),
            role,
            organization: ods,
            fhir_user: None,
            grants: Grants::new(&scopes),
            scopes,
            purpose: DEFAULT_PURPOSE.into(),
            patient: None,
            expires: i64::MAX,
            bound_certificate: None,
        }
    }

    /// The gateway itself, for jobs it runs (imports, sample data): a system caller with every
    /// scope. Never built from a request.
    pub fn system() -> Self {
        let scopes = vec!["system/*.cruds".to_owned()];
        Principal {
            subject: "carebridge".into(),
            role: Role::System,
            organization: None,
            fhir_user: None,
            grants: Grants::new(&scopes),
            scopes,
            purpose: DEFAULT_PURPOSE.into(),
            patient: None,
            expires: i64::MAX,
            bound_certificate: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_housing_and_social_care_are_held_to_what_is_addressed_to_them() {
        let held: Vec<Role> = Role::ALL
            .into_iter()
            .filter(|r| r.addressed_only())
            .collect();
        assert_eq!(held, vec![Role::Housing, Role::SocialCare]);
    }

    #[test]
    fn roles_read_back_from_their_codes() {
        for r in Role::ALL {
            assert_eq!(r.code().parse::<Role>(), Ok(r));
        }
        assert!("GP".parse::<Role>().is_err());
        assert!(!Role::Patient.needs_organization());
        assert!(Role::Housing.needs_organization());
    }
}
