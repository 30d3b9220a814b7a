//! `batch` and `transaction` Bundles (`POST [base]`).
//!
//! Each entry's request is parsed by the one parse every request takes
//! ([`crate::interaction::parse_entry`]: relative, absolute-path and absolute URLs under the base,
//! HEAD as GET) and authorised as that request sent alone would be. A batch runs each entry as if
//! sent alone; each gets its own status. A transaction is all or nothing: any entry refused or
//! invalid refuses the whole bundle before anything is written; entries run in the spec's order
//! (DELETE, POST, PUT, then reads) inside one store transaction; `urn:uuid:` full URLs are replaced by the ids assigned, conditional creates
//! (`ifNoneExist`) and conditional references (`Patient?identifier=...`) are resolved inside the same
//! transaction, and any failure rolls everything back and returns that entry's error.

use std::collections::{HashMap, HashSet};

use actix_web::http::StatusCode;
use serde_json::{Value, json};

use super::bundle::BundleWriter;
use super::changes::Changes;
use super::references::{reference_pointers, resolve_conditional_in, rewrite_at};
use super::write::{Visible, matches_in};
use super::{Body, Engine, Reply, Return};
use crate::access::{Gate, authorise};
use crate::audit::write::Recording;
use crate::error::Error;
use crate::fhir::instant::format_instant;
use crate::fhir::validate::{IdRule, validate};
use crate::fhir::{ResourceType, id, operation_outcome};
use crate::interaction::{Conditions, Interaction, Request};
use crate::search::SearchQuery;
use crate::store::{StoredResource, Tx};

/// One bundle entry: its request, parsed by the one parse every request takes, and its resource.
#[derive(Debug, Clone)]
struct Entry {
    index: usize,
    request: Request,
    full_url: Option<String>,
    resource: Option<Value>,
    /// Where `resource` holds references (JSON pointers), found before the store's writer runs.
    references: Vec<String>,
}

impl Entry {
    fn interaction(&self) -> &Interaction {
        &self.request.interaction
    }

    /// The spec's processing order within a transaction: deletes, creates, updates, then reads.
    fn order(&self) -> u8 {
        match self.interaction() {
            Interaction::Delete { .. } | Interaction::ConditionalDelete { .. } => 0,
            Interaction::Create { .. } => 1,
            Interaction::Update { .. } | Interaction::ConditionalUpdate { .. } => 2,
            _ => 3,
        }
    }

    fn rtype(&self) -> Result<ResourceType, Error> {
        self.interaction()
            .resource_type()
            .ok_or_else(|| at(self.index, "the entry names no resource type"))
    }
}

fn at(i: usize, msg: impl Into<String>) -> Error {
    Error::BadRequest(format!("Bundle.entry[{i}]: {}", msg.into()))
}

impl Engine {
    /// Processes a `batch` or `transaction` Bundle for the gate's caller. Every entry is parsed
    /// and authorised as the same request sent alone would be, before it runs: in a batch a
    /// refused entry answers with its own error, in a transaction it refuses the whole bundle
    /// and nothing is written. `ret` (the client's `Prefer: return=`) shapes each written entry's
    /// response as it would a single write. Bulk writers such as the importer ask for nothing
    /// and so never pay for echoing what they sent. A batch's writes each record their own audit
    /// event (from `audit`); a transaction is one event, recorded by the caller.
    pub async fn bundle(
        &self,
        mut body: Value,
        ret: Return,
        gate: &Gate,
        audit: &Recording,
    ) -> Result<Reply, Error> {
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
                for e in &entries {
                    authorise(gate, &e.request).map_err(|err| prefix_entry(err, e.index))?;
                }
                let mut entries = entries;
                self.patches_to_updates(&mut entries, gate).await?;
                self.transaction(entries, ret, gate).await
            }
            "batch" => Ok(self.batch(raw_entries, ret, gate, audit).await),
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
        let text = |key: &str| request.get(key).and_then(Value::as_str);
        let method = text("method").ok_or_else(|| at(i, "request.method is missing"))?;
        let url = text("url").ok_or_else(|| at(i, "request.url is missing"))?;
        let conditions = Conditions {
            if_none_exist: text("ifNoneExist"),
            if_match: text("ifMatch"),
            if_none_match: text("ifNoneMatch"),
            if_modified_since: text("ifModifiedSince"),
        };
        let parsed =
            crate::interaction::parse_entry(method, url, &conditions, &self.parse_context(false))
                .map_err(|err| prefix_entry(err.into(), i))?;
        let patches = matches!(
            parsed.interaction,
            Interaction::Patch { .. } | Interaction::ConditionalPatch { .. }
        );
        let resource = if patches {
            // The entry's patch: a FHIRPath Parameters, or a JSON Patch in a Binary.
            Some(super::patch::entry_patch(resource).map_err(|m| at(i, m))?)
        } else {
            resource
        };
        let sends_resource = matches!(
            parsed.interaction,
            Interaction::Create { .. }
                | Interaction::Update { .. }
                | Interaction::ConditionalUpdate { .. }
        );
        if sends_resource && resource.is_none() {
            return Err(at(i, "resource is missing"));
        }
        Ok(Entry {
            index: i,
            request: parsed,
            full_url: e.get("fullUrl").and_then(Value::as_str).map(str::to_owned),
            resource,
            references: Vec::new(),
        })
    }

    async fn batch(&self, raw: Vec<Value>, ret: Return, gate: &Gate, audit: &Recording) -> Reply {
        let mut bundle = BundleWriter::new("batch-response", None, &[]);
        for (i, e) in raw.into_iter().enumerate() {
            let result = match self.parse_entry(i, e) {
                Ok(entry) => self.run_entry(entry, ret, gate, audit).await,
                Err(err) => Err(err),
            };
            self.response_entry(&mut bundle, result);
        }
        Reply::raw(bundle.finish())
    }

    /// Authorises and runs one batch entry exactly as the same request sent alone; its write, if
    /// any, records its own event.
    async fn run_entry(
        &self,
        e: Entry,
        ret: Return,
        gate: &Gate,
        audit: &Recording,
    ) -> Result<Reply, Error> {
        authorise(gate, &e.request)?;
        let entry_audit = audit.for_entry(&e.request);
        let head = e.request.head;
        let mut reply = self
            .execute(&e.request, e.resource, gate, &entry_audit, ret)
            .await?;
        if head {
            reply.body = None;
        }
        Ok(reply)
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
                    tracing::error!(error = %crate::error::chain(&err), "batch entry failed");
                }
                let response = json!({"status": status_text(err.status()), "outcome": operation_outcome(&err.issues())});
                bundle.entry_without_url(None, None, json!({"response": response}));
            }
        }
    }

    /// Runs a `transaction` Bundle for an in-process caller (the importer): each entry's reply in
    /// entry order, without writing a transaction-response Bundle only to have it parsed again.
    /// It runs as the gateway itself (a system caller) and records no events: an operator's job.
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
        let (replies, _) = self
            .run_transaction(entries, ret, &self.system_gate(), None)
            .await?;
        Ok(replies)
    }

    /// Runs a transaction Bundle the gateway built for the gate's caller (a message's, in
    /// `crate::messaging`): every entry parsed and authorised as the caller's own would be, and
    /// `alongside` run in the same store transaction once the entries are written. Returns each
    /// entry's reply (with its resource) and what `alongside` returned.
    pub(super) async fn transaction_alongside(
        &self,
        mut body: Value,
        gate: &Gate,
        alongside: Alongside,
    ) -> Result<(Vec<Result<Reply, Error>>, String), Error> {
        let entries = match body.get_mut("entry").map(Value::take) {
            Some(Value::Array(e)) => e,
            _ => {
                return Err(Error::internal("a built transaction without entries"));
            }
        };
        let entries = entries
            .into_iter()
            .enumerate()
            .map(|(i, e)| self.parse_entry(i, e))
            .collect::<Result<Vec<_>, _>>()?;
        for e in &entries {
            authorise(gate, &e.request).map_err(|err| prefix_entry(err, e.index))?;
        }
        let (replies, kept) = self
            .run_transaction(entries, Return::Representation, gate, Some(alongside))
            .await?;
        let kept = kept.ok_or_else(|| Error::internal("the transaction kept nothing"))?;
        Ok((replies, kept))
    }

    async fn transaction(
        &self,
        entries: Vec<Entry>,
        ret: Return,
        gate: &Gate,
    ) -> Result<Reply, Error> {
        let (replies, _) = self.run_transaction(entries, ret, gate, None).await?;
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
        alongside: Option<Alongside>,
    ) -> Result<(Vec<Result<Reply, Error>>, Option<String>), Error> {
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
            let reads = matches!(
                e.interaction(),
                Interaction::Read { .. }
                    | Interaction::VRead { .. }
                    | Interaction::HistoryInstance { .. }
                    | Interaction::Search { query: Some(_), .. }
            );
            if e.order() == 3 && !reads {
                return Err(at(
                    e.index,
                    "a transaction holds reads and writes of resources only; send operations and history on their own",
                ));
            }
            if let Some(r) = &e.resource {
                let rtype = e.rtype()?;
                let rule = match e.interaction() {
                    Interaction::Update { id, .. } => IdRule::MustEqual(id),
                    _ => IdRule::Ignored,
                };
                validate(rtype, r, rule).map_err(|err| prefix_entry(err.into(), e.index))?;
                crate::rest::rules::check(self, rtype, r, &full_urls)
                    .await
                    .map_err(|err| prefix_entry(err, e.index))?;
            }
        }
        let count = entries.len();
        // Moved, not copied; the stable sort keeps request order within each kind.
        let (mut writes, gets): (Vec<Entry>, Vec<Entry>) =
            entries.into_iter().partition(|e| e.order() < 3);
        writes.sort_by_key(Entry::order);
        let conditional_refs = self.conditional_references(&mut writes)?;
        let criteria = writes.iter().filter_map(|e| match e.interaction() {
            Interaction::Create {
                if_none_exist: Some(q),
                ..
            } => Some(q.as_ref()),
            Interaction::ConditionalUpdate { criteria, .. }
            | Interaction::ConditionalDelete { criteria, .. } => Some(criteria.as_ref()),
            _ => None,
        });
        let visible = self
            .visible_matches(criteria.chain(conditional_refs.values()), gate)
            .await?;
        self.updates_visible(&writes, gate).await?;
        let base = self.base_url.clone();
        let writer = gate.writer().await?;
        let (results, found, also, kept) = self
            .store
            .transaction(move |tx| {
                let mut changes = Changes::new(tx, &base, &writer);
                let out = run_writes(&mut changes, writes, conditional_refs, &visible, ret)?;
                let also = changes.finish()?;
                let kept = match alongside {
                    Some(f) => Some(f(tx, &out.0, &also)?),
                    None => None,
                };
                Ok::<_, Error>((out.0, out.1, also, kept))
            })
            .await?;
        for r in &also {
            gate.wrote(&r.version_reference());
        }
        let mut replies: Vec<Option<Result<Reply, Error>>> = Vec::new();
        replies.resize_with(count, || None);
        for (i, reply) in results {
            if let Some(l) = &reply.location {
                gate.wrote(l);
            }
            replies[i] = Some(Ok(reply));
        }
        for (i, r) in found {
            replies[i] = Some(self.found(&r, ret, gate).await);
        }
        for e in gets {
            let i = e.index;
            let head = e.request.head;
            let reply = self
                .execute(&e.request, None, gate, &Recording::Unrecorded, ret)
                .await
                .map(|mut r| {
                    if head {
                        r.body = None;
                    }
                    r
                });
            replies[i] = Some(reply);
        }
        let replies = replies
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(Error::internal("entry not processed"))))
            .collect();
        Ok((replies, kept))
    }

    /// Each patch entry of a transaction becomes the update it makes: the patch applied to the
    /// current version (of the one match, for a conditional patch) as the caller, the update
    /// bound to that version, so the transaction writes it with its other entries or not at all.
    async fn patches_to_updates(&self, entries: &mut [Entry], gate: &Gate) -> Result<(), Error> {
        for e in entries.iter_mut() {
            let index = e.index;
            let located = match &e.request.interaction {
                Interaction::Patch { rtype, id } => Ok((*rtype, id.clone())),
                Interaction::ConditionalPatch { rtype, criteria } => self
                    .one_match(*rtype, criteria, gate)
                    .await
                    .map(|id| (*rtype, id)),
                _ => continue,
            };
            let (rtype, id) = located.map_err(|err| prefix_entry(err, index))?;
            let patch = e.resource.take().unwrap_or_default();
            let (patched, version) = self
                .patched(rtype, &id, &patch, e.request.if_match, gate)
                .await
                .map_err(|err| prefix_entry(err, index))?;
            e.request.interaction = Interaction::Update { rtype, id };
            e.request.if_match = Some(version);
            e.resource = Some(patched);
        }
        Ok(())
    }

    /// 404 (for that entry) when a caller who cannot see everything updates or deletes by id a
    /// resource it cannot see, exactly as the same request sent alone: a transaction neither
    /// creates by update for such a caller nor tells a hidden resource from a missing one.
    async fn updates_visible(&self, writes: &[Entry], gate: &Gate) -> Result<(), Error> {
        for e in writes {
            if let Interaction::Update { rtype, id } | Interaction::Delete { rtype, id } =
                e.interaction()
                && !self.visible(*rtype, id, gate).await?
            {
                return Err(prefix_entry(
                    Error::NotFound {
                        rtype: *rtype,
                        id: id.clone(),
                    },
                    e.index,
                ));
            }
        }
        Ok(())
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

/// What a transaction also writes in its own store transaction once its entries are written,
/// given their replies by entry index and the referral workflow's consequences: the reply kept
/// for a message (`crate::messaging`), returned as text. Its failure rolls everything back.
pub(super) type Alongside = Box<
    dyn FnOnce(&mut dyn Tx, &[(usize, Reply)], &[StoredResource]) -> Result<String, Error> + Send,
>;

/// Each write's reply by entry index, and the existing matches of conditional creates (whose
/// reply shows them only as the caller may see them, decided after the commit).
type Resolved = (Vec<(usize, Reply)>, Vec<(usize, StoredResource)>);

fn run_writes(
    changes: &mut Changes<'_>,
    writes: Vec<Entry>,
    conditional_refs: HashMap<String, SearchQuery>,
    visible: &Visible,
    ret: Return,
) -> Result<Resolved, Error> {
    let mut out = Vec::with_capacity(writes.len());
    let mut found = Vec::new();
    let mut touched: HashSet<(ResourceType, String)> = HashSet::new();
    let mut claim = |e: &Entry, rtype: ResourceType, target: &str| {
        if touched.insert((rtype, target.to_owned())) {
            Ok(())
        } else {
            Err(at(
                e.index,
                format!("{rtype}/{target} is the target of more than one entry"),
            ))
        }
    };
    // 1. DELETEs first, so later conditional creates see their effect.
    let (deletes, others): (Vec<_>, Vec<_>) = writes.into_iter().partition(|e| e.order() == 0);
    for e in &deletes {
        let rtype = e.rtype()?;
        let target = match e.interaction() {
            Interaction::ConditionalDelete { criteria, .. } => {
                one_or_none(changes.tx(), criteria, visible, e.index)?
            }
            Interaction::Delete { id, .. } => Some(id.clone()),
            _ => {
                return Err(Error::internal("a delete entry that is not a delete"));
            }
        };
        let reply = match target {
            None => Reply::empty(StatusCode::NO_CONTENT),
            Some(t) => {
                claim(e, rtype, &t)?;
                match changes
                    .delete(rtype, &t, e.request.if_match)
                    .map_err(|err| prefix_entry(err, e.index))?
                {
                    Some(r) => Reply::resource(StatusCode::NO_CONTENT, &r, None),
                    None => {
                        return Err(prefix_entry(Error::NotFound { rtype, id: t }, e.index));
                    }
                }
            }
        };
        out.push((e.index, reply));
    }
    // 2. The target of every POST and PUT, and which POSTs matched an existing resource.
    let mut aliases: HashMap<String, String> = HashMap::new();
    let mut planned = Vec::with_capacity(others.len());
    for e in others {
        let rtype = e.rtype()?;
        let (target, existing) = match e.interaction() {
            Interaction::Create {
                if_none_exist: None,
                ..
            } => (id::new_id(), false),
            Interaction::Create {
                if_none_exist: Some(q),
                ..
            } => match one_or_none(changes.tx(), q, visible, e.index)? {
                Some(found) => (found, true),
                None => (id::new_id(), false),
            },
            Interaction::ConditionalUpdate { criteria, .. } => (
                one_or_none(changes.tx(), criteria, visible, e.index)?.unwrap_or_else(id::new_id),
                false,
            ),
            Interaction::Update { id, .. } => (id.clone(), false),
            _ => return Err(Error::internal("a write entry that is not a write")),
        };
        claim(&e, rtype, &target)?;
        if let Some(full) = &e.full_url {
            aliases.insert(full.clone(), format!("{rtype}/{target}"));
        }
        planned.push((e, rtype, target, existing));
    }
    resolve_conditional_in(changes.tx(), &conditional_refs, visible, &mut aliases)?;
    // 3. Rewrite references, then write in order.
    for (mut e, rtype, target, existing) in planned {
        if let Some(r) = e.resource.as_mut() {
            rewrite_at(r, &e.references, &aliases).map_err(|err| prefix_entry(err, e.index))?;
        }
        let body = e.resource.take().unwrap_or(Value::Null);
        let reply = match e.interaction() {
            Interaction::Create { .. } if existing => {
                let r = changes
                    .tx()
                    .current(rtype, &target)?
                    .ok_or_else(|| Error::internal("match vanished"))?;
                found.push((e.index, r));
                continue;
            }
            Interaction::Create { .. } => {
                let w = changes
                    .create(rtype, &target, body)
                    .map_err(|err| prefix_entry(err, e.index))?;
                Reply::written(StatusCode::CREATED, &w.resource, ret, "Created")
            }
            _ => {
                let w = changes
                    .update(rtype, &target, body, e.request.if_match)
                    .map_err(|err| prefix_entry(err, e.index))?;
                match w.created {
                    true => Reply::written(StatusCode::CREATED, &w.resource, ret, "Created"),
                    false => Reply::written(StatusCode::OK, &w.resource, ret, "Updated"),
                }
            }
        };
        out.push((e.index, reply));
    }
    Ok((out, found))
}

/// The one id `q` matches, `None` for no match, 412 for several.
fn one_or_none(
    tx: &mut dyn Tx,
    q: &SearchQuery,
    visible: &Visible,
    index: usize,
) -> Result<Option<String>, Error> {
    match matches_in(tx, q, visible)?.as_slice() {
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
        Error::ForbiddenContent(issues) => Error::ForbiddenContent(prefix(issues)),
        Error::PreconditionRequired(m) => {
            Error::PreconditionRequired(format!("Bundle.entry[{index}]: {m}"))
        }
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
