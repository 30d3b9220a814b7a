//! Control characters in what a client sends. FHIR R4 forbids code points below U+0020 in strings
//! other than tab, carriage return and line feed (datatypes: `string`), and PostgreSQL cannot store
//! NUL in `text` or `jsonb` at all (SQLite can): a body carrying one would be a 500 on one backend
//! and stored on the other. So every request body is checked once, where it is parsed
//! ([`crate::rest::parse_json`]), and refused with 400 `invalid` naming each string or element name
//! at fault by its FHIRPath (`Bundle.entry[2].resource.note[0].text`). The rest is checked where it
//! is read: the path and query by the request parse (`interaction`), search parameters again by
//! `search::parse` (every search and conditional criterion, however it arrives), token claims by
//! `auth::verify` (with [`has_control`]).
//!
//! Decisions:
//! - The body walk reports at most [`MAX_ISSUES`] faults: enough to fix a body, bounded for a
//!   hostile one. It runs only when the body's text holds an escape that could decode to a control
//!   character ([`may_hold_forbidden`]): on a 1.2 MB transaction of 1,000 HNAs that scan took
//!   0.5 ms against 16-29 ms for the parse (release build, a busy machine), where walking every
//!   body took 3-13 ms.
//! - A fault in an element name is reported at the object holding it (the name itself cannot be
//!   shown); the forbidden character is never echoed, only its code point (`U+0000`).
//! - The path starts at the body's `resourceType` when it is a plain type name, else `Resource`.

use std::fmt::Write as _;

use serde_json::Value;

use super::OutcomeIssue;
use crate::fhir::Refusal;

/// Most faults one body reports.
pub const MAX_ISSUES: usize = 20;

/// Whether `c` may not appear in a FHIR string: a code point below U+0020 other than tab, CR, LF.
pub fn is_forbidden(c: char) -> bool {
    c < ' ' && !matches!(c, '\t' | '\n' | '\r')
}

/// The first character of `s` a FHIR string may not hold. Control characters are single bytes in
/// UTF-8 (never part of a longer sequence), so the scan is a byte scan.
pub fn first_forbidden(s: &str) -> Option<char> {
    s.bytes()
        .find(|b| *b < b' ' && !matches!(b, b'\t' | b'\n' | b'\r'))
        .map(char::from)
}

/// Whether `s` holds any control character (below U+0020, or U+007F): for text that is never a
/// free-text string (ids, codes, URLs, token claims), where tab and line breaks have no place either.
pub fn has_control(s: &str) -> bool {
    s.bytes().any(|b| b < b' ' || b == 0x7f)
}

/// [`check_strings`] for `body` parsed from the JSON text `json`, walking it only when the text
/// could hold a forbidden character ([`may_hold_forbidden`]): nearly every body is clean, and the
/// scan of its text costs a fraction of the walk.
pub fn check_json(json: &[u8], body: &Value) -> Result<(), Refusal> {
    if may_hold_forbidden(json) {
        check_strings(body)
    } else {
        Ok(())
    }
}

/// Whether JSON text may decode to a string (or element name) holding a forbidden character. JSON
/// cannot carry a control character raw (the parser refuses it), only escaped: `\b`, `\f` or
/// `\u0000`-`\u001F`; so text with none of those escapes holds none. Conservative: `\u0009` and
/// the like say `true` too. Every backslash of valid JSON starts an escape, so escapes are read in
/// turn from one backslash to the next.
pub fn may_hold_forbidden(json: &[u8]) -> bool {
    let mut rest = json;
    while let Some(at) = rest.iter().position(|b| *b == b'\\') {
        match rest.get(at + 1..) {
            Some([b'b' | b'f', ..] | [b'u', b'0', b'0', b'0' | b'1', ..]) => return true,
            Some(after) => rest = after.get(1..).unwrap_or_default(),
            None => return false,
        }
    }
    false
}

/// Refuses `body` (400 `invalid`, one issue per fault) when a string or an element name in it holds
/// a character FHIR forbids in strings.
pub fn check_strings(body: &Value) -> Result<(), Refusal> {
    // Find out without building a path per element first.
    if is_clean(body) {
        return Ok(());
    }
    let root = match body.get("resourceType").and_then(Value::as_str) {
        Some(t) if !t.is_empty() && t.len() <= 64 && t.bytes().all(|b| b.is_ascii_alphabetic()) => {
            t
        }
        _ => "Resource",
    };
    let mut issues = Vec::new();
    walk(body, &mut root.to_owned(), &mut issues);
    if issues.is_empty() {
        Ok(())
    } else {
        Err(Refusal::Invalid(issues))
    }
}

fn is_clean(v: &Value) -> bool {
    match v {
        Value::String(s) => first_forbidden(s).is_none(),
        Value::Object(obj) => obj
            .iter()
            .all(|(k, child)| first_forbidden(k).is_none() && is_clean(child)),
        Value::Array(items) => items.iter().all(is_clean),
        Value::Null | Value::Bool(_) | Value::Number(_) => true,
    }
}

fn issue(c: char, what: &str, path: &str) -> OutcomeIssue {
    OutcomeIssue::error(
        "invalid",
        format!(
            "{what} holds the control character U+{:04X}; FHIR strings may hold no character below U+0020 but tab, carriage return and line feed",
            u32::from(c)
        ),
    )
    .at(path)
}

fn walk(v: &Value, path: &mut String, issues: &mut Vec<OutcomeIssue>) {
    if issues.len() >= MAX_ISSUES {
        return;
    }
    match v {
        Value::String(s) => {
            if let Some(c) = first_forbidden(s) {
                issues.push(issue(c, "The string", path));
            }
        }
        Value::Object(obj) => {
            for (key, child) in obj {
                if issues.len() >= MAX_ISSUES {
                    return;
                }
                if let Some(c) = first_forbidden(key) {
                    issues.push(issue(c, "An element name here", path));
                    continue;
                }
                let len = path.len();
                path.push('.');
                path.push_str(key);
                walk(child, path, issues);
                path.truncate(len);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                if !matches!(item, Value::String(_) | Value::Object(_) | Value::Array(_)) {
                    continue;
                }
                let len = path.len();
                // Infallible: writing to a String.
                let _ = write!(path, "[{i}]");
                walk(item, path, issues);
                path.truncate(len);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn faults(body: &Value) -> Vec<String> {
        match check_strings(body) {
            Ok(()) => Vec::new(),
            Err(Refusal::Invalid(issues)) => issues
                .into_iter()
                .map(|i| {
                    assert_eq!(i.code, "invalid");
                    i.expression.unwrap_or_default()
                })
                .collect(),
            Err(other) => panic!("{other:?}"),
        }
    }

    #[test]
    fn tab_cr_and_lf_are_allowed_and_every_other_c0_control_is_not() {
        for c in ['\t', '\n', '\r', ' ', '\u{7f}', '\u{85}', 'é'] {
            assert!(!is_forbidden(c), "{c:?}");
            assert_eq!(first_forbidden(&format!("a{c}b")), None, "{c:?}");
        }
        for c in (0u8..0x20)
            .map(char::from)
            .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        {
            assert!(is_forbidden(c), "{c:?}");
            assert_eq!(first_forbidden(&format!("añ{c}b")), Some(c));
        }
        assert!(has_control("a\tb") && has_control("a\u{7f}") && !has_control("Practitioner/1"));
    }

    #[test]
    fn each_fault_is_named_by_its_path_from_the_resource_type() {
        let p = json!({"resourceType": "Patient", "name": [{"family": "Sm\u{0}ith", "given": ["A", "B\u{7}"]}],
            "gender": "female", "active": true, "multipleBirthInteger": 2});
        assert_eq!(
            faults(&p),
            vec!["Patient.name[0].family", "Patient.name[0].given[1]"]
        );
        let b = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
            {"resource": {"resourceType": "Patient"}}, {}, {"resource": {"resourceType": "CarePlan",
                "note": [{"text": "ok"}, {"text": "x\u{1b}"}]}}]});
        assert_eq!(faults(&b), vec!["Bundle.entry[2].resource.note[1].text"]);
        let params = json!({"resourceType": "Parameters", "parameter": [{"name": "x", "valueString": "\u{0}"}]});
        assert_eq!(faults(&params), vec!["Parameters.parameter[0].valueString"]);
    }

    #[test]
    fn a_bad_element_name_is_reported_at_its_object_and_never_echoed() {
        let p = json!({"resourceType": "Patient", "name": [{"fam\u{0}ily": "Smith"}]});
        assert_eq!(faults(&p), vec!["Patient.name[0]"]);
        let Err(Refusal::Invalid(issues)) = check_strings(&p) else {
            panic!("refused");
        };
        assert!(
            issues[0].diagnostics.contains("U+0000"),
            "{}",
            issues[0].diagnostics
        );
        assert!(!issues[0].diagnostics.contains('\u{0}'));
    }

    #[test]
    fn an_odd_or_missing_resource_type_roots_the_path_at_resource() {
        assert_eq!(faults(&json!({"note": "\u{0}"})), vec!["Resource.note"]);
        assert_eq!(
            faults(&json!({"resourceType": "Pa\u{0}tient"})),
            vec!["Resource.resourceType"]
        );
        assert_eq!(faults(&json!("\u{0}")), vec!["Resource"]);
        assert_eq!(faults(&json!(["a", "\u{0}"])), vec!["Resource[1]"]);
    }

    #[test]
    fn the_text_scan_finds_every_escape_that_can_decode_to_a_control_character() {
        for clean in [
            r#"{"a": "b"}"#,
            r#"{"a": "tab\tcr\rlf\n"}"#,
            r#"{"a": "\\b \\f \\u0000 \" \/ \u0020 \u00e9 \u2028"}"#,
        ] {
            assert!(!may_hold_forbidden(clean.as_bytes()), "{clean}");
        }
        for held in [
            r#""\u0000""#,
            r#""\u001F""#,
            r#""\u001b""#,
            r#""\b""#,
            r#""x\\\f""#,
            r#"{"\u0007": 1}"#,
        ] {
            assert!(may_hold_forbidden(held.as_bytes()), "{held}");
        }
    }

    proptest::proptest! {
        /// Whatever a body holds, the scan of its JSON text never misses what the walk would refuse.
        #[test]
        fn the_scan_never_misses_what_the_walk_refuses(
            strings in proptest::collection::vec("[\\x00-\\x7f\\u{80}-\\u{2030}]{0,6}", 1..6),
            keys in proptest::collection::vec("[\\x00-\\x40a-z]{1,4}", 1..6),
        ) {
            let mut obj = serde_json::Map::new();
            for (k, s) in keys.iter().zip(strings.iter().cycle()) {
                obj.insert(k.clone(), json!([s, {"x": s}]));
            }
            let body = Value::Object(obj);
            let text = body.to_string();
            let parsed: Value = serde_json::from_str(&text).expect("serde_json reads what it wrote");
            proptest::prop_assert_eq!(check_json(text.as_bytes(), &parsed).is_ok(), check_strings(&body).is_ok());
        }
    }

    #[test]
    fn a_hostile_body_reports_a_bounded_number_of_faults() {
        let many: Vec<Value> = (0..1000).map(|_| json!("\u{0}")).collect();
        assert_eq!(
            faults(&json!({"resourceType": "Basic", "x": many})).len(),
            MAX_ISSUES
        );
        assert!(
            faults(&json!({"resourceType": "Patient", "name": [{"family": "a\r\n\tb"}]}))
                .is_empty()
        );
    }
}
