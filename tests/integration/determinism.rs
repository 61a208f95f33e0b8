//! Same scenario and seed, same bytes: on 1 thread or many, and path by path.

use pivotsim::engine::{Engine, PILOT_PATHS, RunOptions};
use pivotsim::report;
use pivotsim::scenario::{self, Overrides};
use pivotsim::summary::{Performance, Summary};

use crate::common::{load, scenario_path};

/// The summary with its timing fields blanked.
fn without_timing(mut s: Summary) -> Vec<u8> {
    s.elapsed_s = 0.0;
    s.run_started_utc = String::new();
    s.performance = Performance::default();
    report::summary_json(&s)
}

fn run(paths: u64, threads: usize) -> Summary {
    let sc = scenario::load_with(
        &scenario_path("smoke"),
        &Overrides {
            paths: Some(paths),
            ..Overrides::default()
        },
    )
    .unwrap();
    Engine::new(sc).run(&RunOptions {
        threads,
        progress: false,
        worst: 0,
    })
}

#[test]
fn one_thread_and_four_threads_give_the_same_bytes() {
    // More paths than the pilot, so the histogram path is exercised too.
    let paths = PILOT_PATHS + 3 * 256 + 17;
    let one = without_timing(run(paths, 1));
    let four = without_timing(run(paths, 4));
    assert!(one == four, "summary.json differs between 1 and 4 threads");
    let s: Summary = serde_json::from_slice(&one).unwrap();
    assert_eq!(s.percentiles.method, "histogram");
    assert!(
        s.percentiles.max_rank_error <= 0.005,
        "{}",
        s.percentiles.max_rank_error
    );
}

#[test]
fn exact_percentiles_below_the_pilot_and_thread_independent() {
    let one = without_timing(run(1_000, 1));
    let two = without_timing(run(1_000, 2));
    assert!(one == two);
    let s: Summary = serde_json::from_slice(&one).unwrap();
    assert_eq!(s.percentiles.method, "exact");
    assert_eq!(s.percentiles.max_rank_error, 0.0);
}

#[test]
fn a_path_is_the_same_whatever_the_run_size() {
    let engine = Engine::new(load("smoke"));
    let a = engine.path_inputs(123).market;
    let engine2 = Engine::new(
        scenario::load_with(
            &scenario_path("smoke"),
            &Overrides {
                paths: Some(5),
                ..Overrides::default()
            },
        )
        .unwrap(),
    );
    let b = engine2.path_inputs(123).market;
    assert_eq!(a.btc_price_usd, b.btc_price_usd);
    assert_eq!(a.ai_demand_mw_it, b.ai_demand_mw_it);
}
