//! What the gate reads from the store about callers and patients (organisation ids by ODS code,
//! care relationships, parsed consents), kept between requests for as long as the store has not
//! changed. Every entry belongs to one store generation ([`crate::store::Backend::generation`]):
//! a request asks for the generation first, and the cache serves and accepts entries only for
//! that generation, dropping everything when it moves. A withdrawn consent or a new referral is
//! a committed write, so it is seen at the next request, whichever gateway process wrote it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::consent::ConsentRecord;
use crate::fhir::ids::OrganizationId;
use crate::fhir::ods::OdsCode;

/// Entries beyond which the cache starts afresh (a bound on memory; reads then refill it).
const CAPACITY: usize = 100_000;

#[derive(Default)]
struct Entries {
    generation: String,
    /// By ODS code.
    organizations: HashMap<String, Arc<Vec<OrganizationId<'static>>>>,
    related: HashMap<String, bool>,
    consents: HashMap<String, Arc<Vec<ConsentRecord>>>,
    decisions: HashMap<String, Verdict>,
    searches: HashMap<String, Found>,
}

/// A search's result as one caller may see it: its visible rows in the order served, whether any
/// was redacted, and until when every decision behind it holds (the next consent period boundary
/// among the rows decided, shown or not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The visible rows, in order.
    pub rows: Arc<Vec<i64>>,
    /// Whether any is shown redacted.
    pub redacted: bool,
    /// Epoch milliseconds after which the search must run again.
    pub valid_until: i64,
}

/// A cached whole-resource decision: visible as stored, or invisible, until an instant (the next
/// start or end of a consent period, when the same facts could decide otherwise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Visible as stored (`true`) or invisible.
    pub visible: bool,
    /// Epoch milliseconds after which the decision must be made again.
    pub valid_until: i64,
    /// The resource's patient (for the audit).
    pub patient: Option<String>,
    /// The Consent that decided (for the audit).
    pub consent: Option<String>,
}

impl Entries {
    fn len(&self) -> usize {
        self.organizations.len()
            + self.related.len()
            + self.consents.len()
            + self.decisions.len()
            + self.searches.len()
    }
}

/// The shared cache (one per engine).
#[derive(Default)]
pub struct FactsCache {
    entries: Mutex<Entries>,
}

impl FactsCache {
    fn with<T>(&self, generation: &str, f: impl FnOnce(&mut Entries) -> T) -> Option<T> {
        let mut e = self.entries.lock().ok()?;
        // Another generation (generations are not ordered: PostgreSQL's are snapshots): whatever is
        // held describes another state of the store. A request still on an older generation thus
        // empties the cache once; entries are only ever served to the generation they were read in.
        if e.generation != generation || e.len() > CAPACITY {
            *e = Entries {
                generation: generation.to_owned(),
                ..Entries::default()
            };
        }
        Some(f(&mut e))
    }

    /// The Organization ids of ODS code `ods`, if cached for `generation`.
    pub fn organizations(
        &self,
        generation: &str,
        ods: &OdsCode<'_>,
    ) -> Option<Arc<Vec<OrganizationId<'static>>>> {
        self.with(generation, |e| e.organizations.get(ods.as_str()).cloned())
            .flatten()
    }

    /// Caches the Organization ids of `ods`.
    pub fn put_organizations(
        &self,
        generation: &str,
        ods: &OdsCode<'_>,
        ids: Arc<Vec<OrganizationId<'static>>>,
    ) {
        self.with(generation, |e| e.organizations.insert(ods.to_string(), ids));
    }

    /// Whether the relationship question `key` was answered yes, if cached.
    pub fn related(&self, generation: &str, key: &str) -> Option<bool> {
        self.with(generation, |e| e.related.get(key).copied())
            .flatten()
    }

    /// Caches an answer to relationship question `key`.
    pub fn put_related(&self, generation: &str, key: &str, related: bool) {
        self.with(generation, |e| e.related.insert(key.to_owned(), related));
    }

    /// The consents of `patient`, if cached.
    pub fn consents(&self, generation: &str, patient: &str) -> Option<Arc<Vec<ConsentRecord>>> {
        self.with(generation, |e| e.consents.get(patient).cloned())
            .flatten()
    }

    /// The decision on resource version and caller `key`, if cached and still valid at `now`.
    pub fn decision(&self, generation: &str, key: &str, now: i64) -> Option<Verdict> {
        self.with(generation, |e| e.decisions.get(key).cloned())
            .flatten()
            .filter(|v| now < v.valid_until)
    }

    /// Caches a decision.
    pub fn put_decision(&self, generation: &str, key: &str, v: Verdict) {
        self.with(generation, |e| e.decisions.insert(key.to_owned(), v));
    }

    /// The result of search `key` (caller and query), if cached and still valid at `now`.
    pub fn search(&self, generation: &str, key: &str, now: i64) -> Option<Found> {
        self.with(generation, |e| e.searches.get(key).cloned())
            .flatten()
            .filter(|f| now < f.valid_until)
    }

    /// Caches a search's result.
    pub fn put_search(&self, generation: &str, key: &str, found: Found) {
        self.with(generation, |e| e.searches.insert(key.to_owned(), found));
    }

    /// Caches the consents of `patient`.
    pub fn put_consents(&self, generation: &str, patient: &str, c: Arc<Vec<ConsentRecord>>) {
        self.with(generation, |e| e.consents.insert(patient.to_owned(), c));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_live_for_one_generation_only() {
        let c = FactsCache::default();
        c.put_related("7", "p1|o1|gp", true);
        assert_eq!(c.related("7", "p1|o1|gp"), Some(true));
        assert_eq!(
            c.related("8", "p1|o1|gp"),
            None,
            "a write moved the generation"
        );
        // An answer read under the old generation, arriving late, is not kept for the new one.
        c.put_related("7", "p1|o1|gp", true);
        assert_eq!(c.related("8", "p1|o1|gp"), None);
    }

    #[test]
    fn a_decision_expires_when_a_consent_period_could_change_it() {
        let c = FactsCache::default();
        let v = Verdict {
            visible: true,
            valid_until: 1_000,
            patient: None,
            consent: None,
        };
        c.put_decision("1", "CarePlan/x/1|gp", v.clone());
        assert_eq!(c.decision("1", "CarePlan/x/1|gp", 999), Some(v));
        assert_eq!(c.decision("1", "CarePlan/x/1|gp", 1_000), None);
        assert_eq!(c.decision("2", "CarePlan/x/1|gp", 0), None);
    }
}
