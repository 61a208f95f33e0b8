//! What moves the answer: one-at-a-time sensitivity and breakevens
//! (`pivotsim sensitivity`).
//!
//! One-at-a-time (OAT): each parameter (a numeric key of the scenario, named
//! as errors name it) is set to a low and a high value, the others kept at
//! the file's, and the scenario is run on the same seed and paths as the
//! base (common random numbers: the difference between two points is the
//! parameter's effect, not sampling noise). A point is the scenario built
//! from the file's table with that one key set ([`crate::scenario::edit`]),
//! through the one validation path, and run by the engine exactly as
//! `pivotsim run` runs a file: a row equals, bit for bit, the run of a copy
//! of the file with that key set to the row's value.
//!
//! [`plan`] chooses the parameters and their low and high values (the
//! range, the scenario's `[sensitivity.ranges]`, a calibration's standard
//! errors; clamping and rounding; points skipped and why); [`points`] runs
//! them; [`breakeven`] bisects for the value of a key at which two policies'
//! mean NPVs cross. The CSV, JSON, charts and report are in `report` and
//! `charts`.

pub mod breakeven;
pub mod calibration;
pub mod plan;
pub mod points;

use crate::scenario::edit::NumericKey;
use crate::summary::{MeanSe, Summary};

/// A bad argument or sensitivity setting (exit code 2), with what was
/// expected.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

/// Which value of its parameter a point has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Base,
    Low,
    High,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Base => "base",
            Side::Low => "low",
            Side::High => "high",
        }
    }
}

/// Where a parameter's low and high values come from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Source {
    /// `value x (1 -+ range)`.
    Range(f64),
    /// A fitted key of `--from-calibration`: estimate -+ 2 SE.
    Calibration { estimate: f64, se: f64 },
    /// The scenario's `[sensitivity.ranges]`.
    Explicit,
}

impl Source {
    /// How the values were chosen, in words.
    pub fn describe(self) -> String {
        match self {
            Source::Range(r) => format!("value x (1 -+ {r})"),
            Source::Calibration { estimate, se } => {
                format!("calibration: estimate {estimate} -+ 2 x SE {se}")
            }
            Source::Explicit => "[sensitivity.ranges]".to_string(),
        }
    }
}

/// One side's value: to run, or skipped with the reason (and the value
/// when there is one).
#[derive(Debug, Clone, PartialEq)]
pub enum Candidate {
    Run(f64),
    Skip { value: Option<f64>, reason: String },
}

impl Candidate {
    pub fn value(&self) -> Option<f64> {
        match self {
            Candidate::Run(v) => Some(*v),
            Candidate::Skip { value, .. } => *value,
        }
    }
}

/// A parameter to move, with its low and high values.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// The key, its base value and allowed range.
    pub key: NumericKey,
    pub source: Source,
    pub low: Candidate,
    pub high: Candidate,
}

/// One policy's figures at one point (those of `summary.json` at that
/// point, unrounded).
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyFigures {
    pub policy: String,
    pub npv_usd: MeanSe,
    /// `None` for the baseline.
    pub npv_vs_baseline_usd: Option<MeanSe>,
    pub p_margin_call: f64,
    pub p_liquidation: f64,
}

impl PolicyFigures {
    /// Every policy's figures in a run's summary.
    pub fn of(summary: &Summary) -> Vec<PolicyFigures> {
        summary
            .policies
            .iter()
            .map(|p| PolicyFigures {
                policy: p.name.clone(),
                npv_usd: MeanSe {
                    mean: p.npv_usd.mean,
                    se: p.npv_usd.se,
                },
                npv_vs_baseline_usd: p.npv_vs_baseline_usd,
                p_margin_call: p.p_margin_call,
                p_liquidation: p.p_liquidation,
            })
            .collect()
    }
}

/// What one side of a parameter gave: its value and the policies'
/// figures, or why it was skipped.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub value: Option<f64>,
    pub result: Result<Vec<PolicyFigures>, String>,
}

/// A parameter's two sides.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamResult {
    pub key: String,
    pub base_value: f64,
    pub integer: bool,
    pub source: Source,
    pub low: Outcome,
    pub high: Outcome,
}

/// The result of `pivotsim sensitivity`: the base run whole and every
/// parameter's two sides.
#[derive(Debug, Clone)]
pub struct Sensitivity {
    pub base: Summary,
    pub params: Vec<ParamResult>,
}

impl Sensitivity {
    /// Points run (the base and every side not skipped).
    pub fn points_run(&self) -> usize {
        1 + self
            .params
            .iter()
            .flat_map(|p| [&p.low, &p.high])
            .filter(|o| o.result.is_ok())
            .count()
    }

    /// The policies other than the baseline, in scenario order.
    pub fn compared(&self) -> Vec<&str> {
        self.base
            .policies
            .iter()
            .map(|p| p.name.as_str())
            .filter(|n| *n != self.base.baseline)
            .collect()
    }

    /// The parameters in order of their widest swing of `metric` over
    /// `policies` (widest first; ties in the plan's order).
    pub fn by_swing(&self, metric: Metric, policies: &[&str]) -> Vec<usize> {
        let widest = |i: usize| {
            policies
                .iter()
                .map(|p| self.swing(i, p, metric).width())
                .fold(0.0, f64::max)
        };
        let mut order: Vec<usize> = (0..self.params.len()).collect();
        order.sort_by(|&a, &b| widest(b).total_cmp(&widest(a)).then(a.cmp(&b)));
        order
    }

    /// `metric` of `policy` at the base (0 for none, e.g. the baseline's
    /// difference from itself).
    pub fn base_figure(&self, policy: &str, metric: Metric) -> f64 {
        PolicyFigures::of(&self.base)
            .iter()
            .find(|f| f.policy == policy)
            .and_then(|f| metric.of(f))
            .unwrap_or(0.0)
    }

    /// `metric` of `policy` at the base and at each side of parameter
    /// `i` (the base value for a skipped side).
    pub fn swing(&self, i: usize, policy: &str, metric: Metric) -> Swing {
        let of = |figures: &[PolicyFigures]| {
            figures
                .iter()
                .find(|f| f.policy == policy)
                .and_then(|f| metric.of(f))
        };
        let base = self.base_figure(policy, metric);
        let side = |o: &Outcome| o.result.as_ref().ok().and_then(|f| of(f));
        let p = &self.params[i];
        Swing {
            base,
            low: side(&p.low),
            high: side(&p.high),
        }
    }
}

/// A figure the tornado charts show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Mean NPV minus the baseline's, paired (none for the baseline).
    NpvVsBaseline,
    /// P(margin call).
    MarginCall,
}

impl Metric {
    pub fn of(self, f: &PolicyFigures) -> Option<f64> {
        match self {
            Metric::NpvVsBaseline => f.npv_vs_baseline_usd.map(|d| d.mean),
            Metric::MarginCall => Some(f.p_margin_call),
        }
    }
}

/// A figure at the base and at a parameter's two sides (`None`: skipped).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Swing {
    pub base: f64,
    pub low: Option<f64>,
    pub high: Option<f64>,
}

impl Swing {
    /// The extent of the bar a tornado draws from the base to each side:
    /// `max - min` of the base, low and high (a skipped side is the base).
    pub fn width(&self) -> f64 {
        let (lo, hi) = self.extent();
        hi - lo
    }

    /// The lowest and highest of the base, low and high.
    pub fn extent(&self) -> (f64, f64) {
        let values = [
            self.base,
            self.low.unwrap_or(self.base),
            self.high.unwrap_or(self.base),
        ];
        let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (lo, hi)
    }
}

#[cfg(test)]
mod tests;
