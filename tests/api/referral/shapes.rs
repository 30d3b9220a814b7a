//! The write table's and the workflow's answers in every shape the server accepts (plain,
//! encoded path, batch and transaction entries, relative and absolute): the same intent, the same
//! answer.

use reqwest::Method;
use serde_json::json;

use super::*;
use crate::attack::shapes::{all_refused, write_shapes};

on_both_backends! {
    async fn a_referral_answers_alike_in_every_shape(app: TestApp) {
        let r = Referrals::on(app).await;
        let w = &r.w;
        let hospital = r.hospital();
        let to_housing = |patient: &str| referral(patient, &w.cns_team, &w.housing, &["housing"]);
        for (shape, status) in write_shapes(w, &hospital, Method::POST, "ServiceRequest", Some(&to_housing(&w.ann))).await {
            let want = if shape.starts_with("transaction") { 200 } else { 201 };
            assert_eq!(status, want, "{shape}");
        }
        let before = w.app.version_count().await;
        all_refused(&write_shapes(w, &hospital, Method::POST, "ServiceRequest", Some(&to_housing(&w.bob))).await, 403);
        // Housing writes no referral, whoever it is for.
        all_refused(&write_shapes(w, &w.housing(), Method::POST, "ServiceRequest", Some(&to_housing(&w.ann))).await, 403);
        assert_eq!(w.app.version_count().await, before, "a refused shape wrote something");
    }
}

on_both_backends! {
    async fn a_task_write_answers_alike_in_every_shape(app: TestApp) {
        let r = Referrals::on(app).await;
        let w = &r.w;
        let (sr, task) = r.refer_ann(&w.housing, &["housing"]).await;
        let before = w.app.version_count().await;
        // The owner's answer without If-Match: 428 whichever way it is sent.
        let (mut t, _) = r.current(&w.housing(), &format!("Task/{task}")).await;
        t["status"] = json!("accepted");
        all_refused(&write_shapes(w, &w.housing(), Method::PUT, &format!("Task/{task}"), Some(&t)).await, 428);
        // Ann's GP, who may read the referral but did not send it, cannot give it a Task.
        let second = super::task(&w.ann, &w.cns_team, &w.housing, &format!("ServiceRequest/{sr}"));
        all_refused(&write_shapes(w, &w.gp(), Method::POST, "Task", Some(&second)).await, 403);
        // Another practice cannot even find the Task to answer it.
        all_refused(&write_shapes(w, &w.other_gp(), Method::PUT, &format!("Task/{task}"), Some(&t)).await, 404);
        // And nobody but the system deletes it.
        all_refused(&write_shapes(w, &r.hospital(), Method::DELETE, &format!("Task/{task}"), None).await, 403);
        assert_eq!(w.app.version_count().await, before, "a refused shape wrote something");
    }
}
