//! The referral workflow over HTTP: a hospital refers, the receiver answers on its Task, each
//! party sees what it may, and the write table holds (who may write what, for whom).
//!
//! The world is the attack tests' ([`crate::world`]) plus: the hospital's CNS team C0001 in Ann's
//! care team (so it may refer her), a hospice CNS team C0002 and a welfare service W0001
//! (social care), neither related to anyone yet.

mod delivered;
mod journey;
mod messaging;
mod notified;
mod rules;
mod shapes;
mod worklist;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::sharing::*;
use crate::world::{World, world_on};

/// The concern catalogue's code system.
pub fn concerns() -> String {
    format!("{CANON}/CodeSystem/hna-concern")
}

/// The referral world and its extra ids.
pub struct Referrals {
    pub w: World,
    pub hospice: String,
    pub welfare: String,
}

impl Referrals {
    /// Builds the world on `app`.
    pub async fn on(app: TestApp) -> Self {
        let w = world_on(app).await;
        let hospice = w.app.create_id(&org("Hospice team", "C0002")).await;
        let welfare = w.app.create_id(&org("Welfare rights", "W0001")).await;
        w.app
            .create(&json!({"resourceType": "CareTeam", "status": "active",
                "subject": reference("Patient", &w.ann),
                "participant": [{"member": reference("Organization", &w.cns_team)}]}))
            .await
            .assert_status(201);
        Referrals {
            w,
            hospice,
            welfare,
        }
    }

    /// The hospital CNS team's system (C0001).
    pub fn hospital(&self) -> String {
        self.w.app.token_for("cns", Some("C0001"), None)
    }

    /// The hospice CNS team's system (C0002).
    pub fn hospice_token(&self) -> String {
        self.w.app.token_for("cns", Some("C0002"), None)
    }

    /// Sends a referral of `patient` from the hospital to `receiver` about `concerns` (catalogue
    /// codes, one reason each) with its Task, in one transaction as `token`; returns the response.
    pub async fn refer_as(
        &self,
        token: &str,
        patient: &str,
        requester: &str,
        receiver: &str,
        reasons: &[&str],
    ) -> Resp {
        let sr = referral(patient, requester, receiver, reasons);
        let task = task(
            patient,
            requester,
            receiver,
            "urn:uuid:5a1e0c1e-0000-4000-8000-000000000001",
        );
        self.w
            .bundle_as(
                token,
                "transaction",
                vec![
                    json!({"fullUrl": "urn:uuid:5a1e0c1e-0000-4000-8000-000000000001",
                        "resource": sr, "request": {"method": "POST", "url": "ServiceRequest"}}),
                    json!({"resource": task, "request": {"method": "POST", "url": "Task"}}),
                ],
            )
            .await
    }

    /// A referral of Ann from the hospital to `receiver`; returns (ServiceRequest id, Task id).
    pub async fn refer_ann(&self, receiver: &str, reasons: &[&str]) -> (String, String) {
        let r = self
            .refer_as(
                &self.hospital(),
                &self.w.ann,
                &self.w.cns_team,
                receiver,
                reasons,
            )
            .await;
        r.assert_status(200);
        let ids: Vec<String> = r
            .entries()
            .iter()
            .map(|e| {
                assert_eq!(e["response"]["status"], "201 Created", "{}", r.text);
                let location = e["response"]["location"].as_str().unwrap_or_default();
                location.split('/').nth(1).unwrap_or_default().to_owned()
            })
            .collect();
        (ids[0].clone(), ids[1].clone())
    }

    /// `GET path` as `token`.
    pub async fn get_as(&self, token: &str, path: &str) -> Resp {
        self.w.get_as(token, path).await
    }

    /// The Task (or referral) as `token` reads it now, with its version.
    pub async fn current(&self, token: &str, path: &str) -> (Value, String) {
        let r = self.get_as(token, path).await;
        r.assert_status(200);
        let body = r.json();
        let version = body["meta"]["versionId"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        (body, version)
    }

    /// Replaces `resource` as `token` with `If-Match` of `version` (none when `None`).
    pub async fn put_as(&self, token: &str, resource: &Value, version: Option<&str>) -> Resp {
        let path = format!(
            "{}/{}",
            resource["resourceType"].as_str().unwrap_or_default(),
            resource["id"].as_str().unwrap_or_default()
        );
        let mut rb = self
            .w
            .app
            .anonymous(Method::PUT, &path)
            .bearer_auth(token)
            .header("content-type", "application/fhir+json")
            .body(resource.to_string());
        if let Some(v) = version {
            rb = rb.header("If-Match", format!("W/\"{v}\""));
        }
        self.w.app.send(rb).await
    }

    /// Moves Task `id` to `status` as `token` (with `statusReason` when given), reading its
    /// current version first; returns the response.
    pub async fn move_task(
        &self,
        token: &str,
        id: &str,
        status: &str,
        reason: Option<&str>,
    ) -> Resp {
        let (mut task, version) = self.current(token, &format!("Task/{id}")).await;
        task["status"] = json!(status);
        if let Some(r) = reason {
            task["statusReason"] = json!({"text": r});
        }
        self.put_as(token, &task, Some(&version)).await
    }

    /// The stored status of `path`, read as the system.
    pub async fn status_of(&self, path: &str) -> String {
        let r = self.w.app.get(path).await;
        r.assert_status(200);
        r.json()["status"].as_str().unwrap_or_default().to_owned()
    }
}

/// A referral of `patient` from `requester` to `receiver` (Organization ids) about `reasons`.
pub fn referral(patient: &str, requester: &str, receiver: &str, reasons: &[&str]) -> Value {
    let reason_codes: Vec<Value> = reasons
        .iter()
        .map(|c| json!({"coding": [{"system": concerns(), "code": c}]}))
        .collect();
    json!({"resourceType": "ServiceRequest", "status": "active", "intent": "order",
        "category": [{"coding": [{"system": "http://snomed.info/sct", "code": "3457005"}]}],
        "code": {"text": "Support with the concerns below"},
        "subject": reference("Patient", patient), "authoredOn": "2026-12-01T10:00:00Z",
        "requester": reference("Organization", requester),
        "performer": [reference("Organization", receiver)],
        "reasonCode": reason_codes,
        "note": [{"text": "Lives alone; low mood since the diagnosis"}]})
}

/// The fulfilment Task of the referral at `focus` (a reference or `urn:uuid:`).
pub fn task(patient: &str, requester: &str, receiver: &str, focus: &str) -> Value {
    json!({"resourceType": "Task", "status": "requested", "intent": "order",
        "code": {"coding": [{"system": "http://hl7.org/fhir/CodeSystem/task-code", "code": "fulfill"}]},
        "focus": {"reference": focus}, "for": reference("Patient", patient),
        "authoredOn": "2026-12-01T10:00:00Z",
        "requester": reference("Organization", requester),
        "owner": reference("Organization", receiver)})
}
