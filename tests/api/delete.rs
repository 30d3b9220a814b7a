//! `DELETE [type]/[id]` and `DELETE [type]?criteria`: logical deletes that history still shows.

use reqwest::Method;

use crate::helpers::*;
use crate::resources::*;

#[tokio::test]
async fn delete_returns_204_then_read_is_410_and_history_shows_the_delete() {
    let app = spawn_app().await;
    let id = app.create_id(&patient(JANE_NHS, "Smith", "Jane")).await;
    let r = app.delete("Patient", &id).await;
    r.assert_status(204);
    assert_eq!(r.text, "");
    assert_outcome(&app.read("Patient", &id).await, 410, "deleted", None);

    let history = app.get(&format!("Patient/{id}/_history")).await;
    history.assert_status(200);
    let entries = history.entries();
    assert_eq!(entries.len(), 2, "{}", history.text);
    assert_eq!(entries[0]["request"]["method"], "DELETE");
    assert!(
        entries[0].get("resource").is_none(),
        "a deletion has no resource"
    );
    assert!(
        entries[0]["response"]["status"]
            .as_str()
            .is_some_and(|s| s.starts_with("204"))
    );
    assert_eq!(entries[0]["response"]["etag"], "W/\"2\"");
    assert_eq!(entries[1]["request"]["method"], "POST");
    assert_eq!(entries[1]["resource"]["id"], id.as_str());
}

on_both_backends! {
    /// Delete, then read is 410 and search no longer finds it, on each backend.
    async fn delete_hides_the_resource(app: TestApp) {
        let id = app.create_id(&patient(JANE_NHS, "Smith", "Jane")).await;
        app.delete("Patient", &id).await.assert_status(204);
        app.read("Patient", &id).await.assert_status(410);
        assert!(app.search_ids("Patient", "family=Smith").await.is_empty());
    }
}

#[tokio::test]
async fn a_deleted_resource_no_longer_matches_searches() {
    let app = spawn_app().await;
    let keep = app.create_id(&patient_named("Smith")).await;
    let gone = app.create_id(&patient_named("Smith")).await;
    app.delete("Patient", &gone).await.assert_status(204);
    assert_eq!(
        app.search_ids("Patient", "family=Smith").await,
        vec![keep.clone()]
    );
    let count = app.search("Patient", "family=Smith&_summary=count").await;
    assert_eq!(count.total(), Some(1));
}

#[tokio::test]
async fn deleting_twice_is_harmless_and_makes_no_new_version() {
    let app = spawn_app().await;
    let id = app.create_id(&patient_named("Smith")).await;
    app.delete("Patient", &id).await.assert_status(204);
    app.delete("Patient", &id).await.assert_status(204);
    assert_eq!(
        app.all_entries(&format!("Patient/{id}/_history"))
            .await
            .len(),
        2
    );
}

#[tokio::test]
async fn delete_of_an_unknown_id_is_404() {
    let app = spawn_app().await;
    assert_outcome(
        &app.delete("Patient", "nobody").await,
        404,
        "not-found",
        None,
    );
}

#[tokio::test]
async fn delete_with_a_stale_if_match_is_412_and_keeps_the_resource() {
    let app = spawn_app().await;
    let id = app.create_id(&patient_named("Smith")).await;
    let r = app
        .send(
            app.req(Method::DELETE, &format!("Patient/{id}"))
                .header("If-Match", "W/\"7\""),
        )
        .await;
    assert_outcome(&r, 412, "conflict", None);
    app.read("Patient", &id).await.assert_status(200);
    let r = app
        .send(
            app.req(Method::DELETE, &format!("Patient/{id}"))
                .header("If-Match", "W/\"1\""),
        )
        .await;
    r.assert_status(204);
}

#[tokio::test]
async fn conditional_delete_removes_the_one_match() {
    let app = spawn_app().await;
    let jane = app.create_id(&patient(JANE_NHS, "Smith", "Jane")).await;
    let other = app
        .create_id(&patient(&nhs_number(1), "Smith", "John"))
        .await;
    let r = app
        .send(app.req(
            Method::DELETE,
            &format!("Patient?identifier={NHS}|{JANE_NHS}"),
        ))
        .await;
    r.assert_status(204);
    app.read("Patient", &jane).await.assert_status(410);
    app.read("Patient", &other).await.assert_status(200);
}

#[tokio::test]
async fn conditional_delete_with_no_match_is_204_and_changes_nothing() {
    let app = spawn_app().await;
    app.create_id(&patient_named("Smith")).await;
    let before = app.version_count().await;
    let r = app
        .send(app.req(Method::DELETE, "Patient?family=Jones"))
        .await;
    r.assert_status(204);
    assert_eq!(app.version_count().await, before);
}

#[tokio::test]
async fn conditional_delete_with_two_matches_is_412_and_deletes_nothing() {
    let app = spawn_app().await;
    let a = app.create_id(&patient_named("Smith")).await;
    let b = app.create_id(&patient_named("Smith")).await;
    let r = app
        .send(app.req(Method::DELETE, "Patient?family=Smith"))
        .await;
    assert_outcome(&r, 412, "multiple-matches", None);
    app.read("Patient", &a).await.assert_status(200);
    app.read("Patient", &b).await.assert_status(200);
}

#[tokio::test]
async fn conditional_delete_without_criteria_is_400() {
    let app = spawn_app().await;
    let id = app.create_id(&patient_named("Smith")).await;
    let r = app.send(app.req(Method::DELETE, "Patient")).await;
    assert_outcome(&r, 400, "invalid", None);
    app.read("Patient", &id).await.assert_status(200);
}
