//! The codes and URLs the engine recognises in resources: the HNA domain and concern systems, the
//! PCSP extensions and the sharing-role system, all under the deployment's canonical base.

use crate::hna::Canonical;
use crate::hna::catalogue;

/// The deployment's vocabulary, built once from its canonical base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vocabulary {
    /// HNA domain CodeSystem.
    pub domain_system: String,
    /// HNA concern CodeSystem.
    pub concern_system: String,
    /// Sharing roles (`Consent.provision.actor.role`): the role codes of the token contract.
    pub role_system: String,
    /// Domain extension on PCSP activities.
    pub domain_extension: String,
    /// Shared-with extension on PCSP care plans.
    pub shared_with_extension: String,
    /// The PCSP CarePlan profile.
    pub pcsp_profile: String,
}

impl Vocabulary {
    /// The vocabulary under `canonical`.
    pub fn new(canonical: &Canonical) -> Self {
        Vocabulary {
            domain_system: canonical.domain_system(),
            concern_system: canonical.concern_system(),
            role_system: canonical.sharing_role_system(),
            domain_extension: canonical.domain_extension(),
            shared_with_extension: canonical.shared_with_extension(),
            pcsp_profile: canonical.pcsp_profile(),
        }
    }

    /// Whether `code` is an HNA domain.
    pub fn is_domain(&self, code: &str) -> bool {
        catalogue::DOMAINS.iter().any(|(d, _)| *d == code)
    }

    /// The domain of concern `code`, if it is one.
    pub fn domain_of_concern(&self, code: &str) -> Option<&'static str> {
        catalogue::concern(code).and_then(|c| {
            catalogue::DOMAINS
                .iter()
                .find(|(d, _)| *d == c.domain)
                .map(|(d, _)| *d)
        })
    }
}

impl Default for Vocabulary {
    fn default() -> Self {
        Vocabulary::new(&Canonical::new(crate::hna::DEFAULT_CANONICAL))
    }
}
