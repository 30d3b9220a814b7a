//! One AuditEvent per interaction, durable before the response is released: served, refused and
//! failed requests alike, a 503 with no data when it cannot be written; the stored chains verify
//! and any edit is found; auditors export a period.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

/// The events recorded since `before` events.
async fn new_events(app: &TestApp, before: usize) -> Vec<Value> {
    app.audit_events().await.into_iter().skip(before).collect()
}

fn subtype(e: &Value) -> &str {
    e["subtype"][0]["code"].as_str().unwrap_or("")
}

fn entities(e: &Value) -> Vec<String> {
    e["entity"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x["what"]["reference"].as_str().map(str::to_owned))
        .collect()
}

fn param<'a>(p: &'a Value, name: &str) -> &'a Value {
    p["parameter"]
        .as_array()
        .and_then(|ps| ps.iter().find(|x| x["name"] == name))
        .unwrap_or(&Value::Null)
}

#[tokio::test]
async fn each_interaction_leaves_exactly_one_event_naming_what_was_served() {
    let app = spawn_app().await;
    let practice = app
        .create_id(&json!({"resourceType": "Organization", "name": "P",
            "identifier": [{"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "A81001"}]}))
        .await;
    let patient = app
        .create_id(&json!({"resourceType": "Patient",
            "generalPractitioner": [{"reference": format!("Organization/{practice}")}]}))
        .await;
    let before = app.audit_events().await.len();
    let gp = app.token_for("gp", Some("A81001"), None);
    let as_gp = |path: &str| app.anonymous(Method::GET, path).bearer_auth(&gp);

    app.send(as_gp(&format!("Patient/{patient}")))
        .await
        .assert_status(200);
    let events = new_events(&app, before).await;
    assert_eq!(events.len(), 1, "one event per interaction");
    let e = &events[0];
    assert_eq!(
        (subtype(e), e["action"].as_str(), e["outcome"].as_str()),
        ("read", Some("R"), Some("0"))
    );
    assert_eq!(e["agent"][0]["role"][0]["coding"][0]["code"], "gp");
    assert_eq!(e["agent"][0]["role"][1]["coding"][0]["code"], "A81001");
    assert_eq!(
        entities(e),
        vec![
            format!("Patient/{patient}"),
            format!("Patient/{patient}/_history/1")
        ]
    );

    // A search: one event listing every resource returned and the (sanitised) query.
    let before = app.audit_events().await.len();
    app.send(as_gp("Patient?name=Smith"))
        .await
        .assert_status(200);
    app.send(as_gp("Patient")).await.assert_status(200);
    let events = new_events(&app, before).await;
    assert_eq!(events.len(), 2);
    assert_eq!(subtype(&events[1]), "search-type");
    assert!(entities(&events[1]).contains(&format!("Patient/{patient}/_history/1")));
    assert!(
        !events[0].to_string().contains("Smith"),
        "no query values that carry patient data"
    );

    // Refused (401, 403) and failed (404) requests are recorded too.
    let before = app.audit_events().await.len();
    app.send(app.anonymous(Method::GET, "Patient"))
        .await
        .assert_status(401);
    let org = json!({"resourceType": "Organization", "name": "X"});
    app.send_json_as(&gp, Method::POST, "Organization", &org)
        .await
        .assert_status(403);
    app.send(as_gp("Patient/no-such")).await.assert_status(404);
    let events = new_events(&app, before).await;
    assert_eq!(events.len(), 3);
    assert_eq!(
        events[0]["agent"][0]["who"]["display"],
        "unauthenticated caller"
    );
    assert_eq!(
        events[1]["agent"][0]["role"][0]["coding"][0]["code"], "gp",
        "a refused caller is named"
    );
    for e in &events {
        assert_eq!(e["outcome"], "4");
    }
    // The 404 names what was asked for, and that it was not disclosed.
    assert_eq!(entities(&events[2]), vec!["Patient/no-such".to_owned()]);
    assert_eq!(
        events[2]["entity"][0]["description"], "requested; not disclosed",
        "nothing was disclosed"
    );

    // A write names the version it made.
    let before = app.audit_events().await.len();
    let created = app.create_id(&json!({"resourceType": "Patient"})).await;
    let events = new_events(&app, before).await;
    assert_eq!(
        (subtype(&events[0]), events[0]["action"].as_str()),
        ("create", Some("C"))
    );
    assert_eq!(
        entities(&events[0]),
        vec![format!("Patient/{created}/_history/1")]
    );
    assert_eq!(
        events[0]["source"]["observer"]["display"], "carebridge (gateway.writes)",
        "committed in the write's own transaction"
    );

    // Every event is a valid R4 AuditEvent, and the chain verifies.
    let store = carebridge::store::Store::open(&app.database_url)
        .await
        .expect("store");
    let report = carebridge::audit::verify::stored(&store)
        .await
        .expect("verify");
    assert_eq!(report.broken, None);
    assert!(report.count() >= 8);
    for e in app.audit_events().await {
        valid_audit_event(&e);
    }
}

#[tokio::test]
async fn a_response_whose_event_cannot_be_written_is_withheld_with_503() {
    // The journal's segment is /dev/full: every write fails (ENOSPC), as on a full disk.
    let journal = tempfile::tempdir().expect("tmp");
    std::os::unix::fs::symlink(
        "/dev/full",
        journal.path().join("gateway.00000000000000000001.log"),
    )
    .expect("symlink");
    let app = spawn_app_unaudited(journal.path()).await;
    let r = app
        .send(
            app.anonymous(Method::GET, "Patient?name=Hidden")
                .bearer_auth(&app.token),
        )
        .await;
    assert_outcome(&r, 503, "transient", None);
    assert!(
        !r.text.contains("Bundle"),
        "no data without its audit event"
    );
    // A write still works: its event commits with it, in the store, not in the journal.
    let created = app
        .send_json_as(
            &app.token,
            Method::POST,
            "Patient",
            &json!({"resourceType": "Patient"}),
        )
        .await;
    assert_eq!(created.status, 201);
    let store = carebridge::store::Store::open(&app.database_url)
        .await
        .expect("store");
    let writes = carebridge::audit::stored::select(
        store.backend(),
        &carebridge::store::audit::AuditSelect::ChainPage {
            chain: "gateway.writes",
            after: 0,
            limit: 10,
        },
    )
    .await
    .expect("rows");
    assert_eq!(writes.len(), 1, "the write has its event");
    // Reads stay refused (fail-closed until restart).
    let again = app
        .send(
            app.anonymous(Method::GET, "Patient")
                .bearer_auth(&app.token),
        )
        .await;
    assert_eq!(again.status, 503);
    assert_eq!(
        again
            .headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1"),
        "a 503 says when to try again"
    );
    // A gateway that can serve nothing does not look ready.
    let ready = app.get(&format!("{}/readyz", app.root)).await;
    assert_eq!(ready.status, 503, "{}", ready.text);
    assert_eq!(app.get(&format!("{}/healthz", app.root)).await.status, 200);
}

#[tokio::test]
async fn verify_finds_an_altered_a_removed_and_a_swapped_event() {
    let tampering = [
        (
            "UPDATE audit_event SET body = CAST('{\"t\":0,\"status\":404}' AS BLOB) \
             WHERE chain = (SELECT id FROM audit_term WHERE text = 'gateway') AND seq = 2",
            "altered",
        ),
        (
            "UPDATE audit_event SET recorded = recorded + 1 \
             WHERE chain = (SELECT id FROM audit_term WHERE text = 'gateway') AND seq = 2",
            "altered",
        ),
        (
            "DELETE FROM audit_event \
             WHERE chain = (SELECT id FROM audit_term WHERE text = 'gateway') AND seq = 2",
            "missing",
        ),
        (
            "CREATE TEMP TABLE c AS SELECT id FROM audit_term WHERE text = 'gateway'; \
             UPDATE audit_event SET seq = -1 WHERE chain = (SELECT id FROM c) AND seq = 2; \
             UPDATE audit_event SET seq = 2 WHERE chain = (SELECT id FROM c) AND seq = 3; \
             UPDATE audit_event SET seq = 3 WHERE chain = (SELECT id FROM c) AND seq = -1;",
            "altered",
        ),
    ];
    for (sql, reason) in tampering {
        let app = spawn_app_on_sqlite().await;
        let auditor = app.token_for("auditor", None, None);
        for _ in 0..4 {
            app.send(
                app.anonymous(Method::GET, "metadata")
                    .bearer_auth(&app.token),
            )
            .await
            .assert_status(200);
        }
        let verify = || {
            app.anonymous(Method::GET, "$audit-verify")
                .bearer_auth(&auditor)
        };
        let intact = app.send(verify()).await.json();
        assert_eq!(param(&intact, "intact")["valueBoolean"], true, "{intact}");
        let verified = param(&intact, "verified")["valueInteger"].as_i64();
        assert!(verified >= Some(4), "{intact}");

        let path = app.database_url.trim_start_matches("sqlite://").to_owned();
        let conn = rusqlite::Connection::open(&path).expect("open");
        conn.execute_batch(sql).expect("tampered");
        drop(conn);
        let broken = app.send(verify()).await.json();
        assert_eq!(param(&broken, "intact")["valueBoolean"], false, "{sql}");
        assert_eq!(param(&broken, "broken-chain")["valueString"], "gateway");
        assert_eq!(param(&broken, "broken-at")["valueInteger"], 2, "{sql}");
        let text = param(&broken, "reason")["valueString"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(text.contains(reason), "{sql}: {text}");
    }
}

#[tokio::test]
async fn only_auditors_and_systems_may_verify() {
    let app = spawn_app_on_sqlite().await;
    let gp = app.token_for("gp", Some("A81001"), None);
    let refused = app
        .send(app.anonymous(Method::GET, "$audit-verify").bearer_auth(&gp))
        .await;
    assert_outcome(&refused, 403, "forbidden", None);
}

#[tokio::test]
async fn audit_export_gives_the_period_as_ndjson_to_auditors() {
    let app = spawn_app_on_sqlite().await;
    let store = carebridge::store::Store::open(&app.database_url)
        .await
        .expect("store");
    let day = |d: &str| {
        carebridge::search::date::parse_range(d)
            .map(|r| r.lo + 3_600_000)
            .unwrap_or_default()
    };
    for (i, d) in [
        "2026-10-31",
        "2026-11-01",
        "2026-11-15",
        "2026-11-30",
        "2026-12-01",
    ]
    .iter()
    .enumerate()
    {
        carebridge::audit::stored::append_by_tool(
            &store,
            day(d),
            format!("{{\"resourceType\":\"AuditEvent\",\"n\":{i}}}"),
        )
        .await
        .expect("appended");
    }
    let auditor = app.token_for("auditor", None, None);
    let r = app
        .send(
            app.anonymous(Method::GET, "$audit-export?start=2026-11-01&end=2026-11-30")
                .bearer_auth(&auditor),
        )
        .await;
    r.assert_status(200);
    assert_eq!(r.header("content-type"), Some("application/fhir+ndjson"));
    let lines: Vec<Value> = r
        .text
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON resource per line"))
        .collect();
    let ns: Vec<i64> = lines.iter().filter_map(|l| l["n"].as_i64()).collect();
    assert_eq!(
        ns,
        vec![1, 2, 3],
        "the whole of the last day, nothing outside the period"
    );
    // Its storage id: the gateway may have copied its own events in before these.
    let stored = carebridge::audit::stored::select(
        store.backend(),
        &carebridge::store::audit::AuditSelect::ExportPage {
            after: 0,
            from: None,
            to: None,
            limit: 100,
        },
    )
    .await
    .expect("stored rows");
    let id_of_n1 = stored
        .iter()
        .find(|r| r.body.contains("\"n\":1"))
        .map(|r| r.id.to_string());
    assert_eq!(
        lines[0]["id"].as_str(),
        id_of_n1.as_deref(),
        "each event carries its storage id as id"
    );

    let bad = app
        .send(
            app.anonymous(Method::GET, "$audit-export?start=soon")
                .bearer_auth(&auditor),
        )
        .await;
    assert_outcome(&bad, 400, "invalid", None);
    let gp = app.token_for("gp", Some("A81001"), None);
    let refused = app
        .send(app.anonymous(Method::GET, "$audit-export").bearer_auth(&gp))
        .await;
    assert_outcome(&refused, 403, "forbidden", None);
}

/// The `AuditEvent` search as `token`: the Bundle.
async fn audit_search(app: &TestApp, token: &str, query: &str) -> Value {
    let r = app
        .send(
            app.anonymous(Method::GET, &format!("AuditEvent?{query}"))
                .bearer_auth(token),
        )
        .await;
    r.assert_status(200);
    r.json()
}

/// Practice A81001 with two registered patients: their ids and a token of the practice's GP.
async fn practice_with_two_patients(app: &TestApp) -> (String, String, String) {
    let practice = app
        .create_id(&json!({"resourceType": "Organization", "name": "P",
            "identifier": [{"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "A81001"}]}))
        .await;
    let registered = json!({"resourceType": "Patient",
        "generalPractitioner": [{"reference": format!("Organization/{practice}")}]});
    let ann = app.create_id(&registered).await;
    let bob = app.create_id(&registered).await;
    let gp = app.token_for("gp", Some("A81001"), None);
    (ann, bob, gp)
}

fn resources(bundle: &Value) -> Vec<Value> {
    bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["resource"].clone())
        .collect()
}

#[tokio::test]
async fn auditors_search_by_patient_agent_action_outcome_and_entity_with_paging() {
    let app = spawn_app().await;
    let (ann, bob, gp) = practice_with_two_patients(&app).await;
    let get = |path: String| app.send(app.anonymous(Method::GET, &path).bearer_auth(&gp));
    get(format!("Patient/{ann}")).await.assert_status(200);
    get(format!("Patient/{ann}")).await.assert_status(200);
    get(format!("Patient/{bob}")).await.assert_status(200);
    get("Patient".into()).await.assert_status(200);
    get("Patient/nobody".into()).await.assert_status(404);

    let auditor = app.token_for("auditor", None, None);
    let about_ann =
        resources(&audit_search(&app, &auditor, &format!("patient=Patient/{ann}")).await);
    assert_eq!(about_ann.len(), 3, "two reads and the search");
    let reads =
        resources(&audit_search(&app, &auditor, "agent-role=gp&subtype=read&outcome=0").await);
    assert_eq!(reads.len(), 3, "{reads:#?}");
    let at_practice =
        resources(&audit_search(&app, &auditor, "organization=A81001&date=ge2026-01-01").await);
    assert_eq!(at_practice.len(), 5, "every request the practice made");
    let failed = resources(&audit_search(&app, &auditor, "outcome=4&agent-role=gp").await);
    assert_eq!(failed.len(), 1);
    let bob_entity = resources(
        &audit_search(
            &app,
            &auditor,
            &format!("entity=Patient/{bob}&agent-role=gp"),
        )
        .await,
    );
    assert_eq!(
        bob_entity.len(),
        2,
        "his read and the search that returned him"
    );
    let none = resources(&audit_search(&app, &auditor, "date=lt2020-01-01").await);
    assert!(none.is_empty());

    // Paging: one at a time, oldest first, no repeats, to the end.
    let mut seen = Vec::new();
    let mut next = Some("agent-role=gp&subtype=read&_count=1&_sort=date".to_owned());
    while let Some(q) = next {
        let page = audit_search(&app, &auditor, &q).await;
        seen.extend(resources(&page).into_iter().map(|e| e["recorded"].clone()));
        next = page["link"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|l| l["relation"] == "next")
            .and_then(|l| l["url"].as_str())
            .and_then(|u| u.split_once('?').map(|(_, q)| q.to_owned()));
    }
    assert_eq!(seen.len(), 4, "three reads and the one of nobody");
    let mut sorted = seen.clone();
    sorted.sort_by_key(|v| v.as_str().unwrap_or_default().to_owned());
    assert_eq!(seen, sorted, "oldest first");

    let bad = app
        .send(
            app.anonymous(Method::GET, "AuditEvent?name=x")
                .bearer_auth(&auditor),
        )
        .await;
    assert_outcome(&bad, 400, "invalid", None);
    let refused = app
        .send(app.anonymous(Method::GET, "AuditEvent").bearer_auth(&gp))
        .await;
    assert_outcome(&refused, 403, "forbidden", None);
}

#[tokio::test]
async fn a_patient_sees_who_accessed_their_record_and_nothing_of_others() {
    let app = spawn_app().await;
    let (ann, bob, gp) = practice_with_two_patients(&app).await;
    for path in [
        format!("Patient/{ann}"),
        format!("Patient/{bob}"),
        "Patient".into(),
    ] {
        app.send(app.anonymous(Method::GET, &path).bearer_auth(&gp))
            .await
            .assert_status(200);
    }
    let me = app.token_for("patient", None, Some(&ann));
    // A filter on another person's record would probe it through her own events (was it touched
    // with mine?): it matches nothing, counted or listed, though the search that returned both
    // patients is among her events.
    for probe in [
        format!("patient=Patient/{bob}"),
        format!("entity=Patient/{bob}"),
    ] {
        let bundle = audit_search(&app, &me, &probe).await;
        assert!(resources(&bundle).is_empty(), "{probe}");
        let counted = audit_search(&app, &me, &format!("{probe}&_summary=count")).await;
        assert_eq!(counted["total"], 0, "{probe}");
    }
    {
        let query = "";
        let bundle = audit_search(&app, &me, query).await;
        // (Its links echo what she asked; the events are what must not name others.)
        let text = Value::Array(resources(&bundle)).to_string();
        assert!(
            !text.contains(&bob),
            "{query}: another patient's data: {text}"
        );
        let events = resources(&bundle);
        assert!(!events.is_empty(), "{query}");
        for e in &events {
            assert!(e.to_string().contains(&ann));
            assert_eq!(e["agent"][0]["role"][1]["coding"][0]["code"], "A81001");
            assert!(
                e["agent"][0]["who"].get("identifier").is_none(),
                "the member of staff is not named"
            );
        }
    }
    let mine = resources(&audit_search(&app, &me, "").await);
    assert_eq!(
        mine.len(),
        2,
        "the read of her record and the search that returned it"
    );
    // Another patient's event is missing, not forbidden.
    let auditor = app.token_for("auditor", None, None);
    let bobs = resources(
        &audit_search(
            &app,
            &auditor,
            &format!("patient=Patient/{bob}&subtype=read"),
        )
        .await,
    );
    let id = bobs[0]["id"].as_str().unwrap_or_default().to_owned();
    let r = app
        .send(
            app.anonymous(Method::GET, &format!("AuditEvent/{id}"))
                .bearer_auth(&me),
        )
        .await;
    r.assert_status(404);
}

#[tokio::test]
async fn a_write_whose_event_cannot_be_stored_is_not_made() {
    let app = spawn_app_on_sqlite().await;
    let count = || async {
        app.search("Patient", "_summary=count").await.json()["total"]
            .as_i64()
            .unwrap_or(-1)
    };
    let before = count().await;
    // The store stops accepting write events (the journal still takes the rest).
    let path = app.database_url.trim_start_matches("sqlite://").to_owned();
    let conn = rusqlite::Connection::open(&path).expect("open");
    conn.execute_batch(
        "CREATE TRIGGER writes_down BEFORE INSERT ON audit_event \
         WHEN NEW.chain IN (SELECT id FROM audit_term WHERE text LIKE '%.writes') \
         BEGIN SELECT RAISE(FAIL, 'audit down'); END;",
    )
    .expect("trigger");
    drop(conn);
    let r = app
        .send_json_as(
            &app.token,
            Method::POST,
            "Patient",
            &json!({"resourceType": "Patient", "name": [{"family": "Unrecorded"}]}),
        )
        .await;
    assert_outcome(&r, 503, "transient", None);
    assert_eq!(count().await, before, "a refused write changes nothing");
    let found = app.search("Patient", "family=Unrecorded").await.json();
    assert_eq!(found["entry"].as_array().map(Vec::len).unwrap_or(0), 0);
}

#[tokio::test]
async fn every_interaction_type_leaves_exactly_one_valid_event() {
    let app = spawn_app().await;
    let id = app
        .create_id(&json!({"resourceType": "Patient", "name": [{"family": "A"}]}))
        .await;
    let get = |path: String| {
        let r = app.anonymous(Method::GET, &path).bearer_auth(&app.token);
        app.send(r)
    };
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"request": {"method": "GET", "url": format!("Patient/{id}")}}]});
    let cases: Vec<(&str, Resp)> = vec![
        ("read", get(format!("Patient/{id}")).await),
        ("vread", get(format!("Patient/{id}/_history/1")).await),
        (
            "history-instance",
            get(format!("Patient/{id}/_history")).await,
        ),
        ("history-type", get("Patient/_history".into()).await),
        ("history-system", get("_history".into()).await),
        ("search-type", get("Patient?family=A".into()).await),
        ("capabilities", get("metadata".into()).await),
        (
            "update",
            app.update(&json!({"resourceType": "Patient", "id": id, "name": [{"family": "B"}]}))
                .await,
        ),
        ("transaction", app.bundle(&bundle).await),
        (
            "create",
            app.send_json_as(
                &app.token,
                Method::POST,
                "Patient",
                &json!({"resourceType": "Patient"}),
            )
            .await,
        ),
        ("delete", app.delete("Patient", &id).await),
    ];
    // One event per request: each interaction's subtype appears once (bar the set-up's own).
    let events = app.audit_events().await;
    for (subtype, response) in &cases {
        assert!(response.status < 300, "{subtype}: {}", response.status);
        let matching = events
            .iter()
            .filter(|e| e["subtype"][0]["code"] == *subtype)
            .count();
        let expected = match *subtype {
            // The set-up's create and the case's; the test server's start-up count of versions
            // (a system history read) and the case's.
            "create" | "history-system" => 2,
            _ => 1,
        };
        assert_eq!(matching, expected, "{subtype}");
    }
    for e in &events {
        valid_audit_event(e);
    }
}

/// Fails unless `e` is a valid R4 AuditEvent (fhir-sdk's validation, as for stored resources).
fn valid_audit_event(e: &Value) {
    use carebridge::fhir::ResourceType;
    use carebridge::fhir::validate::{IdRule, validate};
    if let Err(err) = validate(ResourceType::AuditEvent, e, IdRule::Ignored) {
        panic!("not a valid AuditEvent: {err:?}\n{e:#}");
    }
}

/// A client can count the audit log: `_summary=count` and `_count=0` answer the total alone,
/// `_total=accurate` adds it to a page, and a result that fits its page carries it anyway; a
/// patient's count is of their own events only.
#[tokio::test]
async fn audit_searches_carry_a_total_a_client_can_count_with() {
    let app = spawn_app().await;
    let (ann, bob, gp) = practice_with_two_patients(&app).await;
    for path in [
        format!("Patient/{ann}"),
        format!("Patient/{ann}"),
        format!("Patient/{bob}"),
    ] {
        app.send(app.anonymous(Method::GET, &path).bearer_auth(&gp))
            .await
            .assert_status(200);
    }
    let auditor = app.token_for("auditor", None, None);
    let reads = "agent-role=gp&subtype=read";
    for counting in ["_summary=count", "_count=0"] {
        let b = audit_search(&app, &auditor, &format!("{reads}&{counting}")).await;
        assert_eq!(b["total"], 3, "{counting}: {b}");
        assert!(b.get("entry").is_none(), "{counting}: the total alone");
    }
    let page = audit_search(&app, &auditor, &format!("{reads}&_count=2&_total=accurate")).await;
    assert_eq!(page["total"], 3);
    assert_eq!(resources(&page).len(), 2);
    let uncounted = audit_search(&app, &auditor, &format!("{reads}&_count=2")).await;
    assert!(
        uncounted.get("total").is_none(),
        "not counted unless asked: {uncounted}"
    );
    let whole = audit_search(&app, &auditor, reads).await;
    assert_eq!(whole["total"], 3, "the whole result in one page");
    let nothing = audit_search(&app, &auditor, "type=other&_summary=count").await;
    assert_eq!(nothing["total"], 0);

    let me = app.token_for("patient", None, Some(&ann));
    let mine = audit_search(&app, &me, "_summary=count").await;
    let listed = resources(&audit_search(&app, &me, "").await).len();
    assert_eq!(mine["total"], json!(listed), "her events only");
    assert!(listed >= 2, "her two reads at least");
    let bad = app
        .send(
            app.anonymous(Method::GET, "AuditEvent?_summary=text")
                .bearer_auth(&auditor),
        )
        .await;
    assert_outcome(&bad, 400, "invalid", None);
}

/// A request refused at the FHIR base (`GET [base]/?_type=...`, what some clients send for a
/// system search) is audited as valid FHIR: no empty description for the path it asked.
#[tokio::test]
async fn a_request_refused_at_the_base_is_audited_as_valid_fhir() {
    let app = spawn_app().await;
    let gp = app.token_for("gp", Some("A81001"), None);
    let r = app
        .send(
            app.anonymous(Method::GET, "?_type=CarePlan")
                .bearer_auth(&gp),
        )
        .await;
    r.assert_status(405);
    let events = app.audit_events().await;
    let refused = events
        .iter()
        .rev()
        .find(|e| e["outcomeDesc"] == "HTTP 405")
        .expect("the refusal's event");
    assert!(
        !refused.to_string().contains("\"description\":\"\""),
        "{refused}"
    );
}
