//! Order statistics of values kept in memory: [`exact_quantiles`] and
//! [`sort_ranks`] (the pilot's window ranks, with [`select_nth`]), the
//! integer keys in `f64::total_cmp` order ([`total_order_key`]), and
//! [`LowestK`], the worst paths.

use std::cmp::Ordering;
use std::ops::AddAssign;

use serde::{Deserialize, Serialize};

use super::PERCENTILES;
use super::select::select_nth;

/// Exact [`PERCENTILES`] of `values` (reordered in place, see [`sort_ranks`]), with
/// type-7 interpolation (numpy's default): rank `r = q (n - 1)`, value
/// `v[floor r] + frac(r) (v[ceil r] - v[floor r])`. NaN if `values` is empty.
pub fn exact_quantiles(values: &mut [f64]) -> [f64; 5] {
    let n = values.len();
    if n == 0 {
        return [f64::NAN; 5];
    }
    let ranges = PERCENTILES.map(|q| {
        let i = (q * (n - 1) as f64).floor() as usize;
        (i, (i + 1).min(n - 1))
    });
    sort_ranks(values, &ranges);
    PERCENTILES.map(|q| {
        let r = q * (n - 1) as f64;
        let i = r.floor() as usize;
        let frac = r - i as f64;
        let (a, b) = (values[i], values[(i + 1).min(n - 1)]);
        if frac == 0.0 || a == b {
            a
        } else {
            a + frac * (b - a)
        }
    })
}

/// Puts the order statistics (in `f64::total_cmp` order) of every rank in
/// the inclusive `ranges` at their sorted places in `values`, as a full sort
/// would, and leaves the other places partitioned but unordered. Ranges may
/// come in any order and overlap; ranks past the end are ignored.
///
/// A selection splits the slice around the middle range, whose ranks are
/// then sorted, and each side is handled the same way: about `n log2(ranges)`
/// comparisons plus the ranges' own sorts, instead of `n log2 n` for a full
/// sort. Order statistics are unique, so the values read are the same bits.
pub fn sort_ranks(values: &mut [f64], ranges: &[(usize, usize)]) {
    // Integer keys in the same order as `f64::total_cmp`: integer compares
    // are cheaper, and the keys map back to the same bits.
    let mut keys: Vec<i64> = values.iter().map(|&x| total_order_key(x)).collect();
    let disjoint = disjoint_ranks(keys.len(), ranges);
    sort_disjoint_ranks(&mut keys, 0, &disjoint, &mut Vec::new());
    for (x, &key) in values.iter_mut().zip(&keys) {
        *x = from_total_order_key(key);
    }
}

/// The rank ranges (inclusive) that [`sort_ranks`] puts in sorted
/// order for `ranges` of `n` keys: clipped to the keys, overlapping or
/// adjacent ones merged, ascending.
pub(super) fn disjoint_ranks(n: usize, ranges: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let mut merged: Vec<(usize, usize)> = ranges
        .iter()
        .filter(|&&(a, _)| a < n)
        .map(|&(a, b)| (a.min(b), a.max(b).min(n - 1)))
        .collect();
    merged.sort_unstable();
    let mut disjoint: Vec<(usize, usize)> = Vec::with_capacity(merged.len());
    for (a, b) in merged {
        match disjoint.last_mut() {
            // Overlapping or adjacent: one range.
            Some(last) if a <= last.1 + 1 => last.1 = last.1.max(b),
            _ => disjoint.push((a, b)),
        }
    }
    disjoint
}

/// An integer whose order is `f64::total_cmp`'s (the same transform it uses).
#[inline]
pub(crate) fn total_order_key(x: f64) -> i64 {
    flip_negatives(x.to_bits() as i64)
}

/// The inverse of [`total_order_key`].
#[inline]
pub(super) fn from_total_order_key(key: i64) -> f64 {
    f64::from_bits(flip_negatives(key) as u64)
}

/// `f64::total_cmp`'s transform: the magnitude bits of a negative number
/// flipped. Its own inverse, as it never changes the sign bit it reads.
#[inline]
fn flip_negatives(bits: i64) -> i64 {
    bits ^ (((bits >> 63) as u64) >> 1) as i64
}

/// [`sort_ranks`] on `keys`, which starts at rank `offset` of the whole,
/// for disjoint ascending `ranges` of whole ranks that lie inside it.
/// `scratch` is the selections' buffer ([`select_nth`]).
pub(super) fn sort_disjoint_ranks(
    keys: &mut [i64],
    offset: usize,
    ranges: &[(usize, usize)],
    scratch: &mut Vec<i64>,
) {
    if ranges.is_empty() {
        return;
    }
    if keys.len() <= 64 {
        keys.sort_unstable();
        return;
    }
    let mid = ranges.len() / 2;
    let (a, b) = (ranges[mid].0 - offset, ranges[mid].1 - offset);
    select_nth(keys, a, scratch);
    if b > a {
        let right = &mut keys[a + 1..];
        select_nth(right, b - a - 1, scratch);
        right[..b - a - 1].sort_unstable();
    }
    let (left, rest) = keys.split_at_mut(a);
    sort_disjoint_ranks(left, offset, &ranges[..mid], scratch);
    sort_disjoint_ranks(
        &mut rest[b - a + 1..],
        offset + b + 1,
        &ranges[mid + 1..],
        scratch,
    );
}

// ---------------------------------------------------------------------------
// Worst paths
// ---------------------------------------------------------------------------

/// The `k` lowest values seen, each with its path index: the worst paths.
///
/// Ordered by value, ties by lower path index, NaN above every number, so the
/// kept set and its order do not depend on the push or merge order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LowestK {
    k: usize,
    /// The kept items, ascending.
    items: Vec<(f64, u64)>,
}

fn lowest_order(a: &(f64, u64), b: &(f64, u64)) -> Ordering {
    let by_value = match (a.0.is_nan(), b.0.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        // -0.0 and 0.0 tie, and fall to the path index.
        (false, false) => a.0.partial_cmp(&b.0).unwrap_or(Ordering::Equal),
    };
    by_value.then(a.1.cmp(&b.1))
}

impl LowestK {
    /// Keeps the `k` lowest values.
    pub fn new(k: usize) -> Self {
        LowestK {
            k,
            items: Vec::with_capacity(k),
        }
    }

    /// Offers the value of path `path`.
    #[inline]
    pub fn push(&mut self, value: f64, path: u64) {
        let item = (value, path);
        if self.items.len() == self.k {
            match self.items.last() {
                Some(last) if lowest_order(&item, last).is_lt() => {
                    self.items.pop();
                }
                _ => return,
            }
        }
        let at = self
            .items
            .partition_point(|x| lowest_order(x, &item).is_lt());
        self.items.insert(at, item);
    }

    /// The kept `(value, path)` pairs, lowest first.
    pub fn items_sorted(&self) -> &[(f64, u64)] {
        &self.items
    }
}

impl AddAssign<&LowestK> for LowestK {
    /// Keeps the `k` lowest of both (`self.k` wins if they differ).
    fn add_assign(&mut self, rhs: &LowestK) {
        let mut merged = Vec::with_capacity(self.k);
        let (mut a, mut b) = (self.items.iter().peekable(), rhs.items.iter().peekable());
        while merged.len() < self.k {
            let next = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) if lowest_order(x, y).is_le() => a.next(),
                (Some(_), Some(_)) => b.next(),
                (Some(_), None) => a.next(),
                (None, _) => b.next(),
            };
            match next {
                Some(&item) => merged.push(item),
                None => break,
            }
        }
        self.items = merged;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::testdata::{normal, rng, shuffle};
    use rand::RngExt;

    #[test]
    fn exact_quantiles_type7() {
        let mut xs = [7.0, 1.0, 10.0, 3.0, 2.0, 9.0, 4.0, 6.0, 5.0, 8.0];
        let expected = [1.45, 3.25, 5.5, 7.75, 9.55];
        for (got, want) in exact_quantiles(&mut xs).iter().zip(expected) {
            assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        }
        let mut two = [10.0, 0.0];
        let got = exact_quantiles(&mut two);
        for (got, want) in got.iter().zip([0.5, 2.5, 5.0, 7.5, 9.5]) {
            assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        }
        assert_eq!(exact_quantiles(&mut [3.0]), [3.0; 5]);
        assert!(exact_quantiles(&mut []).iter().all(|x| x.is_nan()));
    }

    #[test]
    fn total_order_keys_order_as_total_cmp_and_map_back_to_the_same_bits() {
        let xs = [
            f64::NEG_INFINITY,
            -1e300,
            -1.5,
            -5e-324,
            -0.0,
            0.0,
            5e-324,
            1e-300,
            1.0,
            2.5,
            1e300,
            f64::INFINITY,
            f64::NAN,
            -f64::NAN,
            f64::MAX,
            f64::MIN,
        ];
        for &a in &xs {
            assert_eq!(
                from_total_order_key(total_order_key(a)).to_bits(),
                a.to_bits()
            );
            for &b in &xs {
                assert_eq!(
                    total_order_key(a).cmp(&total_order_key(b)),
                    a.total_cmp(&b),
                    "{a} {b}"
                );
            }
        }
    }

    /// Columns with ties in bulk: an atom at zero beside a narrow cluster
    /// (as a month's revenue with idle paths), one far outlier, all equal,
    /// both signs; several ranges per column, each read against a full
    /// sort.
    #[test]
    fn sort_ranks_matches_a_full_sort_on_atoms_and_outliers() {
        let mut r = rng(47);
        for n in [2_048, 5_000, 8_192] {
            let columns: [Vec<f64>; 5] = [
                (0..n)
                    .map(|i| {
                        if i % 10 == 0 {
                            0.0
                        } else {
                            3.3e7 * (1.0 + 0.01 * normal(&mut r))
                        }
                    })
                    .collect(),
                (0..n)
                    .map(|i| {
                        if i == 7 {
                            1e300
                        } else {
                            1.0 + 1e-3 * normal(&mut r)
                        }
                    })
                    .collect(),
                vec![2.5; n],
                (0..n)
                    .map(|i| if i % 3 == 0 { -0.0 } else { normal(&mut r) })
                    .collect(),
                (0..n).map(|_| normal(&mut r)).collect(),
            ];
            for mut values in columns {
                shuffle(&mut values, &mut r);
                let mut sorted = values.clone();
                sorted.sort_unstable_by(f64::total_cmp);
                let ranges: Vec<(usize, usize)> = [0.05, 0.25, 0.5, 0.75, 0.95]
                    .iter()
                    .map(|q| {
                        let i = (q * (n - 1) as f64) as usize;
                        (i.saturating_sub(40), i + 40)
                    })
                    .collect();
                let mut got = values.clone();
                sort_ranks(&mut got, &ranges);
                for &(a, b) in &ranges {
                    for i in a..=b {
                        assert_eq!(got[i].to_bits(), sorted[i].to_bits(), "n {n}, rank {i}");
                    }
                }
                got.sort_unstable_by(f64::total_cmp);
                let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&got), bits(&sorted), "not a permutation, n {n}");
            }
        }
    }

    #[test]
    fn sort_ranks_places_the_same_order_statistics_as_a_full_sort() {
        let mut r = rng(31);
        for n in [0usize, 1, 2, 63, 64, 65, 100, 1_000, 8_192] {
            // Ties, signed zeros and NaN of both signs among normal values.
            let mut values: Vec<f64> = (0..n)
                .map(|i| match i % 13 {
                    0 => 0.0,
                    1 => -0.0,
                    2 => 1.5,
                    3 if i % 26 == 3 => f64::NAN,
                    3 => -f64::NAN,
                    _ => normal(&mut r),
                })
                .collect();
            shuffle(&mut values, &mut r);
            let mut sorted = values.clone();
            sorted.sort_unstable_by(f64::total_cmp);
            let last = n.saturating_sub(1);
            let range_sets: [Vec<(usize, usize)>; 4] = [
                vec![(last / 2, last / 2)],
                vec![
                    (last / 10, last / 5),
                    (0, 0),
                    (last, last),
                    (last / 3, last / 2),
                ],
                // Overlapping, reversed, adjacent and out-of-range ranges.
                vec![
                    (last / 2, last / 4),
                    (last / 4, last / 3),
                    (last / 3 + 1, last / 3 + 2),
                    (n + 5, n + 9),
                ],
                (0..10)
                    .map(|w| (w * last / 10, (w * last / 10 + 7).min(last)))
                    .collect(),
            ];
            for ranges in &range_sets {
                let mut got = values.clone();
                sort_ranks(&mut got, ranges);
                for &(a, b) in ranges {
                    for i in a.min(b)..=a.max(b).min(last) {
                        if i < n {
                            assert_eq!(got[i].to_bits(), sorted[i].to_bits(), "n {n}, rank {i}");
                        }
                    }
                }
                // Still a permutation of the input.
                got.sort_unstable_by(f64::total_cmp);
                assert!(
                    got.iter()
                        .zip(&sorted)
                        .all(|(a, b)| a.to_bits() == b.to_bits())
                );
            }
        }
    }

    #[test]
    fn lowest_k_matches_sort_and_is_merge_order_independent() {
        let mut r = rng(8);
        let values: Vec<(f64, u64)> = (0..10_000u64)
            .map(|i| {
                let v = if r.random::<f64>() < 0.01 {
                    f64::NAN
                } else {
                    // Coarse values, so ties are common.
                    (normal(&mut r) * 4.0).round()
                };
                (v, i)
            })
            .collect();
        for k in [0, 1, 10, 100] {
            let mut sorted = values.clone();
            sorted.sort_by(lowest_order);
            sorted.truncate(k);
            let mut shuffled = values.clone();
            shuffle(&mut shuffled, &mut r);
            let mut all = LowestK::new(k);
            shuffled.iter().for_each(|&(v, p)| all.push(v, p));
            assert_eq!(all.items_sorted().len(), k);
            let same = |a: &[(f64, u64)], b: &[(f64, u64)]| {
                a.iter()
                    .map(|x| (x.0.to_bits(), x.1))
                    .eq(b.iter().map(|x| (x.0.to_bits(), x.1)))
            };
            assert!(same(all.items_sorted(), &sorted));
            let mut parts = vec![LowestK::new(k); 5];
            for (i, &(v, p)) in shuffled.iter().enumerate() {
                parts[i % 5].push(v, p);
            }
            let mut forward = LowestK::new(k);
            parts.iter().for_each(|p| forward += p);
            let mut backward = LowestK::new(k);
            parts.iter().rev().for_each(|p| backward += p);
            assert!(same(forward.items_sorted(), &sorted));
            assert!(same(backward.items_sorted(), &sorted));
        }
    }
}
