//! Worklists: a receiver's open Tasks, polling for changes, and a sender's referrals, each
//! consent-filtered with totals that count only what the caller sees.

use super::*;

on_both_backends! {
    async fn each_side_finds_its_referrals_with_honest_totals(app: TestApp) {
        let r = Referrals::on(app).await;
        let w = &r.w;
        let housing = w.housing();
        let (_, first) = r.refer_ann(&w.housing, &["housing"]).await;
        let (_, second) = r.refer_ann(&w.housing, &["money-finance"]).await;
        let (_, to_hospice) = r.refer_ann(&r.hospice, &["breathing"]).await;
        // Bob's practice refers Bob to housing: Bob has consented to nothing, so housing cannot
        // see it, and it is not counted.
        let bob_gp = w.other_gp();
        let bob_referral = r
            .refer_as(&bob_gp, &w.bob, &w.practice_b, &w.housing, &["housing"])
            .await;
        bob_referral.assert_status(200);
        let open = format!("Task?owner=Organization/{}&status=requested,received", w.housing);
        let list = r.get_as(&housing, &open).await;
        assert_eq!(sorted(&list.match_ids()), sorted(&[&first, &second]));
        assert_eq!(list.total(), Some(2));
        let count = r.get_as(&housing, &format!("{open}&_summary=count")).await;
        assert_eq!(count.total(), Some(2));
        let (latest, _) = r.current(&housing, &format!("Task/{second}")).await;
        let since = latest["meta"]["lastUpdated"].as_str().unwrap_or_default().to_owned();

        // Housing accepts the first: it leaves the open list, and a poll for changes since the
        // second was made finds exactly it.
        r.move_task(&housing, &first, "accepted", None).await.assert_status(200);
        let list = r.get_as(&housing, &open).await;
        assert_eq!(list.match_ids(), vec![second.clone()]);
        let poll = r
            .get_as(&housing, &format!("Task?owner=Organization/{}&_lastUpdated=gt{since}", w.housing))
            .await;
        poll.assert_status(200);
        assert_eq!(poll.match_ids(), vec![first.clone()]);

        // The hospital's referrals, by status.
        let hospital = r.hospital();
        let sent = r
            .get_as(&hospital, &format!("ServiceRequest?requester=Organization/{}&status=active", w.cns_team))
            .await;
        assert_eq!(sent.total(), Some(3));
        let tasks = r
            .get_as(&hospital, &format!("Task?requester=Organization/{}&status=accepted", w.cns_team))
            .await;
        assert_eq!(tasks.match_ids(), vec![first]);
        let waiting = r
            .get_as(&hospital, &format!("Task?requester=Organization/{}&status=requested", w.cns_team))
            .await;
        assert_eq!(sorted(&waiting.match_ids()), sorted(&[&second, &to_hospice]));
    }
}
