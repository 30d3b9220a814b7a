//! The world the attack tests run in: a few organisations, three patients, and the records and
//! consents whose rules the attacks try to get round. Built through the API as `system`.
//!
//! - Practice A81001 is Ann's and Cara's GP; practice B82002 is Bob's. The link service L0001
//!   manages Ann; the housing provider H0001 and the CNS team C0001 perform activities of Ann's plan.
//! - Ann's plan (shared with her GP) has a housing activity (practical, by housing), a worry
//!   activity (emotional, by the CNS team) and a breathing activity (physical, by the CNS team); it
//!   cites her HNA (`supportingInfo`) and her Condition (`addresses`). Housing is permitted the
//!   practical domain; her GP is denied the emotional domain.
//! - Cara's plan is shared with her GP, but Cara's consent denies GPs everything.
//! - Bob has a plan.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::sharing::*;

/// The SNOMED-style codes of the activities of Ann's plan (`activity-code`).
pub const HOUSING_CODE: &str = "1000001";
pub const WORRY_CODE: &str = "1000002";
pub const BREATHING_CODE: &str = "1000003";

/// The world and its ids.
#[allow(dead_code)] // Each attack suite uses the part of the world it attacks.
pub struct World {
    pub app: TestApp,
    pub ann: String,
    pub bob: String,
    pub cara: String,
    pub housing: String,
    pub cns_team: String,
    pub practice_b: String,
    pub ann_plan: String,
    pub ann_hna: String,
    pub ann_condition: String,
    pub cara_plan: String,
    pub cara_deny: String,
    pub bob_plan: String,
}

/// A care-plan activity of `domain`/`concern` with an activity code, performed by `performer`.
pub fn coded_activity(domain: &str, concern: &str, code: &str, performer: &str) -> Value {
    let mut a = activity(domain, concern, Some(performer));
    a["detail"]["code"] = json!({"coding": [{"system": "http://snomed.info/sct", "code": code}]});
    a
}

/// Builds the world on `app`.
pub async fn world_on(app: TestApp) -> World {
    let practice_a = app.create_id(&org("Practice A", "A81001")).await;
    let practice_b = app.create_id(&org("Practice B", "B82002")).await;
    let link = app.create_id(&org("Link service", "L0001")).await;
    let housing = app.create_id(&org("Housing", "H0001")).await;
    let cns_team = app.create_id(&org("CNS team", "C0001")).await;
    let patient = |family: &str, gp: &str, managed: Option<&str>, nhs: &str| {
        let mut p = json!({"resourceType": "Patient", "name": [{"family": family}],
            "identifier": [{"system": NHS, "value": nhs}],
            "generalPractitioner": [reference("Organization", gp)]});
        if let Some(m) = managed {
            p["managingOrganization"] = reference("Organization", m);
        }
        p
    };
    let ann = app
        .create_id(&patient("Ann", &practice_a, Some(&link), "9434765919"))
        .await;
    let bob = app
        .create_id(&patient("Bob", &practice_b, None, "9434765870"))
        .await;
    let cara = app
        .create_id(&patient("Cara", &practice_a, None, "9434765838"))
        .await;
    let ann_hna = app
        .create_id(
            &json!({"resourceType": "QuestionnaireResponse", "status": "completed",
            "subject": reference("Patient", &ann),
            "item": [{"linkId": "emotional", "item": [{"linkId": "worry-fear-anxiety",
                "answer": [{"valueInteger": 8}]}]}]}),
        )
        .await;
    let ann_condition = app
        .create_id(
            &json!({"resourceType": "Condition", "subject": reference("Patient", &ann),
            "code": {"text": "Breast cancer"}}),
        )
        .await;
    let mut p = plan(
        &ann,
        "gp",
        vec![
            coded_activity("practical", "housing", HOUSING_CODE, &housing),
            coded_activity("emotional", "worry-fear-anxiety", WORRY_CODE, &cns_team),
            coded_activity("physical", "breathing", BREATHING_CODE, &cns_team),
        ],
    );
    p["supportingInfo"] = json!([reference("QuestionnaireResponse", &ann_hna)]);
    p["addresses"] = json!([reference("Condition", &ann_condition)]);
    let ann_plan = app.create_id(&p).await;
    let cara_plan = app
        .create_id(&plan(&cara, "gp", vec![activity("physical", "pain", None)]))
        .await;
    let bob_plan = app
        .create_id(&plan(&bob, "gp", vec![activity("physical", "pain", None)]))
        .await;
    app.create(&consent(
        &ann,
        json!({"type": "permit", "actor": [role_actor("housing", Some(&housing))],
            "securityLabel": [{"system": format!("{CANON}/CodeSystem/hna-domain"), "code": "practical"}]}),
    ))
    .await
    .assert_status(201);
    app.create(&consent(
        &ann,
        json!({"type": "deny", "actor": [role_actor("gp", None)],
            "securityLabel": [{"system": format!("{CANON}/CodeSystem/hna-domain"), "code": "emotional"}]}),
    ))
    .await
    .assert_status(201);
    let cara_deny = app
        .create_id(&consent(
            &cara,
            json!({"type": "deny", "actor": [role_actor("gp", None)]}),
        ))
        .await;
    World {
        app,
        ann,
        bob,
        cara,
        housing,
        cns_team,
        practice_b,
        ann_plan,
        ann_hna,
        ann_condition,
        cara_plan,
        cara_deny,
        bob_plan,
    }
}

impl World {
    /// Ann's GP.
    pub fn gp(&self) -> String {
        self.app.token_for("gp", Some("A81001"), None)
    }

    /// Bob's GP: another practice, with no relationship to Ann.
    pub fn other_gp(&self) -> String {
        self.app.token_for("gp", Some("B82002"), None)
    }

    /// The housing provider's system.
    pub fn housing(&self) -> String {
        self.app.token_for("housing", Some("H0001"), None)
    }

    /// Every kind of caller of the world, named, with its token: both practices, housing, the CNS
    /// team, Ann's link service and one that supports nobody here, Ann and Bob, the auditor and
    /// the system.
    pub fn callers(&self) -> Vec<(&'static str, String)> {
        let app = &self.app;
        vec![
            ("gp", self.gp()),
            ("other gp", self.other_gp()),
            ("housing", self.housing()),
            ("cns", app.token_for("cns", Some("C0001"), None)),
            (
                "link worker",
                app.token_for("link-worker", Some("L0001"), None),
            ),
            (
                "stranger",
                app.token_for("link-worker", Some("L9999"), None),
            ),
            (
                "patient Ann",
                app.token_for("patient", None, Some(&self.ann)),
            ),
            (
                "patient Bob",
                app.token_for("patient", None, Some(&self.bob)),
            ),
            ("auditor", app.token_for("auditor", None, None)),
            ("system", app.token.clone()),
        ]
    }

    /// `GET path` with `token`.
    pub async fn get_as(&self, token: &str, path: &str) -> Resp {
        self.app
            .send(self.app.anonymous(Method::GET, path).bearer_auth(token))
            .await
    }

    /// `method path` with a JSON body and `token`.
    pub async fn send_as(&self, token: &str, method: Method, path: &str, body: &Value) -> Resp {
        self.app.send_json_as(token, method, path, body).await
    }

    /// A batch or transaction of `entries` sent with `token`.
    pub async fn bundle_as(&self, token: &str, kind: &str, entries: Vec<Value>) -> Resp {
        let b = json!({"resourceType": "Bundle", "type": kind, "entry": entries});
        self.send_as(token, Method::POST, "", &b).await
    }
}

/// The status of a batch or transaction response entry (`"404 Not Found"` is 404).
pub fn entry_status(entry: &Value) -> u16 {
    entry["response"]["status"]
        .as_str()
        .and_then(|s| s.get(..3))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// A bundle entry with a request and, optionally, a resource.
pub fn entry(method: &str, url: &str, resource: Option<Value>) -> Value {
    let mut e = json!({"request": {"method": method, "url": url}});
    if let Some(r) = resource {
        e["resource"] = r;
    }
    e
}
