//! The tables, computed in one pass over the cohort's facts. Severities and concern counts are
//! small integers, so means and medians come from histograms rather than sorted copies. Every
//! count goes into a [`Ledger`] with the identities that tie it to the others, which decides what
//! is printed (see [`super::disclosure`]).

use std::collections::{BTreeMap, HashMap};

use super::disclosure::{Draft, DraftTable, Ledger, Quantity};
use super::facts::{HnaFacts, PatientFacts, PlanFacts, age_at};
use super::referrals::Referrals;
use super::render::{Cell, Table};
use crate::hna::catalogue::{DOMAINS, concerns};
use crate::hna::{ACTION_TYPES, POINTS_OF_PATHWAY};

/// Everything the report is computed from.
#[derive(Debug, Default)]
pub struct Cohort {
    /// The HNAs in the period.
    pub hnas: Vec<HnaFacts>,
    /// HNA id -> index in `hnas`.
    pub hna_index: HashMap<String, usize>,
    /// Their patients, by id.
    pub patients: HashMap<String, PatientFacts>,
    /// The care plans citing them (each once).
    pub plans: Vec<PlanFacts>,
    /// Organization id -> type code, for referral performers.
    pub org_types: HashMap<String, String>,
    /// The referrals (ServiceRequests) the organisation sent or received in the period.
    pub referrals: Referrals,
}

/// Age bands at the first HNA (lower bound, label).
const AGE_BANDS: &[(i32, &str)] = &[
    (i32::MIN, "<40"),
    (40, "40-49"),
    (50, "50-59"),
    (60, "60-69"),
    (70, "70-79"),
    (80, "80+"),
];

/// Concern counts and severities of one group of HNAs, for one scope (overall or a domain).
#[derive(Debug, Clone)]
struct Agg {
    people: u64,
    with_concern: u64,
    concerns: Vec<u64>,
    severity: [u64; 11],
}

impl Agg {
    fn new() -> Self {
        Agg {
            people: 0,
            with_concern: 0,
            concerns: vec![0; concerns().len() + 1],
            severity: [0; 11],
        }
    }

    /// Adds one person's HNA, restricted to `domain` (`None`: all).
    fn add(&mut self, hna: &HnaFacts, domain: Option<u8>) {
        let mut n = 0usize;
        for &(d, s) in &hna.concerns {
            if domain.is_none_or(|x| x == d) {
                n += 1;
                if let Some(h) = self.severity.get_mut(usize::from(s)) {
                    *h += 1;
                }
            }
        }
        self.people += 1;
        self.with_concern += u64::from(n > 0);
        let last = self.concerns.len() - 1;
        if let Some(h) = self.concerns.get_mut(n.min(last)) {
            *h += 1;
        }
    }

    /// The group's size (the count `people`, printed from the ledger) and its figures, each
    /// withheld when its own group is under 5.
    fn cells(&self, people: Quantity) -> [Draft; 5] {
        let (cm, cmed) = (hist_mean(&self.concerns), hist_median(&self.concerns));
        let (sm, smed) = (hist_mean(&self.severity), hist_median(&self.severity));
        [
            Draft::Count(people),
            Draft::Final(Cell::derived(self.people, cm)),
            Draft::Final(Cell::derived(self.people, cmed)),
            Draft::Final(Cell::derived(self.with_concern, sm)),
            Draft::Final(Cell::derived(self.with_concern, smed)),
        ]
    }
}

/// Mean of a histogram whose bucket `i` counts the value `i`.
fn hist_mean(hist: &[u64]) -> Option<f64> {
    let n: u64 = hist.iter().sum();
    let sum: f64 = hist
        .iter()
        .enumerate()
        .map(|(i, c)| i as f64 * *c as f64)
        .sum();
    (n > 0).then(|| sum / n as f64)
}

/// Median of such a histogram (the mean of the two middle values for an even count).
fn hist_median(hist: &[u64]) -> Option<f64> {
    let n: u64 = hist.iter().sum();
    if n == 0 {
        return None;
    }
    let nth = |k: u64| {
        let mut seen = 0;
        for (i, c) in hist.iter().enumerate() {
            seen += c;
            if seen > k {
                return i as f64;
            }
        }
        0.0
    };
    Some(if n % 2 == 1 {
        nth(n / 2)
    } else {
        (nth(n / 2 - 1) + nth(n / 2)) / 2.0
    })
}

fn sorted_median(v: &[i64]) -> Option<f64> {
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => v.get(n / 2).map(|x| *x as f64),
        _ => Some((v.get(n / 2 - 1)? + v.get(n / 2)?) as f64 / 2.0),
    }
}

pub(super) fn text(s: &str) -> Draft {
    Draft::Final(Cell::Text(s.to_owned()))
}

/// A labelled distribution: one count per row, which add up to `total` when given.
pub(super) fn labelled(
    ledger: &mut Ledger,
    name: &'static str,
    columns: [&'static str; 2],
    rows: &[(String, u64)],
    total: Option<Quantity>,
) -> (DraftTable, Vec<Quantity>) {
    let counts: Vec<Quantity> = rows.iter().map(|(_, n)| ledger.count(*n)).collect();
    if let Some(t) = total {
        ledger.sum(t, &counts);
    }
    let table = DraftTable {
        name,
        columns: columns.to_vec(),
        rows: rows
            .iter()
            .zip(&counts)
            .map(|((label, _), q)| vec![text(label), Draft::Count(*q)])
            .collect(),
    };
    (table, counts)
}

/// Counts of `items` in the order of `known` (all of them, zero or not), then any others by name.
pub(super) fn ordered(
    known: &[&str],
    items: impl IntoIterator<Item = String>,
) -> Vec<(String, u64)> {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for i in items {
        *counts.entry(i).or_default() += 1;
    }
    let mut rows: Vec<(String, u64)> = known
        .iter()
        .map(|k| ((*k).to_owned(), counts.remove(*k).unwrap_or(0)))
        .collect();
    let unknown = counts.remove("unknown");
    rows.extend(counts);
    rows.push(("unknown".to_owned(), unknown.unwrap_or(0)));
    rows
}

/// Computes every table.
pub fn build(c: &Cohort) -> Vec<Table> {
    let (persons, unattributed) = people_in_order(c);
    let scopes = scopes();
    let mut tally = tally_people(c, &persons, &scopes);
    let (plans, earliest) = plans_citing_hnas(c);

    let mut ledger = Ledger::default();
    let l = &mut ledger;
    let mut tables = Vec::new();

    let (population, totals) = population(l, c, persons.len(), unattributed, plans.len());
    tables.push(population);
    let (per_person, with_second) = hnas_per_person(l, &tally, totals);
    tables.push(per_person);
    tables.push(concerns_and_severity(
        &scopes,
        &mut tally,
        totals.people,
        with_second,
    ));
    tables.push(days_to_care_plan(l, c, &earliest, totals.hnas));
    tables.push(care_plans_shared_with_gp(l, &plans, totals.care_plans));
    let (by_type, referrals) = actions_by_type(l, c, &plans, totals.hnas);
    tables.push(by_type);
    tables.push(referrals_by_destination(l, c, &plans, referrals));
    users_by(l, tally, totals.people, &mut tables);
    super::referrals::tables::push(&mut ledger, &c.referrals, &mut tables);
    ledger.resolve(tables)
}

/// Each person (by id, sorted) with their HNAs in date order, and the count of HNAs with no
/// patient.
fn people_in_order(c: &Cohort) -> (Vec<(&str, Vec<usize>)>, u64) {
    let mut people: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut unattributed = 0u64;
    for (i, h) in c.hnas.iter().enumerate() {
        match &h.patient {
            Some(p) => people.entry(p.as_str()).or_default().push(i),
            None => unattributed += 1,
        }
    }
    let key = |i: &usize| {
        c.hnas
            .get(*i)
            .map(|h| (h.day.unwrap_or(i32::MAX), h.second, *i))
    };
    let mut persons: Vec<(&str, Vec<usize>)> = people.into_iter().collect();
    persons.sort_unstable_by(|a, b| a.0.cmp(b.0));
    for (_, v) in &mut persons {
        v.sort_unstable_by_key(key);
    }
    (persons, unattributed)
}

/// The scopes of the concerns table: overall (`None`), then each domain.
fn scopes() -> Vec<Option<u8>> {
    std::iter::once(None)
        .chain(
            (0..DOMAINS.len())
                .filter_map(|d| u8::try_from(d).ok())
                .map(Some),
        )
        .collect()
}

/// What one pass over the people gathers: per scope, the first HNAs, the first and second of those
/// with two, and the change in concerns; HNAs per person; each user's age band, sex and stage.
struct Tally {
    first: Vec<Agg>,
    paired: Vec<Agg>,
    second: Vec<Agg>,
    change: Vec<Vec<i64>>,
    per_person: [u64; 4],
    hnas_of_four_plus: u64,
    bands: Vec<String>,
    sexes: Vec<String>,
    stages: Vec<String>,
}

/// One pass over the people: HNA counts, first vs second, users.
fn tally_people(c: &Cohort, persons: &[(&str, Vec<usize>)], scopes: &[Option<u8>]) -> Tally {
    let mut t = Tally {
        first: vec![Agg::new(); scopes.len()],
        paired: vec![Agg::new(); scopes.len()],
        second: vec![Agg::new(); scopes.len()],
        change: vec![Vec::<i64>::new(); scopes.len()],
        per_person: [0u64; 4],
        hnas_of_four_plus: 0u64,
        bands: Vec::new(),
        sexes: Vec::new(),
        stages: Vec::new(),
    };
    for (pid, list) in persons {
        if let Some(b) = t.per_person.get_mut(list.len().clamp(1, 4) - 1) {
            *b += 1;
        }
        if list.len() >= 4 {
            t.hnas_of_four_plus += list.len() as u64;
        }
        let Some(f) = list.first().and_then(|i| c.hnas.get(*i)) else {
            continue;
        };
        let s = list.get(1).and_then(|i| c.hnas.get(*i));
        t.add_first_and_second(scopes, f, s);
        let patient = c.patients.get(*pid);
        t.bands.push(age_band(patient, f).to_owned());
        t.sexes
            .push(patient.map_or_else(|| "unknown".to_owned(), |p| p.gender.clone()));
        t.stages
            .push(f.pathway.clone().unwrap_or_else(|| "unknown".to_owned()));
    }
    t
}

impl Tally {
    /// Adds a person's first HNA `f` and, when there is one, their second `s`, in every scope.
    fn add_first_and_second(&mut self, scopes: &[Option<u8>], f: &HnaFacts, s: Option<&HnaFacts>) {
        let span = concerns().len();
        for (k, scope) in scopes.iter().enumerate() {
            if let Some(a) = self.first.get_mut(k) {
                a.add(f, *scope);
            }
            if let (Some(s), Some(p), Some(q), Some(ch)) = (
                s,
                self.paired.get_mut(k),
                self.second.get_mut(k),
                self.change.get_mut(k),
            ) {
                p.add(f, *scope);
                q.add(s, *scope);
                let count = |h: &HnaFacts| {
                    h.concerns
                        .iter()
                        .filter(|(d, _)| scope.is_none_or(|x| x == *d))
                        .count()
                };
                let diff =
                    i64::try_from(count(s)).unwrap_or(0) - i64::try_from(count(f)).unwrap_or(0);
                ch.push(diff.clamp(-(span as i64), span as i64));
            }
        }
    }
}

/// The label of the patient's age band at their first HNA `f`, or `"unknown"`.
fn age_band(patient: Option<&PatientFacts>, f: &HnaFacts) -> &'static str {
    match (patient.and_then(|p| p.birth), f.day) {
        (Some(b), Some(d)) => {
            let age = age_at(b, d);
            AGE_BANDS
                .iter()
                .rev()
                .find(|(lo, _)| age >= *lo)
                .map_or("unknown", |(_, l)| l)
        }
        _ => "unknown",
    }
}

/// The care plans citing an HNA of the period, and the earliest plan date for each HNA.
fn plans_citing_hnas(c: &Cohort) -> (Vec<&PlanFacts>, Vec<Option<i32>>) {
    let mut earliest: Vec<Option<i32>> = vec![None; c.hnas.len()];
    let plans: Vec<&PlanFacts> = c
        .plans
        .iter()
        .filter(|p| p.hnas.iter().any(|h| c.hna_index.contains_key(h)))
        .collect();
    for p in &plans {
        for i in p.hnas.iter().filter_map(|h| c.hna_index.get(h)) {
            if let (Some(e), Some(created)) = (earliest.get_mut(*i), p.created) {
                *e = Some(e.map_or(created, |x| x.min(created)));
            }
        }
    }
    (plans, earliest)
}

/// The totals the other tables are tied to in the ledger.
#[derive(Clone, Copy)]
struct Totals {
    hnas: Quantity,
    people: Quantity,
    care_plans: Quantity,
    without_patient: Quantity,
}

/// The `population` table: HNAs, people, HNAs without a patient, care plans.
fn population(
    l: &mut Ledger,
    c: &Cohort,
    persons: usize,
    unattributed: u64,
    plans: usize,
) -> (DraftTable, Totals) {
    let hnas = l.count(c.hnas.len() as u64);
    let people = l.count(persons as u64);
    let without_patient = l.count(unattributed);
    let care_plans = l.count(plans as u64);
    let table = DraftTable {
        name: "population",
        columns: vec!["measure", "value"],
        rows: vec![
            vec![text("hnas"), Draft::Count(hnas)],
            vec![text("people"), Draft::Count(people)],
            vec![text("hnas_without_patient"), Draft::Count(without_patient)],
            vec![text("care_plans"), Draft::Count(care_plans)],
        ],
    };
    let totals = Totals {
        hnas,
        people,
        care_plans,
        without_patient,
    };
    (table, totals)
}

/// The `hnas_per_person` table, and the count of people with a second HNA it implies.
fn hnas_per_person(l: &mut Ledger, tally: &Tally, totals: Totals) -> (DraftTable, Quantity) {
    let labels = ["1", "2", "3", "4+"];
    let (t, per) = labelled(
        l,
        "hnas_per_person",
        ["hnas", "people"],
        &labels
            .iter()
            .zip(tally.per_person)
            .map(|(l, n)| ((*l).to_owned(), n))
            .collect::<Vec<_>>(),
        Some(totals.people),
    );
    // The HNAs are the people weighted by their number of HNAs; those of the people with four or
    // more are not published, but are known to be none when nobody had four.
    let mut weighted = vec![(totals.without_patient, 1)];
    weighted.extend(per.iter().take(3).zip(1..).map(|(q, w)| (*q, w)));
    if tally.hnas_of_four_plus > 0 {
        weighted.push((l.unpublished(tally.hnas_of_four_plus), 1));
    }
    l.relate(totals.hnas, &weighted);
    let with_second = l.count(tally.per_person.iter().skip(1).sum());
    l.sum(with_second, per.get(1..).unwrap_or_default());
    (t, with_second)
}

/// The `concerns_and_severity` table: one row per scope, first and second HNAs and the change.
fn concerns_and_severity(
    scopes: &[Option<u8>],
    tally: &mut Tally,
    people: Quantity,
    with_second: Quantity,
) -> DraftTable {
    let mut rows = Vec::new();
    for (k, scope) in scopes.iter().enumerate() {
        let (Some(f), Some(p), Some(s), Some(ch)) = (
            tally.first.get(k),
            tally.paired.get(k),
            tally.second.get(k),
            tally.change.get_mut(k),
        ) else {
            continue;
        };
        ch.sort_unstable();
        let label = scope
            .and_then(|d| DOMAINS.get(usize::from(d)))
            .map_or("overall", |(code, _)| code);
        let mut row = vec![text(label)];
        row.extend(f.cells(people));
        row.extend(s.cells(with_second));
        row.extend(change_cells(p, s, ch));
        rows.push(row);
    }
    DraftTable {
        name: "concerns_and_severity",
        columns: vec![
            "scope",
            "first_people",
            "first_concerns_mean",
            "first_concerns_median",
            "first_severity_mean",
            "first_severity_median",
            "second_people",
            "second_concerns_mean",
            "second_concerns_median",
            "second_severity_mean",
            "second_severity_median",
            "change_concerns_mean",
            "change_concerns_median",
            "change_severity_mean",
            "change_severity_median",
        ],
        rows,
    }
}

/// The change columns of a scope: in concerns (`ch`, sorted) and in severity from the first
/// (`p`) to the second (`s`) HNA of the people who had two.
fn change_cells(p: &Agg, s: &Agg, ch: &[i64]) -> [Draft; 4] {
    let n = s.people;
    let mean_change = ch.iter().sum::<i64>() as f64 / ch.len().max(1) as f64;
    let sev_n = s.with_concern.min(p.with_concern);
    let diff = |a: Option<f64>, b: Option<f64>| Some(a? - b?);
    [
        Cell::derived(n, Some(mean_change)),
        Cell::derived(n, sorted_median(ch)),
        Cell::derived(sev_n, diff(hist_mean(&s.severity), hist_mean(&p.severity))),
        Cell::derived(
            sev_n,
            diff(hist_median(&s.severity), hist_median(&p.severity)),
        ),
    ]
    .map(Draft::Final)
}

/// The `days_to_care_plan` table: from each HNA to the earliest plan citing it.
fn days_to_care_plan(
    l: &mut Ledger,
    c: &Cohort,
    earliest: &[Option<i32>],
    hnas: Quantity,
) -> DraftTable {
    let mut days: Vec<i64> = c
        .hnas
        .iter()
        .zip(earliest)
        .filter_map(|(h, e)| Some(i64::from((*e)? - h.day?)))
        .collect();
    days.sort_unstable();
    let n = days.len() as u64;
    let with_plan = l.count(n);
    let without_plan = l.count(c.hnas.len() as u64 - n);
    l.sum(hnas, &[with_plan, without_plan]);
    let mean = (n > 0).then(|| days.iter().sum::<i64>() as f64 / n as f64);
    DraftTable {
        name: "days_to_care_plan",
        columns: vec![
            "hnas_with_plan",
            "hnas_without_plan",
            "mean_days",
            "median_days",
        ],
        rows: vec![vec![
            Draft::Count(with_plan),
            Draft::Count(without_plan),
            Draft::Gated(Cell::derived(n, mean), vec![with_plan]),
            Draft::Gated(Cell::derived(n, sorted_median(&days)), vec![with_plan]),
        ]],
    }
}

/// The `care_plans_shared_with_gp` table.
fn care_plans_shared_with_gp(
    l: &mut Ledger,
    plans: &[&PlanFacts],
    care_plans: Quantity,
) -> DraftTable {
    let n = plans.iter().filter(|p| p.shared_gp).count() as u64;
    let total = plans.len() as u64;
    let shared = l.count(n);
    let not_shared = l.count(total - n);
    l.sum(care_plans, &[shared, not_shared]);
    let share = (total > 0).then(|| 100.0 * n as f64 / total as f64);
    DraftTable {
        name: "care_plans_shared_with_gp",
        columns: vec!["care_plans", "shared", "not_shared", "share_percent"],
        rows: vec![vec![
            Draft::Count(care_plans),
            Draft::Count(shared),
            Draft::Count(not_shared),
            Draft::Gated(Cell::derived(total, share), vec![shared, not_shared]),
        ]],
    }
}

/// The `actions_by_type` table with a rate per HNA, and the count of referral actions in it.
fn actions_by_type(
    l: &mut Ledger,
    c: &Cohort,
    plans: &[&PlanFacts],
    hnas: Quantity,
) -> (DraftTable, Option<Quantity>) {
    let known: Vec<&str> = ACTION_TYPES.iter().map(|(c, _)| *c).collect();
    let by_type = ordered(&known, activities(plans).map(|(k, _)| k.clone()));
    let (mut t, actions) = labelled(
        l,
        "actions_by_type",
        ["action_type", "actions"],
        &by_type,
        None,
    );
    t.columns.push("per_hna");
    let all = c.hnas.len() as u64;
    for ((row, q), (_, n)) in t.rows.iter_mut().zip(&actions).zip(&by_type) {
        let rate = Cell::derived(all, Some(*n as f64 / all.max(1) as f64));
        row.push(Draft::Gated(rate, vec![*q, hnas]));
    }
    let referrals = by_type
        .iter()
        .zip(&actions)
        .find(|((k, _), _)| k == "referral")
        .map(|(_, q)| *q);
    (t, referrals)
}

/// The plans' actions: (type, performer organisation).
fn activities<'a>(
    plans: &'a [&PlanFacts],
) -> impl Iterator<Item = &'a (String, Option<String>)> + 'a {
    plans.iter().flat_map(|p| p.activities.iter())
}

/// The `referrals_by_destination` table: referral actions by the performer's organisation type,
/// adding up to `referrals` when known.
fn referrals_by_destination(
    l: &mut Ledger,
    c: &Cohort,
    plans: &[&PlanFacts],
    referrals: Option<Quantity>,
) -> DraftTable {
    let destinations = activities(plans)
        .filter(|(k, _)| k == "referral")
        .map(|(_, org)| {
            org.as_ref()
                .and_then(|o| c.org_types.get(o))
                .cloned()
                .unwrap_or_else(|| "unknown".to_owned())
        });
    let (t, _) = labelled(
        l,
        "referrals_by_destination",
        ["destination", "referrals"],
        &ordered(&[], destinations),
        referrals,
    );
    t
}

/// The users tables (by age band, sex and pathway stage), each adding up to `people`.
fn users_by(l: &mut Ledger, tally: Tally, people: Quantity, tables: &mut Vec<DraftTable>) {
    let band_labels: Vec<&str> = AGE_BANDS.iter().map(|(_, l)| *l).collect();
    let stage_labels: Vec<&str> = POINTS_OF_PATHWAY.iter().map(|(c, _)| *c).collect();
    for (name, key, rows) in [
        (
            "users_by_age_band",
            "age_band",
            ordered(&band_labels, tally.bands),
        ),
        (
            "users_by_sex",
            "sex",
            ordered(&["female", "male", "other"], tally.sexes),
        ),
        (
            "users_by_pathway_stage",
            "pathway_stage",
            ordered(&stage_labels, tally.stages),
        ),
    ] {
        let (t, _) = labelled(l, name, [key, "people"], &rows, Some(people));
        tables.push(t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_statistics() {
        assert_eq!(hist_mean(&[0, 2, 0, 2]), Some(2.0));
        assert_eq!(hist_median(&[0, 2, 0, 2]), Some(2.0));
        assert_eq!(hist_median(&[0, 1, 1, 1]), Some(2.0));
        assert_eq!(hist_median(&[]), None);
        assert_eq!(sorted_median(&[-1, 3]), Some(1.0));
    }
}
