//! The notification outbox over HTTP: every committed write of a type a subscription topic watches
//! leaves its row in the write's transaction; a refused write leaves none, and nor does a write of
//! a type no topic watches.

use serde_json::json;

use super::Referrals;
use crate::helpers::*;

/// `Type/id/version` of every change waiting in the outbox, oldest first.
async fn outbox(app: &TestApp) -> Vec<String> {
    let store = carebridge::store::Store::open(&app.database_url)
        .await
        .expect("the database opens");
    store
        .backend()
        .outbox()
        .pending(100_000)
        .await
        .expect("the outbox reads")
        .into_iter()
        .map(|c| format!("{}/{}/{}", c.rtype, c.id, c.version))
        .collect()
}

on_both_backends! {
    async fn each_committed_change_of_a_watched_type_leaves_one_outbox_row(app: TestApp) {
        let r = Referrals::on(app).await;
        let app = &r.w.app;
        let before = outbox(app).await;
        let (sr, task) = r.refer_ann(&r.w.housing, &["housing"]).await;
        let after = outbox(app).await;
        assert_eq!(
            after[before.len()..],
            [format!("ServiceRequest/{sr}/1"), format!("Task/{task}/1")],
            "the referral transaction's two writes"
        );
        let housing = r.w.housing();
        r.move_task(&housing, &task, "accepted", None).await.assert_status(200);
        let accepted = outbox(app).await;
        assert_eq!(accepted[after.len()..], [format!("Task/{task}/2")]);
        // Refused: an illegal transition, a write by someone who may not make it.
        r.move_task(&housing, &task, "requested", None).await.assert_status(422);
        let gp = r.move_task(&r.w.gp(), &task, "completed", None).await;
        assert!(matches!(gp.status, 403 | 404), "a GP does not move the Task: {}", gp.status);
        app.create(&json!({"resourceType": "Patient", "name": [{"family": "Dee"}]}))
            .await
            .assert_status(201);
        assert_eq!(outbox(app).await, accepted, "nothing refused, nothing unwatched");
        // A deletion is a change too.
        app.delete("CarePlan", &r.w.bob_plan).await.assert_status(204);
        assert_eq!(
            outbox(app).await[accepted.len()..],
            [format!("CarePlan/{}/2", r.w.bob_plan)]
        );
    }
}
