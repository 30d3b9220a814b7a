//! The write table as a matrix: every role, every resource type, every kind of write, against
//! the table written out here by hand (so a change to `write_rule` that the docs do not make
//! fails), then the conditions that need the store, on a real SQLite store.

use super::*;
use crate::interaction::{Conditions, Context as ParseContext, decode_path, decode_query, parse};
use crate::search::ParseOptions;

/// The writes each role may make (type, "c" create / "u" update), as the module docs say.
fn expected(role: Role) -> &'static [(&'static str, &'static str)] {
    match role {
        Role::LinkWorker => &[
            ("Consent", "cu"),
            ("QuestionnaireResponse", "cu"),
            ("CarePlan", "cu"),
            ("CareTeam", "cu"),
            ("ServiceRequest", "cu"),
            ("Task", "cu"),
            ("Subscription", "cu"),
        ],
        Role::Cns => &[
            ("QuestionnaireResponse", "cu"),
            ("CarePlan", "cu"),
            ("CareTeam", "cu"),
            ("ServiceRequest", "cu"),
            ("Task", "cu"),
            ("Subscription", "cu"),
        ],
        Role::Gp => &[
            ("ServiceRequest", "cu"),
            ("Task", "cu"),
            ("Subscription", "cu"),
        ],
        Role::Housing | Role::SocialCare => &[("Task", "u"), ("Subscription", "cu")],
        Role::Patient => &[("Consent", "cu")],
        Role::Auditor | Role::System => &[],
    }
}

fn ctx() -> ParseContext<'static> {
    ParseContext {
        base_url: "http://gw/fhir",
        search: ParseOptions {
            lenient: false,
            default_count: 20,
            max_count: 100,
        },
    }
}

/// The write interactions on `rtype` a client can send, each with the letter of the table's
/// kind it counts as (`None`: never open to a role in the table).
fn writes_on(rtype: ResourceType) -> Vec<(Interaction, Option<char>)> {
    let t = rtype.as_str();
    type Shape<'a> = (&'a str, String, &'a str, Option<&'a str>, Option<char>);
    let shapes: [Shape<'_>; 6] = [
        ("POST", t.to_owned(), "", None, Some('c')),
        ("POST", t.to_owned(), "", Some("_id=x1"), Some('c')),
        ("PUT", format!("{t}/x1"), "", None, Some('u')),
        ("PUT", t.to_owned(), "_id=x1", None, None),
        ("DELETE", format!("{t}/x1"), "", None, None),
        ("DELETE", t.to_owned(), "_id=x1", None, None),
    ];
    shapes
        .into_iter()
        .map(|(method, path, query, if_none_exist, kind)| {
            let conditions = Conditions {
                if_none_exist,
                ..Conditions::default()
            };
            let segments = decode_path(&path).expect("path");
            let params = decode_query(query).expect("query");
            let i = parse(method, &segments, params, &conditions, &ctx())
                .expect("a write")
                .interaction;
            (i, kind)
        })
        .collect()
}

#[test]
fn every_role_may_make_exactly_the_writes_of_the_table() {
    let mut checked = 0;
    for role in Role::ALL.into_iter().filter(|r| *r != Role::System) {
        for rtype in ResourceType::ALL {
            let allowed = expected(role)
                .iter()
                .find(|(t, _)| *t == rtype.as_str())
                .map_or("", |(_, kinds)| *kinds);
            for (i, kind) in writes_on(*rtype) {
                let want = kind.is_some_and(|k| allowed.contains(k));
                let got = permits(role, &i);
                assert_eq!(
                    got.is_ok(),
                    want,
                    "{role} {i:?}: expected {}",
                    if want { "allowed" } else { "refused" }
                );
                if let Err(e) = got {
                    assert_eq!(e.status().as_u16(), 403, "{role} {i:?}");
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 7 * ResourceType::ALL.len() * 6);
}

#[test]
fn the_conditions_are_the_documented_ones() {
    use Condition::*;
    use ResourceType as T;
    use WriteKind::*;
    assert_eq!(
        write_rule(Role::Patient, T::Consent, Update),
        Some(OwnRecord)
    );
    assert_eq!(
        write_rule(Role::LinkWorker, T::CarePlan, Create),
        Some(Related)
    );
    assert_eq!(
        write_rule(Role::Cns, T::CareTeam, Update),
        Some(OwnMembership)
    );
    assert_eq!(
        write_rule(Role::Gp, T::ServiceRequest, Create),
        Some(Requester)
    );
    assert_eq!(write_rule(Role::Gp, T::Task, Create), Some(Requester));
    assert_eq!(write_rule(Role::Housing, T::Task, Update), Some(Party));
    assert_eq!(write_rule(Role::Housing, T::Task, Create), None);
    assert_eq!(write_rule(Role::Gp, T::CarePlan, Create), None);
}
