//! The replay ledger: every row reconciles exactly in Decimal (re-parsed from
//! the CSV), the Decimal balances are the simulation's to the cent, the
//! replayed totals are the run's, and `run --worst K` lists paths that
//! replay to the listed figures.

use std::collections::HashMap;
use std::fs;
use std::str::FromStr;

use assert_cmd::Command;
use pivotsim::engine::ledger::{self, Balance};
use pivotsim::engine::worst::{WORST_HEADER, replay_outcome};
use pivotsim::engine::{Engine, RunOptions};
use pivotsim::scenario::{self, Overrides};
use rust_decimal::Decimal;

use crate::common::{SHIPPED, load, scenario_path};

/// A ledger CSV re-parsed: the header and every row as text.
fn parse(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_reader(bytes);
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap_or_else(|_| panic!("not a decimal: {s:?}"))
}

/// Checks every identity of a ledger CSV, row by row, exactly.
fn check_csv(bytes: &[u8], months: usize, what: &str) {
    let (header, rows) = parse(bytes);
    assert_eq!(rows.len(), months, "{what}");
    let col: HashMap<&str, usize> = header
        .iter()
        .enumerate()
        .map(|(i, h)| (h.as_str(), i))
        .collect();
    // Every flow column belongs to a balance; no two columns share a name.
    assert_eq!(col.len(), header.len(), "duplicate columns");
    let names: Vec<&str> = Balance::ALL.iter().map(|b| b.name()).collect();
    for h in header.iter().filter(|h| h.contains("__")) {
        let mut parts = h.split("__");
        let (b, dir) = (parts.next().unwrap(), parts.next().unwrap());
        assert!(names.contains(&b), "{h}: unknown balance");
        assert!(dir == "in" || dir == "out", "{h}");
        assert!(parts.next().is_some_and(|w| !w.is_empty()), "{h}");
    }
    let mut prev_close: Option<Vec<Decimal>> = None;
    for (t, row) in rows.iter().enumerate() {
        let get = |name: &str| dec(&row[col[name]]);
        assert_eq!(row[col["month"]], t.to_string());
        let mut closes = Vec::new();
        for b in Balance::ALL {
            let name = b.name();
            let open = get(&format!("{name}_open"));
            let close = get(&format!("{name}_close"));
            let mut sum = open;
            for (i, h) in header.iter().enumerate() {
                let Some(rest) = h.strip_prefix(name).and_then(|r| r.strip_prefix("__")) else {
                    continue;
                };
                let v = dec(&row[i]);
                assert!(
                    v >= Decimal::ZERO,
                    "{what} month {t}: {h} = {v} is negative"
                );
                assert!(v.scale() <= b.dp(), "{what} month {t}: {h} = {v}");
                if rest.starts_with("in__") {
                    sum += v;
                } else {
                    sum -= v;
                }
            }
            assert_eq!(
                close, sum,
                "{what} month {t}: {name} close {close} != open {open} + ins - outs = {sum}"
            );
            assert_eq!(close.scale(), b.dp(), "{what} month {t}: {name}");
            if b != Balance::Cash {
                assert!(close >= Decimal::ZERO, "{what} month {t}: {name} {close}");
            }
            closes.push(close);
        }
        if let Some(prev) = &prev_close {
            for (k, b) in Balance::ALL.iter().enumerate() {
                let open = get(&format!("{}_open", b.name()));
                assert_eq!(open, prev[k], "{what} month {t}: {} open", b.name());
            }
        }
        // The closing figures a spreadsheet can recompute from the row.
        let price = get("btc_price_usd");
        let reserve_usd = get("reserve_usd");
        assert_eq!(
            reserve_usd,
            (get("reserve_btc_close") * price).round_dp(2),
            "{what} month {t}: reserve_usd"
        );
        assert_eq!(
            get("net_reserve_usd"),
            reserve_usd + get("cash_usd_close")
                - get("loan_usd_close")
                - get("project_debt_usd_close")
                - get("distress_usd_close"),
            "{what} month {t}: net_reserve_usd"
        );
        prev_close = Some(closes);
    }
}

/// Paths replayed per scenario: the first ones and a stressed one.
const PATHS: [u64; 4] = [0, 1, 3, 1375];

#[test]
fn every_ledger_row_reconciles_exactly_for_every_shipped_scenario_and_policy() {
    for name in SHIPPED {
        let engine = Engine::new(load(name));
        let months = engine.scenario.simulation.months;
        for p in 0..engine.scenario.policies.len() {
            for path in PATHS {
                let l = ledger::replay(&engine, p, path);
                let what = format!("{name}/{}/path {path}", l.policy);
                check_csv(&l.csv(), months, &what);
            }
        }
    }
}

#[test]
fn ledger_balances_are_the_simulations_to_the_cent_and_satoshi() {
    let (mut worst_usd, mut worst_btc, mut worst_net) = (0.0f64, 0.0f64, 0.0f64);
    for name in SHIPPED {
        let engine = Engine::new(load(name));
        for p in 0..engine.scenario.policies.len() {
            for path in PATHS {
                let l = ledger::replay(&engine, p, path);
                for row in &l.rows {
                    let s = &row.sim_close;
                    let sim = [
                        s.cash_usd,
                        s.reserve_btc,
                        s.loan_usd,
                        s.project_debt_usd,
                        s.distress_usd,
                    ];
                    for (k, b) in Balance::ALL.iter().enumerate() {
                        let d: f64 = row.close[k].to_string().parse().unwrap();
                        let gap = (d - sim[k]).abs();
                        if *b == Balance::Reserve {
                            worst_btc = worst_btc.max(gap);
                        } else {
                            worst_usd = worst_usd.max(gap);
                        }
                    }
                    let net: f64 = row.net_reserve_usd().to_string().parse().unwrap();
                    let sim_net = s.net_reserve_usd(row.btc_price_usd);
                    // The ledger values the reserve at the price rounded to
                    // the cent, and each of five terms is rounded.
                    worst_net = worst_net.max((net - sim_net).abs() - s.reserve_btc * 0.005);
                }
            }
        }
    }
    // The simulation's balances rounded to the cent or satoshi: no drift.
    assert!(worst_usd <= 0.005 + 1e-6, "USD drift {worst_usd}");
    assert!(worst_btc <= 0.5e-8 + 1e-12, "BTC drift {worst_btc}");
    assert!(worst_net <= 0.03, "net reserve gap {worst_net}");
}

#[test]
fn replayed_totals_equal_the_runs_values_for_the_path() {
    for name in SHIPPED {
        let engine = Engine::new(load(name));
        let mut w = engine.worker();
        for path in [0u64, 7, 1375] {
            engine.simulate_path(&mut w, path);
            for p in 0..engine.scenario.policies.len() {
                let run = engine.path_values(&w, p);
                let l = ledger::replay(&engine, p, path);
                let o = &l.outcome;
                let what = format!("{name}/{}/path {path}", l.policy);
                assert_eq!(o.npv_usd, run.npv_usd, "{what}: NPV");
                assert_eq!(
                    o.terminal_net_reserve_usd, run.terminal_net_reserve_usd,
                    "{what}: terminal net reserve"
                );
                assert_eq!(o.margin_call, run.margin_call, "{what}");
                assert_eq!(o.liquidation, run.liquidation, "{what}");
                assert_eq!(o.first_distress_month, run.first_distress_month, "{what}");
                // The ledger's last row is the path's terminal net reserve
                // (to the cent, with the price rounded to the cent).
                let last = l.rows.last().unwrap();
                let net: f64 = last.net_reserve_usd().to_string().parse().unwrap();
                let tol = 5.0 + last.sim_close.reserve_btc * 0.005;
                assert!(
                    (net - run.terminal_net_reserve_usd).abs() <= tol,
                    "{what}: ledger {net} vs run {}",
                    run.terminal_net_reserve_usd
                );
                // The flags of the months agree with the outcome.
                let first_mc = l.rows.iter().position(|r| r.margin_call || r.liquidation);
                assert_eq!(first_mc, o.first_margin_call_month, "{what}");
            }
        }
    }
}

fn run_smoke(paths: u64, threads: usize, worst: usize) -> (Engine, pivotsim::summary::Summary) {
    let sc = scenario::load_with(
        &scenario_path("smoke"),
        &Overrides {
            paths: Some(paths),
            ..Overrides::default()
        },
    )
    .unwrap();
    let engine = Engine::new(sc);
    let summary = engine.run(&RunOptions {
        threads,
        progress: false,
        worst,
    });
    (engine, summary)
}

#[test]
fn worst_paths_do_not_depend_on_threads_and_replay_to_their_values() {
    let (engine, one) = run_smoke(1000, 1, 4);
    let (_, two) = run_smoke(1000, 2, 4);
    assert_eq!(one.worst_paths, two.worst_paths);
    assert_eq!(one.worst_paths.len(), engine.scenario.policies.len());
    let (_, off) = run_smoke(300, 1, 0);
    assert!(off.worst_paths.is_empty());
    for (p, lists) in one.worst_paths.iter().enumerate() {
        assert_eq!(lists.npv_usd.len(), 4);
        assert_eq!(lists.terminal_net_reserve_usd.len(), 4);
        for pair in lists.npv_usd.windows(2) {
            assert!(pair[0].0 <= pair[1].0);
        }
        for &(npv, path) in &lists.npv_usd {
            assert_eq!(replay_outcome(&engine, p, path).npv_usd, npv);
            assert_eq!(ledger::replay(&engine, p, path).outcome.npv_usd, npv);
        }
        for &(terminal, path) in &lists.terminal_net_reserve_usd {
            let o = replay_outcome(&engine, p, path);
            assert_eq!(o.terminal_net_reserve_usd, terminal);
        }
        // Nothing below the listed values among the paths of the run.
        let mut w = engine.worker();
        let max_listed = lists.npv_usd.last().unwrap().0;
        let mut below = 0;
        for path in 0..1000 {
            engine.simulate_path(&mut w, path);
            if engine.path_values(&w, p).npv_usd <= max_listed {
                below += 1;
            }
        }
        assert!(below >= 4, "policy {p}");
        if p == 0 {
            // The lowest is the minimum over all paths.
            let min = (0..1000)
                .map(|path| {
                    engine.simulate_path(&mut w, path);
                    engine.path_values(&w, p).npv_usd
                })
                .fold(f64::INFINITY, f64::min);
            assert_eq!(lists.npv_usd[0].0, min);
        }
    }
}

fn pivotsim() -> Command {
    Command::cargo_bin("pivotsim").unwrap()
}

#[test]
fn cli_worst_then_replay_shows_the_listed_path() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("smoke");
    pivotsim()
        .args(["run", "--paths", "300", "--worst", "3", "-q", "--out"])
        .arg(&out)
        .arg(scenario_path("smoke"))
        .assert()
        .success();
    let text = fs::read_to_string(out.join("worst_paths.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(WORST_HEADER));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let policies = load("smoke").policies.len();
    assert_eq!(rows.len(), policies * 2 * 3);
    // Replay the worst NPV path of the second policy and check its figures.
    let row = rows
        .iter()
        .find(|r| r[1] == "npv_usd" && r[2] == "1" && r[0] != "hold")
        .unwrap();
    let (policy, path) = (row[0], row[3]);
    let listed_npv: f64 = row[4].parse().unwrap();
    let listed_terminal: f64 = row[5].parse().unwrap();
    let engine = Engine::new(load("smoke"));
    let p = ledger::policy_index(&engine, policy).unwrap();
    let replayed = ledger::replay(&engine, p, path.parse().unwrap());
    assert_eq!(replayed.outcome.npv_usd, listed_npv);

    let ledger_file = dir.path().join("ledger.csv");
    let assert = pivotsim()
        .args(["replay", "--path", path, "--policy", policy, "--out"])
        .arg(&ledger_file)
        .arg(scenario_path("smoke"))
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert!(stdout.contains(&format!("path {path}")), "{stdout}");
    let bytes = fs::read(&ledger_file).unwrap();
    check_csv(&bytes, 24, "cli ledger");
    let (header, rows) = parse(&bytes);
    let net = header.iter().position(|h| h == "net_reserve_usd").unwrap();
    let last: f64 = rows.last().unwrap()[net].parse().unwrap();
    assert!(
        (last - listed_terminal).abs() < 50.0,
        "{last} vs {listed_terminal}"
    );

    let assert = pivotsim()
        .args([
            "replay", "--path", path, "--policy", policy, "--format", "md",
        ])
        .arg(scenario_path("smoke"))
        .assert()
        .success();
    let md = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert!(md.contains("| month | date | BTC price |"), "{md}");
    assert_eq!(md.lines().filter(|l| l.starts_with("| ")).count(), 1 + 24);

    pivotsim()
        .args(["replay", "--path", "0", "--policy", "nope"])
        .arg(scenario_path("smoke"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("no policy named `nope`"));
}
