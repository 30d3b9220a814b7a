//! `$process-message`: a BaRS referral message run as the transaction it becomes
//! (`crate::messaging` says what each message does and why), with its reply kept in the same
//! store transaction so that a repeat is answered again without a second write.

use serde_json::Value;

use super::{Engine, Reply};
use crate::access::Gate;
use crate::auth::scopes::Permission;
use crate::error::Error;
use crate::fhir::instant::{format_instant, now_ms};
use crate::fhir::{OutcomeIssue, ResourceType, id};
use crate::messaging::{self, Message, MessageIds, Reason, encoded, plan, reply};
use crate::store::{MessageRecord, StoredResource};

/// Referral statuses a cancellation may still move (a referral that is `active` or `on-hold`).
const CANCELLABLE: &[&str] = &["active", "on-hold"];

impl Engine {
    /// Processes `bundle`, a message sent with `ids`, for the gate's caller; the reply is a
    /// response message. A repeat of a message already processed for this caller gets the reply
    /// kept then and writes nothing; the same request id with another body or correlation id is
    /// 409.
    pub async fn process_message(
        &self,
        bundle: Value,
        ids: &MessageIds,
        gate: &Gate,
    ) -> Result<Reply, Error> {
        let caller = gate.principal().subject.clone();
        let digest = messaging::digest(&bundle);
        if let Some(kept) = self.kept_message(&caller, ids).await? {
            return replay(&kept, ids, &digest, gate);
        }
        let message = messaging::read(bundle)?;
        let transaction = match message.reason {
            Reason::New => plan::new_referral(message.referral.clone(), &format_instant(now_ms())),
            Reason::Update => {
                let stored = self.referral_named(&message, gate).await?;
                let status = serde_json::from_str::<Value>(&stored.body)
                    .ok()
                    .and_then(|v| v["status"].as_str().map(str::to_owned))
                    .unwrap_or_default();
                if message.cancels() && !CANCELLABLE.contains(&status.as_str()) {
                    return Err(Error::BusinessRule(vec![
                        OutcomeIssue::error(
                            "business-rule",
                            format!(
                                "The referral is {status}, no longer active: it cannot be cancelled"
                            ),
                        )
                        .at(format!(
                            "Bundle.entry[{}].resource.status",
                            message.focus_entry
                        )),
                    ]));
                }
                plan::update_referral(message.referral.clone(), &stored.id, stored.version)
            }
        };
        let focus_entry = message.focus_entry;
        let keep = self.keeper(message, ids.clone(), caller.clone(), digest.clone());
        match self.transaction_alongside(transaction, gate, keep).await {
            Ok((_, text)) => Ok(Reply::raw(text)),
            // A concurrent repeat got there first: answer as its repeat, once it has committed
            // (its transaction may still be finishing when this one conflicts with it).
            Err(Error::Conflict(m)) => match self.kept_message_soon(&caller, ids).await? {
                Some(kept) => replay(&kept, ids, &digest, gate),
                None => Err(Error::Conflict(m)),
            },
            Err(e) => Err(relocate(e, focus_entry)),
        }
    }

    /// The kept reply of a concurrent repeat, waiting up to two seconds for it to commit.
    async fn kept_message_soon(
        &self,
        caller: &str,
        ids: &MessageIds,
    ) -> Result<Option<MessageRecord>, Error> {
        for _ in 0..40 {
            if let Some(kept) = self.kept_message(caller, ids).await? {
                return Ok(Some(kept));
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        Ok(None)
    }

    async fn kept_message(
        &self,
        caller: &str,
        ids: &MessageIds,
    ) -> Result<Option<MessageRecord>, Error> {
        Ok(self
            .store
            .backend()
            .message(caller, &ids.request_id)
            .await?)
    }

    /// What the message's transaction keeps alongside its writes: the reply, built from what it
    /// wrote, recorded for the caller and request id (409 when a concurrent repeat got there
    /// first, which the caller turns into that repeat's reply).
    fn keeper(
        &self,
        message: Message,
        ids: MessageIds,
        caller: String,
        digest: String,
    ) -> super::batch::Alongside {
        let base = self.base_url.clone();
        Box::new(move |tx, replies, also| {
            let mut written: Vec<(String, String)> = Vec::new();
            for (_, r) in replies {
                if let (Some(location), Some(body)) = (&r.location, &r.body) {
                    let reference = location.split("/_history").next().unwrap_or(location);
                    written.push((reference.to_owned(), body.clone().into_string()));
                }
            }
            written.extend(
                also.iter()
                    .map(|r: &StoredResource| (format!("{}/{}", r.rtype, r.id), r.body.clone())),
            );
            let reply_id = id::new_id();
            let now = now_ms();
            let text = reply::response(
                &message,
                &ids.request_id,
                &base,
                &written,
                &reply_id,
                &format_instant(now),
            );
            let record = MessageRecord {
                caller,
                request_id: ids.request_id,
                correlation_id: ids.correlation_id,
                digest,
                recorded: now,
                reply: text.clone(),
            };
            if tx.record_message(&record)? {
                Ok(text)
            } else {
                Err(Error::Conflict(
                    "This X-Request-ID was processed by a concurrent request".into(),
                ))
            }
        })
    }

    /// The stored referral an update message names by its identifier, as the caller may see it
    /// (404 when it names none the caller can see, 412 when it names several).
    async fn referral_named(
        &self,
        message: &Message,
        gate: &Gate,
    ) -> Result<StoredResource, Error> {
        let at = format!("Bundle.entry[{}].resource.identifier", message.focus_entry);
        let identifier = message.identifier().ok_or_else(|| {
            Error::InvalidResource(vec![
                OutcomeIssue::error(
                    "required",
                    "An update names the referral it changes by ServiceRequest.identifier",
                )
                .at(&at),
            ])
        })?;
        let rtype = ResourceType::ServiceRequest;
        let (system, value) = (encoded(&identifier.0), encoded(&identifier.1));
        let query = self.criteria(rtype, &format!("identifier={system}|{value}"))?;
        let mut narrowed = query.clone();
        let mut found = Vec::new();
        if gate.narrow(&mut narrowed).await? {
            let backend = self.store.backend();
            let rows = backend.search(&narrowed, 10).await?;
            for (_, r) in backend.fetch(&rows).await? {
                if gate.admit_as(&r, Permission::Read).await?.is_some() {
                    found.push(r);
                }
            }
        }
        match found.len() {
            1 => Ok(found.remove(0)),
            0 => Err(Error::NotFound {
                rtype,
                id: identifier.1,
            }),
            _ => Err(Error::MultipleMatches(format!(
                "{at}: more than one referral has this identifier"
            ))),
        }
    }
}

/// The kept reply to a repeat of a processed message; 409 when the request id came with another
/// body or correlation id. The repeat's audit event names what the kept reply carries.
fn replay(
    kept: &MessageRecord,
    ids: &MessageIds,
    digest: &str,
    gate: &Gate,
) -> Result<Reply, Error> {
    if kept.digest != digest || kept.correlation_id != ids.correlation_id {
        return Err(Error::Conflict(
            "This X-Request-ID was used for another message; a repeat sends the same message with the same X-Correlation-ID".into(),
        ));
    }
    if let Ok(v) = serde_json::from_str::<Value>(&kept.reply) {
        for e in v["entry"].as_array().into_iter().flatten().skip(1) {
            let r = &e["resource"];
            if let (Some(t), Some(i), Some(version)) = (
                r["resourceType"].as_str(),
                r["id"].as_str(),
                r["meta"]["versionId"].as_str(),
            ) {
                gate.wrote(&format!("{t}/{i}/_history/{version}"));
            }
        }
    }
    Ok(Reply::raw(kept.reply.clone()))
}

/// `err` with the paths of the transaction's referral entry (entry 0) moved to the message's
/// focus entry, where the sender put it.
fn relocate(err: Error, focus_entry: usize) -> Error {
    let from = "Bundle.entry[0]";
    let to = format!("Bundle.entry[{focus_entry}]");
    let moved = |issues: Vec<OutcomeIssue>| {
        issues
            .into_iter()
            .map(|mut i| {
                i.diagnostics = i.diagnostics.replace(from, &to);
                i.expression = i.expression.map(|x| x.replace(from, &to));
                i
            })
            .collect()
    };
    match err {
        Error::InvalidResource(i) => Error::InvalidResource(moved(i)),
        Error::BusinessRule(i) => Error::BusinessRule(moved(i)),
        Error::ForbiddenContent(i) => Error::ForbiddenContent(moved(i)),
        other => other,
    }
}
