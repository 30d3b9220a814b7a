//! `PATCH [type]/[id]` (and `PATCH [type]?criteria`, and patch entries in batches and transactions)
//! with JSON Patch or FHIRPath Patch: applied to the current version and written as the update it
//! makes (validated, version-checked, audited); refused whole when any operation cannot apply;
//! only by a caller who may update the resource and sees it whole.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::resources::patient_named;
use crate::world::*;

/// `PATCH path` with `ops` as `application/json-patch+json`, `token`, and `If-Match` when given.
async fn patch_as(
    app: &TestApp,
    token: &str,
    path: &str,
    ops: &Value,
    if_match: Option<&str>,
) -> Resp {
    let mut r = app
        .anonymous(Method::PATCH, path)
        .bearer_auth(token)
        .header("content-type", "application/json-patch+json")
        .body(ops.to_string());
    if let Some(m) = if_match {
        r = r.header("if-match", m);
    }
    app.send(r).await
}

on_both_backends! {
    async fn a_json_patch_changes_what_it_names_and_nothing_else(app: TestApp) {
        let id = app.create_id(&patient_named("Smith")).await;
        let path = format!("Patient/{id}");
        let token = app.token.clone();
        let ops = json!([{"op": "replace", "path": "/name/0/family", "value": "Jones"},
            {"op": "add", "path": "/gender", "value": "female"}]);
        let r = patch_as(&app, &token, &path, &ops, Some("W/\"1\"")).await;
        r.assert_status(200);
        assert_eq!(r.header("etag"), Some("W/\"2\""));
        let now = app.read("Patient", &id).await.json();
        assert_eq!(now["name"][0]["family"], "Jones");
        assert_eq!(now["gender"], "female");
        // Without If-Match it applies to the current version.
        let r = patch_as(&app, &token, &path, &json!([{"op": "remove", "path": "/gender"}]), None).await;
        r.assert_status(200);
        assert!(app.read("Patient", &id).await.json().get("gender").is_none());
        let before = app.version_count().await;
        // A stale version, a failed test, an operation that cannot apply, an invalid result, a
        // malformed patch, FHIRPath Patch and another media type: refused, nothing written.
        let stale = patch_as(&app, &token, &path, &ops, Some("W/\"1\"")).await;
        stale.assert_status(412);
        let test = json!([{"op": "test", "path": "/name/0/family", "value": "Smith"},
            {"op": "replace", "path": "/name/0/family", "value": "Brown"}]);
        assert_outcome(&patch_as(&app, &token, &path, &test, None).await, 422, "processing", None);
        let missing = json!([{"op": "remove", "path": "/telecom/0"}]);
        assert_outcome(&patch_as(&app, &token, &path, &missing, None).await, 422, "processing", None);
        let invalid = json!([{"op": "add", "path": "/favouriteColour", "value": "blue"}]);
        let r = patch_as(&app, &token, &path, &invalid, None).await;
        assert!(matches!(r.status, 400 | 422), "{}", r.text);
        let malformed = json!({"op": "add"});
        assert_outcome(&patch_as(&app, &token, &path, &malformed, None).await, 400, "invalid", None);
        let bad_fhirpath = json!({"resourceType": "Parameters", "parameter": [{"name": "operation",
            "part": [{"name": "type", "valueCode": "replace"}, {"name": "path", "valueString": "Patient.gender.exists()"},
                     {"name": "value", "valueCode": "male"}]}]});
        let r = app
            .send(app.req(Method::PATCH, &path).header("content-type", "application/fhir+json").body(bad_fhirpath.to_string()))
            .await;
        assert_outcome(&r, 400, "invalid", None);
        let r = app
            .send(app.req(Method::PATCH, &path).header("content-type", "text/plain").body("[]"))
            .await;
        r.assert_status(415);
        assert_eq!(app.version_count().await, before, "nothing refused was written");
        assert_eq!(app.read("Patient", &id).await.json()["name"][0]["family"], "Jones");
    }
}

on_both_backends! {
    /// Who may patch is who may update, and only a caller who sees the resource whole: a stranger
    /// gets the 404 of a missing plan, housing (which reads it redacted and writes no plans) 403,
    /// Ann's link service the patch.
    async fn a_patch_is_an_update_by_the_same_rules(app: TestApp) {
        let w = world_on(app).await;
        let path = format!("CarePlan/{}", w.ann_plan);
        let ops = json!([{"op": "add", "path": "/title", "value": "Ann's plan"}]);
        let stranger = w.app.token_for("link-worker", Some("L9999"), None);
        let r = patch_as(&w.app, &stranger, &path, &ops, None).await;
        assert_outcome(&r, 404, "not-found", None);
        let missing = patch_as(&w.app, &stranger, "CarePlan/no-such-plan", &ops, None).await;
        assert_eq!(missing.text, r.text.replace(&w.ann_plan, "no-such-plan"), "alike");
        let r = patch_as(&w.app, &w.housing(), &path, &ops, None).await;
        assert_outcome(&r, 403, "forbidden", None);
        let link = w.app.token_for("link-worker", Some("L0001"), None);
        let r = patch_as(&w.app, &link, &path, &ops, None).await;
        r.assert_status(200);
        assert_eq!(w.app.read("CarePlan", &w.ann_plan).await.json()["title"], "Ann's plan");
    }
}

/// One FHIRPath Patch operation: type, path, and the name and value it adds (when it adds).
type PathOp<'a> = (&'a str, &'a str, Option<(&'a str, Value)>);

/// A FHIRPath Patch `Parameters` body.
fn fhirpath(ops: &[PathOp<'_>]) -> Value {
    let parameter: Vec<Value> = ops
        .iter()
        .map(|(kind, path, named)| {
            let mut part = vec![
                json!({"name": "type", "valueCode": kind}),
                json!({"name": "path", "valueString": path}),
            ];
            if let Some((name, value)) = named {
                part.push(json!({"name": "name", "valueString": name}));
                part.push(json!({"name": "value", "valueString": value}));
            }
            json!({"name": "operation", "part": part})
        })
        .collect();
    json!({"resourceType": "Parameters", "parameter": parameter})
}

on_both_backends! {
    /// A FHIRPath Patch, a conditional patch, and patch entries of a batch and a transaction each
    /// change what they name, as the caller; a transaction with a failing patch writes nothing.
    async fn fhirpath_conditional_and_bundled_patches_apply(app: TestApp) {
        let w = world_on(app).await;
        let link = w.app.token_for("link-worker", Some("L0001"), None);
        let path = format!("CarePlan/{}", w.ann_plan);
        let body = fhirpath(&[("add", "CarePlan", Some(("title", json!("Ann's plan"))))]);
        let r = w.send_as(&link, Method::PATCH, &path, &body).await;
        r.assert_status(200);
        assert_eq!(r.json()["title"], "Ann's plan");

        // Conditional: the one plan the caller's search finds.
        let by_subject = format!("CarePlan?subject=Patient/{}", w.ann);
        let body = fhirpath(&[("replace", "CarePlan.title", Some(("value", json!("Ann's revised plan"))))]);
        let body = {
            let mut b = body;
            // `replace` takes a value only.
            if let Some(p) = b["parameter"][0]["part"].as_array_mut() {
                p.retain(|x| x["name"] != "name");
            }
            b
        };
        w.send_as(&link, Method::PATCH, &by_subject, &body).await.assert_status(200);
        assert_eq!(w.app.read("CarePlan", &w.ann_plan).await.json()["title"], "Ann's revised plan");
        // None found (a stranger sees no plan of Ann's): 404; nothing at all: 404.
        let stranger = w.app.token_for("link-worker", Some("L9999"), None);
        assert_outcome(&w.send_as(&stranger, Method::PATCH, &by_subject, &body).await, 404, "not-found", None);
        // Several: 412.
        let r = w.send_as(&w.app.token.clone(), Method::PATCH, "CarePlan?status=active", &body).await;
        r.assert_status(412);

        // A batch: a JSON Patch in a Binary and a FHIRPath Patch.
        use base64::Engine as _;
        let ops = json!([{"op": "replace", "path": "/title", "value": "From a batch"}]);
        let binary = json!({"resourceType": "Binary", "contentType": "application/json-patch+json",
            "data": base64::engine::general_purpose::STANDARD.encode(ops.to_string())});
        let r = w
            .bundle_as(&link, "batch", vec![
                entry("PATCH", &path, Some(binary.clone())),
                entry("PATCH", &format!("CarePlan/{}", w.bob_plan), Some(binary.clone())),
            ])
            .await;
        r.assert_status(200);
        let entries = r.json()["entry"].as_array().cloned().unwrap_or_default();
        assert_eq!(entry_status(&entries[0]), 200);
        assert_eq!(entry_status(&entries[1]), 404, "Bob's plan is not the link service's to see");
        assert_eq!(w.app.read("CarePlan", &w.ann_plan).await.json()["title"], "From a batch");

        // A transaction: all or nothing.
        let good = fhirpath(&[("add", "CarePlan", Some(("created", json!("2026-11-30"))))]);
        let failing = json!({"resourceType": "Parameters", "parameter": [{"name": "operation", "part": [
            {"name": "type", "valueCode": "delete"}, {"name": "path", "valueString": "CarePlan.title.first().where(1 = 2)"}]}]});
        let r = w
            .bundle_as(&link, "transaction", vec![
                entry("PATCH", &path, Some(good.clone())),
                entry("PATCH", "CarePlan/no-such-plan", Some(failing)),
            ])
            .await;
        assert!(r.status >= 400, "{}", r.text);
        assert!(w.app.read("CarePlan", &w.ann_plan).await.json().get("created").is_none());
        let r = w
            .bundle_as(&link, "transaction", vec![entry("PATCH", &path, Some(good))])
            .await;
        r.assert_status(200);
        assert_eq!(w.app.read("CarePlan", &w.ann_plan).await.json()["created"], "2026-11-30");
    }
}
