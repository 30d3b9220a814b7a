//! Turns assessments into FHIR (per the contract in [`crate::hna`]) and writes them through the
//! in-process [`Engine`] as `transaction` Bundles, so every resource gets the API's validation and
//! HNA rules. Many assessments share one bundle for speed; each Patient and Organization appears
//! once per bundle (two conditional creates of one new Patient in a bundle would make two Patients),
//! referenced by `urn:uuid:`. Every create is conditional on a business identifier, which makes a
//! rerun create nothing. When a bundle fails, its assessments are retried one by one so that only
//! the culprit is rejected.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use serde_json::{Value, json};

use super::fields::{Assessment, Org, Person};
use crate::error::Error;
use crate::fhir::nhs_number;
use crate::hna::catalogue::DOMAINS;
use crate::hna::{
    ACTION_TYPES, Canonical, LINK_DISTRESS, LINK_PATHWAY, LINK_SETTING, POINTS_OF_PATHWAY,
    SETTINGS, SNOMED_CARE_PLAN,
};
use crate::rest::{Engine, Return};

/// Identifier system (under the canonical base) of PCSPs brought in from legacy systems; the value
/// is the same `<source>:<assessment id>` as the HNA's, so a rerun matches the plan too.
pub const LEGACY_PCSP_ID: &str = "Id/legacy-pcsp";

/// What writing produced.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    /// HNAs created.
    pub created: u64,
    /// HNAs already there (a rerun).
    pub unchanged: u64,
    pub patients_created: u64,
    pub organizations_created: u64,
    pub care_plans_created: u64,
    /// Assessments the API refused: their source rows and the API's reason.
    pub rejected: Vec<(Vec<u64>, String)>,
}

impl Tally {
    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: Tally) {
        self.created += other.created;
        self.unchanged += other.unchanged;
        self.patients_created += other.patients_created;
        self.organizations_created += other.organizations_created;
        self.care_plans_created += other.care_plans_created;
        self.rejected.extend(other.rejected);
    }
}

/// Which entry of a bundle holds what, to read the transaction-response.
enum Slot {
    Patient,
    Organization,
    Hna,
    CarePlan,
}

impl Slot {
    fn rtype(&self) -> &'static str {
        match self {
            Slot::Patient => "Patient",
            Slot::Organization => "Organization",
            Slot::Hna => "QuestionnaireResponse",
            Slot::CarePlan => "CarePlan",
        }
    }
}

/// The contract's URLs under the deployment's canonical base, built once rather than per
/// resource (building them was a tenth of the importer's own time).
struct Urls {
    questionnaire: String,
    hna_profile: String,
    pcsp_profile: String,
    legacy_hna_id: String,
    legacy_pcsp_id: String,
    concern_system: String,
    domain_system: String,
    domain_extension: String,
    action_type_system: String,
    pathway_system: String,
    setting_system: String,
    shared_with_extension: String,
}

impl Urls {
    fn new(c: &Canonical) -> Self {
        Urls {
            questionnaire: c.questionnaire(),
            hna_profile: c.hna_profile(),
            pcsp_profile: c.pcsp_profile(),
            legacy_hna_id: c.legacy_hna_id(),
            legacy_pcsp_id: c.url(LEGACY_PCSP_ID),
            concern_system: c.concern_system(),
            domain_system: c.domain_system(),
            domain_extension: c.domain_extension(),
            action_type_system: c.action_type_system(),
            pathway_system: c.pathway_system(),
            setting_system: c.setting_system(),
            shared_with_extension: c.shared_with_extension(),
        }
    }
}

/// Writes assessments from one source.
pub struct Writer<'e> {
    engine: &'e Engine,
    urls: Urls,
    source: String,
}

impl<'e> Writer<'e> {
    /// A writer for `source` (the label in legacy identifiers).
    pub fn new(engine: &'e Engine, source: &str) -> Self {
        Writer {
            engine,
            urls: Urls::new(engine.canonical()),
            source: source.to_owned(),
        }
    }

    /// Writes `batch` as one transaction; on failure, each assessment alone. `Err` only for a
    /// server fault (the store is failing), which ends the import.
    pub async fn write(&self, batch: &[Assessment]) -> Result<Tally, Error> {
        match self.send(batch).await {
            Ok(t) => Ok(t),
            Err(e) if e.is_server_fault() => Err(e),
            Err(e) if batch.len() == 1 => Ok(Tally {
                rejected: vec![(batch[0].rows.clone(), reason(&e, &self.bundle(batch).1))],
                ..Tally::default()
            }),
            Err(_) => {
                let mut tally = Tally::default();
                for a in batch {
                    let one = std::slice::from_ref(a);
                    match self.send(one).await {
                        Ok(t) => tally.merge(t),
                        Err(e) if e.is_server_fault() => return Err(e),
                        Err(e) => tally
                            .rejected
                            .push((a.rows.clone(), reason(&e, &self.bundle(one).1))),
                    }
                }
                Ok(tally)
            }
        }
    }

    async fn send(&self, batch: &[Assessment]) -> Result<Tally, Error> {
        let (bundle, slots) = self.bundle(batch);
        // Only each entry's status is read: the store need not echo the resources back.
        let replies = self
            .engine
            .transaction_replies(bundle, Return::Minimal)
            .await?;
        let mut t = Tally::default();
        for (slot, reply) in slots.iter().zip(replies) {
            let created = reply?.status == StatusCode::CREATED;
            match (slot, created) {
                (Slot::Hna, true) => t.created += 1,
                (Slot::Hna, false) => t.unchanged += 1,
                (Slot::Patient, true) => t.patients_created += 1,
                (Slot::Organization, true) => t.organizations_created += 1,
                (Slot::CarePlan, true) => t.care_plans_created += 1,
                _ => {}
            }
        }
        Ok(t)
    }

    /// The transaction Bundle for `batch`, and what each entry is.
    fn bundle(&self, batch: &[Assessment]) -> (Value, Vec<Slot>) {
        let mut entries = Vec::with_capacity(batch.len() * 3);
        let mut slots = Vec::with_capacity(batch.len() * 3);
        let mut patients: HashMap<&str, String> = HashMap::new();
        let mut orgs: HashMap<&str, String> = HashMap::new();
        for a in batch {
            let h = &a.header;
            let patient = patients
                .entry(h.person.nhs_number.as_str())
                .or_insert_with(|| {
                    let urn = urn();
                    entries.push(entry(
                        &urn,
                        "Patient",
                        patient(&h.person),
                        &criteria(nhs_number::SYSTEM, &h.person.nhs_number),
                    ));
                    slots.push(Slot::Patient);
                    urn
                })
                .clone();
            let org = orgs
                .entry(h.org.ods.as_str())
                .or_insert_with(|| {
                    let urn = urn();
                    let ods = criteria(crate::fhir::ods::SYSTEM, &h.org.ods);
                    entries.push(entry(&urn, "Organization", organization(&h.org), &ods));
                    slots.push(Slot::Organization);
                    urn
                })
                .clone();
            let value = format!("{}:{}", self.source, a.id);
            let hna = urn();
            let hna_criteria = criteria(&self.urls.legacy_hna_id, &value);
            let qr = self.response(a, &value, &patient, &org);
            entries.push(entry(&hna, "QuestionnaireResponse", qr, &hna_criteria));
            slots.push(Slot::Hna);
            if a.has_care_plan() {
                let plan = self.care_plan(a, &value, &patient, &org, &hna);
                let plan_criteria = criteria(&self.urls.legacy_pcsp_id, &value);
                entries.push(entry(&urn(), "CarePlan", plan, &plan_criteria));
                slots.push(Slot::CarePlan);
            }
        }
        // Values are moved in, not passed to `json!` (which would copy them by serialising).
        let mut bundle = json!({"resourceType": "Bundle", "type": "transaction"});
        bundle["entry"] = Value::Array(entries);
        (bundle, slots)
    }

    /// The HNA QuestionnaireResponse: a group per domain holding the scored concerns (questionnaire
    /// order), then the Distress Thermometer, point of pathway and setting.
    fn response(&self, a: &Assessment, value: &str, patient: &str, org: &str) -> Value {
        let c = &self.urls;
        let mut items = Vec::new();
        for (domain, _) in DOMAINS {
            let mut scored: Vec<_> = a
                .concerns
                .iter()
                .filter(|s| s.concern.domain == *domain)
                .collect();
            if scored.is_empty() {
                continue;
            }
            let order = |code: &str| {
                crate::hna::catalogue::concerns()
                    .iter()
                    .position(|k| k.code == code)
            };
            scored.sort_by_key(|s| order(&s.concern.code));
            let inner: Vec<Value> = scored
                .iter()
                .map(
                    |s| json!({"linkId": s.concern.code, "answer": [{"valueInteger": s.severity}]}),
                )
                .collect();
            let mut group = json!({"linkId": domain});
            group["item"] = Value::Array(inner);
            items.push(group);
        }
        if let Some(d) = a.header.distress {
            items.push(json!({"linkId": LINK_DISTRESS, "answer": [{"valueInteger": d}]}));
        }
        if let Some(p) = a.header.pathway {
            let coding = coding(&c.pathway_system, p, POINTS_OF_PATHWAY);
            items.push(json!({"linkId": LINK_PATHWAY, "answer": [{"valueCoding": coding}]}));
        }
        if let Some(s) = a.header.setting {
            let coding = coding(&c.setting_system, s, SETTINGS);
            items.push(json!({"linkId": LINK_SETTING, "answer": [{"valueCoding": coding}]}));
        }
        let mut qr = json!({
            "resourceType": "QuestionnaireResponse",
            "meta": {"profile": [c.hna_profile]},
            "identifier": {"system": c.legacy_hna_id, "value": value},
            "questionnaire": c.questionnaire,
            "status": "completed",
            "subject": {"reference": patient},
            "authored": a.header.date,
            "author": {"reference": org},
        });
        if !items.is_empty() {
            qr["item"] = Value::Array(items);
        }
        qr
    }

    /// The PCSP: one activity per action recorded against a concern.
    fn care_plan(&self, a: &Assessment, value: &str, patient: &str, org: &str, hna: &str) -> Value {
        let c = &self.urls;
        let mut activities = Vec::new();
        for s in &a.concerns {
            let domain_display = DOMAINS
                .iter()
                .find(|(d, _)| *d == s.concern.domain)
                .map_or("", |(_, n)| *n);
            for action in &s.actions {
                let mut detail = json!({
                    "extension": [{
                        "url": c.domain_extension,
                        "valueCoding": {"system": c.domain_system, "code": s.concern.domain, "display": domain_display},
                    }],
                    "code": {"coding": [coding(&c.action_type_system, action, ACTION_TYPES)]},
                    "reasonCode": [{"coding": [{"system": c.concern_system, "code": s.concern.code, "display": s.concern.display}]}],
                    // Legacy exports record that an action was taken, not how it ended.
                    "status": "unknown",
                });
                // A referral's destination is unknown in legacy data; other actions are the
                // recording organisation's own.
                if *action != "referral" {
                    detail["performer"] = json!([{"reference": org}]);
                }
                let mut activity = json!({});
                activity["detail"] = detail;
                activities.push(activity);
            }
        }
        let mut plan = json!({
            "resourceType": "CarePlan",
            "meta": {"profile": [c.pcsp_profile]},
            "identifier": [{"system": c.legacy_pcsp_id, "value": value}],
            "status": "active",
            "intent": "plan",
            "category": [{"coding": [{"system": "http://snomed.info/sct", "code": SNOMED_CARE_PLAN, "display": "Care plan"}]}],
            "subject": {"reference": patient},
            "created": a.header.care_plan_date,
            "author": {"reference": org},
            "supportingInfo": [{"reference": hna}],
        });
        plan["activity"] = Value::Array(activities);
        if a.header.shared_with_gp {
            plan["extension"] = json!([{"url": c.shared_with_extension, "valueCode": "gp"}]);
        }
        plan
    }
}

/// `identifier=system|value` as conditional-create criteria, the value's search separators escaped.
fn criteria(system: &str, value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for ch in value.chars() {
        if matches!(ch, '\\' | ',' | '|' | '$') {
            escaped.push('\\');
        }
        escaped.push(ch);
    }
    let token = format!("{system}|{escaped}");
    format!(
        "identifier={}",
        form_urlencoded::byte_serialize(token.as_bytes()).collect::<String>()
    )
}

fn urn() -> String {
    format!("urn:uuid:{}", uuid::Uuid::new_v4())
}

fn entry(full_url: &str, rtype: &str, resource: Value, if_none_exist: &str) -> Value {
    let mut e = json!({
        "fullUrl": full_url,
        "request": {"method": "POST", "url": rtype, "ifNoneExist": if_none_exist},
    });
    e["resource"] = resource;
    e
}

fn coding(system: &str, code: &str, list: &[(&str, &str)]) -> Value {
    let display = list
        .iter()
        .find(|(c, _)| *c == code)
        .map_or("", |(_, d)| *d);
    json!({"system": system, "code": code, "display": display})
}

/// A Patient, only the elements the export has (FHIR forbids empty ones).
fn patient(p: &Person) -> Value {
    let mut r = json!({
        "resourceType": "Patient",
        "identifier": [{"system": nhs_number::SYSTEM, "value": p.nhs_number}],
    });
    let mut name = serde_json::Map::new();
    if !p.family.is_empty() {
        name.insert("family".into(), json!(p.family));
    }
    if !p.given.is_empty() {
        name.insert("given".into(), json!([p.given]));
    }
    if !name.is_empty() {
        r["name"] = json!([name]);
    }
    if let Some(g) = p.gender {
        r["gender"] = json!(g);
    }
    if let Some(b) = &p.birth_date {
        r["birthDate"] = json!(b);
    }
    r
}

fn organization(o: &Org) -> Value {
    let mut r = json!({
        "resourceType": "Organization",
        "identifier": [{"system": crate::fhir::ods::SYSTEM, "value": o.ods}],
    });
    if !o.name.is_empty() {
        r["name"] = json!(o.name);
    }
    r
}

/// The API's refusal as one line, naming the resource type instead of the bundle entry index.
fn reason(err: &Error, slots: &[Slot]) -> String {
    let types: Vec<&str> = slots.iter().map(Slot::rtype).collect();
    let issues: Vec<String> = err
        .issues()
        .into_iter()
        .map(|i| {
            let mut text = i.diagnostics;
            for (n, t) in types.iter().enumerate() {
                let prefix = format!("Bundle.entry[{n}]");
                if text.contains(&prefix) {
                    text = text.replace(&format!("{prefix}: "), &format!("{t}: "));
                    text = text.replace(&prefix, t);
                }
            }
            text
        })
        .collect();
    format!(
        "refused by the API ({}): {}",
        err.status().as_u16(),
        issues.join("; ")
    )
}
