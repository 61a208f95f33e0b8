//! `pivotsim calibrate` as a user runs it: on the shipped history it writes
//! calibration.json and a fragment that, pasted into the reference
//! scenario, validates; a bad window exits 2, names the flag and writes
//! nothing.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

use crate::common::scenario_path;

fn pivotsim() -> Command {
    Command::cargo_bin("pivotsim").unwrap()
}

fn history() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/history/btc_history_monthly.csv")
}

fn calibrate(out: &Path, window: &[&str]) -> assert_cmd::assert::Assert {
    pivotsim()
        .arg("calibrate")
        .arg("--history")
        .arg(history())
        .arg("--scenario")
        .arg(scenario_path("cango_2026"))
        .args(window)
        .arg("--out")
        .arg(out)
        .assert()
}

/// The reference scenario with its [market.btc], [market.fees] and
/// [market.hashrate] keys replaced by the fragment's.
fn pasted(fragment: &str) -> String {
    let text = fs::read_to_string(scenario_path("cango_2026")).unwrap();
    let mut scenario: toml::Table = toml::from_str(&text).unwrap();
    let fragment: toml::Table = toml::from_str(fragment).unwrap();
    let market = scenario["market"].as_table_mut().unwrap();
    for (section, keys) in fragment["market"].as_table().unwrap() {
        let target = market[section].as_table_mut().unwrap();
        for (key, value) in keys.as_table().unwrap() {
            target.insert(key.clone(), value.clone());
        }
    }
    toml::to_string(&scenario).unwrap()
}

#[test]
fn calibrate_on_the_shipped_history_writes_a_fragment_that_validates() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cal");
    let assert = calibrate(&out, &["--from", "2018-01", "--to", "2025-12"]).success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert!(
        stdout.contains("calibrate 2018-01..2025-12 (96 months)"),
        "{stdout}"
    );
    for name in [
        "calibration.json",
        "calibration.toml",
        ".pivotsim-manifest.json",
    ] {
        assert!(out.join(name).is_file(), "no {name}");
    }
    let json: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("calibration.json")).unwrap()).unwrap();
    assert_eq!(json["window"]["months"], 96);
    assert_eq!(json["start"], "2026-01");
    assert_eq!(json["hashrate"]["grid"].as_array().unwrap().len(), 35);
    assert_eq!(json["months_used"]["btc_returns"], 95);
    assert_eq!(json["months_used"]["fees_mean_btc"], 12);
    for key in ["kappa_up_per_year", "cash_cost_share", "sigma"] {
        let e = &json["hashrate"][key];
        assert!(
            e["estimate"].is_number() && e["at_bound"].is_boolean(),
            "{key}: {e}"
        );
    }
    assert!(json["hashrate"]["lag_months"]["estimate"].is_u64());
    assert!(json["btc"]["mu_historical"]["estimate"].is_number());
    assert_eq!(json["history"]["sha256"].as_str().unwrap().len(), 64);
    let fragment = fs::read_to_string(out.join("calibration.toml")).unwrap();
    assert!(fragment.contains(json["history"]["sha256"].as_str().unwrap()));
    assert!(fragment.contains("capitulation = true"));
    assert!(
        !fragment.contains("\nmu ="),
        "mu is never written:\n{fragment}"
    );
    // Pasted into a copy of the reference scenario (its fleet beside it).
    let scenario = dir.path().join("calibrated.toml");
    fs::write(&scenario, pasted(&fragment)).unwrap();
    fs::copy(
        scenario_path("cango_fleet").with_extension("csv"),
        dir.path().join("cango_fleet.csv"),
    )
    .unwrap();
    pivotsim().arg("validate").arg(&scenario).assert().success();
}

#[test]
fn calibrate_with_a_bad_window_exits_2_naming_the_flag_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cal");
    for (window, needle) in [
        (["--from", "2024-01", "--to", "2023-12"], "--from"),
        (["--from", "2010-01", "--to", "2023-12"], "--from"),
        (["--from", "2018-01", "--to", "2030-01"], "--to"),
        (["--from", "2023-01", "--to", "2023-06"], "at least 24"),
        (["--from", "2018-13", "--to", "2023-06"], "--from"),
    ] {
        calibrate(&out, &window)
            .code(2)
            .stderr(predicates::str::contains(needle));
        assert!(!out.exists(), "{window:?} wrote {}", out.display());
    }
}
