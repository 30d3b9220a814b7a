//! The referral tables, in the report's one [`Ledger`] so that the same suppression holds across
//! them and the HNA tables (see [`crate::outcomes::disclosure`]):
//!
//! - `referral_population`: `referrals`, and `people` (the distinct Patients referred);
//! - `referrals_by_source_type` / `referrals_by_destination_type`: referrals by the `type` of the
//!   requester Organization / of the first performer (`unknown` when it has none); each adds up
//!   to `referrals`. (`referrals_by_destination`, earlier in the report, counts the referral
//!   *activities* of care plans, not ServiceRequests.)
//! - `referrals_by_concern_domain`: referrals by the catalogue domain of the concerns coded in
//!   `reasonCode`, `not coded` when none is. A referral with concerns in two domains counts once in
//!   each (twice in all), one with two concerns of a domain once in it: the rows do not add up to
//!   `referrals`, and no total is claimed for them;
//! - `referral_outcomes`: per outcome (see [`super`]) the referrals and their share of all of them.
//!   `rejected`, `cancelled`, `completed`, `failed` and `open` add up to `referrals`; `accepted`
//!   overlaps them (accepted, then completed, counts in both);
//! - `referral_days`: the median days from `authoredOn` to acceptance, over the referrals ever
//!   accepted, and to completion, over the completed ones (each beside its group's count).

use std::collections::HashSet;

use super::{Outcome, Referral, Referrals};
use crate::hna::catalogue::DOMAINS;
use crate::outcomes::disclosure::{Draft, DraftTable, Ledger, Quantity};
use crate::outcomes::render::Cell;
use crate::outcomes::tables::{labelled, ordered, text};

/// The label of referrals that code no catalogue concern.
pub const NOT_CODED: &str = "not coded";

const DAY_MS: f64 = 86_400_000.0;

/// Adds the referral tables of `r` to `tables`, their counts to `l`.
pub fn push(l: &mut Ledger, r: &Referrals, tables: &mut Vec<DraftTable>) {
    let list = &r.list;
    let referrals = l.count(list.len() as u64);
    let people: HashSet<&str> = list
        .iter()
        .filter_map(|x| x.facts.patient.as_deref())
        .collect();
    let people = l.count(people.len() as u64);
    tables.push(DraftTable {
        name: "referral_population",
        columns: vec!["measure", "value"],
        rows: vec![
            vec![text("referrals"), Draft::Count(referrals)],
            vec![text("people"), Draft::Count(people)],
        ],
    });

    let type_of = |id: &Option<String>| {
        id.as_ref()
            .and_then(|o| r.org_types.get(o))
            .cloned()
            .unwrap_or_else(|| "unknown".to_owned())
    };
    for (name, column, orgs) in [
        (
            "referrals_by_source_type",
            "source_type",
            list.iter()
                .map(|x| type_of(&x.facts.requester))
                .collect::<Vec<_>>(),
        ),
        (
            "referrals_by_destination_type",
            "destination_type",
            list.iter().map(|x| type_of(&x.facts.performer)).collect(),
        ),
    ] {
        let (t, _) = labelled(
            l,
            name,
            [column, "referrals"],
            &ordered(&[], orgs),
            Some(referrals),
        );
        tables.push(t);
    }

    let mut by_domain: Vec<(String, u64)> = DOMAINS
        .iter()
        .map(|(code, _)| ((*code).to_owned(), 0))
        .collect();
    let mut not_coded = 0;
    for x in list {
        for d in &x.facts.domains {
            if let Some((_, n)) = by_domain.get_mut(usize::from(*d)) {
                *n += 1;
            }
        }
        not_coded += u64::from(x.facts.domains.is_empty());
    }
    by_domain.push((NOT_CODED.to_owned(), not_coded));
    let (t, _) = labelled(
        l,
        "referrals_by_concern_domain",
        ["concern_domain", "referrals"],
        &by_domain,
        None,
    );
    tables.push(t);

    let (accepted, completed) = outcomes(l, list, referrals, tables);
    tables.push(days(list, accepted, completed));
}

/// The outcome table; returns the quantities of `accepted` and `completed`.
fn outcomes(
    l: &mut Ledger,
    list: &[Referral],
    referrals: Quantity,
    tables: &mut Vec<DraftTable>,
) -> (Quantity, Quantity) {
    let count = |o: Outcome| list.iter().filter(|x| x.outcome == o).count() as u64;
    let ended = [
        ("rejected", count(Outcome::Rejected)),
        ("cancelled", count(Outcome::Cancelled)),
        ("completed", count(Outcome::Completed)),
        ("failed", count(Outcome::Failed)),
        ("open", count(Outcome::Open)),
    ];
    let accepted = list.iter().filter(|x| x.accepted_ms.is_some()).count() as u64;
    let rows: Vec<(String, u64)> = std::iter::once(("accepted", accepted))
        .chain(ended)
        .map(|(k, n)| (k.to_owned(), n))
        .collect();
    let (mut t, qs) = labelled(
        l,
        "referral_outcomes",
        ["outcome", "referrals"],
        &rows,
        None,
    );
    l.sum(referrals, qs.get(1..).unwrap_or_default());
    t.columns.push("share_percent");
    let total = list.len() as u64;
    for ((row, q), (_, n)) in t.rows.iter_mut().zip(&qs).zip(&rows) {
        let share = Cell::derived(total, Some(100.0 * *n as f64 / total.max(1) as f64));
        row.push(Draft::Gated(share, vec![*q, referrals]));
    }
    tables.push(t);
    let completed = qs.get(3).copied().unwrap_or(referrals);
    (qs.first().copied().unwrap_or(referrals), completed)
}

/// The median days to acceptance and to completion.
fn days(list: &[Referral], accepted: Quantity, completed: Quantity) -> DraftTable {
    let since = |at: fn(&Referral) -> Option<i64>| {
        let mut d: Vec<f64> = list
            .iter()
            .filter_map(|x| Some((at(x)? - x.facts.authored_ms) as f64 / DAY_MS))
            .collect();
        d.sort_unstable_by(f64::total_cmp);
        let n = d.len() as u64;
        (n, median(&d))
    };
    let (n_acc, to_acceptance) = since(|x| x.accepted_ms);
    let (n_comp, to_completion) = since(|x| x.completed_ms);
    DraftTable {
        name: "referral_days",
        columns: vec![
            "accepted",
            "median_days_to_acceptance",
            "completed",
            "median_days_to_completion",
        ],
        rows: vec![vec![
            Draft::Count(accepted),
            Draft::Gated(Cell::derived(n_acc, to_acceptance), vec![accepted]),
            Draft::Count(completed),
            Draft::Gated(Cell::derived(n_comp, to_completion), vec![completed]),
        ]],
    }
}

/// Median of sorted values (the mean of the two middle ones for an even count).
fn median(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => sorted.get(n / 2).copied(),
        _ => Some((sorted.get(n / 2 - 1)? + sorted.get(n / 2)?) / 2.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcomes::referrals::ReferralFacts;

    /// A referral made on day 0, accepted on `accepted_day`, completed the day after if completed.
    fn referral(domains: &[u8], outcome: Outcome, accepted_day: Option<i64>) -> Referral {
        Referral {
            facts: ReferralFacts {
                day: 0,
                authored_ms: 0,
                patient: Some("p".into()),
                requester: Some("a".into()),
                performer: None,
                domains: domains.to_vec(),
            },
            outcome,
            accepted_ms: accepted_day.map(|d| d * 86_400_000),
            completed_ms: accepted_day
                .filter(|_| outcome == Outcome::Completed)
                .map(|d| (d + 1) * 86_400_000),
        }
    }

    fn value(
        tables: &[crate::outcomes::render::Table],
        table: &str,
        row: usize,
        col: usize,
    ) -> Cell {
        tables
            .iter()
            .find(|t| t.name == table)
            .and_then(|t| t.rows.get(row)?.get(col).cloned())
            .unwrap_or(Cell::Missing)
    }

    #[test]
    fn a_referral_counts_once_in_each_of_its_domains_and_suppression_spans_the_tables() {
        let mut list: Vec<Referral> = (0..6)
            .map(|i| referral(&[0, 1], Outcome::Completed, Some(i)))
            .collect();
        list.push(referral(&[], Outcome::Rejected, None));
        let r = Referrals {
            list,
            org_types: [("a".to_owned(), "gp".to_owned())].into(),
        };
        let (mut l, mut drafts) = (Ledger::default(), Vec::new());
        push(&mut l, &r, &mut drafts);
        let t = l.resolve(drafts);
        // physical 6, practical 6, not coded 1: no total, so nothing else is withheld.
        assert_eq!(
            value(&t, "referrals_by_concern_domain", 0, 1),
            Cell::Count(6)
        );
        assert_eq!(
            value(&t, "referrals_by_concern_domain", 1, 1),
            Cell::Count(6)
        );
        assert_eq!(value(&t, "referrals_by_concern_domain", 6, 1), Cell::Small);
        // 7 referrals = 1 rejected + 6 completed: the 6 goes with the "<5", and its share.
        assert_eq!(value(&t, "referral_outcomes", 1, 1), Cell::Small);
        assert_eq!(value(&t, "referral_outcomes", 3, 1), Cell::Withheld);
        assert_eq!(value(&t, "referral_outcomes", 3, 2), Cell::Withheld);
        // Accepted (6, days 0-5) is no part of the sum: shown, with its median.
        assert_eq!(value(&t, "referral_outcomes", 0, 1), Cell::Count(6));
        assert_eq!(value(&t, "referral_days", 0, 1), Cell::Num(2.5));
        // The completed count is withheld wherever it appears, so is anything computed from it.
        assert_eq!(value(&t, "referral_days", 0, 2), Cell::Withheld);
        assert_eq!(value(&t, "referral_days", 0, 3), Cell::Withheld);
    }

    #[test]
    fn medians_take_the_middle_pair_for_an_even_count() {
        assert_eq!(median(&[1.0, 2.0, 4.0, 9.0]), Some(3.0));
        assert_eq!(median(&[1.0]), Some(1.0));
        assert_eq!(median(&[]), None);
    }
}
