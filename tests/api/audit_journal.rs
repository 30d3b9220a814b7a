//! `$audit-verify` covers the journal: a gateway whose journal was changed before its copy (a
//! line's text or hash edited, a line removed, two lines swapped) reports the line as broken
//! rather than failing, never copies it into the store, and goes on recording; an intact journal
//! verifies and is counted. On both backends.

use reqwest::Method;
use serde_json::Value;

use crate::helpers::*;
use carebridge::audit::journal::Head;

use crate::journal_support::{Tamper, record_from};

fn param<'a>(p: &'a Value, name: &str) -> &'a Value {
    p["parameter"]
        .as_array()
        .and_then(|ps| ps.iter().find(|x| x["name"] == name))
        .unwrap_or(&Value::Null)
}

/// The journal a gateway left (six events, none copied, line 4 changed when `tamper` is given);
/// then a gateway starts on it, which copies what continues the chain.
async fn gateway_on_a_journal(
    tamper: Option<Tamper>,
    postgres: bool,
) -> Option<(TestApp, tempfile::TempDir)> {
    let journal = tempfile::tempdir().expect("tmp");
    record_from(journal.path(), "gateway", Head::default(), 6).await;
    if let Some(t) = tamper {
        t.apply(journal.path(), "gateway", 4);
    }
    let app = spawn_app_with_journal(journal.path(), postgres).await?;
    Some((app, journal))
}

async fn verify(app: &TestApp) -> Value {
    let auditor = app.token_for("auditor", None, None);
    let r = app
        .send(
            app.anonymous(Method::GET, "$audit-verify")
                .bearer_auth(&auditor),
        )
        .await;
    r.assert_status(200);
    r.json()
}

/// The journal's events in the store, by the number in their text.
async fn stored_journal_events(app: &TestApp) -> Vec<u64> {
    app.audit_events()
        .await
        .iter()
        .filter_map(|e| e["event"].as_u64())
        .collect()
}

async fn an_intact_journal_is_copied_and_verifies(postgres: bool) {
    let Some((app, _journal)) = gateway_on_a_journal(None, postgres).await else {
        return;
    };
    let report = verify(&app).await;
    assert_eq!(param(&report, "intact")["valueBoolean"], true, "{report}");
    assert!(
        param(&report, "verified")["valueInteger"].as_i64() >= Some(6),
        "{report}"
    );
    assert_eq!(stored_journal_events(&app).await, vec![1, 2, 3, 4, 5, 6]);
}

async fn a_changed_journal_line_is_reported_and_not_copied(tamper: Tamper, postgres: bool) {
    let Some((app, _journal)) = gateway_on_a_journal(Some(tamper), postgres).await else {
        return;
    };
    // Requests are still served and recorded.
    app.send(
        app.anonymous(Method::GET, "metadata")
            .bearer_auth(&app.token),
    )
    .await
    .assert_status(200);
    for _ in 0..2 {
        let report = verify(&app).await;
        assert_eq!(param(&report, "intact")["valueBoolean"], false, "{report}");
        assert_eq!(param(&report, "broken-chain")["valueString"], "gateway");
        assert_eq!(param(&report, "broken-at")["valueInteger"], 4, "{report}");
        let reason = param(&report, "reason")["valueString"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(reason.contains(tamper.reason()), "{tamper:?}: {reason}");
        assert!(
            reason.contains("in the journal (segment gateway.00000000000000000001.log, line 4)"),
            "{reason}"
        );
    }
    assert_eq!(
        stored_journal_events(&app).await,
        vec![1, 2, 3],
        "{tamper:?}: nothing from the changed line on is in the store"
    );
    // The auditor still searches what is stored, and is told the log is incomplete.
    let auditor = app.token_for("auditor", None, None);
    let search = app
        .send(
            app.anonymous(Method::GET, "AuditEvent")
                .bearer_auth(&auditor),
        )
        .await;
    search.assert_status(200);
    let outcome = search
        .entries()
        .into_iter()
        .find(|e| e["search"]["mode"] == "outcome")
        .unwrap_or_else(|| panic!("no warning in {}", search.text));
    assert_eq!(outcome["resource"]["issue"][0]["code"], "incomplete");
    assert!(
        search
            .entries()
            .iter()
            .any(|e| e["search"]["mode"] == "match")
    );
}

macro_rules! on_both {
    ($name:ident, $body:expr) => {
        mod $name {
            #[tokio::test]
            async fn on_sqlite() {
                let run = $body;
                run(false).await;
            }

            #[tokio::test]
            async fn on_postgres() {
                let run = $body;
                run(true).await;
            }
        }
    };
}

on_both!(
    an_intact_journal_verifies,
    super::an_intact_journal_is_copied_and_verifies
);
on_both!(an_edited_journal_line_is_reported, |p| {
    super::a_changed_journal_line_is_reported_and_not_copied(
        crate::journal_support::Tamper::Body,
        p,
    )
});
on_both!(a_journal_line_with_another_hash_is_reported, |p| {
    super::a_changed_journal_line_is_reported_and_not_copied(
        crate::journal_support::Tamper::Hash,
        p,
    )
});
on_both!(a_removed_journal_line_is_reported, |p| {
    super::a_changed_journal_line_is_reported_and_not_copied(
        crate::journal_support::Tamper::Delete,
        p,
    )
});
on_both!(swapped_journal_lines_are_reported, |p| {
    super::a_changed_journal_line_is_reported_and_not_copied(
        crate::journal_support::Tamper::Swap,
        p,
    )
});
