//! Ranking sites by mining margin, for the policies that convert the least
//! profitable miners first.

use crate::model::mining::MonthMargins;
use crate::stats::total_order_key;

/// Scratch of [`keep_lowest_margins`]: the kept `(key, site)` pairs.
pub(super) type Ranked = Vec<(i64, usize)>;

/// Keeps, of the sites in `requests[start..]`, the `k` with the lowest
/// mining margin per MW, lowest first, ties in the order they came
/// (`f64::total_cmp`): what a stable sort by margin, then keeping the first
/// `k`, gives. Each site's margin is read once, as an integer key, and the
/// `k` lowest are kept sorted as the candidates pass: a candidate goes
/// after every kept key not above its own, so ties keep their order.
pub(super) fn keep_lowest_margins(
    requests: &mut Vec<usize>,
    start: usize,
    k: usize,
    margin: MonthMargins<'_>,
    ranked: &mut Ranked,
) {
    if requests.len() == start {
        return; // no candidates (most months of a threshold policy)
    }
    ranked.clear();
    if k > 0 {
        for &site in &requests[start..] {
            let key = total_order_key(margin.get(site));
            if ranked.len() == k {
                if key >= ranked[k - 1].0 {
                    continue;
                }
                ranked.pop();
            }
            // Insertion-sort step (no memmove call for a handful of items).
            ranked.push((key, site));
            let mut j = ranked.len() - 1;
            while j > 0 && ranked[j - 1].0 > key {
                ranked.swap(j - 1, j);
                j -= 1;
            }
        }
    }
    requests.truncate(start);
    requests.extend(ranked.iter().map(|&(_, site)| site));
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng, rngs::Xoshiro256PlusPlus};

    /// The selection against its definition: a stable sort by
    /// `f64::total_cmp`, then the first `k`. Margins drawn from a few
    /// values (many ties) with signed zeros and NaN, candidates in an
    /// arbitrary order after a prefix that must stay untouched.
    #[test]
    fn keeping_the_lowest_margins_is_a_stable_sort_then_the_first_k() {
        let mut r = Xoshiro256PlusPlus::seed_from_u64(5);
        let pool = [
            -1.5,
            -0.0,
            0.0,
            2.0,
            2.0,
            7.25,
            f64::NAN,
            -f64::NAN,
            f64::INFINITY,
        ];
        let mut ranked = Vec::new();
        for trial in 0..500 {
            let sites = 1 + r.random_range(0..40);
            let margins: Vec<f64> = (0..sites)
                .map(|_| pool[r.random_range(0..pool.len())])
                .collect();
            let identity: Vec<u32> = (0..sites as u32).collect();
            let margin = MonthMargins::from_slices(&margins, &identity);
            let mut candidates: Vec<usize> = (0..sites).filter(|_| r.random_bool(0.7)).collect();
            for i in (1..candidates.len()).rev() {
                candidates.swap(i, r.random_range(0..=i));
            }
            let k = r.random_range(0..=sites + 1);
            let prefix = [99, 98];
            let mut got: Vec<usize> = prefix
                .iter()
                .copied()
                .chain(candidates.iter().copied())
                .collect();
            keep_lowest_margins(&mut got, prefix.len(), k, margin, &mut ranked);
            let mut want = candidates.clone();
            want.sort_by(|&a, &b| margins[a].total_cmp(&margins[b]));
            want.truncate(k);
            assert_eq!(&got[..2], &prefix, "trial {trial}");
            assert_eq!(
                &got[2..],
                &want[..],
                "trial {trial}: k {k}, margins {margins:?}"
            );
        }
    }
}
