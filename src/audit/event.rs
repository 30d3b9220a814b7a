//! One IHE BALP-shaped `AuditEvent` per interaction (docs/design.md section 5), built from what the
//! request was, who made it and what the access gate disclosed. Pure: the middleware gathers the
//! facts, this shapes them, so every interaction type is tested here without a server.
//!
//! The event never carries clinical content: resources appear as references (with their version),
//! the patient as a reference, and a search's query with the values of every parameter replaced
//! by `*` except those that are identifiers needed to name the patient or resource (`_id`,
//! `patient`, `subject`, `identifier`); so `name=Smith` is recorded as `name=*`.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::auth::Principal;
use crate::fhir::instant::format_instant;
use crate::store::AuditKeys;

/// The REST interaction (BALP `subtype`) and its action code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    /// `http://hl7.org/fhir/restful-interaction` code.
    pub subtype: &'static str,
    /// `C`, `R`, `U`, `D` or `E`.
    pub action: &'static str,
}

/// The kind of a restful-interaction `code` as the gateway's parse names it
/// ([`crate::interaction::Interaction::code`]); `None` for a code it never records.
pub fn kind_of_code(code: &str) -> Option<Kind> {
    crate::store::audit_sql::SUBTYPES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(subtype, action)| Kind { subtype, action })
}

/// The interaction of a record written before the parse was recorded (or of a request that
/// could not be parsed), read off its method and path below the FHIR base.
pub fn kind(method: &str, path: &str) -> Kind {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let k = |subtype, action| Kind { subtype, action };
    match (method, parts.as_slice()) {
        (_, [""]) if method == "POST" => k("transaction", "E"),
        (_, ["metadata"]) => k("capabilities", "R"),
        (_, [op, ..]) if op.starts_with('$') => k("operation", "E"),
        (_, [_, op]) | (_, [_, _, op]) if op.starts_with('$') => k("operation", "E"),
        ("GET", ["_history"]) => k("history-system", "R"),
        ("GET", [_, "_history"]) => k("history-type", "R"),
        ("GET", [_, _, "_history"]) => k("history-instance", "R"),
        ("GET", [_, _, "_history", _]) => k("vread", "R"),
        ("GET", [_]) | ("POST", [_, "_search"]) => k("search-type", "E"),
        ("GET", [_, _]) => k("read", "R"),
        ("POST", [_]) => k("create", "C"),
        ("PUT", _) => k("update", "U"),
        ("DELETE", _) => k("delete", "D"),
        _ => k("operation", "E"),
    }
}

/// A resource the response disclosed (or a write made).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disclosed {
    /// `Type/id/_history/version`.
    #[serde(rename = "ref")]
    pub reference: String,
    /// Whether parts of it were withheld.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub redacted: bool,
    /// Its patient, where the decision needed one (the patient access report keeps only a
    /// patient's own resources).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patient: Option<String>,
}

/// The caller, as the audit keeps it: who, in which role, for which organisation and purpose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agent {
    /// Token subject.
    pub sub: String,
    /// `fhirUser`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Sharing role code.
    pub role: String,
    /// ODS organisation code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    /// Purpose of use (v3-ActReason).
    pub purpose: String,
}

impl Agent {
    /// The agent of a verified caller.
    pub fn of(p: &Principal) -> Agent {
        Agent {
            sub: p.subject.clone(),
            user: p.fhir_user.clone(),
            role: p.role.code().to_owned(),
            org: p.organization.clone(),
            purpose: p.purpose.clone(),
        }
    }
}

/// What the audit stores of one interaction: the facts, compactly (a few hundred bytes), from
/// which [`build`] renders the AuditEvent. The stored text is this record's JSON, so the chain
/// covers exactly what was recorded, and the event's rendering can improve without touching it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// When, epoch milliseconds.
    #[serde(rename = "t")]
    pub recorded: i64,
    /// HTTP method.
    pub method: String,
    /// Path below the FHIR base (`/CarePlan/1`).
    pub path: String,
    /// The query string, already [`sanitised_query`].
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub query: String,
    /// The response status.
    pub status: u16,
    /// The caller, when the token was valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<Agent>,
    /// The patients whose records were touched.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patients: Vec<String>,
    /// The resources disclosed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disclosed: Vec<Disclosed>,
    /// The Consents that decided.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consents: Vec<String>,
    /// The reason given for breaking the glass, when the glass was broken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub break_glass: Option<String>,
    /// The interaction as the request was parsed (its restful-interaction code); absent for a
    /// request that could not be parsed, and in records of earlier versions, whose kind is read
    /// off method and path.
    #[serde(rename = "i", default, skip_serializing_if = "Option::is_none")]
    pub interaction: Option<String>,
    /// What the request asked for (`Type/id`, `Type` or a system operation), served or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Resources asked for and not shown (hidden, out of scope, deleted unseen), with their
    /// patients: what information governance looks for. Never told to the caller.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attempted: Vec<Disclosed>,
    /// The request's trace id (W3C, 32 hex digits), when traces are on: joins the event to its
    /// trace ([`crate::telemetry`]).
    #[serde(rename = "tr", default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
}

impl Record {
    /// The stored text.
    pub fn to_text(&self) -> String {
        // A struct of strings, numbers and vectors always serialises.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads stored text back.
    pub fn from_text(text: &str) -> Option<Record> {
        serde_json::from_str(text).ok()
    }

    /// What auditors search this event by.
    pub fn keys(&self) -> AuditKeys {
        let kind = self.kind();
        let agent = self.agent.as_ref();
        let text =
            |f: fn(&Agent) -> Option<&String>| agent.and_then(f).cloned().unwrap_or_default();
        let entities = self.entities();
        AuditKeys {
            subtype: kind.subtype.to_owned(),
            action: kind.action.to_owned(),
            outcome: outcome(self.status).to_owned(),
            agent: text(|a| Some(&a.sub)),
            user: text(|a| a.user.as_ref()),
            org: text(|a| a.org.as_ref()),
            role: text(|a| Some(&a.role)),
            purpose: text(|a| Some(&a.purpose)),
            patients: self.patients.clone(),
            entities,
        }
    }

    /// The resources the event is about (`Type/id`), sorted, without repeats: those disclosed or
    /// written, those asked for and withheld, and the one the request named. Auditors find
    /// events by these.
    pub fn entities(&self) -> Vec<String> {
        let mut entities: Vec<String> = self
            .disclosed
            .iter()
            .chain(&self.attempted)
            .map(|d| unversioned(&d.reference).to_owned())
            .chain(self.target_instance().map(str::to_owned))
            .collect();
        entities.sort();
        entities.dedup();
        entities
    }

    /// The interaction and action of this event.
    pub fn kind(&self) -> Kind {
        self.interaction
            .as_deref()
            .and_then(kind_of_code)
            .unwrap_or_else(|| kind(&self.method, &self.path))
    }

    /// The one resource the request named (`Type/id`), if it named one.
    pub fn target_instance(&self) -> Option<&str> {
        self.target
            .as_deref()
            .filter(|t| crate::fhir::id::parse_relative(t).is_some())
    }

    /// What a patient may see of this event: their own resources only, the organisation, role and
    /// purpose of the caller but not the individual's identity, and no query or consent lists
    /// (they may name other people).
    pub fn for_patient(&self, patient: &str) -> Record {
        let own = format!("Patient/{patient}/");
        let theirs =
            |d: &&Disclosed| d.patient.as_deref() == Some(patient) || d.reference.starts_with(&own);
        // A named instance is theirs when the event concerns them alone; a type names no one.
        let target = match self.target_instance() {
            Some(_) if self.patients.iter().all(|p| p == patient) => self.target.clone(),
            Some(_) => None,
            None => self.target.clone(),
        };
        Record {
            recorded: self.recorded,
            method: self.method.clone(),
            path: String::new(),
            query: String::new(),
            status: self.status,
            agent: self.agent.as_ref().map(|a| Agent {
                sub: String::new(),
                user: None,
                role: a.role.clone(),
                org: a.org.clone(),
                purpose: a.purpose.clone(),
            }),
            patients: vec![patient.to_owned()],
            disclosed: self.disclosed.iter().filter(theirs).cloned().collect(),
            consents: Vec::new(),
            break_glass: self.break_glass.clone(),
            interaction: self.interaction.clone(),
            target,
            attempted: self.attempted.iter().filter(theirs).cloned().collect(),
            // Operational detail, not the patient's business.
            trace: None,
        }
    }
}

/// `Type/id` of `Type/id/_history/v`.
fn unversioned(reference: &str) -> &str {
    reference
        .split_once("/_history/")
        .map_or(reference, |(r, _)| r)
}

/// BALP outcome code of an HTTP status.
fn outcome(status: u16) -> &'static str {
    match status {
        0..=399 => "0",
        400..=499 => "4",
        _ => "8",
    }
}

/// Where an event was recorded: rendering context that is the same for every event of a
/// deployment, so it is not stored with each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source<'a> {
    /// The chain (the gateway process) that recorded it.
    pub chain: &'a str,
    /// The gateway's public base URL.
    pub base_url: &'a str,
    /// The deployment's canonical base (code systems of roles and identifiers).
    pub canonical: &'a str,
}

/// Parameters whose values name a patient or resource and are kept in the recorded query.
const KEPT_VALUES: &[&str] = &["_id", "patient", "subject", "identifier", "_count", "_sort"];

/// The query with every value but identifiers replaced by `*`.
pub fn sanitised_query(query: &str) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        let base = k.split([':', '.']).next().unwrap_or("");
        if KEPT_VALUES.contains(&base) && !k.contains('.') {
            out.append_pair(&k, &v);
        } else {
            out.append_pair(&k, "*");
        }
    }
    out.finish()
}

fn coding(system: &str, code: &str) -> Value {
    json!({"system": system, "code": code})
}

/// The AuditEvent of `r`, recorded at `source`; `id` is its place in the log.
pub fn build(r: &Record, source: &Source<'_>, id: Option<&str>) -> Value {
    let kind = r.kind();
    let canonical = source.canonical;
    let mut agent = json!({
        "type": {"coding": [coding("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "IRCP")]},
        "requestor": true,
    });
    match &r.agent {
        Some(a) => {
            let mut who = json!({});
            if !a.sub.is_empty() {
                who["identifier"] =
                    json!({"system": format!("{canonical}/Id/token-subject"), "value": a.sub});
            }
            if let Some(user) = &a.user {
                who["reference"] = json!(user);
            }
            if who.as_object().is_some_and(serde_json::Map::is_empty) {
                who["display"] = json!("a member of staff");
            }
            agent["who"] = who;
            let mut roles = vec![
                json!({"coding": [coding(&format!("{canonical}/CodeSystem/sharing-role"), &a.role)]}),
            ];
            if let Some(org) = &a.org {
                roles.push(json!({"coding": [coding(crate::fhir::ods::SYSTEM, org)]}));
            }
            agent["role"] = Value::Array(roles);
            agent["purposeOfUse"] = json!([{"coding": [coding("http://terminology.hl7.org/CodeSystem/v3-ActReason", &a.purpose)]}]);
        }
        None => {
            agent["who"] = json!({"display": "unauthenticated caller"});
        }
    }
    let mut entities: Vec<Value> = Vec::new();
    for p in &r.patients {
        entities.push(json!({
            "what": {"reference": format!("Patient/{p}")},
            "type": coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "1"),
            "role": coding("http://terminology.hl7.org/CodeSystem/object-role", "1"),
        }));
    }
    for d in &r.disclosed {
        let mut e = json!({
            "what": {"reference": d.reference},
            "type": coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "2"),
            "role": coding("http://terminology.hl7.org/CodeSystem/object-role", "4"),
        });
        if d.redacted {
            e["securityLabel"] = json!([coding(
                "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
                "REDACTED"
            )]);
        }
        entities.push(e);
    }
    // What was asked for and not shown: the requested instance, and what the gate withheld.
    let shown = |reference: &str| {
        r.disclosed
            .iter()
            .any(|d| unversioned(&d.reference) == unversioned(reference))
    };
    let mut requested: Vec<&str> = Vec::new();
    for a in &r.attempted {
        if !shown(&a.reference) && !requested.contains(&unversioned(&a.reference)) {
            requested.push(&a.reference);
        }
    }
    if let Some(t) = r.target_instance()
        && !shown(t)
        && !requested.iter().any(|a| unversioned(a) == t)
    {
        requested.push(t);
    }
    for reference in requested {
        entities.push(json!({
            "what": {"reference": reference},
            "type": coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "2"),
            "role": coding("http://terminology.hl7.org/CodeSystem/object-role", "4"),
            "description": "requested; not disclosed",
        }));
    }
    // A search's query, and what an operation was (`$export`, an export file `_export/<job>/1`):
    // the path and the sanitised parameters.
    let asked = r.path.trim_start_matches('/');
    if matches!(kind.subtype, "search-type" | "operation") && !asked.is_empty() {
        use base64::Engine as _;
        let mut e = json!({
            "type": coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "2"),
            "role": coding("http://terminology.hl7.org/CodeSystem/object-role", "24"),
            "description": asked,
        });
        // Sanitised when recorded; again here, so that no stored text can put a value in an event.
        let q = sanitised_query(&r.query);
        if !q.is_empty() {
            e["query"] = json!(base64::engine::general_purpose::STANDARD.encode(q.as_bytes()));
        }
        entities.push(e);
    }
    for c in &r.consents {
        entities.push(json!({
            "what": {"reference": format!("Consent/{c}")},
            "type": coding("http://hl7.org/fhir/resource-types", "Consent"),
            "description": "the Consent that decided this access",
        }));
    }
    if let Some(reason) = &r.break_glass {
        entities.push(json!({
            "type": coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "4"),
            "description": "break the glass",
            "detail": [{"type": "reason", "valueString": reason}],
        }));
    }
    let mut event = json!({"resourceType": "AuditEvent"});
    if let Some(id) = id {
        event["id"] = json!(id);
    }
    let fields = json!({
        "type": coding("http://terminology.hl7.org/CodeSystem/audit-event-type", "rest"),
        "subtype": [coding("http://hl7.org/fhir/restful-interaction", kind.subtype)],
        "action": kind.action,
        "recorded": format_instant(r.recorded),
        "outcome": outcome(r.status),
        "agent": [agent],
        "source": {
            "observer": {"display": format!("carebridge ({})", source.chain), "identifier": {"value": source.base_url}},
            "type": [coding("http://terminology.hl7.org/CodeSystem/security-source-type", "4")],
        },
    });
    if let (Some(e), Some(f)) = (event.as_object_mut(), fields.as_object()) {
        e.extend(f.clone());
    }
    if r.status >= 400 {
        event["outcomeDesc"] = json!(format!("HTTP {}", r.status));
    }
    if r.break_glass.is_some() {
        event["purposeOfEvent"] = json!([{"coding": [coding("http://terminology.hl7.org/CodeSystem/v3-ActReason", "BTG")]}]);
    }
    if !entities.is_empty() {
        event["entity"] = Value::Array(entities);
    }
    if let Some(t) = &r.trace {
        event["extension"] = json!([{"url": TRACE_EXTENSION, "valueString": t}]);
    }
    event
}

/// The extension carrying an event's W3C trace id.
pub const TRACE_EXTENSION: &str = "https://fhir.carebridge.uk/StructureDefinition/trace-id";

#[cfg(test)]
mod tests;
