//! The command line, as a user runs it: a run on the smoke scenario writes
//! results that parse; every kind of bad input exits with code 2, names the
//! key, and writes nothing.

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use pivotsim::summary::Summary;

use crate::common::scenario_path;

fn pivotsim() -> Command {
    Command::cargo_bin("pivotsim").unwrap()
}

#[test]
fn run_on_smoke_writes_a_summary_that_parses() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("smoke");
    let assert = pivotsim()
        .args(["run", "--paths", "300", "--no-charts", "--out"])
        .arg(&out)
        .arg(scenario_path("smoke"))
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert!(stdout.contains("NPV mean (95% CI)"), "{stdout}");
    assert!(stdout.contains("hold"));
    let summary: Summary =
        serde_json::from_slice(&fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary.scenario, "smoke");
    assert_eq!(summary.paths, 300);
    assert_eq!(summary.months, 24);
    assert_eq!(summary.policies.len(), 4);
    assert_eq!(summary.market.months.len(), 24);
    assert!(summary.policies[0].npv_vs_baseline_usd.is_none());
    assert!(summary.policies[1].npv_vs_baseline_usd.is_some());
    // The required field names, as written.
    let v: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("summary.json")).unwrap()).unwrap();
    for key in [
        "scenario",
        "scenario_sha256",
        "pivotsim_version",
        "seed",
        "paths",
        "months",
        "start",
        "elapsed_s",
    ] {
        assert!(v.get(key).is_some(), "summary.json lacks {key}");
    }
    let m0 = &v["policies"][0]["months"][0];
    for key in [
        "revenue_usd",
        "reserve_btc",
        "net_reserve_usd",
        "mw_curtailed",
    ] {
        assert!(m0.get(key).is_some(), "month lacks {key}");
    }
    for key in ["mean", "se", "p5", "p25", "p50", "p75", "p95"] {
        assert!(m0["revenue_usd"].get(key).is_some());
    }
    for f in ["monthly.csv", "policies.csv", "market.csv"] {
        let text = fs::read_to_string(out.join(f)).unwrap();
        assert!(text.lines().count() > 4, "{f}");
    }
    // No temporary files left behind.
    for e in fs::read_dir(&out).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().to_string();
        assert!(!name.contains(".tmp"), "{name}");
    }
}

#[test]
fn validate_describes_the_reference_scenario() {
    let assert = pivotsim()
        .arg("validate")
        .arg(scenario_path("cango_2026"))
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert!(stdout.contains("cango_2026"), "{stdout}");
    assert!(
        stdout.contains("1,010") || stdout.contains("1010"),
        "{stdout}"
    );
}

const BASE: &str = r#"
name = "bad"

[simulation]
paths = 50
months = 6
start = "2026-02-01"

[[regions]]
name = "US"
power_usd_per_mwh = 70
uptime = 0.92
lead_months = 9

[[sites]]
site_id = "a"
region = "US"
power_mw = 10
j_per_th = 20
convertible = true

[[sites]]
site_id = "b"
region = "US"
power_mw = 12
j_per_th = 22.5
convertible = false

[[policies]]
name = "hold"
kind = "hold"
"#;

/// Run `pivotsim run` on `text` written to a scenario file; returns (exit
/// code, stderr) and checks that nothing was written.
fn run_text(dir: &Path, text: &str) -> (i32, String) {
    let file = dir.join("bad.toml");
    fs::write(&file, text).unwrap();
    let out = dir.join("out");
    let output = pivotsim()
        .args(["run", "--no-charts", "--out"])
        .arg(&out)
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.exists(), "bad input must write nothing");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).to_string(),
    )
}

#[test]
fn the_base_file_of_the_bad_input_tests_is_good() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("good.toml");
    fs::write(&file, BASE).unwrap();
    pivotsim()
        .args(["run", "--no-charts", "-q", "--out"])
        .arg(dir.path().join("out"))
        .arg(&file)
        .assert()
        .success();
}

#[test]
fn each_kind_of_bad_input_exits_2_and_names_the_key() {
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "unknown key",
            BASE.replace("months = 6", "months = 6\nmonthz = 7"),
            "monthz",
        ),
        (
            "wrong type",
            BASE.replace("power_mw = 10", "power_mw = \"ten\""),
            "power_mw",
        ),
        (
            "negative MW",
            BASE.replace("power_mw = 10", "power_mw = -10"),
            "power_mw",
        ),
        (
            "zero J/TH",
            BASE.replace("j_per_th = 20", "j_per_th = 0"),
            "j_per_th",
        ),
        (
            "probability above 1",
            BASE.replace("uptime = 0.92", "uptime = 1.5"),
            "uptime",
        ),
        (
            "non-finite number",
            format!("{BASE}\n[market.btc]\nmu = nan\n"),
            "mu",
        ),
        (
            "correlation not positive definite",
            format!(
                "{BASE}\n[market.correlation]\nmatrix = [[1, 0.9, 0.9, 0], [0.9, 1, -0.9, 0], [0.9, -0.9, 1, 0], [0, 0, 0, 1]]\n"
            ),
            "market.correlation.matrix",
        ),
        (
            "unknown region",
            BASE.replace(
                "region = \"US\"\npower_mw = 12",
                "region = \"Mars\"\npower_mw = 12",
            ),
            "Mars",
        ),
        (
            "duplicate site id",
            BASE.replace("site_id = \"b\"", "site_id = \"a\""),
            "site_id",
        ),
        (
            "empty fleet",
            BASE.split("[[sites]]").next().unwrap().to_string()
                + "[[policies]]\nname = \"hold\"\nkind = \"hold\"\n",
            "sites",
        ),
        (
            "missing CSV",
            BASE.split("[[sites]]").next().unwrap().replace(
                "name = \"bad\"",
                "name = \"bad\"\nsites_csv = \"nowhere.csv\"",
            ) + "[[policies]]\nname = \"hold\"\nkind = \"hold\"\n",
            "nowhere.csv",
        ),
        (
            "unparsable date",
            BASE.replace("start = \"2026-02-01\"", "start = \"2026-13-45\""),
            "start",
        ),
        (
            "unknown policy kind",
            BASE.replace("kind = \"hold\"", "kind = \"yolo\""),
            "yolo",
        ),
        (
            "zero paths",
            BASE.replace("paths = 50", "paths = 0"),
            "paths",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (what, text, key) in cases {
        let (code, stderr) = run_text(dir.path(), &text);
        assert_eq!(code, 2, "{what}: exit code {code}, stderr: {stderr}");
        assert!(
            stderr.contains(key),
            "{what}: stderr does not name `{key}`: {stderr}"
        );
        assert!(
            stderr.contains("bad.toml") || stderr.contains("nowhere.csv"),
            "{what}: no file named: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{what}: {stderr}");
    }
}

#[test]
fn malformed_csv_names_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("fleet.csv"),
        "site_id,region,power_mw,j_per_th,convertible\na,US,10,20,true\nb,US,twelve,20,false\n",
    )
    .unwrap();
    let text = BASE.split("[[sites]]").next().unwrap().replace(
        "name = \"bad\"",
        "name = \"bad\"\nsites_csv = \"fleet.csv\"",
    ) + "[[policies]]\nname = \"hold\"\nkind = \"hold\"\n";
    let (code, stderr) = run_text(dir.path(), &text);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("fleet.csv"), "{stderr}");
    assert!(stderr.contains("power_mw"), "{stderr}");
    assert!(stderr.contains('3'), "line number: {stderr}");
}

#[test]
fn bad_arguments_exit_2() {
    pivotsim()
        .args(["run", "--paths", "many"])
        .arg(scenario_path("smoke"))
        .assert()
        .code(2);
    let missing = pivotsim()
        .args(["run", "does-not-exist.toml"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "does-not-exist.toml: cannot read",
        ));
    // The OS's reason once, not repeated by the error chain.
    let stderr = String::from_utf8_lossy(&missing.get_output().stderr).to_string();
    assert_eq!(stderr.matches("os error").count(), 1, "{stderr}");
}

#[test]
fn an_output_folder_that_cannot_be_made_is_named_once_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("a-file");
    fs::write(&blocker, "not a folder").unwrap();
    let out = blocker.join("results");
    let output = pivotsim()
        .args(["run", "--paths", "300", "--no-charts", "-q", "--out"])
        .arg(&out)
        .arg(scenario_path("smoke"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "the output folder {} cannot be written",
            out.display()
        )),
        "{stderr}"
    );
    // The reason once, not repeated by the error chain.
    assert_eq!(stderr.matches("os error").count(), 1, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(fs::read_to_string(&blocker).unwrap(), "not a folder");
}

/// A policy name that would lead a ledger out of the output folder is
/// refused at validation, by `replay` as by `run`, and no file appears
/// anywhere in the working folder.
#[test]
fn a_policy_name_cannot_lead_a_file_out_of_the_output_folder() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("a").join("b").join("c");
    fs::create_dir_all(&work).unwrap();
    let name = "x/../../../../escape";
    let text = BASE.replace(
        "name = \"hold\"\nkind = \"hold\"",
        &format!("name = \"hold\"\nkind = \"hold\"\n\n[[policies]]\nname = \"{name}\"\nkind = \"full_pivot\""),
    );
    fs::write(work.join("bad.toml"), &text).unwrap();
    let output = pivotsim()
        .current_dir(&work)
        .args(["replay", "bad.toml", "--path", "0", "--policy", name])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("policies[1].name") && stderr.contains("file name"),
        "{stderr}"
    );
    let (code, stderr) = run_text(&work, &text);
    assert_eq!(code, 2, "{stderr}");
    // Nothing but the scenario file anywhere under the temporary folder.
    fn files(d: &Path, out: &mut Vec<std::path::PathBuf>) {
        for e in fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                files(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let mut all = Vec::new();
    files(dir.path(), &mut all);
    assert_eq!(all, vec![work.join("bad.toml")]);
}

/// `bench --repeat 0` is refused (it used to run once, silently).
#[test]
fn bench_needs_at_least_one_repeat() {
    pivotsim()
        .args(["bench", "--repeat", "0"])
        .arg(scenario_path("smoke"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--repeat"));
}

/// `compare` refuses two scenarios of one name (their files would
/// overwrite each other), naming both files, and writes nothing.
#[test]
fn compare_refuses_two_scenarios_of_one_name() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    fs::create_dir_all(&a).unwrap();
    fs::create_dir_all(&b).unwrap();
    let text = BASE.replace("name = \"bad\"", "name = \"same\"");
    fs::write(a.join("x.toml"), &text).unwrap();
    fs::write(b.join("y.toml"), &text).unwrap();
    let out = dir.path().join("out");
    let output = pivotsim()
        .args(["compare", "--no-charts", "-q", "--out"])
        .arg(&out)
        .arg(a.join("x.toml"))
        .arg(b.join("y.toml"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("y.toml") && stderr.contains("x.toml") && stderr.contains("`same`"),
        "{stderr}"
    );
    assert!(!out.exists());
}

/// An output folder that cannot be created (its parent is a file) is a bad
/// argument found before simulating: exit 2, the folder named.
#[test]
fn an_unwritable_output_folder_is_refused_before_simulating() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a_file");
    fs::write(&file, "not a folder").unwrap();
    let out = file.join("out");
    let (one, two) = (
        scenario_path("cango_2026"),
        scenario_path("cango_2026_no_delever"),
    );
    let runs: [(&str, Vec<&Path>); 2] = [("run", vec![&one]), ("compare", vec![&one, &two])];
    for (command, files) in runs {
        let output = pivotsim()
            .args([command, "--no-charts", "-q", "--paths", "1000000", "--out"])
            .arg(&out)
            .args(files)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{command}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("cannot be written") && stderr.contains("a_file"),
            "{stderr}"
        );
    }
}
