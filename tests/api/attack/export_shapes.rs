//! The Bulk Data URLs in every shape the server accepts: HEAD on a kick-off (refused: it would
//! start a job), on a job's status and file (answered as GET, for its owner only), and a kick-off
//! inside a bundle (refused: send it on its own).

use reqwest::Method;
use serde_json::json;

use super::super::helpers::*;
use super::super::world::*;

/// How many Bulk Data jobs the server's database holds (read past the API: a HEAD or a bundle
/// entry that started a job would not say so).
async fn export_jobs(app: &TestApp) -> i64 {
    const COUNT: &str = "SELECT COUNT(*) FROM export_jobs";
    if let Some(path) = app.database_url.strip_prefix("sqlite://") {
        let conn =
            rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .expect("the database opens");
        conn.query_row(COUNT, [], |r| r.get(0))
            .expect("export jobs counted")
    } else {
        let (client, connection) =
            tokio_postgres::connect(&app.database_url, tokio_postgres::NoTls)
                .await
                .expect("the database opens");
        let conn = tokio::spawn(connection);
        let n = client
            .query_one(COUNT, &[])
            .await
            .expect("export jobs counted")
            .get(0);
        drop(client);
        let _ = conn.await;
        n
    }
}

/// `method path` as `token` with `Prefer: respond-async`.
async fn asking_async(w: &World, token: &str, method: Method, path: &str) -> Resp {
    w.app
        .send(
            w.app
                .anonymous(method, path)
                .bearer_auth(token)
                .header("Prefer", "respond-async"),
        )
        .await
}

/// Runs a CarePlan export as `token` to completion: its status URL and its first file's URL.
async fn finished_export(w: &World, token: &str) -> (String, String) {
    let r = asking_async(w, token, Method::GET, "$export?_type=CarePlan").await;
    r.assert_status(202);
    let status = r
        .header("content-location")
        .expect("a status URL")
        .to_owned();
    for _ in 0..400 {
        let poll = w.get_as(token, &status).await;
        match poll.status {
            202 => tokio::time::sleep(std::time::Duration::from_millis(25)).await,
            200 => {
                let file = poll.json()["output"][0]["url"]
                    .as_str()
                    .expect("a file")
                    .to_owned();
                return (status, file);
            }
            other => panic!("status poll answered {other}: {}", poll.text),
        }
    }
    panic!("the export did not finish");
}

on_both_backends! {
    /// A HEAD kick-off starts no export: HEAD is a GET without its body, and this GET starts a
    /// job, so HEAD is refused (405) and no job appears.
    async fn a_head_kick_off_starts_no_export(app: TestApp) {
        let w = world_on(app).await;
        let gp = w.gp();
        let before = export_jobs(&w.app).await;
        for path in ["$export", "$export?_type=CarePlan", "Patient/$export"] {
            let head = asking_async(&w, &gp, Method::HEAD, path).await;
            assert_eq!(head.status, 405, "HEAD {path}");
            assert!(head.text.is_empty(), "HEAD {path} answered with a body");
            assert!(head.header("content-location").is_none(), "HEAD {path} names a job");
            assert_eq!(export_jobs(&w.app).await, before, "HEAD {path} started a job");
        }
    }
}

on_both_backends! {
    /// HEAD on a job's status URL and on its file answers as GET does, without a body: its owner
    /// gets the status, anyone else the 404 of a job that does not exist. HEAD neither starts,
    /// cancels nor removes anything: the job and its file are still there afterwards.
    async fn head_on_a_job_answers_as_get_and_changes_nothing(app: TestApp) {
        let w = world_on(app).await;
        let gp = w.gp();
        let (status, file) = finished_export(&w, &gp).await;
        let jobs = export_jobs(&w.app).await;
        let missing_job = "_export/no-such-job".to_owned();
        let missing_file = format!("{status}/99");
        let others = [
            w.other_gp(),
            w.housing(),
            w.app.token_for("gp", Some("A81001"), Some(&w.ann)),
            w.app.token.clone(),
        ];
        for url in [&status, &file, &missing_job, &missing_file] {
            for token in others.iter().chain([&gp]) {
                let get = w.get_as(token, url).await;
                let head = w
                    .app
                    .send(w.app.anonymous(Method::HEAD, url).bearer_auth(token))
                    .await;
                assert_eq!(head.status, get.status, "HEAD {url} differs from GET");
                assert!(head.text.is_empty(), "HEAD {url} answered with a body");
                let expected = if token == &gp && (url == &status || url == &file) { 200 } else { 404 };
                assert_eq!(get.status, expected, "GET {url}: {}", get.text);
            }
        }
        assert_eq!(export_jobs(&w.app).await, jobs, "no job started or removed");
        w.get_as(&gp, &status).await.assert_status(200);
        w.get_as(&gp, &file).await.assert_status(200);
    }
}

on_both_backends! {
    /// A `$export` kick-off inside a batch is refused for that entry (400, send it on its own)
    /// and inside a transaction refuses the bundle, whatever the URL's shape, the method (GET or
    /// HEAD) or a `Prefer: respond-async` on the bundle; no job starts. A job's status and file
    /// URLs are not answered inside a bundle either: no manifest or NDJSON leaks into one.
    async fn an_export_inside_a_bundle_is_refused_and_starts_nothing(app: TestApp) {
        let w = world_on(app).await;
        let gp = w.gp();
        let (status, file) = finished_export(&w, &gp).await;
        let before = export_jobs(&w.app).await;
        let kick_offs = [
            "$export".to_owned(),
            "$export?_type=CarePlan".to_owned(),
            format!("{}/$export", w.app.base),
            "/fhir/$export".to_owned(),
            "Patient/$export".to_owned(),
            format!("{}/Patient/$export", w.app.base),
        ];
        for url in kick_offs.iter().chain([&status, &file]) {
            for method in ["GET", "HEAD"] {
                // HEAD on a kick-off is 405 wherever it is sent (it would start a job).
                let head_kick_off = method == "HEAD" && kick_offs.contains(url);
                for prefer in [false, true] {
                    let body = json!({"resourceType": "Bundle", "type": "batch",
                        "entry": [entry(method, url, None)]});
                    let mut rb = w
                        .app
                        .anonymous(Method::POST, "")
                        .bearer_auth(&gp)
                        .header("content-type", "application/fhir+json")
                        .body(body.to_string());
                    if prefer {
                        rb = rb.header("Prefer", "respond-async");
                    }
                    let b = w.app.send(rb).await;
                    b.assert_status(200);
                    let e = &b.entries()[0];
                    let expected = if head_kick_off { 405 } else { 400 };
                    assert_eq!(entry_status(e), expected, "{method} {url} (prefer {prefer}): {}", b.text);
                    assert!(e.get("resource").is_none(), "{method} {url}: {}", b.text);
                    let outcome = e["response"]["outcome"].to_string();
                    assert!(
                        head_kick_off || outcome.contains("on its own"),
                        "{method} {url}: {outcome}"
                    );
                    assert!(!b.text.contains("\"output\""), "a manifest leaked: {}", b.text);
                }
                let tx = w.bundle_as(&gp, "transaction", vec![entry(method, url, None)]).await;
                if head_kick_off {
                    assert_outcome(&tx, 405, "not-supported", None);
                } else {
                    assert_outcome(&tx, 400, "invalid", None);
                }
                assert!(tx.header("content-location").is_none(), "{method} {url}");
            }
        }
        assert_eq!(export_jobs(&w.app).await, before, "no job started");
    }
}
