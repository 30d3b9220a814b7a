//! One IHE BALP-shaped `AuditEvent` per interaction (design.md section 5), built from what the
//! request was, who made it and what the access gate disclosed. Pure: the middleware gathers the
//! facts, this shapes them, so every interaction type is tested here without a server.
//!
//! The event never carries clinical content: resources appear as references (with their version),
//! the patient as a reference, and a search's query with the values of every parameter replaced
//! by `*` except those that are identifiers needed to name the patient or resource (`_id`,
//! `patient`, `subject`, `identifier`); so `name=Smith` is recorded as `name=*`.

use serde_json::{Value, json};

use crate::auth::Principal;
use crate::fhir::instant::format_instant;

/// The REST interaction (BALP `subtype`) and its action code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    /// `http://hl7.org/fhir/restful-interaction` code.
    pub subtype: &'static str,
    /// `C`, `R`, `U`, `D` or `E`.
    pub action: &'static str,
}

/// The interaction a request is, read off its method and path below the FHIR base.
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

/// A resource the response disclosed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disclosed {
    /// `Type/id/_history/version`.
    pub reference: String,
    /// Whether parts of it were withheld.
    pub redacted: bool,
}

/// What the audit event records of one interaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// When, epoch milliseconds.
    pub recorded: i64,
    /// HTTP method.
    pub method: String,
    /// Path below the FHIR base (`/CarePlan/1`).
    pub path: String,
    /// The raw query string.
    pub query: String,
    /// The response status.
    pub status: u16,
    /// The caller, when the token was valid.
    pub principal: Option<Principal>,
    /// The patients whose records were touched.
    pub patients: Vec<String>,
    /// The resources disclosed.
    pub disclosed: Vec<Disclosed>,
    /// The Consents that decided.
    pub consents: Vec<String>,
    /// The reason given for breaking the glass, when the glass was broken.
    pub break_glass: Option<String>,
    /// The gateway's public base URL (the observer).
    pub base_url: String,
    /// The deployment's canonical base (code systems of roles and identifiers).
    pub canonical: String,
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

/// The AuditEvent for `r`.
pub fn build(r: &Record) -> Value {
    let kind = kind(&r.method, &r.path);
    let outcome = match r.status {
        0..=399 => "0",
        400..=499 => "4",
        _ => "8",
    };
    let mut agent = json!({
        "type": {"coding": [coding("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "IRCP")]},
        "requestor": true,
    });
    match &r.principal {
        Some(p) => {
            let mut who = json!({"identifier": {"system": format!("{}/Id/token-subject", r.canonical), "value": p.subject}});
            if let Some(user) = &p.fhir_user {
                who["reference"] = json!(user);
            }
            agent["who"] = who;
            let mut roles = vec![
                json!({"coding": [coding(&format!("{}/CodeSystem/sharing-role", r.canonical), p.role.code())]}),
            ];
            if let Some(org) = &p.organization {
                roles.push(json!({"coding": [coding("https://fhir.nhs.uk/Id/ods-organization-code", org)]}));
            }
            agent["role"] = Value::Array(roles);
            agent["purposeOfUse"] = json!([{"coding": [coding("http://terminology.hl7.org/CodeSystem/v3-ActReason", &p.purpose)]}]);
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
    if kind.subtype == "search-type" {
        use base64::Engine as _;
        let q = sanitised_query(&r.query);
        let mut e = json!({
            "type": coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "2"),
            "role": coding("http://terminology.hl7.org/CodeSystem/object-role", "24"),
            "description": r.path.trim_start_matches('/'),
        });
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
    let mut event = json!({
        "resourceType": "AuditEvent",
        "type": coding("http://terminology.hl7.org/CodeSystem/audit-event-type", "rest"),
        "subtype": [coding("http://hl7.org/fhir/restful-interaction", kind.subtype)],
        "action": kind.action,
        "recorded": format_instant(r.recorded),
        "outcome": outcome,
        "agent": [agent],
        "source": {
            "observer": {"display": "carebridge", "identifier": {"value": r.base_url}},
            "type": [coding("http://terminology.hl7.org/CodeSystem/security-source-type", "4")],
        },
    });
    if r.status >= 400 {
        event["outcomeDesc"] = json!(format!("HTTP {}", r.status));
    }
    if r.break_glass.is_some() {
        event["purposeOfEvent"] = json!([{"coding": [coding("http://terminology.hl7.org/CodeSystem/v3-ActReason", "BTG")]}]);
    }
    if !entities.is_empty() {
        event["entity"] = Value::Array(entities);
    }
    event
}

#[cfg(test)]
mod tests;
