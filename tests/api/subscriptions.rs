//! Subscriptions (the R4 backport) as subscriber systems write them: each organisation's system
//! creates its own, sees only its own, cannot name another organisation as the subscriber, and is
//! told at the faulty element when a Subscription asks for a topic, filter, endpoint or payload
//! the gateway does not offer it.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::sharing::CANON;
use crate::world::*;

const BACKPORT: &str = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition";
const SUBSCRIBER: &str = "https://fhir.carebridge.uk/CodeSystem/subscriber";

/// A Subscription to `topic` with `content`, sending to the allow-listed test host.
fn subscription(topic: &str, content: &str) -> Value {
    json!({"resourceType": "Subscription", "status": "requested", "reason": "our worklist",
        "criteria": format!("{CANON}/SubscriptionTopic/{topic}"),
        "channel": {"type": "rest-hook", "endpoint": "https://hooks.example/notify",
            "payload": "application/fhir+json",
            "_payload": {"extension": [{"url": format!("{BACKPORT}/backport-payload-content"),
                "valueCode": content}]},
            "extension": [{"url": SECRET, "valueString": "a-secret-of-at-least-thirty-two-characters"}]}})
}

const SECRET: &str = "https://fhir.carebridge.uk/StructureDefinition/subscription-signing-secret";

fn subscribers(s: &Value) -> Vec<String> {
    s["meta"]["tag"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["system"] == SUBSCRIBER)
        .filter_map(|t| t["code"].as_str().map(str::to_owned))
        .collect()
}

on_both_backends! {
    async fn each_organisation_makes_and_sees_its_own_subscriptions(app: TestApp) {
        let w = world_on(app).await;
        let housing = w.housing();
        let r = w.send_as(&housing, Method::POST, "Subscription", &subscription("referral-addressed", "id-only")).await;
        r.assert_status(201);
        let mine = r.json();
        let id = mine["id"].as_str().expect("id").to_owned();
        assert_eq!(subscribers(&mine), [w.housing.as_str()], "the gateway names the subscriber");
        assert!(!r.text.contains("thirty-two"), "the signing secret is never served");
        let path = format!("Subscription/{id}");
        w.get_as(&housing, &path).await.assert_status(200);
        for other in [w.gp(), w.other_gp(), w.app.token_for("patient", None, Some(&w.ann))] {
            w.get_as(&other, &path).await.assert_status(404);
        }
        let gp = w.send_as(&w.gp(), Method::POST, "Subscription", &subscription("pcsp-shared", "id-only")).await;
        gp.assert_status(201);
        let gp_id = gp.json()["id"].as_str().expect("id").to_owned();
        // Each finds only its own; the system sees both.
        let ids = |r: Resp| sorted(&r.match_ids());
        assert_eq!(ids(w.get_as(&housing, "Subscription").await), [id.as_str()]);
        assert_eq!(ids(w.get_as(&w.gp(), "Subscription?status=requested").await), [gp_id.as_str()]);
        assert_eq!(ids(w.app.get("Subscription").await), sorted(&[id.clone(), gp_id.clone()]));
        // Nobody writes their way into another's Subscription.
        let mut taken = mine.clone();
        taken["reason"] = json!("mine now");
        let r = w.send_as(&w.gp(), Method::PUT, &path, &taken).await;
        assert!(matches!(r.status, 403 | 404), "{}", r.text);
        let mut theirs = subscription("referral-addressed", "id-only");
        theirs["meta"] = json!({"tag": [{"system": SUBSCRIBER, "code": w.practice_b.clone()}]});
        let r = w.send_as(&housing, Method::POST, "Subscription", &theirs).await;
        assert_outcome(&r, 403, "forbidden", Some("Subscription.meta.tag"));
        // Patients and auditors subscribe to nothing.
        for token in [w.app.token_for("patient", None, Some(&w.ann)), w.app.token_for("auditor", None, None)] {
            let r = w.send_as(&token, Method::POST, "Subscription", &subscription("referral-addressed", "id-only")).await;
            r.assert_status(403);
        }
        // Its own subscriber turns it off by an update.
        let mut off = mine;
        off["status"] = json!("off");
        w.send_as(&housing, Method::PUT, &path, &off).await.assert_status(200);
    }
}

on_both_backends! {
    async fn a_subscription_the_gateway_cannot_honour_is_refused_at_its_element(app: TestApp) {
        let w = world_on(app).await;
        let housing = w.housing();
        let before = w.app.version_count().await;
        let cases: Vec<(Value, u16, &str, &str)> = vec![
            (
                {
                    let mut s = subscription("referral-addressed", "id-only");
                    s["channel"].as_object_mut().expect("channel").remove("extension");
                    s
                },
                422,
                "business-rule",
                "Subscription.channel.extension",
            ),
            (
                {
                    let mut s = subscription("referral-addressed", "id-only");
                    s["criteria"] = json!("https://elsewhere.example/SubscriptionTopic/x");
                    s
                },
                422,
                "business-rule",
                "Subscription.criteria",
            ),
            (
                {
                    let mut s = subscription("referral-addressed", "id-only");
                    s["channel"]["endpoint"] = json!("https://attacker.example/notify");
                    s
                },
                422,
                "business-rule",
                "Subscription.channel.endpoint",
            ),
            (
                {
                    let mut s = subscription("referral-addressed", "id-only");
                    s["_criteria"] = json!({"extension": [{"url": format!("{BACKPORT}/backport-filter-criteria"),
                        "valueString": "Task?owner=Organization/someone-else"}]});
                    s
                },
                422,
                "business-rule",
                "Subscription.criteria.extension[0]",
            ),
            // Housing is never shown Consents, so it may not have them in full.
            (
                subscription("consent-changed", "full-resource"),
                403,
                "forbidden",
                "Subscription.channel.payload.extension",
            ),
        ];
        for (body, status, code, path) in cases {
            let r = w.send_as(&housing, Method::POST, "Subscription", &body).await;
            assert_outcome(&r, status, code, Some(path));
            // $validate says the same without writing.
            let v = w.send_as(&housing, Method::POST, "Subscription/$validate", &body).await;
            v.assert_status(200);
            assert!(v.text.contains(path), "$validate names {path}: {}", v.text);
        }
        assert_eq!(w.app.version_count().await, before, "nothing refused is stored");
        // A GP may have consents in full (consent still decides each at send time).
        let r = w.send_as(&w.gp(), Method::POST, "Subscription", &subscription("consent-changed", "full-resource")).await;
        r.assert_status(201);
    }
}

on_both_backends! {
    /// A Subscription's ownership holds in every shape the server accepts: its reads (absolute
    /// and encoded URLs, HEAD, batch and transaction entries) answer the owner and strangers as
    /// the plain read does, `$status` too, and a stranger's write or a subscriber naming another
    /// organisation is refused alike in every write shape.
    async fn ownership_holds_in_every_shape(app: TestApp) {
        use crate::attack::shapes::{alike, all_refused, read_shapes, write_shapes};
        let w = world_on(app).await;
        let housing = w.housing();
        let r = w.send_as(&housing, Method::POST, "Subscription", &subscription("referral-addressed", "id-only")).await;
        r.assert_status(201);
        let mine = r.json();
        let id = mine["id"].as_str().expect("id").to_owned();
        let path = format!("Subscription/{id}");
        assert_eq!(alike(&read_shapes(&w, &housing, &path).await).status, 200);
        for stranger in [w.gp(), w.other_gp()] {
            assert_eq!(alike(&read_shapes(&w, &stranger, &path).await).status, 404);
            let found = alike(&read_shapes(&w, &stranger, "Subscription?status=requested,active").await);
            assert_eq!(found.status, 200);
            let status_path = format!("{path}/$status");
            let plain = w.get_as(&stranger, &status_path).await.status;
            assert_eq!(plain, 404);
            let head = w.app.send(w.app.anonymous(Method::HEAD, &status_path).bearer_auth(&stranger)).await;
            assert_eq!(head.status, plain, "HEAD $status");
        }
        let search = w.get_as(&w.gp(), "Subscription").await;
        assert!(search.match_ids().is_empty(), "a stranger finds none");
        let mut taken = mine.clone();
        taken["reason"] = json!("mine now");
        let plain = w.send_as(&w.gp(), Method::PUT, &path, &taken).await.status;
        all_refused(&write_shapes(&w, &w.gp(), Method::PUT, &path, Some(&taken)).await, plain);
        let mut theirs = subscription("referral-addressed", "id-only");
        theirs["meta"] = json!({"tag": [{"system": SUBSCRIBER, "code": w.practice_b.clone()}]});
        all_refused(&write_shapes(&w, &housing, Method::POST, "Subscription", Some(&theirs)).await, 403);
        let now = w.get_as(&housing, &path).await.json();
        assert_eq!(now["reason"], mine["reason"], "nothing refused changed it");
    }
}
