//! Running the points: the base, then each side not skipped, every one a
//! whole run of the engine on the same seed and paths.
//!
//! A point's scenario is the file's table with its key set, validated as a
//! file ([`ScenarioDoc::build`]); one the validation refuses, or whose run
//! reports a figure that is not finite, is skipped with the reason. The
//! points run one after the other, each on every thread, or in parallel,
//! each on one thread of a pool of `threads` (`parallel_points`): a run's
//! figures do not depend on its threads, so both give the same bytes. One
//! after the other is the faster on 2 cores (measured: `cli::sensitivity`).

use std::io::IsTerminal;

use rayon::prelude::*;

use super::{Candidate, Outcome, Param, ParamResult, PolicyFigures, Sensitivity, Side};
use crate::engine::{Engine, RunOptions};
use crate::scenario::edit::ScenarioDoc;
use crate::scenario::{Scenario, ScenarioError};
use crate::summary::{NonFinite, Summary};

/// How to run the points.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Worker threads in all; 0 = all cores.
    pub threads: usize,
    /// A progress bar on stderr (drawn only when it is a terminal).
    pub progress: bool,
    /// Points in parallel, one thread each (else one after the other,
    /// each on every thread).
    pub parallel_points: bool,
}

/// One run to do.
enum Job {
    Base,
    Side {
        param: usize,
        side: Side,
        value: f64,
    },
}

/// Run the base scenario (`base`, as loaded from the file) and every
/// parameter's sides. Fails only when the base run has a figure that is
/// not finite (as `pivotsim run` would).
pub fn run(
    doc: &ScenarioDoc,
    base: Scenario,
    params: &[Param],
    settings: &Settings,
) -> Result<Sensitivity, Box<NonFinite>> {
    let mut jobs = vec![Job::Base];
    for (i, p) in params.iter().enumerate() {
        for (side, c) in [(Side::Low, &p.low), (Side::High, &p.high)] {
            if let Candidate::Run(value) = c {
                jobs.push(Job::Side {
                    param: i,
                    side,
                    value: *value,
                });
            }
        }
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(settings.threads)
        .build()
        .expect("thread pool");
    let threads = pool.current_num_threads();
    let bar = progress_bar(settings.progress, jobs.len() as u64);
    let exec = |job: &Job, threads: usize| {
        let result = match job {
            Job::Base => Ok(simulate(base.clone(), threads)),
            Job::Side { param, value, .. } => {
                let key = &params[*param].key;
                point(doc, &key.key, *value, key.integer)
                    .map(|sc| simulate(sc, threads))
                    .and_then(|s| {
                        s.ensure_finite()
                            .map(|()| s)
                            .map_err(|e| format!("the run has a figure that is not finite: {e}"))
                    })
            }
        };
        bar.inc(1);
        result
    };
    let results: Vec<Result<Summary, String>> = if settings.parallel_points {
        pool.install(|| jobs.par_iter().map(|j| exec(j, 1)).collect())
    } else {
        jobs.iter().map(|j| exec(j, threads)).collect()
    };
    bar.finish_and_clear();
    let mut results = results.into_iter();
    let base = results
        .next()
        .expect("the base job")
        .expect("the base runs");
    base.ensure_finite()?;
    let mut outcomes = vec![(None, None); params.len()];
    for (job, result) in jobs[1..].iter().zip(results) {
        let Job::Side { param, side, value } = job else {
            continue;
        };
        let outcome = Outcome {
            value: Some(*value),
            result: result.map(|s| PolicyFigures::of(&s)),
        };
        match side {
            Side::Low => outcomes[*param].0 = Some(outcome),
            _ => outcomes[*param].1 = Some(outcome),
        }
    }
    let params = params
        .iter()
        .zip(outcomes)
        .map(|(p, (low, high))| ParamResult {
            key: p.key.key.clone(),
            base_value: p.key.value,
            integer: p.key.integer,
            source: p.source,
            low: low.unwrap_or_else(|| skipped(&p.low)),
            high: high.unwrap_or_else(|| skipped(&p.high)),
        })
        .collect();
    Ok(Sensitivity { base, params })
}

/// The scenario with `key` set to `value`, or why it cannot be run.
pub fn point(doc: &ScenarioDoc, key: &str, value: f64, integer: bool) -> Result<Scenario, String> {
    let table = doc
        .with_value(key, value, integer)
        .map_err(|p| p.to_string())?;
    doc.build(&table).map_err(|e| invalid_reason(&e))
}

/// A refusal as a skip reason: the key and what was expected.
pub fn invalid_reason(e: &ScenarioError) -> String {
    match e {
        ScenarioError::Invalid { key, message, .. } => {
            format!("invalid scenario: `{key}`: {message}")
        }
        other => format!("invalid scenario: {other}"),
    }
}

/// A whole run, as `pivotsim run` does it (no progress bar of its own).
fn simulate(sc: Scenario, threads: usize) -> Summary {
    Engine::new(sc).run(&RunOptions {
        threads,
        progress: false,
        worst: 0,
    })
}

fn skipped(c: &Candidate) -> Outcome {
    match c {
        Candidate::Skip { value, reason } => Outcome {
            value: *value,
            result: Err(reason.clone()),
        },
        Candidate::Run(v) => Outcome {
            value: Some(*v),
            result: Err("not run".into()),
        },
    }
}

fn progress_bar(show: bool, points: u64) -> indicatif::ProgressBar {
    if !show || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(points),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} sensitivity [{bar:40}] {pos}/{len} points  {elapsed_precise} (eta {eta})",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}
