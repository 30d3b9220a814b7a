//! The referral tables of `$hna-outcomes`, from referrals written as a client writes them: the
//! ServiceRequest (status `active`) and its fulfilment Task (`requested`) in one transaction, then
//! only Task updates moving the status along. Acceptance and completion times are the Task's
//! `meta.lastUpdated`, which is now; so each referral is authored a whole number of days ago, and the
//! days to acceptance or completion are that number (to the hundredth of a day the report prints).

use carebridge::fhir::days::civil_from_days;
use carebridge::fhir::instant::{format_instant, now_ms};
use serde_json::{Value, json};

use super::helpers::{NHS, TestApp, spawn_app, spawn_app_on_postgres};
use super::{C, cell, nhs_number, org, rows};

const DAY_MS: i64 = 86_400_000;

/// One referral: authored `days_ago` days before the cohort is built, from `from` to `to`
/// (Organization ids), for `patient`, with these coded concerns, its Task then moved through
/// `steps` (after `requested`).
struct Spec<'a> {
    days_ago: i64,
    from: &'a str,
    to: &'a str,
    patient: &'a str,
    concerns: &'a [&'a str],
    steps: &'a [&'a str],
}

fn referral(s: &Spec<'_>, authored: &str, category: &str) -> Value {
    let reasons: Vec<Value> = s
        .concerns
        .iter()
        .map(|c| json!({"coding": [{"system": format!("{C}/CodeSystem/hna-concern"), "code": c}]}))
        .collect();
    let mut sr = json!({
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "priority": "routine",
        "category": [{"coding": [{"system": "http://snomed.info/sct", "code": category}]}],
        "code": {"text": "Referral for support"},
        "subject": {"reference": format!("Patient/{}", s.patient)},
        "authoredOn": authored,
        "requester": {"reference": format!("Organization/{}", s.from)},
        "performer": [{"reference": format!("Organization/{}", s.to)}],
    });
    if !reasons.is_empty() {
        sr["reasonCode"] = json!(reasons);
    }
    sr
}

/// Writes the referral and its Task in one transaction, then each step as a Task update; returns
/// the ids written (ServiceRequest, Task).
async fn refer(app: &TestApp, s: &Spec<'_>, authored: &str, category: &str) -> [String; 2] {
    let sr = "urn:uuid:5e0b1a4e-0000-4000-8000-000000000001";
    let mut task = json!({
        "resourceType": "Task",
        "status": "requested",
        "intent": "order",
        "priority": "routine",
        "code": {"coding": [{"system": "http://hl7.org/fhir/CodeSystem/task-code", "code": "fulfill"}]},
        "focus": {"reference": sr},
        "for": {"reference": format!("Patient/{}", s.patient)},
        "authoredOn": authored,
        "requester": {"reference": format!("Organization/{}", s.from)},
        "owner": {"reference": format!("Organization/{}", s.to)},
    });
    let tx = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": sr, "resource": referral(s, authored, category),
            "request": {"method": "POST", "url": "ServiceRequest"}},
        {"fullUrl": "urn:uuid:5e0b1a4e-0000-4000-8000-000000000002", "resource": task,
            "request": {"method": "POST", "url": "Task"}},
    ]});
    let r = app.bundle(&tx).await;
    r.assert_status(200);
    let ids: Vec<String> = r
        .entries()
        .iter()
        .map(|e| {
            let at = e["response"]["location"].as_str().unwrap_or_default();
            at.split('/').nth(1).unwrap_or_default().to_owned()
        })
        .collect();
    let [sr_id, task_id] = [0, 1].map(|i| ids.get(i).cloned().unwrap_or_default());
    assert!(!task_id.is_empty(), "no Task created: {}", r.text);
    task["id"] = json!(task_id);
    task["focus"] = json!({"reference": format!("ServiceRequest/{sr_id}")});
    // Each update names the version it replaces, as the workflow requires.
    for (version, step) in (1..).zip(s.steps) {
        task["status"] = json!(step);
        if matches!(*step, "rejected" | "cancelled" | "failed") {
            task["statusReason"] = json!({"text": "Outside our area"});
        }
        app.update_with(&task, &[("If-Match", &format!("W/\"{version}\""))])
            .await
            .assert_status(200);
    }
    [sr_id, task_id]
}

fn ymd(day: i64) -> String {
    let (y, m, d) = civil_from_days(i32::try_from(day).unwrap_or_default());
    format!("{y:04}-{m:02}-{d:02}")
}

async fn patients(app: &TestApp, n: u64, secrets: &mut Vec<String>) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..n {
        let nhs = nhs_number(999_000_700 + i * 7);
        let p = json!({"resourceType": "Patient", "identifier": [{"system": NHS, "value": nhs}],
            "name": [{"family": format!("Referred{i}")}]});
        out.push(app.create_id(&p).await);
        secrets.push(nhs);
    }
    secrets.extend(out.iter().cloned());
    out
}

#[tokio::test]
async fn the_referral_tables_match_the_hand_computed_referrals() {
    referral_tables_match(&spawn_app().await).await;
}

#[tokio::test]
async fn the_referral_tables_match_on_postgres() {
    if let Some(app) = spawn_app_on_postgres().await {
        referral_tables_match(&app).await;
    }
}

async fn referral_tables_match(app: &TestApp) {
    let now = now_ms();
    let today = now.div_euclid(DAY_MS);
    let x = app
        .create_id(&org("Link workers", Some("LWR01"), Some("community")))
        .await;
    let gp = app.create_id(&org("Surgery", None, Some("gp"))).await;
    let cns = app.create_id(&org("Nurses", None, Some("cns"))).await;
    let housing = app.create_id(&org("Housing", None, Some("housing"))).await;
    let welfare = app
        .create_id(&org("Welfare", None, Some("welfare-benefits")))
        .await;
    let other = app.create_id(&org("Elsewhere", None, Some("gp"))).await;
    let mut secrets = vec![
        x.clone(),
        gp.clone(),
        cns.clone(),
        housing.clone(),
        welfare.clone(),
        other.clone(),
        "Surgery".into(),
        "Housing".into(),
    ];
    let p = patients(app, 7, &mut secrets).await;
    let done: &[&str] = &["accepted", "in-progress", "completed"];
    let breathing: &[&str] = &["breathing"];
    let money: &[&str] = &["money-finance"];
    let spec = |days_ago, from, to, patient, concerns, steps| Spec {
        days_ago,
        from,
        to,
        patient,
        concerns,
        steps,
    };
    let (x, gp, cns, housing, welfare) = (
        x.as_str(),
        gp.as_str(),
        cns.as_str(),
        housing.as_str(),
        welfare.as_str(),
    );
    let population = [
        // Received by the link workers: seven from the GP, one from the nurses.
        spec(2, gp, x, &p[0], breathing, done),
        spec(4, gp, x, &p[1], breathing, done),
        spec(6, gp, x, &p[2], breathing, done),
        spec(8, gp, x, &p[3], breathing, done),
        spec(10, gp, x, &p[4], breathing, done),
        spec(
            12,
            gp,
            x,
            &p[5],
            &["money-finance", "worry-fear-anxiety"],
            &["received", "accepted", "in-progress", "completed"],
        ),
        spec(14, gp, x, &p[6], &[], &["rejected"]),
        spec(16, cns, x, &p[0], &[], &["cancelled"]),
        // Made by the link workers: five to housing, one to welfare advice.
        spec(
            20,
            x,
            housing,
            &p[1],
            &["breathing", "pain"],
            &["accepted", "in-progress", "failed"],
        ),
        spec(22, x, housing, &p[2], money, &[]),
        spec(24, x, housing, &p[3], money, &["received"]),
        spec(30, x, housing, &p[4], money, &["accepted"]),
        spec(40, x, housing, &p[5], money, &["accepted", "in-progress"]),
        spec(
            50,
            x,
            welfare,
            &p[6],
            &[],
            &["accepted", "in-progress", "on-hold"],
        ),
    ];
    let authored = |days_ago: i64| format_instant(now - days_ago * DAY_MS);
    let snomed_referral = "3457005";
    for s in &population {
        secrets.extend(refer(app, s, &authored(s.days_ago), snomed_referral).await);
    }
    // Outside: before the period; between two other organisations. (A ServiceRequest that is not
    // a referral cannot be stored: the referral profile holds for every one.)
    let before = spec(100, x, housing, &p[0], money, &["accepted"]);
    secrets.extend(refer(app, &before, &authored(100), snomed_referral).await);
    let elsewhere = spec(5, gp, &other, &p[0], money, done);
    secrets.extend(refer(app, &elsewhere, &authored(5), snomed_referral).await);

    let query = format!(
        "$hna-outcomes?organization=LWR01&start={}&end={}",
        ymd(today - 60),
        ymd(today)
    );
    let resp = app.get(&query).await;
    resp.assert_status(200);
    let r = resp.json();

    let pop = |m: &str| cell(&r, "referral_population", "measure", m, "value").clone();
    assert_eq!([pop("referrals"), pop("people")], [json!(14), json!(7)]);

    // Sources: gp 7, cns 1, community (the link workers' own) 6. The 1 is "<5", and 14 - 7 - 6
    // would give it away, so the 6 is withheld too. Destinations: community 8, housing 5,
    // welfare-benefits 1: the 5 goes with the 1.
    let source = |k: &str| {
        cell(
            &r,
            "referrals_by_source_type",
            "source_type",
            k,
            "referrals",
        )
        .clone()
    };
    assert_eq!(
        [
            source("gp"),
            source("cns"),
            source("community"),
            source("unknown")
        ],
        [json!(7), json!("<5"), json!("suppressed"), json!(0)]
    );
    let dest = |k: &str| {
        let t = "referrals_by_destination_type";
        cell(&r, t, "destination_type", k, "referrals").clone()
    };
    assert_eq!(
        [
            dest("community"),
            dest("housing"),
            dest("welfare-benefits"),
            dest("unknown")
        ],
        [json!(8), json!("suppressed"), json!("<5"), json!(0)]
    );

    // Physical 6 (breathing and pain count once), practical 5, emotional 1 (the referral coding a
    // practical and an emotional concern counts in both), 3 not coded. The rows overlap, so they
    // have no total and none is withheld to protect the small ones.
    let domain = |k: &str| {
        let t = "referrals_by_concern_domain";
        cell(&r, t, "concern_domain", k, "referrals").clone()
    };
    assert_eq!(
        [
            domain("physical"),
            domain("practical"),
            domain("family"),
            domain("emotional"),
            domain("not coded")
        ],
        [json!(6), json!(5), json!(0), json!("<5"), json!("<5")]
    );

    // Accepted at some point: 10 of 14. Then 6 completed, 1 rejected, 1 cancelled, 1 failed and
    // 5 open (requested, received, accepted, in progress, on hold): three "<5" that sum to 3,
    // none computable alone.
    let outcome = |k: &str| {
        let row = |c: &str| cell(&r, "referral_outcomes", "outcome", k, c).clone();
        [row("referrals"), row("share_percent")]
    };
    assert_eq!(outcome("accepted"), [json!(10), json!(71.43)]);
    assert_eq!(outcome("completed"), [json!(6), json!(42.86)]);
    assert_eq!(outcome("open"), [json!(5), json!(35.71)]);
    for small in ["rejected", "cancelled", "failed"] {
        assert_eq!(
            outcome(small),
            [json!("<5"), json!("suppressed")],
            "{small}"
        );
    }

    // Days to acceptance [2, 4, 6, 8, 10, 12, 20, 30, 40, 50]; to completion [2, ..., 12].
    assert_eq!(
        rows(&r, "referral_days")[0],
        json!({"accepted": 10, "median_days_to_acceptance": 11.0,
            "completed": 6, "median_days_to_completion": 7.0})
    );

    // The same tables as CSV and a valid MeasureReport; no identifier or name in any of them.
    let csv = app.get(&format!("{query}&_format=csv")).await;
    csv.assert_status(200);
    assert!(
        csv.text.contains(
            "# referral_outcomes\noutcome,referrals,share_percent\naccepted,10,71.43\nrejected,<5,suppressed\n"
        ),
        "{}",
        csv.text
    );
    let fhir = app.get(&format!("{query}&_format=fhir")).await;
    fhir.assert_status(200);
    let mr = fhir.json();
    if let Err(issues) = carebridge_model::validate("MeasureReport", &mr) {
        panic!("not a valid MeasureReport: {issues:?}\n{mr:#}");
    }
    let days = mr["group"]
        .as_array()
        .and_then(|g| {
            g.iter()
                .find(|g| g["code"]["text"] == "referral_days.median_days_to_acceptance")
        })
        .cloned()
        .unwrap_or_default();
    assert_eq!(days["measureScore"]["value"], json!(11.0), "{mr:#}");
    for s in &secrets {
        for (form, text) in [
            ("JSON", &resp.text),
            ("CSV", &csv.text),
            ("FHIR", &fhir.text),
        ] {
            assert!(!text.contains(s.as_str()), "the {form} report contains {s}");
        }
    }
}

/// The period is about the date the sender wrote: a referral made at 00:30 on the first day in
/// UTC+1 (the day before in UTC) is in it, one made at 23:30 the day before in UTC-5 (the first
/// day in UTC) is not.
#[tokio::test]
async fn a_referral_belongs_to_the_period_of_its_written_date() {
    let app = spawn_app().await;
    let x = app
        .create_id(&org("Link workers", Some("LWR02"), Some("community")))
        .await;
    let gp = app.create_id(&org("Surgery", None, Some("gp"))).await;
    let p = patients(&app, 1, &mut Vec::new()).await;
    let inside = [
        "2026-03-01T00:30:00+01:00",
        "2026-03-01T00:45:00+01:00",
        "2026-03-01T00:00:00+01:00",
        "2026-03-31T23:30:00-05:00",
        "2026-03-31",
    ];
    let outside = ["2026-02-28T23:30:00-05:00", "2026-04-01T00:30:00+01:00"];
    for authored in inside.iter().chain(&outside) {
        let s = Spec {
            days_ago: 0,
            from: &gp,
            to: &x,
            patient: &p[0],
            concerns: &[],
            steps: &[],
        };
        refer(&app, &s, authored, "3457005").await;
    }
    let r = app
        .get("$hna-outcomes?organization=LWR02&start=2026-03-01&end=2026-03-31")
        .await
        .json();
    let pop = |m: &str| cell(&r, "referral_population", "measure", m, "value").clone();
    assert_eq!(pop("referrals"), json!(5));
    let outcome = |k: &str| cell(&r, "referral_outcomes", "outcome", k, "referrals").clone();
    assert_eq!([outcome("open"), outcome("accepted")], [json!(5), json!(0)]);
    // Nobody accepted: the medians have no data.
    assert_eq!(
        rows(&r, "referral_days")[0]["median_days_to_acceptance"],
        Value::Null
    );
}
