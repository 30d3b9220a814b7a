//! What checking an HNA against its Questionnaire costs per response (the bulk-import case: one
//! compiled Questionnaire, many responses).
//!
//!     cargo bench --bench hna_check                # 50,000 responses
//!     RESPONSES=5000 cargo bench --bench hna_check
//!
//! Prints three figures for an HNA scoring all 54 concerns plus the closing items: the write rule
//! as every write meets it (`rest::rules::check`, the compiled Questionnaire taken from the
//! engine's cache), the compiled walk alone (`Compiled::check`), and compiling the Questionnaire
//! (what a cache miss adds).

use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use serde_json::{Value, json};

use carebridge::config::Settings;
use carebridge::fhir::ResourceType;
use carebridge::hna::catalogue::{DOMAINS, concerns};
use carebridge::hna::profiles::hna_questionnaire;
use carebridge::hna::questionnaire_check::Compiled;
use carebridge::hna::{self, Canonical};
use carebridge::rest::{Engine, artefacts, rules};
use carebridge::store::Store;

/// An HNA scoring every concern of the catalogue, with the closing items.
fn full_hna(c: &Canonical) -> Value {
    let mut items: Vec<Value> = DOMAINS
        .iter()
        .map(|(domain, _)| {
            let scored: Vec<Value> = concerns()
                .iter()
                .filter(|k| k.domain == *domain)
                .enumerate()
                .map(|(i, k)| json!({"linkId": k.code, "answer": [{"valueInteger": i % 11}]}))
                .collect();
            json!({"linkId": domain, "item": scored})
        })
        .collect();
    let coding =
        |system: String, code: &str| json!([{"valueCoding": {"system": system, "code": code}}]);
    items.push(json!({"linkId": hna::LINK_DISTRESS, "answer": [{"valueInteger": 6}]}));
    items.push(json!({"linkId": hna::LINK_WHAT_MATTERS, "answer": [{"valueString": "Family"}]}));
    items.push(
        json!({"linkId": hna::LINK_PATHWAY, "answer": coding(c.pathway_system(), "diagnosis")}),
    );
    items.push(json!({"linkId": hna::LINK_SETTING, "answer": coding(c.setting_system(), "home")}));
    items.push(json!({"linkId": hna::LINK_COMPLETED_BY, "answer": coding(c.completed_by_system(), "person")}));
    json!({
        "resourceType": "QuestionnaireResponse",
        "questionnaire": c.questionnaire(),
        "status": "completed",
        "subject": {"reference": "Patient/p"},
        "authored": "2026-02-10T14:30:00Z",
        "item": items
    })
}

/// An engine over a new SQLite store in `dir`, with the HNA Questionnaire installed.
async fn engine(dir: &std::path::Path) -> Engine {
    let env: BTreeMap<String, String> = [(
        "CAREBRIDGE_DATABASE_URL".to_owned(),
        format!("sqlite://{}", dir.join("bench.db").to_string_lossy()),
    )]
    .into_iter()
    .collect();
    let settings = Settings::from_sources(None, &env).expect("settings");
    let store = Store::open(&settings.database_url).await.expect("store");
    let engine = Engine::new(store, settings.engine_settings());
    artefacts::install(&engine).await.expect("artefacts");
    engine
}

#[tokio::main]
async fn main() {
    let n: u32 = std::env::var("RESPONSES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path()).await;
    let hna = full_hna(engine.canonical());
    let pending = HashSet::new();
    let rtype = ResourceType::QuestionnaireResponse;
    rules::check(&engine, rtype, &hna, &pending)
        .await
        .expect("the full HNA passes");

    let start = Instant::now();
    for _ in 0..n {
        rules::check(&engine, rtype, &hna, &pending)
            .await
            .expect("valid");
    }
    let through_rules = start.elapsed() / n;

    let questionnaire = hna_questionnaire(engine.canonical());
    let compiled = Compiled::compile(&questionnaire, &|_| None);
    assert!(compiled.check(&hna).is_empty(), "the full HNA passes");
    let start = Instant::now();
    for _ in 0..n {
        std::hint::black_box(compiled.check(std::hint::black_box(&hna)));
    }
    let walk_only = start.elapsed() / n;

    let start = Instant::now();
    for _ in 0..1000 {
        std::hint::black_box(Compiled::compile(&questionnaire, &|_| None));
    }
    let compile = start.elapsed() / 1000;
    println!(
        "54-item HNA, {n} responses: rules::check {through_rules:?} per response (cached), \
         walk only {walk_only:?}, compiling the Questionnaire {compile:?}"
    );
}
