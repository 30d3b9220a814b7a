use serde_json::json;

use super::*;

fn ext(url: &str, v: i64) -> Value {
    json!({"url": url, "valueInteger": v})
}

/// A small questionnaire exercising every rule: a group of scored concerns, a gated follow-up,
/// a choice, and a required free-text item.
fn questionnaire() -> Value {
    json!({
        "resourceType": "Questionnaire",
        "url": "https://example.org/Questionnaire/q",
        "status": "active",
        "item": [
            {"linkId": "physical", "type": "group", "item": [
                {"linkId": "pain", "type": "integer",
                 "extension": [ext(MIN_VALUE, 0), ext(MAX_VALUE, 10)]},
                {"linkId": "breathing", "type": "integer",
                 "extension": [ext(MIN_VALUE, 0), ext(MAX_VALUE, 10)]}
            ]},
            {"linkId": "emotional", "type": "group", "item": [
                {"linkId": "worry", "type": "integer"}
            ]},
            {"linkId": "smoker", "type": "boolean"},
            {"linkId": "cigarettes", "type": "integer",
             "enableWhen": [{"question": "smoker", "operator": "=", "answerBoolean": true}]},
            {"linkId": "setting", "type": "choice", "answerOption": [
                {"valueCoding": {"system": "https://example.org/setting", "code": "home"}},
                {"valueCoding": {"system": "https://example.org/setting", "code": "hospital"}}
            ]},
            {"linkId": "other-setting", "type": "open-choice", "answerOption": [
                {"valueCoding": {"system": "https://example.org/setting", "code": "home"}}
            ]},
            {"linkId": "what-matters", "type": "text", "required": true},
            {"linkId": "weight", "type": "decimal"},
            {"linkId": "seen", "type": "date"},
            {"linkId": "at", "type": "dateTime"},
            {"linkId": "notes", "type": "string", "repeats": true}
        ]
    })
}

fn response(items: Value) -> Value {
    json!({"resourceType": "QuestionnaireResponse", "status": "completed", "item": items})
}

fn base_items() -> Vec<Value> {
    vec![
        json!({"linkId": "physical", "item": [
            {"linkId": "pain", "answer": [{"valueInteger": 3}]},
            {"linkId": "breathing", "answer": [{"valueInteger": 10}]}
        ]}),
        json!({"linkId": "what-matters", "answer": [{"valueString": "My family"}]}),
    ]
}

fn with(extra: Value) -> Value {
    let mut items = base_items();
    items.push(extra);
    response(Value::Array(items))
}

fn issues(r: &Value) -> Vec<(String, String)> {
    check_response(&questionnaire(), r)
        .into_iter()
        .map(|i| (i.code.to_owned(), i.expression.unwrap_or_default()))
        .collect()
}

fn one(r: &Value, code: &str, at: &str) {
    let found = check_response(&questionnaire(), r);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].code, code, "{found:#?}");
    assert_eq!(found[0].expression.as_deref(), Some(at), "{found:#?}");
}

#[test]
fn a_conforming_response_has_no_issues() {
    assert_eq!(issues(&response(Value::Array(base_items()))), vec![]);
    let full = response(json!([
        {"linkId": "physical", "item": [{"linkId": "pain", "answer": [{"valueInteger": 0}]}]},
        {"linkId": "emotional", "item": [{"linkId": "worry", "answer": [{"valueInteger": 7}]}]},
        {"linkId": "smoker", "answer": [{"valueBoolean": true}]},
        {"linkId": "cigarettes", "answer": [{"valueInteger": 5}]},
        {"linkId": "setting", "answer": [{"valueCoding": {"system": "https://example.org/setting", "code": "hospital"}}]},
        {"linkId": "other-setting", "answer": [{"valueString": "A hospice"}]},
        {"linkId": "what-matters", "answer": [{"valueString": "Work"}]},
        {"linkId": "weight", "answer": [{"valueDecimal": 71.5}]},
        {"linkId": "seen", "answer": [{"valueDate": "2024-03-01"}]},
        {"linkId": "at", "answer": [{"valueDateTime": "2024-03-01T10:00:00Z"}]},
        {"linkId": "notes", "answer": [{"valueString": "a"}, {"valueString": "b"}]}
    ]));
    assert_eq!(issues(&full), vec![]);
}

#[test]
fn an_unknown_link_id_is_named_at_its_position() {
    let r = response(json!([
        {"linkId": "physical", "item": [
            {"linkId": "pain", "answer": [{"valueInteger": 3}]},
            {"linkId": "hiccups", "answer": [{"valueInteger": 3}]}
        ]},
        {"linkId": "what-matters", "answer": [{"valueString": "x"}]}
    ]));
    one(
        &r,
        "structure",
        "QuestionnaireResponse.item[0].item[1].linkId",
    );
    let msg = &check_response(&questionnaire(), &r)[0].diagnostics;
    assert!(msg.contains("hiccups"), "{msg}");
}

#[test]
fn an_item_in_the_wrong_group_is_named_with_its_group() {
    let r = response(json!([
        {"linkId": "physical", "item": [{"linkId": "worry", "answer": [{"valueInteger": 3}]}]},
        {"linkId": "what-matters", "answer": [{"valueString": "x"}]}
    ]));
    one(
        &r,
        "structure",
        "QuestionnaireResponse.item[0].item[0].linkId",
    );
    let msg = &check_response(&questionnaire(), &r)[0].diagnostics;
    assert!(msg.contains("emotional"), "{msg}");
    // A top-level item nested inside a group, and a nested one at the top level.
    let r = response(json!([
        {"linkId": "physical", "item": [{"linkId": "smoker", "answer": [{"valueBoolean": false}]}]},
        {"linkId": "pain", "answer": [{"valueInteger": 1}]},
        {"linkId": "what-matters", "answer": [{"valueString": "x"}]}
    ]));
    assert_eq!(
        issues(&r),
        vec![
            (
                "structure".into(),
                "QuestionnaireResponse.item[0].item[0].linkId".into()
            ),
            (
                "structure".into(),
                "QuestionnaireResponse.item[1].linkId".into()
            ),
        ]
    );
}

#[test]
fn each_item_type_takes_its_answer_type() {
    let cases = [
        ("smoker", json!({"valueString": "yes"}), "valueString"),
        ("weight", json!({"valueString": "70"}), "valueString"),
        ("what-matters", json!({"valueInteger": 1}), "valueInteger"),
        (
            "seen",
            json!({"valueDateTime": "2024-01-01T00:00:00Z"}),
            "valueDateTime",
        ),
        ("at", json!({"valueDate": "2024-01-01"}), "valueDate"),
        ("setting", json!({"valueString": "home"}), "valueString"),
        ("cigarettes", json!({"valueDecimal": 2.5}), "valueDecimal"),
    ];
    for (link, answer, key) in cases {
        let mut items = vec![
            json!({"linkId": "smoker", "answer": [{"valueBoolean": true}]}),
            json!({"linkId": "what-matters", "answer": [{"valueString": "x"}]}),
        ];
        let index = items
            .iter()
            .position(|i| i["linkId"] == link)
            .unwrap_or(items.len());
        if index == items.len() {
            items.push(json!({"linkId": link, "answer": [answer]}));
        } else {
            items[index] = json!({"linkId": link, "answer": [answer]});
        }
        let r = response(Value::Array(items));
        let found = check_response(&questionnaire(), &r);
        let at = format!("QuestionnaireResponse.item[{index}].answer[0].{key}");
        assert!(
            found.iter().any(|i| i.code == "value"
                && i.expression.as_deref() == Some(at.as_str())
                && i.diagnostics.contains(link)),
            "{link}: {found:#?}"
        );
    }
}

#[test]
fn malformed_values_of_the_right_type_are_refused() {
    one(
        &with(json!({"linkId": "smoker", "answer": [{"valueBoolean": "true"}]})),
        "value",
        "QuestionnaireResponse.item[2].answer[0].valueBoolean",
    );
    one(
        &with(json!({"linkId": "weight", "answer": [{"valueDecimal": "1.5"}]})),
        "value",
        "QuestionnaireResponse.item[2].answer[0].valueDecimal",
    );
    one(
        &with(json!({"linkId": "seen", "answer": [{"valueDate": "01/02/2024"}]})),
        "value",
        "QuestionnaireResponse.item[2].answer[0].valueDate",
    );
    let r = response(json!([
        {"linkId": "physical", "item": [{"linkId": "pain", "answer": [{"valueInteger": 2.5}]}]},
        {"linkId": "what-matters", "answer": [{"valueString": "x"}]}
    ]));
    one(
        &r,
        "value",
        "QuestionnaireResponse.item[0].item[0].answer[0].valueInteger",
    );
}

#[test]
fn open_choice_takes_a_coding_or_free_text() {
    assert_eq!(
        issues(&with(
            json!({"linkId": "other-setting", "answer": [{"valueString": "A hospice"}]})
        )),
        vec![]
    );
    assert_eq!(
        issues(&with(
            json!({"linkId": "other-setting", "answer": [{"valueCoding": {"system": "https://example.org/setting", "code": "home"}}]})
        )),
        vec![]
    );
    one(
        &with(
            json!({"linkId": "other-setting", "answer": [{"valueCoding": {"system": "https://example.org/setting", "code": "moon"}}]}),
        ),
        "value",
        "QuestionnaireResponse.item[2].answer[0].valueCoding",
    );
}

#[test]
fn values_outside_min_and_max_are_refused() {
    for (v, word) in [(11, "maximum"), (-1, "minimum")] {
        let r = response(json!([
            {"linkId": "physical", "item": [
                {"linkId": "pain", "answer": [{"valueInteger": 2}]},
                {"linkId": "breathing", "answer": [{"valueInteger": v}]}
            ]},
            {"linkId": "what-matters", "answer": [{"valueString": "x"}]}
        ]));
        one(
            &r,
            "value",
            "QuestionnaireResponse.item[0].item[1].answer[0].valueInteger",
        );
        let msg = &check_response(&questionnaire(), &r)[0].diagnostics;
        assert!(msg.contains("breathing") && msg.contains(word), "{msg}");
    }
}

#[test]
fn decimal_and_date_bounds_apply() {
    let q = json!({"item": [
        {"linkId": "w", "type": "decimal", "extension": [
            {"url": MIN_VALUE, "valueDecimal": 0.5}, {"url": MAX_VALUE, "valueDecimal": 2.5}]},
        {"linkId": "d", "type": "date", "extension": [{"url": MAX_VALUE, "valueDate": "2030-01-01"}]}
    ]});
    let r = |w: f64, d: &str| {
        json!({"status": "completed", "item": [
            {"linkId": "w", "answer": [{"valueDecimal": w}]},
            {"linkId": "d", "answer": [{"valueDate": d}]}
        ]})
    };
    assert!(check_response(&q, &r(1.0, "2029-12-31")).is_empty());
    let found = check_response(&q, &r(2.6, "2031-01-01"));
    let at: Vec<_> = found.iter().filter_map(|i| i.expression.clone()).collect();
    assert_eq!(
        at,
        vec![
            "QuestionnaireResponse.item[0].answer[0].valueDecimal",
            "QuestionnaireResponse.item[1].answer[0].valueDate"
        ]
    );
}

#[test]
fn choice_answers_must_be_listed_options() {
    one(
        &with(
            json!({"linkId": "setting", "answer": [{"valueCoding": {"system": "https://example.org/setting", "code": "moon"}}]}),
        ),
        "value",
        "QuestionnaireResponse.item[2].answer[0].valueCoding",
    );
    // The right code in another system is not the option.
    one(
        &with(
            json!({"linkId": "setting", "answer": [{"valueCoding": {"system": "https://other.org", "code": "home"}}]}),
        ),
        "value",
        "QuestionnaireResponse.item[2].answer[0].valueCoding",
    );
    // A code without a system matches on code.
    assert_eq!(
        issues(&with(
            json!({"linkId": "setting", "answer": [{"valueCoding": {"code": "home"}}]})
        )),
        vec![]
    );
}

#[test]
fn choice_items_with_non_coding_options_take_those_types() {
    let q = json!({"item": [{"linkId": "n", "type": "choice", "answerOption": [
        {"valueInteger": 1}, {"valueInteger": 2}]}]});
    let r = |a: Value| json!({"status": "completed", "item": [{"linkId": "n", "answer": [a]}]});
    assert!(check_response(&q, &r(json!({"valueInteger": 2}))).is_empty());
    let found = check_response(&q, &r(json!({"valueInteger": 3})));
    assert_eq!(found.len(), 1, "{found:#?}");
    let found = check_response(&q, &r(json!({"valueString": "2"})));
    assert_eq!(found.len(), 1, "{found:#?}");
}

#[test]
fn answer_value_sets_are_checked_when_the_resolver_expands_them() {
    let q = json!({"item": [{"linkId": "s", "type": "choice", "answerValueSet": "https://x/ValueSet/s"}]});
    let r = |code: &str| json!({"status": "completed", "item": [{"linkId": "s", "answer": [{"valueCoding": {"system": "https://x/CodeSystem/s", "code": code}}]}]});
    let resolve = |url: &str| {
        (url == "https://x/ValueSet/s")
            .then(|| vec![("https://x/CodeSystem/s".to_owned(), "a".to_owned())])
    };
    let compiled = Compiled::compile(&q, &resolve);
    assert!(compiled.check(&r("a")).is_empty());
    assert_eq!(compiled.check(&r("b")).len(), 1);
    // Without an expansion, any Coding passes.
    assert!(check_response(&q, &r("b")).is_empty());
}

#[test]
fn a_non_repeating_item_takes_one_answer() {
    let r = response(json!([
        {"linkId": "physical", "item": [
            {"linkId": "pain", "answer": [{"valueInteger": 3}, {"valueInteger": 4}]}
        ]},
        {"linkId": "what-matters", "answer": [{"valueString": "x"}]}
    ]));
    one(
        &r,
        "structure",
        "QuestionnaireResponse.item[0].item[0].answer[1]",
    );
    // The same item twice at one level.
    let r = response(json!([
        {"linkId": "physical", "item": [
            {"linkId": "pain", "answer": [{"valueInteger": 3}]},
            {"linkId": "pain", "answer": [{"valueInteger": 4}]}
        ]},
        {"linkId": "what-matters", "answer": [{"valueString": "x"}]}
    ]));
    one(&r, "structure", "QuestionnaireResponse.item[0].item[1]");
    // A repeating item takes several.
    assert_eq!(
        issues(&with(
            json!({"linkId": "notes", "answer": [{"valueString": "a"}, {"valueString": "b"}]})
        )),
        vec![]
    );
}

#[test]
fn groups_take_no_answers() {
    let r = response(json!([
        {"linkId": "physical", "answer": [{"valueInteger": 3}]},
        {"linkId": "what-matters", "answer": [{"valueString": "x"}]}
    ]));
    one(&r, "structure", "QuestionnaireResponse.item[0].answer[0]");
}

#[test]
fn missing_required_items_are_named_at_their_parent() {
    let r = response(json!([{"linkId": "smoker", "answer": [{"valueBoolean": false}]}]));
    one(&r, "required", "QuestionnaireResponse");
    let msg = &check_response(&questionnaire(), &r)[0].diagnostics;
    assert!(msg.contains("what-matters"), "{msg}");
    // Present but without an answer is still missing.
    let r = response(json!([{"linkId": "what-matters"}]));
    one(&r, "required", "QuestionnaireResponse");
    // An in-progress response may be partial.
    let mut partial = response(json!([]));
    partial["status"] = json!("in-progress");
    assert_eq!(issues(&partial), vec![]);
}

#[test]
fn required_items_count_only_at_levels_present_and_when_enabled() {
    let q = json!({"item": [
        {"linkId": "g", "type": "group", "item": [
            {"linkId": "inner", "type": "integer", "required": true},
            {"linkId": "other", "type": "integer"}
        ]},
        {"linkId": "flag", "type": "boolean"},
        {"linkId": "why", "type": "string", "required": true,
         "enableWhen": [{"question": "flag", "operator": "=", "answerBoolean": true}]}
    ]});
    let r = |items: Value| json!({"status": "completed", "item": items});
    // The group is absent: its required child is not demanded; "why" is disabled.
    assert!(
        check_response(
            &q,
            &r(json!([{"linkId": "flag", "answer": [{"valueBoolean": false}]}]))
        )
        .is_empty()
    );
    // The group is present without its required child.
    let found = check_response(
        &q,
        &r(
            json!([{"linkId": "g", "item": [{"linkId": "other", "answer": [{"valueInteger": 1}]}]}]),
        ),
    );
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(
        found[0].expression.as_deref(),
        Some("QuestionnaireResponse.item[0]")
    );
    assert!(found[0].diagnostics.contains("inner"));
    // Enabled and missing.
    let found = check_response(
        &q,
        &r(json!([{"linkId": "flag", "answer": [{"valueBoolean": true}]}])),
    );
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].diagnostics.contains("why"));
}

#[test]
fn answers_to_disabled_items_are_refused() {
    let r = with(json!({"linkId": "cigarettes", "answer": [{"valueInteger": 10}]}));
    one(
        &r,
        "business-rule",
        "QuestionnaireResponse.item[2].answer[0]",
    );
    let mut items = base_items();
    items.push(json!({"linkId": "smoker", "answer": [{"valueBoolean": false}]}));
    items.push(json!({"linkId": "cigarettes", "answer": [{"valueInteger": 10}]}));
    one(
        &response(Value::Array(items)),
        "business-rule",
        "QuestionnaireResponse.item[3].answer[0]",
    );
    // A disabled item present without answers is harmless.
    assert_eq!(issues(&with(json!({"linkId": "cigarettes"}))), vec![]);
}

fn gate(op: &str, answer: Value) -> Value {
    let mut cond = json!({"question": "src", "operator": op});
    if let Some(o) = answer.as_object()
        && let Some(cond_obj) = cond.as_object_mut()
    {
        for (k, v) in o {
            cond_obj.insert(k.clone(), v.clone());
        }
    }
    cond
}

/// Is `dst` enabled when `src` (of `kind`) has the given answers?
fn enabled_with(kind: &str, op: &str, expected: Value, src_answers: Value) -> bool {
    let q = json!({"item": [
        {"linkId": "src", "type": kind, "repeats": true},
        {"linkId": "dst", "type": "string", "enableWhen": [gate(op, expected)]}
    ]});
    let r = json!({"status": "completed", "item": [
        {"linkId": "src", "answer": src_answers},
        {"linkId": "dst", "answer": [{"valueString": "x"}]}
    ]});
    check_response(&q, &r).is_empty()
}

#[test]
fn enable_when_operators_on_integers() {
    let a = |v: i64| json!([{"valueInteger": v}]);
    let e = |v: i64| json!({"answerInteger": v});
    assert!(enabled_with("integer", "=", e(4), a(4)));
    assert!(!enabled_with("integer", "=", e(4), a(5)));
    assert!(enabled_with("integer", "!=", e(4), a(5)));
    assert!(!enabled_with("integer", "!=", e(4), a(4)));
    assert!(enabled_with("integer", ">", e(4), a(5)));
    assert!(!enabled_with("integer", ">", e(4), a(4)));
    assert!(enabled_with("integer", "<", e(4), a(3)));
    assert!(!enabled_with("integer", "<", e(4), a(4)));
    assert!(enabled_with("integer", ">=", e(4), a(4)));
    assert!(!enabled_with("integer", ">=", e(4), a(3)));
    assert!(enabled_with("integer", "<=", e(4), a(4)));
    assert!(!enabled_with("integer", "<=", e(4), a(5)));
    // Any answer meeting the condition is enough; no answer meets none.
    assert!(enabled_with(
        "integer",
        ">",
        e(4),
        json!([{"valueInteger": 1}, {"valueInteger": 9}])
    ));
    assert!(!enabled_with("integer", "!=", e(4), json!([])));
}

#[test]
fn enable_when_exists() {
    let yes = json!({"answerBoolean": true});
    let no = json!({"answerBoolean": false});
    assert!(enabled_with(
        "integer",
        "exists",
        yes.clone(),
        json!([{"valueInteger": 1}])
    ));
    assert!(!enabled_with("integer", "exists", yes, json!([])));
    assert!(enabled_with("integer", "exists", no.clone(), json!([])));
    assert!(!enabled_with(
        "integer",
        "exists",
        no,
        json!([{"valueInteger": 1}])
    ));
}

#[test]
fn enable_when_on_booleans_codings_and_strings() {
    assert!(enabled_with(
        "boolean",
        "=",
        json!({"answerBoolean": true}),
        json!([{"valueBoolean": true}])
    ));
    assert!(!enabled_with(
        "boolean",
        "=",
        json!({"answerBoolean": true}),
        json!([{"valueBoolean": false}])
    ));
    assert!(enabled_with(
        "boolean",
        "!=",
        json!({"answerBoolean": true}),
        json!([{"valueBoolean": false}])
    ));
    let coding = |c: &str| json!({"system": "s", "code": c});
    assert!(enabled_with(
        "choice",
        "=",
        json!({"answerCoding": coding("a")}),
        json!([{"valueCoding": coding("a")}])
    ));
    assert!(!enabled_with(
        "choice",
        "=",
        json!({"answerCoding": coding("a")}),
        json!([{"valueCoding": coding("b")}])
    ));
    assert!(enabled_with(
        "choice",
        "!=",
        json!({"answerCoding": coding("a")}),
        json!([{"valueCoding": coding("b")}])
    ));
    assert!(!enabled_with(
        "choice",
        "=",
        json!({"answerCoding": coding("a")}),
        json!([{"valueCoding": {"system": "t", "code": "a"}}])
    ));
    assert!(enabled_with(
        "string",
        "=",
        json!({"answerString": "x"}),
        json!([{"valueString": "x"}])
    ));
    assert!(enabled_with(
        "string",
        ">",
        json!({"answerString": "b"}),
        json!([{"valueString": "c"}])
    ));
    assert!(!enabled_with(
        "string",
        "<",
        json!({"answerString": "b"}),
        json!([{"valueString": "c"}])
    ));
    assert!(enabled_with(
        "decimal",
        ">=",
        json!({"answerDecimal": 1.5}),
        json!([{"valueDecimal": 1.5}])
    ));
    assert!(enabled_with(
        "date",
        "<",
        json!({"answerDate": "2024-01-01"}),
        json!([{"valueDate": "2023-12-31"}])
    ));
}

#[test]
fn enable_behavior_all_and_any() {
    let q = |behavior: Option<&str>| {
        let mut dst = json!({"linkId": "dst", "type": "string", "enableWhen": [
            {"question": "a", "operator": "=", "answerBoolean": true},
            {"question": "b", "operator": "=", "answerBoolean": true}
        ]});
        if let Some(b) = behavior {
            dst["enableBehavior"] = json!(b);
        }
        json!({"item": [{"linkId": "a", "type": "boolean"}, {"linkId": "b", "type": "boolean"}, dst]})
    };
    let r = |a: bool, b: bool| {
        json!({"status": "completed", "item": [
            {"linkId": "a", "answer": [{"valueBoolean": a}]},
            {"linkId": "b", "answer": [{"valueBoolean": b}]},
            {"linkId": "dst", "answer": [{"valueString": "x"}]}
        ]})
    };
    assert!(check_response(&q(Some("all")), &r(true, true)).is_empty());
    assert!(!check_response(&q(Some("all")), &r(true, false)).is_empty());
    assert!(!check_response(&q(None), &r(true, false)).is_empty());
    assert!(check_response(&q(Some("any")), &r(true, false)).is_empty());
    assert!(!check_response(&q(Some("any")), &r(false, false)).is_empty());
}

#[test]
fn disabled_groups_refuse_answers_below_them() {
    let q = json!({"item": [
        {"linkId": "flag", "type": "boolean"},
        {"linkId": "g", "type": "group",
         "enableWhen": [{"question": "flag", "operator": "=", "answerBoolean": true}],
         "item": [{"linkId": "x", "type": "integer"}]}
    ]});
    let r = json!({"status": "completed", "item": [
        {"linkId": "flag", "answer": [{"valueBoolean": false}]},
        {"linkId": "g", "item": [{"linkId": "x", "answer": [{"valueInteger": 1}]}]}
    ]});
    let found = check_response(&q, &r);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].code, "business-rule");
    assert_eq!(
        found[0].expression.as_deref(),
        Some("QuestionnaireResponse.item[1]")
    );
}

#[test]
fn items_nested_under_answers_are_checked() {
    let q = json!({"item": [{"linkId": "p", "type": "boolean", "item": [
        {"linkId": "c", "type": "integer", "extension": [{"url": MAX_VALUE, "valueInteger": 3}]}
    ]}]});
    let r = json!({"status": "completed", "item": [{"linkId": "p", "answer": [
        {"valueBoolean": true, "item": [{"linkId": "c", "answer": [{"valueInteger": 4}]}]}
    ]}]});
    let found = check_response(&q, &r);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(
        found[0].expression.as_deref(),
        Some("QuestionnaireResponse.item[0].answer[0].item[0].answer[0].valueInteger")
    );
}

#[test]
fn answers_without_a_value_and_items_without_a_link_id_are_refused() {
    one(
        &with(json!({"linkId": "weight", "answer": [{}]})),
        "required",
        "QuestionnaireResponse.item[2].answer[0]",
    );
    one(
        &with(json!({"answer": [{"valueInteger": 1}]})),
        "required",
        "QuestionnaireResponse.item[2].linkId",
    );
}

#[test]
fn every_issue_is_reported_not_only_the_first() {
    let r = response(json!([
        {"linkId": "physical", "item": [
            {"linkId": "pain", "answer": [{"valueInteger": 12}]},
            {"linkId": "breathing", "answer": [{"valueString": "bad"}]}
        ]},
        {"linkId": "nope"}
    ]));
    assert_eq!(issues(&r).len(), 4, "{:#?}", issues(&r));
}
