//! The same intent, sent in every shape the server accepts, must get the same answer: the plain
//! request, HEAD, a percent-encoded path, and each form of bundle entry (relative URL, absolute
//! URL, absolute path, HEAD; in a batch and in a transaction).

use reqwest::Method;
use serde_json::{Value, json};

use super::super::helpers::*;
use super::super::world::*;

/// What must be equal across shapes: the status and, for a success, what was shown (a resource, or
/// a searchset's total, matches and includes).
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub shown: Option<Value>,
}

fn shown(body: &Value) -> Value {
    if body["resourceType"] == "Bundle" {
        let mut matches = Vec::new();
        let mut included = Vec::new();
        for e in body["entry"].as_array().into_iter().flatten() {
            let r = &e["resource"];
            let name = format!(
                "{}/{}",
                r["resourceType"].as_str().unwrap_or_default(),
                r["id"].as_str().unwrap_or_default()
            );
            match e["search"]["mode"].as_str() {
                Some("include") => included.push((name, r.clone())),
                _ => matches.push((name, r.clone())),
            }
        }
        included.sort_by(|a, b| a.0.cmp(&b.0));
        json!({"total": body["total"], "matches": matches, "included": included})
    } else {
        body.clone()
    }
}

fn answer(status: u16, body: Option<&Value>) -> Answer {
    Answer {
        status,
        shown: body.filter(|_| status < 300).map(shown),
    }
}

/// `path` (below the base, with its query) with some characters of its path percent-encoded.
fn encoded(path: &str) -> String {
    let (p, q) = path
        .split_once('?')
        .map_or((path, None), |(p, q)| (p, Some(q)));
    let mut out = String::new();
    for (i, c) in p.chars().enumerate() {
        if i == 0 || c == '$' || (i % 3 == 0 && c.is_ascii_alphanumeric()) {
            out.push_str(&format!("%{:02X}", c as u32));
        } else {
            out.push(c);
        }
    }
    match q {
        Some(q) => format!("{out}?{q}"),
        None => out,
    }
}

/// A GET intent (`path` below the base) in every shape, as `token`.
pub async fn read_shapes(w: &World, token: &str, path: &str) -> Vec<(String, Answer)> {
    let app = &w.app;
    let mut out = Vec::new();
    let plain = w.get_as(token, path).await;
    out.push(("GET".to_owned(), answer(plain.status, Some(&plain.json()))));
    let enc = w.get_as(token, &encoded(path)).await;
    out.push((
        format!("GET {}", encoded(path)),
        answer(enc.status, Some(&enc.json())),
    ));
    let head = app
        .send(app.anonymous(Method::HEAD, path).bearer_auth(token))
        .await;
    assert!(head.text.is_empty(), "HEAD {path} answered with a body");
    out.push((
        "HEAD".to_owned(),
        // A HEAD shows nothing; only its status is compared.
        Answer {
            status: head.status,
            shown: plain.status.lt(&300).then(|| shown(&plain.json())),
        },
    ));
    let urls = [
        ("relative", path.to_owned()),
        ("absolute", format!("{}/{path}", app.base)),
        ("absolute path", format!("/fhir/{path}")),
        ("encoded", encoded(path)),
    ];
    for (name, url) in &urls {
        for (kind, method) in [("batch", "GET"), ("batch", "HEAD"), ("transaction", "GET")] {
            let r = w
                .bundle_as(token, kind, vec![entry(method, url, None)])
                .await;
            let a = if r.status != 200 {
                answer(r.status, None)
            } else {
                let e = &r.entries()[0];
                let status = entry_status(e);
                if method == "HEAD" {
                    assert!(
                        e.get("resource").is_none(),
                        "a HEAD entry answered with a body"
                    );
                    Answer {
                        status,
                        shown: plain.status.lt(&300).then(|| shown(&plain.json())),
                    }
                } else {
                    answer(status, e.get("resource"))
                }
            };
            out.push((format!("{kind} {method} {name} entry"), a));
        }
    }
    out
}

/// Asserts every shape answered as the plain request did, and returns that answer.
#[track_caller]
pub fn alike(answers: &[(String, Answer)]) -> Answer {
    let plain = &answers[0].1;
    for (shape, a) in &answers[1..] {
        assert_eq!(
            a, plain,
            "{shape} answered differently from the plain request"
        );
    }
    plain.clone()
}

/// A write intent in every shape, as `token`: the plain request, and as an entry of a batch
/// (relative, absolute URL) and of a transaction. Returns each shape's status.
pub async fn write_shapes(
    w: &World,
    token: &str,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> Vec<(String, u16)> {
    let app = &w.app;
    let mut out = Vec::new();
    let plain = match body {
        Some(b) => w.send_as(token, method.clone(), path, b).await,
        None => {
            app.send(app.anonymous(method.clone(), path).bearer_auth(token))
                .await
        }
    };
    out.push(("plain".to_owned(), plain.status));
    let enc = match body {
        Some(b) => w.send_as(token, method.clone(), &encoded(path), b).await,
        None => {
            app.send(
                app.anonymous(method.clone(), &encoded(path))
                    .bearer_auth(token),
            )
            .await
        }
    };
    out.push(("encoded path".to_owned(), enc.status));
    for (name, url) in [
        ("relative", path.to_owned()),
        ("absolute", format!("{}/{path}", app.base)),
    ] {
        let e = entry(method.as_str(), &url, body.cloned());
        let batch = w.bundle_as(token, "batch", vec![e.clone()]).await;
        let status = if batch.status == 200 {
            entry_status(&batch.entries()[0])
        } else {
            batch.status
        };
        out.push((format!("batch {name} entry"), status));
        let tx = w.bundle_as(token, "transaction", vec![e]).await;
        out.push((format!("transaction {name} entry"), tx.status));
    }
    out
}

/// Asserts every shape of a write was refused with `status`.
#[track_caller]
pub fn all_refused(answers: &[(String, u16)], status: u16) {
    for (shape, s) in answers {
        assert_eq!(*s, status, "{shape}");
    }
}

on_both_backends! {
    /// Reads of a plan by each caller answer alike in every shape: Ann's GP sees it (without the
    /// emotional activity), another practice and a patient token of someone else get the 404 of a
    /// missing plan, housing its redacted view, a token without CarePlan scopes 403.
    async fn a_read_answers_alike_in_every_shape(app: TestApp) {
        let w = world_on(app).await;
        let path = format!("CarePlan/{}", w.ann_plan);
        let bob = w.app.token_for("patient", None, Some(&w.bob));
        let patient_scope_only = w.app.token_with_scope("gp", Some("A81001"), "user/Patient.rs");
        let cases = [
            (w.gp(), 200),
            (w.other_gp(), 404),
            (bob, 404),
            (w.housing(), 200),
            (w.app.token_for("auditor", None, None), 404),
            (patient_scope_only, 403),
        ];
        for (token, status) in cases {
            let a = alike(&read_shapes(&w, &token, &path).await);
            assert_eq!(a.status, status);
        }
        let missing = alike(&read_shapes(&w, &w.other_gp(), "CarePlan/no-such-plan").await);
        assert_eq!(missing.status, 404);
    }
}

on_both_backends! {
    /// A token whose organisation is not an ODS code names no organisation (fail closed): Ann's
    /// practice's code in lower case, or as a list that would otherwise be searched for as two
    /// codes, one of them hers. In every shape its read of Ann's plan is the 404 of a missing plan
    /// and its search of her plans finds none, where the code as registered reads and finds it.
    async fn an_organisation_that_is_not_an_ods_code_names_nobody_in_every_shape(app: TestApp) {
        let w = world_on(app).await;
        let read = format!("CarePlan/{}", w.ann_plan);
        let search = format!("CarePlan?patient={}", w.ann);
        let total = |a: &Answer| a.shown.as_ref().map(|s| s["total"].clone());
        assert_eq!(alike(&read_shapes(&w, &w.gp(), &read).await).status, 200);
        let found = alike(&read_shapes(&w, &w.gp(), &search).await);
        assert_ne!(total(&found), Some(json!(0)), "the practice finds Ann's plans");
        for org in ["a81001", "A81001,ZZ999"] {
            let malformed = w.app.token_for("gp", Some(org), None);
            assert_eq!(alike(&read_shapes(&w, &malformed, &read).await).status, 404, "{org}");
            let found = alike(&read_shapes(&w, &malformed, &search).await);
            assert_eq!((found.status, total(&found)), (200, Some(json!(0))), "{org}");
        }
    }
}

on_both_backends! {
    /// Searches answer alike in every shape (totals, matches and includes).
    async fn a_search_answers_alike_in_every_shape(app: TestApp) {
        let w = world_on(app).await;
        for (token, path) in [
            (w.gp(), format!("CarePlan?patient={}&_include=CarePlan:subject", w.ann)),
            (w.other_gp(), format!("CarePlan?patient={}", w.ann)),
            (w.housing(), "CarePlan?_include=CarePlan:performer".to_owned()),
            (w.gp(), format!("Patient?identifier={NHS}|9434765919")),
            (w.other_gp(), format!("Patient?identifier={NHS}|9434765919")),
        ] {
            alike(&read_shapes(&w, &token, &path).await);
        }
    }
}
