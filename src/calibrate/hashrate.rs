//! The hashrate equation's maximum likelihood on history: one normal term
//! per one-month change of `ln H` (mean [`Dynamics::mean_step`], variance
//! `sigma^2 dt`), over a grid of lags and machine lives.

use chrono::NaiveDate;
use rayon::prelude::*;

use super::Estimate;
use super::optim::{self, Transform};
use crate::history::{Drivers, Dynamics, History};
use crate::model::calendar::DT_YEARS;

/// The lags and machine lives tried, and the cell kept unless another one
/// beats it by [`GRID_MARGIN`].
#[derive(Debug, Clone)]
pub struct Grid {
    pub lags: Vec<usize>,
    pub lives: Vec<usize>,
    pub default: (usize, usize),
}

/// Log-likelihood units by which a cell must beat the default.
pub const GRID_MARGIN: f64 = 2.0;
/// Each kappa is at most this (kappa dt <= 1).
pub const KAPPA_MAX: f64 = 12.0;

impl Grid {
    /// `lag_months` 0..6 x `machine_life_months` {1, 12, 24, 36, 48},
    /// default (3, 36).
    pub fn standard() -> Grid {
        Grid {
            lags: (0..=6).collect(),
            lives: vec![1, 12, 24, 36, 48],
            default: (3, 36),
        }
    }

    fn cells(&self) -> Vec<(usize, usize)> {
        self.lags
            .iter()
            .flat_map(|&l| self.lives.iter().map(move |&m| (l, m)))
            .collect()
    }
}

/// What is fitted, and from what.
#[derive(Debug, Clone)]
pub struct Setup<'a> {
    pub history: &'a History,
    /// The window: file months `first .. first + len`.
    pub first: usize,
    pub len: usize,
    /// Break-even and efficiency gain carried to the window's first month
    /// (the scenario's, or the starting values when fitted).
    pub breakeven_at_first: f64,
    pub efficiency_gain_per_year: f64,
    pub fit_breakeven: bool,
}

/// One grid cell's maximum.
#[derive(Debug, Clone)]
pub struct Cell {
    pub lag_months: usize,
    pub machine_life_months: usize,
    pub log_likelihood: f64,
    x: Vec<f64>,
}

#[derive(Debug, Clone)]
pub struct HashrateFit {
    /// kappa_up, kappa_down, kappa_exit, cash_cost_share, sigma, and with
    /// `fit_breakeven` the break-even at the window's first month and the
    /// efficiency gain.
    pub estimates: Vec<Estimate>,
    pub lag_months: usize,
    pub machine_life_months: usize,
    pub log_likelihood: f64,
    /// Every cell, in grid order.
    pub grid: Vec<Cell>,
    /// Pairs (t, t+1) in the likelihood.
    pub pairs: usize,
    /// The fitted equation (anchored at the window's first month).
    pub dynamics: Dynamics,
}

const TRANSFORMS: [Transform; 7] = [
    Transform::Logistic { hi: KAPPA_MAX },
    Transform::Logistic { hi: KAPPA_MAX },
    Transform::Logistic { hi: KAPPA_MAX },
    Transform::Logistic { hi: 1.0 },
    Transform::LogAbove { lo: 0.0 },
    Transform::LogAbove { lo: 0.0 },
    Transform::Identity,
];

impl Setup<'_> {
    fn anchor(&self) -> NaiveDate {
        self.history.months[self.first].month
    }

    fn dims(&self) -> usize {
        if self.fit_breakeven { 7 } else { 5 }
    }

    /// The equation at coordinates `x`, anchored at the window's start.
    pub fn dynamics(&self, x: &[f64]) -> Dynamics {
        let v = |i: usize| TRANSFORMS[i].value(x[i]);
        let (breakeven, gain) = if self.fit_breakeven {
            (v(5), v(6))
        } else {
            (self.breakeven_at_first, self.efficiency_gain_per_year)
        };
        Dynamics {
            kappa_up_per_year: v(0),
            kappa_down_per_year: v(1),
            kappa_exit_per_year: v(2),
            cash_cost_share: v(3),
            sigma: v(4),
            capitulation: true,
            breakeven_usd_per_eh_day: breakeven,
            efficiency_gain_per_year: gain,
            anchor: self.anchor(),
        }
    }

    fn drivers(&self, lag: usize, life: usize) -> Drivers {
        Drivers::new(self.history, self.first, self.len, lag, life, self.anchor())
    }

    /// Eight fixed starting points (natural scale, then transformed).
    fn starts(&self) -> Vec<Vec<f64>> {
        const KAPPAS: [[f64; 5]; 8] = [
            [1.0, 0.5, 6.0, 0.6, 0.1],
            [3.0, 1.0, 6.0, 0.6, 0.1],
            [1.0, 0.5, 1.0, 0.8, 0.2],
            [6.0, 2.0, 10.0, 0.4, 0.1],
            [0.3, 0.1, 3.0, 0.5, 0.05],
            [2.0, 2.0, 11.0, 0.7, 0.15],
            [5.0, 0.2, 2.0, 0.3, 0.3],
            [0.5, 3.0, 8.0, 0.9, 0.1],
        ];
        KAPPAS
            .iter()
            .enumerate()
            .map(|(k, row)| {
                let mut natural = row.to_vec();
                if self.fit_breakeven {
                    let scale = if k % 2 == 0 { 1.0 } else { 0.5 };
                    let gain = if k % 4 < 2 {
                        self.efficiency_gain_per_year
                    } else {
                        0.1
                    };
                    natural.extend([self.breakeven_at_first * scale, gain]);
                }
                natural
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| TRANSFORMS[i].coordinate(v))
                    .collect()
            })
            .collect()
    }
}

/// The log-likelihood of `dynamics` over the pairs (t, t+1) where `used[t]`.
pub fn log_likelihood(dynamics: &Dynamics, drivers: &Drivers, used: &[bool]) -> f64 {
    let var = dynamics.sigma * dynamics.sigma * DT_YEARS;
    let norm = -0.5 * (2.0 * std::f64::consts::PI * var).ln();
    let mut ll = 0.0;
    for (t, _) in used.iter().enumerate().filter(|(_, u)| **u) {
        let (Some(a), Some(b)) = (drivers.ln_h[t], drivers.ln_h[t + 1]) else {
            continue;
        };
        let Some(mean) = dynamics.mean_step(drivers, t, a) else {
            continue;
        };
        let e = b - a - mean;
        ll += norm - e * e / (2.0 * var);
    }
    ll
}

/// The pairs (t, t+1) usable in every cell: both H present and the drivers
/// of month t present whatever the lag and machine life.
fn common_pairs(all: &[Drivers], len: usize) -> Vec<bool> {
    (0..len.saturating_sub(1))
        .map(|t| {
            all.iter().all(|d| {
                d.ln_h[t].is_some()
                    && d.ln_h[t + 1].is_some()
                    && d.ln_value_cash[t].is_some()
                    && d.ln_value_eq_lagged[t].is_some()
            })
        })
        .collect()
}

/// Fit every grid cell, keep the default cell unless another beats it by
/// [`GRID_MARGIN`] (the best cell if the default is not in the grid), and
/// compute the estimates there.
pub fn fit(setup: &Setup<'_>, grid: &Grid) -> HashrateFit {
    let cells = grid.cells();
    let drivers: Vec<Drivers> = cells.iter().map(|&(l, m)| setup.drivers(l, m)).collect();
    let used = common_pairs(&drivers, setup.len);
    let starts = setup.starts();
    let dims = setup.dims();
    let fitted: Vec<Cell> = cells
        .par_iter()
        .zip(drivers.par_iter())
        .map(|(&(lag, life), d)| {
            let nll = |x: &[f64]| -log_likelihood(&setup.dynamics(x), d, &used);
            let (x, best) = optim::minimize(&nll, &starts, 400 * dims as u64);
            Cell {
                lag_months: lag,
                machine_life_months: life,
                log_likelihood: -best,
                x,
            }
        })
        .collect();
    let best = (0..fitted.len())
        .max_by(|&a, &b| {
            fitted[a]
                .log_likelihood
                .total_cmp(&fitted[b].log_likelihood)
        })
        .expect("a non-empty grid");
    let chosen = match cells.iter().position(|&c| c == grid.default) {
        Some(d) if fitted[best].log_likelihood - fitted[d].log_likelihood < GRID_MARGIN => d,
        _ => best,
    };
    let cell = &fitted[chosen];
    let d = &drivers[chosen];
    let nll = |x: &[f64]| -log_likelihood(&setup.dynamics(x), d, &used);
    HashrateFit {
        estimates: optim::estimates(&nll, &cell.x, &TRANSFORMS[..dims]),
        lag_months: cell.lag_months,
        machine_life_months: cell.machine_life_months,
        log_likelihood: cell.log_likelihood,
        dynamics: setup.dynamics(&cell.x),
        pairs: used.iter().filter(|u| **u).count(),
        grid: fitted,
    }
}
