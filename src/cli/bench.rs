//! `pivotsim bench`: throughput of whole runs, and the floor under them.
//!
//! A run is timed end to end (sampling, every policy's replay, aggregation,
//! summary; no files are written), `repeat` times, and the median is
//! reported, since a shared machine is noisy. The floor is the time to draw
//! the random numbers the same paths need, on the same threads: the part of
//! a path no optimisation of the model can remove.

use std::time::Instant;

use rayon::prelude::*;

use crate::engine::{Engine, RunOptions};
use crate::format::thousands;
use crate::summary::Performance;

/// What `pivotsim bench` measured.
#[derive(Debug, Clone)]
pub struct BenchReport {
    pub scenario: String,
    pub paths: u64,
    pub months: usize,
    pub sites: usize,
    pub policies: usize,
    /// Performance of each repeat, in order.
    pub runs: Vec<Performance>,
    /// Wall-clock seconds of each repeat.
    pub seconds: Vec<f64>,
    /// Paths per second when only the random draws are made (median of the repeats).
    pub rng_floor_paths_per_s: f64,
}

impl BenchReport {
    /// Median paths per second over the repeats.
    pub fn median_paths_per_s(&self) -> f64 {
        median(self.runs.iter().map(|p| p.paths_per_s).collect())
    }

    /// The repeat with the median throughput.
    pub fn median_run(&self) -> &Performance {
        let m = self.median_paths_per_s();
        self.runs
            .iter()
            .find(|p| p.paths_per_s == m)
            .unwrap_or(&self.runs[0])
    }

    /// Human-readable report.
    pub fn render(&self) -> String {
        let p = self.median_run();
        let pps = self.median_paths_per_s();
        let per_s = |x: f64| thousands(x, 0);
        let all: Vec<String> = self.runs.iter().map(|r| per_s(r.paths_per_s)).collect();
        format!(
            "{scenario}: {paths} paths x {months} months x {sites} sites x {policies} policies, {threads} thread{s}\n\
             paths/s            {pps}   (median of {n}: {all})\n\
             site-months/s      {sm}\n\
             peak memory        {mem:.0} MiB\n\
             time shares        market {market:.0}%, policy replay {policy:.0}%, aggregation {agg:.0}%\n\
             phases (wall)      pilot {pilot:.3} s, bins {bins:.3} s, main {main:.3} s, summary {summary:.3} s\n\
             RNG floor          {floor} paths/s (draws only); the full run is {ratio:.1}x slower\n",
            scenario = self.scenario,
            paths = thousands(self.paths as f64, 0),
            months = self.months,
            sites = self.sites,
            policies = self.policies,
            threads = p.threads,
            s = if p.threads == 1 { "" } else { "s" },
            pps = per_s(pps),
            n = self.runs.len(),
            all = all.join(", "),
            sm = thousands(pps * (self.months * self.sites * self.policies) as f64, 0),
            mem = p.peak_memory_mib,
            market = 100.0 * p.share_market,
            policy = 100.0 * p.share_policy,
            agg = 100.0 * p.share_aggregation,
            pilot = p.phases.pilot_s,
            bins = p.phases.bins_s,
            main = p.phases.main_s,
            summary = p.phases.summary_s,
            floor = per_s(self.rng_floor_paths_per_s),
            ratio = self.rng_floor_paths_per_s / pps,
        )
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Run the engine's scenario `repeat` times and measure the RNG floor.
pub fn bench(engine: &Engine, threads: usize, repeat: usize) -> BenchReport {
    let sc = &engine.scenario;
    let paths = sc.simulation.paths;
    let months = sc.simulation.months;
    let mut runs = Vec::new();
    let mut seconds = Vec::new();
    let mut floors = Vec::new();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool");
    for _ in 0..repeat.max(1) {
        let summary = engine.run(&RunOptions {
            threads,
            progress: false,
            ..RunOptions::default()
        });
        seconds.push(summary.elapsed_s);
        runs.push(summary.performance);

        let seed = sc.simulation.seed;
        let start = Instant::now();
        let checksum: f64 = pool.install(|| {
            (0..paths as usize)
                .into_par_iter()
                .with_min_len(256)
                .map(|p| engine.market.rng_floor(seed, p as u64, months))
                .sum()
        });
        std::hint::black_box(checksum);
        floors.push(paths as f64 / start.elapsed().as_secs_f64());
    }
    BenchReport {
        scenario: sc.name.clone(),
        paths,
        months,
        sites: engine.model.fleet.len(),
        policies: sc.policies.len(),
        runs,
        seconds,
        rng_floor_paths_per_s: median(floors),
    }
}
