//! Seeded mutation fuzzing of scenario files, run offline in the test suite
//! (`cargo fuzz` needs a nightly toolchain).
//!
//! Each mutant is a shipped scenario (and its fleet CSV) with one to three
//! random edits: a value replaced by junk or by an extreme number, a line
//! deleted, duplicated or swapped, a table header inserted, a character
//! changed, the text cut short. A mutant must load with a clear error or load
//! and then run, report and replay without a panic; a run's figures must be
//! finite. Runs are cut to at most 200 paths and 24 months unless the mutant
//! lowered them. The mutants are the same on every machine (a fixed seed), and
//! a watchdog fails the test, naming the mutant, if one hangs.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pivotsim::engine::{Engine, RunOptions, ledger};
use pivotsim::report;
use pivotsim::scenario::{self, Overrides};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

use crate::common::scenario_path;

/// Mutants per run of the test.
const MUTANTS: usize = 2000;
/// How long the whole test may take before it counts as a hang.
const WATCHDOG: Duration = Duration::from_secs(300);

const JUNK: &[&str] = &[
    "0",
    "-1",
    "-0.0",
    "1e-300",
    "1e300",
    "-1e300",
    "nan",
    "inf",
    "-inf",
    "9223372036854775807",
    "-9223372036854775808",
    "\"79228162514264337593543950335\"",
    "\"0.0000000000000000000000000001\"",
    "\"\"",
    "\"x/../../escape\"",
    "\"a\\u0000b\"",
    "\"line\\nbreak\"",
    "[]",
    "[1, 2]",
    "{}",
    "true",
    "\"2026-13-45\"",
    "\"+262142-01-01\"",
    "\"2100-12-01\"",
    "2026-02-01",
];

const HEADERS: &[&str] = &[
    "[simulation]",
    "[loan]",
    "[treasury]",
    "[financing]",
    "[[events]]",
    "[[policies]]",
    "[[regions]]",
    "[[sites]]",
    "[[market.btc.regimes]]",
    "[market.correlation]",
];

/// A random number of any magnitude and sign, as TOML.
fn extreme_number(rng: &mut Xoshiro256PlusPlus) -> String {
    let exponent = rng.random_range(-320..=320);
    let mantissa: f64 = rng.random_range(1.0..10.0);
    let sign = if rng.random_bool(0.3) { "-" } else { "" };
    if rng.random_bool(0.3) {
        format!("{sign}{}", rng.random_range(0..=u32::MAX))
    } else {
        format!("{sign}{mantissa}e{exponent}")
    }
}

/// One random edit of `text`.
fn mutate(rng: &mut Xoshiro256PlusPlus, text: &str) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let n = lines.len();
    let i = rng.random_range(0..n);
    match rng.random_range(0..8) {
        0..=2 => {
            let values: Vec<usize> = (0..n).filter(|&i| lines[i].contains(" = ")).collect();
            if let Some(&i) = values.get(rng.random_range(0..values.len().max(1))) {
                let (key, old) = lines[i].split_once(" = ").unwrap();
                let (key, old) = (key.to_owned(), old.split('#').next().unwrap().trim());
                let old_number = old.trim_matches('"').parse::<f64>().ok();
                let value = match (rng.random_range(0..3), old_number) {
                    // A plausible change: the value scaled by 0.1 to 10, so
                    // that enough mutants pass validation and run.
                    (0, Some(x)) => format!("{}", x * 10f64.powf(rng.random_range(-1.0..1.0))),
                    (1, _) => JUNK[rng.random_range(0..JUNK.len())].to_owned(),
                    _ => extreme_number(rng),
                };
                lines[i] = format!("{key} = {value}");
            }
        }
        3 => {
            lines.remove(i);
        }
        4 => {
            let line = lines[i].clone();
            lines.insert(i, line);
        }
        5 => {
            let j = rng.random_range(0..n);
            lines.swap(i, j);
        }
        6 => {
            let header = HEADERS[rng.random_range(0..HEADERS.len())];
            lines.insert(i, header.to_owned());
        }
        _ => {
            let chars: Vec<char> = lines[i].chars().collect();
            if !chars.is_empty() {
                let at = rng.random_range(0..chars.len());
                let c = char::from(rng.random_range(b' '..=b'~'));
                lines[i] = chars[..at]
                    .iter()
                    .chain(std::iter::once(&c))
                    .chain(&chars[at + 1..])
                    .collect();
            }
        }
    }
    let mut out = lines.join("\n");
    if rng.random_bool(0.02) {
        let cut = rng.random_range(0..out.len());
        let cut = (0..=cut).rev().find(|&c| out.is_char_boundary(c)).unwrap();
        out.truncate(cut);
    }
    out
}

/// Load, run, report and replay one mutant; a panic propagates. True if
/// the mutant was run (false if it was refused).
fn exercise(file: &Path) -> bool {
    let Ok(loaded) = scenario::load(file) else {
        return false;
    };
    let sim = &loaded.simulation;
    let scenario = if sim.paths > 200 || sim.months > 24 {
        let overrides = Overrides {
            paths: Some(sim.paths.min(200)),
            months: Some(sim.months.min(24)),
            ..Overrides::default()
        };
        match scenario::load_with(file, &overrides) {
            Ok(s) => s,
            Err(_) => return false,
        }
    } else {
        loaded
    };
    let engine = Engine::new(scenario);
    let summary = engine.run(&RunOptions {
        threads: 1,
        ..RunOptions::default()
    });
    report::summary_json(&summary);
    report::monthly_csv(&summary);
    report::market_csv(&summary);
    report::policies_csv(&summary);
    report::table(&summary);
    for p in 0..engine.scenario.policies.len() {
        // A ledger may be refused (a figure beyond its exact decimals), not panic.
        if let Ok(ledger) = ledger::replay(&engine, p, 0) {
            ledger.csv();
            ledger.markdown();
        }
    }
    true
}

/// The lines of a mutant (and its fleet) that are not in the source.
fn changed_lines(text: &str, mutant: &str, fleet: &str, csv: &str) -> String {
    let new = |old: &str, new: &str| -> Vec<String> {
        new.lines()
            .filter(|line| !old.lines().any(|o| o == *line))
            .map(|line| format!("  {line}"))
            .collect()
    };
    let mut out = new(text, mutant);
    if csv != fleet {
        out.push("  (and the fleet CSV:)".to_owned());
        out.extend(new(fleet, csv));
    }
    out.join("\n")
}

#[test]
fn mutated_scenarios_never_panic_or_hang() {
    let sources: Vec<(String, String)> = ["smoke", "cango_2026_treasury"]
        .iter()
        .map(|name| {
            let text = std::fs::read_to_string(scenario_path(name)).unwrap();
            (name.to_string(), text)
        })
        .collect();
    let fleet =
        std::fs::read_to_string(scenario_path("cango_fleet").with_extension("csv")).unwrap();
    let current = Arc::new(Mutex::new(String::new()));
    let (done_tx, done_rx) = mpsc::channel();
    let worker_current = Arc::clone(&current);
    let worker = std::thread::spawn(move || {
        let dir = tempfile::tempdir().unwrap();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(20261207);
        let (mut failures, mut ran) = (Vec::new(), 0);
        for k in 0..MUTANTS {
            let (name, text) = &sources[k % sources.len()];
            let mut mutant = text.clone();
            for _ in 0..rng.random_range(1..=3) {
                mutant = mutate(&mut rng, &mutant);
            }
            let mut csv = fleet.clone();
            if rng.random_bool(0.1) {
                csv = mutate(&mut rng, &csv).replace(" = ", ",");
            }
            let file = dir.path().join("mutant.toml");
            std::fs::write(&file, &mutant).unwrap();
            std::fs::write(dir.path().join("cango_fleet.csv"), &csv).unwrap();
            *worker_current.lock().unwrap() = format!("mutant {k} of {name}:\n{mutant}");
            match catch_unwind(AssertUnwindSafe(|| exercise(&file))) {
                Ok(was_run) => ran += usize::from(was_run),
                Err(_) => failures.push(format!(
                    "mutant {k} of {name} panicked; its changed lines:\n{}",
                    changed_lines(text, &mutant, &fleet, &csv)
                )),
            }
        }
        done_tx.send((failures, ran)).unwrap();
    });
    match done_rx.recv_timeout(WATCHDOG) {
        Ok((failures, ran)) => {
            worker.join().unwrap();
            assert!(failures.is_empty(), "{}", failures.join("\n\n"));
            // Most edits make a file invalid; enough must stay valid to run.
            eprintln!("{ran} of {MUTANTS} mutants ran, the others were refused");
            assert!(ran >= MUTANTS / 10, "only {ran} of {MUTANTS} mutants ran");
        }
        Err(_) => panic!(
            "no result after {WATCHDOG:?}; hanging on {}",
            current.lock().unwrap()
        ),
    }
}
