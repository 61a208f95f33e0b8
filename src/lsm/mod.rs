//! Longstaff-Schwartz (2001): optimal stopping by least-squares regression of
//! realised continuation values on basis functions of the state, backward over
//! the exercise dates. Knows no domain: the caller brings the states of its
//! simulated paths ([`PathStates`]), the value of stopping at a date
//! (a closure), the discount factor per step and which paths take part in
//! each regression ([`Participation`]).
//!
//! The pieces, each usable alone:
//!
//! - [`basis`]: the functions regressed on ([`Basis`]): a constant and the
//!   first k weighted Laguerre polynomials of one state variable (the paper's
//!   basis), or every monomial up to a total degree (1..4) in d state
//!   variables standardised on the fitting sample.
//! - [`regression`]: least squares through nalgebra (Householder QR, then an
//!   SVD of R with singular values below a relative tolerance dropped, so a
//!   rank-deficient design gives the minimum-norm fit instead of noise), and
//!   [`Fitted`], one date's regression, which predicts the continuation value
//!   of a new state.
//! - [`backward`]: the algorithm. [`fit`] runs the backward induction on
//!   training paths and returns the stopping [`Rule`] (one [`Fitted`] per
//!   date) with the in-sample value of every path (the paper's estimate);
//!   [`apply`] runs a fitted rule forward on independent paths (an
//!   out-of-sample estimate, biased low as any fixed rule is).
//! - [`put`], [`tree`]: the classic check, the American (Bermudan) put under
//!   geometric Brownian motion with antithetic pairs, and a Cox-Ross-Rubinstein
//!   tree with the same exercise dates to compare it with
//!   (`examples/american_put.rs`, `tests/integration/lsm.rs`).
//!
//! The algorithm is described in `docs/model.md` ("Longstaff-Schwartz").
//! Everything here is sequential in path order apart from the put's path
//! generation, whose pairs draw from streams of their own, so results do not
//! depend on the thread count.

pub mod backward;
pub mod basis;
pub mod put;
pub mod regression;
pub mod tree;

pub use backward::{Participation, Rule, Valuation, apply, fit};
pub use basis::Basis;
pub use regression::{Fitted, least_squares};

/// What went wrong, naming the argument and what was expected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LsmError {
    /// An argument out of its range: its name and what was expected.
    #[error("{name}: expected {expected}, got {got}")]
    BadInput {
        name: &'static str,
        expected: &'static str,
        got: String,
    },
    /// A state or target that is NaN or infinite, at this date and path.
    #[error("non-finite {what} at date {date}, path {path}")]
    NonFinite {
        what: &'static str,
        date: usize,
        path: usize,
    },
    /// The least-squares solver failed (the SVD did not converge).
    #[error("least squares: {0}")]
    Solver(String),
}

pub(crate) fn bad(name: &'static str, expected: &'static str, got: impl ToString) -> LsmError {
    LsmError::BadInput {
        name,
        expected,
        got: got.to_string(),
    }
}

/// The states of a set of simulated paths at each exercise date: `vars`
/// numbers per path and date, stored date by date (the paths of one date are
/// contiguous, as a regression at that date reads them).
#[derive(Debug, Clone, PartialEq)]
pub struct PathStates {
    paths: usize,
    dates: usize,
    vars: usize,
    data: Vec<f64>,
}

impl PathStates {
    /// All zeros, to be filled through [`PathStates::date_mut`] or
    /// [`PathStates::state_mut`].
    pub fn zeros(paths: usize, dates: usize, vars: usize) -> Result<Self, LsmError> {
        if paths == 0 {
            return Err(bad("paths", "at least 1", paths));
        }
        if dates == 0 {
            return Err(bad("dates", "at least 1", dates));
        }
        if vars == 0 {
            return Err(bad("vars", "at least 1", vars));
        }
        let len = paths
            .checked_mul(dates)
            .and_then(|n| n.checked_mul(vars))
            .ok_or_else(|| bad("paths x dates x vars", "a size that fits in memory", paths))?;
        Ok(PathStates {
            paths,
            dates,
            vars,
            data: vec![0.0; len],
        })
    }

    pub fn paths(&self) -> usize {
        self.paths
    }

    pub fn dates(&self) -> usize {
        self.dates
    }

    pub fn vars(&self) -> usize {
        self.vars
    }

    /// The state of `path` at `date` (`vars` numbers).
    pub fn state(&self, date: usize, path: usize) -> &[f64] {
        let at = (date * self.paths + path) * self.vars;
        &self.data[at..at + self.vars]
    }

    pub fn state_mut(&mut self, date: usize, path: usize) -> &mut [f64] {
        let at = (date * self.paths + path) * self.vars;
        &mut self.data[at..at + self.vars]
    }

    /// Every path's state at `date`, path after path (`paths x vars`).
    pub fn date(&self, date: usize) -> &[f64] {
        let len = self.paths * self.vars;
        &self.data[date * len..(date + 1) * len]
    }

    pub fn date_mut(&mut self, date: usize) -> &mut [f64] {
        let len = self.paths * self.vars;
        &mut self.data[date * len..(date + 1) * len]
    }
}

/// Mean and standard error of per-path values; with `pairs`, paths 2i and
/// 2i+1 are antithetic partners and the standard error is that of the
/// `n/2` pair averages (the pairs are independent, the paths within one are
/// not). Summed in path order.
pub fn mean_se(values: &[f64], pairs: bool) -> (f64, f64) {
    let units: Vec<f64> = if pairs {
        values
            .chunks(2)
            .map(|c| c.iter().sum::<f64>() / c.len() as f64)
            .collect()
    } else {
        values.to_vec()
    };
    let n = units.len() as f64;
    if units.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let mean = units.iter().sum::<f64>() / n;
    if units.len() < 2 {
        return (mean, f64::NAN);
    }
    let var = units.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

#[cfg(test)]
mod tests;
