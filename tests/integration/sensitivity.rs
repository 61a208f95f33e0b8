//! `pivotsim sensitivity`, as a user runs it: every row of `sensitivity.csv`
//! equals, bit for bit, a separate `pivotsim run` of a copy of the file
//! with that key set to the row's value (the copies are written here, by a
//! setter of the test's own); a key the scenario never reads moves
//! nothing; unknown and non-numeric keys exit 2 naming the key; the
//! `[sensitivity.ranges]` table sets the values and `run` ignores it; the
//! same bytes on one thread or two, points in parallel or not; a breakeven
//! found where the difference of two policies changes sign, inside the
//! bracket, as separate runs confirm.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use toml::{Table, Value};

use crate::common::scenario_path;

fn pivotsim() -> Command {
    Command::cargo_bin("pivotsim").unwrap()
}

/// The figures of one row of `sensitivity.csv` (as parsed from its text).
#[derive(Debug, Clone, PartialEq)]
struct Figures {
    npv_mean: f64,
    npv_se: f64,
    vs_baseline: Option<(f64, f64)>,
    p_margin_call: f64,
    p_liquidation: f64,
}

/// One row: parameter, side, value, status, policy, figures.
#[derive(Debug, Clone)]
struct Row {
    parameter: String,
    side: String,
    value: String,
    status: String,
    policy: String,
    figures: Option<Figures>,
}

fn read_csv(file: &Path) -> Vec<Row> {
    let mut reader = csv::Reader::from_path(file).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header,
        [
            "parameter",
            "side",
            "value",
            "status",
            "policy",
            "npv_usd_mean",
            "npv_usd_se",
            "npv_vs_baseline_usd_mean",
            "npv_vs_baseline_usd_se",
            "p_margin_call",
            "p_liquidation"
        ]
    );
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            let f = |i: usize| r[i].parse::<f64>().unwrap();
            let figures = (!r[5].is_empty()).then(|| Figures {
                npv_mean: f(5),
                npv_se: f(6),
                vs_baseline: (!r[7].is_empty()).then(|| (f(7), f(8))),
                p_margin_call: f(9),
                p_liquidation: f(10),
            });
            Row {
                parameter: r[0].to_string(),
                side: r[1].to_string(),
                value: r[2].to_string(),
                status: r[3].to_string(),
                policy: r[4].to_string(),
                figures,
            }
        })
        .collect()
}

/// Each policy's figures in a run's `policies.csv` (parsed exactly: a JSON
/// parser may round the last bit).
fn run_figures(policies_csv: &Path) -> BTreeMap<String, Figures> {
    let mut reader = csv::Reader::from_path(policies_csv).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let cols = [
        "npv_usd_mean",
        "npv_usd_se",
        "npv_vs_baseline_usd_mean",
        "npv_vs_baseline_usd_se",
        "p_margin_call",
        "p_liquidation",
    ]
    .map(col);
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            let f = |i: usize| r[cols[i]].parse::<f64>().unwrap();
            let figures = Figures {
                npv_mean: f(0),
                npv_se: f(1),
                vs_baseline: (!r[cols[2]].is_empty()).then(|| (f(2), f(3))),
                p_margin_call: f(4),
                p_liquidation: f(5),
            };
            (r[0].to_string(), figures)
        })
        .collect()
}

/// The reference correlation matrix (docs/model.md section 6), for a file
/// that does not write it.
fn reference_matrix() -> Value {
    let rows = [
        [1.0, 0.3, 0.0, 0.2],
        [0.3, 1.0, 0.0, 0.0],
        [0.0, 0.0, 1.0, 0.0],
        [0.2, 0.0, 0.0, 1.0],
    ];
    Value::Array(
        rows.iter()
            .map(|r| Value::Array(r.iter().map(|v| Value::Float(*v)).collect()))
            .collect(),
    )
}

/// `table` with `key` (`a.b`, `a[1].b`, `m[0][1]`) set to `value`: the
/// tables on the way made if missing, the matrix written out if missing,
/// an off-diagonal cell's mirror set too.
fn set_key(table: &mut Table, key: &str, value: Value) {
    let mut parts: Vec<(String, Vec<usize>)> = Vec::new();
    for part in key.split('.') {
        let mut it = part.split('[');
        let name = it.next().unwrap().to_string();
        let idx = it
            .map(|i| i.trim_end_matches(']').parse().unwrap())
            .collect();
        parts.push((name, idx));
    }
    if key.starts_with("market.correlation.matrix[") {
        let corr = table
            .entry("market")
            .or_insert(Value::Table(Table::new()))
            .as_table_mut()
            .unwrap()
            .entry("correlation")
            .or_insert(Value::Table(Table::new()))
            .as_table_mut()
            .unwrap();
        let m = corr.entry("matrix").or_insert_with(reference_matrix);
        let (i, j) = (parts[2].1[0], parts[2].1[1]);
        m[i].as_array_mut().unwrap()[j] = value.clone();
        m[j].as_array_mut().unwrap()[i] = value;
        return;
    }
    let mut here = table;
    for (n, (name, idx)) in parts.iter().enumerate() {
        let last = n + 1 == parts.len();
        if last && idx.is_empty() {
            here.insert(name.clone(), value);
            return;
        }
        let mut v = here
            .entry(name.clone())
            .or_insert(Value::Table(Table::new()));
        for i in idx {
            v = &mut v.as_array_mut().unwrap()[*i];
        }
        here = v.as_table_mut().unwrap();
    }
}

/// A copy of `scenario` (its fleet CSV beside it, if any) with `key` set
/// to `value`, as text the user could have written.
fn copy_with(scenario: &Path, dir: &Path, key: Option<(&str, &str)>) -> PathBuf {
    let text = fs::read_to_string(scenario).unwrap();
    let mut table: Table = text.parse().unwrap();
    if let Some(csv) = table.get("sites_csv").and_then(Value::as_str) {
        fs::copy(scenario.parent().unwrap().join(csv), dir.join(csv)).unwrap();
    }
    if let Some((key, value)) = key {
        let v = match value.parse::<i64>() {
            Ok(i) if !value.contains('.') && !value.contains('e') => Value::Integer(i),
            _ => Value::Float(value.parse().unwrap()),
        };
        set_key(&mut table, key, v);
    }
    let file = dir.join(scenario.file_name().unwrap());
    fs::write(&file, toml::to_string(&table).unwrap()).unwrap();
    file
}

/// `pivotsim run FILE --paths N` into `out`; its policies.csv.
fn run_file(file: &Path, paths: &str, out: &Path) -> PathBuf {
    pivotsim()
        .args(["run", "--paths", paths, "--no-charts", "-q", "--out"])
        .arg(out)
        .arg(file)
        .assert()
        .success();
    out.join("policies.csv")
}

fn sensitivity(args: &[&str], scenario: &Path, out: &Path) -> Vec<Row> {
    pivotsim()
        .arg("sensitivity")
        .arg(scenario)
        .args(args)
        .args(["--no-charts", "-q", "--out"])
        .arg(out)
        .assert()
        .success();
    read_csv(&out.join("sensitivity.csv"))
}

#[test]
fn every_row_equals_a_separate_run_of_the_file_with_that_value() {
    let dir = tempfile::tempdir().unwrap();
    let smoke = scenario_path("smoke");
    let params = "market.btc.sigma,regions[1].power_usd_per_mwh,market.correlation.matrix[0][3],\
                  policies[2].window_months,loan.margin_call_ltv,ai.u_max";
    let rows = sensitivity(
        &["--paths", "200", "--range", "0.3", "--params", params],
        &smoke,
        &dir.path().join("sens"),
    );
    assert_eq!(
        rows.len(),
        4 * (1 + 6 * 2),
        "4 policies x (base + 6 keys x 2 sides)"
    );
    let mut points: BTreeMap<(String, String), Vec<&Row>> = BTreeMap::new();
    for r in &rows {
        points
            .entry((r.parameter.clone(), r.side.clone()))
            .or_default()
            .push(r);
    }
    let mut compared = 0;
    for ((parameter, side), rows) in &points {
        let first = rows[0];
        if first.status != "ok" {
            assert!(first.status.starts_with("skipped: "), "{first:?}");
            assert!(rows.iter().all(|r| r.figures.is_none()));
            continue;
        }
        let case = dir.path().join(format!("case{compared}"));
        fs::create_dir_all(&case).unwrap();
        let key = (!parameter.is_empty()).then_some((parameter.as_str(), first.value.as_str()));
        assert_eq!(key.is_none(), side == "base");
        let copy = copy_with(&smoke, &case, key);
        let expected = run_figures(&run_file(&copy, "200", &case.join("out")));
        for r in rows {
            assert_eq!(
                r.figures.as_ref(),
                Some(&expected[&r.policy]),
                "{parameter} {side} = {} ({})",
                r.value,
                r.policy
            );
        }
        compared += 1;
    }
    assert!(compared >= 11, "only {compared} points compared");
    // The integer key moved by whole months; the clamped share at its bound.
    let value = |p: &str, side: &str| {
        rows.iter()
            .find(|r| r.parameter == p && r.side == side)
            .unwrap()
            .value
            .clone()
    };
    assert_eq!(value("policies[2].window_months", "low"), "1");
    assert_eq!(value("policies[2].window_months", "high"), "3");
    assert_eq!(value("ai.u_max", "high"), "1");
    assert_eq!(value("market.btc.sigma", "low"), "0.462");
}

#[test]
fn a_key_the_scenario_never_reads_moves_nothing() {
    // The colocation lease in gpu_cloud mode.
    let dir = tempfile::tempdir().unwrap();
    let rows = sensitivity(
        &["--paths", "100", "--params", "ai.lease_usd_per_mw_it_year"],
        &scenario_path("cango_2026"),
        dir.path(),
    );
    let base: Vec<&Row> = rows.iter().filter(|r| r.side == "base").collect();
    assert_eq!(base.len(), 4);
    for side in ["low", "high"] {
        let moved: Vec<&Row> = rows.iter().filter(|r| r.side == side).collect();
        assert_eq!(moved.len(), base.len());
        for (m, b) in moved.iter().zip(&base) {
            assert_eq!(m.status, "ok");
            assert_ne!(m.value, "1800000");
            assert_eq!((&m.policy, &m.figures), (&b.policy, &b.figures), "{side}");
        }
    }
}

#[test]
fn unknown_and_non_numeric_keys_exit_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("never");
    for (args, needle) in [
        (vec!["--params", "market.btc.sigmaa"], "market.btc.sigmaa"),
        (
            vec!["--params", "market.btc.sigma,ai.mode"],
            "`ai.mode` is not a number",
        ),
        (vec!["--params", "regions[7].uptime"], "regions[7].uptime"),
        (vec!["--params", "simulation.paths"], "simulation.paths"),
        (
            vec!["--breakeven", "nope.key", "--between", "0", "1"],
            "nope.key",
        ),
        (
            vec!["--breakeven", "mining.curtailment", "--between", "0", "1"],
            "mining.curtailment",
        ),
        (
            vec!["--breakeven", "market.btc.sigma", "--between", "0", "3"],
            "outside the allowed range",
        ),
        (
            vec![
                "--breakeven",
                "market.btc.sigma",
                "--between",
                "0.1",
                "0.9",
                "--policies",
                "hold,nope",
            ],
            "no policy named `nope`",
        ),
        (vec!["--range=-0.2"], "--range"),
        (vec!["--range", "0"], "--range"),
    ] {
        let assert = pivotsim()
            .arg("sensitivity")
            .arg(scenario_path("smoke"))
            .args(&args)
            .args(["--paths", "50", "--out"])
            .arg(&out)
            .assert()
            .code(2);
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert_eq!(stderr.matches("error:").count(), 1, "{stderr}");
        assert!(!out.exists(), "{args:?} wrote {}", out.display());
    }
}

#[test]
fn the_ranges_table_sets_the_values_and_run_ignores_it() {
    let dir = tempfile::tempdir().unwrap();
    let smoke = scenario_path("smoke");
    let plain = copy_with(&smoke, dir.path(), None);
    let text = fs::read_to_string(&plain).unwrap();
    let with = dir.path().join("ranged.toml");
    fs::write(
        &with,
        format!(
            "{text}\n[sensitivity.ranges]\n\"market.btc.sigma\" = [0.3, 0.6]\n\
             \"market.hashrate.kappa_down_per_year\" = [0, 0.5]\n"
        ),
    )
    .unwrap();
    // `run` accepts the table and gives the same figures.
    let a = run_figures(&run_file(&plain, "100", &dir.path().join("a")));
    let b = run_figures(&run_file(&with, "100", &dir.path().join("b")));
    assert_eq!(a, b);
    let rows = sensitivity(&["--paths", "100"], &with, &dir.path().join("s"));
    let value = |p: &str, side: &str| {
        let r = rows
            .iter()
            .find(|r| r.parameter == p && r.side == side)
            .unwrap();
        (r.value.clone(), r.status.clone())
    };
    assert_eq!(
        value("market.btc.sigma", "low"),
        ("0.3".into(), "ok".into())
    );
    assert_eq!(
        value("market.btc.sigma", "high"),
        ("0.6".into(), "ok".into())
    );
    // A zero key the table names joins the set; its low is the base.
    let (v, status) = value("market.hashrate.kappa_down_per_year", "low");
    assert_eq!(v, "0");
    assert!(
        status.starts_with("skipped: equal to the base value"),
        "{status}"
    );
    assert_eq!(
        value("market.hashrate.kappa_down_per_year", "high").0,
        "0.5"
    );
    // A bad entry is refused, naming it.
    let bad = dir.path().join("bad.toml");
    fs::write(
        &bad,
        format!("{text}\n[sensitivity.ranges]\n\"market.btc.sigma\" = [0.6, 0.3]\n"),
    )
    .unwrap();
    let assert = pivotsim()
        .arg("sensitivity")
        .arg(&bad)
        .args(["--paths", "50", "--out"])
        .arg(dir.path().join("never"))
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(
        stderr.contains("[sensitivity.ranges] \"market.btc.sigma\""),
        "{stderr}"
    );
    assert!(stderr.contains("low < high"), "{stderr}");
}

#[test]
fn the_same_bytes_on_one_thread_or_two_and_points_in_parallel_or_not() {
    let dir = tempfile::tempdir().unwrap();
    let smoke = scenario_path("smoke");
    let params = [
        "--params",
        "market.btc.mu,ai.pue,treasury.cash_usd",
        "--paths",
        "300",
    ];
    let mut outputs = Vec::new();
    for (threads, mode) in [("1", "parallel"), ("2", "parallel"), ("2", "sequential")] {
        let out = dir.path().join(format!("{threads}-{mode}"));
        pivotsim()
            .arg("sensitivity")
            .arg(&smoke)
            .args(params)
            .args(["--threads", threads, "-q", "--format", "svg", "--out"])
            .arg(&out)
            .env("PIVOTSIM_SENSITIVITY_POINTS", mode)
            .assert()
            .success();
        outputs.push(fs::read(out.join("sensitivity.csv")).unwrap());
    }
    assert_eq!(outputs[0], outputs[1]);
    assert_eq!(outputs[0], outputs[2]);
}

#[test]
fn the_default_folder_holds_the_csv_charts_and_report() {
    let dir = tempfile::tempdir().unwrap();
    let assert = pivotsim()
        .current_dir(dir.path())
        .arg("sensitivity")
        .arg(scenario_path("smoke"))
        .args([
            "--paths",
            "100",
            "--params",
            "market.btc.sigma,ai.gpu_capex_usd",
            "--format",
            "png",
        ])
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert!(stdout.contains("market.btc.sigma"), "{stdout}");
    let out = dir.path().join("output/smoke-sensitivity");
    for f in [
        "sensitivity.csv",
        "tornado_npv.png",
        "tornado_margin_call.png",
        "report.html",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
    let page = fs::read_to_string(out.join("report.html")).unwrap();
    for id in ["tornado", "drivers", "evpi", "cvar", "skipped"] {
        assert!(page.contains(&format!("<section id=\"{id}\">")), "{id}");
    }
    assert!(page.contains("src=\"tornado_npv.png\""));
    assert!(!page.contains("<script"));
}

#[test]
fn a_breakeven_lies_where_the_difference_changes_sign() {
    // On the smoke fleet, `staged` beats `hold` when GPUs are cheap enough:
    // at 1,000 USD a GPU it does, at 50,000 it does not.
    let dir = tempfile::tempdir().unwrap();
    let smoke = scenario_path("smoke");
    let key = "ai.gpu_capex_usd";
    let out = dir.path().join("be");
    let assert = pivotsim()
        .arg("sensitivity")
        .arg(&smoke)
        .args([
            "--paths",
            "300",
            "--breakeven",
            key,
            "--between",
            "1000",
            "50000",
        ])
        .args(["--policies", "staged,hold", "--out"])
        .arg(&out)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert!(stdout.contains("same mean NPV"), "{stdout}");
    let json: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("breakeven.json")).unwrap()).unwrap();
    assert_eq!(json["key"], key);
    assert_eq!(json["policies"], serde_json::json!(["staged", "hold"]));
    let crossing = json["crossing"].as_f64().expect("a crossing");
    let se = json["se"].as_f64().unwrap();
    let bracket: Vec<f64> = serde_json::from_value(json["bracket"].clone()).unwrap();
    assert!(bracket[0] <= crossing && crossing <= bracket[1], "{json}");
    assert!(1000.0 < bracket[0] && bracket[1] < 50000.0);
    let width = bracket[1] - bracket[0];
    assert!(
        width < se || width <= 1e-3 * 49000.0,
        "the stopping rule: {json}"
    );
    assert!(json["iterations"].as_u64().unwrap() >= 1);
    // Separate runs: `staged` minus `hold` (the baseline) changes sign
    // across the whole bracket and across the final one.
    let diff = |v: f64, name: &str| {
        let case = dir.path().join(name);
        fs::create_dir_all(&case).unwrap();
        let copy = copy_with(&smoke, &case, Some((key, &v.to_string())));
        run_figures(&run_file(&copy, "300", &case.join("out")))["staged"]
            .vs_baseline
            .unwrap()
            .0
    };
    assert!(diff(1000.0, "a") > 0.0);
    assert!(diff(50000.0, "b") < 0.0);
    let (lo, hi) = (diff(bracket[0], "lo"), diff(bracket[1], "hi"));
    assert!(
        lo * hi < 0.0,
        "{lo} at {} and {hi} at {}",
        bracket[0],
        bracket[1]
    );
    assert_eq!(json["p_beats_q"], "below the crossing");
}

#[test]
fn no_crossing_in_the_bracket_is_reported_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    pivotsim()
        .arg("sensitivity")
        .arg(scenario_path("smoke"))
        .args([
            "--paths",
            "100",
            "--breakeven",
            "ai.gpu_capex_usd",
            "--between",
            "40000",
            "60000",
        ])
        .args(["--policies", "staged,hold", "-q", "--out"])
        .arg(dir.path())
        .assert()
        .success();
    let json: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.path().join("breakeven.json")).unwrap()).unwrap();
    assert!(json["crossing"].is_null());
    assert!(
        json["reason"].as_str().unwrap().contains("same sign"),
        "{json}"
    );
}

#[test]
fn fitted_keys_move_to_the_estimate_plus_minus_two_standard_errors() {
    let dir = tempfile::tempdir().unwrap();
    let est = |e: f64, se: Option<f64>| serde_json::json!({"estimate": e, "se": se, "identified": true, "at_bound": false});
    // As `pivotsim calibrate` writes it (the fields sensitivity reads).
    let json = serde_json::json!({
        "btc": {"model": "normal", "sigma": est(0.6, Some(0.05)),
                "jump_lambda_per_year": est(0.0, None)},
        "fees": {"mean_btc": est(0.03, Some(0.005)), "sigma": est(1.0, Some(0.1))},
        "hashrate": {"breakeven_source": "scenario", "kappa_up_per_year": est(0.7, Some(0.1))},
    });
    let file = dir.path().join("calibration.json");
    fs::write(&file, serde_json::to_vec_pretty(&json).unwrap()).unwrap();
    let rows = sensitivity(
        &[
            "--paths",
            "50",
            "--params",
            "market.btc.sigma,market.btc.mu",
            "--from-calibration",
            file.to_str().unwrap(),
        ],
        &scenario_path("smoke"),
        &dir.path().join("s"),
    );
    let value = |p: &str, side: &str| {
        rows.iter()
            .find(|r| r.parameter == p && r.side == side)
            .unwrap()
            .value
            .clone()
    };
    // Fitted: 0.6 -+ 2 x 0.05; not fitted: the range, 0.12 -+ 20%.
    assert_eq!(value("market.btc.sigma", "low"), "0.5");
    assert_eq!(value("market.btc.sigma", "high"), "0.7");
    assert_eq!(value("market.btc.mu", "low"), "0.096");
    assert_eq!(value("market.btc.mu", "high"), "0.144");
    // A file that is not a calibration is bad input.
    fs::write(&file, b"{\"x\": 1}").unwrap();
    let assert = pivotsim()
        .arg("sensitivity")
        .arg(scenario_path("smoke"))
        .arg("--from-calibration")
        .arg(&file)
        .args(["--paths", "50", "--out"])
        .arg(dir.path().join("never"))
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(
        stderr.contains("--from-calibration") && stderr.contains("calibration.json"),
        "{stderr}"
    );
}
