//! Parsing of search parameters (query string or `_search` form body) into a [`SearchQuery`].
//!
//! Unknown or unsupported parameters are an error unless the client sent `Prefer: handling=lenient`,
//! in which case they are ignored and left out of the `self` link, as the spec describes.
//!
//! A parameter name or value holding a control character (below U+0020, or U+007F, after
//! percent-decoding) is always an error ([`SearchParseError::InvalidValue`]), lenient or not: every
//! search, chained search, conditional criterion and bundle search entry passes through [`parse`],
//! so none reaches the store, where PostgreSQL refuses NUL. Tab and line breaks are refused too, as
//! by the request parse (`interaction`): a URL has no place for them.

use super::date::{self, Range};
use super::query::*;
use super::registry::{self, ParamKind};
use crate::{ResourceType, id};

/// Why a search could not be parsed. The message is safe to show the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SearchParseError {
    /// A parameter this server does not know for the type.
    #[error("Unknown search parameter '{0}'")]
    UnknownParameter(String),
    /// A known parameter with a value that cannot be right.
    #[error("Invalid value for search parameter '{param}': {reason}")]
    InvalidValue { param: String, reason: String },
    /// A feature the server does not implement.
    #[error("Not supported: {0}")]
    NotSupported(String),
}

/// Limits and leniency for parsing.
#[derive(Debug, Clone, Copy)]
pub struct ParseOptions {
    /// `Prefer: handling=lenient`.
    pub lenient: bool,
    /// Page size when `_count` is absent.
    pub default_count: usize,
    /// Largest page size honoured; larger `_count`s are reduced to it.
    pub max_count: usize,
}

/// Parameters that control the response rather than filter, accepted and ignored here.
const IGNORED: &[&str] = &[
    "_format",
    "_pretty",
    "_total",
    "_getpages",
    "_getpagesoffset",
];

/// Parses `pairs` for a search of `rtype`.
pub fn parse(
    rtype: ResourceType,
    pairs: &[(String, String)],
    opts: ParseOptions,
) -> Result<SearchQuery, SearchParseError> {
    let mut q = SearchQuery::all(rtype, opts.default_count);
    for (key, value) in pairs {
        plain_text(key, value)?;
        match parse_pair(&mut q, key, value, opts) {
            Ok(true) => q.canonical.push((key.clone(), value.clone())),
            Ok(false) => {}
            Err(SearchParseError::UnknownParameter(_) | SearchParseError::NotSupported(_))
                if opts.lenient => {}
            Err(e) => return Err(e),
        }
    }
    Ok(q)
}

/// Whether `s` holds a control character (below U+0020, or U+007F).
fn has_control(s: &str) -> bool {
    s.bytes().any(|b| b < b' ' || b == 0x7f)
}

/// Refuses a parameter whose name or (percent-decoded) value holds a control character: FHIR
/// forbids them, and PostgreSQL cannot compare text holding a NUL. Never excused by leniency,
/// and the name is shown with each control character replaced by U+FFFD.
fn plain_text(key: &str, value: &str) -> Result<(), SearchParseError> {
    if has_control(key) {
        let shown: String = key
            .chars()
            .take(64)
            .map(|c| {
                if c < ' ' || c == '\u{7f}' {
                    char::REPLACEMENT_CHARACTER
                } else {
                    c
                }
            })
            .collect();
        return Err(invalid(
            &shown,
            "the parameter name contains a control character",
        ));
    }
    if has_control(value) {
        return Err(invalid(key, "the value contains a control character"));
    }
    Ok(())
}

fn invalid(param: &str, reason: impl Into<String>) -> SearchParseError {
    SearchParseError::InvalidValue {
        param: param.to_owned(),
        reason: reason.into(),
    }
}

/// Applies one pair; `Ok(true)` when it belongs in the `self` link.
fn parse_pair(
    q: &mut SearchQuery,
    key: &str,
    value: &str,
    opts: ParseOptions,
) -> Result<bool, SearchParseError> {
    match key {
        "_count" => {
            let n: usize = value
                .parse()
                .map_err(|_| invalid(key, "expected a non-negative integer"))?;
            q.count = n.min(opts.max_count);
        }
        "_sort" => q.sort = parse_sort(q.rtype, value)?,
        "_include" => q.includes.push(parse_include(q.rtype, value, false)?),
        "_revinclude" => q.revincludes.push(parse_include(q.rtype, value, true)?),
        "_summary" => {
            q.summary = match value {
                "count" => Summary::Count,
                "false" => Summary::False,
                "data" => Summary::Data,
                "text" => Summary::Text,
                "true" => return Err(SearchParseError::NotSupported("_summary=true".into())),
                _ => return Err(invalid(key, "expected count, data, text or false")),
            }
        }
        "_elements" => {
            q.elements = Some(
                value
                    .split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect(),
            )
        }
        k if IGNORED.contains(&k) => return Ok(false),
        k if k.starts_with("_include:") || k.starts_with("_revinclude:") => {
            return Err(SearchParseError::NotSupported(format!("{k} (iterate)")));
        }
        _ => {
            let alternatives = split_values(value)
                .into_iter()
                .map(|v| predicate(q.rtype, key, &v))
                .collect::<Result<Vec<_>, _>>()?;
            q.filters.push(Filter(alternatives));
        }
    }
    Ok(true)
}

/// Splits on unescaped commas; `\,` is a literal comma.
fn split_values(value: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(n @ (',' | '|' | '$' | '\\')) => push_char(&mut out, n),
                Some(n) => {
                    push_char(&mut out, '\\');
                    push_char(&mut out, n);
                }
                None => push_char(&mut out, '\\'),
            },
            ',' => out.push(String::new()),
            c => push_char(&mut out, c),
        }
    }
    out
}

fn push_char(out: &mut [String], c: char) {
    if let Some(last) = out.last_mut() {
        last.push(c);
    }
}

/// Builds the predicate for `key=value` (key may carry a modifier or a chain).
fn predicate(rtype: ResourceType, key: &str, value: &str) -> Result<Predicate, SearchParseError> {
    if let Some(rest) = key.strip_prefix("_has:") {
        return reverse_chain(rtype, key, rest, value);
    }
    if let Some((head, rest)) = key.split_once('.') {
        return chain(rtype, key, head, rest, value);
    }
    let (name, modifier) = match key.split_once(':') {
        Some((n, m)) => (n, Some(m)),
        None => (key, None),
    };
    if value.is_empty() {
        return Err(invalid(key, "empty value"));
    }
    match name {
        "_id" => {
            no_modifier(key, modifier)?;
            return Ok(Predicate::Id(value.to_owned()));
        }
        "_lastUpdated" => {
            no_modifier(key, modifier)?;
            let (prefix, range) = date_value(key, value)?;
            return Ok(Predicate::LastUpdated(prefix, range));
        }
        _ => {}
    }
    let def = registry::find(rtype, name)
        .ok_or_else(|| SearchParseError::UnknownParameter(key.to_owned()))?;
    let param = def.name;
    match (def.kind, modifier) {
        (ParamKind::Token, None | Some("not")) => {
            let (system, code) = token_value(value);
            Ok(Predicate::Token {
                param,
                system,
                code,
                negate: modifier.is_some(),
            })
        }
        (ParamKind::String, m) => {
            let mode = match m {
                None => StringMatch::StartsWith,
                Some("exact") => StringMatch::Exact,
                Some("contains") => StringMatch::Contains,
                Some(other) => return Err(unsupported_modifier(key, other)),
            };
            Ok(Predicate::String {
                param,
                value: value.to_owned(),
                mode,
            })
        }
        (ParamKind::Date, None) => {
            let (prefix, range) = date_value(key, value)?;
            Ok(Predicate::Date {
                param,
                prefix,
                range,
            })
        }
        (ParamKind::Uri, None) => Ok(Predicate::Uri {
            param,
            value: value.to_owned(),
        }),
        (ParamKind::Reference, Some("identifier")) => {
            let (system, code) = token_value(value);
            let code = code.ok_or_else(|| invalid(key, "expected system|value"))?;
            Ok(Predicate::RefIdentifier {
                param,
                system,
                code,
            })
        }
        (ParamKind::Reference, m) => reference_value(key, param, m, value),
        (_, Some(other)) => Err(unsupported_modifier(key, other)),
    }
}

fn unsupported_modifier(key: &str, modifier: &str) -> SearchParseError {
    SearchParseError::NotSupported(format!("modifier ':{modifier}' on '{key}'"))
}

fn no_modifier(key: &str, modifier: Option<&str>) -> Result<(), SearchParseError> {
    modifier.map_or(Ok(()), |m| Err(unsupported_modifier(key, m)))
}

fn token_value(value: &str) -> (SystemMatch, Option<String>) {
    match value.split_once('|') {
        None => (SystemMatch::Any, Some(value.to_owned())),
        Some(("", code)) => (SystemMatch::None, Some(code.to_owned())),
        Some((system, "")) => (SystemMatch::Is(system.to_owned()), None),
        Some((system, code)) => (SystemMatch::Is(system.to_owned()), Some(code.to_owned())),
    }
}

fn date_value(key: &str, value: &str) -> Result<(Prefix, Range), SearchParseError> {
    let prefixes = [
        ("eq", Prefix::Eq),
        ("ne", Prefix::Ne),
        ("gt", Prefix::Gt),
        ("lt", Prefix::Lt),
        ("ge", Prefix::Ge),
        ("le", Prefix::Le),
        ("sa", Prefix::Sa),
        ("eb", Prefix::Eb),
        ("ap", Prefix::Ap),
    ];
    let (prefix, rest) = prefixes
        .iter()
        .find_map(|(p, v)| value.strip_prefix(p).map(|rest| (*v, rest)))
        .unwrap_or((Prefix::Eq, value));
    let range = date::parse_range(rest)
        .ok_or_else(|| invalid(key, "expected a FHIR date, dateTime or instant"))?;
    Ok((prefix, range))
}

fn reference_value(
    key: &str,
    param: &'static str,
    type_modifier: Option<&str>,
    value: &str,
) -> Result<Predicate, SearchParseError> {
    if let Some((rtype, rid)) = id::parse_relative(value) {
        if let Some(m) = type_modifier
            && m != rtype.as_str()
        {
            return Err(invalid(key, "type modifier and reference type differ"));
        }
        return Ok(Predicate::Reference {
            param,
            rtype: Some(rtype),
            id: rid.to_owned(),
        });
    }
    if !id::is_valid_id(value) {
        return Err(invalid(key, "expected Type/id or an id"));
    }
    let rtype = match type_modifier {
        None => None,
        Some(m) => Some(
            m.parse::<ResourceType>()
                .map_err(|_| unsupported_modifier(key, m))?,
        ),
    };
    Ok(Predicate::Reference {
        param,
        rtype,
        id: value.to_owned(),
    })
}

/// `head.rest=value`, where `head` is a reference parameter, optionally `param:Type`.
/// `_has:Source:param:inner` (`rest` is what follows `_has:`): resources of `rtype` that a
/// `Source` matching `inner=value` references through its reference parameter `param`, which must
/// be able to point at `rtype`. `inner` may itself be a `_has`, a chain or a modifier.
fn reverse_chain(
    rtype: ResourceType,
    key: &str,
    rest: &str,
    value: &str,
) -> Result<Predicate, SearchParseError> {
    let mut parts = rest.splitn(3, ':');
    let (Some(source), Some(param), Some(inner_key)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid(key, "expected _has:Type:reference:parameter"));
    };
    let source: ResourceType = source
        .parse()
        .map_err(|_| invalid(key, format!("unknown resource type '{source}'")))?;
    let def = registry::find(source, param)
        .filter(|d| d.kind == ParamKind::Reference)
        .ok_or_else(|| SearchParseError::UnknownParameter(key.to_owned()))?;
    if !def.targets.is_empty() && !def.targets.contains(&rtype) {
        return Err(invalid(
            key,
            format!("{source}.{param} cannot point at {rtype}"),
        ));
    }
    let inner = predicate(source, inner_key, value).map_err(|e| match e {
        SearchParseError::UnknownParameter(_) => SearchParseError::UnknownParameter(key.to_owned()),
        other => other,
    })?;
    Ok(Predicate::Has {
        source,
        param: def.name,
        inner: Box::new(inner),
    })
}

fn chain(
    rtype: ResourceType,
    key: &str,
    head: &str,
    rest: &str,
    value: &str,
) -> Result<Predicate, SearchParseError> {
    let (name, type_modifier) = match head.split_once(':') {
        Some((n, t)) => (n, Some(t)),
        None => (head, None),
    };
    let def = registry::find(rtype, name)
        .filter(|d| d.kind == ParamKind::Reference)
        .ok_or_else(|| SearchParseError::UnknownParameter(key.to_owned()))?;
    let target = match (type_modifier, def.targets) {
        // A type the parameter cannot point at (`patient:Organization.name`) would widen a
        // narrowed parameter to other types: refused.
        (Some(t), targets) => {
            let parsed = t
                .parse::<ResourceType>()
                .map_err(|_| unsupported_modifier(key, t))?;
            if !targets.is_empty() && !targets.contains(&parsed) {
                return Err(invalid(key, format!("'{name}' cannot point at {parsed}")));
            }
            parsed
        }
        (None, [only]) => *only,
        (None, _) => {
            return Err(invalid(
                key,
                format!("chaining through '{name}' needs a type, e.g. {name}:Patient.{rest}"),
            ));
        }
    };
    let inner = predicate(target, rest, value).map_err(|e| match e {
        SearchParseError::UnknownParameter(_) => SearchParseError::UnknownParameter(key.to_owned()),
        other => other,
    })?;
    Ok(Predicate::Chain {
        param: def.name,
        target,
        inner: Box::new(inner),
    })
}

fn parse_sort(rtype: ResourceType, value: &str) -> Result<Vec<SortKey>, SearchParseError> {
    value
        .split(',')
        .map(|raw| {
            let (descending, name) = raw.strip_prefix('-').map_or((false, raw), |n| (true, n));
            let by = match name {
                "_lastUpdated" => SortBy::LastUpdated,
                "_id" => SortBy::Id,
                _ => match registry::find(rtype, name) {
                    Some(d) if d.kind == ParamKind::Date => SortBy::Date(d.name),
                    Some(d) if d.kind == ParamKind::String => SortBy::String(d.name),
                    Some(d) if d.kind == ParamKind::Token => SortBy::Token(d.name),
                    Some(_) => {
                        return Err(SearchParseError::NotSupported(format!("_sort by '{name}'")));
                    }
                    None => {
                        return Err(SearchParseError::UnknownParameter(format!("_sort={name}")));
                    }
                },
            };
            Ok(SortKey { by, descending })
        })
        .collect()
}

fn parse_include(
    rtype: ResourceType,
    value: &str,
    reverse: bool,
) -> Result<Include, SearchParseError> {
    let key = if reverse { "_revinclude" } else { "_include" };
    if value == "*" {
        return Err(SearchParseError::NotSupported(format!("{key}=*")));
    }
    let mut parts = value.split(':');
    let source: ResourceType = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| invalid(key, "expected Type:parameter"))?;
    if !reverse && source != rtype {
        return Err(invalid(key, "the source type must be the type searched"));
    }
    let def = parts
        .next()
        .and_then(|n| registry::find(source, n))
        .filter(|d| d.kind == ParamKind::Reference)
        .ok_or_else(|| invalid(key, "expected a reference parameter of the source type"))?;
    let target = match parts.next() {
        None => None,
        Some(t) => Some(t.parse().map_err(|_| invalid(key, "unknown target type"))?),
    };
    Ok(Include {
        source,
        param: def.name,
        target,
    })
}

#[cfg(test)]
mod tests;
