//! Development client credentials, for the gateway's own token endpoint (`/auth/token`, served
//! only in development: [`super::settings::Endpoints::development`]). They let a SMART client
//! complete the `client_credentials` grant against a gateway that has no identity provider.
//!
//! A client id names the caller: `<role>.<ODS code>` (`gp.A81001`, `link-worker.L0001`),
//! `patient.<patient id>`, or `auditor`. Its secret is HMAC-SHA256 of the id under the development
//! secret, so nothing is registered or stored: whoever holds the development secret (the operator,
//! through `carebridge token --client`) can hand a client its credentials, and nobody else can
//! make them. Production deployments use their identity provider (SMART Backend Services:
//! `client_credentials` with `private_key_jwt`), never this.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::principal::Role;

/// Who a development client is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevClient {
    /// Its sharing role.
    pub role: Role,
    /// Its organisation's ODS code (roles that need one).
    pub org: Option<String>,
    /// The patient (the `patient` role).
    pub patient: Option<String>,
}

impl DevClient {
    /// The client named by `id`, if `id` names one a token could be minted for.
    pub fn from_id(id: &str) -> Option<DevClient> {
        let (role, rest) = match id.split_once('.') {
            Some((r, rest)) => (r.parse::<Role>().ok()?, Some(rest)),
            None => (id.parse::<Role>().ok()?, None),
        };
        let rest = rest.filter(|r| {
            !r.is_empty()
                && r.len() <= 64
                && r.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        });
        let client = match (role, rest) {
            (Role::Patient, Some(p)) => DevClient {
                role,
                org: None,
                patient: Some(p.to_owned()),
            },
            (Role::Patient, None) => return None,
            (r, Some(org)) => DevClient {
                role: r,
                org: Some(org.to_owned()),
                patient: None,
            },
            (r, None) if !r.needs_organization() => DevClient {
                role: r,
                org: None,
                patient: None,
            },
            _ => return None,
        };
        Some(client)
    }

    /// The client id naming this client.
    pub fn id(&self) -> String {
        match (&self.org, &self.patient) {
            (Some(o), _) => format!("{}.{o}", self.role.code()),
            (None, Some(p)) => format!("{}.{p}", self.role.code()),
            (None, None) => self.role.code().to_owned(),
        }
    }
}

/// The secret of client `id` under the development `secret`, as lowercase hex.
pub fn client_secret(secret: &str, id: &str) -> String {
    mac(secret, id)
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The client `id` authenticated by `presented`, its secret (compared in constant time).
pub fn authenticate(secret: &str, id: &str, presented: &str) -> Option<DevClient> {
    let client = DevClient::from_id(id)?;
    let bytes = hex(presented)?;
    mac(secret, id).verify_slice(&bytes).ok()?;
    Some(client)
}

fn mac(secret: &str, id: &str) -> Hmac<Sha256> {
    // HMAC takes a key of any length: this cannot fail.
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
    m.update(b"carebridge development client\0");
    m.update(id.as_bytes());
    m
}

fn hex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn a_client_id_names_role_and_organisation_or_patient() {
        let gp = DevClient::from_id("gp.A81001");
        assert_eq!(
            gp,
            Some(DevClient {
                role: Role::Gp,
                org: Some("A81001".into()),
                patient: None
            })
        );
        assert_eq!(gp.map(|c| c.id()).as_deref(), Some("gp.A81001"));
        assert!(DevClient::from_id("auditor").is_some());
        assert!(DevClient::from_id("patient.p-1").is_some_and(|c| c.patient.is_some()));
        for bad in ["gp", "patient", "root.X", "gp.", "gp.A 1", "gp.A/1", ""] {
            assert_eq!(DevClient::from_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn only_the_secret_made_for_an_id_authenticates_it() {
        let s = client_secret(SECRET, "gp.A81001");
        assert_eq!(s.len(), 64);
        assert!(authenticate(SECRET, "gp.A81001", &s).is_some());
        assert!(
            authenticate(SECRET, "gp.B82002", &s).is_none(),
            "another id"
        );
        assert!(authenticate("another-secret-of-32-bytes-or-more", "gp.A81001", &s).is_none());
        assert!(authenticate(SECRET, "gp.A81001", &s[..62]).is_none());
        assert!(authenticate(SECRET, "gp.A81001", "zz").is_none());
    }
}
