//! `pivotsim optimize`: the best setting of one policy's keys under risk
//! limits, on common random numbers.
//!
//! Every point of a grid over the policy's keys ([`grid`]) is a variant of
//! the scenario's policy ([`crate::scenario::variant`]), and all of them
//! are replayed on the same paths in one pass ([`Engine::sweep`]), each
//! paired with the baseline. A point is feasible when its P(margin call)
//! and P(liquidation) are within the limits ([`Limits`]); the winner is the
//! feasible point with the highest mean NPV (ties: the first in grid
//! order). Picking the best of many noisy estimates flatters it, so the
//! winner is run again on paths of another seed (`--validate-seed`,
//! default seed + 1): the out-of-sample figure, and the in-sample gain
//! over the baseline minus the out-of-sample one, the optimism.
//!
//! [`prepare`] checks everything a user gives (before anything is
//! simulated); [`Prepared::run`] simulates.

pub mod grid;

use std::path::Path;

use crate::engine::Engine;
use crate::engine::sweep::{SweepOptions, VariantFigures};
use crate::scenario::variant::{ParamValue, PolicyTable};
use crate::scenario::{self, Overrides, PolicySpec, Scenario, ScenarioError};
use grid::Grid;

/// Bad input to `optimize` that is not the scenario file's (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum OptimizeError {
    #[error("--grid: {0}")]
    Grid(String),
    #[error("{flag}: expected a fraction in [0, 1], got {value}")]
    Limit { flag: &'static str, value: f64 },
    #[error("--policy: {0}")]
    Policy(String),
}

/// The risk limits: fractions of paths; `None` is no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Limits {
    pub max_p_margin_call: Option<f64>,
    pub max_p_liquidation: Option<f64>,
}

impl Limits {
    /// Both limits in [0, 1] (NaN is not).
    pub fn check(&self) -> Result<(), OptimizeError> {
        for (flag, value) in [
            ("--max-p-margin-call", self.max_p_margin_call),
            ("--max-p-liquidation", self.max_p_liquidation),
        ] {
            if let Some(v) = value.filter(|v| !(0.0..=1.0).contains(v)) {
                return Err(OptimizeError::Limit { flag, value: v });
            }
        }
        Ok(())
    }

    /// `P(margin call) <= 12.0%, P(liquidation) <= 1.0%`, or `no limits`.
    pub fn text(&self) -> String {
        let mut parts = Vec::new();
        if let Some(x) = self.max_p_margin_call {
            parts.push(format!("P(margin call) <= {}", crate::format::pct(x)));
        }
        if let Some(y) = self.max_p_liquidation {
            parts.push(format!("P(liquidation) <= {}", crate::format::pct(y)));
        }
        if parts.is_empty() {
            "no limits".into()
        } else {
            parts.join(", ")
        }
    }

    /// Whether figures `f` are within the limits.
    pub fn admit(&self, f: &VariantFigures) -> bool {
        self.max_p_margin_call.is_none_or(|x| f.p_margin_call <= x)
            && self.max_p_liquidation.is_none_or(|y| f.p_liquidation <= y)
    }
}

/// What to optimise.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub scenario: &'a Path,
    /// `--paths`, `--seed`.
    pub overrides: Overrides,
    pub policy: &'a str,
    pub grid: &'a str,
    pub limits: Limits,
    /// Default: the seed + 1, wrapping.
    pub validate_seed: Option<u64>,
}

/// A request checked and its variants built: ready to simulate.
pub struct Prepared {
    pub scenario: Scenario,
    pub table: PolicyTable,
    pub policy: String,
    /// The policy's place in the scenario, and the baseline's.
    pub index: usize,
    pub baseline: usize,
    pub grid: Grid,
    /// One per grid point, in grid order.
    pub variants: Vec<PolicySpec>,
    pub limits: Limits,
    pub validate_seed: u64,
}

/// One point of the grid and its figures.
#[derive(Debug, Clone)]
pub struct Row {
    /// Its value on each axis, in SPEC order.
    pub params: Vec<(String, ParamValue)>,
    /// How many of the SPEC's points it stands for.
    pub merged: u64,
    pub figures: VariantFigures,
    pub feasible: bool,
}

/// The winner.
#[derive(Debug, Clone)]
pub struct Best {
    /// Its row.
    pub row: usize,
    pub in_sample: VariantFigures,
    /// On the validation seed's paths.
    pub out_of_sample: VariantFigures,
    /// Its `[[policies]]` table, named `<policy>_best`, to paste.
    pub table: String,
}

impl Best {
    /// In-sample mean gain over the baseline minus the out-of-sample one,
    /// and its standard error (the two seeds' paths are independent).
    pub fn optimism_usd(&self) -> (f64, f64) {
        let (a, b) = (
            self.in_sample.npv_vs_baseline_usd,
            self.out_of_sample.npv_vs_baseline_usd,
        );
        (a.mean - b.mean, a.se.hypot(b.se))
    }
}

/// The outcome of `optimize`.
#[derive(Debug, Clone)]
pub struct Optimization {
    pub scenario: String,
    pub scenario_sha256: String,
    pub policy: String,
    pub kind: String,
    pub baseline: String,
    pub seed: u64,
    pub validate_seed: u64,
    pub paths: u64,
    pub grid: Grid,
    pub limits: Limits,
    pub rows: Vec<Row>,
    /// The baseline's figures on the run's paths and on the validation
    /// seed's (the latter only with a winner).
    pub baseline_in_sample: VariantFigures,
    pub baseline_out_of_sample: Option<VariantFigures>,
    pub best: Option<Best>,
    /// Why there is no winner.
    pub no_best: Option<String>,
    pub threads: usize,
    pub elapsed_s: f64,
    pub run_started_utc: String,
}

/// Load the scenario, find the policy and the baseline, parse the grid and
/// build every variant through the scenario's validation.
pub fn prepare(req: &Request<'_>) -> anyhow::Result<Prepared> {
    req.limits.check()?;
    let sc = scenario::load_with(req.scenario, &req.overrides)?;
    let names = || {
        let names: Vec<&str> = sc.policies.iter().map(|p| p.name.as_str()).collect();
        names.join(", ")
    };
    let Some(index) = sc.policies.iter().position(|p| p.name == req.policy) else {
        let msg = format!(
            "no policy named `{}`; the policies are {}",
            req.policy,
            names()
        );
        return Err(OptimizeError::Policy(msg).into());
    };
    let baseline = if sc.baseline != index {
        sc.baseline
    } else if let Some(other) = (0..sc.policies.len()).find(|&p| p != index) {
        other
    } else {
        let msg = format!(
            "`{}` is the only policy of {}: add another (e.g. a `hold`) as the baseline",
            req.policy,
            req.scenario.display()
        );
        return Err(OptimizeError::Policy(msg).into());
    };
    let table =
        PolicyTable::load(req.scenario, req.policy)?.ok_or_else(|| ScenarioError::Parse {
            file: req.scenario.to_path_buf(),
            message: "changed while it was read".into(),
        })?;
    let grid = Grid::parse(req.grid, &table, req.policy)?;
    let mut variants = Vec::with_capacity(grid.len());
    for i in 0..grid.len() {
        let (point, _) = grid.point(i);
        let spec = table.variant(&point).map_err(|e| {
            let at: Vec<String> = point.iter().map(|(k, v)| format!("{k} = {v}")).collect();
            anyhow::Error::new(e).context(format!("--grid: the point {}", at.join(", ")))
        })?;
        variants.push(spec);
    }
    let seed = sc.simulation.seed;
    Ok(Prepared {
        policy: req.policy.to_string(),
        index,
        baseline,
        grid,
        variants,
        limits: req.limits,
        validate_seed: req.validate_seed.unwrap_or(seed.wrapping_add(1)),
        table,
        scenario: sc,
    })
}

impl Prepared {
    /// Sweep the grid, pick the winner and run it on the validation seed.
    pub fn run(self, threads: usize, progress: bool) -> Optimization {
        let run_started_utc = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let started = std::time::Instant::now();
        let opts = SweepOptions {
            threads,
            progress,
            baseline: self.baseline,
        };
        let sc = &self.scenario;
        let sweep = Engine::new(sc.clone()).sweep(&self.variants, &opts);
        let rows: Vec<Row> = sweep
            .variants
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let (point, merged) = self.grid.point(i);
                Row {
                    params: point.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
                    merged,
                    figures: *f,
                    feasible: self.limits.admit(f),
                }
            })
            .collect();
        let winner = best_row(&rows);
        let (mut best, mut baseline_out_of_sample) = (None, None);
        if let Some(row) = winner {
            let mut validation = sc.clone();
            validation.simulation.seed = self.validate_seed;
            let spec = &self.variants[row];
            let again = Engine::new(validation).sweep(std::slice::from_ref(spec), &opts);
            baseline_out_of_sample = Some(again.baseline);
            let set: Vec<(&str, ParamValue)> = rows[row]
                .params
                .iter()
                .map(|(k, v)| (k.as_str(), *v))
                .collect();
            best = Some(Best {
                row,
                in_sample: rows[row].figures,
                out_of_sample: again.variants[0],
                table: self.table.pasteable(&format!("{}_best", self.policy), &set),
            });
        }
        Optimization {
            scenario: sc.name.clone(),
            scenario_sha256: sc.sha256.clone(),
            policy: self.policy.clone(),
            kind: self.table.kind().to_string(),
            baseline: sc.policies[self.baseline].name.clone(),
            seed: sc.simulation.seed,
            validate_seed: self.validate_seed,
            paths: sweep.paths,
            no_best: winner.is_none().then(|| no_winner(&rows, &self.limits)),
            grid: self.grid,
            limits: self.limits,
            rows,
            baseline_in_sample: sweep.baseline,
            baseline_out_of_sample,
            best,
            threads: sweep.threads,
            elapsed_s: started.elapsed().as_secs_f64(),
            run_started_utc,
        }
    }
}

/// The feasible row with the highest mean NPV, the first of equals.
pub fn best_row(rows: &[Row]) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, r) in rows.iter().enumerate().filter(|(_, r)| r.feasible) {
        if best.is_none_or(|b| r.figures.npv_usd.mean > rows[b].figures.npv_usd.mean) {
            best = Some(i);
        }
    }
    best
}

/// Why no row is feasible: the limits and the least risk on the grid.
fn no_winner(rows: &[Row], limits: &Limits) -> String {
    let least = |f: fn(&VariantFigures) -> f64| {
        rows.iter()
            .map(|r| f(&r.figures))
            .fold(f64::INFINITY, f64::min)
    };
    let mut parts = Vec::new();
    if let Some(x) = limits.max_p_margin_call {
        let lo = least(|f| f.p_margin_call);
        parts.push(format!("P(margin call) <= {x} (the grid's lowest is {lo})"));
    }
    if let Some(y) = limits.max_p_liquidation {
        let lo = least(|f| f.p_liquidation);
        parts.push(format!("P(liquidation) <= {y} (the grid's lowest is {lo})"));
    }
    format!("no point of the grid has {}", parts.join(" and "))
}

#[cfg(test)]
pub(crate) mod tests;
