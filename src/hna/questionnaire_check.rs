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
mod tests {
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
}
