//! The audit event of a write, committed in the write's own store transaction: a write and its
//! event land together or not at all, so no version exists that the trail cannot account for.
//!
//! The audit middleware opens a [`Draft`] for each request (what was asked, by whom once
//! authentication knows) and runs the handler inside [`scope`]; the engine's single-resource
//! writes (create, update, delete and their conditional forms) take it with [`current`] and call
//! [`Draft::append_in`] in their transaction, on this process's writes chain (`<audit_chain>.writes`).
//! The middleware then journals nothing more for the request, unless the response it sends differs
//! from the one recorded. Bundles and `$extract` still have their events journaled after they
//! commit (the response waits for it either way). Jobs outside a request (import, sample data) have
//! no draft and record nothing.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use super::event::{Agent, Disclosed, Record};
use crate::auth::Principal;
use crate::fhir::instant::now_ms;
use crate::store::{StoreError, StoredResource, Tx};

/// Where authentication leaves the verified caller, for the audit of the request.
#[derive(Clone, Default)]
pub struct CallerSlot(Arc<Mutex<Option<Arc<Principal>>>>);

impl CallerSlot {
    /// Records the caller.
    pub fn set(&self, principal: Arc<Principal>) {
        if let Ok(mut s) = self.0.lock() {
            *s = Some(principal);
        }
    }

    /// The caller, once known.
    pub fn get(&self) -> Option<Arc<Principal>> {
        self.0.lock().ok().and_then(|s| s.clone())
    }
}

/// What a request's write event will say, before the write is made.
pub struct Draft {
    chain: Arc<str>,
    method: String,
    path: String,
    query: String,
    caller: CallerSlot,
    /// The status recorded in a write's transaction (0: none yet).
    recorded: AtomicU16,
}

tokio::task_local! {
    static DRAFT: Arc<Draft>;
}

/// Runs `f` (the request's handler) with `draft` as its request's.
pub async fn scope<F: std::future::Future>(draft: Arc<Draft>, f: F) -> F::Output {
    DRAFT.scope(draft, f).await
}

/// The draft of the request being handled, if any.
pub fn current() -> Option<Arc<Draft>> {
    DRAFT.try_with(Arc::clone).ok()
}

impl Draft {
    /// A draft for a request, recorded on `chain`; `query` already sanitised.
    pub fn new(
        chain: Arc<str>,
        method: String,
        path: String,
        query: String,
        caller: CallerSlot,
    ) -> Arc<Draft> {
        Arc::new(Draft {
            chain,
            method,
            path,
            query,
            caller,
            recorded: AtomicU16::new(0),
        })
    }

    /// The request's method, path and query, for its journaled event: taken without copying when
    /// no write holds the draft any more (the usual case once the handler is done).
    pub fn into_request(self: Arc<Self>) -> (String, String, String) {
        match Arc::try_unwrap(self) {
            Ok(d) => (d.method, d.path, d.query),
            Err(d) => (d.method.clone(), d.path.clone(), d.query.clone()),
        }
    }

    /// The status a write's transaction recorded, if one did.
    pub fn recorded_status(&self) -> Option<u16> {
        match self.recorded.load(Ordering::Acquire) {
            0 => None,
            s => Some(s),
        }
    }

    /// Appends the event of a write answered with `status` that made `written`, in `tx`.
    pub fn append_in(
        &self,
        tx: &mut dyn Tx,
        status: u16,
        written: &StoredResource,
    ) -> Result<(), StoreError> {
        let record = Record {
            recorded: now_ms(),
            method: self.method.clone(),
            path: self.path.clone(),
            query: self.query.clone(),
            status,
            agent: self.caller.get().map(|p| Agent::of(&p)),
            patients: Vec::new(),
            disclosed: vec![Disclosed {
                reference: format!(
                    "{}/{}/_history/{}",
                    written.rtype, written.id, written.version
                ),
                redacted: false,
                patient: None,
            }],
            consents: Vec::new(),
            break_glass: None,
        };
        tx.append_audit(
            &self.chain,
            record.recorded,
            &record.to_text(),
            &record.keys(),
        )?;
        self.recorded.store(status, Ordering::Release);
        Ok(())
    }
}
