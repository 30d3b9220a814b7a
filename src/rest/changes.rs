//! Every write of one store transaction, made for one writer: each create, update and delete is
//! checked against the write table's condition ([`Writer::check`], with the references already
//! resolved and the current version read in the same transaction), made, and remembered; then
//! [`Changes::finish`] settles the referral workflow (`crate::referral`) and makes its writes in
//! the same transaction. Single writes and transaction bundles both go through here, so no write
//! path can skip a rule.

use serde_json::Value;

use super::write::{Written, create_in, delete_in, update_in};
use crate::access::Writer;
use crate::error::Error;
use crate::fhir::ResourceType;
use crate::referral::{self, Touched};
use crate::store::{StoredResource, Tx};

/// The writes of one transaction in progress.
pub struct Changes<'a> {
    tx: &'a mut dyn Tx,
    base: &'a str,
    writer: &'a Writer,
    touched: Vec<Touched>,
}

impl<'a> Changes<'a> {
    /// Writes in `tx`, for `writer`, with references under `base`.
    pub fn new(tx: &'a mut dyn Tx, base: &'a str, writer: &'a Writer) -> Self {
        Changes {
            tx,
            base,
            writer,
            touched: Vec::new(),
        }
    }

    /// The transaction, for reads and conditional matching between writes.
    pub fn tx(&mut self) -> &mut dyn Tx {
        &mut *self.tx
    }

    /// Creates `body` as `rtype/id` (a new id).
    pub fn create(&mut self, rtype: ResourceType, id: &str, body: Value) -> Result<Written, Error> {
        let (body, secret) = for_writer(self.writer, rtype, body, true)?;
        self.writer.check(&mut *self.tx, rtype, &body, None)?;
        let w = create_in(&mut *self.tx, self.base, rtype, id, body)?;
        self.keep_subscriber(rtype, id, secret.as_deref())?;
        self.remember(rtype, id, None);
        Ok(w)
    }

    /// Updates (or, for a writer the table lets, creates) `rtype/id`. A referral or Task that
    /// exists is replaced only with `If-Match` (428 without): two parties answer on one referral.
    pub fn update(
        &mut self,
        rtype: ResourceType,
        id: &str,
        body: Value,
        if_match: Option<u64>,
    ) -> Result<Written, Error> {
        let before = match self.tx.current(rtype, id)? {
            Some(c) if !c.deleted => Some(parse(&c)?),
            _ => None,
        };
        if Touched::concerns(rtype) && before.is_some() && if_match.is_none() {
            return Err(Error::PreconditionRequired(format!(
                "An update of {rtype}/{id} must say which version it replaces (If-Match)"
            )));
        }
        let (body, secret) = for_writer(self.writer, rtype, body, before.is_none())?;
        self.writer
            .check(&mut *self.tx, rtype, &body, before.as_ref())?;
        let w = update_in(&mut *self.tx, self.base, rtype, id, body, if_match)?;
        self.keep_subscriber(rtype, id, secret.as_deref())?;
        self.remember(rtype, id, before);
        Ok(w)
    }

    /// Deletes `rtype/id` (`None` when it never existed).
    pub fn delete(
        &mut self,
        rtype: ResourceType,
        id: &str,
        if_match: Option<u64>,
    ) -> Result<Option<StoredResource>, Error> {
        let before = match self.tx.current(rtype, id)? {
            Some(c) if !c.deleted && Touched::concerns(rtype) => Some(parse(&c)?),
            _ => None,
        };
        let deleted = delete_in(&mut *self.tx, rtype, id, if_match)?;
        if before.is_some() {
            self.remember(rtype, id, before);
        }
        Ok(deleted)
    }

    /// Settles the referral workflow: checks what was written, makes the writes that keep each
    /// referral and its Task in step, and returns them (for the audit event).
    pub fn finish(self) -> Result<Vec<StoredResource>, Error> {
        if self.touched.is_empty() {
            return Ok(Vec::new());
        }
        let consequences = referral::settle(&mut *self.tx, self.writer, &self.touched)?;
        let mut touched = self.touched;
        let mut written = Vec::with_capacity(consequences.len());
        for c in consequences {
            let w = update_in(&mut *self.tx, self.base, c.rtype, &c.id, c.body, None)?;
            touched.push(Touched {
                rtype: c.rtype,
                id: c.id,
                before: None,
            });
            written.push(w.resource);
        }
        referral::verify(&mut *self.tx, &touched)?;
        Ok(written)
    }

    /// With a Subscription's write, its subscriber's role and signing secret, for delivery.
    fn keep_subscriber(
        &mut self,
        rtype: ResourceType,
        id: &str,
        secret: Option<&str>,
    ) -> Result<(), Error> {
        if rtype != ResourceType::Subscription {
            return Ok(());
        }
        let role = self.writer.role().unwrap_or(crate::auth::Role::System);
        self.tx.keep_subscriber(id, role.code(), secret)?;
        Ok(())
    }

    fn remember(&mut self, rtype: ResourceType, id: &str, before: Option<Value>) {
        if Touched::concerns(rtype) {
            self.touched.push(Touched {
                rtype,
                id: id.to_owned(),
                before,
            });
        }
    }
}

/// What `writer` writes of `body`, and for a Subscription the signing secret taken out of it (a
/// new one, `creating`, must carry one): a subscriber's Subscription names it as the subscriber
/// (when it names none) and asks only for a payload the subscriber's role may receive.
pub fn for_writer(
    writer: &Writer,
    rtype: ResourceType,
    mut body: Value,
    creating: bool,
) -> Result<(Value, Option<String>), Error> {
    if rtype != ResourceType::Subscription {
        return Ok((body, None));
    }
    let secret = crate::subscription::take_secret(&mut body)
        .map_err(|issue| Error::BusinessRule(vec![issue]))?;
    if creating && secret.is_none() {
        return Err(Error::BusinessRule(vec![
            crate::fhir::OutcomeIssue::error(
                "business-rule",
                format!(
                    "a Subscription carries the secret its notifications are signed with ({})",
                    crate::subscription::SECRET_EXTENSION
                ),
            )
            .at("Subscription.channel.extension"),
        ]));
    }
    let (Some(role), Some([org, ..])) = (writer.role(), writer.organizations()) else {
        return Ok((body, secret));
    };
    if let Some(issue) = crate::subscription::content_refused_in(&body, role) {
        return Err(Error::ForbiddenContent(vec![issue]));
    }
    Ok((
        crate::access::subscriber::with_subscriber(body, org.as_str()),
        secret,
    ))
}

fn parse(r: &StoredResource) -> Result<Value, Error> {
    serde_json::from_str(&r.body)
        .map_err(|e| Error::internal_from(format!("stored {} is not JSON", r.rtype), e))
}

#[cfg(test)]
mod tests;
