//! Many variants of one policy replayed on the same paths in one pass
//! ([`Engine::sweep`]), for `pivotsim optimize`.
//!
//! Each path's market is sampled once; the passive replay is recorded once
//! ([`Model::replay_passive`]); the baseline and then every variant follow
//! it with the run's shortcuts ([`Model::replay_after_passive`]), one
//! outcome buffer for all of them. A variant keeps only the per-path values
//! [`SWEPT`] names, read by the run's own catalogue
//! ([`super::metrics::POLICY_SCALARS`]) and summed the run's way: per
//! fixed chunk of [`super::CHUNK_PATHS`] paths in path order
//! ([`ChunkMoments`]), then folded into fixed-point [`Moments`] that merge
//! exactly, the chunks spread over threads as the run spreads them
//! (`phases::each_chunk`). So a variant's figures are, bit for bit, those
//! `pivotsim run` reports for the scenario with that policy, on 1 thread or
//! many; and memory is O(variants x [`SWEPT`]), not a run's row per variant.

use std::time::Instant;

use super::metrics::{LIQUIDATION, MARGIN_CALL, NPV, NPV_VS_BASELINE, POLICY_SCALARS, Scalar};
use super::phases::{each_chunk, progress_bar};
use super::{Engine, chunk_paths};
use crate::model::market::MarketPath;
use crate::model::mining::MiningTable;
use crate::scenario::{PolicyKind, PolicySpec, Scenario};
use crate::sim::{Model, PathReplays, PolicyOutcome};
use crate::stats::{ChunkMoments, Moments};
use crate::summary::MeanSe;

/// The per-path values a sweep keeps per variant, in [`SweepWorker::chunk`]
/// order.
pub const SWEPT: [Scalar; 4] = [NPV, NPV_VS_BASELINE, MARGIN_CALL, LIQUIDATION];

/// How to sweep.
#[derive(Debug, Clone, Default)]
pub struct SweepOptions {
    /// Worker threads; 0 = all cores.
    pub threads: usize,
    /// Show a progress bar on stderr (drawn only when stderr is a terminal).
    pub progress: bool,
    /// The baseline: an index into the scenario's policies.
    pub baseline: usize,
}

/// A policy's figures over the paths, each as `pivotsim run` computes it
/// (`summary.json`'s policy fields of the same names).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct VariantFigures {
    pub npv_usd: MeanSe,
    /// Paired with the baseline path by path (0 for the baseline itself).
    pub npv_vs_baseline_usd: MeanSe,
    pub p_margin_call: f64,
    pub p_liquidation: f64,
}

impl VariantFigures {
    /// From the merged moments of [`SWEPT`], in that order.
    fn from_moments(m: &[Moments]) -> VariantFigures {
        let mean_se = |m: &Moments| MeanSe {
            mean: m.mean(),
            se: m.se(),
        };
        VariantFigures {
            npv_usd: mean_se(&m[0]),
            npv_vs_baseline_usd: mean_se(&m[1]),
            p_margin_call: m[2].mean(),
            p_liquidation: m[3].mean(),
        }
    }
}

/// A sweep's figures: the baseline's and each variant's, in the order given.
#[derive(Debug, Clone)]
pub struct Sweep {
    pub paths: u64,
    pub baseline: VariantFigures,
    pub variants: Vec<VariantFigures>,
    pub threads: usize,
    pub elapsed_s: f64,
}

/// One thread's buffers and sums.
struct SweepWorker {
    market: MarketPath,
    table: MiningTable,
    replays: PathReplays,
    /// The baseline's outcome on the current path, and the buffer it is
    /// replayed into.
    base: PolicyOutcome,
    base_out: PolicyOutcome,
    /// The buffer every variant is replayed into, in turn.
    out: PolicyOutcome,
    /// The current chunk's sums: `[v * SWEPT.len() + k]` for value `k` of
    /// policy `v` of the sweep's model (0 the baseline).
    chunk: Vec<ChunkMoments>,
    /// Every chunk's, merged.
    totals: Vec<Moments>,
}

/// The model a sweep replays: the baseline (policy 0), a passive policy
/// (the baseline itself, or a `hold` added for the shortcuts, which change
/// no outcome), then the variants; and the index of the first variant.
fn sweep_model(scenario: &Scenario, baseline: usize, variants: &[PolicySpec]) -> (Model, usize) {
    let base = scenario.policies[baseline].clone();
    let mut policies = vec![base.clone()];
    if !matches!(base.kind, PolicyKind::Hold) {
        policies.push(PolicySpec {
            name: "hold".into(),
            kind: PolicyKind::Hold,
        });
    }
    let first = policies.len();
    policies.extend_from_slice(variants);
    let sc = Scenario {
        policies,
        baseline: 0,
        ..scenario.clone()
    };
    (Model::new(&sc), first)
}

impl Engine {
    /// Every variant replayed on the scenario's paths (its seed and paths),
    /// each paired with the baseline `opts.baseline`: a variant's figures
    /// are, bit for bit, those `run` reports for it in a scenario where it
    /// replaces a policy (with that baseline). Deterministic on any number
    /// of threads.
    ///
    /// # Panics
    /// If `opts.baseline` is not a policy of the scenario.
    pub fn sweep(&self, variants: &[PolicySpec], opts: &SweepOptions) -> Sweep {
        let started = Instant::now();
        let (model, first) = sweep_model(&self.scenario, opts.baseline, variants);
        let n = SWEPT.len() * (1 + variants.len());
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(opts.threads)
            .build()
            .expect("thread pool");
        let paths = self.scenario.simulation.paths;
        let n_chunks = paths.div_ceil(super::CHUNK_PATHS);
        let bar = progress_bar(opts.progress, n_chunks);
        let init = || SweepWorker {
            market: MarketPath::with_months(self.model.months()),
            table: MiningTable::default(),
            replays: PathReplays::default(),
            base: PolicyOutcome::default(),
            base_out: PolicyOutcome::default(),
            out: PolicyOutcome::default(),
            chunk: vec![ChunkMoments::default(); n],
            totals: vec![Moments::default(); n],
        };
        let workers = pool.install(|| {
            each_chunk(0..n_chunks, init, |w, c| {
                self.sweep_chunk(&model, first, w, c);
                bar.inc(1);
            })
        });
        bar.finish_and_clear();
        let mut totals = vec![Moments::default(); n];
        for w in &workers {
            for (a, b) in totals.iter_mut().zip(&w.totals) {
                *a += *b;
            }
        }
        let mut figures = totals
            .chunks_exact(SWEPT.len())
            .map(VariantFigures::from_moments);
        let baseline = figures.next().expect("the baseline's figures");
        Sweep {
            paths,
            baseline,
            variants: figures.collect(),
            threads: pool.current_num_threads(),
            elapsed_s: started.elapsed().as_secs_f64(),
        }
    }

    /// Chunk `c`'s paths, in path order, into the worker's chunk sums, then
    /// its totals.
    fn sweep_chunk(&self, model: &Model, first: usize, w: &mut SweepWorker, c: u64) {
        let SweepWorker {
            market,
            table,
            replays,
            base,
            base_out,
            out,
            chunk,
            totals,
        } = w;
        chunk.fill(ChunkMoments::default());
        let k = SWEPT.len();
        for path in chunk_paths(c, self.scenario.simulation.paths) {
            self.sample_market_into(path, market, table);
            model.replay_passive(market, table, replays);
            base.clone_from(model.replay_after_passive(0, market, table, replays, base_out));
            let policies = std::iter::once(0).chain(first..model.policies.len());
            for (v, p) in policies.enumerate() {
                let o = if p == 0 {
                    &*base
                } else {
                    model.replay_after_passive(p, market, table, replays, out)
                };
                // The swept scalars do not read the best NPV on the path
                // (only the regret does): NaN would show if one did.
                for (acc, s) in chunk[v * k..(v + 1) * k].iter_mut().zip(SWEPT) {
                    acc.push((POLICY_SCALARS[s.0].read)(o, base, f64::NAN));
                }
            }
        }
        for (t, s) in totals.iter_mut().zip(chunk.iter()) {
            t.absorb(s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::RunOptions;
    use crate::engine::tests::reference;

    fn bits(f: &VariantFigures) -> [u64; 6] {
        [
            f.npv_usd.mean,
            f.npv_usd.se,
            f.npv_vs_baseline_usd.mean,
            f.npv_vs_baseline_usd.se,
            f.p_margin_call,
            f.p_liquidation,
        ]
        .map(f64::to_bits)
    }

    /// The scenario's own policies swept as variants give, bit for bit, the
    /// run's figures for them, on 1 thread and 2, past a chunk and with a
    /// partial last one; on `smoke` (hold the baseline) and on
    /// `cango_2026_treasury` with `staged` the baseline (a `hold` added for
    /// the shortcuts).
    #[test]
    fn the_scenarios_policies_swept_give_the_runs_figures() {
        for (name, baseline) in [("smoke", None), ("cango_2026_treasury", Some("staged"))] {
            let mut sc = reference(name);
            sc.simulation.paths = 2 * crate::engine::CHUNK_PATHS + 37;
            if let Some(b) = baseline {
                sc.baseline = sc.policies.iter().position(|p| p.name == b).unwrap();
            }
            let engine = Engine::new(sc.clone());
            let run = engine.run(&RunOptions {
                threads: 2,
                ..RunOptions::default()
            });
            for threads in [1, 2] {
                let opts = SweepOptions {
                    threads,
                    progress: false,
                    baseline: sc.baseline,
                };
                let sweep = engine.sweep(&sc.policies, &opts);
                assert_eq!(sweep.paths, sc.simulation.paths);
                for (p, got) in sweep.variants.iter().enumerate() {
                    let want = &run.policies[p];
                    let vs = want
                        .npv_vs_baseline_usd
                        .unwrap_or(MeanSe { mean: 0.0, se: 0.0 });
                    let want = VariantFigures {
                        npv_usd: MeanSe {
                            mean: want.npv_usd.mean,
                            se: want.npv_usd.se,
                        },
                        npv_vs_baseline_usd: vs,
                        p_margin_call: want.p_margin_call,
                        p_liquidation: want.p_liquidation,
                    };
                    assert_eq!(
                        bits(got),
                        bits(&want),
                        "{name}, policy {p}, {threads} threads"
                    );
                }
                assert_eq!(
                    bits(&sweep.baseline),
                    bits(&sweep.variants[sc.baseline]),
                    "{name}"
                );
            }
        }
    }
}
