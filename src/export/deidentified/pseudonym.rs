//! Pseudonyms: a keyed hash of a resource's type and id, so that the same person gets the same
//! pseudonym in every file of an extract (and in a later extract of the same Group), while nobody
//! without the deployment's key can go from a pseudonym back to the record, or link two Groups'
//! extracts of one person.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::fhir::ResourceType;

/// The name the key is kept under (`crate::store::exports::ExportStore::secret`).
pub const KEY_NAME: &str = "hna-extract-pseudonym-key";

/// Hex digits kept of each pseudonym (128 bits: no collision in any plausible cohort).
const DIGITS: usize = 32;

/// Makes the pseudonyms of one Group's extract.
#[derive(Clone)]
pub struct Pseudonyms {
    /// HMAC-SHA256 keyed by the deployment key, already fed the Group id.
    group: Hmac<Sha256>,
}

impl std::fmt::Debug for Pseudonyms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pseudonyms(..)")
    }
}

impl Pseudonyms {
    /// The pseudonyms of `group`'s extract under the deployment `key`.
    pub fn new(key: &str, group: &str) -> Self {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(group.as_bytes());
        mac.update(&[0]);
        Pseudonyms { group: mac }
    }

    /// The pseudonym of `rtype`/`id`: a valid FHIR id of 32 lowercase hex digits.
    pub fn of(&self, rtype: ResourceType, id: &str) -> String {
        let mut mac = self.group.clone();
        mac.update(rtype.as_str().as_bytes());
        mac.update(b"/");
        mac.update(id.as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut out = String::with_capacity(DIGITS);
        for b in digest.iter().take(DIGITS / 2) {
            out.push_str(&format!("{b:02x}"));
        }
        out
    }

    /// `Type/<pseudonym>`.
    pub fn reference(&self, rtype: ResourceType, id: &str) -> String {
        format!("{rtype}/{}", self.of(rtype, id))
    }
}

/// A new deployment key: 256 random bits as hex, offered to the store the first time an extract
/// runs (the store keeps whichever process's offer came first).
pub fn fresh_key() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ResourceType::{Patient, QuestionnaireResponse};

    #[test]
    fn pseudonyms_are_stable_per_group_and_key_and_differ_across_them() {
        let a = Pseudonyms::new("k1", "g1");
        let p = a.of(Patient, "ann");
        assert_eq!(p.len(), 32);
        assert!(
            p.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_eq!(Pseudonyms::new("k1", "g1").of(Patient, "ann"), p, "stable");
        assert_ne!(a.of(Patient, "bob"), p, "per id");
        assert_ne!(a.of(QuestionnaireResponse, "ann"), p, "per type");
        assert_ne!(
            Pseudonyms::new("k1", "g2").of(Patient, "ann"),
            p,
            "per Group"
        );
        assert_ne!(Pseudonyms::new("k2", "g1").of(Patient, "ann"), p, "per key");
        assert_eq!(a.reference(Patient, "ann"), format!("Patient/{p}"));
    }

    #[test]
    fn fresh_keys_are_long_and_different() {
        let (k1, k2) = (fresh_key(), fresh_key());
        assert_eq!(k1.len(), 64);
        assert_ne!(k1, k2);
    }
}
