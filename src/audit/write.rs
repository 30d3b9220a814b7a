//! The audit event of a write, committed in the write's own store transaction: a write and its
//! event land together or not at all, so no version exists that the trail cannot account for.
//!
//! The HTTP layer makes a [`Draft`] of each authorised request (what was asked, by whom, as
//! parsed) and hands it, as [`Recording::Event`], to the engine's writes (create, update, delete
//! and their conditional forms, `$extract` with `store=true`), which call
//! [`Recording::append_in`] inside their transaction, on this process's writes chain
//! (`<audit_chain>.writes`). The HTTP layer then journals nothing more for the request, unless the
//! response it sends differs from the one recorded. Bundles have their events journaled after they
//! commit (the response waits for it either way). The draft is an argument of every write, so a
//! write without its event cannot be written by accident: jobs outside a request (import, sample
//! data, start-up artefacts) say [`Recording::Unrecorded`] explicitly.

use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};

use super::event::{Disclosed, Record};
use crate::error::Error;
use crate::fhir::instant::now_ms;
use crate::store::{StoreError, StoredResource, Tx};

/// What a request's write event will say, before the write is made.
pub struct Draft {
    chain: Arc<str>,
    /// The event without its time, status and written resource.
    template: Record,
    /// The status recorded in a write's transaction (0: none yet).
    recorded: AtomicU16,
}

impl Draft {
    /// A draft recorded on `chain`, from `template` (the request as parsed, its caller).
    pub fn new(chain: Arc<str>, template: Record) -> Arc<Draft> {
        Arc::new(Draft {
            chain,
            template,
            recorded: AtomicU16::new(0),
        })
    }

    /// The status a write's transaction recorded, if one did.
    pub fn recorded_status(&self) -> Option<u16> {
        match self.recorded.load(Ordering::Acquire) {
            0 => None,
            s => Some(s),
        }
    }

    /// Appends the event of a write answered with `status` that made `written` (and, as its
    /// consequences, `also`: the referral workflow's writes), in `tx`.
    fn append_in(
        &self,
        tx: &mut dyn Tx,
        status: u16,
        written: &StoredResource,
        also: &[StoredResource],
    ) -> Result<(), StoreError> {
        let record = Record {
            recorded: now_ms(),
            status,
            disclosed: std::iter::once(written)
                .chain(also)
                .map(|w| Disclosed {
                    reference: w.version_reference(),
                    redacted: false,
                    patient: None,
                })
                .collect(),
            ..self.template.clone()
        };
        super::stored::append(
            tx,
            &self.chain,
            record.recorded,
            &record.to_text(),
            &record.keys(),
        )?;
        self.recorded.store(status, Ordering::Release);
        Ok(())
    }
}

/// How a write is recorded.
#[derive(Clone)]
pub enum Recording {
    /// With the request's event, in the write's transaction.
    Event(Arc<Draft>),
    /// Not at all: a job the operator runs (import, sample data, start-up artefacts), outside any
    /// request.
    Unrecorded,
}

impl Recording {
    /// The recording of one entry of a batch: the same caller and request, the entry's own
    /// interaction and target, so that each write of a batch is its own event.
    pub fn for_entry(&self, entry: &crate::interaction::Request) -> Recording {
        match self {
            Recording::Unrecorded => Recording::Unrecorded,
            Recording::Event(draft) => Recording::Event(Draft::new(
                Arc::clone(&draft.chain),
                Record {
                    interaction: Some(entry.interaction.code().to_owned()),
                    target: entry.target(),
                    ..draft.template.clone()
                },
            )),
        }
    }

    /// Appends the write's event in `tx` (nothing for a job): `written`, and `also` what the write
    /// changed with it (the referral workflow's writes). If the event cannot be stored the write
    /// is not made: the transaction fails with 503.
    pub fn append_in(
        &self,
        tx: &mut dyn Tx,
        status: u16,
        written: &StoredResource,
        also: &[StoredResource],
    ) -> Result<(), Error> {
        let Recording::Event(draft) = self else {
            return Ok(());
        };
        draft.append_in(tx, status, written, also).map_err(|e| {
            tracing::error!(error = %e, "write refused: its audit event could not be stored");
            Error::Unavailable(
                "The write could not be recorded in the audit trail, so it was not made; try again"
                    .into(),
            )
        })
    }
}
