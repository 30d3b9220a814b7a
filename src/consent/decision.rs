//! The decision for a whole resource: permit it as stored, permit it with parts withheld
//! (redacted), or deny it (it is invisible). Pure: the caller supplies the patient's facts.
//!
//! Which parts a resource has:
//! - an HNA (`QuestionnaireResponse`): each item inside a domain group is a part; a catalogue
//!   concern is in its catalogue domain, whichever group it was put in, any other item in its
//!   group's domain; every item outside the groups (Distress Thermometer, what matters most,
//!   pathway...) is content in no domain;
//! - a care plan: each activity is a part of the concerns coded in `detail.reasonCode`, each in its
//!   catalogue domain ([`crate::hna::domain`]: the domain extension is the writer's claim and is
//!   read only for an activity with no coded concern); the plan's own text (description, notes,
//!   narrative) is in no domain;
//! - a referral (`ServiceRequest`): each `reasonCode` is a part, of the concerns it codes; the
//!   rest of the referral is content in no domain; its Task is decided as its referral is
//!   ([`decide_task`]), whole;
//! - anything else: one part in no domain.
//!
//! A part naming several concerns is shown only when every one of them may be: the verdict is the
//! first refusal among them, or else the first permit.
//!
//! A redacted resource keeps only what was permitted: withheld items and activities are removed,
//! the narrative (`text`) and `contained` always go (they may repeat what was withheld), a plan or
//! HNA whose domain-free content is withheld keeps only its structural elements, and `meta.security`
//! gains `REDACTED` so nobody mistakes it for the whole.

use serde_json::{Map, Value, json};

use super::policy::Policy;
use super::record::array;
use super::verdict::{Content, Facts, Recipient, Rule, Verdict, verdict};
use super::vocabulary::Vocabulary;
use crate::auth::Role;
use crate::fhir::ResourceType;
use crate::fhir::ids::{OrganizationId, PatientId};
use crate::hna::domain::{CodedConcern, coded_concerns, stated_domains};

/// What the recipient gets.
#[derive(Debug, Clone, PartialEq)]
pub enum Access {
    /// The resource as stored.
    Permit,
    /// The resource with parts withheld.
    Redacted(Value),
    /// Nothing: the resource is invisible.
    Deny,
}

/// A part withheld from a redacted (or denied) resource, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Withheld {
    /// FHIRPath of the part in the stored resource.
    pub element: String,
    /// The rule that withheld it.
    pub rule: Rule,
}

/// The decision on one resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// What the recipient gets.
    pub access: Access,
    /// The rule that decided: what permitted the content shown, or what denied the resource.
    pub rule: Rule,
    /// Parts withheld, and why.
    pub withheld: Vec<Withheld>,
}

impl Decision {
    /// The whole resource permitted or denied by `rule`.
    pub fn whole(permit: bool, rule: Rule) -> Self {
        Decision {
            access: if permit { Access::Permit } else { Access::Deny },
            rule,
            withheld: Vec::new(),
        }
    }

    /// Whether the resource is visible at all.
    pub fn visible(&self) -> bool {
        !matches!(self.access, Access::Deny)
    }

    /// Whether the glass was broken for it.
    pub fn break_glass(&self) -> bool {
        self.rule == Rule::BreakGlass
    }
}

/// The search parameter that ties each patient-data type to its patient (`None` for directory
/// types, and for types no sharing role may search through a patient).
pub fn patient_param(rtype: ResourceType) -> Option<&'static str> {
    use ResourceType::*;
    match rtype {
        Patient => Some("_id"),
        CareTeam
        | QuestionnaireResponse
        | CarePlan
        | Goal
        | Condition
        | ServiceRequest
        | Task
        | Consent
        | Provenance
        | AuditEvent => Some("patient"),
        _ => None,
    }
}

/// The id of the patient a resource belongs to: the Patient itself, or the `Patient/<id>` its
/// subject (`for`, `patient`, Provenance `target`) names. Borrowed from `resource`: the gate asks
/// this of every resource it decides. An id that is not a FHIR id names no patient (stored
/// resources' ids and references are checked when written, so none is expected): patient data
/// with no patient is shown to no sharing role ([`Rule::NoPatient`]), which fails closed.
pub fn patient_of(rtype: ResourceType, resource: &Value) -> Option<PatientId<'_>> {
    use ResourceType::*;
    let reference = |key: &str| {
        resource
            .get(key)
            .and_then(|r| r.get("reference"))
            .and_then(Value::as_str)
            .and_then(PatientId::from_reference)
    };
    match rtype {
        Patient => resource
            .get("id")
            .and_then(Value::as_str)
            .and_then(|id| PatientId::parse(id).ok()),
        CareTeam | QuestionnaireResponse | CarePlan | Goal | Condition | ServiceRequest => {
            reference("subject")
        }
        Task => reference("for"),
        Consent => reference("patient"),
        Provenance => {
            let targets = resource.get("target").and_then(Value::as_array)?;
            let mut ids = targets
                .iter()
                .filter_map(|t| t.get("reference").and_then(Value::as_str))
                .filter(|s| s.starts_with("Patient/"));
            // A Provenance about several patients belongs to none of them alone.
            match (ids.next(), ids.next()) {
                (Some(one), None) => PatientId::from_reference(one),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Everything the engine decides with, for one patient.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// Who asks.
    pub recipient: &'a Recipient<'a>,
    /// The patient's relationships and consents.
    pub facts: Facts<'a>,
    /// The deployment policy.
    pub policy: &'a Policy,
    /// The deployment's codes.
    pub vocab: &'a Vocabulary,
    /// Now, epoch milliseconds.
    pub now: i64,
}

/// The decision on `resource` (of type `rtype`) for a sharing role, given the patient's facts.
/// A party to a referral (its sender or its receiver) counts as related to it, and to its Task,
/// for as long as they exist, whatever became of its other relationships with the patient: the
/// receiver of a rejected referral still sees the referral and its own answer, and nothing else.
/// A Task is decided by [`decide_task`].
pub fn decide(ctx: &Context<'_>, rtype: ResourceType, resource: &Value) -> Decision {
    let party = is_party(rtype, resource, ctx.recipient);
    let ctx = &Context {
        facts: Facts {
            related: ctx.facts.related || party,
            ..ctx.facts
        },
        ..*ctx
    };
    let plan_shared = (ctx.recipient.role == Role::Gp && rtype == ResourceType::CarePlan)
        .then(|| shared_with(resource, ctx.vocab, "gp"))
        .flatten();
    let judge = |domain: Option<&str>, concern: Option<&str>| -> Verdict {
        let content = Content {
            class: rtype,
            domain,
            concern,
        };
        verdict(
            ctx.recipient,
            content,
            ctx.facts,
            ctx.policy,
            plan_shared,
            ctx.now,
        )
    };
    let base = judge(None, None);
    if matches!(base.rule, Rule::NoRelationship | Rule::BreakGlass) {
        return Decision::whole(base.permit, base.rule);
    }
    let addressed_only = ctx.recipient.role.addressed_only();
    if addressed_only && !matches!(rtype, ResourceType::CarePlan | ResourceType::ServiceRequest) {
        return Decision::whole(false, Rule::OutsideRemit);
    }
    match rtype {
        ResourceType::QuestionnaireResponse => redact_hna(resource, base, ctx.vocab, judge),
        ResourceType::CarePlan => {
            let ours = |a: &Value| !addressed_only || performed_by(a, ctx.recipient);
            redact_plan(resource, base, ctx.vocab, ours, judge)
        }
        ResourceType::ServiceRequest => {
            if addressed_only && !addressed_to(resource, ctx.recipient) {
                return Decision::whole(false, Rule::OutsideRemit);
            }
            redact_referral(resource, base, ctx.vocab, judge)
        }
        _ => Decision::whole(base.permit, base.rule),
    }
}

/// The decision on a referral's fulfilment Task, given its referral (`None` when the Task's
/// focus is not a referral held here). A Task is the referral's workflow record: whoever may see
/// the referral (even redacted) sees its Task whole, and nobody else does. A Task without its
/// referral is one part in no domain, outside the remit of housing and social care.
pub fn decide_task(ctx: &Context<'_>, task: &Value, referral: Option<&Value>) -> Decision {
    match referral {
        Some(sr) => {
            let d = decide(ctx, ResourceType::ServiceRequest, sr);
            Decision::whole(d.visible(), d.rule)
        }
        None => decide(ctx, ResourceType::Task, task),
    }
}

/// Whether the recipient's organisation sent or receives this referral or Task.
fn is_party(rtype: ResourceType, resource: &Value, recipient: &Recipient<'_>) -> bool {
    let receiver = match rtype {
        ResourceType::ServiceRequest => "performer",
        ResourceType::Task => "owner",
        _ => return false,
    };
    references_ours(resource.get(receiver), recipient)
        || references_ours(resource.get("requester"), recipient)
}

/// Elements of an HNA kept when its domain-free content is withheld.
const HNA_FRAME: &[&str] = &[
    "resourceType",
    "id",
    "meta",
    "identifier",
    "questionnaire",
    "status",
    "subject",
    "authored",
    "author",
    "item",
];

/// Elements of a care plan kept when its domain-free content is withheld.
const PLAN_FRAME: &[&str] = &[
    "resourceType",
    "id",
    "meta",
    "identifier",
    "status",
    "intent",
    "category",
    "subject",
    "period",
    "created",
    "author",
    "activity",
];

/// Elements of a referral kept when its domain-free content is withheld.
const REFERRAL_FRAME: &[&str] = &[
    "resourceType",
    "id",
    "meta",
    "identifier",
    "status",
    "intent",
    "category",
    "priority",
    "code",
    "subject",
    "authoredOn",
    "requester",
    "performer",
    "reasonCode",
];

/// Collects withheld parts and the first permit, then finishes the resource.
struct Redaction {
    base: Verdict,
    shown_by: Option<Rule>,
    withheld: Vec<Withheld>,
}

impl Redaction {
    fn new(base: Verdict) -> Self {
        let shown_by = base.permit.then(|| base.rule.clone());
        Redaction {
            base,
            shown_by,
            withheld: Vec::new(),
        }
    }

    /// Records the verdict on one part; true when it is kept.
    fn keep(&mut self, element: String, v: Verdict) -> bool {
        if v.permit {
            if self.shown_by.is_none() {
                self.shown_by = Some(v.rule);
            }
            true
        } else {
            self.withheld.push(Withheld {
                element,
                rule: v.rule,
            });
            false
        }
    }

    /// Nothing withheld: the resource as stored.
    fn permit(self) -> Decision {
        Decision {
            access: Access::Permit,
            rule: self.shown_by.unwrap_or(self.base.rule),
            withheld: Vec::new(),
        }
    }

    fn finish(self, mut resource: Map<String, Value>, frame: &[&str], parts: &str) -> Decision {
        let Some(rule) = self.shown_by else {
            return Decision {
                access: Access::Deny,
                rule: self.base.rule,
                withheld: self.withheld,
            };
        };
        let mut withheld = self.withheld;
        if !self.base.permit {
            resource.retain(|k, _| frame.contains(&k.as_str()));
            withheld.push(Withheld {
                element: "content in no domain".into(),
                rule: self.base.rule,
            });
        }
        if withheld.is_empty() {
            return Decision {
                access: Access::Permit,
                rule,
                withheld,
            };
        }
        if resource
            .get(parts)
            .and_then(Value::as_array)
            .is_some_and(Vec::is_empty)
        {
            resource.remove(parts);
        }
        resource.remove("text");
        resource.remove("contained");
        mark_redacted(&mut resource);
        Decision {
            access: Access::Redacted(Value::Object(resource)),
            rule,
            withheld,
        }
    }
}

fn redact_hna(
    resource: &Value,
    base: Verdict,
    vocab: &Vocabulary,
    judge: impl Fn(Option<&str>, Option<&str>) -> Verdict,
) -> Decision {
    let items = array(resource, "item");
    // Decide first, on borrowed data: a permitted response is served as stored, never copied.
    let mut r = Redaction::new(base.clone());
    let mut keep: Vec<Vec<bool>> = Vec::with_capacity(items.len());
    for (g, item) in items.iter().enumerate() {
        let domain = link_id(item).filter(|d| vocab.is_domain(d));
        let Some(domain) = domain else {
            keep.push(vec![
                r.keep(format!("QuestionnaireResponse.item[{g}]"), base.clone()),
            ]);
            continue;
        };
        let children = array(item, "item");
        keep.push(
            children
                .iter()
                .enumerate()
                .map(|(i, child)| {
                    // A catalogue concern is in its own domain, whichever group holds it.
                    let coded = link_id(child).and_then(|c| Some((vocab.domain_of_concern(c)?, c)));
                    let (domain, concern) = match coded {
                        Some((d, c)) => (d, Some(c)),
                        None => (domain, None),
                    };
                    let path = format!("QuestionnaireResponse.item[{g}].item[{i}]");
                    r.keep(path, judge(Some(domain), concern))
                })
                .collect(),
        );
    }
    if r.withheld.is_empty() && base.permit {
        return r.permit();
    }
    let Value::Object(mut out) = resource.clone() else {
        return Decision::whole(false, Rule::NoPatient);
    };
    if let Some(Value::Array(items)) = out.get_mut("item") {
        let mut kept = Vec::new();
        for (mut item, flags) in std::mem::take(items).into_iter().zip(keep) {
            let group = link_id(&item).is_some_and(|d| vocab.is_domain(d));
            if !group {
                if flags.first().copied().unwrap_or(false) {
                    kept.push(item);
                }
                continue;
            }
            let children = match item.get_mut("item") {
                Some(Value::Array(children)) => std::mem::take(children),
                _ => Vec::new(),
            };
            let left: Vec<Value> = children
                .into_iter()
                .zip(flags)
                .filter_map(|(c, k)| k.then_some(c))
                .collect();
            if !left.is_empty() {
                item["item"] = Value::Array(left);
                kept.push(item);
            }
        }
        *items = kept;
    }
    r.finish(out, HNA_FRAME, "item")
}

fn redact_plan(
    resource: &Value,
    base: Verdict,
    vocab: &Vocabulary,
    ours: impl Fn(&Value) -> bool,
    judge: impl Fn(Option<&str>, Option<&str>) -> Verdict,
) -> Decision {
    let activities = array(resource, "activity");
    let mut r = Redaction::new(base.clone());
    let mut keep = Vec::with_capacity(activities.len());
    for (i, a) in activities.iter().enumerate() {
        let path = format!("CarePlan.activity[{i}]");
        if !ours(a) {
            r.withheld.push(Withheld {
                element: path,
                rule: Rule::OutsideRemit,
            });
            keep.push(false);
            continue;
        }
        let detail = a.get("detail").unwrap_or(&Value::Null);
        let concerns = coded_concerns(detail.get("reasonCode"), &vocab.concern_system);
        // The extension speaks only for an activity with no coded concern.
        let stated = || {
            stated_domains(detail, &vocab.domain_extension)
                .filter_map(|(_, d)| d)
                .find(|d| vocab.is_domain(d))
        };
        let v = judge_concerns(&concerns, &judge).unwrap_or_else(|| judge(stated(), None));
        keep.push(r.keep(path, v));
    }
    if r.withheld.is_empty() && base.permit {
        return r.permit();
    }
    let Value::Object(mut out) = resource.clone() else {
        return Decision::whole(false, Rule::NoPatient);
    };
    if let Some(Value::Array(list)) = out.get_mut("activity") {
        *list = std::mem::take(list)
            .into_iter()
            .zip(keep)
            .filter_map(|(a, k)| k.then_some(a))
            .collect();
    }
    r.finish(out, PLAN_FRAME, "activity")
}

/// A referral's parts are its reasons (`reasonCode`), each judged by the concerns it codes; a
/// reason coding no concern, like the rest of the referral, is content in no domain.
fn redact_referral(
    resource: &Value,
    base: Verdict,
    vocab: &Vocabulary,
    judge: impl Fn(Option<&str>, Option<&str>) -> Verdict,
) -> Decision {
    let reasons = array(resource, "reasonCode");
    let mut r = Redaction::new(base.clone());
    let mut keep = Vec::with_capacity(reasons.len());
    for (i, reason) in reasons.iter().enumerate() {
        let one = Value::Array(vec![reason.clone()]);
        let concerns = coded_concerns(Some(&one), &vocab.concern_system);
        let v = judge_concerns(&concerns, &judge).unwrap_or_else(|| base.clone());
        keep.push(r.keep(format!("ServiceRequest.reasonCode[{i}]"), v));
    }
    if r.withheld.is_empty() && base.permit {
        return r.permit();
    }
    let Value::Object(mut out) = resource.clone() else {
        return Decision::whole(false, Rule::NoPatient);
    };
    if let Some(Value::Array(list)) = out.get_mut("reasonCode") {
        *list = std::mem::take(list)
            .into_iter()
            .zip(keep)
            .filter_map(|(a, k)| k.then_some(a))
            .collect();
    }
    r.finish(out, REFERRAL_FRAME, "reasonCode")
}

fn link_id(item: &Value) -> Option<&str> {
    item.get("linkId").and_then(Value::as_str)
}

/// The verdict on a part naming `concerns`, each judged in its catalogue domain: the first refusal,
/// or else the first permit; `None` when it names none.
fn judge_concerns(
    concerns: &[CodedConcern<'_>],
    judge: &impl Fn(Option<&str>, Option<&str>) -> Verdict,
) -> Option<Verdict> {
    let mut shown = None;
    for k in concerns {
        let v = judge(Some(k.domain), Some(k.code));
        if !v.permit {
            return Some(v);
        }
        shown.get_or_insert(v);
    }
    shown
}

fn references_ours(refs: Option<&Value>, recipient: &Recipient<'_>) -> bool {
    let one = |r: &Value| {
        r.get("reference")
            .and_then(Value::as_str)
            .and_then(OrganizationId::from_reference)
            .is_some_and(|id| recipient.is_organization(&id))
    };
    match refs {
        Some(Value::Array(list)) => list.iter().any(one),
        Some(r) => one(r),
        None => false,
    }
}

/// Whether a care-plan activity is performed by the recipient's organisation.
fn performed_by(activity: &Value, recipient: &Recipient<'_>) -> bool {
    references_ours(
        activity.get("detail").and_then(|d| d.get("performer")),
        recipient,
    )
}

/// Whether a referral is addressed to the recipient's organisation.
fn addressed_to(request: &Value, recipient: &Recipient<'_>) -> bool {
    references_ours(request.get("performer"), recipient)
}

/// The plan's record of sharing with recipient kind `kind`: `None` when it records none.
fn shared_with(plan: &Value, vocab: &Vocabulary, kind: &str) -> Option<bool> {
    let codes: Vec<&str> = plan
        .get("extension")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|e| e.get("url").and_then(Value::as_str) == Some(&vocab.shared_with_extension))
        .filter_map(|e| e.get("valueCode").and_then(Value::as_str))
        .collect();
    let pcsp = plan
        .get("meta")
        .and_then(|m| m.get("profile"))
        .and_then(Value::as_array)
        .is_some_and(|p| {
            p.iter()
                .filter_map(Value::as_str)
                .any(|u| u == vocab.pcsp_profile)
        });
    if codes.is_empty() && !pcsp {
        return None;
    }
    Some(codes.contains(&kind))
}

/// Adds `REDACTED` to `meta.security`.
fn mark_redacted(resource: &mut Map<String, Value>) {
    let label = json!({
        "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
        "code": "REDACTED",
        "display": "redacted"
    });
    let meta = resource
        .entry("meta")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(meta) = meta {
        match meta.get_mut("security") {
            Some(Value::Array(labels)) => labels.push(label),
            _ => {
                meta.insert("security".into(), Value::Array(vec![label]));
            }
        }
    }
}
