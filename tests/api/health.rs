//! Liveness and readiness probes at the server root.

use crate::helpers::*;

#[tokio::test]
async fn healthz_is_200() {
    let app = spawn_app().await;
    let r = app.get(&format!("{}/healthz", app.root)).await;
    r.assert_status(200);
    assert_eq!(r.json()["status"], "ok");
}

#[tokio::test]
async fn readyz_is_200_when_the_store_answers() {
    let app = spawn_app().await;
    let r = app.get(&format!("{}/readyz", app.root)).await;
    r.assert_status(200);
    assert_eq!(r.json()["status"], "ready");
}

on_both_backends! {
    /// Readiness on each backend.
    async fn readyz_reports_ready(app: TestApp) {
        app.get(&format!("{}/readyz", app.root)).await.assert_status(200);
    }
}

#[tokio::test]
async fn probes_are_not_under_the_fhir_base() {
    let app = spawn_app().await;
    app.get("healthz").await.assert_status(404);
}
