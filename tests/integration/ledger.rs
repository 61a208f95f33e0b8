//! The replay ledger: every row reconciles exactly in Decimal (re-parsed from
//! the CSV), the Decimal balances are the simulation's to the cent, the
//! replayed totals are the run's, and `run --worst K` lists paths that
//! replay to the listed figures.

use std::collections::HashMap;
use std::fs;
use std::str::FromStr;

use assert_cmd::Command;
use pivotsim::engine::ledger::{self, Balance, Dir, FLOWS, Ledger, LedgerRow};
use pivotsim::engine::worst::{WORST_HEADER, WorstLists, worst_paths_csv};
use pivotsim::engine::{Engine, RunOptions};
use pivotsim::scenario::{self, Overrides};
use pivotsim::sim::{PolicyOutcome, TreasuryState};
use rust_decimal::Decimal;

use crate::common::{SHIPPED, load, scenario_path};
use crate::csv_check::{Cell, cell, check_columns, check_columns_with_twins};

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
                let l = ledger::replay(&engine, p, path).unwrap();
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
                let l = ledger::replay(&engine, p, path).unwrap();
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
                let l = ledger::replay(&engine, p, path).unwrap();
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
            assert_eq!(engine.replay_path(path, p, |_| {}).npv_usd, npv);
            assert_eq!(
                ledger::replay(&engine, p, path).unwrap().outcome.npv_usd,
                npv
            );
        }
        for &(terminal, path) in &lists.terminal_net_reserve_usd {
            let o = engine.replay_path(path, p, |_| {});
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
    let replayed = ledger::replay(&engine, p, path.parse().unwrap()).unwrap();
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

/// `worst_paths.csv`, column by column: each row holds its policy, list,
/// rank and path, and the figures of that path replayed. The paths listed
/// make every two columns differ somewhere: one with a margin call, a
/// liquidation and distress (in different months), one with a margin call
/// alone, a calm one; a policy name with a space is quoted.
#[test]
fn worst_paths_csv_columns_hold_the_replayed_figures() {
    let mut sc = load("cango_2026");
    let p = sc
        .policies
        .iter()
        .position(|x| x.name == "full_pivot")
        .unwrap();
    sc.policies[p].name = "full pivot".into();
    let engine = Engine::new(sc);
    let find = |pred: &dyn Fn(&PolicyOutcome) -> bool| {
        (0..500u64)
            .find(|&path| pred(&engine.replay_path(path, p, |_| {})))
            .expect("a path of that kind among the first 500")
    };
    let both = find(&|o| {
        o.liquidation
            && o.first_distress_month.is_some()
            && o.first_margin_call_month.is_some()
            && o.first_margin_call_month != o.first_distress_month
    });
    let call = find(&|o| o.margin_call && !o.liquidation);
    let calm = find(&|o| !o.margin_call && o.first_distress_month.is_none());
    let list = |q: usize, paths: [u64; 3]| -> Vec<(f64, u64)> {
        let npv = |path| engine.replay_path(path, q, |_| {}).npv_usd;
        paths.iter().map(|&path| (npv(path), path)).collect()
    };
    let mut worst = vec![WorstLists::default(); p + 1];
    for q in [0, p] {
        worst[q] = WorstLists {
            npv_usd: list(q, [both, call, calm]),
            terminal_net_reserve_usd: list(q, [call, calm, both]),
        };
    }
    let dates = &engine.model.calendar.dates;
    let month = |m: Option<usize>| m.map_or(String::new(), |m| m.to_string());
    let date = |m: Option<usize>| m.map_or(String::new(), |m| dates[m].to_string());
    let mut rows: Vec<Vec<Cell>> = Vec::new();
    for (q, lists) in worst.iter().enumerate() {
        let name = &engine.scenario.policies[q].name;
        // Quoted for a POSIX shell (the name has no apostrophe).
        let arg = if name.contains(' ') {
            format!("'{name}'")
        } else {
            name.clone()
        };
        for (ranked_by, list) in [
            ("npv_usd", &lists.npv_usd),
            ("terminal_net_reserve_usd", &lists.terminal_net_reserve_usd),
        ] {
            for (rank, &(_, path)) in list.iter().enumerate() {
                let o = engine.replay_path(path, q, |_| {});
                rows.push(vec![
                    cell("policy", name),
                    cell("ranked_by", ranked_by),
                    cell("rank", rank + 1),
                    cell("path", path),
                    cell("npv_usd", o.npv_usd),
                    cell("terminal_net_reserve_usd", o.terminal_net_reserve_usd),
                    cell("margin_call", u8::from(o.margin_call)),
                    cell("liquidation", u8::from(o.liquidation)),
                    cell("first_margin_call_month", month(o.first_margin_call_month)),
                    cell("first_margin_call_date", date(o.first_margin_call_month)),
                    cell("first_distress_month", month(o.first_distress_month)),
                    cell("first_distress_date", date(o.first_distress_month)),
                    cell(
                        "replay_args",
                        format!("--path {path} --policy {arg} --seed 42"),
                    ),
                ]);
            }
        }
    }
    assert_eq!(rows.len(), 2 * 2 * 3);
    check_columns(&worst_paths_csv(&engine, &worst), &rows);
}

/// Decimal number `k` of a made-up ledger: each distinct, with `dp`
/// decimals.
fn made_up(k: &mut i64, dp: u32) -> Decimal {
    *k += 1;
    Decimal::new(1_000_003 * *k + 7, dp)
}

/// A ledger row whose every figure differs from every other (and from the
/// same figure in other rows); `i` picks which one flag is on.
fn made_up_row(i: usize, k: &mut i64) -> LedgerRow {
    let usd = |k: &mut i64| made_up(k, 2);
    let balances = |k: &mut i64| Balance::ALL.map(|b| made_up(k, b.dp()));
    LedgerRow {
        t: 30 + i,
        date: format!("2028-0{}-01", i + 1),
        btc_price_usd: 70_000.25 + i as f64,
        hashrate_ehs: 900.125 + i as f64,
        hashprice_usd_per_ph_day: 45.0625 + i as f64,
        fees_btc_per_block: 0.03125 + i as f64,
        gpu_hour_usd: 2.1875 + i as f64,
        ai_demand_mw_it: 301.5 + i as f64,
        open: balances(k),
        flows: FLOWS
            .iter()
            .map(|spec| made_up(k, spec.legs[0].0.dp()))
            .collect(),
        close: balances(k),
        sim_close: TreasuryState::default(),
        mining_revenue_usd: usd(k),
        capex_usd: usd(k),
        liquidation_sale_usd: usd(k),
        liquidation_penalty_usd: usd(k),
        margin_call: i == 0,
        liquidation: i == 1,
        distress_month: i == 2,
        sites_mining: 11 + i,
        sites_curtailed: 21 + i,
        sites_converting: 41 + i,
        sites_ai: 61 + i,
        started: vec![format!("s{i}"), format!("t{i}")],
    }
}

/// A flow's column for leg `(b, dir)`.
fn leg_column(what: &str, (b, dir): (Balance, Dir)) -> String {
    let dir = if dir == Dir::In { "in" } else { "out" };
    format!("{}__{dir}__{what}", b.name())
}

/// What a ledger row's columns must hold, from its fields.
fn ledger_cells(row: &LedgerRow) -> Vec<Cell> {
    let mut cells = vec![
        cell("month", row.t),
        cell("date", &row.date),
        cell("btc_price_usd", row.btc_price_usd),
        cell("hashrate_ehs", row.hashrate_ehs),
        cell("hashprice_usd_per_ph_day", row.hashprice_usd_per_ph_day),
        cell("fees_btc_per_block", row.fees_btc_per_block),
        cell("gpu_hour_usd", row.gpu_hour_usd),
        cell("ai_demand_mw_it", row.ai_demand_mw_it),
    ];
    for (k, b) in Balance::ALL.iter().enumerate() {
        cells.push(cell(format!("{}_open", b.name()), row.open[k]));
        cells.push(cell(format!("{}_close", b.name()), row.close[k]));
    }
    for (spec, v) in FLOWS.iter().zip(&row.flows) {
        for &leg in spec.legs {
            cells.push(cell(leg_column(spec.what, leg), v));
        }
    }
    cells.extend([
        cell("mining_revenue_usd", row.mining_revenue_usd),
        cell("capex_usd", row.capex_usd),
        cell("liquidation_sale_usd", row.liquidation_sale_usd),
        cell("liquidation_penalty_usd", row.liquidation_penalty_usd),
        cell("ltv", row.ltv().unwrap()),
        cell("reserve_usd", row.reserve_usd()),
        cell("net_reserve_usd", row.net_reserve_usd()),
        cell("margin_call", u8::from(row.margin_call)),
        cell("liquidation", u8::from(row.liquidation)),
        cell("distress_month", u8::from(row.distress_month)),
        cell("sites_mining", row.sites_mining),
        cell("sites_curtailed", row.sites_curtailed),
        cell("sites_converting", row.sites_converting),
        cell("sites_ai", row.sites_ai),
        cell("sites_started_converting", row.started.join(";")),
    ]);
    cells
}

/// The ledger CSV, column by column, on a made-up ledger whose figures all
/// differ: each column holds its field (the flows in [`FLOWS`] order, one
/// column per leg: the two legs of a flow are twins), the closing ratios
/// are the row's own.
#[test]
fn ledger_csv_columns_hold_their_fields() {
    let mut k = 0;
    let rows: Vec<LedgerRow> = (0..3).map(|i| made_up_row(i, &mut k)).collect();
    let expected: Vec<Vec<Cell>> = rows.iter().map(ledger_cells).collect();
    let ledger = Ledger {
        scenario: "made_up".into(),
        policy: "hold".into(),
        path: 0,
        seed: 42,
        rows,
        outcome: PolicyOutcome::default(),
    };
    let twins: Vec<(String, String)> = FLOWS
        .iter()
        .filter_map(|spec| match spec.legs {
            [a, b] => Some((leg_column(spec.what, *a), leg_column(spec.what, *b))),
            _ => None,
        })
        .collect();
    assert!(!twins.is_empty());
    check_columns_with_twins(&ledger.csv(), &expected, &twins);
}

/// With take-or-pay contracts, idle sites pay a share of their power: the
/// ledger shows it in its own column, the rows still reconcile to the cent
/// and the satoshi, and mining power plus idle take-or-pay power is the
/// simulation's mining power.
#[test]
fn take_or_pay_power_has_its_column_and_every_row_reconciles() {
    let mut sc = load("cango_2026");
    for (i, site) in sc.sites.iter_mut().enumerate() {
        site.take_or_pay_share = [0.2, 0.15][i % 2];
    }
    let engine = Engine::new(sc);
    let months = engine.scenario.simulation.months;
    let mut paid = 0.0;
    for p in 0..engine.scenario.policies.len() {
        for path in PATHS {
            let l = ledger::replay(&engine, p, path).unwrap();
            let csv = l.csv();
            check_csv(
                &csv,
                months,
                &format!("take-or-pay/{}/path {path}", l.policy),
            );
            let text = String::from_utf8(csv).unwrap();
            let mut lines = text.lines();
            let header: Vec<&str> = lines.next().unwrap().split(',').collect();
            let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
            let idle = col("cash_usd__out__idle_take_or_pay_power");
            for line in lines {
                let cells: Vec<&str> = line.split(',').collect();
                paid += cells[idle].parse::<f64>().unwrap();
            }
        }
    }
    assert!(paid > 0.0, "no idle take-or-pay power on these paths");
}
