//! The audit log over HTTP: `$audit-verify` reports an intact chain, and the first event at fault
//! once someone edits the stored log; only auditors and systems may ask.

use reqwest::Method;
use serde_json::Value;

use crate::helpers::*;

fn param<'a>(p: &'a Value, name: &str) -> &'a Value {
    p["parameter"]
        .as_array()
        .and_then(|ps| ps.iter().find(|x| x["name"] == name))
        .unwrap_or(&Value::Null)
}

#[tokio::test]
async fn audit_verify_reports_the_chain_and_the_first_altered_event() {
    let app = spawn_app_on_sqlite().await;
    let auditor = app.token_for("auditor", None, None);
    let verify = || {
        app.anonymous(Method::GET, "$audit-verify")
            .bearer_auth(&auditor)
    };
    let empty = app.send(verify()).await;
    empty.assert_status(200);
    assert_eq!(param(&empty.json(), "intact")["valueBoolean"], true);
    assert_eq!(param(&empty.json(), "verified")["valueInteger"], 0);

    let store = carebridge::store::Store::open(&app.database_url)
        .await
        .expect("store");
    for i in 0..4 {
        carebridge::audit::log::append(&store, 1_790_000_000_000 + i, format!("{{\"n\":{i}}}"))
            .await
            .expect("appended");
    }
    let intact = app.send(verify()).await.json();
    assert_eq!(param(&intact, "intact")["valueBoolean"], true);
    assert_eq!(param(&intact, "verified")["valueInteger"], 4);
    assert_eq!(param(&intact, "head-sequence")["valueInteger"], 4);

    let path = app.database_url.trim_start_matches("sqlite://").to_owned();
    let conn = rusqlite::Connection::open(&path).expect("open");
    conn.execute("DELETE FROM audit_log WHERE seq = 2", [])
        .expect("tampered");
    drop(conn);
    let broken = app.send(verify()).await.json();
    assert_eq!(param(&broken, "intact")["valueBoolean"], false);
    assert_eq!(param(&broken, "broken-at")["valueInteger"], 2);
    assert_eq!(param(&broken, "verified")["valueInteger"], 1);

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
        carebridge::audit::log::append(
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
    assert_eq!(
        lines[0]["id"], "2",
        "each event carries its sequence number as id"
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
