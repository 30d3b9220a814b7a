//! Searches decide on the caller's view: a resource matches only if the form the caller would be
//! shown matches, so no parameter, chain, include or sort selects or reveals what redaction
//! withholds, and totals follow.

use super::super::sharing::plan;
use super::super::world::*;

/// The plan searches of `token`: (total, matched ids).
async fn plans(w: &World, token: &str, query: &str) -> (u64, Vec<String>) {
    let r = w.get_as(token, &format!("CarePlan?{query}")).await;
    r.assert_status(200);
    let count = w
        .get_as(token, &format!("CarePlan?{query}&_summary=count"))
        .await;
    count.assert_status(200);
    assert_eq!(
        count.total(),
        r.total(),
        "_summary=count agrees with the search: {query}"
    );
    (r.total().unwrap_or(0), r.match_ids())
}

on_both_backends! {
    /// Housing sees only the housing activity of Ann's plan; nothing it searches by in the
    /// withheld activities, citations or conditions finds the plan.
    async fn housing_cannot_find_a_plan_by_what_it_may_not_see(app: TestApp) {
        let w = world_on(app).await;
        let housing = w.housing();
        let id = &w.ann_plan;
        let own = (1, vec![id.clone()]);
        assert_eq!(plans(&w, &housing, &format!("_id={id}")).await, own);
        assert_eq!(plans(&w, &housing, &format!("_id={id}&performer=Organization/{}", w.housing)).await, own);
        assert_eq!(plans(&w, &housing, &format!("_id={id}&activity-code={HOUSING_CODE}")).await, own);
        let hidden = [
            format!("performer=Organization/{}", w.cns_team),
            format!("performer={}", w.cns_team),
            format!("activity-code={WORRY_CODE}"),
            format!("activity-code=http://snomed.info/sct|{BREATHING_CODE}"),
            format!("supporting-info=QuestionnaireResponse/{}", w.ann_hna),
            format!("condition=Condition/{}", w.ann_condition),
            "performer:Organization.identifier=https://fhir.nhs.uk/Id/ods-organization-code|C0001".to_owned(),
            "performer:Organization.name=CNS".to_owned(),
            format!("performer=Organization/{},Organization/{}", w.cns_team, w.practice_b),
        ];
        for q in hidden {
            assert_eq!(plans(&w, &housing, &format!("_id={id}&{q}")).await, (0, vec![]), "{q}");
            assert_eq!(plans(&w, &housing, &q).await, (0, vec![]), "{q}");
        }
        // Alternatives: one visible value is enough.
        assert_eq!(
            plans(&w, &housing, &format!("_id={id}&performer=Organization/{},Organization/{}", w.cns_team, w.housing)).await,
            own
        );
        // _include follows only the references the caller is shown.
        let r = w.get_as(&housing, &format!("CarePlan?_id={id}&_include=CarePlan:performer")).await;
        assert_eq!(r.included(), vec![format!("Organization/{}", w.housing)]);
        for include in ["CarePlan:supporting-info", "CarePlan:condition", "CarePlan:subject"] {
            let r = w.get_as(&housing, &format!("CarePlan?_id={id}&_include={include}")).await;
            assert!(r.included().is_empty(), "{include}: {:?}", r.included());
        }
    }
}

on_both_backends! {
    /// Ann's GP is denied her emotional domain: her plan is found by what the GP sees of it, and
    /// never by the code or performer of the withheld emotional activity.
    async fn a_gp_cannot_find_a_plan_by_a_withheld_domain(app: TestApp) {
        let w = world_on(app).await;
        let gp = w.gp();
        let id = &w.ann_plan;
        let plan = w.get_as(&gp, &format!("CarePlan/{id}")).await;
        assert!(!plan.text.contains(WORRY_CODE), "the GP's view withholds the worry activity");
        assert_eq!(plans(&w, &gp, &format!("activity-code={BREATHING_CODE}")).await, (1, vec![id.clone()]));
        assert_eq!(plans(&w, &gp, &format!("activity-code={WORRY_CODE}")).await, (0, vec![]));
        assert_eq!(plans(&w, &gp, &format!("patient={}&activity-code={WORRY_CODE}", w.ann)).await, (0, vec![]));
        // The CNS team performs both the visible breathing and the withheld worry activity.
        assert_eq!(
            plans(&w, &gp, &format!("performer=Organization/{}", w.cns_team)).await,
            (1, vec![id.clone()])
        );
        // Cara's plan, denied to GPs, is found by nothing.
        assert_eq!(plans(&w, &gp, &format!("_id={}", w.cara_plan)).await, (0, vec![]));
        assert_eq!(plans(&w, &gp, &format!("patient={}", w.cara)).await, (0, vec![]));
    }
}

on_both_backends! {
    /// A sort on a withheld value orders by the caller's view: two plans whose visible housing
    /// activities share a code, and whose withheld activities' codes differ, tie for housing (in
    /// the order they were written, in both directions), so the order tells nothing of the
    /// withheld codes.
    async fn a_sort_orders_by_what_the_caller_sees(app: TestApp) {
        let w = world_on(app).await;
        let two = |withheld: &str| {
            plan(&w.ann, "gp", vec![
                coded_activity("practical", "housing", "5000000", &w.housing),
                coded_activity("emotional", "worry-fear-anxiety", withheld, &w.cns_team),
            ])
        };
        let first = w.app.create_id(&two("0000009")).await;
        let second = w.app.create_id(&two("0000001")).await;
        let housing = w.housing();
        for sort in ["activity-code", "-activity-code"] {
            let r = w
                .get_as(&housing, &format!("CarePlan?_id={first},{second}&_sort={sort}"))
                .await;
            assert_eq!(r.match_ids(), vec![first.clone(), second.clone()], "{sort}");
        }
        // The system, seeing everything, orders by the withheld codes.
        let all = w.app.search("CarePlan", &format!("_id={first},{second}&_sort=activity-code")).await;
        assert_eq!(all.match_ids(), vec![second.clone(), first.clone()]);
        assert!(!w.get_as(&housing, "CarePlan").await.text.contains(&w.bob_plan));
    }
}
