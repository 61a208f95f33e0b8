//! `pivotsim backtest` as a user runs it: on the shipped history with the
//! revision 4 reference scenario, the forecast check of the reference
//! scenario, and bad inputs (exit code 2, nothing written).

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn pivotsim() -> Command {
    Command::cargo_bin("pivotsim").unwrap()
}

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn history() -> PathBuf {
    repo("scenarios/history/btc_history_monthly.csv")
}

const HEADER: &str = "event,horizon_months,actual_hashrate_ehs,hashrate_ehs_p5,hashrate_ehs_p50,hashrate_ehs_p95,log_density_hashrate,actual_hashprice_usd_per_ph_day,hashprice_usd_per_ph_day_p5,hashprice_usd_per_ph_day_p50,hashprice_usd_per_ph_day_p95";

#[test]
fn backtest_of_the_revision_4_scenario_writes_its_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bt");
    let assert = pivotsim()
        .args(["backtest", "--format", "png", "--history"])
        .arg(history())
        .arg("--scenario")
        .arg(repo("tests/golden/scenarios/cango_2026.toml"))
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert!(stdout.contains("score"), "{stdout}");
    assert!(stdout.contains("2024-04 halving"), "{stdout}");
    let csv = fs::read_to_string(out.join("backtest.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some(HEADER));
    // Five events (three halvings, two capitulations), five horizons each.
    assert_eq!(lines.count(), 25);
    let json: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("backtest.json")).unwrap()).unwrap();
    let score = json["score"].as_f64().unwrap();
    let rw = json["random_walk_score"].as_f64().unwrap();
    assert!(score.is_finite() && rw.is_finite(), "{score} {rw}");
    assert_eq!(json["rows"].as_array().unwrap().len(), 25);
    assert_eq!(json["parameters"]["kind"], "scenario");
    assert!(out.join("backtest.png").exists());
    assert!(!out.join("backtest.svg").exists());
}

#[test]
fn backtest_with_no_charts_writes_the_data_only_and_repeats_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str| {
        let out = dir.path().join(name);
        pivotsim()
            .args(["backtest", "--no-charts", "--quiet", "--seed", "5"])
            .args(["--events", "2020-05,2022-06", "--history"])
            .arg(history())
            .arg("--scenario")
            .arg(repo("tests/golden/scenarios/cango_2026.toml"))
            .arg("--out")
            .arg(&out)
            .assert()
            .success();
        out
    };
    let (a, b) = (run("a"), run("b"));
    let mut names: Vec<String> = fs::read_dir(&a)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    assert_eq!(names, ["backtest.csv", "backtest.json"]);
    for name in names {
        assert_eq!(
            fs::read(a.join(&name)).unwrap(),
            fs::read(b.join(&name)).unwrap(),
            "{name}"
        );
    }
    let csv = fs::read_to_string(a.join("backtest.csv")).unwrap();
    assert_eq!(csv.lines().count(), 11);
}

#[test]
fn forecast_check_of_the_reference_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fc");
    pivotsim()
        .args(["backtest", "--no-charts", "--quiet", "--history"])
        .arg(history())
        .arg("--forecast")
        .arg(repo("scenarios/cango_2026.toml"))
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let csv = fs::read_to_string(out.join("forecast_check.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("month,metric,actual,p5,p50,p95,percentile_rank")
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let months: Vec<&str> = rows.iter().map(|r| r[0]).collect();
    let mut expected = Vec::new();
    for m in ["02", "03", "04", "05", "06", "07"] {
        expected.extend(std::iter::repeat_n(format!("2026-{m}"), 3));
    }
    assert_eq!(months, expected);
    for r in &rows {
        let blank = r[1] != "btc_price_usd" && (r[0] == "2026-06" || r[0] == "2026-07");
        assert_eq!(r[2].is_empty(), blank, "{r:?}");
        assert_eq!(r[6].is_empty(), blank, "{r:?}");
        if !blank {
            let rank: f64 = r[6].parse().unwrap();
            assert!((0.0..=100.0).contains(&rank), "{r:?}");
        }
        let p: Vec<f64> = r[3..6].iter().map(|x| x.parse().unwrap()).collect();
        assert!(p[0] <= p[1] && p[1] <= p[2], "{r:?}");
    }
    assert!(!out.join("forecast_check.png").exists());
}

#[test]
fn bad_backtest_inputs_exit_2_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let calibration = dir.path().join("calibration.json");
    fs::write(&calibration, r#"{"hashrate": {"sigma": {"estimate": 0.2}}, "window": {"from": "2018-01", "to": "2025-12"}}"#).unwrap();
    let scenario = repo("tests/golden/scenarios/cango_2026.toml");
    let s = scenario.to_str().unwrap();
    let h = history();
    let h = h.to_str().unwrap();
    let c = calibration.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--history", "missing.csv", "--scenario", s],
            "missing.csv",
        ),
        (
            vec!["--history", h, "--scenario", s, "--events", "2020/05"],
            "YYYY-MM",
        ),
        (
            vec!["--history", h, "--scenario", s, "--events", "2031-01"],
            "not in the file",
        ),
        (
            vec!["--history", h, "--calibration", c],
            "hashrate.kappa_up_per_year",
        ),
        (
            vec!["--history", h, "--scenario", s, "--calibration", c],
            "cannot be used with",
        ),
        (vec!["--history", h], "required"),
        (
            vec!["--history", h, "--forecast", s, "--events", "2020-05"],
            "cannot be used with",
        ),
        (vec!["--history", h, "--scenario", "nope.toml"], "nope.toml"),
    ];
    for (k, (args, needle)) in cases.into_iter().enumerate() {
        let out = dir.path().join(format!("out{k}"));
        let assert = pivotsim()
            .arg("backtest")
            .args(&args)
            .arg("--out")
            .arg(&out)
            .assert()
            .code(2);
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(!out.exists(), "{args:?} wrote {}", out.display());
    }
}
