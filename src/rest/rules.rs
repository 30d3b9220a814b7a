//! The rules applied to every write before its store transaction (here, in the interactions' layer,
//! because they read the store and span HNAs, referrals, cohorts and subscriptions): responses are checked against their Questionnaire
//! ([`crate::hna::questionnaire_check`]), PCSP care plans against their profile
//! ([`crate::hna::pcsp_check`], plus reference resolution here), and every other care plan for
//! domain extensions contradicting their activity's concern ([`crate::hna::domain`], the one check
//! the PCSP rules run too), and referrals and their Tasks against the referral profiles
//! ([`crate::referral::shape`]), evaluation cohort Groups against their definition
//! ([`crate::hna::cohort`]), and Subscriptions against the topics and channel rules
//! ([`crate::subscription`]). Every way a resource is written (create, update, their conditional
//! forms, transaction and batch entries, `$extract`) passes through [`check`].
//!
//! Decisions:
//! - A response naming a Questionnaire this server does not hold is refused (422): we cannot check
//!   it, and an unchecked HNA would reach the outcome tables. A response without `questionnaire`
//!   passes (it claims nothing to check against).
//! - `questionnaire` = `url|version` picks that version; a bare `url` picks the most recently
//!   written Questionnaire with that url.
//! - Compiled Questionnaires are cached per engine ([`Rules`]), keyed by the canonical as written, so
//!   a bulk import pays no store round trip per response. Every Questionnaire write passes through
//!   [`check`] first and drops the cache (a generation counter); because that happens just before
//!   the write commits, an entry is also re-validated against the store at most [`REVALIDATE`] after
//!   it was loaded, which bounds how long a racing reader (or a Questionnaire DELETE, which does not
//!   pass through `check`) can see the previous version.
//! - A Questionnaire written in the same transaction as a response to it is not visible yet: post the
//!   Questionnaire first.
//! - `answerValueSet`s of our own value sets (`{canonical}/ValueSet/<id>`, each holding every code of
//!   `{canonical}/CodeSystem/<id>`) are expanded from the compiled-in vocabulary; other value sets are
//!   not checked.
//! - PCSP references (`detail.performer`, `supportingInfo`) must resolve to a live resource in the
//!   store or to a `fullUrl` of the same transaction; `#contained` ones to a contained resource;
//!   conditional references (`Type?criteria`) are resolved (or refused) by the write itself.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::Engine;
use crate::error::Error;
use crate::fhir::{OutcomeIssue, ResourceType};
use crate::hna::catalogue::{self, DOMAINS};
use crate::hna::domain;
use crate::hna::pcsp_check::{ReferenceToResolve, check_plan};
use crate::hna::questionnaire_check::Compiled;
use crate::hna::{ACTION_TYPES, COMPLETED_BY, Canonical, POINTS_OF_PATHWAY, SETTINGS};
use crate::search::{self, ParseOptions};

/// How long a cached Questionnaire is trusted without asking the store again.
pub const REVALIDATE: Duration = Duration::from_secs(1);

/// How many Questionnaires with one url are considered when no version is given.
const MAX_VERSIONS: usize = 50;

/// One cached compiled Questionnaire.
struct Entry {
    compiled: Arc<Compiled>,
    /// The stored resource it was compiled from, to recompile only when that changed.
    id: String,
    version: u64,
    /// The cache generation when it was loaded.
    generation: u64,
    loaded: Instant,
}

/// The rules' state for one engine: the compiled-Questionnaire cache.
#[derive(Default)]
pub struct Rules {
    generation: AtomicU64,
    cache: RwLock<HashMap<String, Entry>>,
}

impl std::fmt::Debug for Rules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rules")
            .field("generation", &self.generation.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Rules {
    /// Drops every cached Questionnaire (a Questionnaire is being written).
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    fn cached(&self, key: &str) -> Option<Arc<Compiled>> {
        let generation = self.generation.load(Ordering::Acquire);
        let cache = self.cache.read().ok()?;
        cache
            .get(key)
            .filter(|e| e.generation == generation && e.loaded.elapsed() < REVALIDATE)
            .map(|e| Arc::clone(&e.compiled))
    }

    /// The compiled Questionnaire `canonical` names, from the cache or the store; `None` when the
    /// store holds none.
    async fn questionnaire(
        &self,
        engine: &Engine,
        canonical: &str,
    ) -> Result<Option<Arc<Compiled>>, Error> {
        if let Some(hit) = self.cached(canonical) {
            return Ok(Some(hit));
        }
        // Read before the store, so a write that lands meanwhile makes this entry stale.
        let generation = self.generation.load(Ordering::Acquire);
        let Some((id, version, body)) = find_questionnaire(engine, canonical).await? else {
            if let Ok(mut cache) = self.cache.write() {
                cache.remove(canonical);
            }
            return Ok(None);
        };
        let previous = self.cache.read().ok().and_then(|c| {
            c.get(canonical)
                .filter(|e| e.id == id && e.version == version)
                .map(|e| Arc::clone(&e.compiled))
        });
        let compiled = match previous {
            Some(p) => p,
            None => {
                let q: Value = serde_json::from_str(&body)
                    .map_err(|e| Error::internal_from(format!("stored Questionnaire/{id}"), e))?;
                let vocabulary = Vocabulary::new(engine.canonical());
                Arc::new(Compiled::compile(&q, &|vs| vocabulary.expand(vs)))
            }
        };
        if let Ok(mut cache) = self.cache.write() {
            cache.insert(
                canonical.to_owned(),
                Entry {
                    compiled: Arc::clone(&compiled),
                    id,
                    version,
                    generation,
                    loaded: Instant::now(),
                },
            );
        }
        Ok(Some(compiled))
    }
}

/// Our value sets, each every code of the CodeSystem of the same id, from the compiled-in lists.
struct Vocabulary {
    sets: HashMap<String, Vec<(String, String)>>,
}

impl Vocabulary {
    fn new(c: &Canonical) -> Self {
        let pairs = |list: &[(&str, &str)]| -> Vec<String> {
            list.iter().map(|(code, _)| (*code).to_owned()).collect()
        };
        let systems: Vec<(String, Vec<String>)> = vec![
            (
                c.concern_system(),
                catalogue::concerns()
                    .iter()
                    .map(|k| k.code.clone())
                    .collect(),
            ),
            (c.domain_system(), pairs(DOMAINS)),
            (c.action_type_system(), pairs(ACTION_TYPES)),
            (c.pathway_system(), pairs(POINTS_OF_PATHWAY)),
            (c.setting_system(), pairs(SETTINGS)),
            (c.completed_by_system(), pairs(COMPLETED_BY)),
        ];
        let sets = systems
            .into_iter()
            .map(|(system, codes)| {
                let vs = system.replacen("/CodeSystem/", "/ValueSet/", 1);
                let codings = codes.into_iter().map(|k| (system.clone(), k)).collect();
                (vs, codings)
            })
            .collect();
        Vocabulary { sets }
    }

    fn expand(&self, value_set: &str) -> Option<Vec<(String, String)>> {
        let url = value_set.split('|').next().unwrap_or(value_set);
        self.sets.get(url).cloned()
    }
}

/// The stored Questionnaire `canonical` (`url` or `url|version`) names: id, version and body.
async fn find_questionnaire(
    engine: &Engine,
    canonical: &str,
) -> Result<Option<(String, u64, String)>, Error> {
    let (url, version) = match canonical.split_once('|') {
        Some((u, v)) if !v.is_empty() => (u, Some(v)),
        Some((u, _)) => (u, None),
        None => (canonical, None),
    };
    let mut pairs = vec![("url".to_owned(), url.to_owned())];
    if let Some(v) = version {
        pairs.push(("version".to_owned(), v.to_owned()));
    }
    let opts = ParseOptions {
        lenient: false,
        default_count: MAX_VERSIONS,
        max_count: MAX_VERSIONS,
    };
    let Ok(query) = search::parse(ResourceType::Questionnaire, &pairs, opts) else {
        // A canonical the search cannot express names nothing we hold.
        return Ok(None);
    };
    let backend = engine.store().backend();
    let rows = backend.search(&query, MAX_VERSIONS).await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let found = backend.fetch(&rows).await?;
    Ok(found
        .into_iter()
        .map(|(_, r)| r)
        .filter(|r| !r.deleted)
        .max_by_key(|r| r.last_updated)
        .map(|r| (r.id, r.version, r.body)))
}

/// Checks `resource` (already structurally valid) against the HNA/PCSP rules; 422 when it breaks one.
/// `pending` holds the `fullUrl`s written in the same transaction, which references may name (a set:
/// a transaction of a thousand plans would otherwise scan thousands of URLs per reference).
pub async fn check(
    engine: &Engine,
    rtype: ResourceType,
    resource: &Value,
    pending: &HashSet<&str>,
) -> Result<(), Error> {
    match rtype {
        ResourceType::Questionnaire => {
            engine.hna_rules().invalidate();
            Ok(())
        }
        ResourceType::QuestionnaireResponse => check_response(engine, resource).await,
        ResourceType::CarePlan if claims_pcsp(engine.canonical(), resource) => {
            check_care_plan(engine, resource, pending).await
        }
        ResourceType::CarePlan => {
            let c = engine.canonical();
            refuse(domain::plan_contradictions(
                resource,
                &c.concern_system(),
                &c.domain_extension(),
            ))
        }
        ResourceType::Consent => check_consent(engine, resource),
        ResourceType::ServiceRequest => refuse(crate::referral::shape::check_request(
            resource,
            &engine.canonical().concern_system(),
        )),
        ResourceType::Task => refuse(crate::referral::shape::check_task(resource)),
        ResourceType::Group => refuse(crate::hna::cohort::issues(resource, engine.canonical())),
        ResourceType::Subscription => refuse(
            crate::subscription::check(resource, engine.canonical(), engine.channel_rules())
                .err()
                .unwrap_or_default(),
        ),
        _ => Ok(()),
    }
}

/// A sharing consent (scope `patient-privacy`) must be one the consent engine can read exactly
/// (`consent::record`); consents of other scopes govern nothing here and are stored as they are.
fn check_consent(engine: &Engine, consent: &Value) -> Result<(), Error> {
    let privacy = crate::consent::record::has_privacy_scope(consent);
    if !privacy {
        return Ok(());
    }
    match crate::consent::record::parse(consent, &engine.consent().vocab) {
        Ok(_) => Ok(()),
        Err(e) => refuse(vec![
            OutcomeIssue::error("business-rule", e.message).at(e.expression),
        ]),
    }
}

fn refuse(issues: Vec<OutcomeIssue>) -> Result<(), Error> {
    if issues.is_empty() {
        Ok(())
    } else {
        Err(Error::BusinessRule(issues))
    }
}

async fn check_response(engine: &Engine, response: &Value) -> Result<(), Error> {
    let Some(canonical) = response.get("questionnaire").and_then(Value::as_str) else {
        return Ok(());
    };
    match engine.hna_rules().questionnaire(engine, canonical).await? {
        Some(compiled) => refuse(compiled.check(response)),
        None => refuse(vec![
            OutcomeIssue::error(
                "business-rule",
                format!(
                    "Questionnaire {} is not known to this server, so the response cannot be checked",
                    clip(canonical)
                ),
            )
            .at("QuestionnaireResponse.questionnaire"),
        ]),
    }
}

fn claims_pcsp(c: &Canonical, resource: &Value) -> bool {
    let profile = c.pcsp_profile();
    resource
        .get("meta")
        .and_then(|m| m.get("profile"))
        .and_then(Value::as_array)
        .is_some_and(|ps| {
            ps.iter().any(|p| {
                p.as_str()
                    .is_some_and(|p| p.split('|').next() == Some(profile.as_str()))
            })
        })
}

async fn check_care_plan(
    engine: &Engine,
    plan: &Value,
    pending: &HashSet<&str>,
) -> Result<(), Error> {
    let (mut issues, refs) = check_plan(engine.canonical(), plan);
    for r in refs {
        if let Some(problem) = unresolved(engine, plan, &r, pending).await? {
            issues.push(
                OutcomeIssue::error(
                    "not-found",
                    format!("The reference {} {problem}", clip(&r.reference)),
                )
                .at(r.path),
            );
        }
    }
    refuse(issues)
}

/// Why `r` does not resolve, or `None` when it does.
async fn unresolved(
    engine: &Engine,
    plan: &Value,
    r: &ReferenceToResolve,
    pending: &HashSet<&str>,
) -> Result<Option<&'static str>, Error> {
    let reference = r.reference.as_str();
    if reference.contains('?') {
        // Conditional: resolved inside the write's transaction, which refuses it when it matches
        // nothing.
        return Ok(None);
    }
    if let Some(local) = reference.strip_prefix('#') {
        let contained = plan
            .get("contained")
            .and_then(Value::as_array)
            .is_some_and(|cs| {
                cs.iter()
                    .any(|c| c.get("id").and_then(Value::as_str) == Some(local))
            });
        return Ok((!contained).then_some("names no contained resource"));
    }
    if pending.contains(reference) {
        return Ok(None);
    }
    let base = engine.base_url().trim_end_matches('/');
    let relative = match reference
        .strip_prefix(base)
        .and_then(|r| r.strip_prefix('/'))
    {
        Some(rel) => rel,
        None if reference.contains(':') => {
            return Ok(Some(
                "resolves neither to this server nor to an entry of this transaction",
            ));
        }
        None => reference,
    };
    if pending.contains(relative) || pending.contains(format!("{base}/{relative}").as_str()) {
        return Ok(None);
    }
    let mut parts = relative.split('/');
    let (Some(t), Some(id)) = (parts.next(), parts.next()) else {
        return Ok(Some("is not of the form Type/id"));
    };
    let Ok(rtype) = t.parse::<ResourceType>() else {
        return Ok(Some("names a resource type this server does not hold"));
    };
    let live = engine
        .store()
        .backend()
        .read(rtype, id)
        .await?
        .is_some_and(|found| !found.deleted);
    Ok((!live).then_some("does not resolve to a live resource on this server"))
}

fn clip(s: &str) -> String {
    s.chars().take(200).collect()
}

#[cfg(test)]
mod tests {

    use serde_json::json;

    use super::*;

    /// An HNA scoring every one of the 54 concerns, with the closing items.
    fn full_hna(c: &Canonical) -> Value {
        let mut items: Vec<Value> = DOMAINS
            .iter()
            .map(|(d, _)| {
                let scored: Vec<Value> = catalogue::concerns()
                    .iter()
                    .filter(|k| k.domain == *d)
                    .enumerate()
                    .map(|(i, k)| json!({"linkId": k.code, "answer": [{"valueInteger": i % 11}]}))
                    .collect();
                json!({"linkId": d, "item": scored})
            })
            .collect();
        items.push(json!({"linkId": crate::hna::LINK_DISTRESS, "answer": [{"valueInteger": 6}]}));
        items.push(
            json!({"linkId": crate::hna::LINK_WHAT_MATTERS, "answer": [{"valueString": "Family"}]}),
        );
        items.push(json!({"linkId": crate::hna::LINK_PATHWAY, "answer": [{"valueCoding": {"system": c.pathway_system(), "code": "diagnosis"}}]}));
        items.push(json!({"linkId": crate::hna::LINK_SETTING, "answer": [{"valueCoding": {"system": c.setting_system(), "code": "home"}}]}));
        items.push(json!({"linkId": crate::hna::LINK_COMPLETED_BY, "answer": [{"valueCoding": {"system": c.completed_by_system(), "code": "person"}}]}));
        json!({
            "resourceType": "QuestionnaireResponse",
            "questionnaire": c.questionnaire(),
            "status": "completed",
            "subject": {"reference": "Patient/p"},
            "authored": "2026-02-10T14:30:00Z",
            "item": items
        })
    }

    async fn engine(dir: &tempfile::TempDir) -> Engine {
        let engine = crate::config::test_engine(dir.path()).await;
        crate::rest::artefacts::install(&engine)
            .await
            .expect("artefacts");
        engine
    }

    #[tokio::test]
    async fn a_full_hna_passes_and_a_bad_one_is_refused_through_the_cache() {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = engine(&dir).await;
        let hna = full_hna(engine.canonical());
        for _ in 0..3 {
            check(
                &engine,
                ResourceType::QuestionnaireResponse,
                &hna,
                &HashSet::new(),
            )
            .await
            .expect("a full HNA passes");
        }
        let mut bad = hna.clone();
        bad["item"][0]["item"][0]["answer"][0]["valueInteger"] = json!(11);
        match check(
            &engine,
            ResourceType::QuestionnaireResponse,
            &bad,
            &HashSet::new(),
        )
        .await
        {
            Err(Error::BusinessRule(issues)) => assert_eq!(
                issues[0].expression.as_deref(),
                Some("QuestionnaireResponse.item[0].item[0].answer[0].valueInteger")
            ),
            other => panic!("{other:?}"),
        }
    }

    /// A care plan whose fear activity (catalogue: `emotional`) says `practical`, claiming the PCSP
    /// profile or not.
    fn contradicting_plan(c: &Canonical, pcsp: bool) -> Value {
        let activity = |concern: &str, domain: &str| {
            json!({"detail": {
                "extension": [{"url": c.domain_extension(), "valueCoding": {"system": c.domain_system(), "code": domain}}],
                "reasonCode": [{"coding": [{"system": c.concern_system(), "code": concern}]}],
                "code": {"coding": [{"system": c.action_type_system(), "code": "discussion"}]},
                "status": "not-started"}})
        };
        let mut plan = json!({
            "resourceType": "CarePlan", "status": "active", "intent": "plan",
            "category": [{"coding": [{"system": "http://snomed.info/sct", "code": crate::hna::SNOMED_CARE_PLAN}]}],
            "subject": {"reference": "Patient/p"},
            "activity": [activity("housing", "practical"), activity("worry-fear-anxiety", "practical")]
        });
        if pcsp {
            plan["meta"] = json!({"profile": [c.pcsp_profile()]});
        }
        plan
    }

    #[tokio::test]
    async fn a_domain_contradicting_the_concern_is_refused_with_or_without_the_pcsp_profile() {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = engine(&dir).await;
        let c = engine.canonical().clone();
        for pcsp in [false, true] {
            let plan = contradicting_plan(&c, pcsp);
            match check(&engine, ResourceType::CarePlan, &plan, &HashSet::new()).await {
                Err(Error::BusinessRule(issues)) => {
                    let found: Vec<(&str, Option<&str>)> = issues
                        .iter()
                        .map(|i| (i.code, i.expression.as_deref()))
                        .collect();
                    assert_eq!(
                        found,
                        vec![(
                            "business-rule",
                            Some("CarePlan.activity[1].detail.extension[0]")
                        )],
                        "pcsp: {pcsp}"
                    );
                }
                other => panic!("pcsp: {pcsp}: {other:?}"),
            }
            let mut honest = plan.clone();
            honest["activity"][1]["detail"]["extension"][0]["valueCoding"]["code"] =
                json!("emotional");
            check(&engine, ResourceType::CarePlan, &honest, &HashSet::new())
                .await
                .expect("the catalogue's domain passes");
        }
        // No coded concern: whatever the extension says is the activity's domain.
        let mut uncoded = contradicting_plan(&c, false);
        uncoded["activity"][1]["detail"]["reasonCode"][0]["coding"][0]["code"] = json!("hiccups");
        check(&engine, ResourceType::CarePlan, &uncoded, &HashSet::new())
            .await
            .expect("nothing to contradict");
    }
}
