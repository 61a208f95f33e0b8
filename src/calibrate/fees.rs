//! Fees per block: the level (median of the window's last 12 months, its
//! SE by a moving-block bootstrap) and the monthly log dispersion around
//! the trailing 12-month mean (docs/model.md section 7).

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

use super::Estimate;
use crate::history::History;

/// Months whose median is the fee level.
pub const LEVEL_MONTHS: usize = 12;
/// Block length and draws of the bootstrap.
pub const BLOCK_MONTHS: usize = 3;
pub const DRAWS: usize = 999;

#[derive(Debug, Clone)]
pub struct FeeFit {
    pub mean_btc: Estimate,
    pub sigma: Estimate,
    /// Months with fees among the window's last 12.
    pub months_mean: usize,
    /// Terms of the dispersion.
    pub months_sigma: usize,
}

/// The median (mean of the two middle values for an even count).
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// The sample standard deviation (n - 1).
pub fn sample_sd(values: &[f64]) -> f64 {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    (values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0)).sqrt()
}

/// The standard error of the median of `values` by a moving-block
/// bootstrap: each draw strings together blocks of [`BLOCK_MONTHS`]
/// consecutive values, each starting at a uniform position, cut to the
/// sample's length; the SE is the standard deviation of the draws'
/// medians. Deterministic for a seed.
pub fn block_bootstrap_median_se(values: &[f64], seed: u64) -> f64 {
    let n = values.len();
    let block = BLOCK_MONTHS.min(n);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut sample = Vec::with_capacity(n + block);
    let medians: Vec<f64> = (0..DRAWS)
        .map(|_| {
            sample.clear();
            while sample.len() < n {
                let start = rng.random_range(0..=n - block);
                sample.extend_from_slice(&values[start..start + block]);
            }
            sample.truncate(n);
            median(&sample)
        })
        .collect();
    sample_sd(&medians)
}

/// `ln F[t] - ln(mean of F[t-12..t-1])` for each window month with fees
/// and at least one month of fees in the file before it (months with zero
/// fees are left out: their log is not finite).
pub fn log_deviations(history: &History, first: usize, len: usize) -> Vec<f64> {
    (first..first + len)
        .filter_map(|i| {
            let f = history.months[i]
                .fees_btc_per_block_mean
                .filter(|&f| f > 0.0)?;
            let before: Vec<f64> = history.months[i.saturating_sub(12)..i]
                .iter()
                .filter_map(|m| m.fees_btc_per_block_mean)
                .collect();
            let mean = before.iter().sum::<f64>() / before.len() as f64;
            (!before.is_empty() && mean > 0.0).then(|| f.ln() - mean.ln())
        })
        .collect()
}

/// Both fee estimates over file months `first .. first + len`, or `None`
/// when the window has too few fee months for either (fewer than 3 of the
/// last 12, or fewer than 3 deviations).
pub fn fit(history: &History, first: usize, len: usize, seed: u64) -> Option<FeeFit> {
    let last = first + len.saturating_sub(LEVEL_MONTHS)..first + len;
    let level: Vec<f64> = history.months[last]
        .iter()
        .filter_map(|m| m.fees_btc_per_block_mean)
        .collect();
    let deviations = log_deviations(history, first, len);
    if level.len() < BLOCK_MONTHS || deviations.len() < 3 {
        return None;
    }
    let sigma = sample_sd(&deviations);
    let n = deviations.len() as f64;
    Some(FeeFit {
        mean_btc: Estimate::new(
            median(&level),
            Some(block_bootstrap_median_se(&level, seed)),
        ),
        sigma: Estimate::new(sigma, Some(sigma / (2.0 * (n - 1.0)).sqrt())),
        months_mean: level.len(),
        months_sigma: deviations.len(),
    })
}
