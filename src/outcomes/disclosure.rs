//! Small-number suppression across the whole report, not table by table.
//!
//! The tables publish the same quantities more than once and in sums of one another: `people` is
//! the total of four distributions and every row of the concerns table; the people with a second
//! HNA are the sum of three cells of `hnas_per_person`; the HNAs are the people weighted by how
//! many HNAs each had. Hiding a small cell and one complement in its own table is therefore not
//! enough: with 7 people of whom 6 had a second HNA, the `"<5"` for "1 HNA" is 7 - 6.
//!
//! So every published count is a *quantity* of a [`Ledger`], each printed wherever it appears,
//! and every known identity between quantities is a *relation* (a weighted sum that is zero).
//! [`Ledger::protect`] applies the primary rule (1-4 is hidden), then, while any small count
//! can be computed exactly from the shown ones through the relations (Gaussian elimination over the
//! hidden ones), withholds one more: the smallest shown quantity whose hiding makes it incomputable
//! or, failing a single one, the smallest shown quantity it is related to. Ranges (a hidden count
//! lies in 1-4 by definition) are not protected further, as in the published evaluations.
//!
//! Derived figures (means, shares, rates) are [`Draft::Gated`] on the counts they were computed from,
//! and withheld when any of those is not shown.

use super::render::{Cell, Kind, THRESHOLD, Table};

/// A published (or deliberately unpublished) count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity(usize);

/// How a quantity is printed after protection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Its value.
    Shown,
    /// `"<5"`: a count of 1-4.
    Small,
    /// `"suppressed"`: hidden so that another hidden count cannot be computed.
    Withheld,
}

/// A cell of a table under construction.
#[derive(Debug, Clone)]
pub enum Draft {
    /// A label or a figure with no count behind it.
    Final(Cell),
    /// A count.
    Count(Quantity),
    /// A derived figure, withheld unless every count it depends on is shown.
    Gated(Cell, Vec<Quantity>),
}

/// A table under construction.
#[derive(Debug, Clone)]
pub struct DraftTable {
    /// Its name.
    pub name: &'static str,
    /// Its columns.
    pub columns: Vec<&'static str>,
    /// Its rows.
    pub rows: Vec<Vec<Draft>>,
}

impl DraftTable {
    /// What each column holds, read off the first row.
    fn kinds(&self) -> Vec<Kind> {
        let first = self.rows.first();
        (0..self.columns.len())
            .map(|i| match first.and_then(|r| r.get(i)) {
                Some(Draft::Count(_)) => Kind::Count,
                Some(Draft::Final(Cell::Text(_))) => Kind::Label,
                _ => Kind::Figure,
            })
            .collect()
    }
}

/// The report's quantities and the identities between them.
#[derive(Debug, Default)]
pub struct Ledger {
    values: Vec<u64>,
    published: Vec<bool>,
    /// Each relation: `sum(coefficient * quantity) == 0`.
    relations: Vec<Vec<(usize, f64)>>,
}

/// Coefficients below this are zero (they are small integers and their eliminations).
const EPSILON: f64 = 1e-9;

impl Ledger {
    /// A new published count.
    pub fn count(&mut self, value: u64) -> Quantity {
        self.values.push(value);
        self.published.push(true);
        Quantity(self.values.len() - 1)
    }

    /// A count that appears in no table but in relations (for example, the HNAs of the people with
    /// four or more): always hidden, never withheld to protect another.
    pub fn unpublished(&mut self, value: u64) -> Quantity {
        let q = self.count(value);
        if let Some(p) = self.published.get_mut(q.0) {
            *p = false;
        }
        q
    }

    /// Records `total == sum(weight * part)`.
    pub fn relate(&mut self, total: Quantity, parts: &[(Quantity, u64)]) {
        let mut r = vec![(total.0, -1.0)];
        r.extend(parts.iter().map(|(q, w)| (q.0, *w as f64)));
        self.relations.push(r);
    }

    /// Records that `total` is the sum of `parts`.
    pub fn sum(&mut self, total: Quantity, parts: &[Quantity]) {
        let parts: Vec<(Quantity, u64)> = parts.iter().map(|q| (*q, 1)).collect();
        self.relate(total, &parts);
    }

    /// Decides how every quantity is printed.
    pub fn protect(&self) -> Vec<Visibility> {
        let mut vis: Vec<Visibility> = self
            .values
            .iter()
            .zip(&self.published)
            .map(|(&v, &p)| match v {
                _ if !p => Visibility::Withheld,
                1.. if v < THRESHOLD => Visibility::Small,
                _ => Visibility::Shown,
            })
            .collect();
        // Each round hides one more quantity, so there are at most as many rounds as quantities.
        for _ in 0..self.values.len() {
            let Some(exposed) = self.exposed(&vis) else {
                break;
            };
            let shown = |q: &usize| vis.get(*q) == Some(&Visibility::Shown);
            let by_size = |q: &usize| {
                let v = self.values.get(*q).copied().unwrap_or(0);
                (v == 0, v, *q)
            };
            let mut candidates: Vec<usize> = (0..self.values.len()).filter(shown).collect();
            candidates.sort_unstable_by_key(by_size);
            let single = candidates.iter().copied().find(|&c| {
                let mut trial = vis.clone();
                if let Some(v) = trial.get_mut(c) {
                    *v = Visibility::Withheld;
                }
                !self.computable(&trial, exposed)
            });
            let related = || {
                candidates.iter().copied().find(|c| {
                    self.relations.iter().any(|r| {
                        r.iter().any(|(q, _)| *q == exposed) && r.iter().any(|(q, _)| q == c)
                    })
                })
            };
            match single.or_else(related) {
                Some(c) => {
                    if let Some(v) = vis.get_mut(c) {
                        *v = Visibility::Withheld;
                    }
                }
                // Nothing shown is related to it, yet it is computable: fail closed.
                None => vis.iter_mut().for_each(|v| {
                    if *v == Visibility::Shown {
                        *v = Visibility::Withheld;
                    }
                }),
            }
        }
        vis
    }

    /// The first small count that the shown ones determine exactly. (A withheld complement may
    /// itself be computable; that matters only if it makes a small one computable, which is checked.)
    fn exposed(&self, vis: &[Visibility]) -> Option<usize> {
        (0..self.values.len())
            .find(|&q| vis.get(q) == Some(&Visibility::Small) && self.computable(vis, q))
    }

    /// Whether hidden quantity `target` follows from the shown ones: the unit vector of `target`
    /// lies in the row space of the relations restricted to the hidden quantities, which in reduced
    /// row echelon form means some row is non-zero in `target`'s column only.
    fn computable(&self, vis: &[Visibility], target: usize) -> bool {
        let hidden: Vec<usize> = (0..self.values.len())
            .filter(|q| vis.get(*q) != Some(&Visibility::Shown))
            .collect();
        let Some(col) = hidden.iter().position(|q| *q == target) else {
            return true;
        };
        let mut m: Vec<Vec<f64>> = self
            .relations
            .iter()
            .map(|r| {
                let mut row = vec![0.0; hidden.len()];
                for (q, c) in r {
                    if let Some(slot) = hidden
                        .iter()
                        .position(|h| h == q)
                        .and_then(|i| row.get_mut(i))
                    {
                        *slot += c;
                    }
                }
                row
            })
            .filter(|row| row.iter().any(|x| x.abs() > EPSILON))
            .collect();
        reduce(&mut m, hidden.len());
        m.iter().any(|row| {
            row.iter()
                .enumerate()
                .all(|(j, x)| (j == col) == (x.abs() > EPSILON))
        })
    }

    /// Resolves drafts into printed tables.
    pub fn resolve(&self, tables: Vec<DraftTable>) -> Vec<Table> {
        let vis = self.protect();
        let shown = |q: &Quantity| vis.get(q.0) == Some(&Visibility::Shown);
        let resolve = |d: Draft| match d {
            Draft::Final(c) => c,
            Draft::Count(q) => match (vis.get(q.0), self.values.get(q.0)) {
                (Some(Visibility::Shown), Some(v)) => Cell::Count(*v),
                (Some(Visibility::Small), _) => Cell::Small,
                _ => Cell::Withheld,
            },
            Draft::Gated(c, on) => match c {
                Cell::Num(_) if !on.iter().all(shown) => Cell::Withheld,
                c => c,
            },
        };
        tables
            .into_iter()
            .map(|t| Table {
                name: t.name,
                kinds: t.kinds(),
                columns: t.columns,
                rows: t
                    .rows
                    .into_iter()
                    .map(|r| r.into_iter().map(resolve).collect())
                    .collect(),
            })
            .collect()
    }
}

/// Gauss-Jordan elimination with partial pivoting, in place.
fn reduce(m: &mut [Vec<f64>], cols: usize) {
    let mut lead = 0;
    for col in 0..cols {
        let Some(pivot) = (lead..m.len())
            .filter(|r| {
                m.get(*r)
                    .and_then(|x| x.get(col))
                    .is_some_and(|x| x.abs() > EPSILON)
            })
            .max_by(|a, b| {
                let v = |r: &usize| m.get(*r).and_then(|x| x.get(col)).map_or(0.0, |x| x.abs());
                v(a).total_cmp(&v(b))
            })
        else {
            continue;
        };
        m.swap(lead, pivot);
        let Some(p) = m.get(lead).cloned() else {
            break;
        };
        let scale = p.get(col).copied().unwrap_or(1.0);
        let p: Vec<f64> = p.iter().map(|x| x / scale).collect();
        for (r, row) in m.iter_mut().enumerate() {
            if r == lead {
                row.clone_from(&p);
                continue;
            }
            let f = row.get(col).copied().unwrap_or(0.0);
            if f.abs() > EPSILON {
                for (x, y) in row.iter_mut().zip(&p) {
                    *x -= f * y;
                }
            }
        }
        lead += 1;
        if lead == m.len() {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vis(l: &Ledger, qs: &[Quantity]) -> Vec<Visibility> {
        let v = l.protect();
        qs.iter().filter_map(|q| v.get(q.0).copied()).collect()
    }

    use Visibility::{Shown, Small, Withheld};

    #[test]
    fn one_small_cell_of_a_distribution_takes_the_smallest_other_with_it() {
        let mut l = Ledger::default();
        let cells: Vec<Quantity> = [3, 10, 7, 0].iter().map(|n| l.count(*n)).collect();
        let total = l.count(20);
        l.sum(total, &cells);
        let mut all = cells.clone();
        all.push(total);
        assert_eq!(vis(&l, &all), [Small, Shown, Withheld, Shown, Shown]);
    }

    #[test]
    fn two_small_cells_protect_each_other() {
        let mut l = Ledger::default();
        let cells: Vec<Quantity> = [3, 10, 2].iter().map(|n| l.count(*n)).collect();
        let total = l.count(15);
        l.sum(total, &cells);
        assert_eq!(vis(&l, &cells), [Small, Shown, Small]);
    }

    /// The case that table-by-table suppression misses: 7 people, 6 of them with a second HNA.
    #[test]
    fn a_partial_sum_published_elsewhere_is_taken_into_account() {
        let mut l = Ledger::default();
        let people = l.count(7);
        let per: Vec<Quantity> = [1, 5, 1, 0].iter().map(|n| l.count(*n)).collect();
        let second = l.count(6);
        l.sum(people, &per);
        l.sum(second, per.get(1..).unwrap_or_default());
        let v = vis(&l, &[people, per[0], per[1], per[2], per[3], second]);
        assert_eq!(v, [Shown, Small, Shown, Small, Shown, Withheld]);
        // Unprotected, both "<5" cells would follow: 7 - 6 and 6 - 5 - 0.
    }

    #[test]
    fn a_weighted_total_is_a_relation_too() {
        let mut l = Ledger::default();
        let people = l.count(7);
        let per: Vec<Quantity> = [1, 5, 1].iter().map(|n| l.count(*n)).collect();
        let hnas = l.count(14);
        l.sum(people, &per);
        l.relate(hnas, &[(per[0], 1), (per[1], 2), (per[2], 3)]);
        // c1 + c3 = 2 and c1 + 3 c3 = 4 give c3 = 1: the 5 must go as well.
        assert_eq!(
            vis(&l, &[people, per[0], per[1], per[2], hnas]),
            [Shown, Small, Withheld, Small, Shown]
        );
    }

    #[test]
    fn unpublished_quantities_hide_their_relation() {
        let mut l = Ledger::default();
        let shown = l.count(10);
        let small = l.count(2);
        let rest = l.unpublished(30);
        let total = l.count(42);
        l.sum(total, &[shown, small, rest]);
        assert_eq!(vis(&l, &[shown, small, total]), [Shown, Small, Shown]);
    }

    #[test]
    fn derived_figures_follow_their_counts() {
        let mut l = Ledger::default();
        let a = l.count(3);
        let b = l.count(9);
        let t = l.count(12);
        l.sum(t, &[a, b]);
        let tables = l.resolve(vec![DraftTable {
            name: "t",
            columns: vec!["a", "b", "share"],
            rows: vec![vec![
                Draft::Count(a),
                Draft::Count(b),
                Draft::Gated(Cell::Num(25.0), vec![a, b]),
            ]],
        }]);
        let row = tables.first().and_then(|t| t.rows.first()).cloned();
        assert_eq!(row, Some(vec![Cell::Small, Cell::Withheld, Cell::Withheld]));
    }
}
