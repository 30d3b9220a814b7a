//! The write table and the workflow's rules, met by the roles that would break them: each refused
//! write is 403 or 422 naming the element, and changes nothing.

use reqwest::Method;
use serde_json::json;

use super::*;

#[tokio::test]
async fn each_role_writes_only_what_the_table_gives_it_for_people_it_cares_for() {
    let r = Referrals::on(spawn_app().await).await;
    let w = &r.w;
    let before = w.app.version_count().await;
    let refused = |resp: &Resp, expression: Option<&str>| {
        assert_outcome(resp, 403, "forbidden", expression);
    };
    let hospital = r.hospital();
    // Referring a person the hospital has no relationship with, or in another's name.
    refused(
        &r.refer_as(&hospital, &w.bob, &w.cns_team, &w.housing, &["housing"])
            .await,
        Some("Bundle.entry[0].resource.subject"),
    );
    refused(
        &r.refer_as(&hospital, &w.ann, &w.housing, &w.housing, &["housing"])
            .await,
        Some("Bundle.entry[0].resource.requester"),
    );
    // Housing writes no referral and no plan; nobody but the system deletes.
    let housing = w.housing();
    let sr = referral(&w.ann, &w.housing, &r.welfare, &["housing"]);
    refused(
        &w.send_as(&housing, Method::POST, "ServiceRequest", &sr)
            .await,
        None,
    );
    refused(
        &w.send_as(
            &hospital,
            Method::DELETE,
            &format!("CarePlan/{}", w.ann_plan),
            &json!({}),
        )
        .await,
        None,
    );
    // A link worker records HNAs of the people it supports (Ann), not of others (Bob).
    let link = w.app.token_for("link-worker", Some("L0001"), None);
    let hna = |patient: &str| {
        json!({"resourceType": "QuestionnaireResponse", "status": "completed",
            "subject": reference("Patient", patient)})
    };
    refused(
        &w.send_as(&link, Method::POST, "QuestionnaireResponse", &hna(&w.bob))
            .await,
        Some("QuestionnaireResponse.subject"),
    );
    // A hospital team changes only its own membership of a care team, of a person it cares for.
    let team = |members: Vec<&str>| {
        let participants: Vec<_> = members
            .iter()
            .map(|m| json!({"member": reference("Organization", m)}))
            .collect();
        json!({"resourceType": "CareTeam", "status": "active",
            "subject": reference("Patient", &w.bob), "participant": participants})
    };
    refused(
        &w.send_as(
            &hospital,
            Method::POST,
            "CareTeam",
            &team(vec![&w.cns_team]),
        )
        .await,
        Some("CareTeam.subject"),
    );
    let mut anns = team(vec![&w.cns_team, &r.hospice]);
    anns["subject"] = reference("Patient", &w.ann);
    refused(
        &w.send_as(&hospital, Method::POST, "CareTeam", &anns).await,
        Some("CareTeam.participant"),
    );
    // A patient records their own consent only.
    let bob_says = consent(
        &w.bob,
        json!({"type": "permit", "actor": [role_actor("housing", None)]}),
    );
    let ann = w.app.token_for("patient", None, Some(&w.ann));
    refused(
        &w.send_as(&ann, Method::POST, "Consent", &bob_says).await,
        Some("Consent.patient"),
    );
    assert_eq!(
        w.app.version_count().await,
        before,
        "a refused write changed something"
    );

    // And what the table does give: the link worker's HNA for Ann, the hospital's own
    // membership of Ann's care team, the GP's referral from the practice (its requester named
    // by ODS code, resolved here), Ann's own consent.
    w.send_as(&link, Method::POST, "QuestionnaireResponse", &hna(&w.ann))
        .await
        .assert_status(201);
    let mut own = team(vec![&w.cns_team]);
    own["subject"] = reference("Patient", &w.ann);
    w.send_as(&hospital, Method::POST, "CareTeam", &own)
        .await
        .assert_status(201);
    let mut from_practice = referral(&w.ann, "x", &r.hospice, &["breathing"]);
    from_practice["requester"] =
        json!({"reference": format!("Organization?identifier={ODS}|A81001")});
    w.send_as(&w.gp(), Method::POST, "ServiceRequest", &from_practice)
        .await
        .assert_status(201);
    let ann_says = consent(
        &w.ann,
        json!({"type": "permit", "actor": [role_actor("social-care", None)]}),
    );
    w.send_as(&ann, Method::POST, "Consent", &ann_says)
        .await
        .assert_status(201);
}

#[tokio::test]
async fn only_the_owner_answers_and_only_the_requester_cancels() {
    let r = Referrals::on(spawn_app().await).await;
    let (hospital, housing) = (r.hospital(), r.w.housing());
    let (sr, task) = r.refer_ann(&r.w.housing, &["housing"]).await;
    assert_outcome(
        &r.move_task(&housing, &task, "cancelled", Some("changed my mind"))
            .await,
        403,
        "forbidden",
        Some("Task.status"),
    );
    assert_outcome(
        &r.move_task(&hospital, &task, "accepted", None).await,
        403,
        "forbidden",
        Some("Task.status"),
    );
    let (mut t, v) = r.current(&hospital, &format!("Task/{task}")).await;
    t["description"] = json!("Please hurry");
    assert_outcome(
        &r.put_as(&hospital, &t, Some(&v)).await,
        403,
        "forbidden",
        Some("Task.description"),
    );
    assert_outcome(
        &r.move_task(&housing, &task, "rejected", None).await,
        422,
        "required",
        Some("Task.statusReason"),
    );
    // Someone who is neither party (Ann's GP can read the Task) cannot write it.
    assert_outcome(
        &r.move_task(&r.w.gp(), &task, "accepted", None).await,
        403,
        "forbidden",
        Some("Task.owner"),
    );
    // The referral moves only with its Task: the hospital cannot complete it.
    let (mut s, v) = r.current(&hospital, &format!("ServiceRequest/{sr}")).await;
    s["status"] = json!("completed");
    assert_outcome(
        &r.put_as(&hospital, &s, Some(&v)).await,
        422,
        "business-rule",
        Some("ServiceRequest.status"),
    );
    // The hospital withdraws the referral: its Task is cancelled with it.
    s["status"] = json!("revoked");
    r.put_as(&hospital, &s, Some(&v)).await.assert_status(200);
    let (t, _) = r.current(&housing, &format!("Task/{task}")).await;
    assert_eq!(t["status"], "cancelled");
    assert!(t["statusReason"]["text"].is_string());
}

#[tokio::test]
async fn a_referral_cannot_be_withdrawn_once_started_and_has_one_task() {
    let r = Referrals::on(spawn_app().await).await;
    let (hospital, housing) = (r.hospital(), r.w.housing());
    let (sr, task) = r.refer_ann(&r.w.housing, &["housing"]).await;
    // A second Task for the referral, or one owned by another organisation, is refused.
    let mut second = super::task(
        &r.w.ann,
        &r.w.cns_team,
        &r.w.housing,
        &format!("ServiceRequest/{sr}"),
    );
    assert_outcome(
        &r.w.send_as(&hospital, Method::POST, "Task", &second).await,
        422,
        "business-rule",
        Some("Task.focus"),
    );
    second["owner"] = reference("Organization", &r.hospice);
    assert_outcome(
        &r.w.send_as(&hospital, Method::POST, "Task", &second).await,
        422,
        "business-rule",
        Some("Task.owner"),
    );
    r.move_task(&housing, &task, "accepted", None)
        .await
        .assert_status(200);
    r.move_task(&housing, &task, "in-progress", None)
        .await
        .assert_status(200);
    let (mut s, v) = r.current(&hospital, &format!("ServiceRequest/{sr}")).await;
    s["status"] = json!("revoked");
    assert_outcome(
        &r.put_as(&hospital, &s, Some(&v)).await,
        422,
        "business-rule",
        Some("ServiceRequest.status"),
    );
    assert_eq!(r.status_of(&format!("Task/{task}")).await, "in-progress");
    // A failure revokes the referral and says why in its notes.
    r.move_task(
        &housing,
        &task,
        "failed",
        Some("Could not reach the person"),
    )
    .await
    .assert_status(200);
    let (s, _) = r.current(&hospital, &format!("ServiceRequest/{sr}")).await;
    assert_eq!(s["status"], "revoked");
    let notes = s["note"].to_string();
    assert!(notes.contains("Could not reach the person"), "{notes}");
}

#[tokio::test]
async fn a_receiver_is_related_while_the_referral_stands_and_keeps_only_its_own_part_after() {
    let r = Referrals::on(spawn_app().await).await;
    let hospice = r.hospice_token();
    let hna = format!("QuestionnaireResponse/{}", r.w.ann_hna);
    r.get_as(&hospice, &hna).await.assert_status(404);
    let (sr, task) = r.refer_ann(&r.hospice, &["breathing"]).await;
    r.get_as(&hospice, &hna).await.assert_status(200);
    r.move_task(&hospice, &task, "rejected", Some("Outside our area"))
        .await
        .assert_status(200);
    r.get_as(&hospice, &hna).await.assert_status(404);
    r.get_as(&hospice, &format!("Task/{task}"))
        .await
        .assert_status(200);
    r.get_as(&hospice, &format!("ServiceRequest/{sr}"))
        .await
        .assert_status(200);
    let list = r
        .get_as(&hospice, &format!("Task?owner=Organization/{}", r.hospice))
        .await;
    assert_eq!(list.match_ids(), vec![task]);
    assert_eq!(list.total(), Some(1));
    // And nothing of Ann's but its own part turns up in a search.
    let plans = r.get_as(&hospice, "CarePlan").await;
    assert_eq!(plans.total(), Some(0));
}
