//! The policy as a matrix: every role against every kind of interaction, with full scopes of its
//! context, then scopes and the remit on their own.

use super::*;
use crate::auth::scopes::{Context, Grants};
use crate::auth::{Principal, Role};
use crate::interaction::{Conditions, Context as ParseContext, decode_path, decode_query, parse};
use crate::search::ParseOptions;

fn principal(role: Role, scopes: &[&str]) -> Principal {
    let scopes: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
    Principal {
        subject: "s".into(),
        role,
        organization: role.needs_organization().then(|| "A81001".to_owned()),
        fhir_user: None,
        grants: Grants::new(&scopes),
        scopes,
        purpose: "TREAT".into(),
        patient: (role == Role::Patient).then(|| "p1".to_owned()),
        expires: i64::MAX,
        bound_certificate: None,
    }
}

/// A principal of `role` with every permission on every type in its context.
fn full(role: Role) -> Principal {
    let scope = match Context::of(role) {
        Context::System => "system/*.cruds",
        Context::Patient => "patient/*.cruds",
        Context::User => "user/*.cruds",
    };
    principal(role, &[scope])
}

const BASE: &str = "http://gw/fhir";

/// The parse context of the tests' gateway.
fn ctx() -> ParseContext<'static> {
    ParseContext {
        base_url: BASE,
        search: ParseOptions {
            lenient: false,
            default_count: 20,
            max_count: 100,
        },
    }
}

fn request(method: &str, path: &str, query: &str, if_none_exist: Option<&str>) -> Request {
    let ctx = ctx();
    let conditions = Conditions {
        if_none_exist,
        ..Conditions::default()
    };
    let segments = decode_path(path).expect("path");
    let params = decode_query(query).expect("query");
    parse(method, &segments, params, &conditions, &ctx).expect("an interaction")
}

/// 200, 403 or 405 for `principal` making `method path?query`.
fn answer(p: &Principal, method: &str, path: &str, query: &str) -> u16 {
    let conditional = (method == "POST" && query == "?").then_some("identifier=a|b");
    let query = if query == "?" { "" } else { query };
    match permits(p, &request(method, path, query, conditional), false) {
        Ok(()) => 200,
        Err(e) => e.status().as_u16(),
    }
}

#[test]
fn each_role_may_do_what_the_table_says() {
    // (method, path, query; "?" marks a conditional create) against the answer of each role in
    // the order link-worker, cns, gp, housing, social-care, patient, auditor, system.
    let table: &[(&str, &str, &str, [u16; 8])] = &[
        (
            "GET",
            "CarePlan/c1",
            "",
            [200, 200, 200, 200, 200, 200, 200, 200],
        ),
        ("GET", "CarePlan", "patient=p1", [200; 8]),
        ("GET", "CarePlan/c1/_history", "", [200; 8]),
        ("GET", "CarePlan/c1/_history/1", "", [200; 8]),
        (
            "GET",
            "CarePlan/_history",
            "",
            [403, 403, 403, 403, 403, 403, 403, 200],
        ),
        (
            "GET",
            "_history",
            "",
            [403, 403, 403, 403, 403, 403, 403, 200],
        ),
        (
            "POST",
            "CarePlan",
            "",
            [200, 200, 403, 403, 403, 403, 403, 200],
        ),
        (
            "POST",
            "CarePlan",
            "?",
            [200, 200, 403, 403, 403, 403, 403, 200],
        ),
        (
            "PUT",
            "CarePlan/c1",
            "",
            [200, 200, 403, 403, 403, 403, 403, 200],
        ),
        (
            "PUT",
            "CarePlan",
            "_id=c1",
            [403, 403, 403, 403, 403, 403, 403, 200],
        ),
        (
            "DELETE",
            "CarePlan/c1",
            "",
            [403, 403, 403, 403, 403, 403, 403, 200],
        ),
        (
            "DELETE",
            "CarePlan",
            "_id=c1",
            [403, 403, 403, 403, 403, 403, 403, 200],
        ),
        (
            "POST",
            "Organization",
            "",
            [403, 403, 403, 403, 403, 403, 403, 200],
        ),
        (
            "DELETE",
            "CodeSystem/x",
            "",
            [403, 403, 403, 403, 403, 403, 403, 200],
        ),
        (
            "POST",
            "Consent",
            "",
            [200, 403, 403, 403, 403, 200, 403, 200],
        ),
        (
            "PUT",
            "Consent/k1",
            "",
            [200, 403, 403, 403, 403, 200, 403, 200],
        ),
        (
            "POST",
            "Consent",
            "?",
            [200, 403, 403, 403, 403, 200, 403, 200],
        ),
        (
            "PUT",
            "Consent",
            "_id=k1",
            [403, 403, 403, 403, 403, 403, 403, 200],
        ),
        (
            "DELETE",
            "Consent/k1",
            "",
            [403, 403, 403, 403, 403, 403, 403, 200],
        ),
        (
            "POST",
            "ServiceRequest",
            "",
            [200, 200, 200, 403, 403, 403, 403, 200],
        ),
        (
            "PUT",
            "Task/t1",
            "",
            [200, 200, 200, 200, 200, 403, 403, 200],
        ),
        ("POST", "Task", "", [200, 200, 200, 403, 403, 403, 403, 200]),
        (
            "PUT",
            "Task",
            "_id=t1",
            [403, 403, 403, 403, 403, 403, 403, 200],
        ),
        (
            "GET",
            "AuditEvent",
            "",
            [403, 403, 403, 403, 403, 200, 200, 200],
        ),
        (
            "GET",
            "AuditEvent/1",
            "",
            [403, 403, 403, 403, 403, 200, 200, 200],
        ),
        ("POST", "AuditEvent", "", [405; 8]),
        ("PUT", "AuditEvent/1", "", [405; 8]),
        ("DELETE", "AuditEvent/1", "", [405; 8]),
        ("DELETE", "AuditEvent", "date=2026", [405; 8]),
        (
            "GET",
            "$audit-export",
            "",
            [403, 403, 403, 403, 403, 403, 200, 200],
        ),
        (
            "GET",
            "$audit-verify",
            "",
            [403, 403, 403, 403, 403, 403, 200, 200],
        ),
        (
            "GET",
            "$consent-explain",
            "",
            [403, 403, 403, 403, 403, 403, 200, 200],
        ),
        (
            "GET",
            "$hna-outcomes",
            "",
            [403, 403, 403, 403, 403, 403, 403, 200],
        ),
        (
            "POST",
            "$hna-outcomes",
            "",
            [403, 403, 403, 403, 403, 403, 403, 200],
        ),
        ("POST", "QuestionnaireResponse/q1/$extract", "", [200; 8]),
        ("POST", "QuestionnaireResponse/$extract", "", [200; 8]),
        // Chains are resolved as the caller's own search of their target (`rest::chain`).
        ("GET", "CarePlan", "subject:Patient.name=Ann", [200; 8]),
        ("GET", "CarePlan", "performer:Organization.name=X", [200; 8]),
        ("POST", "", "", [200; 8]),
        ("GET", "metadata", "", [200; 8]),
    ];
    for (method, path, query, expected) in table {
        for (role, want) in Role::ALL.into_iter().zip(expected) {
            assert_eq!(
                answer(&full(role), method, path, query),
                *want,
                "{role} {method} {path}?{query}"
            );
        }
    }
}

#[test]
fn scopes_are_needed_on_every_type_an_interaction_touches() {
    let reader = principal(Role::Gp, &["user/CarePlan.rs"]);
    assert_eq!(answer(&reader, "GET", "CarePlan/c1", ""), 200);
    assert_eq!(answer(&reader, "GET", "CarePlan", ""), 200);
    assert_eq!(answer(&reader, "GET", "Patient/p1", ""), 403);
    assert_eq!(answer(&reader, "GET", "QuestionnaireResponse", ""), 403);
    // $extract reads the HNA: a CarePlan scope alone is not enough.
    assert_eq!(
        answer(&reader, "POST", "QuestionnaireResponse/q1/$extract", ""),
        403
    );
    let system = principal(Role::System, &["system/CarePlan.cr"]);
    assert_eq!(answer(&system, "POST", "CarePlan", ""), 200);
    assert_eq!(answer(&system, "POST", "CarePlan", "?"), 403, "needs s");
    assert_eq!(
        answer(&system, "GET", "_history", ""),
        403,
        "needs s on all"
    );
    // Another context's scopes grant nothing.
    let wrong = principal(Role::Gp, &["system/*.cruds"]);
    assert_eq!(answer(&wrong, "GET", "CarePlan/c1", ""), 403);
    let none = principal(Role::Gp, &["openid", "fhirUser"]);
    assert_eq!(answer(&none, "GET", "Organization/o1", ""), 403);
    assert_eq!(answer(&none, "GET", "metadata", ""), 200);
    // A bundle needs nothing of its own; its entries are checked one by one.
    assert_eq!(answer(&none, "POST", "", ""), 200);
}

#[test]
fn constrained_system_scopes_get_no_type_or_system_history() {
    let p = principal(Role::System, &["system/*.rs?_security=x|y"]);
    assert_eq!(answer(&p, "GET", "CarePlan/_history", ""), 403);
    assert_eq!(answer(&p, "GET", "CarePlan/c1/_history", ""), 200);
}

#[test]
fn breaking_the_glass_needs_a_reason() {
    let mut p = full(Role::Cns);
    p.purpose = BREAK_GLASS.into();
    let r = request("GET", "CarePlan/c1", "", None);
    assert_eq!(
        permits(&p, &r, false).map_err(|e| e.status().as_u16()),
        Err(403)
    );
    assert!(permits(&p, &r, true).is_ok());
}

#[test]
fn each_role_has_its_remit() {
    use ResourceType::*;
    let table = [
        (Role::System, CarePlan, Remit::Everything(Rule::System)),
        (
            Role::Housing,
            Organization,
            Remit::Everything(Rule::Directory),
        ),
        (
            Role::Auditor,
            AuditEvent,
            Remit::Everything(Rule::AuditOnly),
        ),
        (Role::Auditor, CarePlan, Remit::Nothing(Rule::AuditOnly)),
        (Role::Gp, AuditEvent, Remit::Nothing(Rule::AuditOnly)),
        (Role::Patient, AuditEvent, Remit::Nothing(Rule::AuditOnly)),
        (Role::Patient, CarePlan, Remit::OwnRecord),
        (Role::Housing, Patient, Remit::Nothing(Rule::OutsideRemit)),
        (
            Role::SocialCare,
            QuestionnaireResponse,
            Remit::Nothing(Rule::OutsideRemit),
        ),
        (Role::Housing, CarePlan, Remit::Related),
        (Role::SocialCare, ServiceRequest, Remit::Related),
        (Role::Gp, QuestionnaireResponse, Remit::Related),
        (Role::LinkWorker, Consent, Remit::Related),
        (Role::Cns, Patient, Remit::Related),
        (Role::Gp, Group, Remit::Nothing(Rule::OutsideRemit)),
        (Role::Gp, Subscription, Remit::OwnSubscriptions),
        (Role::Housing, Subscription, Remit::OwnSubscriptions),
        (
            Role::Auditor,
            Subscription,
            Remit::Nothing(Rule::OutsideRemit),
        ),
        (
            Role::Patient,
            Subscription,
            Remit::Nothing(Rule::OutsideRemit),
        ),
        (Role::System, Subscription, Remit::Everything(Rule::System)),
    ];
    for (role, rtype, want) in table {
        assert_eq!(remit(role, rtype), want, "{role} {rtype}");
    }
}

mod shapes {
    //! Authorisation takes the parsed request, so every shape of one intent (a request with any
    //! characters of its path percent-encoded, HEAD, a batch entry with a relative, absolute or
    //! absolute-path URL) gets the same answer from it, for every role.

    use proptest::prelude::*;

    use super::*;
    use crate::interaction::parse_entry;

    fn encode(s: &str, mask: u64) -> String {
        s.chars()
            .enumerate()
            .map(|(i, c)| {
                // A `/` encoded is part of a segment, not a separator: another path.
                if mask >> (i % 64) & 1 == 1 && c.is_ascii() && c != '/' {
                    format!("%{:02X}", c as u32)
                } else {
                    c.to_string()
                }
            })
            .collect()
    }

    /// The answer to one shape: the parse's refusal, or the policy's status.
    fn answer(p: &Principal, parsed: Result<Request, crate::interaction::RequestError>) -> String {
        match parsed {
            Err(e) => format!("parse: {e}"),
            Ok(r) => match permits(p, &r, false) {
                Ok(()) => "200".into(),
                Err(e) => e.status().as_u16().to_string(),
            },
        }
    }

    proptest! {
        #[test]
        fn every_shape_of_an_intent_is_authorised_alike(
            method in prop::sample::select(vec!["GET", "HEAD", "POST", "PUT", "DELETE"]),
            path in prop::sample::select(vec![
                "CarePlan/c1", "CarePlan", "AuditEvent", "AuditEvent/1", "Consent/k1", "Consent",
                "Organization", "$audit-export", "$consent-explain", "$hna-outcomes", "_history",
                "CarePlan/_history", "QuestionnaireResponse/q1/$extract", "Patient/p1/_history/2",
            ]),
            query in prop::sample::select(vec!["", "_id=c1", "subject:Patient.name=Ann"]),
            role in prop::sample::select(Role::ALL.to_vec()),
            mask in any::<u64>(),
        ) {
            let p = full(role);
            let plain_segments = decode_path(path).expect("path");
            let params = decode_query(query).expect("query");
            let plain = parse(method, &plain_segments, params.clone(), &Conditions::default(), &ctx());
            let want = answer(&p, plain.clone());
            let encoded = decode_path(&encode(path, mask)).expect("encoded path");
            prop_assert_eq!(
                answer(&p, parse(method, &encoded, params, &Conditions::default(), &ctx())),
                want.clone()
            );
            let with_query = |u: String| if query.is_empty() { u } else { format!("{u}?{query}") };
            for url in [
                encode(path, mask),
                format!("{BASE}/{}", encode(path, mask)),
                format!("/fhir/{}", encode(path, mask)),
            ] {
                let via_entry = parse_entry(method, &with_query(url.clone()), &Conditions::default(), &ctx());
                prop_assert_eq!(answer(&p, via_entry), want.clone(), "{} {}", method, url);
            }
        }
    }
}

#[test]
fn conditional_criteria_reverse_chained_through_patient_data_are_for_system_only() {
    let criteria = "_has:CarePlan:subject:status=active";
    let create = request("POST", "Patient", "", Some(criteria));
    let link = principal(Role::LinkWorker, &["user/*.cruds"]);
    let refused = permits(&link, &create, false).expect_err("refused");
    assert_eq!(refused.status().as_u16(), 403);
    assert!(refused.to_string().contains("_has") || format!("{refused:?}").contains("_has"));
    let system = principal(Role::System, &["system/*.cruds"]);
    assert!(permits(&system, &create, false).is_ok());
    // In a search, every role may reverse-chain: it is resolved as the caller's own search.
    let search = request("GET", "Patient", criteria, None);
    assert!(permits(&link, &search, false).is_ok());
}
