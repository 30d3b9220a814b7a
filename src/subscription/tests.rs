use serde_json::{Value, json};

use super::*;

const C: &str = "https://fhir.carebridge.uk";

fn rules() -> ChannelRules {
    ChannelRules {
        allowed_hosts: vec!["hooks.housing.example".into()],
        loopback_http: false,
        max_attempts: 10,
    }
}

fn subscription(topic: &str, content: &str) -> Value {
    json!({"resourceType": "Subscription", "status": "requested", "reason": "worklist",
        "criteria": format!("{C}/SubscriptionTopic/{topic}"),
        "_criteria": {"extension": [{"url": format!("{BACKPORT}/backport-filter-criteria"),
            "valueString": "Task?status=requested"}]},
        "channel": {"type": "rest-hook", "endpoint": "https://hooks.housing.example/fhir",
            "payload": "application/fhir+json",
            "_payload": {"extension": [{"url": format!("{BACKPORT}/backport-payload-content"),
                "valueCode": content}]},
            "extension": [{"url": format!("{BACKPORT}/backport-heartbeat-period"), "valueUnsignedInt": 3600}]}})
}

fn paths(r: Result<Spec, Vec<OutcomeIssue>>) -> Vec<String> {
    r.expect_err("refused")
        .into_iter()
        .filter_map(|i| i.expression)
        .collect()
}

#[test]
fn a_well_formed_subscription_is_read_into_its_spec() {
    let c = Canonical::new(C);
    let spec =
        check(&subscription("referral-addressed", "id-only"), &c, &rules()).expect("accepted");
    assert_eq!(
        spec,
        Spec {
            topic: Topic::ReferralAddressed,
            filters: vec![(
                ResourceType::Task,
                vec![("status".into(), "requested".into())]
            )],
            endpoint: "https://hooks.housing.example/fhir".into(),
            content: Content::IdOnly,
            heartbeat: Some(3600),
            timeout: DEFAULT_TIMEOUT_SECONDS,
        }
    );
    let mut bare = subscription("pcsp-shared", "id-only");
    bare["_criteria"] = json!(null);
    bare["channel"]["_payload"] = json!(null);
    let spec = check(&bare, &c, &rules()).expect("accepted");
    assert_eq!((spec.content, spec.filters.len()), (Content::IdOnly, 0));
}

#[test]
fn each_fault_is_named_at_its_element() {
    let c = Canonical::new(C);
    let mut s = subscription("no-such-topic", "everything");
    s["channel"]["type"] = json!("websocket");
    s["channel"]["header"] = json!(["Authorization: Bearer x"]);
    s["channel"]["payload"] = json!("application/xml");
    assert_eq!(
        paths(check(&s, &c, &rules())),
        [
            "Subscription.criteria",
            "Subscription.channel.type",
            "Subscription.channel.header",
            "Subscription.channel.payload.extension",
            "Subscription.channel.payload"
        ]
    );
    let mut f = subscription("pcsp-shared", "id-only");
    f["_criteria"]["extension"][0]["valueString"] = json!("Task?status=requested");
    assert_eq!(
        paths(check(&f, &c, &rules())),
        ["Subscription.criteria.extension[0]"],
        "a type the topic is not about"
    );
    f["_criteria"]["extension"][0]["valueString"] = json!("CarePlan?title=x");
    assert_eq!(
        paths(check(&f, &c, &rules())),
        ["Subscription.criteria.extension[0]"],
        "a parameter the topic does not allow"
    );
    let mut h = subscription("referral-sent", "id-only");
    h["channel"]["extension"][0]["valueUnsignedInt"] = json!(5);
    assert_eq!(
        paths(check(&h, &c, &rules())),
        ["Subscription.channel.extension"]
    );
}

#[test]
fn full_resource_only_for_roles_shown_every_type_of_the_topic() {
    let c = Canonical::new(C);
    let mut consents = subscription("consent-changed", "full-resource");
    consents["_criteria"] = json!(null);
    let spec = check(&consents, &c, &rules()).expect("well formed");
    // Housing is never shown Consents; a GP is (under consent).
    let refused = content_refused(spec.topic, spec.content, Role::Housing).expect("refused");
    assert_eq!(
        refused.expression.as_deref(),
        Some("Subscription.channel.payload.extension")
    );
    assert!(content_refused(spec.topic, spec.content, Role::Gp).is_none());
    let referrals = check(
        &subscription("referral-addressed", "full-resource"),
        &c,
        &rules(),
    )
    .expect("well formed");
    assert!(content_refused(referrals.topic, referrals.content, Role::Housing).is_none());
    let ids = check(&subscription("consent-changed", "id-only"), &c, &rules());
    assert!(ids.is_err(), "the Task filter is not the consent topic's");
}

#[test]
fn endpoints_are_https_on_the_allow_list_or_loopback_http_in_development() {
    let c = Canonical::new(C);
    let with = |endpoint: &str, rules: &ChannelRules| {
        let mut s = subscription("referral-addressed", "id-only");
        s["channel"]["endpoint"] = json!(endpoint);
        check(&s, &c, rules)
            .map(|_| ())
            .map_err(|_| endpoint.to_owned())
    };
    let dev = ChannelRules {
        loopback_http: true,
        ..rules()
    };
    assert!(with("https://HOOKS.housing.example:8443/x", &rules()).is_ok());
    for refused in [
        "https://evil.example/x",
        "http://hooks.housing.example/x",
        "http://127.0.0.1:9000/x",
        "https://user:pw@hooks.housing.example/x",
        "ftp://hooks.housing.example/x",
        "not a url",
    ] {
        assert!(with(refused, &rules()).is_err(), "{refused}");
    }
    for allowed in [
        "http://127.0.0.1:9000/x",
        "http://[::1]:9000/x",
        "http://localhost/x",
    ] {
        assert!(with(allowed, &dev).is_ok(), "{allowed}");
    }
    assert!(with("http://10.0.0.1/x", &dev).is_err());
    let sidecar = ChannelRules {
        allowed_hosts: vec!["127.0.0.1".into(), "hooks.housing.example".into()],
        ..rules()
    };
    assert!(
        with("http://127.0.0.1:9000/x", &sidecar).is_ok(),
        "a listed loopback sidecar"
    );
    assert!(
        with("http://[::1]:9000/x", &sidecar).is_err(),
        "only the loopback listed"
    );
    assert!(
        with("http://hooks.housing.example/x", &sidecar).is_err(),
        "never http off the host"
    );
}

#[test]
fn a_subscription_names_its_subscriber_in_a_tag() {
    let mine = vec![crate::fhir::ids::OrganizationId::parse("housing1").expect("valid")];
    let bare = subscription("referral-addressed", "id-only");
    assert!(!subscribed_by(&bare, &mine), "no subscriber named");
    let stamped = with_subscriber(bare, "housing1");
    assert_eq!(subscribers(&stamped), ["housing1"]);
    assert!(subscribed_by(&stamped, &mine));
    assert!(!subscribed_by(
        &stamped,
        &[crate::fhir::ids::OrganizationId::parse("gp1").expect("valid")]
    ));
    // A subscriber already named is kept, not replaced: the write table decides whether it may be.
    let theirs = with_subscriber(stamped.clone(), "gp1");
    assert_eq!(subscribers(&theirs), ["housing1"]);
    let mut two = stamped;
    two["meta"]["tag"]
        .as_array_mut()
        .expect("tags")
        .push(json!({"system": SUBSCRIBER_TAG, "code": "gp1"}));
    assert!(
        !subscribed_by(&two, &mine),
        "every subscriber named must be mine"
    );
}
