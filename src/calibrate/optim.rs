//! Maximum likelihood on transformed scales: the parameter maps, a
//! multi-start Nelder-Mead (argmin's), the finite-difference Hessian, and
//! standard errors from the inverse observed information by the delta
//! method, with the at-bound and identification flags.

use argmin::core::{CostFunction, Error, Executor, State};
use argmin::solver::neldermead::NelderMead;

use super::Estimate;

/// How a parameter maps from the optimiser's unbounded coordinate `x`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Transform {
    /// `hi * logistic(x)`: a rate or share in (0, hi).
    Logistic { hi: f64 },
    /// `lo + exp(x)`: a rate or volatility above `lo`.
    LogAbove { lo: f64 },
    /// `x`: a parameter of any sign.
    Identity,
}

/// Within this share of its range of a bound (logistic), or below this
/// coordinate (log), an estimate is reported at the bound.
const LOGISTIC_EDGE: f64 = 1e-3;
const LOG_EDGE: f64 = -9.0;

fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

impl Transform {
    pub fn value(self, x: f64) -> f64 {
        match self {
            Transform::Logistic { hi } => hi * logistic(x),
            Transform::LogAbove { lo } => lo + x.exp(),
            Transform::Identity => x,
        }
    }

    /// The coordinate of `value` (clamped just inside the range).
    pub fn coordinate(self, value: f64) -> f64 {
        match self {
            Transform::Logistic { hi } => {
                let p = (value / hi).clamp(1e-9, 1.0 - 1e-9);
                (p / (1.0 - p)).ln()
            }
            Transform::LogAbove { lo } => (value - lo).max(1e-12).ln(),
            Transform::Identity => value,
        }
    }

    /// d value / d x.
    pub fn derivative(self, x: f64) -> f64 {
        match self {
            Transform::Logistic { hi } => {
                let p = logistic(x);
                hi * p * (1.0 - p)
            }
            Transform::LogAbove { .. } => x.exp(),
            Transform::Identity => 1.0,
        }
    }

    pub fn at_bound(self, x: f64) -> bool {
        match self {
            Transform::Logistic { .. } => {
                let p = logistic(x);
                !(LOGISTIC_EDGE..=1.0 - LOGISTIC_EDGE).contains(&p)
            }
            Transform::LogAbove { lo } => {
                let edge = if lo > 0.0 {
                    (LOGISTIC_EDGE * lo).ln()
                } else {
                    LOG_EDGE
                };
                x < edge
            }
            Transform::Identity => false,
        }
    }
}

/// A negative log-likelihood on the transformed scale, for argmin.
struct Cost<'a> {
    f: &'a dyn Fn(&[f64]) -> f64,
}

impl CostFunction for Cost<'_> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, x: &Self::Param) -> Result<f64, Error> {
        let v = (self.f)(x);
        // Nelder-Mead sorts by cost: keep it finite.
        Ok(if v.is_finite() { v } else { 1e30 })
    }
}

/// One Nelder-Mead run from `x0` (initial simplex: steps of 0.5 on each
/// coordinate), restarted once from its end point so that a collapsed
/// simplex does not stop it early.
fn nelder_mead(f: &dyn Fn(&[f64]) -> f64, x0: &[f64], max_iters: u64) -> (Vec<f64>, f64) {
    let mut best = (x0.to_vec(), f64::INFINITY);
    for _ in 0..2 {
        let mut simplex = vec![best.0.clone()];
        for i in 0..x0.len() {
            let mut v = best.0.clone();
            v[i] += 0.5;
            simplex.push(v);
        }
        let solver = NelderMead::new(simplex)
            .with_sd_tolerance(1e-9)
            .expect("a valid tolerance");
        let result = Executor::new(Cost { f }, solver)
            .configure(|state| state.max_iters(max_iters))
            .timer(false)
            .run();
        if let Ok(result) = result {
            let state = result.state();
            if let Some(p) = state.get_best_param() {
                let cost = state.get_best_cost();
                if cost < best.1 {
                    best = (p.clone(), cost);
                }
            }
        }
    }
    best
}

/// The best of Nelder-Mead runs from each starting coordinate: (x, -ll).
pub fn minimize(f: &dyn Fn(&[f64]) -> f64, starts: &[Vec<f64>], max_iters: u64) -> (Vec<f64>, f64) {
    starts.iter().map(|x0| nelder_mead(f, x0, max_iters)).fold(
        (starts[0].clone(), f64::INFINITY),
        |a, b| {
            if b.1 < a.1 { b } else { a }
        },
    )
}

/// The target change of the negative log-likelihood over one step of the
/// finite-difference Hessian: the step is the scale at which the
/// likelihood falls by a couple of units (about one standard error), so
/// that the branch switches of the hashrate equation, which make the
/// likelihood jump by fractions of a unit, do not pass for curvature.
const STEP_RISE: std::ops::RangeInclusive<f64> = 1.0..=4.0;

/// The step of coordinate i: starting at 0.1, doubled or halved until the
/// mean rise on both sides is within [`STEP_RISE`] (at most 4, at least
/// 1e-5).
fn step(f: &dyn Fn(&[f64]) -> f64, x: &[f64], i: usize, f0: f64) -> f64 {
    let mut h: f64 = 0.1;
    for _ in 0..40 {
        let mut y = x.to_vec();
        y[i] = x[i] + h;
        let up = f(&y);
        y[i] = x[i] - h;
        let rise = 0.5 * (up + f(&y)) - f0;
        if rise < *STEP_RISE.start() && h < 4.0 {
            h *= 2.0;
        } else if rise > *STEP_RISE.end() && h > 1e-5 {
            h *= 0.5;
        } else {
            break;
        }
    }
    h
}

/// Central finite-difference Hessian of `f` at `x` over the coordinates
/// `coords` (steps from [`step`]).
pub fn hessian(f: &dyn Fn(&[f64]) -> f64, x: &[f64], coords: &[usize]) -> Vec<Vec<f64>> {
    let n = coords.len();
    let f0 = f(x);
    let h: Vec<f64> = coords.iter().map(|&i| step(f, x, i, f0)).collect();
    let at = |d: &[(usize, f64)]| {
        let mut y = x.to_vec();
        for &(k, s) in d {
            y[coords[k]] += s * h[k];
        }
        f(&y)
    };
    let mut m = vec![vec![0.0; n]; n];
    for i in 0..n {
        m[i][i] = (at(&[(i, 1.0)]) - 2.0 * f0 + at(&[(i, -1.0)])) / (h[i] * h[i]);
        for j in 0..i {
            let v = (at(&[(i, 1.0), (j, 1.0)])
                - at(&[(i, 1.0), (j, -1.0)])
                - at(&[(i, -1.0), (j, 1.0)])
                + at(&[(i, -1.0), (j, -1.0)]))
                / (4.0 * h[i] * h[j]);
            m[i][j] = v;
            m[j][i] = v;
        }
    }
    m
}

/// Eigenvalues and eigenvectors (columns) of a symmetric matrix, by Jacobi
/// rotations.
pub fn symmetric_eigen(a: &[Vec<f64>]) -> (Vec<f64>, Vec<Vec<f64>>) {
    let n = a.len();
    let mut a = a.to_vec();
    let mut v: Vec<Vec<f64>> = (0..n)
        .map(|i| (0..n).map(|j| f64::from(u8::from(i == j))).collect())
        .collect();
    for _ in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i][j] * a[i][j])
            .sum();
        let scale: f64 = (0..n).map(|i| a[i][i] * a[i][i]).sum::<f64>().max(1e-300);
        if off <= 1e-24 * scale {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                if a[p][q] == 0.0 {
                    continue;
                }
                let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for row in a.iter_mut() {
                    let (akp, akq) = (row[p], row[q]);
                    row[p] = c * akp - s * akq;
                    row[q] = s * akp + c * akq;
                }
                let (row_p, row_q) = (a[p].clone(), a[q].clone());
                for (k, (apk, aqk)) in row_p.into_iter().zip(row_q).enumerate() {
                    a[p][k] = c * apk - s * aqk;
                    a[q][k] = s * apk + c * aqk;
                }
                for row in v.iter_mut() {
                    let (vkp, vkq) = (row[p], row[q]);
                    row[p] = c * vkp - s * vkq;
                    row[q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..n).map(|i| a[i][i]).collect(), v)
}

/// A rise of the negative log-likelihood below this is no change.
const FLAT_RISE: f64 = 1e-6;
/// An eigenvalue at or below this share of the largest counts as not
/// positive: the likelihood is flat (or curved the wrong way) along it.
const FLAT: f64 = 1e-9;
/// A parameter whose weight in such a direction is at least this is not
/// identified.
const LOADING: f64 = 0.3;

/// The inverse of a symmetric positive definite matrix from its eigen
/// decomposition, or `None` if it is not positive definite.
fn spd_inverse(m: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let n = m.len();
    let (values, vectors) = symmetric_eigen(m);
    let top = values.iter().cloned().fold(0.0, f64::max);
    if n > 0 && (top <= 0.0 || values.iter().any(|&l| l <= FLAT * top)) {
        return None;
    }
    Some(
        (0..n)
            .map(|i| {
                (0..n)
                    .map(|j| {
                        (0..n)
                            .map(|k| vectors[i][k] * vectors[j][k] / values[k])
                            .sum()
                    })
                    .collect()
            })
            .collect(),
    )
}

/// The estimates at the optimum `x` of the negative log-likelihood `f`:
/// values, standard errors by the delta method from the inverse Hessian on
/// the transformed scale, the at-bound flags (those parameters are left
/// out of the Hessian; one whose move back inside leaves the likelihood
/// unchanged is not identified), and the identification flags (a parameter that
/// weighs on a direction where the Hessian is not positive is not
/// identified; the others' errors come from the Hessian without it).
pub fn estimates(f: &dyn Fn(&[f64]) -> f64, x: &[f64], transforms: &[Transform]) -> Vec<Estimate> {
    let n = x.len();
    let at_bound: Vec<bool> = (0..n).map(|i| transforms[i].at_bound(x[i])).collect();
    let free: Vec<usize> = (0..n).filter(|&i| !at_bound[i]).collect();
    // Rows and columns of the free parameters, by position in `free`.
    let full = hessian(f, x, &free);
    let sub = |keep: &[usize]| -> Vec<Vec<f64>> {
        let pos = |i: usize| free.iter().position(|&k| k == i).expect("a free parameter");
        keep.iter()
            .map(|&i| keep.iter().map(|&j| full[pos(i)][pos(j)]).collect())
            .collect()
    };
    let mut identified = vec![true; n];
    // A parameter at a bound is not identified when the likelihood does not
    // change as it moves back inside (to coordinate 0): it drifted there
    // along a flat direction (kappa_exit when the exit branch never applies).
    let f0 = f(x);
    for i in (0..n).filter(|&i| at_bound[i]) {
        let mut y = x.to_vec();
        y[i] = 0.0;
        if (f(&y) - f0).abs() < FLAT_RISE {
            identified[i] = false;
        }
    }
    let (values, vectors) = symmetric_eigen(&sub(&free));
    let top = values.iter().cloned().fold(0.0, f64::max);
    for (k, &l) in values.iter().enumerate() {
        if top <= 0.0 || l <= FLAT * top {
            let weights: Vec<f64> = vectors.iter().map(|row| row[k].abs()).collect();
            let max = weights.iter().cloned().fold(0.0, f64::max);
            for (r, &w) in weights.iter().enumerate() {
                if w >= LOADING || w == max {
                    identified[free[r]] = false;
                }
            }
        }
    }
    let kept: Vec<usize> = free.iter().copied().filter(|&i| identified[i]).collect();
    let inverse = spd_inverse(&sub(&kept));
    (0..n)
        .map(|i| {
            let se = kept.iter().position(|&j| j == i).and_then(|r| {
                let var = inverse.as_ref()?[r][r];
                (var.is_finite() && var >= 0.0)
                    .then(|| transforms[i].derivative(x[i]).abs() * var.sqrt())
            });
            Estimate {
                estimate: transforms[i].value(x[i]),
                se,
                at_bound: at_bound[i],
                identified: identified[i],
            }
        })
        .collect()
}
