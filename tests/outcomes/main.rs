//! `$hna-outcomes` against a small cohort built through the FHIR API, with every figure worked out
//! by hand (see the comments at each person). Its own binary so it can run alone:
//! `cargo test --test outcomes`.

mod extract;
#[allow(dead_code, unused_macros)]
#[path = "../api/helpers.rs"]
mod helpers;
mod referrals;

use carebridge::hna::catalogue::concerns;
use helpers::{NHS, TestApp, assert_outcome, spawn_app, spawn_app_on_postgres, spawn_app_with};
use serde_json::{Value, json};

const C: &str = "https://fhir.carebridge.uk";
const ODS: &str = "https://fhir.nhs.uk/Id/ods-organization-code";

/// An HNA per the contract in `src/hna/mod.rs`: every concern answered (the given scores, else 0),
/// the Distress Thermometer, point of pathway and the other choice items.
fn hna(patient: &str, org: &str, authored: &str, scores: &[(&str, i64)], pathway: &str) -> Value {
    let domains = [
        "physical",
        "practical",
        "family",
        "emotional",
        "spiritual",
        "lifestyle",
    ];
    let mut items: Vec<Value> = domains
        .iter()
        .map(|d| {
            let inner: Vec<Value> = concerns()
                .iter()
                .filter(|c| c.domain == *d)
                .map(|c| {
                    let score = scores
                        .iter()
                        .find(|(code, _)| *code == c.code)
                        .map_or(0, |(_, s)| *s);
                    json!({"linkId": c.code, "answer": [{"valueInteger": score}]})
                })
                .collect();
            json!({"linkId": d, "item": inner})
        })
        .collect();
    items.push(json!({"linkId": "distress-thermometer", "answer": [{"valueInteger": 5}]}));
    items.push(json!({"linkId": "what-matters-most", "answer": [{"valueString": "Getting home"}]}));
    items.push(
        json!({"linkId": "point-of-pathway", "answer": [{"valueCoding": {
        "system": format!("{C}/CodeSystem/hna-point-of-pathway"), "code": pathway}}]}),
    );
    items.push(json!({"linkId": "setting", "answer": [{"valueCoding": {
        "system": format!("{C}/CodeSystem/hna-setting"), "code": "home"}}]}));
    items.push(
        json!({"linkId": "completed-by", "answer": [{"valueCoding": {
        "system": format!("{C}/CodeSystem/hna-completed-by"), "code": "together"}}]}),
    );
    json!({
        "resourceType": "QuestionnaireResponse",
        "meta": {"profile": [format!("{C}/StructureDefinition/hna-questionnaireresponse")]},
        "questionnaire": format!("{C}/Questionnaire/hna"),
        "status": "completed",
        "subject": {"reference": format!("Patient/{patient}")},
        "author": {"reference": format!("Organization/{org}")},
        "authored": authored,
        "item": items,
    })
}

/// A PCSP citing `hna`: one activity per `(action type, performer organisation)`.
fn plan(
    patient: &str,
    org: &str,
    hna: &str,
    created: &str,
    shared: bool,
    acts: &[(&str, Option<&str>)],
) -> Value {
    let activity: Vec<Value> = acts
        .iter()
        .map(|(kind, performer)| {
            let mut detail = json!({
                "extension": [{"url": format!("{C}/StructureDefinition/concern-domain"),
                    "valueCoding": {"system": format!("{C}/CodeSystem/hna-domain"), "code": "physical"}}],
                "reasonCode": [{"coding": [{"system": format!("{C}/CodeSystem/hna-concern"), "code": "breathing"}]}],
                "code": {"coding": [{"system": format!("{C}/CodeSystem/pcsp-action-type"), "code": kind}]},
                "status": "scheduled",
            });
            if let Some(p) = performer {
                detail["performer"] = json!([{"reference": format!("Organization/{p}")}]);
            }
            json!({"detail": detail})
        })
        .collect();
    let mut p = json!({
        "resourceType": "CarePlan",
        "meta": {"profile": [format!("{C}/StructureDefinition/pcsp-careplan")]},
        "status": "active",
        "intent": "plan",
        "created": created,
        "category": [{"coding": [{"system": "http://snomed.info/sct", "code": "734163000"}]}],
        "subject": {"reference": format!("Patient/{patient}")},
        "author": {"reference": format!("Organization/{org}")},
        "supportingInfo": [{"reference": format!("QuestionnaireResponse/{hna}")}],
        "activity": activity,
    });
    if shared {
        p["extension"] = json!([{"url": format!("{C}/StructureDefinition/pcsp-shared-with"), "valueCode": "gp"}]);
    }
    p
}

/// A valid test NHS number: the first from `stem` (nine digits) whose check digit exists.
fn nhs_number(mut stem: u64) -> String {
    loop {
        let digits: Vec<u64> = stem
            .to_string()
            .bytes()
            .map(|b| u64::from(b - b'0'))
            .collect();
        let sum: u64 = digits.iter().zip((2..=10).rev()).map(|(d, w)| d * w).sum();
        let check = (11 - sum % 11) % 11;
        if check != 10 {
            return format!("{stem}{check}");
        }
        stem += 1;
    }
}

fn org(name: &str, ods: Option<&str>, kind: Option<&str>) -> Value {
    let mut o = json!({"resourceType": "Organization", "name": name});
    if let Some(code) = ods {
        o["identifier"] = json!([{"system": ODS, "value": code}]);
    }
    if let Some(k) = kind {
        o["type"] = json!([{"coding": [{"system": format!("{C}/CodeSystem/referral-destination"), "code": k}]}]);
    }
    o
}

/// The cohort and everything that must never appear in the report.
struct Cohort {
    org: String,
    secrets: Vec<String>,
    /// The Organizations' ids (the de-identified extract keeps these).
    organizations: Vec<String>,
    /// The Patients' ids, in the order of the comments in [`build`] (P1 first).
    patients: Vec<String>,
}

async fn build(app: &TestApp) -> Cohort {
    let org_id = app
        .create_id(&org("Link workers", Some("TST01"), None))
        .await;
    let other = app.create_id(&org("Elsewhere", Some("TST02"), None)).await;
    let housing = app.create_id(&org("Housing", None, Some("housing"))).await;
    let welfare = app
        .create_id(&org("Welfare", None, Some("welfare-benefits")))
        .await;
    let untyped = app.create_id(&org("Untyped", None, None)).await;
    let mut secrets = vec![
        org_id.clone(),
        other.clone(),
        housing.clone(),
        welfare.clone(),
        untyped.clone(),
    ];

    // (family, birthDate, gender): ages at the first HNA are 35, 46, 49, 49, 49, 46, unknown.
    let people = [
        ("Abbott", Some("1990-06-01"), Some("female")),
        ("Barker", Some("1980-02-03"), Some("female")),
        ("Cole", Some("1976-02-11"), Some("female")),
        ("Dunn", Some("1977-03-01"), Some("female")),
        ("Ellis", Some("1976-03-03"), Some("female")),
        ("Fox", Some("1980-01-01"), Some("male")),
        ("Grant", None, None),
    ];
    let mut p = Vec::new();
    for (i, (family, birth, gender)) in people.iter().enumerate() {
        let nhs = nhs_number(999_000_100 + u64::try_from(i).unwrap_or(0) * 7);
        let mut r = json!({"resourceType": "Patient", "identifier": [{"system": NHS, "value": nhs}],
            "name": [{"family": family, "given": ["Sam"]}]});
        if let Some(b) = birth {
            r["birthDate"] = json!(b);
            secrets.push((*b).to_owned());
        }
        if let Some(g) = gender {
            r["gender"] = json!(g);
        }
        p.push(app.create_id(&r).await);
        secrets.extend([nhs, (*family).to_owned()]);
    }
    secrets.extend(p.iter().cloned());

    let (o, d) = (org_id.as_str(), "diagnosis");
    let mut q = |id: String| {
        secrets.push(id.clone());
        id
    };
    // Second HNAs first: the report orders by `authored`, not by creation.
    let p1b = q(app
        .create_id(&hna(
            &p[0],
            o,
            "2026-05-01T09:00:00Z",
            &[("breathing", 3), ("worry-fear-anxiety", 4)],
            "end-of-treatment",
        ))
        .await);
    let p1a = q(app
        .create_id(&hna(
            &p[0],
            o,
            "2026-02-01T09:00:00Z",
            &[("breathing", 6), ("pain", 0), ("worry-fear-anxiety", 8)],
            d,
        ))
        .await);
    let p2a = q(app
        .create_id(&hna(
            &p[1],
            o,
            "2026-02-03",
            &[("fatigue", 4), ("money-finance", 2)],
            d,
        ))
        .await);
    q(app
        .create_id(&hna(
            &p[1],
            o,
            "2026-06-03",
            &[("fatigue", 2)],
            "end-of-treatment",
        ))
        .await);
    let p3a = q(app
        .create_id(&hna(&p[2], o, "2026-02-10", &[("pain", 10)], d))
        .await);
    q(app
        .create_id(&hna(
            &p[2],
            o,
            "2026-06-10",
            &[("pain", 0)],
            "end-of-treatment",
        ))
        .await);
    let p4a = q(app
        .create_id(&hna(
            &p[3],
            o,
            "2026-03-01",
            &[("worry-fear-anxiety", 5), ("breathing", 3), ("fatigue", 7)],
            d,
        ))
        .await);
    q(app
        .create_id(&hna(
            &p[3],
            o,
            "2026-07-01",
            &[("worry-fear-anxiety", 2), ("fatigue", 5)],
            "end-of-treatment",
        ))
        .await);
    let p5a = q(app
        .create_id(&hna(&p[4], o, "2026-03-02", &[("money-finance", 9)], d))
        .await);
    q(app
        .create_id(&hna(
            &p[4],
            o,
            "2026-07-02",
            &[("money-finance", 4), ("worry-fear-anxiety", 1)],
            "end-of-treatment",
        ))
        .await);
    let p6a = q(app
        .create_id(&hna(
            &p[5],
            o,
            "2026-03-05",
            &[("breathing", 2), ("pain", 2)],
            "start-of-treatment",
        ))
        .await);
    q(app
        .create_id(&hna(
            &p[5],
            o,
            "2026-06-01",
            &[("breathing", 1)],
            "end-of-treatment",
        ))
        .await);
    q(app
        .create_id(&hna(
            &p[5],
            o,
            "2026-09-01",
            &[("breathing", 9)],
            "end-of-treatment",
        ))
        .await);
    let p7a = q(app
        .create_id(&hna(
            &p[6],
            o,
            "2026-04-01",
            &[("worry-fear-anxiety", 6)],
            "recurrence",
        ))
        .await);
    // Not in the population: before the period, and recorded by another organisation.
    q(app
        .create_id(&hna(&p[6], o, "2025-12-31", &[("pain", 9)], d))
        .await);
    let elsewhere = q(app
        .create_id(&hna(&p[0], &other, "2026-04-01", &[("pain", 9)], d))
        .await);

    let (h, w, u) = (
        Some(housing.as_str()),
        Some(welfare.as_str()),
        Some(untyped.as_str()),
    );
    let plans = [
        plan(
            &p[0],
            o,
            &p1a,
            "2026-02-01",
            true,
            &[("discussion", None), ("referral", h)],
        ),
        plan(
            &p[1],
            o,
            &p2a,
            "2026-02-05",
            true,
            &[("discussion", None), ("signposting", None)],
        ),
        plan(
            &p[2],
            o,
            &p3a,
            "2026-02-11",
            true,
            &[("referral", h), ("referral", w)],
        ),
        plan(
            &p[3],
            o,
            &p4a,
            "2026-03-04",
            true,
            &[("discussion", None), ("information-advice", None)],
        ),
        plan(
            &p[4],
            o,
            &p5a,
            "2026-03-02",
            true,
            &[("referral", None), ("discussion", None)],
        ),
        plan(
            &p[5],
            o,
            &p6a,
            "2026-03-12",
            true,
            &[("referral", h), ("discussion", None)],
        ),
        plan(
            &p[0],
            o,
            &p1b,
            "2026-05-02",
            false,
            &[("referral", h), ("referral", u)],
        ),
        plan(
            &p[3],
            o,
            &p4a,
            "2026-03-20",
            false,
            &[("referral", h), ("signposting", None)],
        ),
        // Outside: cites another organisation's HNA; and one entered in error.
        plan(
            &p[0],
            &other,
            &elsewhere,
            "2026-04-01",
            true,
            &[("referral", h)],
        ),
    ];
    for pl in &plans {
        secrets.push(app.create_id(pl).await);
    }
    let mut wrong = plan(&p[6], o, &p7a, "2026-04-01", true, &[("referral", h)]);
    wrong["status"] = json!("entered-in-error");
    secrets.push(app.create_id(&wrong).await);
    let organizations = secrets[..5].to_vec();
    Cohort {
        org: org_id,
        secrets,
        organizations,
        patients: p,
    }
}

/// The rows of `table` as JSON objects.
fn rows<'a>(report: &'a Value, table: &str) -> &'a Vec<Value> {
    report["tables"][table]
        .as_array()
        .unwrap_or_else(|| panic!("no table {table}: {report}"))
}

/// The value of `column` in the row whose first column is `key`.
fn cell<'a>(report: &'a Value, table: &str, key_col: &str, key: &str, column: &str) -> &'a Value {
    rows(report, table)
        .iter()
        .find(|r| r[key_col] == key)
        .map(|r| &r[column])
        .unwrap_or_else(|| panic!("no row {key} in {table}: {report}"))
}

#[tokio::test]
async fn the_tables_match_the_hand_computed_cohort() {
    the_tables_match(&spawn_app().await).await;
}

/// The same cohort on PostgreSQL (two readers share the report there too).
#[tokio::test]
async fn the_tables_match_the_hand_computed_cohort_on_postgres() {
    if let Some(app) = spawn_app_on_postgres().await {
        the_tables_match(&app).await;
    }
}

/// A plan citing two HNAs is counted once, though both readers find it: the report deals its
/// HNAs to two readers in halves, and here every person's first HNA is in the first half and their
/// second in the other (five people, so no count is suppressed).
#[tokio::test]
async fn a_plan_citing_two_hnas_counts_once() {
    let app = spawn_app().await;
    let o = app
        .create_id(&org("Link workers", Some("TST03"), None))
        .await;
    let mut people = Vec::new();
    for i in 0..5 {
        let person = json!({"resourceType": "Patient",
            "identifier": [{"system": NHS, "value": nhs_number(999_000_500 + i * 7)}]});
        people.push(app.create_id(&person).await);
    }
    let mut firsts = Vec::new();
    for p in &people {
        let first = hna(
            p,
            &o,
            "2026-02-01T09:00:00Z",
            &[("breathing", 6)],
            "diagnosis",
        );
        firsts.push(app.create_id(&first).await);
    }
    for (p, first) in people.iter().zip(&firsts) {
        let second = hna(
            p,
            &o,
            "2026-06-01T09:00:00Z",
            &[("breathing", 3)],
            "diagnosis",
        );
        let second = app.create_id(&second).await;
        let mut both = plan(p, &o, first, "2026-02-03", true, &[("discussion", None)]);
        both["supportingInfo"] = json!([
            {"reference": format!("QuestionnaireResponse/{first}")},
            {"reference": format!("QuestionnaireResponse/{second}")},
        ]);
        app.create_id(&both).await;
    }
    let r = app
        .get("$hna-outcomes?organization=TST03&start=2026-01-01&end=2026-12-31")
        .await;
    r.assert_status(200);
    let r = r.json();
    let pop = |m: &str| cell(&r, "population", "measure", m, "value").clone();
    assert_eq!(pop("hnas"), json!(10));
    assert_eq!(pop("care_plans"), json!(5));
}

/// `carebridge outcomes` prints the report the operation serves, as CSV and as a MeasureReport.
#[tokio::test]
async fn the_command_line_prints_the_same_report() {
    let mut url = String::new();
    let app = spawn_app_with(|s| url = s.database_url.clone()).await;
    build(&app).await;
    let query = "$hna-outcomes?organization=TST01&start=2026-01-01&end=2026-12-31";
    let cli = |format: &'static str| {
        let url = url.clone();
        async move {
            let out = tokio::task::spawn_blocking(move || {
                std::process::Command::new(env!("CARGO_BIN_EXE_carebridge"))
                    .args([
                        "outcomes",
                        "--organization",
                        "TST01",
                        "--start",
                        "2026-01-01",
                    ])
                    .args(["--end", "2026-12-31", "--format", format])
                    .env("CAREBRIDGE_DATABASE_URL", url)
                    .env("CAREBRIDGE_LOG", "warn")
                    .output()
            })
            .await
            .expect("the command finishes")
            .expect("the command runs");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        }
    };
    let csv = app.get(&format!("{query}&_format=csv")).await;
    assert_eq!(cli("csv").await, csv.text);
    let printed: Value = serde_json::from_str(&cli("measure-report").await).unwrap_or_default();
    assert!(carebridge_model::validate("MeasureReport", &printed).is_ok());
    let served = app.get(&format!("{query}&_format=fhir")).await.json();
    assert_eq!(printed["group"], served["group"]);
}

async fn the_tables_match(app: &TestApp) {
    let cohort = build(app).await;
    let resp = app
        .get("$hna-outcomes?organization=TST01&start=2026-01-01&end=2026-12-31")
        .await;
    resp.assert_status(200);
    let r = resp.json();

    let pop = |m: &str| cell(&r, "population", "measure", m, "value").clone();
    assert_eq!(pop("hnas"), json!(14));
    assert_eq!(pop("people"), json!(7));
    assert_eq!(pop("hnas_without_patient"), json!(0));
    assert_eq!(pop("care_plans"), json!(8));

    // 1 HNA: P7; 2: P1-P5; 3: P6. Two small cells protect each other within the table, but not
    // across tables: 7 people of whom 6 had a second HNA give "1 HNA" = 1, and 14 HNAs = 1 + 2 x 5
    // + 3 x "3 HNAs" gives the other. So the 5 and the people with a second HNA are withheld too.
    let per = |k: &str| cell(&r, "hnas_per_person", "hnas", k, "people").clone();
    assert_eq!(
        [per("1"), per("2"), per("3"), per("4+")],
        [json!("<5"), json!("suppressed"), json!("<5"), json!(0)]
    );

    // Overall: first concerns [2,2,1,3,1,2,1], severities sum 64 over 12; second (P1-P6) concerns
    // [2,1,0,2,2,1], severities [3,4,2,2,5,4,1,1]; change per person [0,-1,-1,-1,1,-1];
    // paired first severities sum 58 over 11 (median 5).
    let overall = rows(&r, "concerns_and_severity")
        .iter()
        .find(|x| x["scope"] == "overall")
        .cloned()
        .unwrap_or_default();
    let expect = json!({"scope": "overall",
        "first_people": 7, "first_concerns_mean": 1.71, "first_concerns_median": 2.0,
        "first_severity_mean": 5.33, "first_severity_median": 5.5,
        "second_people": "suppressed", "second_concerns_mean": 1.33, "second_concerns_median": 1.5,
        "second_severity_mean": 2.75, "second_severity_median": 2.5,
        "change_concerns_mean": -0.5, "change_concerns_median": -1.0,
        "change_severity_mean": -2.52, "change_severity_median": -2.5});
    assert_eq!(overall, expect);
    // Physical: 5 people with a first-HNA concern, only 4 at the second: severities there withheld.
    let phys = |c: &str| cell(&r, "concerns_and_severity", "scope", "physical", c).clone();
    assert_eq!(phys("first_concerns_mean"), json!(1.0));
    assert_eq!(phys("first_severity_mean"), json!(4.86));
    assert_eq!(phys("first_severity_median"), json!(4.0));
    assert_eq!(phys("second_concerns_mean"), json!(0.67));
    assert_eq!(phys("second_severity_mean"), json!("suppressed"));
    assert_eq!(phys("change_concerns_median"), json!(-0.5));
    assert_eq!(phys("change_severity_mean"), json!("suppressed"));
    // Emotional: 3 people with a concern at the first HNA.
    let emo = |c: &str| cell(&r, "concerns_and_severity", "scope", "emotional", c).clone();
    assert_eq!(emo("first_severity_mean"), json!("suppressed"));
    assert_eq!(emo("first_people"), json!(7));
    assert_eq!(emo("second_people"), json!("suppressed"));

    // Days [0,2,1,3,0,7,1] (P4's later plan does not count); 7 of 14 HNAs have a plan.
    let days = rows(&r, "days_to_care_plan")[0].clone();
    assert_eq!(
        days,
        json!({"hnas_with_plan": 7, "hnas_without_plan": 7, "mean_days": 2.0, "median_days": 1.0})
    );

    // 6 shared, 2 not: the 2 is "<5", so the 6 and the share are withheld too.
    let gp = rows(&r, "care_plans_shared_with_gp")[0].clone();
    assert_eq!(
        gp,
        json!({"care_plans": 8, "shared": "suppressed", "not_shared": "<5", "share_percent": "suppressed"})
    );

    let act = |k: &str, c: &str| cell(&r, "actions_by_type", "action_type", k, c).clone();
    assert_eq!(act("discussion", "actions"), json!(5));
    assert_eq!(act("discussion", "per_hna"), json!(0.36));
    assert_eq!(act("referral", "actions"), json!(8));
    assert_eq!(act("referral", "per_hna"), json!(0.57));
    assert_eq!(act("signposting", "actions"), json!("<5"));
    assert_eq!(act("signposting", "per_hna"), json!("suppressed"));
    assert_eq!(act("information-advice", "actions"), json!("<5"));
    assert_eq!(act("unknown", "actions"), json!(0));

    let dest = |k: &str| {
        cell(
            &r,
            "referrals_by_destination",
            "destination",
            k,
            "referrals",
        )
        .clone()
    };
    assert_eq!(
        [dest("housing"), dest("welfare-benefits"), dest("unknown")],
        [json!(5), json!("<5"), json!("<5")]
    );

    let band = |k: &str| cell(&r, "users_by_age_band", "age_band", k, "people").clone();
    assert_eq!(
        [band("<40"), band("40-49"), band("50-59"), band("unknown")],
        [json!("<5"), json!(5), json!(0), json!("<5")]
    );
    let sex = |k: &str| cell(&r, "users_by_sex", "sex", k, "people").clone();
    assert_eq!(
        [sex("female"), sex("male"), sex("other"), sex("unknown")],
        [json!(5), json!("<5"), json!(0), json!("<5")]
    );
    let stage = |k: &str| cell(&r, "users_by_pathway_stage", "pathway_stage", k, "people").clone();
    assert_eq!(
        [
            stage("diagnosis"),
            stage("start-of-treatment"),
            stage("recurrence"),
            stage("end-of-treatment")
        ],
        [json!(5), json!("<5"), json!("<5"), json!(0)]
    );

    // The same report by Organization id, and as CSV (by `_format` and by `Accept`).
    let by_id = app
        .get(&format!(
            "$hna-outcomes?organization={}&start=2026-01-01&end=2026-12-31",
            cohort.org
        ))
        .await;
    assert_eq!(by_id.json()["tables"], r["tables"]);
    let csv = app
        .get("$hna-outcomes?organization=TST01&start=2026-01-01&end=2026-12-31&_format=csv")
        .await;
    csv.assert_status(200);
    assert!(
        csv.header("content-type")
            .is_some_and(|c| c.starts_with("text/csv"))
    );
    assert!(
        csv.text
            .contains("# hnas_per_person\nhnas,people\n1,<5\n2,suppressed\n3,<5\n4+,0\n"),
        "{}",
        csv.text
    );
    assert!(
        csv.text.contains(
            "# days_to_care_plan\nhnas_with_plan,hnas_without_plan,mean_days,median_days\n7,7,2,1\n"
        ),
        "{}",
        csv.text
    );
    let accept = app
        .send(
            app.req(
                reqwest::Method::GET,
                "$hna-outcomes?organization=TST01&start=2026-01-01&end=2026-12-31",
            )
            .header("accept", "text/csv"),
        )
        .await;
    assert_eq!(accept.text, csv.text);

    // The same report from a Parameters body, the organisation named by its ODS identifier.
    let params = json!({"resourceType": "Parameters", "parameter": [
        {"name": "organization", "valueIdentifier": {"system": ODS, "value": "TST01"}},
        {"name": "start", "valueDate": "2026-01-01"},
        {"name": "end", "valueDate": "2026-12-31"}]});
    let posted = app
        .send_json(reqwest::Method::POST, "$hna-outcomes", &params, &[])
        .await;
    posted.assert_status(200);
    assert_eq!(posted.json()["tables"], r["tables"]);

    // As a FHIR MeasureReport: valid R4, counts as populations, suppressed ones masked.
    let fhir = app
        .send(
            app.req(
                reqwest::Method::GET,
                "$hna-outcomes?organization=TST01&start=2026-01-01&end=2026-12-31",
            )
            .header("accept", "application/fhir+json"),
        )
        .await;
    fhir.assert_status(200);
    assert!(
        fhir.header("content-type")
            .is_some_and(|c| c.starts_with("application/fhir+json"))
    );
    let mr = fhir.json();
    if let Err(issues) = carebridge_model::validate("MeasureReport", &mr) {
        panic!("not a valid MeasureReport: {issues:?}\n{mr:#}");
    }
    assert_eq!(
        mr["period"],
        json!({"start": "2026-01-01", "end": "2026-12-31"})
    );
    let group = |code: &str| {
        mr["group"]
            .as_array()
            .and_then(|gs| gs.iter().find(|g| g["code"]["text"] == code))
            .cloned()
            .unwrap_or_else(|| panic!("no group {code} in {mr:#}"))
    };
    let hnas = group("population")["stratifier"][0]["stratum"][0].clone();
    assert_eq!(hnas["value"]["text"], "hnas");
    assert_eq!(hnas["population"][0]["count"], 14);
    let per = group("hnas_per_person")["stratifier"][0]["stratum"].clone();
    assert_eq!(per[0]["value"]["text"], "1");
    assert_eq!(
        per[0]["population"][0]["_count"]["extension"][0]["valueCode"],
        "masked"
    );
    assert!(per[0]["population"][0].get("count").is_none());
    assert_eq!(per[3]["population"][0]["count"], 0);
    assert_eq!(group("days_to_care_plan")["population"][0]["count"], 7);
    assert_eq!(
        group("days_to_care_plan.mean_days")["measureScore"]["value"],
        json!(2.0)
    );
    let same = app
        .get("$hna-outcomes?organization=TST01&start=2026-01-01&end=2026-12-31&_format=fhir")
        .await;
    assert_eq!(same.json()["group"], mr["group"]);

    // No identifier of any kind reaches the output.
    for s in &cohort.secrets {
        assert!(
            !resp.text.contains(s.as_str()),
            "the JSON report contains {s}"
        );
        assert!(
            !csv.text.contains(s.as_str()),
            "the CSV report contains {s}"
        );
        assert!(
            !fhir.text.contains(s.as_str()),
            "the MeasureReport contains {s}"
        );
    }
}

#[tokio::test]
async fn bad_requests_are_refused() {
    let app = spawn_app().await;
    app.create_id(&org("Link workers", Some("TST01"), None))
        .await;
    let missing = app
        .get("$hna-outcomes?organization=TST01&start=2026-01-01")
        .await;
    missing.assert_status(400);
    let bad_date = app
        .get("$hna-outcomes?organization=TST01&start=2026-13-01&end=2026-12-31")
        .await;
    bad_date.assert_status(400);
    let reversed = app
        .get("$hna-outcomes?organization=TST01&start=2026-12-31&end=2026-01-01")
        .await;
    reversed.assert_status(400);
    let unknown = app
        .get("$hna-outcomes?organization=NOPE9&start=2026-01-01&end=2026-12-31")
        .await;
    unknown.assert_status(404);
    // A Parameters body: a parameter given twice (body and query), an unknown one, a wrong type.
    let body = |params: Value| json!({"resourceType": "Parameters", "parameter": params});
    let post = |b: Value, query: &'static str| {
        let app = &app;
        async move {
            app.send_json(
                reqwest::Method::POST,
                &format!("$hna-outcomes{query}"),
                &b,
                &[],
            )
            .await
        }
    };
    let twice = post(
        body(json!([{"name": "organization", "valueString": "TST01"},
            {"name": "start", "valueDate": "2026-01-01"},
            {"name": "end", "valueDate": "2026-12-31"}])),
        "?start=2026-02-01",
    )
    .await;
    assert_outcome(
        &twice,
        400,
        "invalid",
        Some("Parameters.parameter.where(name = 'start')"),
    );
    let unknown = post(
        body(json!([{"name": "organisation", "valueString": "TST01"}])),
        "",
    )
    .await;
    assert_outcome(
        &unknown,
        400,
        "invalid",
        Some("Parameters.parameter.where(name = 'organisation')"),
    );
    let typed = post(
        body(json!([{"name": "organization", "valueString": "TST01"},
            {"name": "start", "valueString": "2026-01-01"},
            {"name": "end", "valueDate": "2026-12-31"}])),
        "",
    )
    .await;
    assert_outcome(
        &typed,
        400,
        "invalid",
        Some("Parameters.parameter.where(name = 'start')"),
    );
    let not_parameters = post(json!({"resourceType": "Patient"}), "").await;
    not_parameters.assert_status(400);
    let unacceptable = app
        .get("$hna-outcomes?organization=TST01&start=2026-01-01&end=2026-12-31&_format=xml")
        .await;
    unacceptable.assert_status(406);
    // An organisation with no HNAs: every table present, counts 0, figures null.
    let empty = app
        .get("$hna-outcomes?organization=TST01&start=2026-01-01&end=2026-12-31")
        .await;
    empty.assert_status(200);
    let r = empty.json();
    assert_eq!(
        cell(&r, "population", "measure", "hnas", "value"),
        &json!(0)
    );
    assert_eq!(rows(&r, "days_to_care_plan")[0]["mean_days"], Value::Null);
}
