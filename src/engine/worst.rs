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
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
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
                    "{},{ranked_by},{},{path},{},{},{},{},{},{},{},{},{}",
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
                    csv_field_unless_spaces(&replay_args(path, name, sc.simulation.seed)),
                );
            }
        }
    }
    out.into_bytes()
}

/// The arguments of `pivotsim replay` for this path and policy, the name
/// quoted for a POSIX shell where it needs to be.
fn replay_args(path: u64, policy: &str, seed: u64) -> String {
    let plain = policy
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-.+".contains(c));
    let policy = if plain {
        policy.to_owned()
    } else {
        format!("'{}'", policy.replace('\'', "'\\''"))
    };
    format!("--path {path} --policy {policy} --seed {seed}")
}

/// A CSV field, quoted only if the CSV format needs it (a comma, a quote,
/// a line break): spaces alone stay unquoted.
fn csv_field_unless_spaces(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// A CSV field, quoted if it needs to be (or has a space).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', ' ']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A policy name with a comma, a quote, an apostrophe or a space gives
    /// a row of the header's width whose `replay_args` field reads back,
    /// as shell words, to the name.
    #[test]
    fn replay_args_survive_any_policy_name() {
        for name in ["staged", "a,b", "say \"hi\"", "it's mine", "x y"] {
            let line = format!(
                "{},{}",
                csv_field(name),
                csv_field_unless_spaces(&replay_args(3, name, 42))
            );
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .from_reader(line.as_bytes());
            let record = reader.records().next().unwrap().unwrap();
            assert_eq!(record.len(), 2, "{name}: {line}");
            assert_eq!(&record[0], name);
            let args = &record[1];
            let policy = args
                .strip_prefix("--path 3 --policy ")
                .and_then(|rest| rest.strip_suffix(" --seed 42"))
                .unwrap();
            // The POSIX shell reading of the quoted name.
            let unquoted =
                if let Some(inner) = policy.strip_prefix('\'').and_then(|p| p.strip_suffix('\'')) {
                    inner.replace("'\\''", "'")
                } else {
                    policy.to_string()
                };
            assert_eq!(unquoted, name, "{args}");
        }
        assert_eq!(
            replay_args(3, "staged", 42),
            "--path 3 --policy staged --seed 42"
        );
    }
}
