//! The consent matrix: every role against every consent state, over read, search, batch and
//! history, asserting which care-plan activities (by concern) and which records each one sees.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::sharing::*;

/// What one role sees in one consent state: the concerns of the shared plan's activities and of
/// the private plan's (`None`: the plan is invisible), and whether Ann's record and the welfare
/// referral are visible.
type Sees = (
    Option<&'static [&'static str]>,
    Option<&'static [&'static str]>,
    bool,
    bool,
);

const ALL4: &[&str] = &[
    "housing",
    "worry-fear-anxiety",
    "breathing",
    "money-finance",
];
const PAIN: &[&str] = &["pain"];
const NOTHING: Sees = (None, None, false, false);
const HEALTH: Sees = (Some(ALL4), Some(PAIN), true, true);

#[tokio::test]
async fn every_role_in_every_consent_state_sees_what_the_rules_say() {
    matrix(spawn_app().await).await;
}

/// The same matrix on PostgreSQL (its SQL for relationships and its generation-keyed caches).
#[tokio::test]
async fn the_matrix_holds_on_postgres() {
    if let Some(app) = spawn_app_on_postgres().await {
        matrix(app).await;
    }
}

async fn matrix(app: TestApp) {
    let mut ids = std::collections::HashMap::new();
    for code in ["A81001", "B82002", "L0001", "RH001", "H0001", "W0001"] {
        ids.insert(code, app.create_id(&org(code, code)).await);
    }
    let o = |code: &str| ids[code].clone();
    let ann = app
        .create_id(&json!({"resourceType": "Patient",
            "generalPractitioner": [reference("Organization", &o("A81001"))],
            "managingOrganization": reference("Organization", &o("L0001"))}))
        .await;
    app.create_id(&json!({"resourceType": "CareTeam", "status": "active",
        "subject": reference("Patient", &ann),
        "participant": [{"member": reference("Organization", &o("RH001"))}]}))
        .await;
    let shared = app
        .create_id(&plan(
            &ann,
            "gp",
            vec![
                activity("practical", "housing", Some(&o("H0001"))),
                activity("emotional", "worry-fear-anxiety", Some(&o("H0001"))),
                activity("physical", "breathing", None),
                activity("practical", "money-finance", Some(&o("W0001"))),
            ],
        ))
        .await;
    let private = app
        .create_id(&plan(&ann, "cns", vec![activity("physical", "pain", None)]))
        .await;
    let referral = app
        .create_id(&json!({"resourceType": "ServiceRequest", "status": "active", "intent": "order",
            "category": [{"coding": [{"system": "http://snomed.info/sct", "code": "3457005"}]}],
            "authoredOn": "2026-11-20",
            "subject": reference("Patient", &ann),
            "requester": reference("Organization", &o("RH001")),
            "performer": [reference("Organization", &o("W0001"))],
            "reasonCode": [{"coding": [{"system": format!("{CANON}/CodeSystem/hna-concern"), "code": "money-finance"}]}]}))
        .await;

    let permit_practical = json!({"type": "permit",
        "actor": [{"role": {"coding": [{"code": "PRCP"}]}, "reference": reference("Organization", &o("H0001"))},
                  {"role": {"coding": [{"code": "PRCP"}]}, "reference": reference("Organization", &o("W0001"))}],
        "securityLabel": [{"system": format!("{CANON}/CodeSystem/hna-domain"), "code": "practical"}]});
    let deny_gp_plans = json!({"type": "deny",
        "actor": [role_actor("gp", None)],
        "class": [{"code": "CarePlan"}]});
    let mut withdrawn = consent(&ann, permit_practical.clone());
    withdrawn["status"] = json!("inactive");

    let states: Vec<(&str, Option<Value>)> = vec![
        ("no consent", None),
        (
            "practical permitted to housing and welfare",
            Some(consent(&ann, permit_practical)),
        ),
        (
            "care plans denied to GPs",
            Some(consent(&ann, deny_gp_plans)),
        ),
        ("permission withdrawn", Some(withdrawn)),
    ];
    let roles: [(&str, Option<&str>, Option<&str>); 8] = [
        ("gp", Some("A81001"), None),
        ("gp", Some("B82002"), None),
        ("link-worker", Some("L0001"), None),
        ("cns", Some("RH001"), None),
        ("housing", Some("H0001"), None),
        ("social-care", Some("W0001"), None),
        ("patient", None, Some(ann.as_str())),
        ("auditor", None, None),
    ];
    let gp: Sees = (Some(ALL4), None, true, true);
    let expected: [[Sees; 8]; 4] = [
        [
            gp, NOTHING, HEALTH, HEALTH, NOTHING, NOTHING, HEALTH, NOTHING,
        ],
        [
            gp,
            NOTHING,
            HEALTH,
            HEALTH,
            (Some(&["housing"]), None, false, false),
            (Some(&["money-finance"]), None, false, true),
            HEALTH,
            NOTHING,
        ],
        [
            (None, None, true, true),
            NOTHING,
            HEALTH,
            HEALTH,
            NOTHING,
            NOTHING,
            HEALTH,
            NOTHING,
        ],
        [
            gp, NOTHING, HEALTH, HEALTH, NOTHING, NOTHING, HEALTH, NOTHING,
        ],
    ];

    let mut current: Option<String> = None;
    for ((state, c), row) in states.into_iter().zip(expected) {
        if let Some(id) = current.take() {
            app.delete("Consent", &id).await.assert_status(204);
        }
        if let Some(c) = c {
            current = Some(app.create_id(&c).await);
        }
        for ((role, org_code, patient), sees) in roles.iter().zip(row) {
            let who = format!("{role} {} in state '{state}'", org_code.unwrap_or(""));
            let token = app.token_for(role, *org_code, *patient);
            let get = |path: String| {
                let t = token.clone();
                let app = &app;
                async move {
                    app.send(app.anonymous(Method::GET, &path).bearer_auth(t))
                        .await
                }
            };
            let concerns_at = |r: &Resp| -> Option<Vec<String>> {
                (r.status == 200).then(|| concerns(&r.json()))
            };
            let expect = |v: Option<&[&str]>| {
                v.map(|c| c.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
            };
            // read
            let read_shared = get(format!("CarePlan/{shared}")).await;
            assert_eq!(
                concerns_at(&read_shared),
                expect(sees.0),
                "read shared plan: {who}"
            );
            let vread = get(format!("CarePlan/{shared}/_history/1")).await;
            assert_eq!(
                concerns_at(&vread),
                expect(sees.0),
                "vread shared plan: {who}"
            );
            let read_private = get(format!("CarePlan/{private}")).await;
            assert_eq!(
                concerns_at(&read_private),
                expect(sees.1),
                "read private plan: {who}"
            );
            assert_eq!(
                get(format!("Patient/{ann}")).await.status == 200,
                sees.2,
                "read patient: {who}"
            );
            assert_eq!(
                get(format!("ServiceRequest/{referral}")).await.status == 200,
                sees.3,
                "read referral: {who}"
            );
            for hidden in [&read_shared, &read_private] {
                assert!(
                    hidden.status == 200 || hidden.status == 404,
                    "{who}: {}",
                    hidden.status
                );
            }
            // search: the same plans, the same elements, and a total counting only them
            let search = get("CarePlan".to_owned()).await;
            search.assert_status(200);
            let mut found: Vec<(String, Vec<String>)> = search
                .entries()
                .iter()
                .map(|e| {
                    (
                        e["resource"]["id"].as_str().unwrap_or("").to_owned(),
                        concerns(&e["resource"]),
                    )
                })
                .collect();
            found.sort();
            let mut want: Vec<(String, Vec<String>)> = [(&shared, sees.0), (&private, sees.1)]
                .into_iter()
                .filter_map(|(id, c)| expect(c).map(|c| (id.clone(), c)))
                .collect();
            want.sort();
            assert_eq!(found, want, "search: {who}");
            assert_eq!(
                search.total(),
                Some(want.len() as u64),
                "search total: {who}"
            );
            // batch: the entry answers as the read did
            let batch = json!({"resourceType": "Bundle", "type": "batch",
                "entry": [{"request": {"method": "GET", "url": format!("CarePlan/{shared}")}}]});
            let b = app.send_json_as(&token, Method::POST, "", &batch).await;
            b.assert_status(200);
            let entry = &b.json()["entry"][0];
            let ok = entry["response"]["status"]
                .as_str()
                .unwrap_or("")
                .starts_with("200");
            assert_eq!(
                ok.then(|| concerns(&entry["resource"])),
                expect(sees.0),
                "batch: {who}"
            );
            // instance history: hidden is 404; visible shows the same elements
            let h = get(format!("CarePlan/{shared}/_history")).await;
            let latest = (h.status == 200).then(|| concerns(&h.entries()[0]["resource"]));
            assert_eq!(latest, expect(sees.0), "history: {who}");
        }
    }
}
