//! The deployment policy: what applies when a patient has recorded no decision, which concern
//! domains are sensitive, which roles are health care and which may break the glass. A TOML file;
//! [`Policy::default`] is docs/design.md section 4's:
//!
//! ```toml
//! # Never shared outside health care unless a provision names the domain.
//! sensitive_domains = ["emotional", "spiritual", "family"]
//! health_care_roles = ["link-worker", "cns", "gp"]
//! break_glass_roles = ["link-worker", "cns", "gp"]
//!
//! # Implied consent for direct care (opt-out) for health care; explicit permission for the rest.
//! [defaults]
//! link-worker = "permit"
//! cns = "permit"
//! gp = "permit"
//! housing = "deny"
//! social-care = "deny"
//! ```
//!
//! Only the sharing roles have defaults: a patient sees their own record, an auditor never sees
//! clinical content, and a system is bounded by its scopes, whatever a file says; naming them is an
//! error rather than silently ignored. Only health-care roles may break the glass.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;

use crate::auth::Role;
use crate::hna::catalogue::DOMAINS;
use crate::setting::ConfigError;

/// The decision when a patient has recorded none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultDecision {
    /// Shared (within a care relationship).
    Permit,
    /// Not shared until the person permits it.
    Deny,
}

/// The deployment policy, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The default of each sharing role.
    pub defaults: BTreeMap<RoleKey, DefaultDecision>,
    /// Concern domains never shared outside health care unless a provision names them.
    pub sensitive_domains: BTreeSet<String>,
    /// Roles that count as health care.
    pub health_care_roles: BTreeSet<RoleKey>,
    /// Roles that may break the glass (purpose BTG, with a reason).
    pub break_glass_roles: BTreeSet<RoleKey>,
}

/// A role as a map key (ordered by its code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct RoleKey(&'static str);

impl RoleKey {
    /// The key of `role`.
    pub fn of(role: Role) -> Self {
        RoleKey(role.code())
    }
}

/// The roles a policy may give defaults to.
const SHARING: [Role; 5] = [
    Role::LinkWorker,
    Role::Cns,
    Role::Gp,
    Role::Housing,
    Role::SocialCare,
];

impl Default for Policy {
    fn default() -> Self {
        let health = [Role::LinkWorker, Role::Cns, Role::Gp];
        Policy {
            defaults: SHARING
                .iter()
                .map(|r| {
                    let d = if health.contains(r) {
                        DefaultDecision::Permit
                    } else {
                        DefaultDecision::Deny
                    };
                    (RoleKey::of(*r), d)
                })
                .collect(),
            sensitive_domains: ["emotional", "spiritual", "family"]
                .iter()
                .map(|d| (*d).to_owned())
                .collect(),
            health_care_roles: health.iter().map(|r| RoleKey::of(*r)).collect(),
            break_glass_roles: health.iter().map(|r| RoleKey::of(*r)).collect(),
        }
    }
}

impl Policy {
    /// The default for `role`: `Deny` for a role the policy gives none.
    pub fn default_for(&self, role: Role) -> DefaultDecision {
        self.defaults
            .get(&RoleKey::of(role))
            .copied()
            .unwrap_or(DefaultDecision::Deny)
    }

    /// Whether `role` is health care.
    pub fn is_health_care(&self, role: Role) -> bool {
        self.health_care_roles.contains(&RoleKey::of(role))
    }

    /// Whether `role` may break the glass.
    pub fn may_break_glass(&self, role: Role) -> bool {
        self.break_glass_roles.contains(&RoleKey::of(role))
    }

    /// Whether concern domain `domain` is sensitive.
    pub fn is_sensitive(&self, domain: &str) -> bool {
        self.sensitive_domains.contains(domain)
    }

    /// Reads a policy file; what it leaves out keeps the default.
    pub fn load(path: &Path) -> Result<Policy, ConfigError> {
        crate::setting::read_file(path, Policy::parse)
    }

    /// Parses policy TOML.
    pub fn parse(text: &str) -> Result<Policy, String> {
        let raw: RawPolicy = toml::from_str(text).map_err(|e| e.message().to_owned())?;
        let mut policy = Policy::default();
        let sharing_role = |code: &str| -> Result<RoleKey, String> {
            let role: Role = code
                .parse()
                .map_err(|()| format!("'{code}' is not a role"))?;
            if SHARING.contains(&role) {
                Ok(RoleKey::of(role))
            } else {
                Err(format!(
                    "'{code}' is not a sharing role (patients, auditors and systems are not governed by the policy)"
                ))
            }
        };
        for (code, d) in raw.defaults.unwrap_or_default() {
            let d = match d.as_str() {
                "permit" => DefaultDecision::Permit,
                "deny" => DefaultDecision::Deny,
                other => return Err(format!("default '{other}' for {code}: use permit or deny")),
            };
            policy.defaults.insert(sharing_role(&code)?, d);
        }
        if let Some(domains) = raw.sensitive_domains {
            let known: Vec<&str> = DOMAINS.iter().map(|(c, _)| *c).collect();
            if let Some(d) = domains.iter().find(|d| !known.contains(&d.as_str())) {
                return Err(format!(
                    "'{d}' is not a concern domain ({})",
                    known.join(", ")
                ));
            }
            policy.sensitive_domains = domains.into_iter().collect();
        }
        if let Some(roles) = raw.health_care_roles {
            policy.health_care_roles = roles
                .iter()
                .map(|r| sharing_role(r))
                .collect::<Result<_, _>>()?;
        }
        if let Some(roles) = raw.break_glass_roles {
            policy.break_glass_roles = roles
                .iter()
                .map(|r| sharing_role(r))
                .collect::<Result<_, _>>()?;
        }
        if let Some(r) = policy
            .break_glass_roles
            .iter()
            .find(|r| !policy.health_care_roles.contains(r))
        {
            return Err(format!(
                "{} may not break the glass: it is not a health-care role",
                r.0
            ));
        }
        Ok(policy)
    }
}

/// The file form.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    defaults: Option<BTreeMap<String, String>>,
    sensitive_domains: Option<Vec<String>>,
    health_care_roles: Option<Vec<String>>,
    break_glass_roles: Option<Vec<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_the_design_notes() {
        let p = Policy::default();
        assert_eq!(p.default_for(Role::Gp), DefaultDecision::Permit);
        assert_eq!(p.default_for(Role::Housing), DefaultDecision::Deny);
        assert_eq!(p.default_for(Role::SocialCare), DefaultDecision::Deny);
        assert_eq!(
            p.default_for(Role::Patient),
            DefaultDecision::Deny,
            "not the policy's"
        );
        assert!(p.is_sensitive("emotional") && !p.is_sensitive("practical"));
        assert!(p.may_break_glass(Role::Cns) && !p.may_break_glass(Role::Housing));
        // The documented file is the default.
        let doc = "sensitive_domains = [\"emotional\", \"spiritual\", \"family\"]\n\
            health_care_roles = [\"link-worker\", \"cns\", \"gp\"]\n\
            break_glass_roles = [\"link-worker\", \"cns\", \"gp\"]\n\
            [defaults]\nlink-worker = \"permit\"\ncns = \"permit\"\ngp = \"permit\"\n\
            housing = \"deny\"\nsocial-care = \"deny\"\n";
        assert_eq!(Policy::parse(doc), Ok(Policy::default()));
    }

    #[test]
    fn a_file_changes_what_it_names_and_keeps_the_rest() {
        let p = Policy::parse("sensitive_domains = [\"spiritual\"]\n[defaults]\ngp = \"deny\"\n");
        let p = p.unwrap_or_default();
        assert_eq!(p.default_for(Role::Gp), DefaultDecision::Deny);
        assert_eq!(p.default_for(Role::Cns), DefaultDecision::Permit);
        assert!(p.is_sensitive("spiritual") && !p.is_sensitive("emotional"));
    }

    #[test]
    fn policies_that_cannot_be_right_are_refused() {
        for bad in [
            "[defaults]\npatient = \"permit\"\n",
            "[defaults]\nauditor = \"permit\"\n",
            "[defaults]\ngp = \"maybe\"\n",
            "[defaults]\nsuperuser = \"permit\"\n",
            "sensitive_domains = [\"astrology\"]\n",
            "break_glass_roles = [\"housing\"]\n",
            "colour = \"blue\"\n",
        ] {
            assert!(Policy::parse(bad).is_err(), "{bad}");
        }
    }
}
