//! `batch` and `transaction` Bundles (`POST [base]`).
//!
//! A batch runs each entry as if sent alone; each gets its own status. A transaction is all or
//! nothing: entries run in the spec's order (DELETE, POST, PUT, then GET) inside one store
//! transaction; `urn:uuid:` full URLs are replaced by the ids assigned, conditional creates
//! (`ifNoneExist`) and conditional references (`Patient?identifier=...`) are resolved inside the same
//! transaction, and any failure rolls everything back and returns that entry's error.

use std::collections::{HashMap, HashSet};

use actix_web::http::StatusCode;
use serde_json::{Value, json};

use super::bundle::BundleWriter;
use super::references::{reference_pointers, resolve_conditional_in, rewrite_at};
use super::write::{create_in, delete_in, matches_in, update_in};
use super::{Body, Engine, Reply, Return, parse_if_match};
use crate::access::Gate;
use crate::error::Error;
use crate::fhir::instant::format_instant;
use crate::fhir::validate::{IdRule, validate};
use crate::fhir::{ResourceType, id, operation_outcome};
use crate::search::SearchQuery;
use crate::store::Tx;

/// One parsed bundle entry.
#[derive(Debug, Clone)]
struct Entry {
    index: usize,
    method: Method,
    rtype: ResourceType,
    /// `Type/id` target, when the URL names one.
    id: Option<String>,
    /// Query part of the URL (conditional criteria or search).
    query: Option<String>,
    /// Everything after `Type/id` (`_history/2`).
    rest: Option<String>,
    full_url: Option<String>,
    resource: Option<Value>,
    /// Where `resource` holds references (JSON pointers), found before the store's writer runs.
    references: Vec<String>,
    if_match: Option<u64>,
    if_none_exist: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Method {
    Delete,
    Post,
    Put,
    Get,
}

fn at(i: usize, msg: impl Into<String>) -> Error {
    Error::BadRequest(format!("Bundle.entry[{i}]: {}", msg.into()))
}

impl Engine {
    /// Processes a `batch` or `transaction` Bundle. `ret` (the client's `Prefer: return=`) shapes
    /// each written entry's response as it would a single write: the resource, nothing, or an
    /// `OperationOutcome` in `response.outcome`. Bulk writers such as the importer ask for
    /// nothing and so never pay for echoing what they sent.
    pub async fn bundle(&self, mut body: Value, ret: Return, gate: &Gate) -> Result<Reply, Error> {
        if body.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
            return Err(Error::BadRequest(
                "POST to the base URL takes a Bundle of type batch or transaction".into(),
            ));
        }
        let kind = body
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        // Entries are moved out of the body, never copied: transaction bundles can be large.
        let raw_entries = match body.get_mut("entry").map(Value::take) {
            None => Vec::new(),
            Some(Value::Array(e)) => e,
            Some(_) => return Err(Error::BadRequest("Bundle.entry must be an array".into())),
        };
        match kind.as_str() {
            "transaction" => {
                let entries = raw_entries
                    .into_iter()
                    .enumerate()
                    .map(|(i, e)| self.parse_entry(i, e))
                    .collect::<Result<Vec<_>, _>>()?;
                self.transaction(entries, ret, gate).await
            }
            "batch" => Ok(self.batch(raw_entries, ret, gate).await),
            _ => Err(Error::BadRequest(
                "Bundle.type must be batch or transaction".into(),
            )),
        }
    }

    fn parse_entry(&self, i: usize, mut e: Value) -> Result<Entry, Error> {
        let resource = e.get_mut("resource").map(Value::take);
        let request = e
            .get("request")
            .ok_or_else(|| at(i, "request is missing"))?;
        let method = match request.get("method").and_then(Value::as_str) {
            Some("GET") | Some("HEAD") => Method::Get,
            Some("POST") => Method::Post,
            Some("PUT") => Method::Put,
            Some("DELETE") => Method::Delete,
            Some(m) => {
                return Err(at(
                    i,
                    format!(
                        "method {} is not supported",
                        m.chars().take(10).collect::<String>()
                    ),
                ));
            }
            None => return Err(at(i, "request.method is missing")),
        };
        let url = request
            .get("url")
            .and_then(Value::as_str)
            .ok_or_else(|| at(i, "request.url is missing"))?;
        let url = url
            .strip_prefix(&self.base_url)
            .map_or(url, |u| u.trim_start_matches('/'));
        let (path, query) = match url.split_once('?') {
            Some((p, q)) => (p, Some(q.to_owned())),
            None => (url, None),
        };
        let mut segments = path.split('/');
        let rtype = super::parse_type(segments.next().unwrap_or_default())?;
        let rid = segments.next().map(str::to_owned);
        let rest: Vec<&str> = segments.collect();
        let rest = (!rest.is_empty()).then(|| rest.join("/"));
        if matches!(method, Method::Post | Method::Put) && resource.is_none() {
            return Err(at(i, "resource is missing"));
        }
        let if_match = request
            .get("ifMatch")
            .and_then(Value::as_str)
            .map(parse_if_match)
            .transpose()?;
        Ok(Entry {
            index: i,
            method,
            rtype,
            id: rid,
            query,
            rest,
            full_url: e.get("fullUrl").and_then(Value::as_str).map(str::to_owned),
            resource,
            references: Vec::new(),
            if_match,
            if_none_exist: request
                .get("ifNoneExist")
                .and_then(Value::as_str)
                .map(str::to_owned),
        })
    }

    /// Runs one entry on its own (batch entries and transaction GETs).
    async fn run_entry(&self, e: Entry, ret: Return, gate: &Gate) -> Result<Reply, Error> {
        match (e.method, e.id, e.rest, e.query) {
            (Method::Get, Some(i), None, _) => self.read(e.rtype, &i, gate).await,
            (Method::Get, Some(i), Some(rest), _) => match rest.strip_prefix("_history") {
                Some("") => self.history(Some(e.rtype), Some(&i), &[], gate).await,
                Some(v) => {
                    self.vread(e.rtype, &i, v.trim_start_matches('/'), gate)
                        .await
                }
                None => Err(Error::NoRoute),
            },
            (Method::Get, None, _, q) => {
                let pairs: Vec<(String, String)> =
                    form_urlencoded::parse(q.unwrap_or_default().as_bytes())
                        .into_owned()
                        .collect();
                self.search(e.rtype, &pairs, false, gate).await
            }
            (Method::Post, None, None, _) => {
                self.create(
                    e.rtype,
                    e.resource.unwrap_or_default(),
                    e.if_none_exist.as_deref(),
                    ret,
                )
                .await
            }
            (Method::Put, Some(i), None, _) => {
                self.update(e.rtype, &i, e.resource.unwrap_or_default(), e.if_match, ret)
                    .await
            }
            (Method::Put, None, None, Some(q)) => {
                self.conditional_update(e.rtype, &q, e.resource.unwrap_or_default(), ret)
                    .await
            }
            (Method::Delete, Some(i), None, _) => self.delete(e.rtype, &i, e.if_match).await,
            (Method::Delete, None, None, Some(q)) => self.conditional_delete(e.rtype, &q).await,
            _ => Err(Error::MethodNotAllowed),
        }
    }

    async fn batch(&self, raw: Vec<Value>, ret: Return, gate: &Gate) -> Reply {
        let mut bundle = BundleWriter::new("batch-response", None, &[]);
        for (i, e) in raw.into_iter().enumerate() {
            let result = match self.parse_entry(i, e) {
                Ok(entry) => self.run_entry(entry, ret, gate).await,
                Err(err) => Err(err),
            };
            self.response_entry(&mut bundle, result);
        }
        Reply::raw(bundle.finish())
    }

    /// Appends one response entry: the resource as stored text (never parsed again), with status,
    /// location, etag and lastModified, or the outcome of a failure.
    fn response_entry(&self, bundle: &mut BundleWriter, result: Result<Reply, Error>) {
        match result {
            Ok(r) => {
                let mut response = json!({"status": status_text(r.status)});
                if let Some(l) = &r.location {
                    response["location"] = json!(l);
                }
                if let Some(v) = r.version {
                    response["etag"] = json!(format!("W/\"{v}\""));
                }
                if let Some(t) = r.last_modified {
                    response["lastModified"] = json!(format_instant(t));
                }
                let full_url = r.location.as_deref().map(|l| {
                    let resource = l.split("/_history").next().unwrap_or(l);
                    format!("{}/{resource}", self.base_url)
                });
                match r.body {
                    Some(Body::Json(outcome)) if outcome["resourceType"] == "OperationOutcome" => {
                        response["outcome"] = outcome;
                        bundle.entry_without_url(
                            full_url.as_deref(),
                            None,
                            json!({"response": response}),
                        );
                    }
                    Some(body) => {
                        let text = body.into_string();
                        bundle.entry_without_url(
                            full_url.as_deref(),
                            Some(&text),
                            json!({"response": response}),
                        );
                    }
                    None => bundle.entry_without_url(
                        full_url.as_deref(),
                        None,
                        json!({"response": response}),
                    ),
                }
            }
            Err(err) => {
                if err.is_server_fault() {
                    tracing::error!(error = %err, "batch entry failed");
                }
                let response = json!({"status": status_text(err.status()), "outcome": operation_outcome(&err.issues())});
                bundle.entry_without_url(None, None, json!({"response": response}));
            }
        }
    }

    /// Runs a `transaction` Bundle for an in-process caller (the importer): each entry's reply in
    /// entry order, without writing a transaction-response Bundle only to have it parsed again.
    pub async fn transaction_replies(
        &self,
        mut body: Value,
        ret: Return,
    ) -> Result<Vec<Result<Reply, Error>>, Error> {
        if body.get("type").and_then(Value::as_str) != Some("transaction") {
            return Err(Error::BadRequest("Bundle.type must be transaction".into()));
        }
        let entries = match body.get_mut("entry").map(Value::take) {
            None => Vec::new(),
            Some(Value::Array(e)) => e,
            Some(_) => return Err(Error::BadRequest("Bundle.entry must be an array".into())),
        };
        let entries = entries
            .into_iter()
            .enumerate()
            .map(|(i, e)| self.parse_entry(i, e))
            .collect::<Result<Vec<_>, _>>()?;
        self.run_transaction(entries, ret, &self.system_gate())
            .await
    }

    async fn transaction(
        &self,
        entries: Vec<Entry>,
        ret: Return,
        gate: &Gate,
    ) -> Result<Reply, Error> {
        let replies = self.run_transaction(entries, ret, gate).await?;
        let mut bundle = BundleWriter::new("transaction-response", None, &[]);
        for r in replies {
            self.response_entry(&mut bundle, r);
        }
        Ok(Reply::raw(bundle.finish()))
    }

    async fn run_transaction(
        &self,
        entries: Vec<Entry>,
        ret: Return,
        gate: &Gate,
    ) -> Result<Vec<Result<Reply, Error>>, Error> {
        let mut full_urls = HashSet::new();
        for e in &entries {
            if let Some(f) = &e.full_url
                && !full_urls.insert(f.as_str())
            {
                return Err(at(
                    e.index,
                    "fullUrl is used by another entry of this transaction",
                ));
            }
        }
        for e in &entries {
            if let Some(r) = &e.resource {
                let rule = match (e.method, &e.id) {
                    (Method::Put, Some(i)) => IdRule::MustEqual(i),
                    _ => IdRule::Ignored,
                };
                validate(e.rtype, r, rule).map_err(|err| prefix_entry(err, e.index))?;
                crate::hna::rules::check(self, e.rtype, r, &full_urls)
                    .await
                    .map_err(|err| prefix_entry(err, e.index))?;
            }
            if matches!(e.method, Method::Post) && (e.id.is_some() || e.rest.is_some()) {
                return Err(at(e.index, "POST url must be a resource type"));
            }
        }
        let count = entries.len();
        // Moved, not copied; the stable sort keeps request order within each method.
        let (mut writes, gets): (Vec<Entry>, Vec<Entry>) =
            entries.into_iter().partition(|e| e.method != Method::Get);
        writes.sort_by_key(|e| e.method);
        let criteria: Vec<Option<SearchQuery>> = writes
            .iter()
            .map(|e| {
                let c = match e.method {
                    Method::Post => e.if_none_exist.as_deref(),
                    Method::Put | Method::Delete if e.id.is_none() => e.query.as_deref(),
                    _ => None,
                };
                c.map(|c| self.criteria(e.rtype, c))
                    .transpose()
                    .map_err(|err| prefix_entry(err, e.index))
            })
            .collect::<Result<_, _>>()?;
        let conditional_refs = self.conditional_references(&mut writes)?;
        let base = self.base_url.clone();
        let results = self
            .store
            .transaction(move |tx| run_writes(tx, &base, writes, criteria, conditional_refs, ret))
            .await?;
        let mut replies: Vec<Option<Result<Reply, Error>>> = Vec::new();
        replies.resize_with(count, || None);
        for (i, reply) in results {
            replies[i] = Some(Ok(reply));
        }
        for e in gets {
            let i = e.index;
            replies[i] = Some(self.run_entry(e, ret, gate).await);
        }
        Ok(replies
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(Error::Internal("entry not processed".into()))))
            .collect())
    }

    /// Every `Type?criteria` reference in the entries' resources, parsed, keyed by its text.
    /// Also records where each resource's references are, for the writer to rewrite.
    fn conditional_references(
        &self,
        writes: &mut [Entry],
    ) -> Result<HashMap<String, SearchQuery>, Error> {
        let mut out = HashMap::new();
        for e in writes {
            if let Some(r) = &e.resource {
                e.references = reference_pointers(r);
                out.extend(
                    self.conditional_references_at(r, &e.references)
                        .map_err(|err| prefix_entry(err, e.index))?,
                );
            }
        }
        Ok(out)
    }
}

type Resolved = Vec<(usize, Reply)>;

fn run_writes(
    tx: &mut dyn Tx,
    base: &str,
    writes: Vec<Entry>,
    criteria: Vec<Option<SearchQuery>>,
    conditional_refs: HashMap<String, SearchQuery>,
    ret: Return,
) -> Result<Resolved, Error> {
    let mut out = Vec::with_capacity(writes.len());
    let mut touched: HashSet<(ResourceType, String)> = HashSet::new();
    let mut claim = |e: &Entry, target: &str| {
        if touched.insert((e.rtype, target.to_owned())) {
            Ok(())
        } else {
            Err(at(
                e.index,
                format!("{}/{target} is the target of more than one entry", e.rtype),
            ))
        }
    };
    // 1. DELETEs first, so later conditional creates see their effect.
    let (deletes, others): (Vec<_>, Vec<_>) = writes
        .into_iter()
        .zip(criteria)
        .partition(|(e, _)| e.method == Method::Delete);
    for (e, c) in &deletes {
        let target = match c {
            Some(q) => one_or_none(tx, q, e.index)?,
            None => e.id.clone(),
        };
        let reply = match target {
            None => Reply::empty(StatusCode::NO_CONTENT),
            Some(t) => {
                claim(e, &t)?;
                match delete_in(tx, e.rtype, &t, e.if_match)
                    .map_err(|err| prefix_entry(err, e.index))?
                {
                    Some(r) => Reply::resource(StatusCode::NO_CONTENT, &r, None),
                    None => {
                        return Err(prefix_entry(
                            Error::NotFound {
                                rtype: e.rtype,
                                id: t,
                            },
                            e.index,
                        ));
                    }
                }
            }
        };
        out.push((e.index, reply));
    }
    // 2. The target of every POST and PUT, and which POSTs matched an existing resource.
    let mut aliases: HashMap<String, String> = HashMap::new();
    let mut planned = Vec::with_capacity(others.len());
    for (e, c) in others {
        let (target, existing) = match (e.method, &c) {
            (Method::Post, None) => (id::new_id(), false),
            (Method::Post, Some(q)) => match one_or_none(tx, q, e.index)? {
                Some(found) => (found, true),
                None => (id::new_id(), false),
            },
            (_, Some(q)) => (
                one_or_none(tx, q, e.index)?.unwrap_or_else(id::new_id),
                false,
            ),
            (_, None) => (e.id.clone().unwrap_or_else(id::new_id), false),
        };
        claim(&e, &target)?;
        if let Some(full) = &e.full_url {
            aliases.insert(full.clone(), format!("{}/{target}", e.rtype));
        }
        planned.push((e, target, existing));
    }
    resolve_conditional_in(tx, &conditional_refs, &mut aliases)?;
    // 3. Rewrite references, then write in order.
    for (mut e, target, existing) in planned {
        if let Some(r) = e.resource.as_mut() {
            rewrite_at(r, &e.references, &aliases).map_err(|err| prefix_entry(err, e.index))?;
        }
        let body = e.resource.take().unwrap_or(Value::Null);
        let reply = match e.method {
            Method::Post if existing => {
                let r = tx
                    .current(e.rtype, &target)?
                    .ok_or_else(|| Error::Internal("match vanished".into()))?;
                Reply::written(
                    StatusCode::OK,
                    &r,
                    ret,
                    "A matching resource already exists",
                )
            }
            Method::Post => {
                let w = create_in(tx, base, e.rtype, &target, body)
                    .map_err(|err| prefix_entry(err, e.index))?;
                Reply::written(StatusCode::CREATED, &w.resource, ret, "Created")
            }
            _ => {
                let w = update_in(tx, base, e.rtype, &target, body, e.if_match)
                    .map_err(|err| prefix_entry(err, e.index))?;
                match w.created {
                    true => Reply::written(StatusCode::CREATED, &w.resource, ret, "Created"),
                    false => Reply::written(StatusCode::OK, &w.resource, ret, "Updated"),
                }
            }
        };
        out.push((e.index, reply));
    }
    Ok(out)
}

/// The one id `q` matches, `None` for no match, 412 for several.
fn one_or_none(tx: &mut dyn Tx, q: &SearchQuery, index: usize) -> Result<Option<String>, Error> {
    match matches_in(tx, q)?.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one.clone())),
        _ => Err(prefix_entry(
            Error::MultipleMatches("The criteria matched more than one resource".into()),
            index,
        )),
    }
}

fn prefix_entry(err: Error, index: usize) -> Error {
    let prefix = |issues: Vec<crate::fhir::OutcomeIssue>| {
        issues
            .into_iter()
            .map(|mut i| {
                i.diagnostics = format!("Bundle.entry[{index}]: {}", i.diagnostics);
                let inner = |x: String| {
                    x.split_once('.')
                        .map_or(String::new(), |(_, rest)| format!(".{rest}"))
                };
                i.expression = i
                    .expression
                    .map(|x| format!("Bundle.entry[{index}].resource{}", inner(x)));
                i
            })
            .collect()
    };
    match err {
        Error::InvalidResource(issues) => Error::InvalidResource(prefix(issues)),
        Error::BusinessRule(issues) => Error::BusinessRule(prefix(issues)),
        Error::BadRequest(m) if !m.starts_with("Bundle.entry") => {
            Error::BadRequest(format!("Bundle.entry[{index}]: {m}"))
        }
        Error::PreconditionFailed(m) => {
            Error::PreconditionFailed(format!("Bundle.entry[{index}]: {m}"))
        }
        Error::MultipleMatches(m) => Error::MultipleMatches(format!("Bundle.entry[{index}]: {m}")),
        Error::Conflict(m) => Error::Conflict(format!("Bundle.entry[{index}]: {m}")),
        other => other,
    }
}

fn status_text(s: StatusCode) -> String {
    format!("{} {}", s.as_u16(), s.canonical_reason().unwrap_or(""))
}
