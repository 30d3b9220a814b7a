//! Paging through search results with `next`/`previous` links, including while the data changes.

use std::collections::BTreeSet;

use serde_json::json;

use crate::helpers::*;
use crate::resources::*;

/// Creates `n` patients with family `family`; returns their ids.
async fn patients(app: &TestApp, family: &str, n: u32) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(
            app.create_id(&patient(&nhs_number(i), family, "Alex"))
                .await,
        );
    }
    ids
}

#[tokio::test]
async fn forty_five_matches_page_as_20_20_and_5_through_next_links() {
    let app = spawn_app().await;
    let created = patients(&app, "Pager", 45).await;
    app.create_id(&patient_named("Other")).await;

    let mut sizes = Vec::new();
    let mut seen = Vec::new();
    let mut url = Some(app.url("Patient?family=Pager&_count=20"));
    while let Some(u) = url {
        let page = app.get(&u).await;
        page.assert_status(200);
        assert_eq!(page.total(), Some(45), "every page carries the total");
        let ids = page.match_ids();
        sizes.push(ids.len());
        seen.extend(ids);
        url = page.link("next");
        if let Some(n) = &url {
            assert!(n.starts_with(&format!("{}/Patient?", app.base)), "{n}");
        }
        assert!(sizes.len() <= 3, "more pages than expected: {sizes:?}");
    }
    assert_eq!(sizes, [20, 20, 5]);
    assert_eq!(sorted(&seen), sorted(&created), "every match exactly once");
}

#[tokio::test]
async fn previous_link_returns_the_page_before() {
    let app = spawn_app().await;
    patients(&app, "Pager", 25).await;
    let first = app.search("Patient", "family=Pager&_count=10").await;
    assert!(
        first.link("previous").is_none(),
        "the first page has no previous link"
    );
    let second = app.get(&first.link("next").expect("next")).await;
    let third = app.get(&second.link("next").expect("next")).await;
    assert_eq!(third.match_ids().len(), 5);
    assert!(third.link("next").is_none());
    let back = app.get(&third.link("previous").expect("previous")).await;
    back.assert_status(200);
    assert_eq!(back.match_ids(), second.match_ids());
    let back_again = app.get(&back.link("previous").expect("previous")).await;
    assert_eq!(back_again.match_ids(), first.match_ids());
}

#[tokio::test]
async fn paging_under_concurrent_writes_neither_skips_nor_repeats() {
    let app = spawn_app().await;
    patients(&app, "Pager", 25).await;
    let mut late = 0;
    for sort in ["", "&_sort=_lastUpdated", "&_sort=-_lastUpdated"] {
        // The result set when paging starts (earlier rounds added to it).
        let original = app.search_ids("Patient", "family=Pager&_count=1000").await;
        let first = app
            .search("Patient", &format!("family=Pager&_count=10{sort}"))
            .await;
        first.assert_status(200);
        let mut seen = first.match_ids();
        let mut next = first.link("next");
        let mut round = 0;
        while let Some(url) = next {
            round += 1;
            assert!(round < 10, "paging does not end");
            // Between page fetches: a new match arrives, and a match already seen and one not yet
            // seen change (an update moves them in _lastUpdated order).
            late += 1;
            app.create_id(&patient(&nhs_number(1000 + late), "Pager", "Late"))
                .await;
            let unseen = original
                .iter()
                .find(|id| !seen.contains(id))
                .expect("an unseen match");
            for id in [seen[0].clone(), unseen.clone()] {
                let mut p = app.read("Patient", &id).await.json();
                p["active"] = json!(late % 2 == 0);
                app.update(&p).await.assert_status(200);
            }
            let page = app.get(&url).await;
            page.assert_status(200);
            seen.extend(page.match_ids());
            next = page.link("next");
        }
        let unique: BTreeSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "no duplicates ({sort}): {seen:?}");
        assert_eq!(
            sorted(&seen),
            original,
            "exactly the original result set ({sort})"
        );
    }
}

#[tokio::test]
async fn a_page_shows_the_current_version_of_each_match() {
    let app = spawn_app().await;
    let ids = patients(&app, "Pager", 4).await;
    let first = app.search("Patient", "family=Pager&_count=2").await;
    let later = app
        .get(&first.link("next").expect("next"))
        .await
        .match_ids();
    let mut p = app.read("Patient", &later[0]).await.json();
    p["active"] = json!(false);
    app.update(&p).await.assert_status(200);
    let again = app.get(&first.link("next").expect("next")).await;
    let entry = again
        .entries()
        .into_iter()
        .find(|e| e["resource"]["id"] == later[0].as_str())
        .expect("the updated match is still on its page");
    assert_eq!(entry["resource"]["meta"]["versionId"], "2");
    assert_eq!(sorted(&ids).len(), 4);
}

#[tokio::test]
async fn an_unknown_page_key_is_410() {
    let app = spawn_app().await;
    let r = app
        .search("Patient", "_getpages=not-a-search&_getpagesoffset=20")
        .await;
    assert_outcome(&r, 410, "not-found", None);
}

#[tokio::test]
async fn count_above_the_largest_page_is_reduced_to_it() {
    let app = spawn_app_with(|s| {
        s.default_page_size = 2;
        s.max_page_size = 3;
    })
    .await;
    patients(&app, "Pager", 5).await;
    assert_eq!(
        app.search("Patient", "family=Pager")
            .await
            .match_ids()
            .len(),
        2,
        "default page size"
    );
    let big = app.search("Patient", "family=Pager&_count=100").await;
    assert_eq!(big.match_ids().len(), 3);
    let next = big.link("next").expect("next");
    assert!(next.contains("_count=3"), "{next}");
}

#[tokio::test]
async fn a_search_beyond_max_search_results_warns_and_pages_only_that_many() {
    let app = spawn_app_with(|s| {
        s.default_page_size = 2;
        s.max_page_size = 3;
        s.max_search_results = 3;
    })
    .await;
    patients(&app, "Pager", 5).await;
    let entries = app.all_entries("Patient?family=Pager").await;
    let matches = entries
        .iter()
        .filter(|e| e["search"]["mode"] == "match")
        .count();
    assert_eq!(matches, 3);
    assert!(
        entries.iter().any(|e| e["search"]["mode"] == "outcome"
            && e["resource"]["issue"][0]["code"] == "too-costly"),
        "{entries:?}"
    );
}
