//! Criterion benchmarks of the engine. `cargo bench -- --quick` runs them all
//! in a few minutes on 2 cores; `cargo test --benches` runs each once.
//!
//! - `step`: one path of the reference scenario (sampling, mining table,
//!   the four policies) and one policy's replay of a fixed path;
//! - `aggregate`: one chunk's percentile metrics counted into histograms
//!   (the reference run's rows, bins from an 8,192-path pilot), as the
//!   engine counts them and column by column;
//! - `run`: whole runs of `cango_2026` at 1,000 and 10,000 paths;
//! - `scaling`: sites (10, 40, 160), months (12, 60, 240), paths, threads.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use pivotsim::engine::replay::ReplayBuffers;
use pivotsim::engine::{CHUNK_PATHS, Engine, HISTOGRAM_INTERVALS, PILOT_PATHS, RunOptions};
use pivotsim::scenario::{self, Overrides, Scenario, Site};
use pivotsim::stats::{QuantileHistograms, QuantileLayout};

fn reference(paths: u64, months: Option<usize>) -> Scenario {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios/cango_2026.toml");
    scenario::load_with(
        &path,
        &Overrides {
            paths: Some(paths),
            seed: None,
            months,
        },
    )
    .expect("reference scenario")
}

/// The reference fleet cut or repeated to `n` sites.
fn with_sites(mut sc: Scenario, n: usize) -> Scenario {
    let base = sc.sites.clone();
    sc.sites = (0..n)
        .map(|i| Site {
            id: format!("{}-{}", base[i % base.len()].id, i / base.len()),
            ..base[i % base.len()].clone()
        })
        .collect();
    sc
}

fn run(engine: &Engine, threads: usize) {
    black_box(engine.run(&RunOptions {
        threads,
        progress: false,
        ..RunOptions::default()
    }));
}

fn step(c: &mut Criterion) {
    let engine = Engine::new(reference(1, None));
    let mut g = c.benchmark_group("step");
    let mut w = engine.worker();
    let mut path = 0u64;
    g.throughput(Throughput::Elements(1));
    g.bench_function("one_path_all_policies", |b| {
        b.iter(|| {
            path += 1;
            engine.simulate_path(&mut w, path);
            black_box(w.row()[0])
        })
    });
    // Path 7 of the reference run (seed 42), replayed as `replay_path`
    // does, on buffers kept from one replay to the next.
    let inputs = engine.path_inputs(7);
    let mut buffers = ReplayBuffers::default();
    for (p, spec) in engine.scenario.policies.iter().enumerate() {
        g.bench_function(BenchmarkId::new("replay", &spec.name), |b| {
            b.iter(|| black_box(engine.replay_with(&inputs, p, &mut buffers, |_| {}).npv_usd))
        });
    }
    let mut market = inputs.market;
    g.bench_function("market_sample", |b| {
        b.iter(|| {
            path += 1;
            engine.market.sample(42, path, &mut market);
            black_box(market.btc_price_usd[59])
        })
    });
    g.finish();
}

fn whole_runs(c: &mut Criterion) {
    let mut g = c.benchmark_group("run");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    for paths in [1_000u64, 10_000] {
        let engine = Engine::new(reference(paths, None));
        g.throughput(Throughput::Elements(paths));
        g.bench_function(BenchmarkId::new("cango_2026", paths), |b| {
            b.iter(|| run(&engine, 0))
        });
    }
    g.finish();
}

fn scaling(c: &mut Criterion) {
    let mut g = c.benchmark_group("scaling");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    let paths = 2_000u64;
    for sites in [10usize, 40, 160] {
        let engine = Engine::new(with_sites(reference(paths, None), sites));
        g.throughput(Throughput::Elements(paths * sites as u64));
        g.bench_function(BenchmarkId::new("sites", sites), |b| {
            b.iter(|| run(&engine, 0))
        });
    }
    for months in [12usize, 60, 240] {
        let engine = Engine::new(reference(paths, Some(months)));
        g.throughput(Throughput::Elements(paths * months as u64));
        g.bench_function(BenchmarkId::new("months", months), |b| {
            b.iter(|| run(&engine, 0))
        });
    }
    // Paths beyond the pilot (8,192) show the marginal cost of a path.
    for p in [2_000u64, 8_192, 16_384] {
        let engine = Engine::new(reference(p, None));
        g.throughput(Throughput::Elements(p));
        g.bench_function(BenchmarkId::new("paths", p), |b| b.iter(|| run(&engine, 0)));
    }
    let engine = Engine::new(reference(8_192, None));
    for threads in [1usize, 2] {
        g.throughput(Throughput::Elements(8_192));
        g.bench_function(BenchmarkId::new("threads", threads), |b| {
            b.iter(|| run(&engine, threads))
        });
    }
    g.finish();
}

/// The histogram count alone, as the engine does it after each chunk: the
/// reference scenario's percentile metrics of `CHUNK_PATHS` paths, column
/// by column, into bins placed from a `PILOT_PATHS`-path pilot (the same
/// layout a run of more than `PILOT_PATHS` paths builds). Before it, the
/// placing of the bins itself (`pilot/place_bins`, per metric).
fn aggregate(c: &mut Criterion) {
    let engine = Engine::new(reference(1, None));
    let nq = engine.layout.n_quantile;
    let mut w = engine.worker();
    let mut rows = |first: u64, n: u64| -> Vec<f64> {
        let mut out = Vec::with_capacity(n as usize * nq);
        for path in first..first + n {
            engine.simulate_path(&mut w, path);
            out.extend_from_slice(&w.row()[..nq]);
        }
        out
    };
    let pilot = rows(0, PILOT_PATHS);
    // Placing the bins: the pilot's first `BINS_METRICS` metrics, each
    // column gathered into a fresh buffer as the engine gathers it from
    // the pilot's chunks, on one thread (a run places each metric on its
    // own, on all its threads).
    const BINS_METRICS: usize = 128;
    let part: Vec<Vec<f64>> = (0..BINS_METRICS)
        .map(|m| pilot.chunks_exact(nq).map(|row| row[m]).collect())
        .collect();
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("thread pool");
    let mut g = c.benchmark_group("pilot");
    g.throughput(Throughput::Elements(BINS_METRICS as u64));
    g.bench_function("place_bins", |b| {
        b.iter(|| {
            one_thread.install(|| {
                QuantileLayout::from_column_fn(BINS_METRICS, HISTOGRAM_INTERVALS, |m| {
                    black_box(&part[m]).clone()
                })
            })
        })
    });
    // The same, with each metric's pilot counted on its bins as the
    // engine counts it.
    g.bench_function("place_bins_counted", |b| {
        b.iter(|| {
            one_thread.install(|| {
                QuantileLayout::counted_from_column_fn(BINS_METRICS, HISTOGRAM_INTERVALS, |m| {
                    black_box(&part[m]).clone()
                })
            })
        })
    });
    g.finish();
    let layout = std::sync::Arc::new(QuantileLayout::from_pilot(&pilot, nq, HISTOGRAM_INTERVALS));
    let chunk = rows(PILOT_PATHS, CHUNK_PATHS);
    let cols: Vec<Vec<f64>> = (0..nq)
        .map(|m| chunk.chunks_exact(nq).map(|row| row[m]).collect())
        .collect();
    let mut h = QuantileHistograms::new(layout);
    let mut g = c.benchmark_group("aggregate");
    g.throughput(Throughput::Elements(CHUNK_PATHS));
    // As the engine counts a chunk: repeated metrics take their alias's counts.
    g.bench_function("count_chunk", |b| {
        b.iter(|| h.insert_chunk(|m| black_box(&cols[m][..])))
    });
    // Every column counted, none taken from an alias.
    g.bench_function("count_chunk_by_column", |b| {
        b.iter(|| {
            for (m, col) in cols.iter().enumerate() {
                h.prefetch(m + 1);
                h.insert_column(m, black_box(col));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, step, aggregate, whole_runs, scaling);
criterion_main!(benches);
