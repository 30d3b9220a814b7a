//! A generic check of a `QuestionnaireResponse` against its `Questionnaire` (FHIR R4), pure: no
//! store, no HTTP. The Questionnaire is compiled once ([`Compiled::compile`]) so that a bulk import
//! pays only for the walk over each response.
//!
//! What is checked, each issue naming the item's linkId at its FHIRPath position:
//! - unknown `linkId`, or a known one nested in the wrong group (`structure`);
//! - the answer type against the item type (`value`): integer -> `valueInteger`, decimal ->
//!   `valueDecimal`, string/text -> `valueString`, boolean, date, dateTime, time, url -> `valueUri`,
//!   choice -> `valueCoding` (or the type of its `answerOption`s), open-choice -> that or
//!   `valueString`; groups and display items take no answers (`structure`);
//! - `minValue`/`maxValue` extensions (`value`), and `maxLength` for strings;
//! - choice answers outside `answerOption`, or outside an `answerValueSet` that the caller can expand
//!   (the resolver given to [`Compiled::compile`]); any other value set is not checked (`value`);
//! - more than one answer (or more than one response item) for an item that does not `repeat`
//!   (`structure`);
//! - missing `required` items, only when the item is enabled and only at the levels present in the
//!   response (a required question inside an absent optional group is not demanded), and only for a
//!   response whose `status` is `completed` or `amended`: an `in-progress` one may be partial
//!   (`required`);
//! - answers to items disabled by `enableWhen` (`business-rule`), with operators `exists`, `=`, `!=`,
//!   `>`, `<`, `>=`, `<=` on integer, decimal, boolean, Coding, string and date answers, and
//!   `enableBehavior` all/any. As in the spec, a condition on several answers holds when any answer
//!   meets it, and a question with no answer meets none except `exists = false`.
//!
//! Simplifications: `enableWhen.question` is looked up among all answers in the response (not only
//! within the same repetition of a repeating group); item order is not enforced.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use serde_json::Value;

use crate::fhir::OutcomeIssue;

const MIN_VALUE: &str = "http://hl7.org/fhir/StructureDefinition/minValue";
const MAX_VALUE: &str = "http://hl7.org/fhir/StructureDefinition/maxValue";

/// Expands a value set canonical to the codings it contains (`(system, code)`), when the caller
/// knows it; `None` leaves answers to that value set unchecked.
pub type ValueSetResolver<'a> = &'a dyn Fn(&str) -> Option<Vec<(String, String)>>;

/// Checks `response` against `questionnaire` (compiling it for this one call).
pub fn check_response(questionnaire: &Value, response: &Value) -> Vec<OutcomeIssue> {
    Compiled::compile(questionnaire, &|_| None).check(response)
}

/// The item types of R4 `Questionnaire.item.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Group,
    Display,
    Boolean,
    Decimal,
    Integer,
    Date,
    DateTime,
    Time,
    String,
    Text,
    Url,
    Choice,
    OpenChoice,
    Attachment,
    Reference,
    Quantity,
    /// An unknown type: answers are not type-checked.
    Other,
}

impl Kind {
    fn parse(s: &str) -> Kind {
        match s {
            "group" => Kind::Group,
            "display" => Kind::Display,
            "boolean" => Kind::Boolean,
            "decimal" => Kind::Decimal,
            "integer" => Kind::Integer,
            "date" => Kind::Date,
            "dateTime" => Kind::DateTime,
            "time" => Kind::Time,
            "string" => Kind::String,
            "text" => Kind::Text,
            "url" => Kind::Url,
            "choice" => Kind::Choice,
            "open-choice" => Kind::OpenChoice,
            "attachment" => Kind::Attachment,
            "reference" => Kind::Reference,
            "quantity" => Kind::Quantity,
            _ => Kind::Other,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Group => "group",
            Kind::Display => "display",
            Kind::Boolean => "boolean",
            Kind::Decimal => "decimal",
            Kind::Integer => "integer",
            Kind::Date => "date",
            Kind::DateTime => "dateTime",
            Kind::Time => "time",
            Kind::String => "string",
            Kind::Text => "text",
            Kind::Url => "url",
            Kind::Choice => "choice",
            Kind::OpenChoice => "open-choice",
            Kind::Attachment => "attachment",
            Kind::Reference => "reference",
            Kind::Quantity => "quantity",
            Kind::Other => "other",
        }
    }

    /// The `value[x]` element an answer to this type uses (choice types: also their options' types).
    fn answer_key(self) -> Option<&'static str> {
        Some(match self {
            Kind::Boolean => "valueBoolean",
            Kind::Decimal => "valueDecimal",
            Kind::Integer => "valueInteger",
            Kind::Date => "valueDate",
            Kind::DateTime => "valueDateTime",
            Kind::Time => "valueTime",
            Kind::String | Kind::Text => "valueString",
            Kind::Url => "valueUri",
            Kind::Choice | Kind::OpenChoice => "valueCoding",
            Kind::Attachment => "valueAttachment",
            Kind::Reference => "valueReference",
            Kind::Quantity => "valueQuantity",
            Kind::Group | Kind::Display | Kind::Other => return None,
        })
    }
}

/// A primitive answer value, comparable with `enableWhen.answer[x]`, bounds and options.
#[derive(Debug, Clone, PartialEq)]
enum Scalar {
    Num(f64),
    Bool(bool),
    /// Strings, and dates/times (compared as text: same precision compares correctly).
    Text(String),
    Coding {
        system: Option<String>,
        code: Option<String>,
    },
}

impl Scalar {
    /// The comparable value of `key: value` (`valueInteger: 3`), if it is a comparable type.
    fn of(key: &str, value: &Value) -> Option<Scalar> {
        match key {
            "valueInteger" | "valueDecimal" => value.as_f64().map(Scalar::Num),
            "valueBoolean" => value.as_bool().map(Scalar::Bool),
            "valueString" | "valueUri" | "valueDate" | "valueDateTime" | "valueTime" => {
                value.as_str().map(|s| Scalar::Text(s.to_owned()))
            }
            "valueCoding" => {
                let field = |k: &str| value.get(k).and_then(Value::as_str).map(str::to_owned);
                value.as_object().map(|_| Scalar::Coding {
                    system: field("system"),
                    code: field("code"),
                })
            }
            _ => None,
        }
    }

    /// Equality as FHIR means it: Codings are equal on code, and on system when both give one.
    fn same(&self, other: &Scalar) -> bool {
        match (self, other) {
            (
                Scalar::Coding { system, code },
                Scalar::Coding {
                    system: s2,
                    code: c2,
                },
            ) => code.is_some() && code == c2 && (system.is_none() || s2.is_none() || system == s2),
            _ => self.order(other) == Some(Ordering::Equal),
        }
    }

    /// Order, for `>`/`<` and bounds; `None` between different or unordered types.
    fn order(&self, other: &Scalar) -> Option<Ordering> {
        match (self, other) {
            (Scalar::Num(a), Scalar::Num(b)) => a.partial_cmp(b),
            (Scalar::Text(a), Scalar::Text(b)) => Some(a.cmp(b)),
            (Scalar::Bool(a), Scalar::Bool(b)) if a == b => Some(Ordering::Equal),
            _ => None,
        }
    }

    fn show(&self) -> String {
        match self {
            Scalar::Num(n) => n.to_string(),
            Scalar::Bool(b) => b.to_string(),
            Scalar::Text(s) => s.clone(),
            Scalar::Coding { system, code } => format!(
                "{}|{}",
                system.as_deref().unwrap_or(""),
                code.as_deref().unwrap_or("")
            ),
        }
    }
}

/// The first `value[x]` element of an object (answer, option, extension, enableWhen's `answer[x]`).
fn value_x<'a>(obj: &'a Value, prefix: &str) -> Option<(&'a str, &'a Value)> {
    obj.as_object()?
        .iter()
        .find(|(k, _)| k.starts_with(prefix) && k.len() > prefix.len())
        .map(|(k, v)| (k.as_str(), v))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Exists,
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
}

/// One `enableWhen`.
#[derive(Debug, Clone)]
struct Condition {
    question: String,
    op: Op,
    /// `answer[x]`; for `exists`, `Scalar::Bool`.
    answer: Option<Scalar>,
}

impl Condition {
    fn compile(v: &Value) -> Option<Condition> {
        let question = v.get("question")?.as_str()?.to_owned();
        let op = match v.get("operator")?.as_str()? {
            "exists" => Op::Exists,
            "=" => Op::Eq,
            "!=" => Op::Ne,
            ">" => Op::Gt,
            "<" => Op::Lt,
            ">=" => Op::Ge,
            "<=" => Op::Le,
            _ => return None,
        };
        let answer = value_x(v, "answer").and_then(|(k, x)| {
            let key = format!("value{}", &k["answer".len()..]);
            Scalar::of(&key, x)
        });
        Some(Condition {
            question,
            op,
            answer,
        })
    }

    fn holds(&self, answers: &[Scalar]) -> bool {
        let Some(expected) = &self.answer else {
            // A condition without a comparable answer[x] cannot hold.
            return false;
        };
        if self.op == Op::Exists {
            return matches!(expected, Scalar::Bool(b) if *b != answers.is_empty());
        }
        answers.iter().any(|a| match self.op {
            Op::Eq => a.same(expected),
            Op::Ne => !a.same(expected),
            Op::Gt => a.order(expected) == Some(Ordering::Greater),
            Op::Lt => a.order(expected) == Some(Ordering::Less),
            Op::Ge => matches!(a.order(expected), Some(Ordering::Greater | Ordering::Equal)),
            Op::Le => matches!(a.order(expected), Some(Ordering::Less | Ordering::Equal)),
            Op::Exists => false,
        })
    }
}

/// One compiled questionnaire item.
#[derive(Debug, Clone)]
struct Item {
    link_id: String,
    kind: Kind,
    required: bool,
    repeats: bool,
    min: Option<Scalar>,
    max: Option<Scalar>,
    max_length: Option<usize>,
    /// Allowed answers, when the item lists them (or its value set could be expanded).
    options: Option<Vec<Scalar>>,
    /// `value[x]` keys of the options (a choice item may offer integers, strings, dates...).
    option_keys: Vec<String>,
    enable_when: Vec<Condition>,
    enable_any: bool,
    children: Vec<Item>,
}

impl Item {
    fn compile(v: &Value, resolve: ValueSetResolver<'_>) -> Item {
        let s = |k: &str| v.get(k).and_then(Value::as_str);
        let b = |k: &str| v.get(k).and_then(Value::as_bool).unwrap_or(false);
        let list = |k: &str| v.get(k).and_then(Value::as_array).map_or(&[][..], |a| a);
        let bound = |url: &str| {
            list("extension")
                .iter()
                .find(|e| e.get("url").and_then(Value::as_str) == Some(url))
                .and_then(|e| value_x(e, "value"))
                .and_then(|(k, x)| Scalar::of(k, x))
        };
        let mut option_keys = Vec::new();
        let mut options: Option<Vec<Scalar>> = None;
        if !list("answerOption").is_empty() {
            let mut opts = Vec::new();
            for o in list("answerOption") {
                if let Some((k, x)) = value_x(o, "value") {
                    if !option_keys.iter().any(|have| have == k) {
                        option_keys.push(k.to_owned());
                    }
                    if let Some(sc) = Scalar::of(k, x) {
                        opts.push(sc);
                    }
                }
            }
            options = Some(opts);
        } else if let Some(vs) = s("answerValueSet") {
            options = resolve(vs).map(|codes| {
                codes
                    .into_iter()
                    .map(|(system, code)| Scalar::Coding {
                        system: Some(system),
                        code: Some(code),
                    })
                    .collect()
            });
        }
        Item {
            link_id: s("linkId").unwrap_or_default().to_owned(),
            kind: Kind::parse(s("type").unwrap_or_default()),
            required: b("required"),
            repeats: b("repeats"),
            min: bound(MIN_VALUE),
            max: bound(MAX_VALUE),
            max_length: v
                .get("maxLength")
                .and_then(Value::as_u64)
                .and_then(|n| usize::try_from(n).ok()),
            options,
            option_keys,
            enable_when: list("enableWhen")
                .iter()
                .filter_map(Condition::compile)
                .collect(),
            enable_any: s("enableBehavior") == Some("any"),
            children: list("item")
                .iter()
                .map(|c| Item::compile(c, resolve))
                .collect(),
        }
    }

    fn is_question(&self) -> bool {
        !matches!(self.kind, Kind::Group | Kind::Display)
    }

    /// The `value[x]` keys an answer may use.
    fn accepts(&self, key: &str) -> bool {
        match self.kind {
            Kind::Other => true,
            Kind::Choice => key == "valueCoding" || self.option_keys.iter().any(|k| k == key),
            Kind::OpenChoice => {
                key == "valueCoding"
                    || key == "valueString"
                    || self.option_keys.iter().any(|k| k == key)
            }
            k => k.answer_key() == Some(key),
        }
    }

    fn expected_types(&self) -> String {
        let mut keys: Vec<&str> = self.kind.answer_key().into_iter().collect();
        if self.kind == Kind::OpenChoice {
            keys.push("valueString");
        }
        if matches!(self.kind, Kind::Choice | Kind::OpenChoice) {
            for k in &self.option_keys {
                if !keys.contains(&k.as_str()) {
                    keys.push(k);
                }
            }
        }
        keys.join(" or ")
    }
}

/// A Questionnaire ready to check responses against.
#[derive(Debug, Clone)]
pub struct Compiled {
    items: Vec<Item>,
    /// Every linkId with the linkId of the group it belongs to (`None` at the top level), to tell a
    /// misplaced item from an unknown one.
    parents: HashMap<String, Option<String>>,
    /// The linkIds some `enableWhen` looks at: only their answers are collected per response.
    gating: HashSet<String>,
}

/// Per-response state: every answer by linkId (for `enableWhen`), and whether required items count.
struct Ctx<'r> {
    answers: HashMap<&'r str, Vec<Scalar>>,
    enforce_required: bool,
}

impl Compiled {
    /// Compiles `questionnaire`; `resolve` expands `answerValueSet`s the caller knows.
    pub fn compile(questionnaire: &Value, resolve: ValueSetResolver<'_>) -> Compiled {
        let items: Vec<Item> = questionnaire
            .get("item")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(|i| Item::compile(i, resolve)).collect())
            .unwrap_or_default();
        let mut parents = HashMap::new();
        fn walk(items: &[Item], parent: Option<&str>, out: &mut HashMap<String, Option<String>>) {
            for i in items {
                out.entry(i.link_id.clone())
                    .or_insert_with(|| parent.map(str::to_owned));
                walk(&i.children, Some(&i.link_id), out);
            }
        }
        walk(&items, None, &mut parents);
        fn gates(items: &[Item], out: &mut HashSet<String>) {
            for i in items {
                out.extend(i.enable_when.iter().map(|c| c.question.clone()));
                gates(&i.children, out);
            }
        }
        let mut gating = HashSet::new();
        gates(&items, &mut gating);
        Compiled {
            items,
            parents,
            gating,
        }
    }

    /// Every rule `response` breaks (empty when it conforms).
    pub fn check(&self, response: &Value) -> Vec<OutcomeIssue> {
        let mut answers = HashMap::new();
        if !self.gating.is_empty() {
            collect_answers(response, &self.gating, &mut answers);
        }
        let status = response.get("status").and_then(Value::as_str);
        let ctx = Ctx {
            answers,
            enforce_required: matches!(status, Some("completed" | "amended")),
        };
        let mut out = Vec::new();
        // One path buffer for the whole walk: segments are pushed and popped, and a path is only
        // copied into an issue (bulk imports of valid responses allocate no paths).
        let mut path = String::with_capacity(96);
        path.push_str("QuestionnaireResponse");
        self.check_level(&self.items, response, &mut path, &ctx, &mut out);
        out
    }

    /// Checks the `item` list of `parent` (at `path`) against the definitions `defs`.
    fn check_level(
        &self,
        defs: &[Item],
        parent: &Value,
        path: &mut String,
        ctx: &Ctx<'_>,
        out: &mut Vec<OutcomeIssue>,
    ) {
        let items = parent
            .get("item")
            .and_then(Value::as_array)
            .map_or(&[][..], |a| a);
        let mut seen: Vec<&str> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let parent_len = path.len();
            let _ = write!(path, ".item[{i}]");
            self.check_item(defs, item, path, &mut seen, ctx, out);
            path.truncate(parent_len);
        }
        if ctx.enforce_required {
            for def in defs {
                if def.required
                    && enabled(def, ctx)
                    && !items.iter().any(|it| {
                        it.get("linkId").and_then(Value::as_str) == Some(def.link_id.as_str())
                            && has_answers(it)
                    })
                {
                    out.push(
                        OutcomeIssue::error(
                            "required",
                            format!("Item '{}' is required but not answered", def.link_id),
                        )
                        .at(path.clone()),
                    );
                }
            }
        }
    }

    /// Checks one response item (at `ipath`) found among the siblings `defs`.
    fn check_item<'r>(
        &self,
        defs: &[Item],
        item: &'r Value,
        ipath: &mut String,
        seen: &mut Vec<&'r str>,
        ctx: &Ctx<'_>,
        out: &mut Vec<OutcomeIssue>,
    ) {
        let Some(link) = item.get("linkId").and_then(Value::as_str) else {
            out.push(
                OutcomeIssue::error("required", "Every item needs a linkId")
                    .at(format!("{ipath}.linkId")),
            );
            return;
        };
        let Some(def) = defs.iter().find(|d| d.link_id == link) else {
            out.push(self.misplaced(link, ipath));
            return;
        };
        if seen.contains(&link) && !def.repeats {
            out.push(
                OutcomeIssue::error(
                    "structure",
                    format!("Item '{link}' does not repeat but appears more than once"),
                )
                .at(ipath.clone()),
            );
        }
        seen.push(link);
        if !enabled(def, ctx) {
            if has_answers(item) {
                let at = if non_empty(item, "answer") {
                    format!("{ipath}.answer[0]")
                } else {
                    ipath.clone()
                };
                out.push(
                    OutcomeIssue::error(
                        "business-rule",
                        format!(
                            "Item '{link}' is disabled by its enableWhen conditions and must not be answered"
                        ),
                    )
                    .at(at),
                );
            }
            return;
        }
        self.check_answers(def, item, ipath, ctx, out);
        self.check_level(&def.children, item, ipath, ctx, out);
    }

    /// The issue for a response item whose linkId is not defined at its level.
    fn misplaced(&self, link: &str, ipath: &str) -> OutcomeIssue {
        let at = format!("{ipath}.linkId");
        match self.parents.get(link) {
            None => OutcomeIssue::error(
                "structure",
                format!("Item '{link}' is not in the Questionnaire"),
            )
            .at(at),
            Some(None) => OutcomeIssue::error(
                "structure",
                format!("Item '{link}' belongs at the top level of the response, not here"),
            )
            .at(at),
            Some(Some(group)) => OutcomeIssue::error(
                "structure",
                format!("Item '{link}' belongs in group '{group}', not here"),
            )
            .at(at),
        }
    }

    fn check_answers(
        &self,
        def: &Item,
        item: &Value,
        ipath: &mut String,
        ctx: &Ctx<'_>,
        out: &mut Vec<OutcomeIssue>,
    ) {
        let link = &def.link_id;
        let answers = item
            .get("answer")
            .and_then(Value::as_array)
            .map_or(&[][..], |a| a);
        if !def.is_question() {
            if !answers.is_empty() {
                out.push(
                    OutcomeIssue::error(
                        "structure",
                        format!(
                            "Item '{link}' is a {} and takes no answers",
                            def.kind.name()
                        ),
                    )
                    .at(format!("{ipath}.answer[0]")),
                );
            }
            return;
        }
        if answers.len() > 1 && !def.repeats {
            out.push(
                OutcomeIssue::error(
                    "structure",
                    format!(
                        "Item '{link}' does not repeat: it takes one answer, not {}",
                        answers.len()
                    ),
                )
                .at(format!("{ipath}.answer[1]")),
            );
        }
        for (j, answer) in answers.iter().enumerate() {
            let item_len = ipath.len();
            let _ = write!(ipath, ".answer[{j}]");
            let apath = &mut *ipath;
            match value_x(answer, "value") {
                None => out.push(
                    OutcomeIssue::error(
                        "required",
                        format!("An answer to item '{link}' has no value"),
                    )
                    .at(apath.clone()),
                ),
                Some((key, value)) => {
                    if let Some(issue) = check_value(def, key, value, apath) {
                        out.push(issue);
                    }
                }
            }
            // Items nested under an answer (questions with children).
            self.check_level(&def.children, answer, apath, ctx, out);
            apath.truncate(item_len);
        }
    }
}

/// The issue with one answer value, if any.
/// `apath` is the answer's path; the value's is built only for an issue.
fn check_value(def: &Item, key: &str, value: &Value, apath: &str) -> Option<OutcomeIssue> {
    let link = &def.link_id;
    let bad = |msg: String| Some(OutcomeIssue::error("value", msg).at(format!("{apath}.{key}")));
    if !def.accepts(key) {
        return bad(format!(
            "Item '{link}' is of type {}: answer with {}, not {key}",
            def.kind.name(),
            def.expected_types()
        ));
    }
    let well_formed = match key {
        "valueInteger" => value.as_i64().is_some(),
        "valueDecimal" => value.is_number(),
        "valueBoolean" => value.is_boolean(),
        "valueString" | "valueUri" => value.as_str().is_some_and(|s| !s.trim().is_empty()),
        "valueDate" => value.as_str().is_some_and(is_date),
        "valueDateTime" => value
            .as_str()
            .is_some_and(|s| s.split('T').next().is_some_and(is_date)),
        "valueTime" => value.as_str().is_some_and(|s| s.len() >= 5),
        _ => value.is_object(),
    };
    if !well_formed {
        return bad(format!("The answer to item '{link}' is not a valid {key}"));
    }
    let scalar = Scalar::of(key, value);
    if let Some(sc) = &scalar {
        if let Some(min) = &def.min
            && sc.order(min) == Some(Ordering::Less)
        {
            return bad(format!(
                "The answer {} to item '{link}' is below the minimum {}",
                sc.show(),
                min.show()
            ));
        }
        if let Some(max) = &def.max
            && sc.order(max) == Some(Ordering::Greater)
        {
            return bad(format!(
                "The answer {} to item '{link}' is above the maximum {}",
                sc.show(),
                max.show()
            ));
        }
    }
    if let (Some(limit), Some(s)) = (def.max_length, value.as_str())
        && s.chars().count() > limit
    {
        return bad(format!(
            "The answer to item '{link}' is longer than {limit} characters"
        ));
    }
    let free_text = def.kind == Kind::OpenChoice && key == "valueString";
    if let (Some(options), false) = (&def.options, free_text) {
        let listed = scalar
            .as_ref()
            .is_some_and(|sc| options.iter().any(|o| o.same(sc)));
        if !listed {
            let shown = scalar.map_or_else(|| key.to_owned(), |s| s.show());
            return bad(format!(
                "The answer {shown} to item '{link}' is not one of its answer options"
            ));
        }
    }
    None
}

/// `YYYY`, `YYYY-MM` or `YYYY-MM-DD` (shape only).
fn is_date(s: &str) -> bool {
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    let parts: Vec<&str> = s.split('-').collect();
    match parts.as_slice() {
        [y] => y.len() == 4 && digits(y),
        [y, m] => y.len() == 4 && digits(y) && m.len() == 2 && digits(m),
        [y, m, d] => {
            y.len() == 4 && digits(y) && m.len() == 2 && digits(m) && d.len() == 2 && digits(d)
        }
        _ => false,
    }
}

fn non_empty(v: &Value, key: &str) -> bool {
    v.get(key)
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty())
}

/// True when the response item, or any item below it, carries an answer.
fn has_answers(item: &Value) -> bool {
    non_empty(item, "answer")
        || item
            .get("item")
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(has_answers))
}

fn enabled(def: &Item, ctx: &Ctx<'_>) -> bool {
    if def.enable_when.is_empty() {
        return true;
    }
    let holds = |c: &Condition| {
        let answers = ctx
            .answers
            .get(c.question.as_str())
            .map_or(&[][..], Vec::as_slice);
        c.holds(answers)
    };
    if def.enable_any {
        def.enable_when.iter().any(holds)
    } else {
        def.enable_when.iter().all(holds)
    }
}

/// The comparable answers to the `gating` items, by linkId (items, nested items, items under
/// answers).
fn collect_answers<'r>(
    node: &'r Value,
    gating: &HashSet<String>,
    out: &mut HashMap<&'r str, Vec<Scalar>>,
) {
    let Some(items) = node.get("item").and_then(Value::as_array) else {
        return;
    };
    for item in items {
        let link = item.get("linkId").and_then(Value::as_str);
        for answer in item
            .get("answer")
            .and_then(Value::as_array)
            .map_or(&[][..], |a| a)
        {
            if let (Some(link), Some(sc)) = (
                link.filter(|l| gating.contains(*l)),
                value_x(answer, "value").and_then(|(k, v)| Scalar::of(k, v)),
            ) {
                out.entry(link).or_default().push(sc);
            }
            collect_answers(answer, gating, out);
        }
        collect_answers(item, gating, out);
    }
}

#[cfg(test)]
mod tests;
