//! A patient's `Consent` as the engine reads it: only what decides sharing (status, scope, the
//! provision tree), parsed once from the stored JSON.
//!
//! What a provision can say (profile `sharing-consent`):
//! - `type`: `permit` or `deny`. A nested provision without a type takes its parent's.
//! - `actor`: who. `actor.role` coded in the sharing-role system names a carebridge role
//!   (`housing`, `gp`...); other role codes (v3 `PRCP`, `IRCP`) say nothing about the role.
//!   `actor.reference` to `Organization/<id>`, or with an ODS `identifier`, names an organisation; a
//!   reference with neither (display only) names none. No actor: anyone. An id that is not a FHIR
//!   id, or a code that is not an ODS code (accepted before those rules were checked), names an
//!   organisation nobody is ([`OrgRef::Unrecognised`]): no recipient ever had such an id or code
//!   (the gate reads neither), so the actor still matches nobody, and the Consent is still
//!   accepted and read as it was.
//! - `class`: resource types (the code is the type name).
//! - `securityLabel` and `code`: the data, as concern domains (domain system) or single concerns
//!   (concern system). A provision naming data matches only content of that data; content in no
//!   domain (a plan's description, a Patient) is never matched by it.
//! - `purpose`: v3-ActReason codes the recipient's purpose of use must be one of.
//! - `period`: when it applies.
//!
//! Nested provisions are exceptions to their parent: they are only looked at where the parent
//! matches, and the deepest matching one decides. A consent whose root provision does not match
//! says nothing. [`parse`] is strict (used to validate a Consent before it is stored); the engine
//! reads stored consents with [`ConsentRecord::from_stored`], which turns a consent it cannot read
//! into a deny-all, so that a damaged record never shares more.

use serde_json::Value;

use super::vocabulary::Vocabulary;
use crate::auth::Role;
use crate::fhir::ResourceType;
use crate::fhir::ids::OrganizationId;
use crate::fhir::ods::OdsCode;
use crate::search::date::parse_range;

/// The consent scope that governs sharing.
pub const PRIVACY_SCOPE: &str = "patient-privacy";

/// Permit or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Shares what the provision covers.
    Permit,
    /// Withholds what the provision covers.
    Deny,
}

/// Who a provision is about.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Actor {
    /// The sharing role, when the provision names one.
    pub role: Option<Role>,
    /// The organisation, when the provision names one.
    pub organization: Option<OrgRef>,
}

/// An organisation as a provision names it: by resource id or by ODS code, typed so that one is
/// never compared with the other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrgRef {
    /// `Organization/<id>`.
    Id(OrganizationId<'static>),
    /// An ODS code.
    Ods(OdsCode<'static>),
    /// An id or ODS code of the wrong form: an organisation no recipient is (module docs). Kept
    /// rather than refused so that a Consent accepted before is neither refused on a new write
    /// nor read as a deny-all.
    Unrecognised,
}

/// A time window, epoch milliseconds, half open; either end may be open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Window {
    /// Inclusive start.
    pub from: Option<i64>,
    /// Exclusive end.
    pub to: Option<i64>,
}

impl Window {
    /// Whether `now` falls inside.
    pub fn contains(&self, now: i64) -> bool {
        self.from.is_none_or(|f| now >= f) && self.to.is_none_or(|t| now < t)
    }
}

/// One provision and its exceptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provision {
    /// Permit or deny (inherited when the resource left it out).
    pub kind: Kind,
    /// When it applies.
    pub period: Window,
    /// Who (any of them); empty: anyone.
    pub actors: Vec<Actor>,
    /// Resource types; empty: all.
    pub classes: Vec<ResourceType>,
    /// Concern domains named; with `concerns` empty too: all content.
    pub domains: Vec<String>,
    /// Single concerns named.
    pub concerns: Vec<String>,
    /// Purposes of use; empty: any.
    pub purposes: Vec<String>,
    /// Exceptions, in order.
    pub nested: Vec<Provision>,
    /// FHIRPath of this provision in its Consent (`provision.provision[1]`), for explanations.
    pub path: String,
}

impl Provision {
    /// A provision of `kind` at `path` with no criteria: it covers everything, everyone, always.
    pub fn unconditional(kind: Kind, path: &str) -> Self {
        Provision {
            kind,
            period: Window::default(),
            actors: Vec::new(),
            classes: Vec::new(),
            domains: Vec::new(),
            concerns: Vec::new(),
            purposes: Vec::new(),
            nested: Vec::new(),
            path: path.to_owned(),
        }
    }

    /// The first instant after `now` at which this provision or one nested in it starts or stops
    /// applying.
    pub fn next_change(&self, now: i64) -> Option<i64> {
        let own = [self.period.from, self.period.to]
            .into_iter()
            .flatten()
            .filter(|t| *t > now);
        own.chain(self.nested.iter().filter_map(|n| n.next_change(now)))
            .min()
    }

    /// Whether the provision names data (domains or concerns).
    pub fn names_data(&self) -> bool {
        !self.domains.is_empty() || !self.concerns.is_empty()
    }
}

/// A Consent, reduced to what decides sharing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRecord {
    /// The Consent's id.
    pub id: String,
    /// `status` = active.
    pub active: bool,
    /// The provision tree.
    pub root: Provision,
}

/// Why a Consent cannot be used: the element at fault and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{expression}: {message}")]
pub struct ConsentError {
    /// FHIRPath of the element.
    pub expression: String,
    /// What is wrong, safe to show.
    pub message: String,
}

fn fault(expression: impl Into<String>, message: impl Into<String>) -> ConsentError {
    ConsentError {
        expression: expression.into(),
        message: message.into(),
    }
}

impl ConsentRecord {
    /// Reads a stored Consent for deciding. A consent that does not parse becomes a deny of
    /// everything to everyone: a damaged record must never share more than the person chose.
    /// Consents of another scope are `None` (they do not govern sharing).
    pub fn from_stored(id: &str, consent: &Value, vocab: &Vocabulary) -> Option<ConsentRecord> {
        if !has_privacy_scope(consent) {
            return None;
        }
        Some(parse(consent, vocab).unwrap_or_else(|e| {
            tracing::warn!(consent = id, error = %e, "unreadable Consent: treated as deny-all");
            ConsentRecord {
                id: id.to_owned(),
                active: consent.get("status").and_then(Value::as_str) == Some("active"),
                root: Provision::unconditional(Kind::Deny, "Consent"),
            }
        }))
    }
}

/// Whether a Consent is a sharing consent (scope `patient-privacy`), the kind the engine reads.
pub fn has_privacy_scope(consent: &Value) -> bool {
    codings(consent.get("scope")).any(|(_, code)| code == PRIVACY_SCOPE)
}

/// The `(system, code)` pairs of a CodeableConcept.
fn codings(cc: Option<&Value>) -> impl Iterator<Item = (&str, &str)> {
    cc.and_then(|c| c.get("coding"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| {
            Some((
                c.get("system").and_then(Value::as_str).unwrap_or(""),
                c.get("code").and_then(Value::as_str)?,
            ))
        })
}

/// The elements of array `key` of `v` (none when absent or not an array).
pub(super) fn array<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// Parses a Consent strictly: the checks a Consent must pass to be stored.
pub fn parse(consent: &Value, vocab: &Vocabulary) -> Result<ConsentRecord, ConsentError> {
    if !has_privacy_scope(consent) {
        return Err(fault(
            "Consent.scope",
            "a sharing consent has scope patient-privacy",
        ));
    }
    let patient = consent
        .get("patient")
        .and_then(|p| p.get("reference"))
        .and_then(Value::as_str);
    if !patient.is_some_and(|p| p.starts_with("Patient/")) {
        return Err(fault(
            "Consent.patient",
            "a sharing consent names its patient as Patient/<id>",
        ));
    }
    let Some(provision) = consent.get("provision") else {
        return Err(fault(
            "Consent.provision",
            "a sharing consent says what it permits or denies in a provision",
        ));
    };
    let root = provision_of(provision, None, "Consent.provision", vocab)?;
    Ok(ConsentRecord {
        id: consent
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        active: consent.get("status").and_then(Value::as_str) == Some("active"),
        root,
    })
}

fn provision_of(
    p: &Value,
    parent: Option<Kind>,
    path: &str,
    vocab: &Vocabulary,
) -> Result<Provision, ConsentError> {
    let kind = match (p.get("type").and_then(Value::as_str), parent) {
        (Some("permit"), _) => Kind::Permit,
        (Some("deny"), _) => Kind::Deny,
        (None, Some(k)) => k,
        (None, None) => {
            return Err(fault(
                format!("{path}.type"),
                "the top provision says permit or deny",
            ));
        }
        (Some(other), _) => {
            return Err(fault(
                format!("{path}.type"),
                format!(
                    "'{}' is neither permit nor deny",
                    other.chars().take(32).collect::<String>()
                ),
            ));
        }
    };
    let period = match p.get("period") {
        None => Window::default(),
        Some(period) => window(period, &format!("{path}.period"))?,
    };
    let mut actors = Vec::new();
    for (i, a) in array(p, "actor").iter().enumerate() {
        actors.push(actor(a, &format!("{path}.actor[{i}]"), vocab)?);
    }
    let mut classes = Vec::new();
    for (i, c) in array(p, "class").iter().enumerate() {
        let code = c.get("code").and_then(Value::as_str).unwrap_or_default();
        let t = code.parse::<ResourceType>().map_err(|_| {
            fault(
                format!("{path}.class[{i}]"),
                "a class is a resource type this gateway serves",
            )
        })?;
        classes.push(t);
    }
    let (mut domains, mut concerns) = (Vec::new(), Vec::new());
    let labels = array(p, "securityLabel").iter();
    let codes = array(p, "code")
        .iter()
        .flat_map(|cc| array(cc, "coding").iter());
    for (i, coding) in labels.chain(codes).enumerate() {
        let system = coding.get("system").and_then(Value::as_str).unwrap_or("");
        let code = coding.get("code").and_then(Value::as_str).unwrap_or("");
        if system == vocab.domain_system && vocab.is_domain(code) {
            domains.push(code.to_owned());
        } else if system == vocab.concern_system && vocab.domain_of_concern(code).is_some() {
            concerns.push(code.to_owned());
        } else if system == vocab.domain_system || system == vocab.concern_system {
            return Err(fault(
                format!("{path}.securityLabel"),
                format!(
                    "'{}' is not in the HNA catalogue",
                    code.chars().take(32).collect::<String>()
                ),
            ));
        } else {
            // Labels of other systems (confidentiality) do not narrow to HNA content: refusing
            // them keeps a provision from meaning less than its author thought.
            return Err(fault(
                format!("{path}.securityLabel[{i}]"),
                "data is named by HNA domain or concern (their code systems)",
            ));
        }
    }
    let purposes = array(p, "purpose")
        .iter()
        .filter_map(|c| c.get("code").and_then(Value::as_str))
        .map(str::to_owned)
        .collect();
    let mut nested = Vec::new();
    for (i, n) in array(p, "provision").iter().enumerate() {
        nested.push(provision_of(
            n,
            Some(kind),
            &format!("{path}.provision[{i}]"),
            vocab,
        )?);
    }
    Ok(Provision {
        kind,
        period,
        actors,
        classes,
        domains,
        concerns,
        purposes,
        nested,
        path: path.to_owned(),
    })
}

fn window(period: &Value, path: &str) -> Result<Window, ConsentError> {
    let bound = |key: &str| -> Result<Option<crate::search::date::Range>, ConsentError> {
        match period.get(key).and_then(Value::as_str) {
            None => Ok(None),
            Some(s) => parse_range(s)
                .map(Some)
                .ok_or_else(|| fault(format!("{path}.{key}"), "not a FHIR dateTime")),
        }
    };
    Ok(Window {
        from: bound("start")?.map(|r| r.lo),
        to: bound("end")?.map(|r| r.hi),
    })
}

fn actor(a: &Value, path: &str, vocab: &Vocabulary) -> Result<Actor, ConsentError> {
    let mut out = Actor::default();
    for (system, code) in codings(a.get("role")) {
        if system == vocab.role_system {
            let role: Role = code.parse().map_err(|()| {
                fault(
                    format!("{path}.role"),
                    format!(
                        "'{}' is not a sharing role",
                        code.chars().take(32).collect::<String>()
                    ),
                )
            })?;
            out.role = Some(role);
        }
    }
    if let Some(r) = a.get("reference") {
        if let Some(reference) = r.get("reference").and_then(Value::as_str) {
            let id = reference
                .strip_prefix("Organization/")
                .filter(|id| !id.is_empty() && !id.contains('/'))
                .ok_or_else(|| {
                    fault(
                        format!("{path}.reference"),
                        "an actor is an organisation (Organization/<id>); sharing is decided per organisation",
                    )
                })?;
            out.organization = Some(
                OrganizationId::parse(id)
                    .map_or(OrgRef::Unrecognised, |id| OrgRef::Id(id.into_owned())),
            );
        } else if let Some(ident) = r.get("identifier") {
            let system = ident.get("system").and_then(Value::as_str);
            let value = ident.get("value").and_then(Value::as_str);
            match (system, value) {
                (Some(crate::fhir::ods::SYSTEM), Some(v)) if !v.is_empty() => {
                    out.organization = Some(
                        OdsCode::parse(v)
                            .map_or(OrgRef::Unrecognised, |c| OrgRef::Ods(c.into_owned())),
                    );
                }
                _ => {
                    return Err(fault(
                        format!("{path}.reference.identifier"),
                        "an actor identifier is an ODS organisation code",
                    ));
                }
            }
        }
    }
    if out.role.is_none() && out.organization.is_none() {
        return Err(fault(
            path.to_owned(),
            "an actor names a sharing role (role), an organisation (reference), or both",
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
