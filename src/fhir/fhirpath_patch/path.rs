//! The FHIRPath subset of FHIRPath Patch paths (the grammar is in the parent module's doc): a
//! lexer, a parser into [`Path`], and the selection of a path's elements in a resource's JSON,
//! each element with its location so that the patch can change it afterwards.
//!
//! Nothing here recurses on input: the grammar has no nesting (a `where` holds comparisons of
//! dotted names with literals), so a hostile path costs time linear in its length and no stack.

use std::fmt;
use std::iter::Peekable;
use std::str::CharIndices;

use serde_json::Value;

/// One step of an element's location in the JSON: an object member or an array item.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Seg {
    Key(String),
    Idx(usize),
}

/// A parsed path: the resource type it starts with, then its steps.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Path {
    pub root: String,
    pub steps: Vec<Step>,
}

/// One step after the resource type.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Step {
    /// `.name`: that child of every element (the items of a list, one by one).
    Member(String),
    /// `[n]`: the n-th element of the collection (0-based).
    Index(usize),
    /// `.first()`.
    First,
    /// `.last()`.
    Last,
    /// `.where(a = x and b.c = y)`: the elements for which every comparison holds.
    Where(Vec<Cond>),
}

/// `rel = literal` inside a `where`: `rel` is a dotted name from the element (empty for `$this`).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Cond {
    pub rel: Vec<String>,
    pub literal: Literal,
}

/// The right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Literal {
    Str(String),
    Num(f64),
    Bool(bool),
}

/// An element a path selects: where it is, and its JSON.
pub(super) struct Node<'a> {
    pub loc: Vec<Seg>,
    pub value: &'a Value,
}

impl Path {
    /// The path without its last step when that step is `.name`, and that name: the element
    /// holding a list, and the list's name (an `insert` or `move` into a list that may be empty).
    pub fn split_member(mut self) -> Option<(Path, String)> {
        match self.steps.pop() {
            Some(Step::Member(name)) => Some((self, name)),
            _ => None,
        }
    }
}

/// The elements `steps` select from the resource `root`.
pub(super) fn select<'a>(root: &'a Value, steps: &[Step]) -> Vec<Node<'a>> {
    let start = vec![Node {
        loc: Vec::new(),
        value: root,
    }];
    steps.iter().fold(start, apply_step)
}

fn apply_step<'a>(nodes: Vec<Node<'a>>, step: &Step) -> Vec<Node<'a>> {
    match step {
        Step::Member(name) => nodes.into_iter().flat_map(|n| children(n, name)).collect(),
        Step::Index(i) => nodes.into_iter().nth(*i).into_iter().collect(),
        Step::First => nodes.into_iter().next().into_iter().collect(),
        Step::Last => nodes.into_iter().last().into_iter().collect(),
        Step::Where(conds) => nodes
            .into_iter()
            .filter(|n| conds.iter().all(|c| holds(n.value, c)))
            .collect(),
    }
}

/// The `name` children of `node`: each item of a list (a `null` item of a primitive list that has
/// only extensions included, so that `[n]` counts as FHIRPath does), or the one value.
fn children<'a>(node: Node<'a>, name: &str) -> Vec<Node<'a>> {
    // `resourceType` is not an element: a patch never renames the type.
    let Some(v) = node.value.get(name).filter(|_| name != "resourceType") else {
        return Vec::new();
    };
    let mut loc = node.loc;
    loc.push(Seg::Key(name.to_owned()));
    match v {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, value)| {
                let mut loc = loc.clone();
                loc.push(Seg::Idx(i));
                Node { loc, value }
            })
            .collect(),
        Value::Null => Vec::new(),
        value => vec![Node { loc, value }],
    }
}

/// FHIRPath `=` of a collection with a literal: true when the collection is that one value (an
/// empty collection, or several values, compare as not true).
fn holds(element: &Value, cond: &Cond) -> bool {
    let values = cond.rel.iter().fold(vec![element], |values, name| {
        values
            .into_iter()
            .flat_map(|v| match v.get(name) {
                Some(Value::Array(items)) => items.iter().collect(),
                Some(Value::Null) | None => Vec::new(),
                Some(one) => vec![one],
            })
            .collect()
    });
    matches!(values.as_slice(), [one] if equals(one, &cond.literal))
}

fn equals(v: &Value, literal: &Literal) -> bool {
    match (v, literal) {
        (Value::String(s), Literal::Str(l)) => s == l,
        (Value::Bool(b), Literal::Bool(l)) => b == l,
        (Value::Number(n), Literal::Num(l)) => n.as_f64().is_some_and(|n| n.total_cmp(l).is_eq()),
        _ => false,
    }
}

/// A token of the subset, with its byte offset for messages.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(String),
    This,
    Dot,
    LBrack,
    RBrack,
    LParen,
    RParen,
    Eq,
    Minus,
}

type Chars<'a> = Peekable<CharIndices<'a>>;

fn lex(text: &str) -> Result<Vec<(usize, Tok)>, String> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(at, c)) = chars.peek() {
        let tok = match c {
            c if c.is_whitespace() => {
                chars.next();
                continue;
            }
            '\'' => Tok::Str(string(&mut chars)?),
            '`' => Tok::Ident(delimited(&mut chars)?),
            '$' => this(&mut chars)?,
            c if c.is_ascii_digit() => Tok::Num(number(&mut chars)),
            c if c.is_ascii_alphabetic() || c == '_' => Tok::Ident(identifier(&mut chars)),
            c => {
                let tok = punctuation(c).ok_or_else(|| format!("unexpected '{c}' at {at}"))?;
                chars.next();
                tok
            }
        };
        out.push((at, tok));
    }
    Ok(out)
}

fn punctuation(c: char) -> Option<Tok> {
    Some(match c {
        '.' => Tok::Dot,
        '[' => Tok::LBrack,
        ']' => Tok::RBrack,
        '(' => Tok::LParen,
        ')' => Tok::RParen,
        '=' => Tok::Eq,
        '-' => Tok::Minus,
        _ => return None,
    })
}

fn take_while(chars: &mut Chars, keep: impl Fn(char) -> bool, out: &mut String) {
    while let Some(&(_, c)) = chars.peek().filter(|(_, c)| keep(*c)) {
        out.push(c);
        chars.next();
    }
}

fn identifier(chars: &mut Chars) -> String {
    let mut s = String::new();
    take_while(chars, |c| c.is_ascii_alphanumeric() || c == '_', &mut s);
    s
}

/// Digits, and a fraction when a digit follows the `.` (`1.5`; `1.x` is not a number).
fn number(chars: &mut Chars) -> String {
    let mut s = String::new();
    take_while(chars, |c| c.is_ascii_digit(), &mut s);
    let mut ahead = chars.clone();
    if ahead.next().is_some_and(|(_, c)| c == '.')
        && ahead.peek().is_some_and(|(_, c)| c.is_ascii_digit())
    {
        chars.next();
        s.push('.');
        take_while(chars, |c| c.is_ascii_digit(), &mut s);
    }
    s
}

fn this(chars: &mut Chars) -> Result<Tok, String> {
    chars.next();
    match identifier(chars).as_str() {
        "this" => Ok(Tok::This),
        other => Err(format!("'${}' is not supported", shown(other))),
    }
}

/// `` `name` ``: an identifier that may be a keyword.
fn delimited(chars: &mut Chars) -> Result<String, String> {
    chars.next();
    let mut s = String::new();
    take_while(chars, |c| c != '`', &mut s);
    match chars.next() {
        Some(_) if !s.is_empty() => Ok(s),
        Some(_) => Err("an empty `identifier`".into()),
        None => Err("an unterminated `identifier`".into()),
    }
}

fn string(chars: &mut Chars) -> Result<String, String> {
    chars.next();
    let mut s = String::new();
    loop {
        match chars.next() {
            None => return Err("an unterminated string".into()),
            Some((_, '\'')) => return Ok(s),
            Some((_, '\\')) => s.push(escape(chars)?),
            Some((_, c)) => s.push(c),
        }
    }
}

fn escape(chars: &mut Chars) -> Result<char, String> {
    Ok(match chars.next().map(|(_, c)| c) {
        Some(c @ ('\'' | '"' | '`' | '\\' | '/')) => c,
        Some('n') => '\n',
        Some('r') => '\r',
        Some('t') => '\t',
        Some('f') => '\u{c}',
        Some('u') => {
            let hex: String = chars.by_ref().take(4).map(|(_, c)| c).collect();
            u32::from_str_radix(&hex, 16)
                .ok()
                .filter(|_| hex.len() == 4)
                .and_then(char::from_u32)
                .ok_or_else(|| format!("'\\u{}' is not a character", shown(&hex)))?
        }
        _ => return Err("an unknown escape in a string".into()),
    })
}

/// Parses `text`, or says what is outside the supported subset.
pub(super) fn parse(text: &str) -> Result<Path, String> {
    let mut p = Parser {
        toks: lex(text)?,
        pos: 0,
    };
    let root = p
        .identifier()
        .map_err(|_| "a path starts with the resource type".to_owned())?;
    let mut steps = Vec::new();
    while let Some((at, tok)) = p.next() {
        steps.push(match tok {
            Tok::Dot => p.dotted()?,
            Tok::LBrack => p.indexer()?,
            _ => return Err(format!("expected '.' or '[' at {at}")),
        });
    }
    Ok(Path { root, steps })
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    pos: usize,
}

impl Parser {
    fn next(&mut self) -> Option<(usize, Tok)> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(_, t)| t)
    }

    fn at(&self) -> String {
        match self.toks.get(self.pos) {
            Some((at, _)) => format!("at {at}"),
            None => "at the end".into(),
        }
    }

    fn expect(&mut self, want: Tok, what: &str) -> Result<(), String> {
        if self.peek() == Some(&want) {
            self.pos += 1;
            Ok(())
        } else {
            Err(format!("expected {what} {}", self.at()))
        }
    }

    fn identifier(&mut self) -> Result<String, String> {
        match self.peek() {
            Some(Tok::Ident(name)) => {
                let name = name.clone();
                self.pos += 1;
                Ok(name)
            }
            _ => Err(format!("expected a name {}", self.at())),
        }
    }

    /// After a `.`: an element name, or a supported function call.
    fn dotted(&mut self) -> Result<Step, String> {
        let name = self.identifier()?;
        if self.peek() != Some(&Tok::LParen) {
            return Ok(Step::Member(name));
        }
        self.pos += 1;
        let step = match name.as_str() {
            "first" => Step::First,
            "last" => Step::Last,
            "where" => Step::Where(self.conditions()?),
            other => {
                return Err(format!(
                    "the function '{}()' is not supported",
                    shown(other)
                ));
            }
        };
        self.expect(Tok::RParen, "')'")?;
        Ok(step)
    }

    fn indexer(&mut self) -> Result<Step, String> {
        let at = self.at();
        let index = match self.next() {
            Some((_, Tok::Num(n))) => n.parse().ok(),
            _ => None,
        }
        .ok_or_else(|| format!("expected an index {at}"))?;
        self.expect(Tok::RBrack, "']'")?;
        Ok(Step::Index(index))
    }

    fn conditions(&mut self) -> Result<Vec<Cond>, String> {
        let mut conds = vec![self.condition()?];
        while self.peek() == Some(&Tok::Ident("and".into())) {
            self.pos += 1;
            conds.push(self.condition()?);
        }
        Ok(conds)
    }

    fn condition(&mut self) -> Result<Cond, String> {
        let mut rel = Vec::new();
        if self.peek() == Some(&Tok::This) {
            self.pos += 1;
        } else {
            rel.push(self.identifier()?);
        }
        while self.peek() == Some(&Tok::Dot) {
            self.pos += 1;
            rel.push(self.identifier()?);
        }
        self.expect(Tok::Eq, "'='")?;
        let literal = self.literal()?;
        Ok(Cond { rel, literal })
    }

    fn literal(&mut self) -> Result<Literal, String> {
        let at = self.at();
        let number = |n: &str, sign: f64| n.parse::<f64>().ok().map(|n| Literal::Num(sign * n));
        match self.next().map(|(_, t)| t) {
            Some(Tok::Str(s)) => Some(Literal::Str(s)),
            Some(Tok::Num(n)) => number(&n, 1.0),
            Some(Tok::Minus) => match self.next().map(|(_, t)| t) {
                Some(Tok::Num(n)) => number(&n, -1.0),
                _ => None,
            },
            Some(Tok::Ident(b)) if b == "true" || b == "false" => Some(Literal::Bool(b == "true")),
            _ => None,
        }
        .ok_or_else(|| format!("expected a string, number or boolean {at}"))
    }
}

/// At most 64 characters of `s`, for messages that echo the request.
pub(super) fn shown(s: &str) -> String {
    s.chars().take(64).collect()
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.root)?;
        self.steps.iter().try_for_each(|s| write!(f, "{s}"))
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Member(name) => write!(f, ".{name}"),
            Step::Index(i) => write!(f, "[{i}]"),
            Step::First => f.write_str(".first()"),
            Step::Last => f.write_str(".last()"),
            Step::Where(conds) => {
                f.write_str(".where(")?;
                for (i, c) in conds.iter().enumerate() {
                    let rel = if c.rel.is_empty() {
                        "$this".to_owned()
                    } else {
                        c.rel.join(".")
                    };
                    let and = if i == 0 { "" } else { " and " };
                    write!(f, "{and}{rel} = {}", c.literal)?;
                }
                f.write_str(")")
            }
        }
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Str(s) => write!(f, "'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
            Literal::Num(n) => write!(f, "{n}"),
            Literal::Bool(b) => write!(f, "{b}"),
        }
    }
}
