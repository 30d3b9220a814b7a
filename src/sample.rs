//! The sample world for trying every sharing role in minutes (`carebridge sample`,
//! [`crate::cli::sample`]). It writes, through the same interactions and validation as any
//! client, six organisations, three patients, HNAs, PCSP care plans, a care team, three referrals
//! from the hospital with their Tasks (to housing, waiting; to the welfare service, accepted; to
//! the link service, in progress) and two consents. Every write is a conditional create on a
//! sample identifier, and a Task is moved only forward along its path, so loading it again
//! changes nothing.
//!
//! | who | ODS | sees |
//! |---|---|---|
//! | GP, Riverside Surgery | A81001 | Ann's and Cara's plans shared with the GP; Ann's HNA, not Cara's (she denied it) |
//! | GP, Hillview Practice | B82002 | nothing of Bob's plan (not shared with the GP), Bob's HNA |
//! | link worker | L0001 | everything of all three (managing organisation) |
//! | CNS, City Hospital | RH001 | Ann's record (care team) |
//! | housing officer | H0001 | Ann's housing activity, and the referral and Task addressed to it (her consent) |
//! | welfare adviser (social care) | W0001 | Ann's money activity, and the referral and Task addressed to it |
//! | Ann (patient) | | her own record |
//! | auditor | | the directory only |

use serde_json::{Value, json};

use crate::error::Error;
use crate::fhir::ResourceType;
use crate::hna::Canonical;
use crate::rest::{Engine, Return};

/// The ids the sample world was written with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct World {
    /// Patient ids: Ann, Bob, Cara.
    pub patients: [String; 3],
    /// Ann's care plan (shared with her GP).
    pub ann_plan: String,
}

/// The organisations: ODS code, name and role in the story.
pub const ORGANISATIONS: [(&str, &str); 6] = [
    ("A81001", "Riverside Surgery"),
    ("B82002", "Hillview Practice"),
    ("L0001", "Macmillan link service"),
    ("RH001", "City Hospital cancer centre"),
    ("H0001", "Northside Housing"),
    ("W0001", "Welfare rights service"),
];

/// Writes the world (again, harmlessly) and returns its ids.
pub async fn load(engine: &Engine) -> Result<World, Error> {
    crate::rest::artefacts::install(engine).await?;
    let w = Writer {
        engine,
        canonical: engine.canonical().clone(),
    };
    let mut ids = Ids {
        orgs: w.organisations().await?,
        patients: Vec::new(),
    };
    ids.patients = w.patients(&ids).await?;
    w.put_sample(
        ResourceType::CareTeam,
        "care-team-ann",
        json!({"resourceType": "CareTeam", "status": "active", "subject": ids.subject(0),
            "participant": [{"member": ids.org("RH001")}, {"member": ids.org("L0001")}]}),
    )
    .await?;
    let mut hnas = Vec::new();
    for i in 0..3 {
        hnas.push(w.hna(i, ids.subject(i), ids.org("L0001")).await?);
    }
    let ann_plan = w.plans(&ids, &hnas).await?;
    w.referrals(&ids).await?;
    w.consents(&ids).await?;
    let [ann, bob, cara] = <[String; 3]>::try_from(ids.patients)
        .map_err(|_| Error::internal("three sample patients"))?;
    Ok(World {
        patients: [ann, bob, cara],
        ann_plan,
    })
}

/// The ids of the organisations (by ODS code) and patients written, for references to them.
struct Ids {
    orgs: std::collections::HashMap<&'static str, String>,
    patients: Vec<String>,
}

impl Ids {
    /// A reference to the organisation with ODS `code` (one of [`ORGANISATIONS`]).
    fn org(&self, code: &str) -> Value {
        json!({"reference": format!("Organization/{}", self.orgs[code])})
    }

    /// A reference to the `i`th patient (Ann, Bob, Cara).
    fn subject(&self, i: usize) -> Value {
        json!({"reference": format!("Patient/{}", self.patients[i])})
    }
}

/// Conditional creates on sample identifiers.
struct Writer<'a> {
    engine: &'a Engine,
    canonical: Canonical,
}

impl Writer<'_> {
    /// The [`ORGANISATIONS`], identified by their ODS codes: their ids by code.
    async fn organisations(
        &self,
    ) -> Result<std::collections::HashMap<&'static str, String>, Error> {
        let mut org = std::collections::HashMap::new();
        for (code, name) in ORGANISATIONS {
            let id = self
                .put(
                    ResourceType::Organization,
                    json!({"resourceType": "Organization", "name": name,
                        "identifier": [{"system": crate::fhir::ods::SYSTEM, "value": code}]}),
                    &format!("identifier={}|{code}", crate::fhir::ods::SYSTEM),
                )
                .await?;
            org.insert(code, id);
        }
        Ok(org)
    }

    /// Ann, Bob and Cara, identified by test NHS numbers, with their GP practices and the link
    /// service managing their records: their ids in that order.
    async fn patients(&self, ids: &Ids) -> Result<Vec<String>, Error> {
        let mut patients = Vec::new();
        for (i, (name, practice)) in [("Ann", "A81001"), ("Bob", "B82002"), ("Cara", "A81001")]
            .into_iter()
            .enumerate()
        {
            let nhs = test_nhs_number(i);
            let id = self
                .put(
                    ResourceType::Patient,
                    json!({"resourceType": "Patient",
                        "identifier": [{"system": crate::fhir::nhs_number::SYSTEM, "value": nhs}],
                        "name": [{"family": "Example", "given": [name]}],
                        "generalPractitioner": [ids.org(practice)],
                        "managingOrganization": ids.org("L0001")}),
                    &format!("identifier={}|{nhs}", crate::fhir::nhs_number::SYSTEM),
                )
                .await?;
            patients.push(id);
        }
        Ok(patients)
    }

    /// A PCSP activity: its concern and domain, action type and performer.
    fn activity(&self, domain: &str, concern: &str, action: &str, performer: Value) -> Value {
        let c = &self.canonical;
        json!({"detail": {
            "extension": [{"url": c.domain_extension(),
                "valueCoding": {"system": c.domain_system(), "code": domain}}],
            "reasonCode": [{"coding": [{"system": c.concern_system(), "code": concern}]}],
            "status": "in-progress",
            "code": {"coding": [{"system": c.action_type_system(), "code": action}]},
            "performer": [performer]}})
    }

    /// The three care plans, one per HNA (Ann's and Cara's shared with the GP): Ann's id.
    async fn plans(&self, ids: &Ids, hnas: &[String]) -> Result<String, Error> {
        let ann_plan = self
            .plan(
                "plan-ann",
                ids.subject(0),
                &hnas[0],
                ids.org("L0001"),
                &["gp"],
                vec![
                    self.activity("practical", "housing", "referral", ids.org("H0001")),
                    self.activity("practical", "money-finance", "referral", ids.org("W0001")),
                    self.activity(
                        "emotional",
                        "worry-fear-anxiety",
                        "discussion",
                        ids.org("RH001"),
                    ),
                    self.activity(
                        "physical",
                        "breathing",
                        "information-advice",
                        ids.org("RH001"),
                    ),
                ],
            )
            .await?;
        self.plan(
            "plan-bob",
            ids.subject(1),
            &hnas[1],
            ids.org("L0001"),
            &[],
            vec![self.activity("physical", "fatigue", "signposting", ids.org("L0001"))],
        )
        .await?;
        self.plan(
            "plan-cara",
            ids.subject(2),
            &hnas[2],
            ids.org("L0001"),
            &["gp"],
            vec![self.activity("physical", "pain", "referral", ids.org("A81001"))],
        )
        .await?;
        Ok(ann_plan)
    }

    /// Referrals of Ann's from the hospital, each with its Task, at different points of the
    /// workflow.
    async fn referrals(&self, ids: &Ids) -> Result<(), Error> {
        use crate::referral::TaskStatus::{Accepted, InProgress};
        for (key, receiver, concern, path) in [
            ("referral-ann-housing", "H0001", "housing", &[][..]),
            (
                "referral-ann-welfare",
                "W0001",
                "money-finance",
                &[Accepted][..],
            ),
            (
                "referral-ann-link",
                "L0001",
                "worry-fear-anxiety",
                &[Accepted, InProgress][..],
            ),
        ] {
            self.referral(
                key,
                ids.subject(0),
                ids.org("RH001"),
                ids.org(receiver),
                concern,
                path,
            )
            .await?;
        }
        Ok(())
    }

    /// Ann's consent to share her practical concerns with housing and social care; Cara's refusal
    /// of her HNA to any GP practice.
    async fn consents(&self, ids: &Ids) -> Result<(), Error> {
        let role = |code: &str| json!({"coding": [{"system": self.canonical.url("CodeSystem/sharing-role"), "code": code}]});
        self.consent(
            "consent-ann-practical",
            ids.subject(0),
            json!({"type": "permit",
                "actor": [{"role": role("housing"), "reference": ids.org("H0001")},
                          {"role": role("social-care"), "reference": ids.org("W0001")}],
                "securityLabel": [{"system": self.canonical.domain_system(), "code": "practical"}]}),
        )
        .await?;
        self.consent(
            "consent-cara-no-hna-to-gp",
            ids.subject(2),
            json!({"type": "deny",
                "actor": [{"role": role("gp"), "reference": {"display": "any GP practice"}}],
                "class": [{"system": "http://hl7.org/fhir/resource-types", "code": "QuestionnaireResponse"}]}),
        )
        .await?;
        Ok(())
    }

    fn system(&self) -> String {
        self.canonical.url("Id/sample")
    }

    /// Creates `body` unless `criteria` matches; returns the id either way.
    async fn put(&self, rtype: ResourceType, body: Value, criteria: &str) -> Result<String, Error> {
        let reply = self
            .engine
            .job_create(rtype, body, Some(criteria), Return::Minimal)
            .await?;
        reply
            .location
            .as_deref()
            .and_then(|l| l.split('/').nth(1))
            .map(str::to_owned)
            .ok_or_else(|| Error::internal("a create without a location"))
    }

    /// `put` with the sample identifier `key`.
    async fn put_sample(
        &self,
        rtype: ResourceType,
        key: &str,
        mut body: Value,
    ) -> Result<String, Error> {
        let system = self.system();
        let identifier = json!({"system": system, "value": key});
        // One identifier on a QuestionnaireResponse (0..1), a list everywhere else.
        body["identifier"] = if rtype == ResourceType::QuestionnaireResponse {
            identifier
        } else {
            json!([identifier])
        };
        self.put(rtype, body, &format!("identifier={system}|{key}"))
            .await
    }

    async fn hna(&self, i: usize, subject: Value, author: Value) -> Result<String, Error> {
        let c = &self.canonical;
        let coding =
            |system: String, code: &str| json!([{"valueCoding": {"system": system, "code": code}}]);
        let scores = [[7, 8, 9], [3, 2, 8], [2, 6, 5]][i % 3];
        let body = json!({"resourceType": "QuestionnaireResponse",
        "meta": {"profile": [c.hna_profile()]},
        "questionnaire": c.questionnaire(), "status": "completed",
        "subject": subject, "author": author, "authored": "2026-10-01T10:00:00Z",
        "item": [
            {"linkId": "physical", "item": [{"linkId": "breathing", "answer": [{"valueInteger": scores[0]}]}]},
            {"linkId": "practical", "item": [{"linkId": "housing", "answer": [{"valueInteger": scores[1]}]},
                                             {"linkId": "money-finance", "answer": [{"valueInteger": scores[1]}]}]},
            {"linkId": "emotional", "item": [{"linkId": "worry-fear-anxiety", "answer": [{"valueInteger": scores[2]}]}]},
            {"linkId": "distress-thermometer", "answer": [{"valueInteger": scores[2]}]},
            {"linkId": "what-matters-most", "answer": [{"valueString": "Staying in my own home"}]},
            {"linkId": "point-of-pathway", "answer": coding(c.pathway_system(), "start-of-treatment")},
            {"linkId": "setting", "answer": coding(c.setting_system(), "community")},
            {"linkId": "completed-by", "answer": coding(c.completed_by_system(), "together")}
        ]});
        self.put_sample(
            ResourceType::QuestionnaireResponse,
            &format!("hna-{i}"),
            body,
        )
        .await
    }

    async fn plan(
        &self,
        key: &str,
        subject: Value,
        hna: &str,
        author: Value,
        shared_with: &[&str],
        activities: Vec<Value>,
    ) -> Result<String, Error> {
        let c = &self.canonical;
        let mut body = json!({"resourceType": "CarePlan",
            "meta": {"profile": [c.pcsp_profile()]},
            "status": "active", "intent": "plan",
            "category": [{"coding": [{"system": "http://snomed.info/sct", "code": crate::hna::SNOMED_CARE_PLAN}]}],
            "title": "Personalised care and support plan",
            "description": "Distress 7/10. What matters most: staying in my own home",
            "subject": subject, "author": author,
            "supportingInfo": [{"reference": format!("QuestionnaireResponse/{hna}")}],
            "activity": activities});
        if !shared_with.is_empty() {
            body["extension"] = Value::Array(
                shared_with
                    .iter()
                    .map(|k| json!({"url": c.shared_with_extension(), "valueCode": k}))
                    .collect(),
            );
        }
        self.put_sample(ResourceType::CarePlan, key, body).await
    }

    /// A referral from `requester` to `receiver` about `concern`, with its Task, moved along
    /// `path` (from `requested`) unless it is already there or further on.
    async fn referral(
        &self,
        key: &str,
        subject: Value,
        requester: Value,
        receiver: Value,
        concern: &str,
        path: &[crate::referral::TaskStatus],
    ) -> Result<(), Error> {
        use crate::referral::{FULFILL, REFERRAL_CATEGORY, SNOMED, TASK_CODE_SYSTEM};
        let c = &self.canonical;
        let sr = self
            .put_sample(
                ResourceType::ServiceRequest,
                key,
                json!({"resourceType": "ServiceRequest", "status": "active", "intent": "order",
                    "meta": {"profile": [c.referral_profile()]},
                    "category": [{"coding": [{"system": SNOMED, "code": REFERRAL_CATEGORY}]}],
                    "authoredOn": "2026-11-20T09:00:00Z",
                    "subject": subject, "requester": requester, "performer": [receiver],
                    "reasonCode": [{"coding": [{"system": c.concern_system(), "code": concern}]}]}),
            )
            .await?;
        let task = self
            .put_sample(
                ResourceType::Task,
                &format!("{key}-task"),
                json!({"resourceType": "Task", "status": "requested", "intent": "order",
                    "meta": {"profile": [c.referral_task_profile()]},
                    "code": {"coding": [{"system": TASK_CODE_SYSTEM, "code": FULFILL}]},
                    "focus": {"reference": format!("ServiceRequest/{sr}")}, "for": subject,
                    "authoredOn": "2026-11-20T09:00:00Z",
                    "requester": requester, "owner": receiver}),
            )
            .await?;
        for next in path {
            let stored = self
                .engine
                .store()
                .backend()
                .read(ResourceType::Task, &task)
                .await?
                .ok_or_else(|| Error::internal("the sample Task vanished"))?;
            let mut body: Value = serde_json::from_str(&stored.body)
                .map_err(|e| Error::internal_from("stored Task is not JSON", e))?;
            let now = body["status"]
                .as_str()
                .and_then(crate::referral::TaskStatus::from_code);
            if now.is_none_or(|s| s.mover(*next).is_none()) {
                continue;
            }
            body["status"] = json!(next.code());
            self.engine
                .job_update(ResourceType::Task, &task, body, stored.version)
                .await?;
        }
        Ok(())
    }

    async fn consent(&self, key: &str, patient: Value, provision: Value) -> Result<String, Error> {
        let body = json!({"resourceType": "Consent", "status": "active",
            "meta": {"profile": [self.canonical.consent_profile()]},
            "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}]},
            "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
            "patient": patient, "dateTime": "2026-10-01T10:30:00Z",
            "provision": provision});
        self.put_sample(ResourceType::Consent, key, body).await
    }
}

/// The `n`th valid NHS number of the test range (999 000 0000 onwards), skipping numbers whose
/// check digit would be 10.
fn test_nhs_number(n: usize) -> String {
    (9_990_000_000u64..)
        .step_by(10)
        .filter_map(|base| {
            let digits: Vec<u64> = base
                .to_string()
                .chars()
                .take(9)
                .filter_map(|c| c.to_digit(10).map(u64::from))
                .collect();
            let sum: u64 = digits.iter().zip((2..=10).rev()).map(|(d, w)| d * w).sum();
            let check = (11 - sum % 11) % 11;
            (check < 10).then(|| format!("{}{check}", base / 10))
        })
        .nth(n)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
