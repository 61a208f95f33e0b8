//! A Bermudan option on a Cox-Ross-Rubinstein binomial tree: the benchmark
//! the Longstaff-Schwartz put is checked against.

use super::{LsmError, bad};

/// Value of a Bermudan option on one asset following geometric Brownian
/// motion under the risk-neutral measure (no dividends), by a CRR tree:
/// `u = exp(sigma sqrt(dt))`, `d = 1/u`, `p = (exp(r dt) - d) / (u - d)`.
/// The tree has the smallest multiple of `dates` steps that is at least
/// `min_steps`, so the exercise dates `k years / dates` (k = 1..=dates, the
/// last at maturity) fall on steps; exercise is allowed there only, never at
/// time zero. `payoff(spot)` is the value of exercising; holding an option
/// is worth at least 0.
pub fn bermudan<F>(
    spot: f64,
    sigma: f64,
    years: f64,
    rate: f64,
    dates: usize,
    min_steps: usize,
    payoff: F,
) -> Result<f64, LsmError>
where
    F: Fn(f64) -> f64,
{
    if dates == 0 {
        return Err(bad("dates", "at least 1", dates));
    }
    let per_date = min_steps.div_ceil(dates).max(1);
    let steps = per_date * dates;
    let dt = years / steps as f64;
    let up = sigma * dt.sqrt();
    let (u, d) = (up.exp(), (-up).exp());
    let growth = (rate * dt).exp();
    let p = (growth - d) / (u - d);
    if !(p > 0.0 && p < 1.0 && spot > 0.0 && spot.is_finite()) {
        return Err(bad(
            "tree",
            "an up-move probability in (0, 1): sigma > 0 and a small enough rate step",
            format!("p = {p}"),
        ));
    }
    let (pu, pd) = (p / growth, (1.0 - p) / growth);
    let node = |i: usize, j: usize| spot * ((2.0 * j as f64 - i as f64) * up).exp();
    let mut v: Vec<f64> = (0..=steps)
        .map(|j| payoff(node(steps, j)).max(0.0))
        .collect();
    for i in (0..steps).rev() {
        for j in 0..=i {
            v[j] = pu * v[j + 1] + pd * v[j];
        }
        if i > 0 && i % per_date == 0 {
            for (j, vj) in v.iter_mut().enumerate().take(i + 1) {
                *vj = vj.max(payoff(node(i, j)));
            }
        }
    }
    Ok(v[0])
}
