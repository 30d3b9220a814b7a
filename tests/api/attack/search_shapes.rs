//! More shapes of the same search, each of which must get the plain GET's answer: a reverse
//! chain by GET, `POST _search` and batch or transaction entry (relative and absolute URLs); a
//! patient's access report by GET and `POST AuditEvent/_search`.

use reqwest::Method;
use serde_json::{Value, json};

use super::super::helpers::*;
use super::super::world::*;

/// The sorted ids a searchset matched (`search.mode = match`).
fn match_ids(bundle: &Value) -> Vec<String> {
    let ids: Vec<String> = bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["search"]["mode"] == "match")
        .map(|e| e["resource"]["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    sorted(&ids)
}

/// The ids of every resource of a Bundle, sorted (an audit searchset has no includes).
fn resource_ids(bundle: &Value) -> Vec<String> {
    let ids: Vec<String> = bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["resource"]["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    sorted(&ids)
}

/// `POST [rtype]/_search` with `form` (already `application/x-www-form-urlencoded`) as `token`.
async fn post_search(w: &World, token: &str, rtype: &str, form: &str) -> Resp {
    w.app
        .send(
            w.app
                .anonymous(Method::POST, &format!("{rtype}/_search"))
                .bearer_auth(token)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form.to_owned()),
        )
        .await
}

/// What a search shape answered: its status, and for a success the ids it matched.
type Found = (u16, Option<Vec<String>>);

fn found(status: u16, bundle: Option<&Value>) -> Found {
    (status, bundle.filter(|_| status == 200).map(match_ids))
}

/// A search (`rtype?query`) as `token` in every shape under test, named, the plain GET first.
async fn search_shapes(w: &World, token: &str, rtype: &str, query: &str) -> Vec<(String, Found)> {
    let path = format!("{rtype}?{query}");
    let plain = w.get_as(token, &path).await;
    let mut out = vec![("GET".to_owned(), found(plain.status, Some(&plain.json())))];
    let post = post_search(w, token, rtype, query).await;
    out.push((
        "POST _search".to_owned(),
        found(post.status, Some(&post.json())),
    ));
    for (name, url) in [
        ("relative", path.clone()),
        ("absolute", format!("{}/{path}", w.app.base)),
    ] {
        for kind in ["batch", "transaction"] {
            let r = w
                .bundle_as(token, kind, vec![entry("GET", &url, None)])
                .await;
            let f = if r.status == 200 {
                let e = &r.entries()[0];
                found(entry_status(e), e.get("resource"))
            } else {
                found(r.status, None)
            };
            out.push((format!("{kind} GET {name} entry"), f));
        }
    }
    out
}

/// Asserts every shape found what the plain GET found; returns that.
#[track_caller]
fn found_alike(who: &str, query: &str, answers: &[(String, Found)]) -> Found {
    let plain = &answers[0].1;
    for (shape, a) in &answers[1..] {
        assert_eq!(a, plain, "{who}: {query}: {shape} differs from GET");
    }
    plain.clone()
}

on_both_backends! {
    /// A reverse chain (`Patient?_has:...`) finds the same patients for every role whether it is
    /// sent as a GET, as `POST Patient/_search` with a form body, or as a GET entry of a batch or
    /// transaction (relative or absolute URL); refusals are refused alike. Consent still decides:
    /// GPs find Ann through her plan but not Cara through hers, nor Ann through the activity
    /// their view of her plan leaves out.
    async fn a_reverse_chain_finds_the_same_patients_in_every_shape(app: TestApp) {
        let w = world_on(app).await;
        let queries = [
            format!("_has:CarePlan:subject:_id={}", w.ann_plan),
            format!("_has:CarePlan:subject:_id={}", w.cara_plan),
            format!("_has:CarePlan:subject:_id={}", w.bob_plan),
            "_has:CarePlan:subject:status=active".to_owned(),
            format!("_has:CarePlan:subject:activity-code={WORRY_CODE}"),
            "_has:QuestionnaireResponse:subject:status=completed".to_owned(),
        ];
        let mut seen = std::collections::BTreeMap::new();
        for (who, token) in w.callers() {
            for q in &queries {
                let answer = found_alike(who, q, &search_shapes(&w, &token, "Patient", q).await);
                seen.insert((who, q.clone()), answer);
            }
        }
        let ids = |who: &'static str, q: &str| {
            let (status, ids) = &seen[&(who, q.to_owned())];
            assert_eq!(*status, 200, "{who}: {q}");
            ids.clone().unwrap_or_default()
        };
        let by_plan = |plan: &str| format!("_has:CarePlan:subject:_id={plan}");
        assert_eq!(ids("system", &by_plan(&w.cara_plan)), vec![w.cara.clone()]);
        assert_eq!(ids("gp", &by_plan(&w.ann_plan)), vec![w.ann.clone()]);
        assert!(ids("gp", &by_plan(&w.cara_plan)).is_empty(), "Cara's consent denies GPs");
        assert!(ids("other gp", &by_plan(&w.ann_plan)).is_empty());
        assert!(ids("patient Bob", &by_plan(&w.ann_plan)).is_empty());
        assert_eq!(ids("patient Ann", &by_plan(&w.ann_plan)), vec![w.ann.clone()]);
        let worry = format!("_has:CarePlan:subject:activity-code={WORRY_CODE}");
        assert_eq!(ids("system", &worry), vec![w.ann.clone()]);
        assert!(ids("gp", &worry).is_empty(), "the GP's view has no emotional activity");
    }
}

/// An audit search as `token` by GET and by `POST AuditEvent/_search`: each one's status and,
/// for a success, its event ids and total.
async fn audit_both_ways(w: &World, token: &str, query: &str) -> [(u16, Option<Value>); 2] {
    let get = w.get_as(token, &format!("AuditEvent?{query}")).await;
    let post = post_search(w, token, "AuditEvent", query).await;
    [get, post].map(|r| {
        let shown = (r.status == 200).then(|| {
            let b = r.json();
            json!({"ids": resource_ids(&b), "total": b["total"]})
        });
        (r.status, shown)
    })
}

on_both_backends! {
    /// A patient's access report answers alike by GET and `POST AuditEvent/_search`: her own
    /// record's events (the same ones, naming only her), and nothing at all for a filter naming
    /// another person's record, listed or counted.
    async fn a_patients_access_report_answers_alike_by_get_and_post_search(app: TestApp) {
        let w = world_on(app).await;
        // Access to both records by their GPs, and to Ann's plan by housing.
        w.get_as(&w.gp(), &format!("Patient/{}", w.ann)).await.assert_status(200);
        w.get_as(&w.gp(), &format!("CarePlan/{}", w.ann_plan)).await.assert_status(200);
        w.get_as(&w.other_gp(), &format!("Patient/{}", w.bob)).await.assert_status(200);
        w.get_as(&w.housing(), &format!("CarePlan/{}", w.ann_plan)).await.assert_status(200);
        let me = w.app.token_for("patient", None, Some(&w.ann));
        let own = [
            format!("patient=Patient/{}", w.ann),
            format!("patient=Patient/{}&_summary=count", w.ann),
            format!("entity=CarePlan/{}", w.ann_plan),
            String::new(),
        ];
        for q in &own {
            let [get, post] = audit_both_ways(&w, &me, q).await;
            assert_eq!(get.0, 200, "{q}");
            assert_eq!(post, get, "{q}: POST _search differs from GET");
        }
        let [get, _] = audit_both_ways(&w, &me, &own[0]).await;
        let listed = get.1.unwrap_or_default();
        assert!(
            listed["ids"].as_array().is_some_and(|a| a.len() >= 3),
            "her record's events are listed: {listed}"
        );
        let events = w.get_as(&me, &format!("AuditEvent?{}", own[0])).await;
        for e in events.entries() {
            let text = e["resource"].to_string();
            assert!(text.contains(&w.ann), "{text}");
            assert!(!text.contains(&w.bob), "another patient's data: {text}");
        }
        for probe in [
            format!("patient=Patient/{}", w.bob),
            format!("patient=Patient/{}&_summary=count", w.bob),
            format!("entity=Patient/{}", w.bob),
            format!("entity=CarePlan/{}", w.bob_plan),
            format!("patient=Patient/{},Patient/{}", w.ann, w.bob),
        ] {
            for (shape, (status, shown)) in ["GET", "POST _search"]
                .iter()
                .zip(audit_both_ways(&w, &me, &probe).await)
            {
                assert_eq!(status, 200, "{shape} {probe}");
                let shown = shown.unwrap_or_default();
                assert_eq!(shown["ids"], json!([]), "{shape} {probe} matched events");
                if probe.contains("_summary=count") {
                    assert_eq!(shown["total"], 0, "{shape} {probe}");
                }
            }
        }
        // Another role is refused alike.
        let [get, post] = audit_both_ways(&w, &w.gp(), &own[0]).await;
        assert_eq!(get.0, 403);
        assert_eq!(post, get);
    }
}
