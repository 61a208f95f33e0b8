//! `pivotsim optimize` as a user runs it: each row of `optimize.csv` is what
//! `pivotsim run` reports for the scenario with that policy's keys set, bit
//! for bit; the winner is the best feasible row and its out-of-sample
//! figures are a run on the validation seed; `best.toml` pastes into a
//! scenario as the winner; bad grids and limits exit 2 naming them; an
//! empty feasible set is reported; 1 thread and 2 write the same bytes.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

use crate::common::scenario_path;

/// Paths of the tests: past one chunk, the last one partial.
const PATHS: &str = "600";

fn pivotsim() -> Command {
    Command::cargo_bin("pivotsim").unwrap()
}

/// `pivotsim optimize SCENARIO --policy P --grid G --paths 600 [extra]`
/// into `out`; panics unless it succeeds.
fn optimize(scenario: &Path, policy: &str, grid: &str, extra: &[&str], out: &Path) -> String {
    let output = pivotsim()
        .args([
            "optimize", "--policy", policy, "--grid", grid, "--paths", PATHS,
        ])
        .args(extra)
        .arg("--out")
        .arg(out)
        .arg(scenario)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `optimize.csv`'s header and rows.
fn csv_rows(out: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    read_csv(&out.join("optimize.csv"))
}

fn read_csv(file: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(file).unwrap();
    let header = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

/// A JSON number exactly as written (the crate's serde_json keeps the
/// text: `arbitrary_precision`).
fn exact(v: &serde_json::Value) -> f64 {
    v.to_string().parse().unwrap()
}

fn json(out: &Path) -> serde_json::Value {
    serde_json::from_slice(&fs::read(out.join("optimize.json")).unwrap()).unwrap()
}

/// `scenario` copied into `dir` (its fleet file named by its full path),
/// with policy `policy`'s keys set: integers as integers, other values as
/// the exact decimal strings the CSV shows.
fn scenario_with(scenario: &Path, policy: &str, keys: &[(&str, &str)], dir: &Path) -> PathBuf {
    let mut root: toml::Table = toml::from_str(&fs::read_to_string(scenario).unwrap()).unwrap();
    if let Some(csv) = root.get("sites_csv").and_then(|v| v.as_str()) {
        let full = scenario.parent().unwrap().join(csv);
        root.insert("sites_csv".into(), full.display().to_string().into());
    }
    let policies = root["policies"].as_array_mut().unwrap();
    let table = policies
        .iter_mut()
        .map(|p| p.as_table_mut().unwrap())
        .find(|p| p["name"].as_str() == Some(policy))
        .unwrap();
    for (k, v) in keys {
        let value = match v.parse::<i64>() {
            Ok(i) if !v.contains('.') => toml::Value::Integer(i),
            _ => toml::Value::String(v.to_string()),
        };
        table.insert(k.to_string(), value);
    }
    let file = dir.join(format!(
        "{policy}-{}.toml",
        keys.len() + fs::read_dir(dir).unwrap().count()
    ));
    fs::write(&file, toml::to_string(&root).unwrap()).unwrap();
    file
}

/// `pivotsim run` of `scenario` at the tests' paths (and `seed`): its
/// `policies.csv` (numbers as written, read exactly).
fn run(scenario: &Path, seed: Option<&str>, dir: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let out = dir.join(format!("run-{}", fs::read_dir(dir).unwrap().count()));
    let mut cmd = pivotsim();
    cmd.args(["run", "-q", "--no-charts", "--paths", PATHS, "--out"])
        .arg(&out)
        .arg(scenario);
    if let Some(seed) = seed {
        cmd.args(["--seed", seed]);
    }
    cmd.assert().success();
    read_csv(&out.join("policies.csv"))
}

/// The figures of a row of `optimize.csv` (and of `optimize.json`), as
/// `run`'s `policies.csv` names them too.
const FIGURES: [&str; 6] = [
    "npv_usd_mean",
    "npv_usd_se",
    "npv_vs_baseline_usd_mean",
    "npv_vs_baseline_usd_se",
    "p_margin_call",
    "p_liquidation",
];

/// Policy `name`'s figures in a run's `policies.csv`, as bits in the
/// order of `optimize.csv`'s columns.
fn run_bits((header, rows): &(Vec<String>, Vec<Vec<String>>), name: &str) -> [u64; 6] {
    let row = rows.iter().find(|r| r[0] == name).unwrap();
    FIGURES.map(|c| {
        let at = header.iter().position(|h| h == c).unwrap();
        row[at].parse::<f64>().unwrap().to_bits()
    })
}

/// A CSV row's figures (the 6 columns after `merged`), as bits.
fn row_bits(header: &[String], row: &[String]) -> [u64; 6] {
    let at = header.iter().position(|h| h == "npv_usd_mean").unwrap();
    std::array::from_fn(|k| row[at + k].parse::<f64>().unwrap().to_bits())
}

/// A JSON figures object as the same bits.
fn json_bits(f: &serde_json::Value) -> [u64; 6] {
    FIGURES.map(|k| exact(&f[k]).to_bits())
}

/// Rows of `threshold` (a number and an integer key, one rounded and
/// merged) and of `staged` equal separate runs of the scenario with those
/// keys set, bit for bit: first, middle and last rows of each grid.
#[test]
fn rows_equal_separate_runs() {
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario_path("cango_2026");
    for (name, grid) in [
        ("threshold", "hurdle=0.5:1.5:3,window_months=1:2:3"),
        ("staged", "sites_per_quarter=1:3:3,max_sites=4:8:2"),
    ] {
        let out = dir.path().join(name);
        optimize(&sc, name, grid, &[], &out);
        let (header, rows) = csv_rows(&out);
        let keys = header.iter().position(|h| h == "merged").unwrap();
        assert_eq!(keys, 2, "{header:?}");
        if name == "threshold" {
            // window_months 1, 1.5, 2 rounded: 1, 2, 2: two points, one merged.
            assert_eq!(rows.len(), 6);
            assert_eq!((rows[1][1].as_str(), rows[1][2].as_str()), ("2", "2"));
        }
        for row in [&rows[0], &rows[rows.len() / 2], &rows[rows.len() - 1]] {
            let set: Vec<(&str, &str)> = header[..keys]
                .iter()
                .map(String::as_str)
                .zip(row[..keys].iter().map(String::as_str))
                .collect();
            let file = scenario_with(&sc, name, &set, dir.path());
            let summary = run(&file, None, dir.path());
            assert_eq!(
                row_bits(&header, row),
                run_bits(&summary, name),
                "{name} {set:?}"
            );
        }
    }
}

/// The winner is the feasible row of highest mean NPV (the first of
/// equals); every row's `feasible` is its figures against the limits; the
/// winner's out-of-sample figures are a run on the validation seed, and
/// `best.toml` pasted into the scenario runs as the winner in sample.
#[test]
fn the_winner_is_the_best_feasible_row_and_checks_out_of_sample() {
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario_path("cango_2026");
    let out = dir.path().join("out");
    let limit = 0.66;
    let stdout = optimize(
        &sc,
        "threshold",
        "hurdle=0:2:5,window_months=1:3:3",
        &["--max-p-margin-call", "0.66", "--validate-seed", "7"],
        &out,
    );
    assert!(stdout.contains("best: hurdle = "), "{stdout}");
    let (header, rows) = csv_rows(&out);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (npv, mc, feasible) = (col("npv_usd_mean"), col("p_margin_call"), col("feasible"));
    let mut best: Option<usize> = None;
    for (i, r) in rows.iter().enumerate() {
        let ok = r[mc].parse::<f64>().unwrap() <= limit;
        assert_eq!(r[feasible], ok.to_string(), "row {i}");
        let better = |b: usize| r[npv].parse::<f64>().unwrap() > rows[b][npv].parse().unwrap();
        if ok && best.is_none_or(better) {
            best = Some(i);
        }
    }
    let best = best.expect("a feasible row");
    assert!(
        rows.iter().any(|r| r[feasible] == "false"),
        "the limit must bind"
    );
    let j = json(&out);
    let b = &j["best"];
    assert_eq!(
        b["params"]["hurdle"].as_f64().unwrap(),
        rows[best][0].parse::<f64>().unwrap()
    );
    assert_eq!(
        b["params"]["window_months"].as_i64().unwrap().to_string(),
        rows[best][1]
    );
    assert_eq!(json_bits(&b["in_sample"]), row_bits(&header, &rows[best]));
    assert_eq!(j["validate_seed"], 7);
    let set = [
        ("hurdle", rows[best][0].as_str()),
        ("window_months", rows[best][1].as_str()),
    ];
    let file = scenario_with(&sc, "threshold", &set, dir.path());
    let again = run(&file, Some("7"), dir.path());
    assert_eq!(
        json_bits(&b["out_of_sample"]),
        run_bits(&again, "threshold")
    );
    let optimism = b["in_sample"]["npv_vs_baseline_usd_mean"].as_f64().unwrap()
        - b["out_of_sample"]["npv_vs_baseline_usd_mean"]
            .as_f64()
            .unwrap();
    assert_eq!(b["optimism_usd"].as_f64().unwrap(), optimism);
    // best.toml, pasted as a policy of its own.
    let best_toml = fs::read_to_string(out.join("best.toml")).unwrap();
    assert!(
        best_toml.contains("name = \"threshold_best\""),
        "{best_toml}"
    );
    let text = fs::read_to_string(&file).unwrap() + "\n" + &best_toml;
    let pasted = dir.path().join("pasted.toml");
    fs::write(&pasted, text).unwrap();
    let s = run(&pasted, None, dir.path());
    assert_eq!(json_bits(&b["in_sample"]), run_bits(&s, "threshold_best"));
}

/// Each kind of bad grid, bad limit and unknown policy exits 2 with a
/// message naming it, and writes nothing.
#[test]
fn bad_grids_and_limits_exit_2_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario_path("cango_2026");
    let out = dir.path().join("out");
    let cases: &[(&str, &str, &[&str], &str)] = &[
        ("threshold", "nope=1:2:3", &[], "unknown key `nope`"),
        ("threshold", "hurdle=2:1:3", &[], "low 2 is above high 1"),
        ("threshold", "hurdle=1:2:0", &[], "n must be at least 1"),
        ("threshold", "hurdle=1:2:1", &[], "n = 1 needs low = high"),
        (
            "threshold",
            "sites_per_quarter=1:2:2",
            &[],
            "key of kind staged",
        ),
        ("threshold", "hurdle=x:2:2", &[], "`x` is not a number"),
        (
            "threshold",
            "hurdle=0:2:101,window_months=1:100:100",
            &[],
            "more than 10000",
        ),
        ("threshold", "hurdle=-1:1:3", &[], "policies[2].hurdle"),
        ("nobody", "hurdle=1:2:2", &[], "no policy named `nobody`"),
        (
            "threshold",
            "hurdle=1:2:2",
            &["--max-p-margin-call", "1.5"],
            "--max-p-margin-call",
        ),
        (
            "threshold",
            "hurdle=1:2:2",
            &["--max-p-liquidation", "NaN"],
            "--max-p-liquidation",
        ),
        (
            "threshold",
            "hurdle=1:2:2",
            &["--max-p-liquidation=-0.1"],
            "--max-p-liquidation",
        ),
    ];
    for (policy, grid, extra, want) in cases {
        let output = pivotsim()
            .args([
                "optimize", "--policy", policy, "--grid", grid, "--paths", "300",
            ])
            .args(*extra)
            .arg("--out")
            .arg(&out)
            .arg(&sc)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{grid} {extra:?}: {stderr}");
        assert!(stderr.contains(want), "{grid} {extra:?}: {stderr}");
        assert!(!out.exists(), "{grid}: bad input must write nothing");
    }
}

/// No point within the limits: reported in the JSON and on the terminal,
/// with no `best.toml`; not an error.
#[test]
fn an_empty_feasible_set_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let stdout = optimize(
        &scenario_path("cango_2026"),
        "threshold",
        "hurdle=1:2:2",
        &["--max-p-margin-call", "0", "--no-charts"],
        &out,
    );
    assert!(stdout.contains("no best: no point of the grid"), "{stdout}");
    let j = json(&out);
    assert!(j["best"].is_null());
    assert!(
        j["no_best"]
            .as_str()
            .unwrap()
            .contains("P(margin call) <= 0")
    );
    assert_eq!(j["feasible_points"], 0);
    assert!(!out.join("best.toml").exists());
    let (_, rows) = csv_rows(&out);
    assert!(rows.iter().all(|r| r.last().unwrap() == "false"));
}

/// 1 thread and 2 write the same files, byte for byte (the JSON but for
/// its performance figures); the default folder is
/// `output/<scenario>-optimize`.
#[test]
fn one_thread_and_two_write_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario_path("cango_2026");
    let grid = "hurdle=0.5:2:4,max_concurrent=1:4:3";
    let mut files = Vec::new();
    for threads in ["1", "2"] {
        let out = dir.path().join(threads);
        let extra = [
            "--threads",
            threads,
            "--no-charts",
            "--max-p-margin-call",
            "0.66",
        ];
        optimize(&sc, "threshold", grid, &extra, &out);
        let mut j = json(&out);
        j.as_object_mut().unwrap().remove("performance");
        files.push((
            fs::read(out.join("optimize.csv")).unwrap(),
            fs::read(out.join("best.toml")).unwrap(),
            j,
        ));
    }
    assert!(files[0] == files[1]);
    pivotsim()
        .current_dir(dir.path())
        .args([
            "optimize",
            "-q",
            "--no-charts",
            "--policy",
            "staged",
            "--grid",
        ])
        .args(["sites_per_quarter=1:2:2", "--paths", "300"])
        .arg(&sc)
        .assert()
        .success();
    assert!(
        dir.path()
            .join("output/cango_2026-optimize/optimize.csv")
            .exists()
    );
}
