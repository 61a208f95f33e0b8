//! The backward induction (fit a stopping rule on training paths) and the
//! forward pass (apply a fitted rule to other paths).
//!
//! Dates are indexed `0..dates`, the first exercise date being 0; time zero
//! (the valuation date) is not an exercise date. `discount[d]` brings money of
//! date `d` back to the date before it (`discount[0]`: to time zero). The
//! caller's `exercise(date, path, state)` is the value of stopping then, in
//! that date's money, or `None` where stopping is not allowed.

use super::regression::Fitted;
use super::{Basis, LsmError, PathStates, bad};

/// Which paths a date's regression is fitted on, and so where the rule may
/// stop: only those.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Participation {
    /// Paths where stopping is allowed and worth more than zero: the paper's
    /// choice for an option (the continuation value is estimated where the
    /// decision is made, not over paths that would never exercise).
    InTheMoney,
    /// Every path where stopping is allowed, whatever its value (a decision
    /// that can be worth taking at a loss, such as a conversion that only
    /// beats waiting).
    Allowed,
}

impl Participation {
    fn takes_part(self, value: f64) -> bool {
        match self {
            Participation::InTheMoney => value > 0.0,
            Participation::Allowed => true,
        }
    }
}

/// A fitted stopping rule: the continuation regression of each date.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    participation: Participation,
    vars: usize,
    /// `None` at the last date (nothing follows it: continuing is worth 0)
    /// and at a date where no training path took part.
    continuation: Vec<Option<Fitted>>,
}

impl Rule {
    pub fn dates(&self) -> usize {
        self.continuation.len()
    }

    pub fn participation(&self) -> Participation {
        self.participation
    }

    /// The continuation regression at `date`, if one was fitted.
    pub fn continuation(&self, date: usize) -> Option<&Fitted> {
        self.continuation[date].as_ref()
    }

    /// Whether to stop at `date` in `state` when stopping is worth `value`
    /// (`None`: not allowed). A path that takes part stops when its value
    /// beats the estimated continuation, at the last date when it beats 0;
    /// at a date where no training path took part the rule never stops.
    pub fn stops(
        &self,
        date: usize,
        state: &[f64],
        value: Option<f64>,
        scratch: &mut Vec<f64>,
    ) -> bool {
        let Some(value) = value else {
            return false;
        };
        if !self.participation.takes_part(value) {
            return false;
        }
        if date + 1 == self.dates() {
            return value > 0.0;
        }
        match &self.continuation[date] {
            Some(f) => value > f.predict(state, scratch),
            None => false,
        }
    }
}

/// The value of each path under a rule, discounted to time zero (0 where it
/// never stops), and the date it stopped at.
#[derive(Debug, Clone, PartialEq)]
pub struct Valuation {
    pub values: Vec<f64>,
    pub stopped: Vec<Option<usize>>,
}

fn check_discount(discount: &[f64], dates: usize) -> Result<(), LsmError> {
    if discount.len() != dates {
        return Err(bad(
            "discount",
            "one factor per exercise date",
            discount.len(),
        ));
    }
    if let Some(d) = discount.iter().find(|d| !(d.is_finite() && **d > 0.0)) {
        return Err(bad("discount", "finite factors > 0", d));
    }
    Ok(())
}

fn value_at<E>(
    exercise: &E,
    date: usize,
    path: usize,
    state: &[f64],
) -> Result<Option<f64>, LsmError>
where
    E: Fn(usize, usize, &[f64]) -> Option<f64>,
{
    match exercise(date, path, state) {
        Some(v) if !v.is_finite() => Err(LsmError::NonFinite {
            what: "exercise value",
            date,
            path,
        }),
        v => Ok(v),
    }
}

/// Longstaff-Schwartz on `states`: backward from the last date, each
/// path's realised cash flow (what it gets from the rule fitted so far,
/// discounted to the current date) is regressed on `basis` of its state over
/// the paths that take part; a taking-part path whose value of stopping beats
/// the fitted continuation stops there, and its cash flow becomes that value.
/// Returns the rule and each path's in-sample value (their mean is the
/// paper's estimate, biased slightly high by fitting and valuing on the same
/// paths; [`apply`] on other paths gives one biased low).
pub fn fit<E>(
    states: &PathStates,
    basis: &Basis,
    participation: Participation,
    discount: &[f64],
    exercise: E,
) -> Result<(Rule, Valuation), LsmError>
where
    E: Fn(usize, usize, &[f64]) -> Option<f64>,
{
    let (paths, dates, vars) = (states.paths(), states.dates(), states.vars());
    basis.columns(vars)?;
    check_discount(discount, dates)?;
    let mut rule = Rule {
        participation,
        vars,
        continuation: vec![None; dates],
    };
    let mut cash = vec![0.0; paths];
    let mut stopped = vec![None; paths];
    let last = dates - 1;
    let mut scratch = Vec::new();
    for (p, (c, s)) in cash.iter_mut().zip(&mut stopped).enumerate() {
        let state = states.state(last, p);
        let value = value_at(&exercise, last, p, state)?;
        if rule.stops(last, state, value, &mut scratch) {
            (*c, *s) = (value.unwrap_or(0.0), Some(last));
        }
    }
    // The taking-part paths of a date: index, value; their states and cash.
    let mut part: Vec<(usize, f64)> = Vec::with_capacity(paths);
    let mut xs: Vec<f64> = Vec::with_capacity(paths * vars);
    let mut ys: Vec<f64> = Vec::with_capacity(paths);
    for d in (0..last).rev() {
        for c in &mut cash {
            *c *= discount[d + 1];
        }
        part.clear();
        xs.clear();
        ys.clear();
        for (p, &c) in cash.iter().enumerate() {
            let state = states.state(d, p);
            let Some(v) = value_at(&exercise, d, p, state)? else {
                continue;
            };
            if participation.takes_part(v) {
                if state.iter().any(|x| !x.is_finite()) {
                    return Err(LsmError::NonFinite {
                        what: "state",
                        date: d,
                        path: p,
                    });
                }
                part.push((p, v));
                xs.extend_from_slice(state);
                ys.push(c);
            }
        }
        if part.is_empty() {
            continue;
        }
        let (fitted, continuation) = Fitted::fit_and_predict(basis, vars, &xs, &ys)?;
        for (&(p, v), c) in part.iter().zip(continuation) {
            if v > c {
                cash[p] = v;
                stopped[p] = Some(d);
            }
        }
        rule.continuation[d] = Some(fitted);
    }
    for c in &mut cash {
        *c *= discount[0];
    }
    Ok((
        rule,
        Valuation {
            values: cash,
            stopped,
        },
    ))
}

/// `rule` run forward on `states` (paths it was not fitted on): each path
/// stops at the first date the rule says so and is worth that value,
/// discounted to time zero. The mean is a lower-bound estimate (no rule beats
/// the optimal one), free of the in-sample estimate's foresight.
pub fn apply<E>(
    rule: &Rule,
    states: &PathStates,
    discount: &[f64],
    exercise: E,
) -> Result<Valuation, LsmError>
where
    E: Fn(usize, usize, &[f64]) -> Option<f64>,
{
    let (paths, dates) = (states.paths(), states.dates());
    if dates != rule.dates() {
        return Err(bad("dates", "as many as the rule was fitted on", dates));
    }
    if states.vars() != rule.vars {
        return Err(bad(
            "vars",
            "as many as the rule was fitted on",
            states.vars(),
        ));
    }
    check_discount(discount, dates)?;
    let mut values = vec![0.0; paths];
    let mut stopped = vec![None; paths];
    let mut factor = 1.0;
    let mut scratch = Vec::new();
    for (d, df) in discount.iter().enumerate() {
        factor *= df;
        for (p, (v, s)) in values.iter_mut().zip(&mut stopped).enumerate() {
            if s.is_some() {
                continue;
            }
            let state = states.state(d, p);
            let value = value_at(&exercise, d, p, state)?;
            if rule.stops(d, state, value, &mut scratch) {
                (*v, *s) = (value.unwrap_or(0.0) * factor, Some(d));
            }
        }
    }
    Ok(Valuation { values, stopped })
}
