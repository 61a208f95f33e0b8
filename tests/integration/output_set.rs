//! A command's files as one set (`src/output/`): a run keeps the user's
//! files in its folder, replaces the previous run's set and removes what
//! that set had and the new one lacks; a killed run leaves the previous set
//! complete, and the next one cleans up after it; `replay`'s ledgers sit
//! beside the run's set, outside it.
//!
//! Kills are made with `PIVOTSIM_TEST_ABORT=<step>` (test only), which
//! aborts the process at that step of writing, as a kill would.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use assert_cmd::Command;
use pivotsim::output::{self, LOCK, MANIFEST, Manifest, State};

use crate::common::scenario_path;

fn pivotsim() -> Command {
    Command::cargo_bin("pivotsim").unwrap()
}

/// `pivotsim run` on the smoke scenario into `out`, with `args`.
fn run(out: &Path, args: &[&str]) -> std::process::Output {
    pivotsim()
        .args(["run", "-q", "--paths", "200", "--out"])
        .arg(out)
        .args(args)
        .arg(scenario_path("smoke"))
        .env_remove("PIVOTSIM_TEST_ABORT")
        .output()
        .unwrap()
}

/// As [`run`], killed at `step`.
fn run_killed_at(out: &Path, step: &str, args: &[&str]) {
    let output = pivotsim()
        .args(["run", "-q", "--paths", "200", "--out"])
        .arg(out)
        .args(args)
        .arg(scenario_path("smoke"))
        .env("PIVOTSIM_TEST_ABORT", step)
        .output()
        .unwrap();
    assert!(
        !output.status.success(),
        "{step}: not killed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn run_ok(out: &Path, args: &[&str]) -> Manifest {
    let output = run(out, args);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    manifest(out)
}

fn manifest(dir: &Path) -> Manifest {
    output::read_manifest(dir).unwrap().expect("a manifest")
}

/// Every regular file directly in `dir` (the lock aside), with its bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| e.file_name().into_string().unwrap())
        .filter(|n| n != LOCK)
        .map(|n| (n.clone(), fs::read(dir.join(&n)).unwrap()))
        .collect()
}

/// Every name directly in `dir`.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// The folder holds the manifest's files, the manifest, the lock and the
/// user's `others`, and nothing else: no staging folder, no temporary file.
fn assert_settled(dir: &Path, others: &[&str]) {
    let manifest = manifest(dir);
    assert_eq!(manifest.state, State::Complete);
    let mut expected: Vec<String> = manifest.files.clone();
    expected.extend([MANIFEST, LOCK].map(String::from));
    expected.extend(others.iter().map(|s| s.to_string()));
    expected.sort();
    assert_eq!(names(dir), expected);
}

#[test]
fn a_run_keeps_the_users_files_and_removes_only_its_previous_sets() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("smoke");
    fs::create_dir_all(out.join("mine")).unwrap();
    fs::write(out.join("notes.txt"), "my notes\n").unwrap();
    fs::write(out.join("my_chart.svg"), "<svg/>").unwrap();
    fs::write(out.join("mine").join("summary.json"), "{}").unwrap();
    let users = ["mine", "my_chart.svg", "notes.txt"];

    let first = run_ok(&out, &["--worst", "3", "--format", "svg"]);
    assert_eq!(first.command, "run");
    for f in [
        "summary.json",
        "report.html",
        "worst_paths.csv",
        "market.svg",
    ] {
        assert!(first.files.iter().any(|n| n == f), "{f}: {:?}", first.files);
    }
    assert!(!first.files.iter().any(|n| n.ends_with(".png")));
    assert_settled(&out, &users);

    let second = run_ok(&out, &["--no-charts"]);
    assert_ne!(second.run_id, first.run_id);
    assert_eq!(
        second.files,
        [
            "drivers.csv",
            "market.csv",
            "monthly.csv",
            "policies.csv",
            "report.html",
            "summary.json"
        ]
    );
    // The first set's charts and worst paths are gone, the user's files stay.
    assert_settled(&out, &users);
    assert_eq!(fs::read(out.join("notes.txt")).unwrap(), b"my notes\n");
    assert_eq!(fs::read(out.join("my_chart.svg")).unwrap(), b"<svg/>");
    assert_eq!(fs::read(out.join("mine/summary.json")).unwrap(), b"{}");
}

#[test]
fn compare_writes_its_files_as_a_set() {
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.toml");
    let text = fs::read_to_string(scenario_path("smoke")).unwrap();
    fs::write(&other, text.replace("name = \"smoke\"", "name = \"other\"")).unwrap();
    let out = dir.path().join("cmp");
    fs::create_dir_all(&out).unwrap();
    fs::write(out.join("notes.txt"), "mine").unwrap();
    fs::write(out.join("compare.png"), "old").unwrap();
    pivotsim()
        .args(["compare", "-q", "--no-charts", "--paths", "100", "--out"])
        .arg(&out)
        .arg(scenario_path("smoke"))
        .arg(&other)
        .assert()
        .success();
    let manifest = manifest(&out);
    assert_eq!(manifest.command, "compare");
    assert_eq!(
        manifest.files,
        ["compare.csv", "other.summary.json", "smoke.summary.json"]
    );
    // A file under a name of pivotsim's but not in its set is not its own.
    assert_settled(&out, &["compare.png", "notes.txt"]);
}

#[test]
fn a_killed_run_leaves_the_previous_set_and_the_next_run_cleans_up() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("smoke");
    fs::create_dir_all(&out).unwrap();
    fs::write(out.join("notes.txt"), "my notes\n").unwrap();
    let first = run_ok(&out, &["--worst", "3", "--no-charts", "--seed", "1"]);
    let before = files(&out);
    assert!(before.contains_key("worst_paths.csv"));
    let stagings = |dir: &Path| -> Vec<String> {
        names(dir)
            .into_iter()
            .filter(|n| n.starts_with(".staging-"))
            .collect()
    };

    // Killed while staging its files: the folder is untouched.
    run_killed_at(&out, "staged:2", &["--no-charts", "--seed", "2"]);
    assert_eq!(files(&out), before);
    assert_eq!(stagings(&out).len(), 1);

    // Killed while swapping, after it has replaced every file of the first
    // set and removed one: the journal says where the first set is, whole.
    run_killed_at(&out, "removed:1", &["--no-charts", "--seed", "3"]);
    let journal = manifest(&out);
    assert_eq!(journal.state, State::Committing);
    assert_ne!(
        fs::read(out.join("summary.json")).unwrap(),
        before["summary.json"]
    );
    assert!(!out.join("worst_paths.csv").exists());
    let previous = journal.previous.expect("the previous set");
    assert_eq!(previous.run_id.as_deref(), Some(first.run_id.as_str()));
    assert_eq!(previous.files, first.files);
    let backup = files(&out.join(&previous.backup));
    for name in &first.files {
        assert_eq!(backup[name], before[name], "{name}");
    }
    assert_eq!(stagings(&out).len(), 1, "the earlier staging is gone");

    // The next command rolls that back before it writes: killed while
    // staging, it leaves the first set exactly, manifest and all.
    fs::write(out.join(".summary.json.tmp-4242"), "left by a kill").unwrap();
    run_killed_at(&out, "staged:1", &["--no-charts", "--seed", "4"]);
    assert_eq!(files(&out), before);

    // A run that completes leaves its set, the user's file and nothing else.
    let last = run_ok(&out, &["--no-charts", "--seed", "5"]);
    assert!(!last.files.iter().any(|n| n == "worst_paths.csv"));
    assert_settled(&out, &["notes.txt"]);
    assert_eq!(fs::read(out.join("notes.txt")).unwrap(), b"my notes\n");
}

#[test]
fn replay_writes_its_ledger_beside_the_run_and_a_run_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    pivotsim()
        .current_dir(dir.path())
        .args(["replay", "--path", "0", "--policy", "hold"])
        .arg(scenario_path("smoke"))
        .assert()
        .success();
    let ledger = dir
        .path()
        .join("output/smoke/ledgers/ledger_hold_path0.csv");
    let bytes = fs::read(&ledger).expect("the ledger in output/smoke/ledgers/");
    pivotsim()
        .current_dir(dir.path())
        .args(["run", "-q", "--no-charts", "--paths", "100"])
        .arg(scenario_path("smoke"))
        .assert()
        .success();
    let out = dir.path().join("output/smoke");
    assert_settled(&out, &["ledgers"]);
    assert_eq!(fs::read(&ledger).unwrap(), bytes);
    assert_eq!(names(&out.join("ledgers")), ["ledger_hold_path0.csv"]);
}
