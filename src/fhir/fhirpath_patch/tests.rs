use serde_json::{Value, json};

use super::apply;
use super::path::{self, Literal, Step};
use crate::fhir::Refusal;

/// The operation parameter of `kind` at `path`, with `more` parts.
fn op(kind: &str, path: &str, more: &[Value]) -> Value {
    let mut parts = vec![
        json!({"name": "type", "valueCode": kind}),
        json!({"name": "path", "valueString": path}),
    ];
    parts.extend(more.iter().cloned());
    json!({"name": "operation", "part": parts})
}

/// The part `name` with `value[x]` member `key`.
fn part(name: &str, key: &str, v: Value) -> Value {
    let mut part = json!({ "name": name });
    if let Some(m) = part.as_object_mut() {
        m.insert(key.into(), v);
    }
    part
}

fn int(name: &str, i: i64) -> Value {
    part(name, "valueInteger", json!(i))
}

fn add(path: &str, name: &str, key: &str, v: Value) -> Value {
    let name = part("name", "valueString", json!(name));
    op("add", path, &[name, part("value", key, v)])
}

fn insert(path: &str, index: i64, key: &str, v: Value) -> Value {
    op(
        "insert",
        path,
        &[int("index", index), part("value", key, v)],
    )
}

fn delete(path: &str) -> Value {
    op("delete", path, &[])
}

fn replace(path: &str, key: &str, v: Value) -> Value {
    op("replace", path, &[part("value", key, v)])
}

fn move_(path: &str, source: i64, destination: i64) -> Value {
    op(
        "move",
        path,
        &[int("source", source), int("destination", destination)],
    )
}

/// `ops` applied to `target`: the result, or the status and message.
fn patched(target: &Value, ops: &[Value]) -> Result<Value, (u16, String)> {
    let patch = json!({"resourceType": "Parameters", "parameter": ops});
    apply(target, &patch).map_err(|e| match &e {
        Refusal::Malformed(m) => (400, m.clone()),
        Refusal::BusinessRule(issues) => {
            (422, issues.iter().map(|i| i.diagnostics.as_str()).collect())
        }
        Refusal::Invalid(_) => (400, e.to_string()),
    })
}

/// `ops` applied to `target`: member `key` of the result, or the status.
fn member(target: &Value, ops: &[Value], key: &str) -> Result<Option<Value>, u16> {
    patched(target, ops)
        .map(|r| r.get(key).cloned())
        .map_err(|(s, _)| s)
}

fn status(target: &Value, ops: &[Value]) -> u16 {
    patched(target, ops).map_or_else(|(s, _)| s, |_| 200)
}

fn refused(status: u16, message: &str) -> Result<Value, (u16, String)> {
    let head = if status == 400 {
        "operation[0]:"
    } else {
        "operation[0] cannot be applied:"
    };
    Err((status, format!("FHIRPath Patch {head} {message}")))
}

fn task() -> Value {
    json!({
        "resourceType": "Task",
        "id": "t1",
        "status": "requested",
        "intent": "order",
        "code": {"coding": [{"system": "http://hl7.org/fhir/CodeSystem/task-code", "code": "fulfill"}]},
        "for": {"reference": "Patient/p1"},
        "authoredOn": "2024-03-01T10:00:00Z",
        "note": [{"text": "Call the patient"}, {"text": "Book transport"}],
        "input": [
            {"type": {"text": "distress"}, "valueInteger": 7},
            {"type": {"text": "urgent"}, "valueBoolean": true}
        ]
    })
}

fn care_plan() -> Value {
    json!({
        "resourceType": "CarePlan",
        "id": "cp1",
        "status": "active",
        "intent": "plan",
        "subject": {"reference": "Patient/p1"},
        "activity": [
            {"detail": {"status": "scheduled", "code": {"coding": [{"system": "http://snomed.info/sct", "code": "229070002"}]}}},
            {"detail": {"status": "in-progress", "code": {"text": "Dietitian"}, "scheduledString": "weekly"}},
            {"detail": {"status": "scheduled", "code": {"text": "Dietitian"}}}
        ]
    })
}

fn patient() -> Value {
    json!({
        "resourceType": "Patient",
        "id": "example",
        "identifier": [{"system": "http://example.org/a", "value": "1"}, {"system": "http://example.org/b", "value": "2"}],
        "name": [{"family": "Chalmers", "given": ["Peter", "James"], "_given": [null, {"id": "g2"}]}],
        "birthDate": "1974-12-25",
        "_birthDate": {"extension": [{"url": "http://example.org/time", "valueDateTime": "1974-12-25T14:35:45-05:00"}]},
        "contact": [{"name": {"text": "Bénédicte"}}]
    })
}

// The examples of https://hl7.org/fhir/R4/fhirpatch.html, on a Patient.

#[test]
fn spec_add_a_primitive() {
    let p = json!({"resourceType": "Patient", "id": "example"});
    let out = patched(
        &p,
        &[add(
            "Patient",
            "birthDate",
            "valueDate",
            json!("1930-01-01"),
        )],
    );
    assert_eq!(
        out,
        Ok(json!({"resourceType": "Patient", "id": "example", "birthDate": "1930-01-01"}))
    );
}

#[test]
fn spec_add_an_element_without_a_type_from_parts() {
    let value =
        json!({"name": "value", "part": [{"name": "name", "valueHumanName": {"text": "a name"}}]});
    let contact = op(
        "add",
        "Patient",
        &[part("name", "valueString", json!("contact")), value],
    );
    let out = member(&patient(), std::slice::from_ref(&contact), "contact");
    let want = json!([{"name": {"text": "Bénédicte"}}, {"name": {"text": "a name"}}]);
    assert_eq!(out, Ok(Some(want)));
    // Without a list yet, the one value stays one value (the model would know `contact` repeats).
    let out = member(&json!({"resourceType": "Patient"}), &[contact], "contact");
    assert_eq!(out, Ok(Some(json!({"name": {"text": "a name"}}))));
}

#[test]
fn spec_insert() {
    let id = json!({"system": "http://example.org/c", "value": "3"});
    let out = member(
        &patient(),
        &[insert(
            "Patient.identifier",
            0,
            "valueIdentifier",
            id.clone(),
        )],
        "identifier",
    );
    let want = json!([id, {"system": "http://example.org/a", "value": "1"}, {"system": "http://example.org/b", "value": "2"}]);
    assert_eq!(out, Ok(Some(want)));
}

#[test]
fn spec_delete_takes_the_extensions_with_the_element() {
    let mut want = patient();
    if let Some(m) = want.as_object_mut() {
        m.shift_remove("birthDate");
        m.shift_remove("_birthDate");
    }
    assert_eq!(
        patched(&patient(), &[delete("Patient.birthDate")]),
        Ok(want)
    );
}

#[test]
fn spec_replace() {
    let out = patched(
        &patient(),
        &[replace(
            "Patient.birthDate",
            "valueDate",
            json!("1930-01-01"),
        )],
    );
    let out = out.map(|r| (r["birthDate"].clone(), r.get("_birthDate").cloned()));
    assert_eq!(out, Ok((json!("1930-01-01"), None)));
}

#[test]
fn spec_move() {
    let out = member(
        &patient(),
        &[move_("Patient.identifier", 0, 1)],
        "identifier",
    );
    let want = json!([{"system": "http://example.org/b", "value": "2"}, {"system": "http://example.org/a", "value": "1"}]);
    assert_eq!(out, Ok(Some(want)));
}

// Every operation on a Task.

#[test]
fn add_appends_to_a_list_and_creates_what_is_not_there() {
    let out = patched(
        &task(),
        &[
            add("Task", "note", "valueAnnotation", json!({"text": "Seen"})),
            add("Task", "priority", "valueCode", json!("urgent")),
            add("Task.for", "display", "valueString", json!("Ann Smith")),
        ],
    );
    let mut want = task();
    want["note"] =
        json!([{"text": "Call the patient"}, {"text": "Book transport"}, {"text": "Seen"}]);
    want["priority"] = json!("urgent");
    want["for"]["display"] = json!("Ann Smith");
    assert_eq!(out, Ok(want));
}

#[test]
fn add_refuses_what_is_already_there_and_not_a_list() {
    let out = patched(
        &task(),
        &[add("Task", "status", "valueCode", json!("ready"))],
    );
    assert_eq!(out, refused(422, "the element already has 'status'"));
    let out = patched(
        &task(),
        &[add("Task.status", "id", "valueString", json!("s1"))],
    );
    assert_eq!(
        out,
        refused(
            422,
            "the element selected is a primitive, not one with children"
        )
    );
}

#[test]
fn insert_puts_an_item_at_an_index_and_creates_a_list() {
    let out = patched(
        &task(),
        &[
            insert("Task.note", 1, "valueAnnotation", json!({"text": "middle"})),
            insert("Task.note", 3, "valueAnnotation", json!({"text": "end"})),
            insert(
                "Task.for.identifier",
                0,
                "valueIdentifier",
                json!({"value": "9434765919"}),
            ),
        ],
    );
    let mut want = task();
    want["note"] = json!([{"text": "Call the patient"}, {"text": "middle"}, {"text": "Book transport"}, {"text": "end"}]);
    want["for"]["identifier"] = json!([{"value": "9434765919"}]);
    assert_eq!(out, Ok(want));
    for (index, path) in [
        (3, "Task.note"),
        (-1, "Task.note"),
        (1, "Task.basedOn"),
        (0, "Task.status"),
        (0, "Task.x.note"),
    ] {
        let ops = [insert(path, index, "valueString", json!("x"))];
        assert_eq!(status(&task(), &ops), 422, "{index} {path}");
    }
}

#[test]
fn delete_removes_items_members_and_what_they_leave_empty() {
    let out = patched(&task(), &[delete("Task.note[0]"), delete("Task.for")]);
    let mut want = task();
    want["note"] = json!([{"text": "Book transport"}]);
    if let Some(m) = want.as_object_mut() {
        m.shift_remove("for");
    }
    assert_eq!(out, Ok(want));
    // The last item takes its list, and the emptied `code` goes with it.
    let out = patched(
        &task(),
        &[
            delete("Task.code.coding"),
            delete("Task.note.last()"),
            delete("Task.note"),
        ],
    );
    let mut want = task();
    if let Some(m) = want.as_object_mut() {
        m.shift_remove("code");
        m.shift_remove("note");
    }
    assert_eq!(out, Ok(want));
    // Nothing selected is no change; several is not one; the resource stays.
    assert_eq!(
        patched(&task(), &[delete("Task.partOf"), delete("Task.note[7]")]),
        Ok(task())
    );
    assert_eq!(
        patched(&task(), &[delete("Task.note")]),
        refused(422, "'Task.note' selects 2 elements, not one")
    );
    assert_eq!(
        patched(&task(), &[delete("Task")]),
        refused(422, "the resource itself cannot be deleted")
    );
}

#[test]
fn replace_changes_one_element() {
    let out = patched(
        &task(),
        &[
            replace("Task.status", "valueCode", json!("accepted")),
            replace(
                "Task.note[1]",
                "valueAnnotation",
                json!({"text": "Taxi booked"}),
            ),
            replace(
                "Task.input.where(type.text = 'distress').valueInteger",
                "valueInteger",
                json!(4),
            ),
        ],
    );
    let mut want = task();
    want["status"] = json!("accepted");
    want["note"][1] = json!({"text": "Taxi booked"});
    want["input"][0]["valueInteger"] = json!(4);
    assert_eq!(out, Ok(want));
    for path in ["Task.priority", "Task.note", "Task"] {
        assert_eq!(
            status(&task(), &[replace(path, "valueCode", json!("x"))]),
            422,
            "{path}"
        );
    }
}

#[test]
fn move_reorders_a_list() {
    let out = member(&task(), &[move_("Task.note", 1, 0)], "note");
    assert_eq!(
        out,
        Ok(Some(
            json!([{"text": "Book transport"}, {"text": "Call the patient"}])
        ))
    );
    for (source, destination, path) in [
        (2, 0, "Task.note"),
        (0, 2, "Task.note"),
        (-1, 0, "Task.note"),
        (0, 0, "Task.status"),
    ] {
        let ops = [move_(path, source, destination)];
        assert_eq!(status(&task(), &ops), 422, "{source} {destination} {path}");
    }
}

// Selection.

#[test]
fn where_first_last_and_indexers_select_as_fhirpath_does() {
    let completed = |path: &str| {
        let out = member(
            &care_plan(),
            &[replace(path, "valueCode", json!("completed"))],
            "activity",
        );
        let statuses = |a: Option<Value>| -> Vec<Value> {
            let items = a.and_then(|a| a.as_array().cloned()).unwrap_or_default();
            items
                .iter()
                .map(|x| x["detail"]["status"].clone())
                .collect()
        };
        out.map(statuses)
    };
    let only = |i: usize| {
        let mut statuses = vec![json!("scheduled"), json!("in-progress"), json!("scheduled")];
        statuses[i] = json!("completed");
        Ok::<Vec<Value>, u16>(statuses)
    };
    assert_eq!(
        completed("CarePlan.activity.detail.where(code.coding.code = '229070002').status"),
        only(0)
    );
    assert_eq!(
        completed(
            "CarePlan.activity.detail.where(status = 'scheduled' and code.text = 'Dietitian').status"
        ),
        only(2)
    );
    assert_eq!(
        completed("CarePlan.activity.where(detail.scheduledString = 'weekly').detail.status"),
        only(1)
    );
    assert_eq!(completed("CarePlan.activity.detail.status[2]"), only(2));
    assert_eq!(
        completed("CarePlan.activity.first().detail.status"),
        only(0)
    );
    assert_eq!(completed("CarePlan.activity.detail.status.last()"), only(2));
    assert_eq!(
        completed("CarePlan . activity [ 1 ] . detail . status"),
        only(1)
    );
    assert_eq!(
        completed("CarePlan.`activity`.detail.where(code.text = 'Dietitian').status[0]"),
        only(1)
    );
    // Two activities match; none matches.
    assert_eq!(
        status(
            &care_plan(),
            &[delete(
                "CarePlan.activity.where(detail.code.text = 'Dietitian')"
            )]
        ),
        422
    );
    assert_eq!(
        patched(
            &care_plan(),
            &[delete("CarePlan.activity.where(detail.status = 'x')")]
        ),
        Ok(care_plan())
    );
}

#[test]
fn where_compares_booleans_numbers_and_this() {
    let out = member(
        &task(),
        &[
            delete("Task.input.where(valueBoolean = true)"),
            replace(
                "Task.input.where(valueInteger = 7.0).type.text",
                "valueString",
                json!("HNA distress"),
            ),
        ],
        "input",
    );
    assert_eq!(
        out,
        Ok(Some(
            json!([{"type": {"text": "HNA distress"}, "valueInteger": 7}])
        ))
    );
    let out = member(
        &patient(),
        &[delete("Patient.name.given.where($this = 'James')")],
        "name",
    );
    assert_eq!(
        out,
        Ok(Some(json!([{"family": "Chalmers", "given": ["Peter"]}])))
    );
    // A string is not a boolean, and -7 is not 7.
    assert_eq!(
        patched(
            &task(),
            &[delete("Task.input.where(valueBoolean = 'true')")]
        ),
        Ok(task())
    );
    assert_eq!(
        patched(&task(), &[delete("Task.input.where(valueInteger = -7)")]),
        Ok(task())
    );
}

#[test]
fn equality_with_several_values_is_not_true() {
    // FHIRPath `=` compares whole collections: a concept with two codings matches neither code.
    let two = json!({"resourceType": "Task", "input": [
        {"type": {"coding": [{"code": "a"}, {"code": "b"}]}, "valueString": "x"},
        {"type": {"coding": [{"code": "a"}]}, "valueString": "y"}
    ]});
    let out = member(
        &two,
        &[delete("Task.input.where(type.coding.code = 'a')")],
        "input",
    );
    assert_eq!(
        out,
        Ok(Some(
            json!([{"type": {"coding": [{"code": "a"}, {"code": "b"}]}, "valueString": "x"}])
        ))
    );
}

#[test]
fn the_extensions_of_a_primitive_list_stay_with_their_items() {
    let given = |op: Value| {
        let name = member(&patient(), &[op], "name").map(|n| n.unwrap_or_default());
        name.map(|n| (n[0]["given"].clone(), n[0].get("_given").cloned()))
    };
    let out = given(insert(
        "Patient.name.given",
        0,
        "valueString",
        json!("Pete"),
    ));
    assert_eq!(
        out,
        Ok((
            json!(["Pete", "Peter", "James"]),
            Some(json!([null, null, {"id": "g2"}]))
        ))
    );
    let out = given(move_("Patient.name.given", 1, 0));
    assert_eq!(
        out,
        Ok((json!(["James", "Peter"]), Some(json!([{"id": "g2"}, null]))))
    );
    let out = given(add("Patient.name", "given", "valueString", json!("Jim")));
    assert_eq!(
        out,
        Ok((
            json!(["Peter", "James", "Jim"]),
            Some(json!([null, {"id": "g2"}, null]))
        ))
    );
    let out = given(replace(
        "Patient.name.given[1]",
        "valueString",
        json!("Jim"),
    ));
    assert_eq!(out, Ok((json!(["Peter", "Jim"]), None)));
    let out = given(delete("Patient.name.given[0]"));
    assert_eq!(out, Ok((json!(["James"]), Some(json!([{"id": "g2"}])))));
    // A `_given` shorter than `given` is read as ending in nulls.
    let short = json!({"resourceType": "Patient", "name": [{"given": ["a", "b"], "_given": [{"id": "a1"}]}]});
    let out = member(
        &short,
        &[add("Patient.name", "given", "valueString", json!("c"))],
        "name",
    );
    let want = json!([{"given": ["a", "b", "c"], "_given": [{"id": "a1"}, null, null]}]);
    assert_eq!(out, Ok(Some(want)));
}

#[test]
fn member_order_is_kept() {
    let out = patched(
        &task(),
        &[
            delete("Task.code"),
            replace("Task.status", "valueCode", json!("ready")),
        ],
    );
    let keys = out.map(|r| r.as_object().map(|m| m.keys().cloned().collect::<Vec<_>>()));
    let want = [
        "resourceType",
        "id",
        "status",
        "intent",
        "for",
        "authoredOn",
        "note",
        "input",
    ];
    assert_eq!(keys, Ok(Some(want.map(String::from).to_vec())));
}

// Values.

#[test]
fn nested_parts_build_objects_and_repeated_names_lists() {
    let note = json!({"name": "value", "part": [
        {"name": "authorString", "valueString": "Nurse Ratched"},
        {"name": "time", "valueDateTime": "2024-03-02T09:00:00Z"},
        {"name": "text", "valueMarkdown": "Discussed **diet**"},
    ]});
    let out = member(
        &task(),
        &[op("insert", "Task.note", &[int("index", 0), note])],
        "note",
    );
    let first = out.map(|n| n.unwrap_or_default()[0].clone());
    assert_eq!(
        first,
        Ok(
            json!({"authorString": "Nurse Ratched", "time": "2024-03-02T09:00:00Z", "text": "Discussed **diet**"})
        )
    );
    let output = json!({"name": "value", "part": [
        {"name": "type", "part": [
            {"name": "coding", "valueCoding": {"code": "a"}},
            {"name": "coding", "valueCoding": {"code": "b"}},
            {"name": "coding", "valueCoding": {"code": "c"}},
        ]},
        {"name": "valueBoolean", "valueBoolean": false},
    ]});
    let ops = [op(
        "add",
        "Task",
        &[part("name", "valueString", json!("output")), output],
    )];
    let want = json!({"type": {"coding": [{"code": "a"}, {"code": "b"}, {"code": "c"}]}, "valueBoolean": false});
    assert_eq!(member(&task(), &ops, "output"), Ok(Some(want)));
}

// Errors: 400 for the request, 422 for this resource, all or nothing.

#[test]
fn a_malformed_patch_is_400_naming_its_fault() {
    let t = task();
    let bad = |patch: Value| match apply(&t, &patch) {
        Err(Refusal::Malformed(m)) => m,
        other => format!("not a 400: {other:?}"),
    };
    assert_eq!(
        bad(json!([{"op": "add"}])),
        "A FHIRPath Patch is a Parameters resource"
    );
    let not_a_list = json!({"resourceType": "Parameters", "parameter": {}});
    assert_eq!(bad(not_a_list), "A FHIRPath Patch's 'parameter' is a list");
    let path_missing =
        json!({"name": "operation", "part": [{"name": "type", "valueCode": "delete"}]});
    let m = bad(
        json!({"resourceType": "Parameters", "parameter": [delete("Task.note[0]"), delete("Task.note[0]"), path_missing]}),
    );
    assert_eq!(m, "FHIRPath Patch operation[2]: 'path' is missing");
    let name = |n: &str| part("name", "valueString", json!(n));
    let x = || part("value", "valueString", json!("x"));
    let value = |v: Value| op("replace", "Task.status", &[v]);
    let cases = [
        (
            json!({"name": "op", "part": []}),
            "a parameter that is not named 'operation'",
        ),
        (json!({"name": "operation"}), "the operation has no 'part's"),
        (
            json!({"name": "operation", "part": [{"valueCode": "add"}]}),
            "part[0] has no 'name'",
        ),
        (
            json!({"name": "operation", "part": [{"name": "path", "valueString": "Task"}]}),
            "'type' is missing",
        ),
        (
            json!({"name": "operation", "part": [{"name": "type", "valueInteger": 1}]}),
            "'type' is not a string",
        ),
        (
            op("delete", "Task", &[json!({"name": "type"})]),
            "'type' is given twice",
        ),
        (
            op("frobnicate", "Task", &[]),
            "'frobnicate' is not an operation type",
        ),
        (op("add", "Task", &[x()]), "'name' is missing"),
        (
            op("add", "Task", &[name("_status"), x()]),
            "'name' '_status' is not an element name",
        ),
        (op("add", "Task", &[name("note")]), "'value' is missing"),
        (op("replace", "Task.status", &[]), "'value' is missing"),
        (op("insert", "Task.note", &[x()]), "'index' is missing"),
        (
            op(
                "insert",
                "Task.note",
                &[part("index", "valueString", json!("0")), x()],
            ),
            "'index' is not an integer",
        ),
        (
            op("insert", "Task.note", &[json!({"name": "index"}), x()]),
            "'index' has no value",
        ),
        (
            insert("Task.note[0]", 0, "valueString", json!("x")),
            "the 'path' of 'insert' must end with the list's name",
        ),
        (
            op("move", "Task.note", &[int("destination", 0)]),
            "'source' is missing",
        ),
        (
            op("move", "Task.note", &[int("source", 0)]),
            "'destination' is missing",
        ),
        (
            op(
                "delete",
                "Task",
                &[json!({"name": "allowMultiple", "valueBoolean": true})],
            ),
            "'allowMultiple' is not a part of an operation",
        ),
        (
            value(json!({"name": "value"})),
            "'value' has no value[x] and no parts",
        ),
        (
            value(json!({"name": "value", "valueCode": "a", "valueString": "b"})),
            "'value' has several value[x]",
        ),
        (
            value(json!({"name": "value", "valueCode": "a", "part": []})),
            "'value' has both a value[x] and parts",
        ),
        (
            value(json!({"name": "value", "valueCode": "a", "_valueCode": {"id": "x"}})),
            "'value' has extensions on its value, which are not supported",
        ),
        (
            value(part("value", "valueCode", json!(null))),
            "'value' is not a FHIR value",
        ),
        (
            value(part("value", "valueCode", json!(["a"]))),
            "'value' is not a FHIR value",
        ),
        (
            value(part("value", "valueCodeableConcept", json!({}))),
            "'value' is empty",
        ),
        (
            value(json!({"name": "value", "part": [{"valueString": "x"}]})),
            "a part of 'value' has no element name",
        ),
    ];
    for (operation, want) in cases {
        let m = bad(json!({"resourceType": "Parameters", "parameter": [operation]}));
        assert_eq!(
            m,
            format!("FHIRPath Patch operation[0]: {want}"),
            "{operation}"
        );
    }
}

#[test]
fn a_path_outside_the_subset_is_400() {
    let cases = [
        ("", "a path starts with the resource type"),
        ("Task.", "expected a name at the end"),
        (
            "Task.note.exists()",
            "the function 'exists()' is not supported",
        ),
        (
            "Task.for.resolve().identifier",
            "the function 'resolve()' is not supported",
        ),
        ("Task.note[x]", "expected an index at 10"),
        ("Task.note[0", "expected ']' at the end"),
        (
            "Task.note.where(text = 'a' or text = 'b')",
            "expected ')' at 27",
        ),
        ("Task.note.where(text != 'a')", "unexpected '!' at 21"),
        ("Task.note.where(text = 'a)", "an unterminated string"),
        (
            "Task.note.where(text = 'a\\q')",
            "an unknown escape in a string",
        ),
        (
            "Task.note.where(text = Task)",
            "expected a string, number or boolean at 23",
        ),
        ("Task.note.where($index = 0)", "'$index' is not supported"),
        ("Task note", "expected '.' or '[' at 5"),
        ("Task.`note", "an unterminated `identifier`"),
        (
            "Task.note.where(text = '\\uD800')",
            "'\\uD800' is not a character",
        ),
        ("Tâsk", "unexpected 'â' at 1"),
    ];
    for (path, want) in cases {
        let want = format!("'path' is not in the supported FHIRPath subset: {want}");
        assert_eq!(
            patched(&task(), &[delete(path)]),
            refused(400, &want),
            "{path}"
        );
    }
}

#[test]
fn what_cannot_apply_to_this_resource_is_422() {
    let out = patched(&task(), &[delete("CarePlan.note")]);
    assert_eq!(
        out,
        refused(
            422,
            "'CarePlan.note' does not start with the resource's type (Task)"
        )
    );
    let out = patched(
        &task(),
        &[replace("Task.note.text", "valueString", json!("x"))],
    );
    assert_eq!(
        out,
        refused(422, "'Task.note.text' selects 2 elements, not one")
    );
    let out = patched(
        &task(),
        &[insert("Task.note", 5, "valueString", json!("x"))],
    );
    assert_eq!(
        out,
        refused(422, "index 5 is out of range (the list has 2 items)")
    );
    // `resourceType` is not an element, so the type cannot be patched.
    let out = patched(
        &task(),
        &[replace("Task.resourceType", "valueCode", json!("Patient"))],
    );
    assert_eq!(out, refused(422, "'Task.resourceType' selects nothing"));
}

#[test]
fn a_malformed_operation_is_400_even_after_one_that_cannot_apply() {
    let out = patched(&task(), &[delete("Task.note"), op("add", "Task", &[])]);
    assert_eq!(
        out,
        Err((400, "FHIRPath Patch operation[1]: 'name' is missing".into()))
    );
}

#[test]
fn all_or_nothing() {
    let first = replace("Task.status", "valueCode", json!("accepted"));
    let failing = replace("Task.priority", "valueCode", json!("urgent"));
    let out = patched(&task(), &[first.clone(), failing]);
    let want = "FHIRPath Patch operation[1] cannot be applied: 'Task.priority' selects nothing";
    assert_eq!(out, Err((422, want.into())));
    assert_eq!(
        member(&task(), &[first], "status"),
        Ok(Some(json!("accepted")))
    );
    // No operations: no change.
    assert_eq!(patched(&task(), &[]), Ok(task()));
    assert_eq!(
        apply(&task(), &json!({"resourceType": "Parameters"})).ok(),
        Some(task())
    );
}

#[test]
fn odd_shapes_are_answered_not_panicked_on() {
    let params = |p: Value| json!({"resourceType": "Parameters", "parameter": p});
    let one_note = json!({"resourceType": "Task", "note": {"text": "one"}});
    for (target, patch, want) in [
        (task(), params(json!([1, null])), 400),
        (
            task(),
            params(json!([{"name": "operation", "part": [1]}])),
            400,
        ),
        (
            task(),
            params(json!([{"name": "operation", "part": {}}])),
            400,
        ),
        (json!(null), params(json!([delete("Task.note[0]")])), 422),
        (
            json!([task()]),
            params(json!([delete("Task.note[0]")])),
            422,
        ),
        (one_note, params(json!([delete("Task.note[0]")])), 200),
    ] {
        let got =
            apply(&target, &patch).map_err(|e| crate::error::Error::from(e).status().as_u16());
        assert_eq!(got.err().unwrap_or(200), want, "{target} {patch}");
    }
    let mut deep = part("value", "valueString", json!("x"));
    for _ in 0..40 {
        deep = json!({"name": "value", "part": [deep]});
    }
    let ops = [op(
        "add",
        "Task",
        &[part("name", "valueString", json!("output")), deep],
    )];
    assert_eq!(
        patched(&task(), &ops),
        refused(400, "the parts of 'value' nest too deeply")
    );
}

#[test]
fn paths_parse_to_steps_and_print_back() {
    let text = "Task.input.where(type.text = 'it\\'s' and valueInteger = -2.5 and $this.x = true)[0].`div`";
    let p = path::parse(text);
    if let Ok(Some(Step::Where(conds))) = p.as_ref().map(|p| p.steps.get(1)) {
        let literals: Vec<_> = conds.iter().map(|c| c.literal.clone()).collect();
        assert_eq!(
            literals,
            [
                Literal::Str("it's".into()),
                Literal::Num(-2.5),
                Literal::Bool(true)
            ]
        );
    } else {
        panic!("not a where: {p:?}");
    }
    let printed =
        "Task.input.where(type.text = 'it\\'s' and valueInteger = -2.5 and x = true)[0].div";
    assert_eq!(
        p.map(|p| (p.steps.len(), p.to_string())),
        Ok((4, printed.to_owned()))
    );
}

proptest::proptest! {
    /// Paths made of the subset's pieces (and of pieces of it), on a Task: never a panic, and 400
    /// or 422 when the operation does not apply.
    #[test]
    fn any_path_is_answered_without_panic(
        pieces in proptest::collection::vec(proptest::sample::select(vec![
            ".note", ".text", "[0]", "[1]", "[9]", ".first()", ".last()", ".input", ".type", ".for",
            ".where(text = 'Call the patient')", ".where(valueBoolean = true)", ".where($this = 7)",
            ".valueInteger", ".code", ".coding", ".status", "(", ")", "'", ".", "where", " and ", "é",
        ]), 0..6),
        kind in "(add|insert|delete|replace|move)",
        index in -2i64..4,
    ) {
        let ops = [op(&kind, &format!("Task{}", pieces.concat()), &[
            part("name", "valueString", json!("note")),
            int("index", index),
            int("source", index),
            int("destination", 0),
            part("value", "valueAnnotation", json!({"text": "x"})),
        ])];
        let s = status(&task(), &ops);
        proptest::prop_assert!(matches!(s, 200 | 400 | 422), "{s}");
    }

    /// Any text as a path: never a panic.
    #[test]
    fn any_text_is_answered_without_panic(path in "\\PC{0,24}") {
        let s = status(&task(), &[delete(&path)]);
        proptest::prop_assert!(matches!(s, 200 | 400 | 422), "{s}");
    }
}
