//! The evaluators' de-identified HNA extract: a Bulk Data export of a Group defining the cohort,
//! over the same hand-built cohort as the tables. It holds the population the tables count, joined
//! by pseudonyms, and nothing that names a person.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_outcome, spawn_app, spawn_app_on_postgres};
use crate::{C, build, cell};

/// A Group defining the extract of `org`'s HNAs from `start` to `end`.
fn extract_group(org: &str, start: &str, end: &str) -> Value {
    let system = format!("{C}/CodeSystem/evaluation-cohort");
    json!({"resourceType": "Group", "type": "person", "actual": false,
        "name": "Service evaluation 2026",
        "code": {"coding": [{"system": system, "code": "hna-extract"}]},
        "characteristic": [{
            "code": {"coding": [{"system": system, "code": "hna-author"}]},
            "valueReference": {"reference": format!("Organization/{org}")},
            "exclude": false,
            "period": {"start": start, "end": end}}]})
}

fn ids(resources: &[Value]) -> BTreeSet<String> {
    resources
        .iter()
        .map(|r| r["id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The references at `pointer` (an array of references, or one) of every resource.
fn references(resources: &[Value], pointer: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for r in resources {
        match r.pointer(pointer) {
            Some(Value::Array(a)) => out.extend(
                a.iter()
                    .filter_map(|x| x["reference"].as_str().map(str::to_owned)),
            ),
            Some(one) => out.extend(one["reference"].as_str().map(str::to_owned)),
            None => {}
        }
    }
    out
}

fn part<'a>(extract: &'a BTreeMap<String, Vec<Value>>, t: &str) -> &'a [Value] {
    extract.get(t).map_or(&[], Vec::as_slice)
}

#[tokio::test]
async fn the_extract_is_the_outcome_population_without_a_name_in_it() {
    the_extract_is_the_population(&spawn_app().await).await;
}

#[tokio::test]
async fn the_extract_is_the_outcome_population_on_postgres() {
    if let Some(app) = spawn_app_on_postgres().await {
        the_extract_is_the_population(&app).await;
    }
}

async fn the_extract_is_the_population(app: &TestApp) {
    let cohort = build(app).await;
    let group = app
        .create_id(&extract_group(&cohort.org, "2026-01-01", "2026-12-31"))
        .await;
    let path = format!("Group/{group}/$export");
    let extract = app.bulk_export(&app.token, &path).await;

    // The population the tables count, part for part.
    let report = app
        .get("$hna-outcomes?organization=TST01&start=2026-01-01&end=2026-12-31")
        .await
        .json();
    let pop = |m: &str| cell(&report, "population", "measure", m, "value").as_u64();
    let (hnas, patients, plans) = (
        part(&extract, "QuestionnaireResponse"),
        part(&extract, "Patient"),
        part(&extract, "CarePlan"),
    );
    assert_eq!(Some(hnas.len() as u64), pop("hnas"));
    assert_eq!(Some(patients.len() as u64), pop("people"));
    assert_eq!(Some(plans.len() as u64), pop("care_plans"));

    // Joined by pseudonyms: every HNA's subject is a Patient of the extract, every plan cites
    // HNAs of the extract, and all of them are labelled pseudonymised.
    let patient_refs: BTreeSet<String> = ids(patients)
        .into_iter()
        .map(|id| format!("Patient/{id}"))
        .collect();
    assert_eq!(references(hnas, "/subject"), patient_refs);
    let hna_refs: BTreeSet<String> = ids(hnas)
        .into_iter()
        .map(|id| format!("QuestionnaireResponse/{id}"))
        .collect();
    let cited = references(plans, "/supportingInfo");
    assert!(!cited.is_empty() && cited.is_subset(&hna_refs), "{cited:?}");
    assert!(references(plans, "/subject").is_subset(&patient_refs));
    for r in hnas.iter().chain(patients).chain(plans) {
        assert_eq!(r["meta"]["security"][0]["code"], "PSEUDED", "{r}");
    }
    assert!(
        patients.iter().all(|p| p
            .get("birthDate")
            .is_none_or(|b| b.as_str().map(str::len) == Some(4))),
        "year of birth only"
    );
    assert!(
        hnas.iter()
            .all(|h| h["author"]["reference"] == format!("Organization/{}", cohort.org)),
        "the recording organisation is named"
    );
    // The Organizations named (author, performers) come with it, as published bodies.
    let orgs = ids(part(&extract, "Organization"));
    assert!(orgs.contains(&cohort.org));
    assert!(orgs.is_subset(&cohort.organizations.iter().cloned().collect()));

    // Nothing that names a person: no id, NHS number, name, birth date or free text.
    let text = serde_json::to_string(&extract).expect("json");
    let people_secrets: Vec<&String> = cohort
        .secrets
        .iter()
        .filter(|s| !cohort.organizations.contains(s))
        .collect();
    for secret in &people_secrets {
        assert!(
            !text.contains(secret.as_str()),
            "{secret} is in the extract"
        );
    }
    assert!(!text.contains("Getting home"), "free text is not");
    assert!(!text.contains("what-matters-most"));

    // The same Group again gives the same pseudonyms; another Group, other ones.
    let again = app.bulk_export(&app.token, &path).await;
    assert_eq!(ids(part(&again, "Patient")), ids(patients));
    let other = app
        .create_id(&extract_group(&cohort.org, "2026-01-01", "2026-12-31"))
        .await;
    let elsewhere = app
        .bulk_export(&app.token, &format!("Group/{other}/$export"))
        .await;
    assert_eq!(part(&elsewhere, "Patient").len(), patients.len());
    assert!(ids(part(&elsewhere, "Patient")).is_disjoint(&ids(patients)));

    // `_type` picks parts.
    let only = app
        .bulk_export(&app.token, &format!("{path}?_type=Patient"))
        .await;
    assert_eq!(only.keys().collect::<Vec<_>>(), ["Patient"]);
    assert_eq!(ids(part(&only, "Patient")), ids(patients));

    // Each file fetched is audited with the people in it: the first person's access report
    // shows the extract.
    let ann = &cohort.patients[0];
    let events = app.audit_events().await;
    let shown = events.iter().any(|e| {
        let t = e.to_string();
        t.contains("_export/") && t.contains(&format!("Patient/{ann}"))
    });
    assert!(shown, "a file fetch names the people it held");
}

#[tokio::test]
async fn only_system_callers_export_it_and_refusals_start_nothing() {
    let app = spawn_app().await;
    let cohort = build(&app).await;
    let group = app
        .create_id(&extract_group(&cohort.org, "2026-01-01", "2026-12-31"))
        .await;
    let path = format!("Group/{group}/$export");
    // Groups are the deployment's: any other role is told there is no such Group.
    for (role, org) in [("link-worker", "TST01"), ("gp", "A81001"), ("cns", "C0001")] {
        let token = app.token_for(role, Some(org), None);
        let r = app.export_kick_off(&token, &path).await;
        assert_outcome(&r, 404, "not-found", None);
    }
    let auditor = app.token_for("auditor", None, None);
    assert_outcome(
        &app.export_kick_off(&auditor, &path).await,
        404,
        "not-found",
        None,
    );
    // Parameters that do not apply to an extract.
    for bad in [
        format!("{path}?_since=2026-01-01T00:00:00Z"),
        format!("{path}?_type=Condition"),
        format!("{path}?_type=CarePlan&_typeFilter=CarePlan%3Fstatus%3Dactive"),
    ] {
        let r = app.export_kick_off(&app.token, &bad).await;
        assert_outcome(&r, 400, "invalid", None);
    }
    // A Group naming an organisation that does not exist.
    let ghost = app
        .create_id(&extract_group("no-such-org", "2026-01-01", "2026-12-31"))
        .await;
    let r = app
        .export_kick_off(&app.token, &format!("Group/{ghost}/$export"))
        .await;
    assert_outcome(
        &r,
        422,
        "business-rule",
        Some("Group.characteristic[0].valueReference"),
    );
}

#[tokio::test]
async fn a_malformed_extract_group_is_refused_when_written() {
    let app = spawn_app().await;
    let org = app
        .create_id(&json!({"resourceType": "Organization", "name": "Link workers"}))
        .await;
    let mut reversed = extract_group(&org, "2026-06-30", "2026-01-01");
    let r = app.create(&reversed).await;
    assert_outcome(
        &r,
        422,
        "business-rule",
        Some("Group.characteristic[0].period"),
    );
    reversed["characteristic"][0]["period"] = json!({"start": "2026-01-01", "end": "2026-06-30"});
    reversed["characteristic"]
        .as_array_mut()
        .expect("array")
        .push(json!({"code": {"text": "female"}, "valueBoolean": true, "exclude": false}));
    let r = app.create(&reversed).await;
    assert_outcome(
        &r,
        422,
        "business-rule",
        Some("Group.characteristic[1].code"),
    );
    reversed["id"] = json!("extract-1");
    let before = app.version_count().await;
    let r = app
        .send_json(Method::PUT, "Group/extract-1", &reversed, &[])
        .await;
    r.assert_status(422);
    assert_eq!(
        app.version_count().await,
        before,
        "a refused write changes nothing"
    );
}
