//! `carebridge import` end to end: the library entry point ([`carebridge::import::import`]) over a
//! fresh SQLite store, then the store served by the real gateway to read the result back over HTTP.
//! Run with `cargo test --test import`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[allow(dead_code, unused_macros)]
#[path = "../api/helpers.rs"]
mod helpers;

use carebridge::config::Settings;
use carebridge::import::{Format, Options, Summary, import};
use carebridge::rest::Engine;
use carebridge::startup::Application;
use carebridge::store::Store;
use serde_json::{Value, json};

const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/import/samples");
const EHNA_HEADER: &str = "assessment_id,nhs_number,family_name,given_name,birth_date,sex,organisation_ods,organisation_name,assessment_date,point_of_pathway,setting,distress_score,concern_code,severity,action_type,care_plan_date,shared_with_gp";

/// A temporary directory (files, and the SQLite store) and the settings pointing at the store.
struct Db {
    dir: tempfile::TempDir,
    settings: Settings,
    /// Drops the PostgreSQL database, when the store is one.
    _postgres: Option<helpers::PgDatabase>,
}

/// A fresh SQLite store.
fn db() -> Db {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("carebridge.db").display());
    db_at(dir, url, None)
}

/// A fresh PostgreSQL store on the server `TEST_POSTGRES_URL` names; `None` without it.
async fn db_on_postgres() -> Option<Db> {
    let Ok(admin) = std::env::var("TEST_POSTGRES_URL") else {
        println!("skipped: TEST_POSTGRES_URL not set");
        return None;
    };
    let (url, guard) = helpers::fresh_postgres(&admin).await;
    let dir = tempfile::tempdir().expect("temp dir");
    Some(db_at(dir, url, Some(guard)))
}

fn db_at(dir: tempfile::TempDir, url: String, postgres: Option<helpers::PgDatabase>) -> Db {
    let env: BTreeMap<String, String> = [
        ("CAREBRIDGE_LISTEN", "127.0.0.1:0".to_owned()),
        ("CAREBRIDGE_DATABASE_URL", url),
        ("CAREBRIDGE_BASE_URL", "http://127.0.0.1:0/fhir".to_owned()),
        ("CAREBRIDGE_WORKERS", "1".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let settings = Settings::from_sources(None, &env).expect("settings");
    Db {
        dir,
        settings,
        _postgres: postgres,
    }
}

impl Db {
    /// Imports `file` (rejects into the temp dir) and closes the store.
    async fn import(&self, format: Format, file: &Path) -> Summary {
        let store = Store::open(&self.settings.database_url)
            .await
            .expect("store opens");
        let engine = Engine::new(store.clone(), self.settings.engine_settings());
        let mut opts = Options::new(format, file);
        opts.rejects = self.rejects_path();
        opts.batch_size = 3; // several bundles even for the small samples
        let summary = import(&engine, &opts).await.expect("import runs");
        store.backend().close().await.expect("store closes");
        summary
    }

    fn rejects_path(&self) -> PathBuf {
        self.dir.path().join("rejects.csv")
    }

    /// The reject file's rows as (row, reason, assessment/person id).
    fn rejects(&self) -> Vec<(u64, String, String)> {
        let mut r = csv::Reader::from_path(self.rejects_path()).expect("reject file");
        r.records()
            .map(|rec| {
                let rec = rec.expect("reject row");
                (
                    rec[0].parse().expect("row number"),
                    rec[1].to_owned(),
                    rec.get(2).unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    fn write_csv(&self, name: &str, lines: &[&str]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, lines.join("\n") + "\n").expect("write csv");
        path
    }
}

fn sample(name: &str) -> PathBuf {
    Path::new(SAMPLES).join(name)
}

/// One eHNA row for assessment `id` of person `nhs` (everything else valid).
fn ehna_row(id: &str, nhs: &str, date: &str, concern: &str, severity: &str) -> String {
    format!(
        "{id},{nhs},Test,Person,1960-01-01,F,S08000027,Dundee,{date},diagnosis,home,5,{concern},{severity},discussion,{date},Y"
    )
}

#[tokio::test]
async fn the_sample_files_import_fully() {
    let db = db();
    let s = db.import(Format::Ehna, &sample("ehna.csv")).await;
    assert_eq!(
        (s.rows_read, s.assessments_read, s.created, s.unchanged),
        (13, 6, 6, 0),
        "{s}"
    );
    assert_eq!((s.rows_rejected, s.assessments_rejected), (0, 0), "{s}");
    assert_eq!(
        (
            s.patients_created,
            s.organizations_created,
            s.care_plans_created
        ),
        (5, 2, 4),
        "{s}"
    );
    assert!(db.rejects().is_empty());

    let s = db.import(Format::Bespoke, &sample("bespoke.csv")).await;
    assert_eq!(
        (s.rows_read, s.assessments_read, s.created, s.rows_rejected),
        (4, 4, 4, 0),
        "{s}"
    );
    assert_eq!((s.lost_persons, s.lost_assessments), (2, 3), "{s}");
    assert_eq!(s.care_plans_created, 3, "{s}");
    assert_eq!(s.organizations_created, 1, "{s}");
}

#[tokio::test]
async fn malformed_rows_are_rejected_with_row_and_reason_and_the_rest_is_created() {
    let db = db();
    let good = "9990000018";
    let lines = [
        EHNA_HEADER.to_owned(),
        ehna_row("A1", good, "2023-01-10", "pain", "5"), // line 2
        ehna_row("A1", good, "2023-01-10", "sleep", "3"), // line 3
        ehna_row("A1", good, "2023-01-10", "pain", "5"), // line 4: duplicate of 2
        ehna_row("A2", "9990000019", "2023-01-11", "pain", "5"), // line 5: bad check digit
        ehna_row("A3", good, "2023-01-12", "no-such-concern", "5"), // line 6
        ehna_row("A4", good, "2023-01-13", "pain", "12"), // line 7
        ehna_row("A4", good, "2023-01-13", "sleep", "2"), // line 8: sibling of a bad row
        ehna_row("A5", good, "", "pain", "5"),           // line 9: no date
        ehna_row("A6", "9990000026", "2023-01-14", "fatigue", "9"), // line 10
    ];
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let file = db.write_csv("bad.csv", &lines);
    let s = db.import(Format::Ehna, &file).await;
    assert_eq!((s.rows_read, s.assessments_read), (9, 6), "{s}");
    assert_eq!((s.created, s.unchanged), (2, 0), "A1 and A6: {s}");
    assert_eq!((s.rows_rejected, s.assessments_rejected), (6, 4), "{s}");
    let rejects = db.rejects();
    let reason = |row: u64| {
        rejects
            .iter()
            .find(|r| r.0 == row)
            .map(|r| r.1.clone())
            .unwrap_or_else(|| panic!("row {row} is not in the reject file: {rejects:?}"))
    };
    assert!(reason(4).contains("duplicate of row 2"), "{}", reason(4));
    assert!(
        reason(5).contains("not a valid NHS number"),
        "{}",
        reason(5)
    );
    assert!(reason(6).contains("unknown concern code"), "{}", reason(6));
    assert!(reason(7).contains("outside 0-10"), "{}", reason(7));
    assert!(reason(8).contains("row 7"), "the sibling names the culprit");
    assert!(
        reason(9).contains("assessment_date is missing"),
        "{}",
        reason(9)
    );
    assert_eq!(rejects.len(), 6, "{rejects:?}");
    // The original fields follow, so the file can be corrected and imported again.
    assert!(rejects.iter().all(|r| !r.2.is_empty()));
    // Every row read is accounted for.
    assert_eq!(s.rows_read, 3 + s.rows_rejected);
}

#[tokio::test]
async fn a_rerun_creates_nothing() {
    rerun_creates_nothing(db()).await;
}

/// The same on PostgreSQL: conditional creates there take advisory locks, not the one writer.
#[tokio::test]
async fn a_rerun_creates_nothing_on_postgres() {
    if let Some(db) = db_on_postgres().await {
        rerun_creates_nothing(db).await;
    }
}

async fn rerun_creates_nothing(db: Db) {
    let first = db.import(Format::Ehna, &sample("ehna.csv")).await;
    assert_eq!(first.created, 6);
    let again = db.import(Format::Ehna, &sample("ehna.csv")).await;
    assert_eq!((again.created, again.unchanged), (0, 6), "{again}");
    assert_eq!(
        (
            again.patients_created,
            again.organizations_created,
            again.care_plans_created
        ),
        (0, 0, 0),
        "{again}"
    );
    let b1 = db.import(Format::Bespoke, &sample("bespoke.csv")).await;
    let b2 = db.import(Format::Bespoke, &sample("bespoke.csv")).await;
    assert_eq!((b1.created, b2.created, b2.unchanged), (4, 0, 4), "{b2}");
}

#[tokio::test]
async fn a_person_record_with_three_assessments_counts_as_lost_assessments() {
    let db = db();
    let header = "person_id,nhs_number,organisation_ods,assessment_count,assessment_date,point_of_pathway,distress_score,concerns";
    let file = db.write_csv(
        "durham.csv",
        &[
            header,
            "P1,9990000069,RTD,3,2023-05-18,diagnosis,5,pain:6",
            "P2,9990000077,RTD,1,2023-05-19,diagnosis,2,sleep:2",
        ],
    );
    let s = db.import(Format::Bespoke, &file).await;
    assert_eq!(
        (s.created, s.lost_persons, s.lost_assessments),
        (2, 1, 2),
        "{s}"
    );
}

#[tokio::test]
async fn an_assessment_the_api_refuses_is_rejected_alone() {
    let db = db();
    // Two Patients with one NHS number: the conditional create of that person is ambiguous (412).
    let store = Store::open(&db.settings.database_url).await.expect("store");
    let engine = Engine::new(store.clone(), db.settings.engine_settings());
    let twin = json!({"resourceType": "Patient", "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9990000026"}]});
    for _ in 0..2 {
        engine
            .job_create(
                "Patient".parse().expect("type"),
                twin.clone(),
                None,
                carebridge::rest::Return::Minimal,
            )
            .await
            .expect("create");
    }
    store.backend().close().await.expect("close");
    let lines = [
        EHNA_HEADER.to_owned(),
        ehna_row("B1", "9990000018", "2023-01-10", "pain", "5"),
        ehna_row("B2", "9990000026", "2023-01-11", "pain", "5"), // line 3: ambiguous person
        ehna_row("B3", "9990000034", "2023-01-12", "pain", "5"),
    ];
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let file = db.write_csv("twins.csv", &lines);
    let s = db.import(Format::Ehna, &file).await;
    assert_eq!((s.created, s.rows_rejected), (2, 1), "{s}");
    let rejects = db.rejects();
    assert_eq!(rejects[0].0, 3);
    assert!(
        rejects[0].1.contains("refused by the API (412)"),
        "{}",
        rejects[0].1
    );
}

#[tokio::test]
async fn imported_hnas_and_care_plans_are_served_by_the_api() {
    let db = db();
    db.import(Format::Ehna, &sample("ehna.csv")).await;
    let app = Application::build(db.settings.clone())
        .await
        .expect("server starts");
    let base = format!("http://127.0.0.1:{}/fhir", app.port());
    tokio::spawn(app.run_until(std::future::pending()));
    // No [auth] in these settings: the server runs in development mode, whose secret mints a token.
    let dev = carebridge::auth::dev::secret_dir(&db.settings.database_url);
    let auth = carebridge::auth::dev::settings(&dev).expect("dev secret");
    let token =
        carebridge::auth::mint::token_for(&auth, "system", Some("TESTSYS"), None).expect("a token");
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse().expect("a header value"),
    );
    let client = reqwest::Client::builder()
        .no_proxy()
        .default_headers(headers)
        .build()
        .expect("client");
    let get = |url: String| {
        let client = client.clone();
        async move {
            let resp = client.get(&url).send().await.expect("request");
            assert_eq!(resp.status(), 200, "{url}");
            resp.json::<Value>().await.expect("json")
        }
    };
    let legacy = "https://fhir.carebridge.uk/Id/legacy-hna";
    let found = get(format!(
        "{base}/QuestionnaireResponse?identifier={legacy}|ehna:DD-1001"
    ))
    .await;
    assert_eq!(found["total"], 1, "{found}");
    let qr = &found["entry"][0]["resource"];
    assert_eq!(
        qr["questionnaire"],
        "https://fhir.carebridge.uk/Questionnaire/hna"
    );
    assert_eq!(qr["authored"], "2023-02-06");
    let answer = |group: &str, link: &str| -> Value {
        let items = qr["item"].as_array().expect("items");
        let holder = match group {
            "" => items.iter().find(|i| i["linkId"] == link),
            g => items
                .iter()
                .find(|i| i["linkId"] == g)
                .and_then(|g| g["item"].as_array())
                .and_then(|inner| inner.iter().find(|i| i["linkId"] == link)),
        };
        holder.map_or(Value::Null, |i| i["answer"][0].clone())
    };
    assert_eq!(answer("physical", "pain")["valueInteger"], 7);
    assert_eq!(answer("physical", "fatigue")["valueInteger"], 3);
    assert_eq!(answer("practical", "money-finance")["valueInteger"], 8);
    assert_eq!(answer("emotional", "worry-fear-anxiety")["valueInteger"], 6);
    assert_eq!(answer("", "distress-thermometer")["valueInteger"], 7);
    assert_eq!(
        answer("", "point-of-pathway")["valueCoding"]["code"],
        "diagnosis"
    );
    assert_eq!(answer("", "setting")["valueCoding"]["code"], "home");

    let patient_ref = qr["subject"]["reference"].as_str().expect("subject");
    let patient = get(format!("{base}/{patient_ref}")).await;
    assert_eq!(patient["identifier"][0]["value"], "9990000018");
    let org_ref = qr["author"]["reference"].as_str().expect("author");
    assert!(org_ref.starts_with("Organization/"), "{org_ref}");
    let org = get(format!("{base}/{org_ref}")).await;
    assert_eq!(org["identifier"][0]["value"], "S08000027");

    // Two HNAs for that person, each its own record.
    let theirs = get(format!(
        "{base}/QuestionnaireResponse?subject={patient_ref}"
    ))
    .await;
    assert_eq!(theirs["total"], 2, "{theirs}");

    let plans = get(format!(
        "{base}/CarePlan?identifier=https://fhir.carebridge.uk/Id/legacy-pcsp|ehna:DD-1001"
    ))
    .await;
    assert_eq!(plans["total"], 1, "{plans}");
    let plan = &plans["entry"][0]["resource"];
    let qr_ref = format!("QuestionnaireResponse/{}", qr["id"].as_str().expect("id"));
    assert_eq!(plan["supportingInfo"][0]["reference"], json!(qr_ref));
    assert_eq!(plan["created"], "2023-02-07");
    assert_eq!(plan["extension"][0]["valueCode"], "gp");
    let activities = plan["activity"].as_array().expect("activities");
    assert_eq!(activities.len(), 4, "pain, money x2, worry: {plan}");
    let referral = activities
        .iter()
        .find(|a| a["detail"]["reasonCode"][0]["coding"][0]["code"] == "pain")
        .expect("pain activity");
    assert_eq!(referral["detail"]["code"]["coding"][0]["code"], "referral");
    assert_eq!(
        referral["detail"]["extension"][0]["valueCoding"]["code"],
        "physical"
    );
}
