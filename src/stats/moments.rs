//! Exact, mergeable moments: [`ChunkMoments`] (plain f64 sums over one
//! chunk of paths, in path order) folded into [`Moments`] (fixed-point
//! `i128` sums that merge with `+=` to the same bits in any order), and the
//! 256-bit integer helpers of the variance.

use std::ops::{Add, AddAssign};

use serde::{Deserialize, Serialize};

/// Fractional bits of the fixed-point sums in [`Moments`]: chunk sums are
/// rounded to a multiple of `2^-FIXED_POINT_BITS` (about 9.5e-7).
pub const FIXED_POINT_BITS: u32 = 20;

const SCALE: f64 = (1u64 << FIXED_POINT_BITS) as f64;
pub(super) const INV_SCALE: f64 = 1.0 / SCALE;
/// 2^127: the first f64 magnitude that does not fit in an `i128`.
const I128_LIMIT: f64 = 170_141_183_460_469_231_731_687_303_715_884_105_728.0;

/// Plain f64 sums over one fixed-size chunk of paths.
///
/// Filled by one thread in path order, so its bits depend only on the chunk's
/// values; then folded into a [`Moments`] with [`Moments::absorb`]. Do not add
/// two `ChunkMoments` together: that is what `Moments` is for.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ChunkMoments {
    /// Number of values pushed.
    pub n: u64,
    /// Sum of the values.
    pub sum: f64,
    /// Sum of the squared values.
    pub sum_sq: f64,
}

impl ChunkMoments {
    /// Adds one value.
    #[inline]
    pub fn push(&mut self, x: f64) {
        self.n += 1;
        self.sum += x;
        self.sum_sq += x * x;
    }
}

/// Count, sum and sum of squares in fixed point (units of 2^-20), exactly
/// mergeable: `+=` is associative and commutative bit for bit.
///
/// If a sum overflows `i128` or a chunk sum is not finite, `overflow` is set
/// and [`mean`](Self::mean), [`variance`](Self::variance) and friends return
/// NaN. Sums use wrapping addition, so even then the state does not depend on
/// the merge order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Moments {
    /// Number of values.
    n: u64,
    /// Sum of `round(chunk.sum * 2^20)` over the chunks absorbed.
    sum: i128,
    /// Sum of `round(chunk.sum_sq * 2^20)` over the chunks absorbed.
    sum_sq: i128,
    /// A sum overflowed or a chunk held a non-finite value: results are NaN.
    overflow: bool,
}

/// `round(x * 2^20)` as an `i128`, or `None` if it does not fit or `x` is not finite.
pub(super) fn to_fixed(x: f64) -> Option<i128> {
    let scaled = (x * SCALE).round();
    (scaled.is_finite() && scaled.abs() < I128_LIMIT).then_some(scaled as i128)
}

impl Moments {
    /// A `Moments` holding one chunk.
    pub fn from_chunk(chunk: &ChunkMoments) -> Self {
        let mut m = Self::default();
        m.absorb(chunk);
        m
    }

    /// Adds one chunk's sums, rounded to fixed point.
    pub fn absorb(&mut self, chunk: &ChunkMoments) {
        let (sum, sum_sq, bad) = match (to_fixed(chunk.sum), to_fixed(chunk.sum_sq)) {
            (Some(s), Some(q)) => (s, q, false),
            _ => (0, 0, true),
        };
        *self += Moments {
            n: chunk.n,
            sum,
            sum_sq,
            overflow: bad,
        };
    }

    /// Number of values.
    pub fn n(&self) -> u64 {
        self.n
    }

    /// True if a sum overflowed or a value was not finite (results are NaN).
    pub fn overflowed(&self) -> bool {
        self.overflow
    }

    /// Mean of the values; NaN if there are none or on overflow.
    pub fn mean(&self) -> f64 {
        if self.overflow || self.n == 0 {
            return f64::NAN;
        }
        self.sum as f64 * INV_SCALE / self.n as f64
    }

    /// Sample variance (denominator n - 1); 0 when n < 2, NaN on overflow.
    ///
    /// Computed as `(n * sum_sq - sum^2) / (n (n - 1))` with the numerator
    /// exact in 256-bit integers, so there is no cancellation in this step:
    /// the only rounding left is in the chunk sums themselves.
    pub fn variance(&self) -> f64 {
        if self.overflow {
            return f64::NAN;
        }
        if self.n < 2 {
            return 0.0;
        }
        // sum = S * 2^20 and sum_sq = Q * 2^20 (S, Q the real sums), so
        // n Q - S^2 = (n * 2^20 * sum_sq - sum^2) / 2^40.
        let a = mul_wide((self.n as u128) << FIXED_POINT_BITS, self.sum_sq as u128);
        let b = mul_wide(self.sum.unsigned_abs(), self.sum.unsigned_abs());
        // Rounding of the chunk sums can make a zero variance slightly negative.
        let numerator = if a > b {
            u256_to_f64(sub_wide(a, b))
        } else {
            0.0
        };
        let n = self.n as f64;
        numerator * (INV_SCALE * INV_SCALE) / (n * (n - 1.0))
    }

    /// Sample standard deviation; 0 when n < 2, NaN on overflow.
    pub fn sd(&self) -> f64 {
        self.variance().sqrt()
    }

    /// Standard error of the mean, `sd / sqrt(n)`; 0 when n < 2, NaN on overflow.
    pub fn se(&self) -> f64 {
        if self.n < 2 {
            return if self.overflow { f64::NAN } else { 0.0 };
        }
        self.sd() / (self.n as f64).sqrt()
    }
}

impl AddAssign for Moments {
    fn add_assign(&mut self, rhs: Self) {
        // Wrapping keeps the state merge-order independent even after an
        // overflow; the flag records it. `n` and `sum_sq` only grow, so they
        // overflow in every order or in none; `sum` cannot overflow unless
        // `sum_sq` does (|sum| <= sqrt(n * sum_sq * 2^20) < 2^106).
        let (n, o1) = self.n.overflowing_add(rhs.n);
        let (sum, o2) = self.sum.overflowing_add(rhs.sum);
        let (sum_sq, o3) = self.sum_sq.overflowing_add(rhs.sum_sq);
        self.n = n;
        self.sum = sum;
        self.sum_sq = sum_sq;
        self.overflow |= rhs.overflow | o1 | o2 | o3;
    }
}

impl AddAssign<&Moments> for Moments {
    fn add_assign(&mut self, rhs: &Moments) {
        *self += *rhs;
    }
}

impl Add for Moments {
    type Output = Moments;
    fn add(mut self, rhs: Self) -> Moments {
        self += rhs;
        self
    }
}

/// Full product of two u128 as (high, low) halves of a 256-bit integer.
fn mul_wide(a: u128, b: u128) -> (u128, u128) {
    const MASK: u128 = u64::MAX as u128;
    let (a1, a0) = (a >> 64, a & MASK);
    let (b1, b0) = (b >> 64, b & MASK);
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let p11 = a1 * b1;
    let mid = (p00 >> 64) + (p01 & MASK) + (p10 & MASK);
    let lo = (p00 & MASK) | (mid << 64);
    let hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
    (hi, lo)
}

/// `a - b` for 256-bit (high, low) pairs with `a >= b`.
fn sub_wide(a: (u128, u128), b: (u128, u128)) -> (u128, u128) {
    let (lo, borrow) = a.1.overflowing_sub(b.1);
    (a.0 - b.0 - borrow as u128, lo)
}

fn u256_to_f64(x: (u128, u128)) -> f64 {
    x.0 as f64 * I128_LIMIT * 2.0 + x.1 as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::testdata::{normal, rng, shuffle};
    use rand::{RngExt, rngs::Xoshiro256PlusPlus};

    /// Mean and sample variance, two-pass, as the reference.
    fn two_pass(xs: &[f64]) -> (f64, f64) {
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let ss = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>();
        (mean, ss / (n - 1.0))
    }

    /// One `Moments` per chunk of random size (1..=max_chunk), in order.
    fn chunked(xs: &[f64], max_chunk: usize, r: &mut Xoshiro256PlusPlus) -> Vec<Moments> {
        let mut out = Vec::new();
        let mut rest = xs;
        while !rest.is_empty() {
            let len = r.random_range(1..=max_chunk).min(rest.len());
            let mut c = ChunkMoments::default();
            rest[..len].iter().for_each(|&x| c.push(x));
            out.push(Moments::from_chunk(&c));
            rest = &rest[len..];
        }
        out
    }

    fn fold(parts: &[Moments]) -> Moments {
        parts.iter().fold(Moments::default(), |acc, m| acc + *m)
    }

    fn tree(parts: &[Moments]) -> Moments {
        match parts {
            [] => Moments::default(),
            [one] => *one,
            _ => {
                let (a, b) = parts.split_at(parts.len() / 2);
                tree(b) + tree(a)
            }
        }
    }

    #[test]
    fn moments_match_two_pass() {
        let mut r = rng(1);
        let xs: Vec<f64> = (0..100_000).map(|_| 3.0 + 10.0 * normal(&mut r)).collect();
        let m = fold(&chunked(&xs, 5_000, &mut r));
        let (mean, var) = two_pass(&xs);
        assert_eq!(m.n(), 100_000);
        assert!((m.mean() - mean).abs() < 1e-9, "{} vs {mean}", m.mean());
        // Rounding each chunk sum to 2^-20 moves the variance by ~1e-12 here.
        assert!(
            (m.variance() / var - 1.0).abs() < 1e-10,
            "{} vs {var}",
            m.variance()
        );
        let se = (var / xs.len() as f64).sqrt();
        assert!((m.se() / se - 1.0).abs() < 1e-12);
        assert!((m.sd() - var.sqrt()).abs() < 1e-9);
    }

    #[test]
    fn moments_merge_is_exact_in_any_order() {
        let mut r = rng(2);
        for round in 0..5 {
            let xs: Vec<f64> = (0..20_000)
                .map(|_| (round as f64 * 7.0 - 10.0) + 1e3 * normal(&mut r))
                .collect();
            let mut parts = chunked(&xs, 700, &mut r);
            let forward = fold(&parts);
            let (a, b) = (
                fold(&parts[..parts.len() / 3]),
                fold(&parts[parts.len() / 3..]),
            );
            let (mut ab, mut ba) = (a, b);
            ab += b;
            ba += a;
            assert_eq!(ab, forward);
            assert_eq!(ba, forward);
            assert_eq!(tree(&parts), forward);
            parts.reverse();
            assert_eq!(fold(&parts), forward);
            shuffle(&mut parts, &mut r);
            assert_eq!(tree(&parts), forward);
        }
    }

    #[test]
    fn moments_large_magnitude_variance() {
        let mut r = rng(3);
        let xs: Vec<f64> = (0..100_000).map(|_| 1e9 + 1e8 * normal(&mut r)).collect();
        let m = fold(&chunked(&xs, 1_000, &mut r));
        let (mean, var) = two_pass(&xs);
        assert!((m.mean() / mean - 1.0).abs() < 1e-12);
        assert!(
            (m.variance() / var - 1.0).abs() < 1e-9,
            "{} vs {var}",
            m.variance()
        );
    }

    #[test]
    fn moments_edge_cases() {
        let empty = Moments::default();
        assert!(empty.mean().is_nan());
        assert_eq!(empty.se(), 0.0);
        let mut c = ChunkMoments::default();
        c.push(5.0);
        let one = Moments::from_chunk(&c);
        assert_eq!((one.mean(), one.variance(), one.se()), (5.0, 0.0, 0.0));
        // A constant: the variance must not come out negative or NaN.
        let mut c = ChunkMoments::default();
        (0..1000).for_each(|_| c.push(0.1));
        let m = Moments::from_chunk(&c) + Moments::from_chunk(&c);
        assert!(m.variance() >= 0.0 && m.variance() < 1e-12);
        // Non-finite input poisons the result, in every merge order.
        let mut bad = ChunkMoments::default();
        bad.push(f64::INFINITY);
        let bad = Moments::from_chunk(&bad);
        assert!((m + bad).overflowed() && (bad + m).overflowed());
        assert!((m + bad).mean().is_nan() && (m + bad).se().is_nan());
        assert_eq!(m + bad, bad + m);
        // Round trip through JSON (i128 fields).
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(serde_json::from_str::<Moments>(&json).unwrap(), m);
    }
}
