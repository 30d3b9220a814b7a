//! SMART on FHIR scopes: which interactions on which resource types a token grants.
//!
//! v2 form `<context>/<Type|*>.<cruds>[?param=value&...]` and the v1 forms `.read` (= `rs`), `.write`
//! (= `cud`) and `.*` (= `cruds`). The context must be the principal's: `system/` for system tokens,
//! `patient/` for patients, `user/` for everyone else; scopes of another context grant nothing.
//! Scopes that are not resource scopes (`openid`, `fhirUser`, `launch`, `offline_access`, ...) are
//! ignored here.
//!
//! A scope with `?param=value` constraints grants reads and searches of only the resources that
//! match its search parameters ([`Grants::access`] gives the constraint sets; the access gate
//! checks every resource served against them, before paging, so totals and pages count only
//! matches; a resource outside them answers as a missing one). Constrained create, update and
//! delete scopes grant nothing: checking what a write would make against a search would need the
//! write first, so they fail closed.

use super::principal::Role;

/// Whose data a scope is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// `patient/`: the patient in context.
    Patient,
    /// `user/`: what the user may see.
    User,
    /// `system/`: a backend service.
    System,
}

impl Context {
    /// The context a role's tokens use.
    pub fn of(role: Role) -> Context {
        match role {
            Role::System => Context::System,
            Role::Patient => Context::Patient,
            _ => Context::User,
        }
    }

    fn parse(s: &str) -> Option<Context> {
        match s {
            "patient" => Some(Context::Patient),
            "user" => Some(Context::User),
            "system" => Some(Context::System),
            _ => None,
        }
    }
}

/// One of the five SMART v2 permissions (`c`, `r`, `u`, `d`, `s`) a request may need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// `c`.
    Create,
    /// `r`: read, vread, history of an instance.
    Read,
    /// `u`.
    Update,
    /// `d`.
    Delete,
    /// `s`: search, and history of a type or the system.
    Search,
}

impl Permission {
    fn bit(self) -> u8 {
        match self {
            Permission::Create => 1,
            Permission::Read => 2,
            Permission::Update => 4,
            Permission::Delete => 8,
            Permission::Search => 16,
        }
    }

    /// The permission letter.
    pub fn letter(self) -> char {
        match self {
            Permission::Create => 'c',
            Permission::Read => 'r',
            Permission::Update => 'u',
            Permission::Delete => 'd',
            Permission::Search => 's',
        }
    }
}

/// A parsed resource scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// Its context.
    pub context: Context,
    /// The resource type, `None` for `*`.
    pub resource_type: Option<String>,
    /// Granted permissions (bits of [`Permission`]).
    permissions: u8,
    /// `?param=value` constraints, as given.
    pub constraints: Vec<(String, String)>,
}

impl Scope {
    /// Parses one scope; `None` for scopes that are not resource scopes or are malformed.
    pub fn parse(text: &str) -> Option<Scope> {
        let (context, rest) = text.split_once('/')?;
        let context = Context::parse(context)?;
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        let (rtype, perms) = rest.rsplit_once('.')?;
        let resource_type = match rtype {
            "*" => None,
            t if !t.is_empty() && t.chars().all(|c| c.is_ascii_alphanumeric()) => {
                Some(t.to_owned())
            }
            _ => return None,
        };
        let permissions = match perms {
            "read" => Permission::Read.bit() | Permission::Search.bit(),
            "write" => {
                Permission::Create.bit() | Permission::Update.bit() | Permission::Delete.bit()
            }
            "*" => 31,
            v2 => v2_permissions(v2)?,
        };
        let constraints = query
            .map(|q| {
                form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        if query.is_some() && constraints.is_empty() {
            return None;
        }
        Some(Scope {
            context,
            resource_type,
            permissions,
            constraints,
        })
    }

    /// Whether this scope, constraints aside, grants `permission` on `resource_type` in `context`.
    fn covers(&self, context: Context, resource_type: &str, permission: Permission) -> bool {
        self.context == context
            && self
                .resource_type
                .as_deref()
                .is_none_or(|t| t == resource_type)
            && self.permissions & permission.bit() != 0
    }
}

/// `cruds` letters, each at most once and in that order (SMART v2); `None` otherwise.
fn v2_permissions(letters: &str) -> Option<u8> {
    let mut bits = 0u8;
    let mut last = None;
    for ch in letters.chars() {
        let (i, bit) = match ch {
            'c' => (0, Permission::Create.bit()),
            'r' => (1, Permission::Read.bit()),
            'u' => (2, Permission::Update.bit()),
            'd' => (3, Permission::Delete.bit()),
            's' => (4, Permission::Search.bit()),
            _ => return None,
        };
        if last.is_some_and(|l| i <= l) {
            return None;
        }
        last = Some(i);
        bits |= bit;
    }
    (bits != 0).then_some(bits)
}

/// The resource scopes of a token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    scopes: Vec<Scope>,
}

impl Grants {
    /// From the token's scope strings (non-resource and malformed ones are dropped).
    pub fn new<S: AsRef<str>>(scopes: &[S]) -> Self {
        Grants {
            scopes: scopes
                .iter()
                .filter_map(|s| Scope::parse(s.as_ref()))
                .collect(),
        }
    }

    /// Whether a scope of `context` grants `permission` on `resource_type`, whatever its
    /// constraints (the gate applies them to what is served).
    pub fn allows(&self, context: Context, resource_type: &str, permission: Permission) -> bool {
        self.access(context, resource_type, permission) != ScopeAccess::Nothing
    }

    /// What the scopes grant of `permission` on `resource_type`.
    pub fn access(
        &self,
        context: Context,
        resource_type: &str,
        permission: Permission,
    ) -> ScopeAccess {
        let covering = self
            .scopes
            .iter()
            .filter(|s| s.covers(context, resource_type, permission));
        let mut sets = Vec::new();
        for s in covering {
            if s.constraints.is_empty() {
                return ScopeAccess::All;
            }
            sets.push(s.constraints.clone());
        }
        let readable = matches!(permission, Permission::Read | Permission::Search);
        if sets.is_empty() || !readable {
            ScopeAccess::Nothing
        } else {
            ScopeAccess::Matching(sets)
        }
    }

    /// Whether any scope carries constraints (such a caller's reads are always checked).
    pub fn constrained(&self) -> bool {
        self.scopes.iter().any(|s| !s.constraints.is_empty())
    }
}

/// What scopes grant of one permission on one type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeAccess {
    /// Nothing.
    Nothing,
    /// Every resource.
    All,
    /// Resources matching any one of these search-parameter sets.
    Matching(Vec<Vec<(String, String)>>),
}

#[cfg(test)]
mod tests {
    use super::*;
    use Permission::*;

    fn allows(scopes: &[&str], rtype: &str, i: Permission) -> bool {
        Grants::new(scopes).allows(Context::System, rtype, i)
    }

    #[test]
    fn v2_scopes_grant_their_letters_on_their_type() {
        let s = ["system/Patient.rs"];
        assert!(allows(&s, "Patient", Read));
        assert!(allows(&s, "Patient", Search));
        assert!(!allows(&s, "Patient", Create));
        assert!(!allows(&s, "CarePlan", Read));
        assert!(allows(&["system/*.cruds"], "CarePlan", Delete));
        assert!(allows(&["system/*.c"], "Task", Create));
    }

    #[test]
    fn v1_forms_map_to_v2() {
        assert!(allows(&["system/Patient.read"], "Patient", Search));
        assert!(!allows(&["system/Patient.read"], "Patient", Update));
        assert!(allows(&["system/*.write"], "CarePlan", Update));
        assert!(!allows(&["system/*.write"], "CarePlan", Read));
        assert!(allows(&["system/*.*"], "Consent", Delete));
    }

    #[test]
    fn another_context_grants_nothing() {
        let g = Grants::new(&["user/*.cruds", "patient/*.rs"]);
        assert!(!g.allows(Context::System, "Patient", Read));
        assert!(g.allows(Context::User, "Patient", Read));
        assert!(g.allows(Context::Patient, "Patient", Search));
        assert_eq!(Context::of(Role::Gp), Context::User);
        assert_eq!(Context::of(Role::System), Context::System);
    }

    #[test]
    fn malformed_and_non_resource_scopes_grant_nothing() {
        for s in [
            "openid",
            "fhirUser",
            "launch/patient",
            "system/Patient.rx",
            "system/Patient.sr",
            "system/Patient.rr",
            "system/Patient.",
            "system/.rs",
            "system/Pat-ient.rs",
            "robot/Patient.rs",
            "system/Patient.rs?",
        ] {
            assert!(!allows(&[s], "Patient", Read), "{s}");
        }
    }

    /// A constrained scope grants reads and searches of what matches it; an unconstrained one
    /// grants everything; constrained writes grant nothing.
    #[test]
    fn constrained_scopes_grant_only_matching_reads() {
        let lab = "system/CarePlan.crus?category=assess-plan";
        assert_eq!(
            Scope::parse(lab).map(|x| x.constraints),
            Some(vec![("category".to_owned(), "assess-plan".to_owned())])
        );
        let g = Grants::new(&[lab]);
        let set = vec![("category".to_owned(), "assess-plan".to_owned())];
        assert_eq!(
            g.access(Context::System, "CarePlan", Search),
            ScopeAccess::Matching(vec![set.clone()])
        );
        assert_eq!(
            g.access(Context::System, "CarePlan", Read),
            ScopeAccess::Matching(vec![set])
        );
        assert_eq!(
            g.access(Context::System, "CarePlan", Create),
            ScopeAccess::Nothing
        );
        assert_eq!(
            g.access(Context::System, "CarePlan", Update),
            ScopeAccess::Nothing
        );
        assert_eq!(
            g.access(Context::System, "Patient", Read),
            ScopeAccess::Nothing
        );
        assert!(g.constrained());
        let both = Grants::new(&[lab, "system/CarePlan.rs"]);
        assert_eq!(
            both.access(Context::System, "CarePlan", Read),
            ScopeAccess::All
        );
        assert!(!Grants::new(&["system/*.rs"]).constrained());
    }
}
