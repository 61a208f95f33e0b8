//! `pivotsim compare`: several scenario files run with the same seed and
//! path count, side by side.
//!
//! The seed and paths are those of the command line, or else of the first
//! file, imposed on every other file, so the scenarios share their random
//! draws as far as their models allow and the differences come from the
//! files, not from sampling noise.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::engine::{Engine, RunOptions};
use crate::scenario::{self, Overrides, Scenario, ScenarioError};
use crate::summary::Summary;

/// How to run a comparison.
#[derive(Debug, Clone, Default)]
pub struct CompareOptions {
    /// Paths for every scenario (default: the first file's).
    pub paths: Option<u64>,
    /// Seed for every scenario (default: the first file's).
    pub seed: Option<u64>,
    /// Engine options (threads, progress bar).
    pub run: RunOptions,
}

/// Load and validate every file, with one seed and one path count.
pub fn load_scenarios(
    files: &[PathBuf],
    opts: &CompareOptions,
) -> Result<Vec<Scenario>, ScenarioError> {
    let Some(first) = files.first() else {
        return Ok(Vec::new());
    };
    let first = scenario::load_with(
        first,
        &Overrides {
            paths: opts.paths,
            seed: opts.seed,
            months: None,
        },
    )?;
    let shared = Overrides {
        paths: Some(first.simulation.paths),
        seed: Some(first.simulation.seed),
        months: None,
    };
    let mut scenarios = vec![first];
    for f in &files[1..] {
        let sc = scenario::load_with(f, &shared)?;
        // Each scenario's files are named after it: two of one name would
        // overwrite each other's summary and read alike in compare.csv.
        if let Some(k) = scenarios.iter().position(|other| other.name == sc.name) {
            return Err(ScenarioError::Invalid {
                file: f.clone(),
                key: "name".into(),
                message: format!(
                    "`{}` is also the name of {}: give each compared scenario its own `name`",
                    sc.name,
                    files[k].display()
                ),
            });
        }
        scenarios.push(sc);
    }
    Ok(scenarios)
}

/// Run the loaded scenarios in order.
pub fn run_scenarios(scenarios: Vec<Scenario>, opts: &CompareOptions) -> Vec<Summary> {
    scenarios
        .into_iter()
        .map(|sc| Engine::new(sc).run(&opts.run))
        .collect()
}

/// `output/compare-<a>+<b>+...`, or `output/compare-<12 hex digits>` of the
/// joined names when that would be longer than 80 characters.
pub fn default_out_dir(names: &[String]) -> PathBuf {
    let joined = names.join("+");
    let leaf = if joined.len() <= 80 {
        format!("compare-{joined}")
    } else {
        let digest = Sha256::digest(joined.as_bytes());
        let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
        format!("compare-{hex}")
    };
    Path::new("output").join(leaf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_dir_joins_short_names_and_hashes_long_ones() {
        let short = default_out_dir(&["a".into(), "b_c".into()]);
        assert_eq!(short, Path::new("output/compare-a+b_c"));
        let long: Vec<String> = (0..8).map(|i| format!("cango_2026_variant_{i}")).collect();
        let dir = default_out_dir(&long);
        let leaf = dir.file_name().unwrap().to_str().unwrap();
        assert_eq!(leaf.len(), "compare-".len() + 12);
        assert_eq!(dir, default_out_dir(&long), "stable");
    }
}
