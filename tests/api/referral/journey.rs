//! The journey the issue names: a hospital refers its patient to the housing provider; housing
//! finds it on its worklist, redacted to its domain, accepts and completes it; the hospital sees
//! both changes and the referral completed; the GP sees what consent lets it; every step leaves
//! its AuditEvent. On SQLite and PostgreSQL.

use serde_json::{Value, json};

use super::*;

on_both_backends! {
    async fn a_referral_to_housing_is_answered_seen_and_audited(app: TestApp) {
        let r = Referrals::on(app).await;
        let (w, hospital, housing) = (&r.w, r.hospital(), r.w.housing());
        let (sr, task) = r.refer_ann(&w.housing, &["housing", "worry-fear-anxiety"]).await;

        // Housing's worklist: the one Task addressed to it, and the referral redacted to the
        // practical domain its consent permits (the worry and the note are withheld).
        let list = r
            .get_as(&housing, &format!("Task?owner=Organization/{}&status=requested,received&_include=Task:focus", w.housing))
            .await;
        list.assert_status(200);
        assert_eq!(list.match_ids(), vec![task.clone()]);
        assert_eq!(list.total(), Some(1));
        assert_eq!(list.included(), vec![format!("ServiceRequest/{sr}")]);
        let (seen, _) = r.current(&housing, &format!("ServiceRequest/{sr}")).await;
        assert_eq!(codes(&seen["reasonCode"]), vec!["housing"]);
        assert!(seen.get("note").is_none(), "{seen}");
        assert_eq!(seen["meta"]["security"][0]["code"], "REDACTED");

        // Housing accepts (If-Match is required), then completes by way of in-progress.
        let (t, v1) = r.current(&housing, &format!("Task/{task}")).await;
        let mut accepted = t.clone();
        accepted["status"] = json!("accepted");
        assert_outcome(&r.put_as(&housing, &accepted, None).await, 428, "required", None);
        r.put_as(&housing, &accepted, Some(&v1)).await.assert_status(200);
        assert_outcome(&r.put_as(&housing, &accepted, Some(&v1)).await, 412, "conflict", None);
        assert_outcome(
            &r.move_task(&housing, &task, "completed", None).await,
            422,
            "business-rule",
            Some("Task.status"),
        );
        r.move_task(&housing, &task, "in-progress", None).await.assert_status(200);
        let (mut t, v) = r.current(&housing, &format!("Task/{task}")).await;
        t["status"] = json!("completed");
        t["output"] = json!([{"type": {"text": "outcome"}, "valueString": "Rehoused on the ground floor"}]);
        r.put_as(&housing, &t, Some(&v)).await.assert_status(200);

        // The hospital sees both changes, and its referral completed with the Task.
        let history = r.get_as(&hospital, &format!("Task/{task}/_history")).await;
        history.assert_status(200);
        let statuses: Vec<String> = history
            .entries()
            .iter()
            .map(|e| e["resource"]["status"].as_str().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(statuses, vec!["completed", "in-progress", "accepted", "requested"]);
        let (referral, _) = r.current(&hospital, &format!("ServiceRequest/{sr}")).await;
        assert_eq!(referral["status"], "completed");
        assert_eq!(codes(&referral["reasonCode"]), vec!["housing", "worry-fear-anxiety"]);

        // Ann's GP sees the referral without the emotional reason her consent denies it, and
        // the Task with it; another practice sees neither.
        let gp = w.gp();
        let (by_gp, _) = r.current(&gp, &format!("ServiceRequest/{sr}")).await;
        assert_eq!(codes(&by_gp["reasonCode"]), vec!["housing"]);
        assert_eq!(by_gp["status"], "completed");
        r.get_as(&gp, &format!("Task/{task}")).await.assert_status(200);
        r.get_as(&w.other_gp(), &format!("Task/{task}")).await.assert_status(404);
        r.get_as(&w.other_gp(), &format!("ServiceRequest/{sr}")).await.assert_status(404);

        // Every step left its event: the referral, each Task change (naming the referral's new
        // version where the change moved it), each read.
        let events = w.app.audit_events().await;
        let naming = |reference: &str| {
            events
                .iter()
                .filter(|e| entities(e).iter().any(|x| x.starts_with(reference)))
                .count()
        };
        assert!(naming(&format!("Task/{task}")) >= 6, "{events:?}");
        let completing = events
            .iter()
            .find(|e| {
                let names = entities(e);
                names.iter().any(|x| x == &format!("Task/{task}/_history/4"))
            })
            .expect("the completion's event");
        assert!(
            entities(completing).contains(&format!("ServiceRequest/{sr}/_history/2")),
            "{completing}"
        );
    }
}

on_both_backends! {
    async fn two_answers_at_once_leave_the_task_and_its_referral_agreeing(app: TestApp) {
        let r = Referrals::on(app).await;
        let (sr, task) = r.refer_ann(&r.w.housing, &["housing"]).await;
        let housing = r.w.housing();
        let hospital = r.hospital();
        let (t, v) = r.current(&housing, &format!("Task/{task}")).await;
        let mut rejected = t.clone();
        rejected["status"] = json!("rejected");
        rejected["statusReason"] = json!({"text": "No capacity"});
        let mut cancelled = t.clone();
        cancelled["status"] = json!("cancelled");
        cancelled["statusReason"] = json!({"text": "Sent in error"});
        let (a, b) = tokio::join!(
            r.put_as(&housing, &rejected, Some(&v)),
            r.put_as(&hospital, &cancelled, Some(&v)),
        );
        let mut statuses = [a.status, b.status];
        statuses.sort_unstable();
        assert!(matches!(statuses, [200, 409] | [200, 412]), "{a:?} {b:?}");
        let task_status = r.status_of(&format!("Task/{task}")).await;
        assert!(["rejected", "cancelled"].contains(&task_status.as_str()));
        assert_eq!(r.status_of(&format!("ServiceRequest/{sr}")).await, "revoked");
    }
}

/// The concern codes of a list of reasons.
fn codes(reasons: &Value) -> Vec<String> {
    reasons
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|r| r["coding"].as_array().cloned().unwrap_or_default())
        .filter_map(|c| c["code"].as_str().map(str::to_owned))
        .collect()
}

/// The `entity.what` references of an AuditEvent.
fn entities(event: &Value) -> Vec<String> {
    event["entity"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["what"]["reference"].as_str().map(str::to_owned))
        .collect()
}
