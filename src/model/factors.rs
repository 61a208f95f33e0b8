//! The market's correlated factors: the standard normal shocks that drive
//! its diffusions, one per factor per month (docs/model.md section 1).
//!
//! Each month every factor `i` draws an independent standard normal `e_i`,
//! and its shock is `x_i = sum_{j<=i} L[i][j] e_j`, with `L` the
//! lower-triangular Cholesky factor of the factors' correlation matrix. The
//! sum runs left to right from `j = 0`: the same operations in the same
//! order as writing each sum out by hand (Rust does not contract `a * b + c`
//! to a fused multiply-add), so the bits do not depend on how it is written.
//!
//! # Where the normals come from
//!
//! The first [`DIFFUSION_FACTORS`] factors, BTC price Z, hashrate W,
//! GPU-hour price U and AI demand V, draw from the one shared stream
//! [`Stream::Diffusion`], four normals a month in that order, as they always
//! have. Every factor after them draws from a stream of its own,
//! [`Stream::Factor`] keyed by its index in the list, which no other stream
//! shares. Since `L` is lower-triangular, factor `i`'s shock reads factors
//! `0 ..= i` only: a factor appended last, with its row of `L` appended
//! last, changes no earlier draw or shock of any path, so no output of a
//! scenario without it moves.
//!
//! # Adding a factor
//!
//! 1. Append a [`Factor`] to [`MARKET_FACTORS`] and name its index as the
//!    others are named ([`AI_DEMAND`]). Append only, never insert or
//!    reorder: a factor's index keys its stream and picks its row of `L`.
//! 2. Append its row and column to the correlation matrix the scenario
//!    gives (`market.correlation.matrix`, whose shape and default are in
//!    `src/scenario/raw.rs`); validation factors a matrix of any size, and
//!    the factor's row of `L` comes out last.
//! 3. Read its shock, `x[INDEX]` of [`CorrelatedShocks::draw`], in
//!    `MarketModel::sample_with` and drive its series with it.
//!
//! The list holds at most [`MAX_FACTORS`]: a month's normals and shocks are
//! arrays of that length, so drawing them allocates nothing.

use rand::Rng;
use rand::rngs::Xoshiro256PlusPlus;

use crate::model::market::{Stream, normal, path_rng};

/// The most factors a market can have (the length of a month's scratch
/// arrays; [`CorrelatedShocks::draw`] has a case for each count).
pub const MAX_FACTORS: usize = 8;

/// How many leading factors draw from the shared [`Stream::Diffusion`]:
/// the four of the first release, whose draws the golden outputs fix.
/// Every factor after them has a stream of its own.
pub const DIFFUSION_FACTORS: usize = 4;

/// One correlated factor of the market.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Factor {
    pub name: &'static str,
}

/// Index of the BTC price shock Z.
pub const BTC_PRICE: usize = 0;
/// Index of the hashrate shock W.
pub const HASHRATE: usize = 1;
/// Index of the GPU-hour price shock U.
pub const GPU_PRICE: usize = 2;
/// Index of the AI demand shock V.
pub const AI_DEMAND: usize = 3;

/// The market's factors, in the order of the correlation matrix's rows.
pub const MARKET_FACTORS: [Factor; 4] = [
    Factor {
        name: "btc price Z",
    },
    Factor { name: "hashrate W" },
    Factor {
        name: "gpu price U",
    },
    Factor {
        name: "ai demand V",
    },
];

/// A list of factors and the Cholesky factor that correlates them: draws a
/// month's shocks. Immutable; a path's generators are a [`ShockRngs`].
#[derive(Debug, Clone)]
pub struct CorrelatedShocks {
    factors: Vec<Factor>,
    /// The rows of `L` up to the diagonal, packed: row `i` is the `i + 1`
    /// values after the first `i (i + 1) / 2`.
    rows: Vec<f64>,
}

/// One path's generators for the shocks: the diffusion stream, and the own
/// stream of each factor after the first four, in list order (none today,
/// so making them allocates nothing).
#[derive(Debug, Clone)]
pub struct ShockRngs<R> {
    diffusion: R,
    own: Vec<R>,
}

/// `$body` with `$n` a constant equal to `$count`, for each count of
/// factors allowed ([`DIFFUSION_FACTORS`] to [`MAX_FACTORS`]): the loops
/// over the factors then have constant bounds, and the correlation sums
/// compile to straight code, as the hand-written four-factor code did.
macro_rules! with_count {
    ($count:expr, $n:ident => $body:expr) => {
        with_count!($count, $n => $body, [4, 5, 6, 7, 8])
    };
    ($count:expr, $n:ident => $body:expr, [$($k:literal),*]) => {
        match $count {
            $($k => {
                const $n: usize = $k;
                $body
            })*
            n => unreachable!("{n} factors"),
        }
    };
}

impl CorrelatedShocks {
    /// The shocks of `factors`, correlated by the lower-triangular
    /// `cholesky` (n x n by rows, one row per factor).
    ///
    /// Panics unless there are [`DIFFUSION_FACTORS`] to [`MAX_FACTORS`]
    /// factors and `cholesky` is n x n and zero above the diagonal.
    pub fn new(factors: &[Factor], cholesky: &[Vec<f64>]) -> CorrelatedShocks {
        let n = factors.len();
        assert!(
            (DIFFUSION_FACTORS..=MAX_FACTORS).contains(&n),
            "{DIFFUSION_FACTORS} to {MAX_FACTORS} factors, not {n}"
        );
        assert_eq!(cholesky.len(), n, "one Cholesky row per factor");
        let mut rows = Vec::with_capacity(n * (n + 1) / 2);
        for (i, row) in cholesky.iter().enumerate() {
            assert_eq!(row.len(), n, "Cholesky row {i} of {n} columns");
            assert!(
                row[i + 1..].iter().all(|&l| l == 0.0),
                "Cholesky row {i} is zero above the diagonal"
            );
            rows.extend_from_slice(&row[..=i]);
        }
        CorrelatedShocks {
            factors: factors.to_vec(),
            rows,
        }
    }

    /// The factors, in order.
    pub fn factors(&self) -> &[Factor] {
        &self.factors
    }

    /// The generators of path `path` of the run with `seed`.
    pub fn rngs(&self, seed: u64, path: u64) -> ShockRngs<Xoshiro256PlusPlus> {
        ShockRngs {
            diffusion: path_rng(seed, path, Stream::Diffusion),
            own: (DIFFUSION_FACTORS..self.factors.len())
                .map(|i| path_rng(seed, path, Stream::Factor(i as u32)))
                .collect(),
        }
    }

    /// A month's shocks `x = L e`, indexed as the factors ([`BTC_PRICE`],
    /// ...; zero past the last factor).
    #[inline]
    pub fn draw<R: Rng>(&self, rngs: &mut ShockRngs<R>) -> [f64; MAX_FACTORS] {
        with_count!(self.factors.len(), N => self.correlate::<N>(&normals::<N, R>(rngs)))
    }

    /// A month's independent normals `e`, as [`CorrelatedShocks::draw`]
    /// draws them (zero past the last factor).
    #[inline]
    pub fn normals<R: Rng>(&self, rngs: &mut ShockRngs<R>) -> [f64; MAX_FACTORS] {
        with_count!(self.factors.len(), N => normals::<N, R>(rngs))
    }

    /// `x = L e` for `N` factors, each sum left to right from `L[i][0] e_0`.
    #[inline(always)]
    fn correlate<const N: usize>(&self, e: &[f64; MAX_FACTORS]) -> [f64; MAX_FACTORS] {
        let mut x = [0.0; MAX_FACTORS];
        let mut rows = &self.rows[..N * (N + 1) / 2];
        for (i, x) in x[..N].iter_mut().enumerate() {
            let (row, rest) = rows.split_at(i + 1);
            rows = rest;
            let mut sum = row[0] * e[0];
            for (l, e) in row[1..].iter().zip(&e[1..]) {
                sum += l * e;
            }
            *x = sum;
        }
        x
    }
}

/// The normals of `N` factors: the first [`DIFFUSION_FACTORS`] from the
/// diffusion stream in order, then each later factor's from its own stream.
#[inline(always)]
fn normals<const N: usize, R: Rng>(rngs: &mut ShockRngs<R>) -> [f64; MAX_FACTORS] {
    let mut e = [0.0; MAX_FACTORS];
    let (shared, own) = e[..N].split_at_mut(DIFFUSION_FACTORS);
    for e in shared {
        *e = normal(&mut rngs.diffusion);
    }
    for (e, rng) in own.iter_mut().zip(&mut rngs.own) {
        *e = normal(rng);
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario;

    fn reference_cholesky() -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let sc = scenario::load(&dir.join("cango_2026.toml")).unwrap();
        (sc.market.correlation, sc.market.cholesky)
    }

    /// The four factors' shocks are the unrolled sums of four normals from
    /// the diffusion stream, bit for bit (what the golden outputs were made with).
    #[test]
    fn four_factors_are_the_unrolled_sums() {
        let (_, l) = reference_cholesky();
        let shocks = CorrelatedShocks::new(&MARKET_FACTORS, &l);
        for path in 0..50 {
            let mut rngs = shocks.rngs(9, path);
            let mut diffusion = path_rng(9, path, Stream::Diffusion);
            for _ in 0..60 {
                let x = shocks.draw(&mut rngs);
                let e: [f64; 4] = std::array::from_fn(|_| normal(&mut diffusion));
                let unrolled = [
                    l[0][0] * e[0],
                    l[1][0] * e[0] + l[1][1] * e[1],
                    l[2][0] * e[0] + l[2][1] * e[1] + l[2][2] * e[2],
                    l[3][0] * e[0] + l[3][1] * e[1] + l[3][2] * e[2] + l[3][3] * e[3],
                ];
                for i in 0..4 {
                    assert_eq!(x[i].to_bits(), unrolled[i].to_bits(), "path {path}");
                }
                assert!(x[4..].iter().all(|&x| x == 0.0));
            }
        }
    }

    /// A fifth factor, appended with its own row: the first four shocks of
    /// every month stay bit for bit those of the four-factor model, and the
    /// fifth has the correlation asked of it with each of the others.
    #[test]
    fn an_appended_factor_moves_nothing_and_has_its_correlation() {
        let (mut correlation, l4) = reference_cholesky();
        let fifth_row = [0.4, -0.25, 0.3, 0.15, 1.0];
        for (row, &r) in correlation.iter_mut().zip(&fifth_row) {
            row.push(r);
        }
        correlation.push(fifth_row.to_vec());
        let l5 = scenario::cholesky(&correlation).expect("positive definite");
        for (row4, row5) in l4.iter().zip(&l5) {
            assert_eq!(row4[..], row5[..4]);
        }
        let mut factors = MARKET_FACTORS.to_vec();
        factors.push(Factor {
            name: "test factor",
        });
        let four = CorrelatedShocks::new(&MARKET_FACTORS, &l4);
        let five = CorrelatedShocks::new(&factors, &l5);

        let (paths, months) = (2_000, 60);
        let mut fifth = Vec::with_capacity(paths * months);
        let mut others: [Vec<f64>; 4] = Default::default();
        for path in 0..paths as u64 {
            let mut rngs4 = four.rngs(17, path);
            let mut rngs5 = five.rngs(17, path);
            for _ in 0..months {
                let x4 = four.draw(&mut rngs4);
                let x5 = five.draw(&mut rngs5);
                for i in 0..4 {
                    assert_eq!(x4[i].to_bits(), x5[i].to_bits(), "path {path}");
                    others[i].push(x5[i]);
                }
                fifth.push(x5[4]);
            }
        }

        // Sample correlation against the asked one; its standard error is
        // about (1 - rho^2) / sqrt(n) for normal pairs.
        let n = fifth.len() as f64;
        let mean = |x: &[f64]| x.iter().sum::<f64>() / n;
        let (m5, mut v5) = (mean(&fifth), 0.0);
        for x in &fifth {
            v5 += (x - m5) * (x - m5);
        }
        for (j, other) in others.iter().enumerate() {
            let mj = mean(other);
            let (mut cov, mut vj) = (0.0, 0.0);
            for (a, b) in fifth.iter().zip(other) {
                cov += (a - m5) * (b - mj);
                vj += (b - mj) * (b - mj);
            }
            let r = cov / (v5 * vj).sqrt();
            let rho = fifth_row[j];
            let se = (1.0 - rho * rho) / n.sqrt();
            assert!((r - rho).abs() < 4.0 * se, "factor {j}: r {r}, asked {rho}");
        }
        // And unit variance: the standard error of a normal's sample
        // variance is about sqrt(2 / n).
        let var = v5 / (n - 1.0);
        assert!((var - 1.0).abs() < 4.0 * (2.0 / n).sqrt(), "variance {var}");
    }

    /// Every count of factors allowed is drawn (each has its case in
    /// `with_count!`), the shocks being `L e` of the normals.
    #[test]
    fn every_factor_count_draws() {
        for n in DIFFUSION_FACTORS..=MAX_FACTORS {
            let factors = vec![Factor { name: "f" }; n];
            let ones: Vec<Vec<f64>> = (0..n)
                .map(|i| (0..n).map(|j| if j <= i { 1.0 } else { 0.0 }).collect())
                .collect();
            let shocks = CorrelatedShocks::new(&factors, &ones);
            let e = shocks.normals(&mut shocks.rngs(5, 0));
            let x = shocks.draw(&mut shocks.rngs(5, 0));
            let mut sum = 0.0;
            for i in 0..MAX_FACTORS {
                sum += e[i];
                let expected = if i < n { sum } else { 0.0 };
                assert_eq!(x[i], expected, "{n} factors, shock {i}");
                assert_eq!(e[i] != 0.0, i < n, "{n} factors, normal {i}");
            }
        }
    }

    /// A factor's own stream is none of the models' streams, nor another
    /// factor's.
    #[test]
    fn factor_streams_have_their_own_keys() {
        let models = [
            Stream::Diffusion,
            Stream::Jumps,
            Stream::Fees,
            Stream::Regimes,
        ];
        let mut keys: Vec<u64> = models.iter().map(|s| s.key()).collect();
        assert_eq!(keys, [1, 2, 3, 4]);
        keys.extend((0..MAX_FACTORS as u32).map(|i| Stream::Factor(i).key()));
        let mut unique = keys.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), keys.len());
    }
}
