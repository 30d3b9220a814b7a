//! FHIR Bulk Data `$export`: asynchronous kick-off, status polling, NDJSON files behind the same
//! authentication, deletion; consent-filtered exactly as the caller's own searches (every role of
//! the attack world, compared type by type with its paged searches, bodies included); the audit
//! log for auditors; one AuditEvent per file fetched naming what the file held.

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::world::*;

/// The types a search by each role is compared on.
const TYPES: &[&str] = &[
    "Patient",
    "CarePlan",
    "QuestionnaireResponse",
    "Condition",
    "Consent",
    "Organization",
];

async fn kick_off(w: &World, token: &str, path: &str) -> Resp {
    w.app.export_kick_off(token, path).await
}

async fn manifest(w: &World, token: &str, status: &str) -> Value {
    w.app.export_manifest(token, status).await
}

async fn export_as(w: &World, token: &str, path: &str) -> BTreeMap<String, Vec<Value>> {
    w.app.bulk_export(token, path).await
}

/// Every match of `Type?query` as `token`, following `next` links.
async fn searched(w: &World, token: &str, path: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut next = Some(w.app.url(path));
    while let Some(url) = next {
        let page = w.get_as(token, &url).await;
        page.assert_status(200);
        out.extend(
            page.entries()
                .into_iter()
                .filter(|e| e["search"]["mode"] == "match")
                .map(|e| e["resource"].clone()),
        );
        next = page.link("next");
    }
    out
}

fn by_id(resources: &[Value]) -> BTreeMap<String, Value> {
    resources
        .iter()
        .map(|r| (r["id"].as_str().unwrap_or_default().to_owned(), r.clone()))
        .collect()
}

on_both_backends! {
    /// For every role, each type's part of a system export is exactly what that role's paged
    /// search of the type finds, body for body (redacted where the search redacts), and no type
    /// the role may not search appears.
    async fn an_export_holds_exactly_what_the_callers_searches_find(app: TestApp) {
        let w = world_on(app).await;
        let roles = [
            ("gp", w.gp()),
            ("other gp", w.other_gp()),
            ("housing", w.housing()),
            ("cns", w.app.token_for("cns", Some("C0001"), None)),
            ("link worker", w.app.token_for("link-worker", Some("L0001"), None)),
            ("patient", w.app.token_for("patient", None, Some(&w.ann))),
            ("system", w.app.token.clone()),
        ];
        for (role, token) in &roles {
            let exported = export_as(&w, token, "$export").await;
            for t in TYPES {
                let search = w.get_as(token, &format!("{t}?_count=2")).await;
                let found = if search.status == 200 {
                    searched(&w, token, &format!("{t}?_count=2")).await
                } else {
                    Vec::new()
                };
                let got = exported.get(*t).cloned().unwrap_or_default();
                assert_eq!(by_id(&got), by_id(&found), "{role}: {t}");
            }
            assert!(!exported.contains_key("AuditEvent"), "{role}: the audit log only when asked");
        }
        // What consent decides shows: Cara's plan is denied to GPs, housing sees Ann's plan
        // redacted to the practical domain.
        let gp = export_as(&w, &w.gp(), "$export?_type=CarePlan").await;
        let gp_plans: Vec<&str> = gp["CarePlan"].iter().filter_map(|p| p["id"].as_str()).collect();
        assert!(gp_plans.contains(&w.ann_plan.as_str()));
        assert!(!gp_plans.contains(&w.cara_plan.as_str()), "Cara's consent denies GPs");
        let housing = export_as(&w, &w.housing(), "$export?_type=CarePlan").await;
        let plan = &housing["CarePlan"][0];
        assert_eq!(plan["id"], w.ann_plan.as_str());
        assert_eq!(plan["activity"].as_array().map(Vec::len), Some(1), "{plan}");
    }
}

/// `_type`, `_typeFilter`, `_since` and `Patient` / `Group` levels narrow what is exported.
#[tokio::test]
async fn type_type_filter_since_and_levels_narrow_the_export() {
    let w = world_on(spawn_app().await).await;
    let sys = w.app.token.clone();
    let only = export_as(&w, &sys, "$export?_type=Patient,CarePlan").await;
    assert_eq!(only.keys().collect::<Vec<_>>(), ["CarePlan", "Patient"]);
    assert_eq!(only["Patient"].len(), 3);

    let filtered = export_as(
        &w,
        &sys,
        &format!(
            "$export?_type=CarePlan&_typeFilter=CarePlan%3Fsubject%3DPatient/{}",
            w.bob
        ),
    )
    .await;
    assert_eq!(
        by_id(&filtered["CarePlan"]).keys().collect::<Vec<_>>(),
        [&w.bob_plan]
    );

    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let since = chrono_now();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let mut bob_plan = w.app.read("CarePlan", &w.bob_plan).await.json();
    bob_plan["title"] = json!("Bob's plan, revised");
    w.app.update(&bob_plan).await.assert_status(200);
    let newer = export_as(
        &w,
        &sys,
        &format!("$export?_since={}", since.replace('+', "%2B")),
    )
    .await;
    assert_eq!(newer.keys().collect::<Vec<_>>(), ["CarePlan"]);
    assert_eq!(newer["CarePlan"][0]["title"], "Bob's plan, revised");

    // Patient level: the patient compartment only (no Organizations).
    let patients = export_as(&w, &sys, "Patient/$export").await;
    assert!(patients.contains_key("Patient") && !patients.contains_key("Organization"));

    // Group level: the members' compartments.
    let group = w
        .app
        .create_id(&json!({"resourceType": "Group", "type": "person", "actual": true,
            "member": [{"entity": {"reference": format!("Patient/{}", w.bob)}},
                       {"entity": {"reference": format!("Patient/{}", w.cara)}, "inactive": true}]}))
        .await;
    let members = export_as(&w, &sys, &format!("Group/{group}/$export")).await;
    assert_eq!(
        by_id(&members["Patient"]).keys().collect::<Vec<_>>(),
        [&w.bob]
    );
    assert_eq!(
        by_id(&members["CarePlan"]).keys().collect::<Vec<_>>(),
        [&w.bob_plan]
    );
    // A role that cannot see the Group finds no such export.
    kick_off(&w, &w.gp(), &format!("Group/{group}/$export"))
        .await
        .assert_status(404);
}

fn chrono_now() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    let secs = i64::try_from(now / 1000).unwrap_or_default();
    let ms = now % 1000;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 as a civil date (Howard Hinnant's algorithm).
fn civil(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Refusals: no `Prefer: respond-async`, an unknown or forbidden type, a malformed `_since` or
/// `_typeFilter`; and a job is its owner's alone.
#[tokio::test]
async fn kick_off_refusals_and_a_job_is_its_owners_alone() {
    let w = world_on(spawn_app().await).await;
    let gp = w.gp();
    let r = w.get_as(&gp, "$export").await;
    assert_outcome(&r, 400, "invalid", None);
    for (path, status) in [
        ("$export?_type=Observation", 400),
        ("$export?_since=2026-01-01", 400),
        ("$export?_typeFilter=CarePlan", 400),
        ("$export?_typeFilter=CarePlan%3F_sort%3Ddate", 400),
        (
            "$export?_type=Patient&_typeFilter=CarePlan%3Fstatus%3Dactive",
            400,
        ),
        ("$export?_outputFormat=text/csv", 400),
        ("$export?patient=Patient/1", 400),
        ("Patient/$export?_type=Organization", 400),
        ("$export?_type=AuditEvent", 403),
    ] {
        kick_off(&w, &gp, path).await.assert_status(status);
    }
    let plans_only = w
        .app
        .token_with_scope("gp", Some("A81001"), "user/CarePlan.rs");
    kick_off(&w, &plans_only, "$export?_type=Patient")
        .await
        .assert_status(403);
    let plans = export_as(&w, &plans_only, "$export").await;
    assert_eq!(
        plans.keys().collect::<Vec<_>>(),
        ["CarePlan"],
        "only what its scopes grant"
    );
    // Breaking the glass is for one record: no export, even with a reason.
    let btg = w.app.token_with_purpose("gp", Some("A81001"), "BTG");
    let r = w
        .app
        .send(
            w.app
                .anonymous(Method::GET, "$export")
                .bearer_auth(&btg)
                .header("Prefer", "respond-async")
                .header("X-Break-Glass-Reason", "Collapsed in clinic"),
        )
        .await;
    assert_outcome(&r, 403, "forbidden", None);
    // Housing's export without _type simply leaves out what it may not search.
    let housing = export_as(&w, &w.housing(), "$export").await;
    assert!(!housing.contains_key("QuestionnaireResponse"));

    let r = kick_off(&w, &gp, "$export?_type=CarePlan").await;
    r.assert_status(202);
    let status = r.header("content-location").expect("status URL").to_owned();
    let m = manifest(&w, &gp, &status).await;
    let file = m["output"][0]["url"].as_str().expect("a file").to_owned();
    for other in [
        w.other_gp(),
        w.housing(),
        w.app.token_for("gp", Some("A81001"), Some(&w.ann)),
    ] {
        w.get_as(&other, &status).await.assert_status(404);
        w.get_as(&other, &file).await.assert_status(404);
        w.app
            .send(w.app.anonymous(Method::DELETE, &status).bearer_auth(&other))
            .await
            .assert_status(404);
    }
    w.app
        .send(w.app.anonymous(Method::GET, &file))
        .await
        .assert_status(401);
    w.app
        .send(w.app.anonymous(Method::DELETE, &status).bearer_auth(&gp))
        .await
        .assert_status(202);
    w.get_as(&gp, &status).await.assert_status(404);
    w.get_as(&gp, &file).await.assert_status(404);
}

/// Each file fetched leaves an AuditEvent naming every resource in it; auditors export the audit
/// log the Bulk Data way.
#[tokio::test]
async fn each_file_fetch_is_audited_and_auditors_export_the_audit_log() {
    let w = world_on(spawn_app().await).await;
    let gp = w.gp();
    let exported = export_as(&w, &gp, "$export?_type=CarePlan").await;
    let plans = by_id(&exported["CarePlan"]);
    let events = w.app.audit_events().await;
    let fetch = events
        .iter()
        .rev()
        .find(|e| {
            e["entity"].as_array().is_some_and(|es| {
                es.iter().any(|x| {
                    x["what"]["reference"]
                        .as_str()
                        .is_some_and(|r| r.starts_with("CarePlan/"))
                })
            }) && e.to_string().contains("\"description\":\"_export/")
        })
        .expect("the file fetch's event");
    for id in plans.keys() {
        assert!(
            fetch
                .to_string()
                .contains(&format!("CarePlan/{id}/_history/")),
            "{id} named in {fetch}"
        );
    }
    assert!(
        !fetch
            .to_string()
            .contains(&format!("CarePlan/{}/", w.cara_plan))
    );

    let auditor = w.app.token_for("auditor", None, None);
    let log = export_as(&w, &auditor, "$export?_type=AuditEvent").await;
    let audit = &log["AuditEvent"];
    assert!(audit.len() > 10, "{}", audit.len());
    assert!(audit.iter().all(|e| e["resourceType"] == "AuditEvent"));
}
