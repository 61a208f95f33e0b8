//! BTC: maximum likelihood of the Merton jump-diffusion on monthly log
//! returns of `btc_price_usd_close` (docs/model.md section 1), against a
//! normal without jumps; the likelihood-ratio rule picks which one the
//! fragment writes.

use std::f64::consts::PI;

use super::Estimate;
use super::optim::{self, Transform};
use crate::model::calendar::DT_YEARS;

/// Jumps in a month summed in the Poisson mixture.
pub const MAX_JUMPS: usize = 10;
/// Bounds of the fit.
pub const LAMBDA_MAX: f64 = 12.0;
pub const JUMP_SD_MIN: f64 = 0.02;
pub const SIGMA_MIN: f64 = 0.05;
/// The jump model must beat the normal by this many log-likelihood units
/// (a likelihood-ratio test at 5% for 3 parameters: chi2(3) 95% / 2).
pub const LR_THRESHOLD: f64 = 3.9;

/// Merton parameters, annual (`mu`, `sigma`, `lambda`) and per jump (log).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Merton {
    pub mu: f64,
    pub sigma: f64,
    pub lambda: f64,
    pub jump_mean: f64,
    pub jump_sd: f64,
}

fn normal_ln_pdf(x: f64, mean: f64, var: f64) -> f64 {
    -0.5 * (2.0 * PI * var).ln() - (x - mean) * (x - mean) / (2.0 * var)
}

impl Merton {
    /// Log density of one monthly log return: a Poisson mixture over 0 to
    /// [`MAX_JUMPS`] jumps of normals, the drift compensated so that
    /// `E[S(t+dt)/S(t)] = exp(mu dt)`.
    pub fn ln_density(&self, r: f64) -> f64 {
        let dt = DT_YEARS;
        let k = (self.jump_mean + 0.5 * self.jump_sd * self.jump_sd).exp() - 1.0;
        let m = (self.mu - 0.5 * self.sigma * self.sigma - self.lambda * k) * dt;
        let rate = self.lambda * dt;
        // log-sum-exp over n of ln p_n + ln phi_n.
        let terms: Vec<f64> = (0..=MAX_JUMPS)
            .map(|n| {
                let nf = n as f64;
                let ln_p = -rate + if n == 0 { 0.0 } else { nf * rate.ln() }
                    - (1..=n).map(|i| (i as f64).ln()).sum::<f64>();
                let var = self.sigma * self.sigma * dt + nf * self.jump_sd * self.jump_sd;
                ln_p + normal_ln_pdf(r, m + nf * self.jump_mean, var)
            })
            .collect();
        let top = terms.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        top + terms.iter().map(|t| (t - top).exp()).sum::<f64>().ln()
    }

    pub fn log_likelihood(&self, returns: &[f64]) -> f64 {
        returns.iter().map(|&r| self.ln_density(r)).sum()
    }
}

/// The two fits and the rule's choice.
#[derive(Debug, Clone)]
pub struct BtcFit {
    /// The jump model: mu, sigma, jump_lambda_per_year, jump_mean, jump_sd.
    pub jumps: [Estimate; 5],
    pub ll_jumps: f64,
    /// The normal: mu, sigma.
    pub normal: [Estimate; 2],
    pub ll_normal: f64,
    /// Whether the jump model beats the normal by [`LR_THRESHOLD`].
    pub jumps_selected: bool,
    /// Returns used.
    pub months: usize,
}

const TRANSFORMS: [Transform; 5] = [
    Transform::Identity,
    Transform::LogAbove { lo: SIGMA_MIN },
    Transform::Logistic { hi: LAMBDA_MAX },
    Transform::Identity,
    Transform::LogAbove { lo: JUMP_SD_MIN },
];

fn of_coordinates(x: &[f64]) -> Merton {
    Merton {
        mu: TRANSFORMS[0].value(x[0]),
        sigma: TRANSFORMS[1].value(x[1]),
        lambda: TRANSFORMS[2].value(x[2]),
        jump_mean: TRANSFORMS[3].value(x[3]),
        jump_sd: TRANSFORMS[4].value(x[4]),
    }
}

/// The normal's maximum likelihood (closed form, `sigma >= SIGMA_MIN`):
/// (mu, sigma, log-likelihood, SE of mu, SE of sigma).
pub fn fit_normal(returns: &[f64]) -> [f64; 5] {
    let n = returns.len() as f64;
    let dt = DT_YEARS;
    let mean = returns.iter().sum::<f64>() / n;
    let var = returns.iter().map(|r| (r - mean) * (r - mean)).sum::<f64>() / n;
    let sigma = (var / dt).sqrt().max(SIGMA_MIN);
    let var = sigma * sigma * dt;
    let mu = mean / dt + 0.5 * sigma * sigma;
    let ll = returns.iter().map(|&r| normal_ln_pdf(r, mean, var)).sum();
    // var(mean) = var / n; var(var_hat) = 2 var^2 / n, independent.
    let se_mu = (var / n / (dt * dt) + 2.0 * var * var / n / (4.0 * dt * dt)).sqrt();
    let se_sigma = sigma / (2.0 * n).sqrt();
    [mu, sigma, ll, se_mu, se_sigma]
}

/// Fit both models to monthly log returns.
pub fn fit(returns: &[f64]) -> BtcFit {
    let [mu, sigma, ll_normal, se_mu, se_sigma] = fit_normal(returns);
    let at_min = sigma <= SIGMA_MIN;
    let normal = [
        Estimate::new(mu, Some(se_mu)),
        Estimate {
            at_bound: at_min,
            ..Estimate::new(sigma, (!at_min).then_some(se_sigma))
        },
    ];
    let nll = |x: &[f64]| -of_coordinates(x).log_likelihood(returns);
    // Eight fixed starting points: two volatilities x two intensities x
    // two jump means.
    let mut starts = Vec::new();
    for s in [0.4, 0.7] {
        for l in [1.0, 6.0] {
            for mj in [-0.1, 0.05] {
                let natural = [0.3, s, l, mj, 0.15];
                starts.push(
                    (0..5)
                        .map(|i| TRANSFORMS[i].coordinate(natural[i]))
                        .collect(),
                );
            }
        }
    }
    let (x, best) = optim::minimize(&nll, &starts, 3000);
    let est = optim::estimates(&nll, &x, &TRANSFORMS);
    let jumps: [Estimate; 5] = std::array::from_fn(|i| est[i].clone());
    let ll_jumps = -best;
    BtcFit {
        jumps,
        ll_jumps,
        normal,
        ll_normal,
        jumps_selected: ll_jumps - ll_normal >= LR_THRESHOLD,
        months: returns.len(),
    }
}
