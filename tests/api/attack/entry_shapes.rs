//! `$validate` and PATCH as bundle entries (relative and absolute URLs) answer as the plain
//! request does, and a refused one changes nothing.

use reqwest::Method;
use serde_json::{Value, json};

use super::super::helpers::*;
use super::super::world::*;

/// The issues of an OperationOutcome as (severity, code, first expression), sorted.
fn issues(outcome: &Value) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = outcome["issue"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| {
            let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            (
                text(&i["severity"]),
                text(&i["code"]),
                text(&i["expression"][0]),
            )
        })
        .collect();
    out.sort();
    out
}

/// A `$validate` case: its name, the caller's token, the path, the body, the status expected and
/// the code of the one error issue a 200 carries (none: valid).
type ValidateCase<'a> = (
    &'a str,
    &'a String,
    String,
    Option<&'a Value>,
    u16,
    Option<&'a str>,
);

/// A batch entry's outcome: `response.outcome`, or an OperationOutcome given as its resource.
fn entry_outcome(e: &Value) -> Value {
    match e.get("resource") {
        Some(r) if r["resourceType"] == "OperationOutcome" => r.clone(),
        _ => e["response"]["outcome"].clone(),
    }
}

on_both_backends! {
    /// `$validate` answers the same directly and as a POST entry of a batch (relative or absolute
    /// URL): a role that may not write care plans is refused (403), an instance the caller cannot
    /// see is missing (404), a writer hears that it may not write for a person it does not care
    /// for, nor delete, and that a write it may make is valid. Nothing is stored.
    async fn validate_answers_alike_directly_and_as_a_batch_entry(app: TestApp) {
        let w = world_on(app).await;
        let plan_path = format!("CarePlan/{}", w.ann_plan);
        let plan = w.get_as(&w.app.token, &plan_path).await.json();
        let for_bob = crate::sharing::plan(
            &w.bob,
            "gp",
            vec![crate::sharing::activity("physical", "pain", None)],
        );
        let before = w.app.version_count().await;
        let housing = w.housing();
        let stranger = w.app.token_for("link-worker", Some("L9999"), None);
        let link = w.app.token_for("link-worker", Some("L0001"), None);
        let update = format!("{plan_path}/$validate?mode=update");
        let cases: Vec<ValidateCase<'_>> = vec![
            ("housing, type level", &housing, "CarePlan/$validate".to_owned(), Some(&plan), 403, None),
            ("housing, instance", &housing, format!("{plan_path}/$validate"), Some(&plan), 403, None),
            ("stranger, hidden instance", &stranger, update.clone(), Some(&plan), 404, None),
            (
                "link worker, for Bob",
                &link,
                "CarePlan/$validate?mode=create".to_owned(),
                Some(&for_bob),
                200,
                Some("forbidden"),
            ),
            ("link worker, update", &link, update.clone(), Some(&plan), 200, None),
            (
                "link worker, delete",
                &link,
                format!("{plan_path}/$validate?mode=delete"),
                None,
                200,
                Some("forbidden"),
            ),
        ];
        for (case, token, path, body, status, error) in cases {
            let direct = match body {
                Some(b) => w.send_as(token, Method::POST, &path, b).await,
                None => {
                    w.app
                        .send(w.app.anonymous(Method::POST, &path).bearer_auth(token))
                        .await
                }
            };
            direct.assert_status(status);
            let direct_issues = issues(&direct.json());
            let errors: Vec<&String> = direct_issues
                .iter()
                .filter(|i| i.0 == "error")
                .map(|i| &i.1)
                .collect();
            match (status, error) {
                (200, None) => assert!(errors.is_empty(), "{case}: {}", direct.text),
                (200, Some(code)) => assert_eq!(errors, vec![code], "{case}: {}", direct.text),
                _ => assert!(!errors.is_empty(), "{case}: {}", direct.text),
            }
            for (name, url) in [
                ("relative", path.clone()),
                ("absolute", format!("{}/{path}", w.app.base)),
            ] {
                let b = w
                    .bundle_as(token, "batch", vec![entry("POST", &url, body.cloned())])
                    .await;
                b.assert_status(200);
                let e = &b.entries()[0];
                assert_eq!(entry_status(e), status, "{case}: {name} entry: {}", b.text);
                assert_eq!(
                    issues(&entry_outcome(e)),
                    direct_issues,
                    "{case}: {name} entry's outcome differs: {}",
                    b.text
                );
            }
        }
        assert_eq!(w.app.version_count().await, before, "nothing stored");
    }
}

/// A bundle entry patching `url` with a JSON Patch (as a Binary, per FHIR) setting the title.
fn title_patch(url: &str, title: &str) -> Value {
    use base64::Engine as _;
    let ops = json!([{"op": "add", "path": "/title", "value": title}]);
    let binary = json!({"resourceType": "Binary", "contentType": "application/json-patch+json",
        "data": base64::engine::general_purpose::STANDARD.encode(ops.to_string())});
    entry("PATCH", url, Some(binary))
}

/// Ann's plan as stored: its version and title.
async fn plan_state(w: &World) -> (String, Value) {
    let p = w.app.read("CarePlan", &w.ann_plan).await.json();
    (
        p["meta"]["versionId"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        p["title"].clone(),
    )
}

on_both_backends! {
    /// A JSON Patch entry gets the same answer with a relative URL, an absolute URL and an
    /// absolute path, in a batch and in a transaction: Ann's link service patches her plan in
    /// each (one new version each); housing is refused (403) and a stranger told it is missing
    /// (404) in each, as by a plain PATCH, and the plan keeps its version and title.
    async fn a_patch_entry_answers_alike_with_a_relative_or_absolute_url(app: TestApp) {
        let w = world_on(app).await;
        let path = format!("CarePlan/{}", w.ann_plan);
        let urls = [
            ("relative", path.clone()),
            ("absolute", format!("{}/{path}", w.app.base)),
            ("absolute path", format!("/fhir/{path}")),
        ];
        let link = w.app.token_for("link-worker", Some("L0001"), None);
        for (name, url) in &urls {
            for kind in ["batch", "transaction"] {
                let (version, _) = plan_state(&w).await;
                let title = format!("{kind} {name}");
                let r = w.bundle_as(&link, kind, vec![title_patch(url, &title)]).await;
                r.assert_status(200);
                let e = &r.entries()[0];
                assert_eq!(entry_status(e), 200, "{kind} {name}: {}", r.text);
                let (now, stored) = plan_state(&w).await;
                let next = version.parse::<u64>().unwrap_or_default() + 1;
                assert_eq!(now, next.to_string(), "{kind} {name}: one new version");
                assert_eq!(stored, json!(title), "{kind} {name}");
                assert_eq!(e["response"]["etag"], format!("W/\"{now}\""), "{kind} {name}");
            }
        }
        let before = w.app.version_count().await;
        let state = plan_state(&w).await;
        let stranger = w.app.token_for("link-worker", Some("L9999"), None);
        for (who, token, status, code) in [
            ("housing", w.housing(), 403, "forbidden"),
            ("stranger", stranger, 404, "not-found"),
        ] {
            let ops = json!([{"op": "add", "path": "/title", "value": "Taken over"}]);
            let plain = w
                .app
                .send(
                    w.app
                        .anonymous(Method::PATCH, &path)
                        .bearer_auth(&token)
                        .header("content-type", "application/json-patch+json")
                        .body(ops.to_string()),
                )
                .await;
            let plain_issue = assert_outcome(&plain, status, code, None);
            for (name, url) in &urls {
                let b = w.bundle_as(&token, "batch", vec![title_patch(url, "Taken over")]).await;
                b.assert_status(200);
                let e = &b.entries()[0];
                assert_eq!(entry_status(e), status, "{who}: batch {name}: {}", b.text);
                assert_eq!(
                    issues(&entry_outcome(e)),
                    issues(&json!({"issue": [plain_issue.clone()]})),
                    "{who}: batch {name}: {}",
                    b.text
                );
                let tx = w
                    .bundle_as(&token, "transaction", vec![title_patch(url, "Taken over")])
                    .await;
                assert_outcome(&tx, status, code, None);
            }
            assert_eq!(plan_state(&w).await, state, "{who}: the plan is unchanged");
        }
        assert_eq!(w.app.version_count().await, before, "nothing refused was written");
    }
}
