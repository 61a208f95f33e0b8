//! Selection of order statistics of integer keys: the pilot's window ranks
//! ([`crate::stats::sort_ranks`]).
//!
//! [`select_nth`] has the contract of `slice::select_nth_unstable`. On a
//! CPU with AVX-512 it partitions eight keys per instruction (compare, then
//! compress each side into its own buffer), about a tenth of the
//! instructions of the standard library's scalar partition; elsewhere it is
//! the standard library's. Order statistics are unique, so the key it puts
//! at `k` is the same either way; only the order of the keys on each side
//! may differ, and callers read no rank they have not put in order.

/// Slices this short or shorter go to the standard library's selection.
const SMALL: usize = 256;
/// Partition rounds before the rest goes to the standard library's
/// selection (a guard against pivots that keep failing; on the pilot's
/// columns, in path order, about `log2(n / SMALL)` rounds suffice).
const MAX_ROUNDS: usize = 48;

/// Puts the `k`-th smallest of `keys` at index `k`, with no greater key
/// before it and no smaller one after it: `keys.select_nth_unstable(k)`.
/// `scratch` is reused between calls.
///
/// # Panics
/// If `k >= keys.len()`.
pub fn select_nth(keys: &mut [i64], k: usize, scratch: &mut Vec<i64>) {
    assert!(k < keys.len(), "rank {k} of {} keys", keys.len());
    #[cfg(target_arch = "x86_64")]
    {
        if keys.len() > SMALL
            && std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("popcnt")
        {
            // SAFETY: the CPU has AVX-512F and POPCNT (checked just above).
            unsafe { select_avx512(keys, k, scratch) };
            return;
        }
    }
    let _ = scratch;
    keys.select_nth_unstable(k);
}

/// Quickselect whose partitions are three-way (below, equal to, above the
/// pivot) and vectorised: each round narrows `lo..hi` to the side holding
/// rank `k`, or stops when `k` falls among the keys equal to the pivot.
///
/// # Safety
/// The CPU must have AVX-512F and POPCNT.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,popcnt")]
unsafe fn select_avx512(keys: &mut [i64], k: usize, scratch: &mut Vec<i64>) {
    let (mut lo, mut hi) = (0, keys.len());
    let mut rounds = 0;
    while hi - lo > SMALL && rounds < MAX_ROUNDS {
        rounds += 1;
        let part = &mut keys[lo..hi];
        let pivot = ninther(part);
        // SAFETY: the caller's CPU has AVX-512F and POPCNT.
        let (below, equal) = unsafe { partition3_avx512(part, pivot, scratch) };
        let r = k - lo;
        if r < below {
            hi = lo + below;
        } else if r < below + equal {
            return; // keys[k] is the pivot, as every key equal to it
        } else {
            lo += below + equal;
        }
    }
    keys[lo..hi].select_nth_unstable(k - lo);
}

/// The median of three medians of three keys spread over `keys` (at least
/// nine): a pivot near the middle on keys in no particular order.
#[cfg(target_arch = "x86_64")]
fn ninther(keys: &[i64]) -> i64 {
    let n = keys.len();
    let at = |j: usize| keys[j * n / 9 + n / 18];
    let med3 = |a: i64, b: i64, c: i64| a.max(b).min(a.min(b).max(c));
    med3(
        med3(at(0), at(1), at(2)),
        med3(at(3), at(4), at(5)),
        med3(at(6), at(7), at(8)),
    )
}

/// Rearranges `keys` into those below `pivot`, those equal to it and those
/// above it, and returns how many are below and how many equal. Eight keys
/// a step: the keys above are compressed in place towards the front (a
/// store never passes the keys already read), those below into `scratch`;
/// then the keys above move to the back and those below come in front.
///
/// # Safety
/// The CPU must have AVX-512F and POPCNT.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,popcnt")]
unsafe fn partition3_avx512(
    keys: &mut [i64],
    pivot: i64,
    scratch: &mut Vec<i64>,
) -> (usize, usize) {
    use std::arch::x86_64::*;
    const LANES: usize = 8;
    let n = keys.len();
    // Room for all `n` keys plus one full vector: a store writes eight
    // lanes wherever the end is.
    if scratch.len() < n + LANES {
        scratch.resize(n + LANES, 0);
    }
    let (mut n_below, mut n_above) = (0usize, 0usize);
    // SAFETY: loads read `keys[i..i + 8]` with `i + 8 <= n`, or the masked
    // lanes below `n` of the tail. Stores write eight lanes at `n_below <=
    // i` in `scratch` (so below `n + 8`), and at `n_above <= i` in `keys`:
    // within the keys already loaded, or, for the tail, masked to the
    // lanes below `n`.
    unsafe {
        let p = _mm512_set1_epi64(pivot);
        let kp = keys.as_mut_ptr();
        let bp = scratch.as_mut_ptr();
        let mut i = 0;
        while i + LANES <= n {
            let v = _mm512_loadu_si512(kp.add(i).cast());
            let lt = _mm512_cmplt_epi64_mask(v, p);
            let gt = _mm512_cmpgt_epi64_mask(v, p);
            // The register form of the compress (the store form is slow on
            // some CPUs), then a full store: lanes past the new end are
            // overwritten by the next store or never read.
            _mm512_storeu_si512(bp.add(n_below).cast(), _mm512_maskz_compress_epi64(lt, v));
            _mm512_storeu_si512(kp.add(n_above).cast(), _mm512_maskz_compress_epi64(gt, v));
            n_below += lt.count_ones() as usize;
            n_above += gt.count_ones() as usize;
            i += LANES;
        }
        if i < n {
            let tail: __mmask8 = (1u8 << (n - i)) - 1;
            let v = _mm512_maskz_loadu_epi64(tail, kp.add(i).cast());
            let lt = _mm512_mask_cmplt_epi64_mask(tail, v, p);
            let gt = _mm512_mask_cmpgt_epi64_mask(tail, v, p);
            _mm512_storeu_si512(bp.add(n_below).cast(), _mm512_maskz_compress_epi64(lt, v));
            let keep = _mm512_maskz_compress_epi64(gt, v);
            let n_gt = gt.count_ones() as usize;
            _mm512_mask_storeu_epi64(
                kp.add(n_above).cast(),
                ((1u16 << n_gt) - 1) as __mmask8,
                keep,
            );
            n_below += lt.count_ones() as usize;
            n_above += n_gt;
        }
    }
    let n_equal = n - n_below - n_above;
    keys.copy_within(..n_above, n - n_above);
    keys[..n_below].copy_from_slice(&scratch[..n_below]);
    keys[n_below..n_below + n_equal].fill(pivot);
    (n_below, n_equal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng, rngs::Xoshiro256PlusPlus};

    /// Checks the contract at `k` against a full sort.
    fn check(keys: &[i64], k: usize, scratch: &mut Vec<i64>) {
        let mut sorted = keys.to_vec();
        sorted.sort_unstable();
        let mut got = keys.to_vec();
        select_nth(&mut got, k, scratch);
        assert_eq!(got[k], sorted[k], "rank {k} of {}", keys.len());
        assert!(
            got[..k].iter().all(|&x| x <= got[k]),
            "a greater key before rank {k}"
        );
        assert!(
            got[k + 1..].iter().all(|&x| x >= got[k]),
            "a smaller key after rank {k}"
        );
        got.sort_unstable();
        assert_eq!(got, sorted, "not a permutation");
    }

    /// Every rank of short and ragged lengths, and spread ranks of long
    /// ones, on distinct keys, heavy ties, a constant, sorted and reversed
    /// keys, and keys at the ends of `i64` (the compare is signed).
    #[test]
    fn select_nth_matches_a_full_sort() {
        let mut r = Xoshiro256PlusPlus::seed_from_u64(5);
        let mut scratch = Vec::new();
        for n in [1usize, 2, 9, 255, 256, 257, 263, 520, 1_000, 4_099, 8_192] {
            let columns: Vec<Vec<i64>> = vec![
                (0..n).map(|_| r.random::<i64>()).collect(),
                (0..n).map(|_| r.random_range(0..5)).collect(),
                vec![42; n],
                (0..n as i64).collect(),
                (0..n as i64).rev().collect(),
                (0..n)
                    .map(|i| match i % 4 {
                        0 => i64::MIN,
                        1 => i64::MAX,
                        _ => r.random_range(-3..3),
                    })
                    .collect(),
            ];
            for keys in &columns {
                let ranks: Vec<usize> = if n <= 300 {
                    (0..n).collect()
                } else {
                    (0..40)
                        .map(|j| j * (n - 1) / 39)
                        .chain([1, n - 2])
                        .collect()
                };
                for &k in &ranks {
                    check(keys, k, &mut scratch);
                }
            }
        }
    }
}
