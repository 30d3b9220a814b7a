//! Conditional reads: `If-None-Match` and `If-Modified-Since` answer 304 without a body when the
//! client holds the current version, in every shape a read takes (GET, HEAD, vread, a batch
//! entry), audited like any read; consent is decided first, so a hidden resource stays 404 and a
//! redacted one is always sent in full.

use reqwest::Method;
use serde_json::json;

use crate::helpers::*;
use crate::resources::patient_named;
use crate::world::*;

/// `GET`/`HEAD path` with `headers`, as `system`.
async fn get_with(app: &TestApp, method: Method, path: &str, headers: &[(&str, &str)]) -> Resp {
    let mut r = app.req(method, path);
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    app.send(r).await
}

on_both_backends! {
    /// The client's current copy gets 304 with its ETag and no body; a stale one gets the resource.
    async fn a_read_of_an_unchanged_resource_is_304_and_a_changed_one_is_200(app: TestApp) {
        let mut p = app.created(&patient_named("Smith")).await;
        let id = p["id"].as_str().expect("id").to_owned();
        let path = format!("Patient/{id}");
        for (method, tag) in [(Method::GET, "W/\"1\""), (Method::HEAD, "\"1\""), (Method::GET, "*")] {
            let r = get_with(&app, method, &path, &[("If-None-Match", tag)]).await;
            r.assert_status(304);
            assert_eq!(r.header("etag"), Some("W/\"1\""), "{tag}");
            assert!(r.text.is_empty(), "a 304 has no body");
        }
        let r = get_with(&app, Method::GET, &path, &[("If-None-Match", "W/\"7\", W/\"8\"")]).await;
        r.assert_status(200);
        assert_eq!(r.json()["id"], id.as_str());

        p["name"][0]["family"] = json!("Smith-Jones");
        app.update(&p).await.assert_status(200);
        let r = get_with(&app, Method::GET, &path, &[("If-None-Match", "W/\"1\"")]).await;
        r.assert_status(200);
        assert_eq!(r.json()["name"][0]["family"], "Smith-Jones");
        get_with(&app, Method::GET, &path, &[("If-None-Match", "W/\"1\", W/\"2\"")])
            .await
            .assert_status(304);
        // vread: the version named is what the tag is compared with.
        get_with(&app, Method::GET, &format!("{path}/_history/1"), &[("If-None-Match", "W/\"1\"")])
            .await
            .assert_status(304);
    }
}

#[tokio::test]
async fn if_modified_since_compares_with_last_modified_and_yields_to_if_none_match() {
    let app = spawn_app().await;
    let id = app.create_id(&patient_named("Smith")).await;
    let path = format!("Patient/{id}");
    let first = app.read("Patient", &id).await;
    let modified = first
        .header("last-modified")
        .expect("Last-Modified")
        .to_owned();
    get_with(
        &app,
        Method::GET,
        &path,
        &[("If-Modified-Since", &modified)],
    )
    .await
    .assert_status(304);
    let long_ago = "Sun, 06 Nov 1994 08:49:37 GMT";
    get_with(&app, Method::GET, &path, &[("If-Modified-Since", long_ago)])
        .await
        .assert_status(200);
    // Not a date: ignored, as HTTP says.
    get_with(
        &app,
        Method::GET,
        &path,
        &[("If-Modified-Since", "yesterday")],
    )
    .await
    .assert_status(200);
    // If-None-Match decides when both are sent.
    let both = [
        ("If-None-Match", "W/\"9\""),
        ("If-Modified-Since", modified.as_str()),
    ];
    get_with(&app, Method::GET, &path, &both)
        .await
        .assert_status(200);
}

#[tokio::test]
async fn a_304_leaves_a_read_audit_event_naming_the_resource() {
    let app = spawn_app().await;
    let id = app.create_id(&patient_named("Smith")).await;
    let before = app.audit_events().await.len();
    get_with(
        &app,
        Method::GET,
        &format!("Patient/{id}"),
        &[("If-None-Match", "W/\"1\"")],
    )
    .await
    .assert_status(304);
    let events: Vec<_> = app.audit_events().await.into_iter().skip(before).collect();
    assert_eq!(events.len(), 1, "one event for the conditional read");
    assert_eq!(events[0]["subtype"][0]["code"], "read");
    assert_eq!(events[0]["outcome"], "0");
    assert!(
        events[0]["entity"].as_array().is_some_and(|es| es
            .iter()
            .any(|e| e["what"]["reference"] == format!("Patient/{id}/_history/1"))),
        "{}",
        events[0]
    );
}

#[tokio::test]
async fn a_batch_entry_with_if_none_match_answers_304_in_its_entry() {
    let app = spawn_app().await;
    let id = app.create_id(&patient_named("Smith")).await;
    let mut fresh = entry("GET", &format!("Patient/{id}"), None);
    fresh["request"]["ifNoneMatch"] = json!("W/\"1\"");
    let mut stale = entry("GET", &format!("Patient/{id}"), None);
    stale["request"]["ifNoneMatch"] = json!("W/\"0\"");
    let b = json!({"resourceType": "Bundle", "type": "batch", "entry": [fresh, stale]});
    let r = app.bundle(&b).await;
    r.assert_status(200);
    let entries = r.json()["entry"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        entries.iter().map(entry_status).collect::<Vec<_>>(),
        [304, 200]
    );
    assert!(entries[0].get("resource").is_none(), "{}", entries[0]);
    assert_eq!(entries[1]["resource"]["id"], id.as_str());
}

on_both_backends! {
    /// Consent is decided before the precondition: the GP of another practice gets Ann's plan's
    /// 404 whatever it claims to hold, in every shape; housing, which sees the plan redacted,
    /// always gets the redacted body in full.
    async fn a_conditional_read_reveals_nothing_consent_withholds(app: TestApp) {
        let w = world_on(app).await;
        let path = format!("CarePlan/{}", w.ann_plan);
        let other = w.other_gp();
        for tag in ["*", "W/\"1\"", "W/\"2\""] {
            for method in [Method::GET, Method::HEAD] {
                let r = w
                    .app
                    .send(w.app.anonymous(method.clone(), &path).bearer_auth(&other).header("If-None-Match", tag))
                    .await;
                r.assert_status(404);
            }
            let mut e = entry("GET", &path, None);
            e["request"]["ifNoneMatch"] = json!(tag);
            let b = w.bundle_as(&other, "batch", vec![e]).await;
            b.assert_status(200);
            assert_eq!(entry_status(&b.json()["entry"][0]), 404, "{tag}");
        }
        let housing = w.housing();
        let plain = w.get_as(&housing, &path).await;
        plain.assert_status(200);
        let etag = plain.header("etag").expect("an ETag").to_owned();
        let r = w
            .app
            .send(w.app.anonymous(Method::GET, &path).bearer_auth(&housing).header("If-None-Match", etag))
            .await;
        r.assert_status(200);
        assert_eq!(r.json(), plain.json(), "the redacted view, in full");
    }
}
