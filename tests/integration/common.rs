//! Small helpers shared by the integration tests.

use std::path::PathBuf;

use pivotsim::engine::Engine;
use pivotsim::engine::replay::PathInputs;
use pivotsim::scenario::{self, Scenario};
use pivotsim::sim::{MonthFlows, MwByState, PolicyOutcome, SiteState, TreasuryState};

/// Path of a shipped scenario file.
pub fn scenario_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(format!("{name}.toml"))
}

/// Load a shipped scenario.
pub fn load(name: &str) -> Scenario {
    scenario::load(&scenario_path(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The shipped scenarios.
pub const SHIPPED: [&str; 5] = [
    "smoke",
    "cango_2026",
    "cango_2026_no_delever",
    "cango_2026_colocation",
    "cango_2026_treasury",
];

/// One month of a replay, owned.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub t: usize,
    pub open: TreasuryState,
    pub close: TreasuryState,
    pub flows: MonthFlows,
    pub started: Vec<usize>,
    pub sites: Vec<SiteState>,
    pub mw: MwByState,
}

/// Replay policy `p` on a path's inputs (`Engine::path_inputs` for a path
/// of the run, `Engine::market_inputs` for a hand-made market), recording
/// every month.
pub fn replay_records(
    engine: &Engine,
    p: usize,
    inputs: &PathInputs,
) -> (Vec<Record>, PolicyOutcome) {
    let mut records = Vec::new();
    let out = engine.replay_inputs(inputs, p, |r| {
        records.push(Record {
            t: r.t,
            open: *r.open,
            close: *r.close,
            flows: r.flows.clone(),
            started: r.started.to_vec(),
            sites: r.sites.to_vec(),
            mw: r.mw,
        })
    });
    (records, out)
}

/// `|a - b| <= tol * max(1, |a|, |b|)`.
pub fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * 1f64.max(a.abs()).max(b.abs())
}
