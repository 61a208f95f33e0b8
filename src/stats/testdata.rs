//! Helpers shared by the stats tests: a seeded generator, normal draws, a
//! shuffle, and rows of six awkward distributions with a layout placed on
//! their pilot.

use std::sync::Arc;

use rand::{RngExt, SeedableRng, rngs::Xoshiro256PlusPlus};
use rand_distr::{Distribution, StandardNormal};

use super::QuantileLayout;

pub(super) fn rng(seed: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(seed)
}

pub(super) fn normal(r: &mut Xoshiro256PlusPlus) -> f64 {
    StandardNormal.sample(r)
}

pub(super) fn shuffle<T>(items: &mut [T], r: &mut Xoshiro256PlusPlus) {
    for i in (1..items.len()).rev() {
        items.swap(i, r.random_range(0..=i));
    }
}

pub(super) const N_DISTS: usize = 6;

/// One row: normal, lognormal (sigma 1), 30% point mass at 0 plus
/// normal(1, 1), a constant, ratio of normals (Cauchy), uniform.
pub(super) fn sample_row(r: &mut Xoshiro256PlusPlus) -> [f64; N_DISTS] {
    let z = normal(r);
    let mixture = if r.random::<f64>() < 0.3 {
        0.0
    } else {
        1.0 + normal(r)
    };
    let cauchy = normal(r) / normal(r);
    [z, normal(r).exp(), mixture, 42.0, cauchy, r.random::<f64>()]
}

pub(super) fn sample_rows(n: usize, seed: u64) -> Vec<[f64; N_DISTS]> {
    let mut r = rng(seed);
    (0..n).map(|_| sample_row(&mut r)).collect()
}

pub(super) fn layout_for(rows: &[[f64; N_DISTS]], pilot: usize) -> Arc<QuantileLayout> {
    let flat: Vec<f64> = rows[..pilot].iter().flatten().copied().collect();
    Arc::new(QuantileLayout::from_pilot(&flat, N_DISTS, 1024))
}
