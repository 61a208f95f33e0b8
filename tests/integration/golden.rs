//! Golden files: fixed scenarios and seeds whose outputs are stored under
//! `tests/golden/` and compared byte for byte, so that a restructuring that
//! moves any figure fails here.
//!
//! Each case runs the `pivotsim` binary on a copy of the scenario kept in
//! `tests/golden/scenarios/` (the revision 4 reference, so that later changes
//! to `scenarios/` do not move these files). `summary.json` is compared with
//! the fields that vary by run or build left out (timing, version, the
//! scenario's hash); the CSVs and the ledger whole.
//!
//! The stored bytes are those of x86-64 Linux with glibc, the platform CI
//! runs on: logarithms and powers come from the C library, so another
//! platform can differ in the last bits, and there the test says so and
//! skips. After a change that is meant to move figures, regenerate with
//! `PIVOTSIM_BLESS_GOLDEN=1 cargo test golden` and say why in the commit.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// Top-level keys of `summary.json` that vary by run, build or file bytes.
const VOLATILE_KEYS: [&str; 5] = [
    "scenario_sha256",
    "pivotsim_version",
    "elapsed_s",
    "run_started_utc",
    "performance",
];

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn golden_scenario(name: &str) -> PathBuf {
    golden_dir().join("scenarios").join(format!("{name}.toml"))
}

fn supported_platform() -> bool {
    if cfg!(all(
        target_arch = "x86_64",
        target_os = "linux",
        target_env = "gnu"
    )) {
        true
    } else {
        eprintln!(
            "golden files are for x86-64 Linux with glibc; skipped on this platform \
             (its C library may differ in the last bits)"
        );
        false
    }
}

fn blessing() -> bool {
    std::env::var_os("PIVOTSIM_BLESS_GOLDEN").is_some_and(|v| v == "1")
}

/// `summary.json` without the top-level keys in [`VOLATILE_KEYS`] (a key and,
/// when its value opens a block, every line up to the block's close).
fn strip_volatile(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let mut skipping_block = false;
    for line in json.lines() {
        if skipping_block {
            if line == "  }" || line == "  }," || line == "  ]" || line == "  ]," {
                skipping_block = false;
            }
            continue;
        }
        let volatile = VOLATILE_KEYS
            .iter()
            .any(|k| line.starts_with(&format!("  \"{k}\": ")));
        if volatile {
            let value = line.split_once(": ").map_or("", |(_, v)| v);
            skipping_block = value == "{" || value == "[";
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Compare (or, when blessing, store) `actual` as `tests/golden/<case>/<file>`.
fn check(case: &str, file: &str, actual: &[u8], mismatches: &mut Vec<String>) {
    let path = golden_dir().join(case).join(file);
    if blessing() {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, actual).unwrap();
        return;
    }
    let expected = fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    // Columns added since the file was stored are allowed: the stored
    // columns must still be there, in order, with the same bytes.
    let projected = file
        .ends_with(".csv")
        .then(|| stored_columns_of(&expected, actual))
        .flatten();
    let actual = projected.as_deref().unwrap_or(actual);
    if expected != actual {
        let first_diff = String::from_utf8_lossy(actual)
            .lines()
            .zip(String::from_utf8_lossy(&expected).lines())
            .enumerate()
            .find(|(_, (a, e))| a != e)
            .map(|(i, (a, e))| format!("line {}: got `{a}`, stored `{e}`", i + 1))
            .unwrap_or_else(|| "lengths differ".to_string());
        mismatches.push(format!("{case}/{file}: {first_diff}"));
    }
}

/// `actual` (a CSV without quoted cells) reduced to the columns of
/// `expected`'s header, if its header holds them all in the same order and
/// more besides; `None` otherwise (compared as it is).
fn stored_columns_of(expected: &[u8], actual: &[u8]) -> Option<Vec<u8>> {
    let (expected, actual) = (
        std::str::from_utf8(expected).ok()?,
        std::str::from_utf8(actual).ok()?,
    );
    let stored: Vec<&str> = expected.lines().next()?.split(',').collect();
    let mut lines = actual.lines();
    let header: Vec<&str> = lines.next()?.split(',').collect();
    if header.len() <= stored.len() || actual.contains('"') {
        return None;
    }
    let mut keep = Vec::with_capacity(stored.len());
    let mut from = 0;
    for column in &stored {
        let i = from + header[from..].iter().position(|h| h == column)?;
        keep.push(i);
        from = i + 1;
    }
    let mut out = String::new();
    for line in std::iter::once(header.join(",").as_str()).chain(lines) {
        let cells: Vec<&str> = line.split(',').collect();
        let row: Vec<&str> = keep
            .iter()
            .map(|&i| cells.get(i).copied().unwrap_or(""))
            .collect();
        out.push_str(&row.join(","));
        out.push('\n');
    }
    Some(out.into_bytes())
}

fn pivotsim() -> Command {
    Command::cargo_bin("pivotsim").unwrap()
}

/// `pivotsim run` on a golden scenario, then its files against the stored ones.
fn run_case(case: &str, scenario: &str, args: &[&str], files: &[&str]) {
    if !supported_platform() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join(case);
    pivotsim()
        .args(["run", "--no-charts", "-q", "--out"])
        .arg(&out)
        .args(args)
        .arg(golden_scenario(scenario))
        .assert()
        .success();
    let mut mismatches = Vec::new();
    let summary = fs::read_to_string(out.join("summary.json")).unwrap();
    check(
        case,
        "summary.json",
        strip_volatile(&summary).as_bytes(),
        &mut mismatches,
    );
    for file in files {
        check(
            case,
            file,
            &fs::read(out.join(file)).unwrap(),
            &mut mismatches,
        );
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// `pivotsim replay` on a golden scenario, then its ledger against the stored one.
fn replay_case(case: &str, scenario: &str, path: &str, policy: &str) {
    if !supported_platform() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out: &Path = &dir.path().join("ledger.csv");
    pivotsim()
        .args(["replay", "--path", path, "--policy", policy, "--out"])
        .arg(out)
        .arg(golden_scenario(scenario))
        .assert()
        .success();
    let mut mismatches = Vec::new();
    check(case, "ledger.csv", &fs::read(out).unwrap(), &mut mismatches);
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

const RUN_FILES: [&str; 3] = ["policies.csv", "monthly.csv", "market.csv"];

#[test]
fn golden_smoke() {
    run_case("smoke", "smoke", &["--threads", "1"], &RUN_FILES);
}

/// Above the 8,192-path pilot: histogram percentiles and `max_rank_error`.
#[test]
fn golden_cango_2026_20000_paths() {
    run_case(
        "cango_2026",
        "cango_2026",
        &["--paths", "20000", "--threads", "2"],
        &RUN_FILES,
    );
}

/// The active treasury (raise, draw, sales to a target LTV) and `--worst`.
#[test]
fn golden_treasury_with_worst_paths() {
    let mut files = RUN_FILES.to_vec();
    files.push("worst_paths.csv");
    run_case(
        "cango_2026_treasury_worst",
        "cango_2026_treasury",
        &["--paths", "3000", "--worst", "5"],
        &files,
    );
}

#[test]
fn golden_no_delever() {
    run_case(
        "cango_2026_no_delever",
        "cango_2026_no_delever",
        &["--paths", "2000"],
        &RUN_FILES,
    );
}

#[test]
fn golden_colocation() {
    run_case(
        "cango_2026_colocation",
        "cango_2026_colocation",
        &["--paths", "2000", "--months", "36"],
        &RUN_FILES,
    );
}

#[test]
fn golden_ledger_threshold() {
    replay_case(
        "ledger_cango_2026_threshold",
        "cango_2026",
        "17",
        "threshold",
    );
}

#[test]
fn golden_ledger_treasury_staged() {
    replay_case(
        "ledger_cango_2026_treasury_staged",
        "cango_2026_treasury",
        "3",
        "staged",
    );
}

#[test]
fn strip_volatile_drops_keys_and_their_blocks() {
    let json = "{\n  \"a\": 1,\n  \"elapsed_s\": 0.5,\n  \"performance\": {\n    \"x\": 1\n  },\n  \"b\": [\n    2\n  ]\n}\n";
    assert_eq!(
        strip_volatile(json),
        "{\n  \"a\": 1,\n  \"b\": [\n    2\n  ]\n}\n"
    );
}

/// The README opens with the main command and the table it prints: the
/// table must be that command's output, to the byte.
#[test]
fn the_readme_table_is_the_output_of_its_command() {
    if !supported_platform() {
        return;
    }
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let block = |fence: &str| -> Vec<String> {
        let start = readme
            .find(fence)
            .unwrap_or_else(|| panic!("no {fence} block"))
            + fence.len();
        let end = start + readme[start..].find("```").unwrap();
        readme[start..end]
            .trim_start_matches('\n')
            .lines()
            .map(str::to_owned)
            .collect()
    };
    let command = block("```sh\n")[0].clone();
    let args: Vec<&str> = command
        .split('#')
        .next()
        .unwrap()
        .strip_prefix("cargo run --release -- ")
        .unwrap_or_else(|| {
            panic!("the README's first command is not `cargo run --release -- ...`: {command}")
        })
        .split_whitespace()
        .collect();
    assert_eq!(args[..2], ["run", "scenarios/cango_2026.toml"], "{command}");
    let dir = tempfile::tempdir().unwrap();
    let output = pivotsim()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(&args)
        .args(["--no-charts", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: Vec<String> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        printed,
        block("```text\n"),
        "README.md's table is not what `{command}` prints"
    );
}

#[test]
fn new_csv_columns_are_projected_away_and_nothing_else() {
    let stored = b"a,b,c\n1,2,3\n";
    assert_eq!(
        stored_columns_of(stored, b"a,x,b,c\n1,9,2,3\n").as_deref(),
        Some(&stored[..])
    );
    // A changed stored value still differs after the projection.
    assert_ne!(
        stored_columns_of(stored, b"a,x,b,c\n1,9,2,4\n").as_deref(),
        Some(&stored[..])
    );
    // A missing or reordered stored column is not projected.
    assert_eq!(stored_columns_of(stored, b"a,c,x\n1,3,9\n"), None);
    assert_eq!(stored_columns_of(stored, b"c,b,a,x\n3,2,1,9\n"), None);
}
