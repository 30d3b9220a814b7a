//! The compact stored form of an audit [`Record`]: what the store keeps of an event instead of its
//! JSON text, about 25 bytes for a read instead of about 420.
//!
//! Every string (paths, references, patients, consents, queries) is a *term*: an integer naming a
//! text kept once in the store's term table, whatever the number of events that use it. Numbers
//! are LEB128 varints. The caller is not in the body at all: it is the row's agent (a row of the
//! store's agent table, which auditors also search by), and the recording time is the row's
//! `recorded`. Term 0 is the empty string.
//!
//! The hash chain covers the record's JSON text, not this form, so the form can change without
//! touching the chain. [`Draft::of`] only gives a compact form when decoding it gives back a
//! record that renders exactly the text that was hashed; any other text (an older version's, a
//! tool's) is stored as it is. Encoding goes through a [`Sink`] and decoding through a [`Source`],
//! so the same code writes a [`Draft`] (terms still as text, before they are numbered in the
//! store's transaction) and the stored bytes, and reads both.
//!
//! Layout, in order: the form's number ([`FORMAT`]); method (an index into [`METHODS`], or past it
//! a term); path (`0`: `/` and the target; `1` then a term); query; status; patients; disclosed;
//! consents; break-glass reason; interaction (`0` none, `1..=N` the restful-interaction codes of
//! [`crate::store::audit_sql::SUBTYPES`], past them a term); target; attempted; trace (`0` none,
//! `1` then two 64-bit halves, `2` then a term). Lists are a count then their items; an optional
//! text is `0`, or `1` then the term; a disclosed resource is its reference, flags (bit 0
//! redacted, bit 1 a patient follows) and the patient.

use super::event::{Agent, Disclosed, Record};
use crate::store::audit_sql::SUBTYPES;

/// The form's number: the first byte of every compact body. A stored text never starts with it
/// (JSON starts with `{`; other text is stored behind a 0 byte, [`crate::audit::stored`]).
pub const FORMAT: u64 = 1;

/// HTTP methods by index (the common ones take one byte).
pub const METHODS: &[&str] = &["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];

/// Where an encoding goes: numbers and texts, in order.
pub trait Sink {
    /// A number.
    fn int(&mut self, n: u64);
    /// A text (a term).
    fn text(&mut self, s: &str);
}

/// Where a decoding reads from; `None` when the input ends early or names an unknown term.
pub trait Source {
    /// The next number.
    fn int(&mut self) -> Option<u64>;
    /// The next text.
    fn text(&mut self) -> Option<String>;
}

/// A record's compact form with its texts not yet numbered: made outside the store's
/// transaction, numbered inside it ([`Draft::write`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Draft {
    items: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Int(u64),
    Text(String),
}

impl Sink for Draft {
    fn int(&mut self, n: u64) {
        self.items.push(Item::Int(n));
    }
    fn text(&mut self, s: &str) {
        self.items.push(Item::Text(s.to_owned()));
    }
}

impl Draft {
    /// The compact form of `record`, whose text is `text` and whose caller the row keeps as
    /// `agent`; `None` when decoding would not give back exactly that text (then the text is
    /// stored as it is).
    pub fn of(record: &Record, text: &str, agent: Option<&Agent>) -> Option<Draft> {
        if record.agent.as_ref() != agent || record.to_text() != text {
            return None;
        }
        let mut draft = Draft::default();
        encode(record, &mut draft);
        let mut items = draft.items.iter();
        let back = decode(&mut items, record.recorded, agent.cloned())?;
        (items.next().is_none() && back == *record).then_some(draft)
    }

    /// The texts to number, in order (with repeats).
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        self.items.iter().filter_map(|i| match i {
            Item::Text(s) => Some(s.as_str()),
            Item::Int(_) => None,
        })
    }

    /// The stored bytes, each text numbered by `term` (which gives 0 for the empty text).
    pub fn write<E>(&self, mut term: impl FnMut(&str) -> Result<u64, E>) -> Result<Vec<u8>, E> {
        let mut out = Vec::with_capacity(self.items.len() * 2);
        for item in &self.items {
            let n = match item {
                Item::Int(n) => *n,
                Item::Text(s) if s.is_empty() => 0,
                Item::Text(s) => term(s)?,
            };
            varint(&mut out, n);
        }
        Ok(out)
    }
}

impl Source for std::slice::Iter<'_, Item> {
    fn int(&mut self) -> Option<u64> {
        match self.next()? {
            Item::Int(n) => Some(*n),
            Item::Text(_) => None,
        }
    }
    fn text(&mut self) -> Option<String> {
        match self.next()? {
            Item::Text(s) => Some(s.clone()),
            Item::Int(_) => None,
        }
    }
}

/// Stored bytes, read with a term lookup.
pub struct Bytes<'a, F> {
    bytes: &'a [u8],
    term: F,
}

impl<'a, F: Fn(u64) -> Option<&'a str>> Bytes<'a, F> {
    /// Reads `bytes`, naming terms with `term`.
    pub fn new(bytes: &'a [u8], term: F) -> Self {
        Bytes { bytes, term }
    }

    /// Whether every byte was read.
    pub fn finished(&self) -> bool {
        self.bytes.is_empty()
    }
}

impl<'a, F: Fn(u64) -> Option<&'a str>> Source for Bytes<'a, F> {
    fn int(&mut self) -> Option<u64> {
        let mut n: u64 = 0;
        for (i, b) in self.bytes.iter().enumerate().take(10) {
            n |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                self.bytes = &self.bytes[i + 1..];
                return Some(n);
            }
        }
        None
    }
    fn text(&mut self) -> Option<String> {
        match self.int()? {
            0 => Some(String::new()),
            n => (self.term)(n).map(str::to_owned),
        }
    }
}

/// The term numbers a stored body names (to look them up in one query), 0 left out; nothing for
/// a body that is not in the compact form.
pub fn terms(body: &[u8]) -> Vec<u64> {
    let found = std::cell::RefCell::new(Vec::new());
    {
        let mut source = Bytes::new(body, |n| {
            found.borrow_mut().push(n);
            Some("")
        });
        let _ = decode(&mut source, 0, None);
    }
    found.into_inner()
}

/// Decodes a stored compact body recorded at `recorded` by `agent`; `None` when it is not one, or
/// names a term `term` does not know.
pub fn read<'a>(
    body: &'a [u8],
    recorded: i64,
    agent: Option<Agent>,
    term: impl Fn(u64) -> Option<&'a str>,
) -> Option<Record> {
    let mut source = Bytes::new(body, term);
    let record = decode(&mut source, recorded, agent)?;
    source.finished().then_some(record)
}

/// Appends `n` as an LEB128 varint.
fn varint(out: &mut Vec<u8>, mut n: u64) {
    loop {
        let low = u8::try_from(n & 0x7f).unwrap_or(0);
        n >>= 7;
        if n == 0 {
            out.push(low);
            return;
        }
        out.push(low | 0x80);
    }
}

fn encode(r: &Record, out: &mut impl Sink) {
    out.int(FORMAT);
    match METHODS.iter().position(|m| *m == r.method) {
        Some(i) => out.int(i as u64),
        None => {
            out.int(METHODS.len() as u64);
            out.text(&r.method);
        }
    }
    let path_is_target = r
        .target
        .as_deref()
        .is_some_and(|t| r.path.len() == t.len() + 1 && r.path.strip_prefix('/') == Some(t));
    if path_is_target {
        out.int(0);
    } else {
        out.int(1);
        out.text(&r.path);
    }
    out.text(&r.query);
    out.int(u64::from(r.status));
    texts(out, &r.patients);
    resources(out, &r.disclosed);
    texts(out, &r.consents);
    optional(out, r.break_glass.as_deref());
    match &r.interaction {
        None => out.int(0),
        Some(code) => match SUBTYPES.iter().position(|(s, _)| s == code) {
            Some(i) => out.int(i as u64 + 1),
            None => {
                out.int(SUBTYPES.len() as u64 + 1);
                out.text(code);
            }
        },
    }
    optional(out, r.target.as_deref());
    resources(out, &r.attempted);
    match r.trace.as_deref() {
        None => out.int(0),
        Some(t) => match trace_halves(t) {
            Some((hi, lo)) => {
                out.int(1);
                out.int(hi);
                out.int(lo);
            }
            None => {
                out.int(2);
                out.text(t);
            }
        },
    }
}

fn decode(s: &mut impl Source, recorded: i64, agent: Option<Agent>) -> Option<Record> {
    if s.int()? != FORMAT {
        return None;
    }
    let method = match usize::try_from(s.int()?).ok()? {
        i if i < METHODS.len() => METHODS[i].to_owned(),
        i if i == METHODS.len() => s.text()?,
        _ => return None,
    };
    let path = match s.int()? {
        0 => None,
        1 => Some(s.text()?),
        _ => return None,
    };
    let query = s.text()?;
    let status = u16::try_from(s.int()?).ok()?;
    let patients = read_texts(s)?;
    let disclosed = read_resources(s)?;
    let consents = read_texts(s)?;
    let break_glass = read_optional(s)?;
    let interaction = match usize::try_from(s.int()?).ok()? {
        0 => None,
        i if i <= SUBTYPES.len() => Some(SUBTYPES[i - 1].0.to_owned()),
        i if i == SUBTYPES.len() + 1 => Some(s.text()?),
        _ => return None,
    };
    let target = read_optional(s)?;
    let attempted = read_resources(s)?;
    let trace = match s.int()? {
        0 => None,
        1 => Some(format!("{:016x}{:016x}", s.int()?, s.int()?)),
        2 => Some(s.text()?),
        _ => return None,
    };
    let path = match path {
        Some(p) => p,
        None => format!("/{}", target.as_deref()?),
    };
    Some(Record {
        recorded,
        method,
        path,
        query,
        status,
        agent,
        patients,
        disclosed,
        consents,
        break_glass,
        interaction,
        target,
        attempted,
        trace,
    })
}

/// The two halves of a W3C trace id written as 32 lower-case hex digits (as the gateway writes
/// them); `None` for any other spelling, which is kept as text.
fn trace_halves(t: &str) -> Option<(u64, u64)> {
    let lower_hex = t.len() == 32 && t.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if !lower_hex {
        return None;
    }
    let hi = u64::from_str_radix(t.get(..16)?, 16).ok()?;
    let lo = u64::from_str_radix(t.get(16..)?, 16).ok()?;
    Some((hi, lo))
}

fn texts(out: &mut impl Sink, items: &[String]) {
    out.int(items.len() as u64);
    for t in items {
        out.text(t);
    }
}

fn read_texts(s: &mut impl Source) -> Option<Vec<String>> {
    let n = s.int()?;
    // A count is never larger than the bytes left; the bound keeps a damaged body from asking
    // for a huge allocation.
    let mut items = Vec::with_capacity(usize::try_from(n.min(64)).ok()?);
    for _ in 0..n {
        items.push(s.text()?);
    }
    Some(items)
}

fn optional(out: &mut impl Sink, t: Option<&str>) {
    match t {
        None => out.int(0),
        Some(t) => {
            out.int(1);
            out.text(t);
        }
    }
}

fn read_optional(s: &mut impl Source) -> Option<Option<String>> {
    match s.int()? {
        0 => Some(None),
        1 => Some(Some(s.text()?)),
        _ => None,
    }
}

fn resources(out: &mut impl Sink, items: &[Disclosed]) {
    out.int(items.len() as u64);
    for d in items {
        out.text(&d.reference);
        out.int(u64::from(d.redacted) | (u64::from(d.patient.is_some()) << 1));
        if let Some(p) = &d.patient {
            out.text(p);
        }
    }
}

fn read_resources(s: &mut impl Source) -> Option<Vec<Disclosed>> {
    let n = s.int()?;
    let mut items = Vec::with_capacity(usize::try_from(n.min(64)).ok()?);
    for _ in 0..n {
        let reference = s.text()?;
        let flags = s.int()?;
        if flags > 3 {
            return None;
        }
        let patient = if flags & 2 != 0 {
            Some(s.text()?)
        } else {
            None
        };
        items.push(Disclosed {
            reference,
            redacted: flags & 1 != 0,
            patient,
        });
    }
    Some(items)
}

#[cfg(test)]
mod tests;
