//! The paths worth replaying: per policy, the K paths with the lowest NPV
//! and the K with the lowest terminal net reserve (`pivotsim run --worst K`).
//!
//! The engine keeps a [`WorstK`] per policy in each chunk's aggregate; the
//! merge of two [`LowestK`] is exact and ties go to the lower path index,
//! so the lists do not depend on the number of threads. After the run the
//! few listed paths are replayed ([`worst_paths_csv`], by
//! [`Engine::replay_path`]) for the month of the first margin call and of
//! the first distress.

use std::fmt::Write as _;
use std::ops::AddAssign;

use crate::engine::Engine;
use crate::stats::LowestK;
pub use crate::summary::WorstLists;

/// One policy's lowest paths while the run goes on.
#[derive(Debug, Clone)]
pub struct WorstK {
    npv: LowestK,
    terminal: LowestK,
}

impl WorstK {
    /// One per policy; none when `k` is 0.
    pub fn per_policy(policies: usize, k: usize) -> Vec<WorstK> {
        if k == 0 {
            return Vec::new();
        }
        (0..policies)
            .map(|_| WorstK {
                npv: LowestK::new(k),
                terminal: LowestK::new(k),
            })
            .collect()
    }

    /// Offers path `path`'s NPV and terminal net reserve.
    #[inline]
    pub fn push(&mut self, npv_usd: f64, terminal_net_reserve_usd: f64, path: u64) {
        self.npv.push(npv_usd, path);
        self.terminal.push(terminal_net_reserve_usd, path);
    }

    pub fn lists(&self) -> WorstLists {
        WorstLists {
            npv_usd: self.npv.items_sorted().to_vec(),
            terminal_net_reserve_usd: self.terminal.items_sorted().to_vec(),
        }
    }
}

impl AddAssign<&WorstK> for WorstK {
    fn add_assign(&mut self, rhs: &WorstK) {
        self.npv += &rhs.npv;
        self.terminal += &rhs.terminal;
    }
}

/// Header of `worst_paths.csv`.
pub const WORST_HEADER: &str = "policy,ranked_by,rank,path,npv_usd,terminal_net_reserve_usd,margin_call,liquidation,first_margin_call_month,first_margin_call_date,first_distress_month,first_distress_date,replay_args";

/// `worst_paths.csv`: per policy, the listed paths ranked by NPV, then by
/// terminal net reserve, each replayed for its flags and first months.
/// Figures are written in full (shortest round-trip) precision.
pub fn worst_paths_csv(engine: &Engine, worst: &[WorstLists]) -> Vec<u8> {
    let sc = &engine.scenario;
    let dates = &engine.model.calendar.dates;
    let date = |m: Option<usize>| m.map_or_else(String::new, |m| dates[m].to_string());
    let month = |m: Option<usize>| m.map_or_else(String::new, |m| m.to_string());
    let mut out = String::new();
    let _ = writeln!(out, "{WORST_HEADER}");
    for (p, lists) in worst.iter().enumerate() {
        let name = &sc.policies[p].name;
        for (ranked_by, list) in [
            ("npv_usd", &lists.npv_usd),
            ("terminal_net_reserve_usd", &lists.terminal_net_reserve_usd),
        ] {
            for (rank, &(_, path)) in list.iter().enumerate() {
                let o = engine.replay_path(path, p, |_| {});
                let _ = writeln!(
                    out,
                    "{},{ranked_by},{},{path},{},{},{},{},{},{},{},{},--path {path} --policy {} --seed {}",
                    csv_field(name),
                    rank + 1,
                    o.npv_usd,
                    o.terminal_net_reserve_usd,
                    o.margin_call as u8,
                    o.liquidation as u8,
                    month(o.first_margin_call_month),
                    date(o.first_margin_call_month),
                    month(o.first_distress_month),
                    date(o.first_distress_month),
                    csv_field(name),
                    sc.simulation.seed,
                );
            }
        }
    }
    out.into_bytes()
}

/// A CSV field, quoted if it needs to be.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', ' ']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}
