//! Control characters in requests: FHIR forbids code points below U+0020 in strings (tab, CR and
//! LF excepted), and PostgreSQL cannot store NUL, so a body, a search or criterion, an id or a
//! token carrying one is refused before anything reaches the store: 400 naming the fault (401 for
//! a token), alike on both backends, and nothing is written.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::resources::*;

/// The diagnostics of the first issue of an error response.
fn diagnostics(r: &Resp) -> String {
    r.json()["issue"][0]["diagnostics"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// A batch or transaction whose third entry creates `resource`.
fn bundle_of(kind: &str, resource: Value) -> Value {
    let post = |r: Value| {
        let t = r["resourceType"].as_str().unwrap_or_default().to_owned();
        json!({"resource": r, "request": {"method": "POST", "url": t}})
    };
    json!({"resourceType": "Bundle", "type": kind, "entry": [
        post(patient_named("First")),
        post(patient_named("Second")),
        post(resource)
    ]})
}

fn plan_with_note(text: &str) -> Value {
    json!({"resourceType": "CarePlan", "status": "draft", "intent": "plan",
        "subject": {"reference": "Patient/p1"}, "note": [{"text": text}]})
}

on_both_backends! {
    /// A NUL or a bell in any string of a body is 400 `invalid` at its FHIRPath; nothing is written.
    async fn a_control_character_in_a_body_is_400_at_its_path(app: TestApp) {
        let mut p = patient_named("Sm\u{0}ith");
        let r = app.create(&p).await;
        let issue = assert_outcome(&r, 400, "invalid", Some("Patient.name[0].family"));
        assert!(issue["diagnostics"].as_str().is_some_and(|d| d.contains("U+0000")), "{issue}");
        assert!(!r.text.contains("\\u0000"), "the fault is not echoed: {}", r.text);

        p["name"][0]["family"] = json!("Smith");
        p["name"][0]["given"] = json!(["Alex", "Al\u{7}ex"]);
        assert_outcome(&app.create(&p).await, 400, "invalid", Some("Patient.name[0].given[1]"));

        // An element name with a control character: the object holding it is named.
        let keyed = json!({"resourceType": "Patient", "name": [{"fam\u{0}ily": "Smith"}]});
        assert_outcome(&app.create(&keyed).await, 400, "invalid", Some("Patient.name[0]"));

        // Update and conditional update read the body the same way.
        let id = app.create_id(&patient_named("Smith")).await;
        let mut changed = patient_named("Sm\u{0}ith");
        changed["id"] = json!(id);
        assert_outcome(&app.update(&changed).await, 400, "invalid", Some("Patient.name[0].family"));
        let r = app
            .send_json(Method::PUT, "Patient?name=Smith", &patient_named("Sm\u{0}ith"), &[])
            .await;
        assert_outcome(&r, 400, "invalid", Some("Patient.name[0].family"));
        assert_eq!(app.version_count().await, 1, "only the clean Patient was written");
    }
}

on_both_backends! {
    /// A control character inside an entry of a transaction or batch is 400 for the whole Bundle,
    /// named through the entry; no entry is written.
    async fn a_control_character_in_a_bundle_entry_is_400_at_its_path(app: TestApp) {
        for kind in ["transaction", "batch"] {
            let r = app.bundle(&bundle_of(kind, plan_with_note("call \u{0} after 5"))).await;
            assert_outcome(&r, 400, "invalid", Some("Bundle.entry[2].resource.note[0].text"));
            let r = app.bundle(&bundle_of(kind, plan_with_note("call \u{1b} after 5"))).await;
            assert_outcome(&r, 400, "invalid", Some("Bundle.entry[2].resource.note[0].text"));
        }
        assert_eq!(app.version_count().await, 0);
    }
}

on_both_backends! {
    /// Tab, carriage return and line feed are allowed in FHIR strings, and kept as written.
    async fn tab_cr_and_lf_in_strings_are_accepted(app: TestApp) {
        let p = patient_named("Smith\tJones");
        let id = app.create_id(&p).await;
        let back = app.read("Patient", &id).await;
        back.assert_status(200);
        assert_eq!(back.json()["name"][0]["family"], "Smith\tJones");
        let r = app.bundle(&bundle_of("transaction", plan_with_note("line one\r\nline two\n"))).await;
        r.assert_status(200);
        let plan = app.get(r.entries()[2]["response"]["location"].as_str().unwrap_or_default()).await;
        assert_eq!(plan.json()["note"][0]["text"], "line one\r\nline two\n");
    }
}

on_both_backends! {
    /// A search value or parameter name with a control character (after percent-decoding) is 400
    /// from the search parser: plain, chained, `_id`, paging keys and `POST _search` alike.
    async fn a_control_character_in_a_search_is_400(app: TestApp) {
        app.create_id(&patient_named("Smith")).await;
        for query in [
            "name=%00",
            "name=Sm%07ith",
            "name:exact=a%00b",
            "family=Smith,a%00",
            "_id=a%00b",
            "identifier=https://fhir.nhs.uk/Id/nhs-number|%00",
            "general-practitioner=Organization/a%00",
            "_getpages=%00",
            "_sort=name%00",
            "na%00me=Smith",
        ] {
            let r = app.search("Patient", query).await;
            assert_outcome(&r, 400, "invalid", None);
            assert!(diagnostics(&r).contains("control character"), "{query}: {}", r.text);
        }
        // Chained.
        let r = app.search("CarePlan", "subject:Patient.name=%00").await;
        assert_outcome(&r, 400, "invalid", None);
        let r = app.search("CarePlan", "patient.identifier=a%00").await;
        assert_outcome(&r, 400, "invalid", None);
        // Lenient handling does not turn it into an ignored parameter.
        let r = app
            .send(app.req(Method::GET, "Patient?na%00me=x").header("prefer", "handling=lenient"))
            .await;
        assert_outcome(&r, 400, "invalid", None);
        // POST [type]/_search with a form body.
        let r = app
            .send(
                app.req(Method::POST, "Patient/_search")
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body("name=%00"),
            )
            .await;
        assert_outcome(&r, 400, "invalid", None);
        // Tab is a control character in a URL too.
        assert_outcome(&app.search("Patient", "name=a%09b").await, 400, "invalid", None);
    }
}

on_both_backends! {
    /// Conditional create, update and delete criteria, and bundle entries' URLs and criteria,
    /// pass through the same parser: 400, and nothing written or deleted.
    async fn a_control_character_in_conditional_criteria_is_400(app: TestApp) {
        let id = app.create_id(&patient_named("Smith")).await;
        let r = app
            .create_with(&patient_named("Jones"), &[("if-none-exist", "identifier=a%00")])
            .await;
        assert_outcome(&r, 400, "invalid", None);
        let r = app
            .send_json(Method::PUT, "Patient?name=Sm%00ith", &patient_named("Jones"), &[])
            .await;
        assert_outcome(&r, 400, "invalid", None);
        let r = app
            .send_json(Method::PUT, "Patient?name:Patient.name=Sm%00ith", &patient_named("Jones"), &[])
            .await;
        assert!(r.status == 400, "{}", r.text);
        let r = app.send(app.req(Method::DELETE, "Patient?name=Sm%00ith")).await;
        assert_outcome(&r, 400, "invalid", None);

        // In a transaction: conditional create and conditional update entries.
        let tx = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
            {"resource": patient_named("Jones"),
             "request": {"method": "POST", "url": "Patient", "ifNoneExist": "name=Jo%00nes"}}]});
        assert!(app.bundle(&tx).await.status == 400);
        let tx = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
            {"resource": patient_named("Jones"),
             "request": {"method": "PUT", "url": "Patient?name=Jo%00nes"}}]});
        assert!(app.bundle(&tx).await.status == 400);
        // In a batch: a search entry and a conditional delete entry fail alone, with 400.
        let batch = json!({"resourceType": "Bundle", "type": "batch", "entry": [
            {"request": {"method": "GET", "url": "Patient?name=%00"}},
            {"request": {"method": "GET", "url": "CarePlan?subject:Patient.name=%00"}},
            {"request": {"method": "DELETE", "url": "Patient?name=Sm%00ith"}},
            {"request": {"method": "GET", "url": "Patient?name=Smith"}}]});
        let r = app.bundle(&batch).await;
        r.assert_status(200);
        let statuses: Vec<String> = r
            .entries()
            .iter()
            .map(|e| e["response"]["status"].as_str().unwrap_or_default()[..3].to_owned())
            .collect();
        assert_eq!(statuses, vec!["400", "400", "400", "200"], "{}", r.text);
        app.read("Patient", &id).await.assert_status(200);
        assert_eq!(app.version_count().await, 1);
    }
}

on_both_backends! {
    /// An id with a control character is not a FHIR id: 400 on every instance interaction (refused
    /// by the request parse, before the store).
    async fn a_control_character_in_an_id_is_400(app: TestApp) {
        let id = app.create_id(&patient_named("Smith")).await;
        for bad in ["a%00b", "a%07b", "%00"] {
            for r in [
                app.get(&format!("Patient/{bad}")).await,
                app.get(&format!("Patient/{bad}/_history/1")).await,
                app.get(&format!("Patient/{bad}/_history")).await,
                app.send(app.req(Method::DELETE, &format!("Patient/{bad}"))).await,
                app.send_json(Method::PUT, &format!("Patient/{bad}"),
                    &json!({"resourceType": "Patient", "id": "ab"}), &[]).await,
            ] {
                let issue = assert_outcome(&r, 400, "invalid", None);
                let said = issue["diagnostics"].as_str().unwrap_or_default();
                assert!(
                    said.contains("control character") || said.contains("not a valid FHIR id"),
                    "{bad}: {issue}"
                );
                assert!(!r.text.contains("\\u0000"), "the id is not echoed: {}", r.text);
            }
        }
        // In a batch entry too.
        let batch = json!({"resourceType": "Bundle", "type": "batch", "entry": [
            {"request": {"method": "GET", "url": "Patient/a%00b"}},
            {"request": {"method": "DELETE", "url": "Patient/a%00b"}},
            {"request": {"method": "GET", "url": format!("Patient/{id}")}}]});
        let r = app.bundle(&batch).await;
        r.assert_status(200);
        let statuses: Vec<String> = r
            .entries()
            .iter()
            .map(|e| e["response"]["status"].as_str().unwrap_or_default()[..3].to_owned())
            .collect();
        assert_eq!(statuses, vec!["400", "400", "200"], "{}", r.text);
        assert_eq!(app.version_count().await, 1);
    }
}

on_both_backends! {
    /// A token whose claims carry a control character is an invalid token: 401, whatever the claim.
    async fn a_control_character_in_a_token_claim_is_401(app: TestApp) {
        let args = |role: &str, org: Option<&str>| carebridge::auth::mint::TokenArgs {
            role: role.to_owned(),
            org: org.map(str::to_owned),
            patient: None,
            sub: None,
            fhir_user: None,
            scope: None,
            purpose: "TREAT".to_owned(),
            minutes: 60,
            config: None,
            client: false,
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let mint = |a: carebridge::auth::mint::TokenArgs| {
            carebridge::auth::mint::mint(&app.auth, &a, now).expect("a token")
        };
        let mut tokens = vec![
            app.token_for("housing", Some("H\u{0}1"), None),
            app.token_for("gp", Some("A81001\u{7}"), None),
            app.token_for("patient", None, Some("p\u{0}1")),
        ];
        let mut a = args("gp", Some("A81001"));
        a.sub = Some("user\u{0}1".into());
        tokens.push(mint(a));
        let mut a = args("gp", Some("A81001"));
        a.fhir_user = Some("Practitioner/a\u{0}b".into());
        tokens.push(mint(a));
        let mut a = args("gp", Some("A81001"));
        a.purpose = "TR\u{0}EAT".into();
        tokens.push(mint(a));
        for token in &tokens {
            let r = app.send(app.anonymous(Method::GET, "CarePlan").bearer_auth(token)).await;
            assert_outcome(&r, 401, "login", None);
        }
        // The same claims without the control character are fine.
        let ok = mint(args("gp", Some("A81001")));
        app.send(app.anonymous(Method::GET, "CarePlan").bearer_auth(&ok))
            .await
            .assert_status(200);
    }
}
