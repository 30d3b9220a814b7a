//! The gate every resource passes on its way out (docs/design.md section 1): one per request, it
//! knows the caller and reads what the consent engine needs (the caller's organisations, the
//! patient's care relationships and consents) from the store, kept between requests only while the
//! store has not changed ([`super::cache`]), so a withdrawn consent or a changed relationship
//! applies at the next request.
//!
//! What it offers the read paths:
//! - [`Gate::admit`]: the body a caller may see of one stored resource (as stored, redacted), or
//!   nothing, in which case the caller must be answered exactly as if the resource did not exist;
//! - [`Gate::scope`]: how to narrow a search in SQL before paging (to the caller's own record, to
//!   patients its organisation is related to, or to nothing), so that totals and pages never count
//!   what the caller could not be related to; `admit` then removes what consent withholds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::policy::{Remit, remit};
use super::relationships::{related, restrict};
use super::subscriber::{SUBSCRIBER_TAG, subscribed_by};
use crate::auth::scopes::{Context as ScopeContext, Permission, ScopeAccess};
use crate::auth::{Principal, Role};
use crate::consent::Rule;
use crate::consent::decision::{self, Access, Decision, patient_of, patient_param};
use crate::consent::verdict::{BREAK_GLASS, needed_relationships};
use crate::consent::{ConsentRecord, Context, Facts, Policy, Recipient, Vocabulary};
use crate::error::Error;
use crate::fhir::ResourceType;
use crate::fhir::ids::{OrganizationId, PatientId};
use crate::fhir::instant::now_ms;
use crate::fhir::ods::OdsCode;
use crate::search::{Filter, ParseOptions, Predicate, SearchQuery, SystemMatch};
use crate::store::{Store, StoredResource};

/// How a search must be narrowed for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Not at all (system tokens, the directory, auditors on the audit trail).
    All,
    /// To these patients' resources (a patient's own record).
    Patient(String),
    /// To patients related to the caller's organisations as its role needs.
    Related,
    /// To the Subscriptions of the caller's organisations.
    Subscriber,
    /// Nothing can be visible.
    Nothing,
}

/// What the engine knows of one patient during a request.
#[derive(Debug)]
struct PatientFacts {
    related: bool,
    consents: Arc<Vec<ConsentRecord>>,
}

/// The deployment's consent settings and the facts cache, shared by every request.
#[derive(Clone)]
pub struct ConsentSettings {
    /// The deployment policy.
    pub policy: Arc<Policy>,
    /// The codes the engine recognises.
    pub vocab: Arc<Vocabulary>,
    /// Facts read from the store, kept while the store does not change.
    pub cache: Arc<super::cache::FactsCache>,
}

/// One request's access control.
pub struct Gate {
    principal: Arc<Principal>,
    break_glass_reason: Option<String>,
    settings: ConsentSettings,
    store: Store,
    generation: tokio::sync::OnceCell<String>,
    organizations: tokio::sync::OnceCell<Arc<Vec<OrganizationId<'static>>>>,
    facts: Mutex<HashMap<String, Arc<PatientFacts>>>,
    /// What each admitted resource's decision was, by `Type/id/_history/v` (for the audit).
    decided: Mutex<HashMap<String, Noted>>,
    /// What the response disclosed (for the audit).
    disclosures: Mutex<Disclosures>,
    /// The earliest instant at which a decision made for this request could change (a consent
    /// period boundary); `i64::MAX` when none could.
    decided_until: std::sync::atomic::AtomicI64,
    /// Whether a decision of this request has had its trace span: one per request, so that a
    /// search page's twenty decisions do not make twenty spans.
    decision_traced: std::sync::atomic::AtomicBool,
}

/// The audit-relevant part of a decision.
#[derive(Debug, Clone, Default)]
struct Noted {
    patient: Option<String>,
    consent: Option<String>,
    redacted: bool,
    break_glass: bool,
}

/// What one request disclosed, for its audit event (kept with an export file, to be recorded
/// when it is fetched).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Disclosures {
    /// Resources served, in order.
    pub resources: Vec<crate::audit::event::Disclosed>,
    /// Their patients (where the decision needed them).
    pub patients: std::collections::BTreeSet<String>,
    /// The Consents that decided.
    pub consents: std::collections::BTreeSet<String>,
    /// Whether the glass was broken for any of them.
    pub break_glass: bool,
    /// Resources asked for and not shown (hidden, out of scope, deleted unseen), with their
    /// patients: recorded for information governance, never told to the caller.
    pub attempted: Vec<crate::audit::event::Disclosed>,
}

impl Gate {
    /// The gate for `principal` (with the reason it gave for breaking the glass, if any).
    pub fn new(
        principal: Arc<Principal>,
        break_glass_reason: Option<String>,
        settings: ConsentSettings,
        store: Store,
    ) -> Self {
        Gate {
            principal,
            break_glass_reason,
            settings,
            store,
            generation: tokio::sync::OnceCell::new(),
            organizations: tokio::sync::OnceCell::new(),
            facts: Mutex::new(HashMap::new()),
            decided: Mutex::new(HashMap::new()),
            disclosures: Mutex::new(Disclosures::default()),
            decided_until: std::sync::atomic::AtomicI64::new(i64::MAX),
            decision_traced: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The caller.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// The store this gate reads from.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The reason given for breaking the glass, if any.
    pub fn break_glass_reason(&self) -> Option<&str> {
        self.break_glass_reason.as_deref()
    }

    /// Records that the response includes `r` (call where a resource is actually served, not for
    /// every row decided).
    pub fn disclose(&self, r: &StoredResource) {
        let reference = r.version_reference();
        let noted = self
            .decided
            .lock()
            .ok()
            .and_then(|m| m.get(&reference).cloned())
            .unwrap_or_default();
        if let Ok(mut d) = self.disclosures.lock() {
            d.patients.extend(noted.patient.clone());
            d.consents.extend(noted.consent);
            d.break_glass |= noted.break_glass;
            d.resources.push(crate::audit::event::Disclosed {
                reference,
                redacted: noted.redacted,
                patient: noted.patient,
            });
        }
    }

    /// Records that the request asked for `r` and was not shown it: its audit event names the
    /// resource and its patient (read from the version asked for, or, for a deletion, from the
    /// last version before it when the caller supplies it), so information governance can find
    /// the attempt by patient and by record. Nothing of this reaches the caller.
    pub fn attempted(&self, r: &StoredResource) {
        let patient = serde_json::from_str::<Value>(&r.body)
            .ok()
            .and_then(|v| patient_of(r.rtype, &v).map(String::from));
        if let Ok(mut d) = self.disclosures.lock() {
            d.patients.extend(patient.clone());
            d.attempted.push(crate::audit::event::Disclosed {
                reference: r.version_reference(),
                redacted: false,
                patient,
            });
        }
    }

    /// Records that the request wrote `location` (`Type/id/_history/v`, a transaction's entry),
    /// for its audit event.
    pub fn wrote(&self, location: &str) {
        if let Ok(mut d) = self.disclosures.lock() {
            d.resources.push(crate::audit::event::Disclosed {
                reference: location.to_owned(),
                redacted: false,
                patient: None,
            });
        }
    }

    /// Records that the request named `patient` (a search by patient), whatever it found.
    pub fn named_patient(&self, patient: &str) {
        if let Ok(mut d) = self.disclosures.lock() {
            d.patients.insert(patient.to_owned());
        }
    }

    /// What the request disclosed so far.
    pub fn disclosures(&self) -> Disclosures {
        self.disclosures
            .lock()
            .map(|d| d.clone())
            .unwrap_or_default()
    }

    /// Until when every decision this request made holds (`i64::MAX`: none can change by time).
    pub fn decided_until(&self) -> i64 {
        self.decided_until
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The store generation this request reads at (asked once, before any fact), for caches
    /// keyed by it.
    pub async fn reading_generation(&self) -> Result<String, Error> {
        Ok(self.generation().await?.to_owned())
    }

    /// Whether what this caller is shown may be cached: not when the glass is broken (each such
    /// access is decided and recorded on its own).
    pub fn cacheable(&self) -> bool {
        self.principal.purpose != BREAK_GLASS
    }

    /// What the request disclosed since the last call, no longer held by the gate (nor the notes
    /// of the decisions behind it): an export keeps each file's disclosures with the file, and
    /// its memory stays that of one file.
    pub fn take_disclosures(&self) -> Disclosures {
        let taken = self
            .disclosures
            .lock()
            .map(|mut d| std::mem::take(&mut *d))
            .unwrap_or_default();
        // Notes of resources decided but not yet disclosed (the rest of a page) stay.
        if let Ok(mut m) = self.decided.lock() {
            for d in &taken.resources {
                m.remove(&d.reference);
            }
        }
        taken
    }

    /// Records `d` as disclosed by this request: an export file's disclosures, in the event of
    /// its fetch.
    pub fn replay(&self, d: Disclosures) {
        if let Ok(mut mine) = self.disclosures.lock() {
            mine.resources.extend(d.resources);
            mine.patients.extend(d.patients);
            mine.consents.extend(d.consents);
            mine.break_glass |= d.break_glass;
            mine.attempted.extend(d.attempted);
        }
    }

    fn note(&self, r: &StoredResource, noted: Noted) {
        if let Ok(mut m) = self.decided.lock() {
            m.insert(r.version_reference(), noted);
        }
    }

    /// Whether nothing is filtered for this caller (a `system` token without scope constraints):
    /// the read paths then serve stored JSON untouched.
    pub fn unrestricted(&self) -> bool {
        self.principal.role == Role::System && !self.principal.grants.constrained()
    }

    /// Whether `r` lies within the caller's SMART scope constraints for `permission` (always, for
    /// unconstrained scopes). A constraint is a search: `r` must be among its matches. One that is
    /// not a valid search matches nothing.
    async fn in_scope(&self, r: &StoredResource, permission: Permission) -> Result<bool, Error> {
        let grants = &self.principal.grants;
        if !grants.constrained() {
            return Ok(true);
        }
        let context = ScopeContext::of(self.principal.role);
        match grants.access(context, r.rtype.as_str(), permission) {
            ScopeAccess::All => Ok(true),
            ScopeAccess::Nothing => Ok(false),
            ScopeAccess::Matching(sets) => {
                for set in sets {
                    let mut pairs = vec![("_id".to_owned(), r.id.clone())];
                    pairs.extend(set);
                    let Ok(q) = crate::search::parse(r.rtype, &pairs, one_page()) else {
                        continue;
                    };
                    if !self.store.backend().search(&q, 1).await?.is_empty() {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
        }
    }

    /// Sets the generation a resource of this request was read at, when none was read before.
    pub fn seed_generation(&self, generation: String) {
        let _ = self.generation.set(generation);
    }

    /// The store's generation when this request first asked (read before any fact, so that what
    /// is cached under it is at least that fresh).
    async fn generation(&self) -> Result<&str, Error> {
        let g = self
            .generation
            .get_or_try_init(|| async { Ok::<_, Error>(self.store.backend().generation().await?) })
            .await?;
        Ok(g)
    }

    /// The caller's ODS code, borrowed from its token. A token `org` that is not an ODS code is
    /// taken as no organisation: no Organization is looked up for it and no consent naming an ODS
    /// code matches it, so a sharing role sees no patient's data (fail closed), and the request
    /// is still answered (never an error for a token accepted before codes were checked).
    fn ods(&self) -> Option<OdsCode<'_>> {
        OdsCode::parse(self.principal.organization.as_deref()?).ok()
    }

    /// The ids of the Organization resources carrying the caller's ODS code.
    pub async fn organizations(&self) -> Result<&[OrganizationId<'static>], Error> {
        let orgs = self
            .organizations
            .get_or_try_init(|| async {
                let Some(code) = self.ods() else {
                    if self.principal.organization.is_some() {
                        tracing::warn!(
                            "the token's organisation is not an ODS code: taken as none"
                        );
                    }
                    return Ok::<_, Error>(Arc::new(Vec::new()));
                };
                let generation = self.generation().await?;
                let cache = &self.settings.cache;
                if let Some(ids) = cache.organizations(generation, &code) {
                    return Ok(ids);
                }
                let pairs = vec![(
                    "identifier".to_owned(),
                    format!("{}|{code}", crate::fhir::ods::SYSTEM),
                )];
                // Stored ids are FHIR ids (checked when written): none is expected to be left out.
                let ids: Vec<OrganizationId<'static>> = self
                    .ids(ResourceType::Organization, &pairs)
                    .await?
                    .into_iter()
                    .filter_map(|id| OrganizationId::from_string(id).ok())
                    .collect();
                let ids = Arc::new(ids);
                cache.put_organizations(generation, &code, Arc::clone(&ids));
                Ok(ids)
            })
            .await?;
        Ok(orgs.as_slice())
    }

    /// The caller as a writer: bound by the write table ([`super::writes`]) unless it is `system`.
    pub async fn writer(&self) -> Result<super::Writer, Error> {
        let p = &self.principal;
        if p.role == Role::System {
            return Ok(super::Writer::unrestricted());
        }
        let orgs = self.organizations().await?.to_vec();
        Ok(super::Writer::new(p.role, orgs, p.patient.clone()))
    }

    /// Ids of the live resources matching a search (server-built parameters).
    async fn ids(
        &self,
        rtype: ResourceType,
        pairs: &[(String, String)],
    ) -> Result<Vec<String>, Error> {
        let found = matching(&self.store, rtype, pairs).await?;
        Ok(found.into_iter().map(|r| r.id).collect())
    }

    /// How a search of `rtype` is narrowed for this caller: the role's remit
    /// ([`super::policy::remit`]) as SQL.
    pub fn scope(&self, rtype: ResourceType) -> Scope {
        let p = &self.principal;
        match remit(p.role, rtype) {
            Remit::Everything(_) => Scope::All,
            Remit::Nothing(_) => Scope::Nothing,
            Remit::OwnRecord => match &p.patient {
                Some(id) => Scope::Patient(id.clone()),
                None => Scope::Nothing,
            },
            Remit::Related => Scope::Related,
            Remit::OwnSubscriptions => Scope::Subscriber,
        }
    }

    /// Narrows `query` to what the caller could possibly see; `false` when nothing can be.
    pub async fn narrow(&self, query: &mut SearchQuery) -> Result<bool, Error> {
        let param = patient_param(query.rtype);
        match (self.scope(query.rtype), param) {
            (Scope::All, _) => Ok(true),
            (Scope::Subscriber, _) => {
                let orgs = self.organizations().await?;
                let mine: Vec<Predicate> = orgs
                    .iter()
                    .map(|org| Predicate::Token {
                        param: "_tag",
                        system: SystemMatch::Is(SUBSCRIBER_TAG.to_owned()),
                        code: Some(org.to_string()),
                        negate: false,
                    })
                    .collect();
                if mine.is_empty() {
                    return Ok(false);
                }
                query.filters.push(Filter(mine));
                Ok(true)
            }
            (Scope::Nothing, _) | (_, None) => Ok(false),
            (Scope::Patient(id), Some(param)) => {
                let p = if param == "_id" {
                    Predicate::Id(id)
                } else {
                    Predicate::Reference {
                        param,
                        rtype: Some(ResourceType::Patient),
                        id,
                    }
                };
                query.filters.push(Filter(vec![p]));
                Ok(true)
            }
            (Scope::Related, Some(param)) => {
                let orgs = self.organizations().await?.to_vec();
                if orgs.is_empty() {
                    return Ok(false);
                }
                let parties = party_predicates(query.rtype, &orgs);
                if within(query, &parties) {
                    // A worklist (`Task?owner=Organization/<mine>`) or a sender's list: every
                    // row it can match is already one the narrowing admits, and the narrowing's
                    // OR would only keep SQL from using the reference index.
                    return Ok(true);
                }
                restrict(
                    query,
                    param,
                    &orgs,
                    needed_relationships(self.principal.role),
                );
                // A party to a referral sees it (and its Task) whatever became of its
                // relationship with the patient (`consent::decision::decide`).
                if let Some(Filter(alternatives)) = query.filters.last_mut() {
                    alternatives.extend(parties);
                }
                Ok(true)
            }
        }
    }

    /// What the caller may see of `r`: its body as stored, a redacted body, or `None` (invisible:
    /// answer as for a missing resource).
    pub async fn admit(
        &self,
        r: &StoredResource,
    ) -> Result<Option<crate::fhir::body::Body>, Error> {
        self.admit_as(r, Permission::Read).await
    }

    /// [`Gate::admit`] for a resource served by `permission` (search matches are checked against
    /// the caller's search scopes, everything else against its read scopes).
    pub async fn admit_as(
        &self,
        r: &StoredResource,
        permission: Permission,
    ) -> Result<Option<crate::fhir::body::Body>, Error> {
        use crate::fhir::body::Body;
        // Scopes are per type, for every resource served: includes and operation outputs too.
        let context = ScopeContext::of(self.principal.role);
        if !self
            .principal
            .grants
            .allows(context, r.rtype.as_str(), permission)
        {
            return Ok(None);
        }
        if self.unrestricted() {
            return Ok(Some(Body::Raw(r.body.clone())));
        }
        if !self.in_scope(r, permission).await? {
            return Ok(None);
        }
        match remit(self.principal.role, r.rtype) {
            Remit::Everything(_) => return Ok(Some(Body::Raw(r.body.clone()))),
            Remit::Nothing(_) => return Ok(None),
            Remit::OwnRecord | Remit::Related | Remit::OwnSubscriptions => {}
        }
        // Whole decisions (not redactions, not broken glass) are cached per version and caller for
        // the store generation, until a consent period could change them.
        let p = &self.principal;
        let cacheable = p.purpose != BREAK_GLASS;
        let generation = self.generation().await?;
        let key = format!(
            "{}/{}/{}|{}|{}|{}|{}",
            r.rtype,
            r.id,
            r.version,
            p.role,
            p.organization.as_deref().unwrap_or(""),
            p.purpose,
            p.patient.as_deref().unwrap_or("")
        );
        let now = now_ms();
        let cache = &self.settings.cache;
        if cacheable && let Some(hit) = cache.decision(generation, &key, now) {
            self.decided_until
                .fetch_min(hit.valid_until, std::sync::atomic::Ordering::Relaxed);
            self.note(
                r,
                Noted {
                    patient: hit.patient.clone(),
                    consent: hit.consent.clone(),
                    ..Noted::default()
                },
            );
            crate::metrics::global()
                .decision(if hit.visible { "permit" } else { "deny" }, "cached");
            return Ok(hit.visible.then(|| Body::Raw(r.body.clone())));
        }
        let (d, valid_until, patient) = self.decide_until(r, now).await?;
        self.decided_until
            .fetch_min(valid_until, std::sync::atomic::Ordering::Relaxed);
        self.note(
            r,
            Noted {
                patient: patient.clone(),
                consent: d.rule.consent().map(str::to_owned),
                redacted: matches!(d.access, Access::Redacted(_)),
                break_glass: d.break_glass(),
            },
        );
        let whole = match d.access {
            Access::Permit => Some(true),
            Access::Deny => Some(false),
            Access::Redacted(_) => None,
        };
        if cacheable
            && !d.break_glass()
            && let Some(visible) = whole
        {
            cache.put_decision(
                generation,
                &key,
                super::cache::Verdict {
                    visible,
                    valid_until,
                    patient,
                    consent: d.rule.consent().map(str::to_owned),
                },
            );
        }
        Ok(match d.access {
            Access::Permit => Some(Body::Raw(r.body.clone())),
            Access::Redacted(v) => Some(Body::Json(v)),
            Access::Deny => None,
        })
    }

    /// The consent engine's decision on `r` for this caller.
    pub async fn decide(&self, r: &StoredResource) -> Result<Decision, Error> {
        Ok(self.decide_until(r, now_ms()).await?.0)
    }

    /// The decision at `now`, the instant until which the same facts give the same decision, and
    /// the resource's patient.
    async fn decide_until(
        &self,
        r: &StoredResource,
        now: i64,
    ) -> Result<(Decision, i64, Option<String>), Error> {
        // Only under a traced request (`crate::telemetry::child`), and only for its first
        // decision made (not cached): the metrics count every decision.
        let span = crate::telemetry::child(|| {
            if self
                .decision_traced
                .swap(true, std::sync::atomic::Ordering::Relaxed)
            {
                return tracing::Span::none();
            }
            tracing::debug_span!(
                "consent.decide",
                consent.outcome = tracing::field::Empty,
                consent.rule = tracing::field::Empty
            )
        });
        let decided = {
            use tracing::Instrument as _;
            self.decide_uncounted(r, now)
                .instrument(span.clone())
                .await?
        };
        let outcome = match decided.0.access {
            crate::consent::decision::Access::Permit => "permit",
            crate::consent::decision::Access::Redacted(_) => "redact",
            crate::consent::decision::Access::Deny => "deny",
        };
        crate::metrics::global().decision(outcome, decided.0.rule.code());
        span.record("consent.outcome", outcome);
        span.record("consent.rule", decided.0.rule.code());
        Ok(decided)
    }

    async fn decide_uncounted(
        &self,
        r: &StoredResource,
        now: i64,
    ) -> Result<(Decision, i64, Option<String>), Error> {
        let value: Value = serde_json::from_str(&r.body)
            .map_err(|e| Error::internal_from(format!("stored {} is not JSON", r.rtype), e))?;
        let patient = patient_of(r.rtype, &value);
        let p = &self.principal;
        if remit(p.role, r.rtype) == Remit::OwnSubscriptions {
            let own = subscribed_by(&value, self.organizations().await?);
            let rule = if own {
                Rule::OwnSubscription
            } else {
                Rule::OtherSubscriber
            };
            return Ok((Decision::whole(own, rule), i64::MAX, None));
        }
        if let Some(d) = self.without_facts(r.rtype, patient.as_ref()) {
            return Ok((d, i64::MAX, patient.map(String::from)));
        }
        let Some(patient) = patient else {
            return Err(Error::internal("patient data without a patient"));
        };
        let facts = self.facts(&patient).await?;
        let patient_id = Some(patient.to_string());
        let orgs = self.organizations().await?;
        let recipient = Recipient {
            role: p.role,
            ods: self.ods(),
            organizations: orgs,
            purpose: &p.purpose,
            break_glass_reason: self.break_glass_reason.as_deref(),
        };
        let ctx = Context {
            recipient: &recipient,
            facts: Facts {
                related: facts.related,
                consents: &facts.consents,
            },
            policy: &self.settings.policy,
            vocab: &self.settings.vocab,
            now,
        };
        let valid_until = facts
            .consents
            .iter()
            .filter_map(|c| c.root.next_change(now))
            .min()
            .unwrap_or(i64::MAX);
        let d = if r.rtype == ResourceType::Task {
            let referral = self.referral_of(&value, &patient).await?;
            decision::decide_task(&ctx, &value, referral.as_ref())
        } else {
            decision::decide(&ctx, r.rtype, &value)
        };
        Ok((d, valid_until, patient_id))
    }

    /// The decision the role's remit makes alone, where it does: everything or nothing of the
    /// type, the patient's own record, or patient data naming no patient.
    fn without_facts(
        &self,
        rtype: ResourceType,
        patient: Option<&PatientId<'_>>,
    ) -> Option<Decision> {
        let p = &self.principal;
        match remit(p.role, rtype) {
            Remit::Everything(rule) => Some(Decision::whole(true, rule)),
            Remit::Nothing(rule) => Some(Decision::whole(false, rule)),
            Remit::OwnRecord => Some(
                if patient.is_some_and(|id| Some(id.as_str()) == p.patient.as_deref()) {
                    Decision::whole(true, Rule::OwnRecord)
                } else {
                    Decision::whole(false, Rule::NotOwnRecord)
                },
            ),
            Remit::Related if patient.is_none() => Some(Decision::whole(false, Rule::NoPatient)),
            Remit::Related | Remit::OwnSubscriptions => None,
        }
    }

    /// The referral a Task is the fulfilment of, as stored now, if it is held here and is about
    /// the same patient.
    async fn referral_of(
        &self,
        task: &Value,
        patient: &PatientId<'_>,
    ) -> Result<Option<Value>, Error> {
        let Some(id) =
            super::writes::reference(task, "focus").and_then(|r| r.strip_prefix("ServiceRequest/"))
        else {
            return Ok(None);
        };
        let stored = self
            .store
            .backend()
            .read(ResourceType::ServiceRequest, id)
            .await?;
        let Some(sr) = stored.filter(|r| !r.deleted) else {
            return Ok(None);
        };
        let sr: Value = serde_json::from_str(&sr.body)
            .map_err(|e| Error::internal_from("stored ServiceRequest is not JSON", e))?;
        let same = patient_of(ResourceType::ServiceRequest, &sr).as_ref() == Some(patient);
        Ok(same.then_some(sr))
    }

    /// The facts of `patient`, read once per request.
    async fn facts(&self, patient: &PatientId<'_>) -> Result<Arc<PatientFacts>, Error> {
        if let Some(f) = self
            .facts
            .lock()
            .ok()
            .and_then(|m| m.get(patient.as_str()).cloned())
        {
            return Ok(f);
        }
        let orgs = self.organizations().await?;
        let generation = self.generation().await?;
        let cache = &self.settings.cache;
        let links = needed_relationships(self.principal.role);
        let key = format!("{patient}|{}|{}", joined(orgs), self.principal.role);
        let related = match cache.related(generation, &key) {
            Some(r) => r,
            None => {
                let r = related(&self.store, patient, orgs, links).await?;
                cache.put_related(generation, &key, r);
                r
            }
        };
        // Read even when unrelated: a party to a referral is related to it alone, and its
        // consents decide what it sees of it.
        let consents = if let Some(c) = cache.consents(generation, patient.as_str()) {
            c
        } else {
            let c = Arc::new(consents_of(&self.store, patient, &self.settings.vocab).await?);
            cache.put_consents(generation, patient.as_str(), Arc::clone(&c));
            c
        };
        let f = Arc::new(PatientFacts { related, consents });
        if let Ok(mut m) = self.facts.lock() {
            m.insert(patient.to_string(), Arc::clone(&f));
        }
        Ok(f)
    }
}

/// Organization ids joined by commas (cache keys).
fn joined(orgs: &[OrganizationId<'_>]) -> String {
    let mut out = String::new();
    for (i, o) in orgs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(o.as_str());
    }
    out
}

/// Whether a filter of `query` admits only rows one of `parties` admits (each of its alternatives
/// is one of them): then `query` already lies within the caller's narrowing. Only references
/// typed `Organization/<id>` count; a bare id or an identifier could match something else.
fn within(query: &SearchQuery, parties: &[Predicate]) -> bool {
    !parties.is_empty()
        && query.filters.iter().any(|Filter(alternatives)| {
            !alternatives.is_empty() && alternatives.iter().all(|a| parties.contains(a))
        })
}

/// The predicates that find the referrals (or Tasks) `organizations` sent or receive.
fn party_predicates(rtype: ResourceType, organizations: &[OrganizationId<'_>]) -> Vec<Predicate> {
    let params: &[&'static str] = match rtype {
        ResourceType::ServiceRequest => &["requester", "performer"],
        ResourceType::Task => &["requester", "owner"],
        _ => &[],
    };
    params
        .iter()
        .flat_map(|param| {
            organizations.iter().map(|id| Predicate::Reference {
                param,
                rtype: Some(ResourceType::Organization),
                id: id.to_string(),
            })
        })
        .collect()
}

/// The active sharing consents of `patient`.
pub async fn consents_of(
    store: &Store,
    patient: &PatientId<'_>,
    vocab: &Vocabulary,
) -> Result<Vec<ConsentRecord>, Error> {
    let pairs = vec![
        ("patient".to_owned(), format!("Patient/{patient}")),
        ("status".to_owned(), "active".to_owned()),
    ];
    let mut out = Vec::new();
    for r in matching(store, ResourceType::Consent, &pairs).await? {
        let v: Value = serde_json::from_str(&r.body)
            .map_err(|e| Error::internal_from("stored Consent is not JSON", e))?;
        if let Some(c) = ConsentRecord::from_stored(&r.id, &v, vocab) {
            out.push(c);
        }
    }
    Ok(out)
}

/// Every live resource matching a server-built search, fetched in chunks.
async fn matching(
    store: &Store,
    rtype: ResourceType,
    pairs: &[(String, String)],
) -> Result<Vec<StoredResource>, Error> {
    let q = crate::search::parse(rtype, pairs, one_page())?;
    let backend = store.backend();
    let rows = backend.search(&q, usize::MAX).await?;
    let mut out = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(500) {
        out.extend(backend.fetch(chunk).await?.into_iter().map(|(_, r)| r));
    }
    Ok(out)
}

fn one_page() -> ParseOptions {
    ParseOptions {
        lenient: false,
        default_count: 1,
        max_count: 1,
    }
}
