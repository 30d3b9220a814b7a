//! create, update and delete, plain and conditional. The `*_in` functions run inside a store
//! transaction so that a conditional check and its write are atomic, and so that transaction bundles
//! reuse them unchanged.

use std::collections::{HashMap, HashSet};

use actix_web::http::StatusCode;
use serde_json::{Map, Value, json};

use super::changes::Changes;
use super::references::{resolve_conditional_in, rewrite_references};
use super::{Engine, Reply, Return};
use crate::access::Gate;
use crate::audit::write::Recording;
use crate::auth::scopes::Permission;
use crate::error::Error;
use crate::fhir::instant::{format_instant, now_ms};
use crate::fhir::validate::{IdRule, validate};
use crate::fhir::{ResourceType, id};
use crate::search::{self, SearchQuery};
use crate::store::{StoredResource, Tx, VersionWrite, WriteMethod};

/// The result of a write inside a transaction.
#[derive(Debug, Clone)]
pub struct Written {
    /// The version now current.
    pub resource: StoredResource,
    /// True when the write created the resource (201), false for an update (200).
    pub created: bool,
}

/// Puts `resourceType`, `id` and `meta` (with the server's version and time) first, keeping the
/// client's other meta elements (tags, profiles, security labels). Takes the body by value: its
/// elements are moved, not copied (the copy was 7% of the writer's time in a bulk import).
fn stamp(rtype: ResourceType, id: &str, version: u64, last_updated: i64, body: Value) -> Value {
    let mut fields = match body {
        Value::Object(obj) => obj,
        _ => Map::new(),
    };
    let mut meta = match fields.shift_remove("meta") {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    meta.insert("versionId".into(), json!(version.to_string()));
    meta.insert("lastUpdated".into(), json!(format_instant(last_updated)));
    let mut out = Map::with_capacity(fields.len() + 3);
    out.insert("resourceType".into(), json!(rtype.as_str()));
    out.insert("id".into(), json!(id));
    out.insert("meta".into(), Value::Object(meta));
    for (k, v) in fields {
        if !matches!(k.as_str(), "resourceType" | "id") {
            out.insert(k, v);
        }
    }
    Value::Object(out)
}

/// Sets the version and time of an already stamped resource.
fn restamp(stamped: &mut Value, version: u64, last_updated: i64) {
    if let Some(meta) = stamped.get_mut("meta").and_then(Value::as_object_mut) {
        meta.insert("versionId".into(), json!(version.to_string()));
        meta.insert("lastUpdated".into(), json!(format_instant(last_updated)));
    }
}

/// The write of a stamped resource: its text and its index entries.
fn version_write(
    base: &str,
    rtype: ResourceType,
    id: &str,
    stamped: &Value,
    (version, last_updated): (u64, i64),
    method: WriteMethod,
) -> VersionWrite {
    VersionWrite {
        index: search::extract_with_base(rtype, stamped, base),
        resource: StoredResource {
            rtype,
            id: id.to_owned(),
            version,
            last_updated,
            deleted: false,
            body: json_text(stamped),
        },
        method,
    }
}

/// The stored text of a resource. `serde_json::to_string` writes straight into the buffer, where
/// `Value`'s `Display` goes through a formatter per token (a tenth of the store writer's time in an
/// import). Serialising a `Value` cannot fail (its keys are strings); were it to, `Display` gives
/// the same text.
fn json_text(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| v.to_string())
}

/// Writes `w`, and for a type a subscription topic watches (`crate::subscription::topic`) its outbox row,
/// in the same transaction.
fn put(tx: &mut dyn Tx, w: &VersionWrite) -> Result<(), Error> {
    tx.put(w)?;
    let r = &w.resource;
    if crate::subscription::topic::watched(r.rtype) {
        tx.enqueue_change(r.rtype, &r.id, r.version, r.last_updated)?;
    }
    Ok(())
}

/// Creates `body` as `rtype/id`, version 1. `id` is always one the server has just assigned
/// ([`id::new_id`]), so no current version is looked up; were two ids ever to collide, the store's
/// unique version key would refuse the write rather than overwrite.
pub fn create_in(
    tx: &mut dyn Tx,
    base: &str,
    rtype: ResourceType,
    id: &str,
    body: Value,
) -> Result<Written, Error> {
    let now = now_ms();
    let stamped = stamp(rtype, id, 1, now, body);
    let w = version_write(base, rtype, id, &stamped, (1, now), WriteMethod::Create);
    put(tx, &w)?;
    Ok(Written {
        resource: w.resource,
        created: true,
    })
}

/// Updates (or creates, with the client's id) `rtype/id`. With `if_match`, the current version must
/// be that one. An update that changes nothing makes no new version.
pub fn update_in(
    tx: &mut dyn Tx,
    base: &str,
    rtype: ResourceType,
    id: &str,
    body: Value,
    if_match: Option<u64>,
) -> Result<Written, Error> {
    let current = tx.current(rtype, id)?;
    let live = current.as_ref().filter(|c| !c.deleted);
    if let Some(expected) = if_match {
        match live {
            Some(c) if c.version == expected => {}
            Some(c) => {
                return Err(Error::PreconditionFailed(format!(
                    "If-Match version {expected} is not the current version {} of {rtype}/{id}",
                    c.version
                )));
            }
            None => {
                return Err(Error::PreconditionFailed(format!(
                    "{rtype}/{id} does not exist to match"
                )));
            }
        }
    }
    let now = now_ms();
    let version = current.as_ref().map_or(1, |c| c.version + 1);
    let stamped = match live {
        Some(c) => {
            // Same content as the current version (ignoring meta.versionId/lastUpdated): no new
            // version.
            let mut stamped = stamp(rtype, id, c.version, c.last_updated, body);
            if serde_json::to_string(&stamped).is_ok_and(|text| text == c.body) {
                return Ok(Written {
                    resource: c.clone(),
                    created: false,
                });
            }
            restamp(&mut stamped, version, now);
            stamped
        }
        None => stamp(rtype, id, version, now, body),
    };
    let w = version_write(
        base,
        rtype,
        id,
        &stamped,
        (version, now),
        WriteMethod::Update,
    );
    put(tx, &w)?;
    Ok(Written {
        resource: w.resource,
        created: live.is_none(),
    })
}

/// Deletes `rtype/id` logically. `Ok(None)` when it never existed; deleting a deleted resource is a
/// no-op that returns the deletion.
pub fn delete_in(
    tx: &mut dyn Tx,
    rtype: ResourceType,
    id: &str,
    if_match: Option<u64>,
) -> Result<Option<StoredResource>, Error> {
    let Some(current) = tx.current(rtype, id)? else {
        return Ok(None);
    };
    if let Some(expected) = if_match
        && (current.deleted || current.version != expected)
    {
        return Err(Error::PreconditionFailed(format!(
            "If-Match version {expected} is not current for {rtype}/{id}"
        )));
    }
    if current.deleted {
        return Ok(Some(current));
    }
    let resource = StoredResource {
        version: current.version + 1,
        last_updated: now_ms(),
        deleted: true,
        body: String::new(),
        ..current
    };
    let w = VersionWrite {
        resource,
        method: WriteMethod::Delete,
        index: Vec::new(),
    };
    put(tx, &w)?;
    Ok(Some(w.resource))
}

/// The resources a restricted caller can see among the matches of some conditional queries, by
/// type and id; `None` for a caller who sees everything. A conditional write matches only these:
/// for the caller, a hidden resource is as good as absent.
pub type Visible = Option<HashSet<(ResourceType, String)>>;

/// Most matches of one criterion checked against a restricted caller's view.
const MOST_MATCHES: usize = 1000;

/// The ids matching a conditional interaction's criteria that the caller can see (at most two:
/// enough to tell 0, 1, many).
pub fn matches_in(
    tx: &mut dyn Tx,
    query: &SearchQuery,
    visible: &Visible,
) -> Result<Vec<String>, Error> {
    // The same criteria in any order serialise with each other.
    let mut criteria = query.canonical.clone();
    criteria.sort();
    tx.lock(&format!("{}?{criteria:?}", query.rtype))?;
    let Some(visible) = visible else {
        return Ok(tx.search_ids(query, 2)?);
    };
    Ok(tx
        .search_ids(query, MOST_MATCHES)?
        .into_iter()
        .filter(|id| visible.contains(&(query.rtype, id.clone())))
        .take(2)
        .collect())
}

/// What delivery learnt of a Subscription, written back to it by the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark<'a> {
    /// Its handshake was answered: `requested` becomes `active`.
    Active,
    /// Delivery gave up, for this reason: `requested` or `active` becomes `error`.
    Error(&'a str),
}

/// Longest `Subscription.error` the gateway writes, in characters.
const MAX_ERROR_CHARS: usize = 500;

impl Engine {
    /// Writes what delivery learnt of Subscription `id` (`crate::notify::deliver`) as a new
    /// version, as the gateway; a Subscription its subscriber rewrote meanwhile (to another status)
    /// or deleted is left alone, since the subscriber's word stands.
    pub async fn mark_subscription(&self, id: &str, mark: Mark<'_>) -> Result<(), Error> {
        let (base, id) = (self.base_url.clone(), id.to_owned());
        let (from, to, error): (&[&str], _, _) = match mark {
            Mark::Active => (&["requested"], "active", None),
            Mark::Error(why) => (
                &["requested", "active"],
                "error",
                Some(why.chars().take(MAX_ERROR_CHARS).collect::<String>()),
            ),
        };
        self.store
            .transaction(move |tx| {
                let rtype = ResourceType::Subscription;
                let Some(current) = tx.current(rtype, &id)?.filter(|c| !c.deleted) else {
                    return Ok(());
                };
                let mut body: Value = serde_json::from_str(&current.body)
                    .map_err(|e| Error::internal_from(format!("stored Subscription/{id}"), e))?;
                let status = body
                    .get("status")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if !from.contains(&status) {
                    return Ok(());
                }
                body["status"] = json!(to);
                match error {
                    Some(why) => body["error"] = json!(why),
                    None => {
                        if let Some(b) = body.as_object_mut() {
                            b.remove("error");
                        }
                    }
                }
                update_in(tx, &base, rtype, &id, body, Some(current.version)).map(|_| ())
            })
            .await
    }

    /// What the gate's caller can see among the current matches of `queries` ([`Visible`]),
    /// read before a conditional write's transaction. A resource that comes to match between this
    /// read and the write counts as hidden: the write then acts as if it did not match (fail
    /// closed).
    pub(super) async fn visible_matches<'q>(
        &self,
        queries: impl IntoIterator<Item = &'q SearchQuery>,
        gate: &Gate,
    ) -> Result<Visible, Error> {
        if gate.unrestricted() {
            return Ok(None);
        }
        let backend = self.store.backend();
        let mut out = HashSet::new();
        for q in queries {
            let mut narrowed = q.clone();
            if !gate.narrow(&mut narrowed).await? {
                continue;
            }
            let rows = backend.search(&narrowed, MOST_MATCHES).await?;
            for (_, r) in backend.fetch(&rows).await? {
                if gate.admit_as(&r, Permission::Search).await?.is_some() {
                    out.insert((r.rtype, r.id));
                }
            }
        }
        Ok(Some(out))
    }

    /// Whether the caller can see `rtype/id` as it is now (always, for a caller who sees
    /// everything). A restricted caller's update or delete of a hidden or missing resource is 404
    /// either way, so a write cannot tell the two apart (and never creates by update).
    pub(super) async fn visible(
        &self,
        rtype: ResourceType,
        id: &str,
        gate: &Gate,
    ) -> Result<bool, Error> {
        if gate.unrestricted() {
            return Ok(true);
        }
        match self.store.backend().read(rtype, id).await? {
            Some(r) if !r.deleted => Ok(gate.admit(&r).await?.is_some()),
            _ => Ok(false),
        }
    }

    /// The reply of a conditional create that found its match: the match only as the caller
    /// could read it directly (redacted if need be; without a body when its scopes do not grant
    /// reading the type), never more.
    pub(super) async fn found(
        &self,
        r: &StoredResource,
        ret: Return,
        gate: &Gate,
    ) -> Result<Reply, Error> {
        let message = "A matching resource already exists";
        if ret != Return::Representation {
            return Ok(Reply::written(StatusCode::OK, r, ret, message));
        }
        let mut reply = Reply::written(StatusCode::OK, r, Return::Minimal, message);
        if let Some(body) = gate.admit(r).await? {
            gate.disclose(r);
            reply.body = Some(body);
        }
        Ok(reply)
    }

    /// `POST [type]`, conditional when `if_none_exist` is given.
    pub async fn create(
        &self,
        rtype: ResourceType,
        body: Value,
        if_none_exist: Option<&SearchQuery>,
        ret: Return,
        gate: &Gate,
        audit: &Recording,
    ) -> Result<Reply, Error> {
        validate(rtype, &body, IdRule::Ignored)?;
        crate::rest::rules::check(self, rtype, &body, &HashSet::new()).await?;
        let criteria = if_none_exist.cloned();
        let refs = self.conditional_references_of(&body)?;
        let visible = self
            .visible_matches(criteria.iter().chain(refs.values()), gate)
            .await?;
        let mut body = body;
        let new_id = id::new_id();
        let base = self.base_url.clone();
        let audit = audit.clone();
        let writer = gate.writer().await?;
        let (written, existed) = self
            .store
            .transaction(move |tx| {
                if let Some(q) = &criteria {
                    match matches_in(tx, q, &visible)?.as_slice() {
                        [] => {}
                        [one] => {
                            let existing = tx
                                .current(rtype, one)?
                                .ok_or_else(|| Error::internal("match vanished"))?;
                            return Ok::<_, Error>((
                                Written {
                                    resource: existing,
                                    created: false,
                                },
                                true,
                            ));
                        }
                        _ => {
                            return Err(Error::MultipleMatches(
                                "If-None-Exist matched more than one resource".into(),
                            ));
                        }
                    }
                }
                resolve_in(tx, &refs, &visible, &mut body)?;
                let mut changes = Changes::new(tx, &base, &writer);
                let w = changes.create(rtype, &new_id, body)?;
                let also = changes.finish()?;
                audit.append_in(tx, 201, &w.resource, &also)?;
                Ok((w, false))
            })
            .await?;
        if existed {
            return self.found(&written.resource, ret, gate).await;
        }
        Ok(Reply::written(
            StatusCode::CREATED,
            &written.resource,
            ret,
            "Created",
        ))
    }

    /// `PUT [type]/[id]`. A caller who cannot see everything updates only what it can see, and
    /// never creates by update (a hidden id and a free one both answer 404).
    #[allow(clippy::too_many_arguments)]
    pub async fn update(
        &self,
        rtype: ResourceType,
        rid: &str,
        body: Value,
        if_match: Option<u64>,
        ret: Return,
        gate: &Gate,
        audit: &Recording,
    ) -> Result<Reply, Error> {
        validate(rtype, &body, IdRule::MustEqual(rid))?;
        crate::rest::rules::check(self, rtype, &body, &HashSet::new()).await?;
        if !self.visible(rtype, rid, gate).await? {
            return Err(Error::NotFound {
                rtype,
                id: rid.to_owned(),
            });
        }
        let refs = self.conditional_references_of(&body)?;
        let visible = self.visible_matches(refs.values(), gate).await?;
        let base = self.base_url.clone();
        let (rid, mut body) = (rid.to_owned(), body);
        let audit = audit.clone();
        let writer = gate.writer().await?;
        let w = self
            .store
            .transaction(move |tx| {
                resolve_in(tx, &refs, &visible, &mut body)?;
                let mut changes = Changes::new(tx, &base, &writer);
                let w = changes.update(rtype, &rid, body, if_match)?;
                let also = changes.finish()?;
                audit.append_in(tx, updated_status(&w), &w.resource, &also)?;
                Ok::<_, Error>(w)
            })
            .await?;
        Ok(updated_reply(&w, ret))
    }

    /// `PUT [type]?criteria`: update the one match, create when none, 412 when several.
    /// `If-Match`, when given, must name the match's current version.
    pub async fn conditional_update(
        &self,
        rtype: ResourceType,
        (criteria, if_match): (&SearchQuery, Option<u64>),
        body: Value,
        ret: Return,
        gate: &Gate,
        audit: &Recording,
    ) -> Result<Reply, Error> {
        let body_id = body.get("id").and_then(Value::as_str).map(str::to_owned);
        match &body_id {
            Some(b) => validate(rtype, &body, IdRule::MustEqual(b))?,
            None => validate(rtype, &body, IdRule::Ignored)?,
        }
        crate::rest::rules::check(self, rtype, &body, &HashSet::new()).await?;
        let refs = self.conditional_references_of(&body)?;
        let q = criteria.clone();
        let visible = self
            .visible_matches(std::iter::once(&q).chain(refs.values()), gate)
            .await?;
        let base = self.base_url.clone();
        let mut body = body;
        let audit = audit.clone();
        let writer = gate.writer().await?;
        let w = self
            .store
            .transaction(move |tx| {
                let target = match matches_in(tx, &q, &visible)?.as_slice() {
                    [] => body_id.unwrap_or_else(id::new_id),
                    [one] => match body_id {
                        Some(b) if &b != one => {
                            return Err(Error::BadRequest(
                                "The body's id differs from the resource the criteria matched"
                                    .into(),
                            ));
                        }
                        _ => one.clone(),
                    },
                    _ => {
                        return Err(Error::MultipleMatches(
                            "The criteria matched more than one resource".into(),
                        ));
                    }
                };
                resolve_in(tx, &refs, &visible, &mut body)?;
                let mut changes = Changes::new(tx, &base, &writer);
                let w = changes.update(rtype, &target, body, if_match)?;
                let also = changes.finish()?;
                audit.append_in(tx, updated_status(&w), &w.resource, &also)?;
                Ok(w)
            })
            .await?;
        Ok(updated_reply(&w, ret))
    }

    /// `DELETE [type]/[id]`.
    pub async fn delete(
        &self,
        rtype: ResourceType,
        rid: &str,
        if_match: Option<u64>,
        gate: &Gate,
        audit: &Recording,
    ) -> Result<Reply, Error> {
        let not_found = || Error::NotFound {
            rtype,
            id: rid.to_owned(),
        };
        if !self.visible(rtype, rid, gate).await? {
            return Err(not_found());
        }
        let id_owned = rid.to_owned();
        let audit = audit.clone();
        let (base, writer) = (self.base_url.clone(), gate.writer().await?);
        let deleted = self
            .store
            .transaction(move |tx| {
                let mut changes = Changes::new(tx, &base, &writer);
                let deleted = changes.delete(rtype, &id_owned, if_match)?;
                let also = changes.finish()?;
                if let Some(r) = &deleted {
                    audit.append_in(tx, 204, r, &also)?;
                }
                Ok::<_, Error>(deleted)
            })
            .await?;
        match deleted {
            None => Err(not_found()),
            Some(r) => Ok(Reply::resource(StatusCode::NO_CONTENT, &r, None)),
        }
    }

    /// `DELETE [type]?criteria`: deletes the one match; none is a no-op, several is 412.
    pub async fn conditional_delete(
        &self,
        rtype: ResourceType,
        criteria: &SearchQuery,
        gate: &Gate,
        audit: &Recording,
    ) -> Result<Reply, Error> {
        let q = criteria.clone();
        let visible = self.visible_matches(std::iter::once(&q), gate).await?;
        let audit = audit.clone();
        let (base, writer) = (self.base_url.clone(), gate.writer().await?);
        let deleted = self
            .store
            .transaction(move |tx| {
                let mut changes = Changes::new(tx, &base, &writer);
                let deleted = match matches_in(changes.tx(), &q, &visible)?.as_slice() {
                    [] => None,
                    [one] => changes.delete(rtype, &one.clone(), None)?,
                    _ => {
                        return Err(Error::MultipleMatches(
                            "The criteria matched more than one resource".into(),
                        ));
                    }
                };
                let also = changes.finish()?;
                if let Some(r) = &deleted {
                    audit.append_in(tx, 204, r, &also)?;
                }
                Ok(deleted)
            })
            .await?;
        Ok(match deleted {
            Some(r) => Reply::resource(StatusCode::NO_CONTENT, &r, None),
            None => Reply::empty(StatusCode::NO_CONTENT),
        })
    }
}

/// Resolves the conditional references of a single write and rewrites them in `body`.
fn resolve_in(
    tx: &mut dyn Tx,
    refs: &HashMap<String, SearchQuery>,
    visible: &Visible,
    body: &mut Value,
) -> Result<(), Error> {
    if refs.is_empty() {
        return Ok(());
    }
    let mut aliases = HashMap::new();
    resolve_conditional_in(tx, refs, visible, &mut aliases)?;
    rewrite_references(body, &aliases)
}

/// The status of an update's answer: 201 when it created the resource.
fn updated_status(w: &Written) -> u16 {
    if w.created { 201 } else { 200 }
}

fn updated_reply(w: &Written, ret: Return) -> Reply {
    if w.created {
        Reply::written(StatusCode::CREATED, &w.resource, ret, "Created")
    } else {
        Reply::written(StatusCode::OK, &w.resource, ret, "Updated")
    }
}

#[cfg(test)]
mod tests;
