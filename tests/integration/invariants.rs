//! Invariants of the monthly step, checked on every month of many paths of
//! every shipped scenario and policy: balances reconcile with the flows, BTC
//! is created only by mining, conversions respect the fleet and the funding
//! rule, utilization stays under its cap, and no policy sees a later month.

use pivotsim::engine::Engine;
use pivotsim::scenario::{AiMode, CapexFunding, EventKind, PolicyKind};
use pivotsim::sim::SiteState;
use proptest::prelude::*;

use crate::common::{Record, SHIPPED, close, load, replay_records};

fn engines() -> Vec<Engine> {
    SHIPPED.iter().map(|n| Engine::new(load(n))).collect()
}

/// Every balance closes as open + ins - outs.
fn check_balances(r: &Record) {
    let f = &r.flows;
    let (o, c) = (&r.open, &r.close);
    let btc = o.reserve_btc - f.event_sale_btc + f.event_buy_btc + f.btc_mined
        - f.mined_sold_btc
        - f.funding_sale_btc
        - f.target_ltv_sale_btc
        - f.margin_call_sale_btc
        - f.liquidation_sale_btc
        - f.maturity_sale_btc;
    assert!(
        close(c.reserve_btc, btc, 1e-9),
        "month {}: BTC {} vs {}",
        r.t,
        c.reserve_btc,
        btc
    );
    let cash = o.cash_usd + f.event_cash_in_usd - f.event_buy_usd - f.event_repay_loan_usd
        + f.event_loan_drawn_usd
        + f.event_equity_usd
        + f.mined_sold_usd
        + f.ai_revenue_usd
        - f.mining_power_usd
        - f.mining_opex_usd
        - f.ai_power_usd
        - f.ai_opex_usd
        - f.capex_equity_usd
        - f.project_debt_interest_usd
        - f.project_debt_principal_usd
        - f.loan_interest_usd
        - f.distress_interest_usd
        + f.funding_sale_usd
        + f.distress_borrowed_usd
        - f.margin_call_cash_usd
        - f.liquidation_deficiency_cash_usd
        - f.maturity_cash_usd
        - f.distress_repaid_usd;
    assert!(
        close(c.cash_usd, cash, 1e-9),
        "month {}: cash {} vs {}",
        r.t,
        c.cash_usd,
        cash
    );
    let loan = o.loan_usd - f.event_loan_repayment_usd - f.event_repay_loan_usd
        + f.event_loan_drawn_usd
        - f.target_ltv_sale_usd
        - f.margin_call_cash_usd
        - f.margin_call_sale_usd
        - f.liquidation_loan_closed_usd
        - f.maturity_cash_usd
        - f.maturity_sale_usd
        - f.maturity_distress_usd;
    assert!(
        close(c.loan_usd, loan, 1e-9),
        "month {}: loan {} vs {}",
        r.t,
        c.loan_usd,
        loan
    );
    let distress = o.distress_usd
        + f.distress_borrowed_usd
        + f.liquidation_deficiency_distress_usd
        + f.maturity_distress_usd
        - f.distress_repaid_usd;
    assert!(
        close(c.distress_usd, distress, 1e-9),
        "month {}: distress",
        r.t
    );
    let project = o.project_debt_usd + f.capex_debt_usd - f.project_debt_principal_usd;
    assert!(
        close(c.project_debt_usd, project, 1e-9),
        "month {}: project debt",
        r.t
    );
    for (name, v) in [
        ("reserve", c.reserve_btc),
        ("loan", c.loan_usd),
        ("distress", c.distress_usd),
    ] {
        assert!(v >= -1e-6, "month {}: negative {name} {v}", r.t);
    }
    // Liquidation proceeds repay the loan plus penalty, or all the BTC was sold.
    if f.liquidation {
        assert!(close(
            f.liquidation_sale_usd
                + f.liquidation_deficiency_cash_usd
                + f.liquidation_deficiency_distress_usd,
            f.liquidation_loan_closed_usd + f.liquidation_penalty_usd,
            1e-9
        ));
    }
}

/// Replays every policy of `engine` on path `path` and checks every month.
fn check_path(engine: &Engine, path: u64) {
    let sc = &engine.scenario;
    let fleet = &engine.model.fleet;
    let inputs = engine.path_inputs(path);
    let market = &inputs.market;
    let convertible = fleet.sites.iter().filter(|s| s.convertible).count();
    for p in 0..sc.policies.len() {
        let (records, out) = replay_records(engine, p, &inputs);
        assert_eq!(records.len(), sc.simulation.months);
        let mut prev_sites = vec![SiteState::Mining; fleet.len()];
        let mut prev_close = records[0].open;
        for r in &records {
            check_balances(r);
            assert_eq!(r.open, prev_close, "balances carry over between months");
            // Sites: never back, never more than the convertible ones.
            let left_mining = r.sites.iter().filter(|s| **s != SiteState::Mining).count();
            assert!(left_mining <= convertible);
            for (i, (before, now)) in prev_sites.iter().zip(&r.sites).enumerate() {
                if !fleet.sites[i].convertible {
                    assert_eq!(*now, SiteState::Mining);
                }
                match (before, now) {
                    (SiteState::Ai, s) => assert_eq!(*s, SiteState::Ai),
                    (SiteState::Converting { .. }, SiteState::Mining) => {
                        panic!("site {i} went back")
                    }
                    _ => {}
                }
            }
            // Utilization never above u_max.
            let ai_mw: f64 = r
                .sites
                .iter()
                .zip(&fleet.sites)
                .filter(|(s, _)| **s == SiteState::Ai)
                .map(|(_, e)| e.it_mw)
                .sum();
            if ai_mw > 0.0 {
                let rate = fleet.ai_rate_usd_per_mw_it(
                    engine.model.calendar.days[r.t],
                    market.gpu_hour_usd[r.t],
                );
                let u = r.flows.ai_revenue_usd / (ai_mw * rate);
                assert!(u <= fleet.u_max * (1.0 + 1e-12), "u {u}");
                if fleet.ai_mode == AiMode::Colocation {
                    assert_eq!(r.flows.ai_power_usd, 0.0);
                }
            } else {
                assert_eq!(r.flows.ai_revenue_usd, 0.0);
            }
            let full_pivot = matches!(sc.policies[p].kind, PolicyKind::FullPivot);
            check_fundable(
                engine,
                r,
                &prev_sites,
                market.btc_price_usd[r.t],
                full_pivot,
            );
            prev_sites = r.sites.clone();
            prev_close = r.close;
        }
        let started: usize = records.iter().map(|r| r.started.len()).sum();
        assert_eq!(out.conversions_started as usize, started);
    }
}

/// An accepted conversion was fundable when accepted (strict funding). And
/// under `full_pivot`, which asks for every convertible site still mining,
/// the converse: a site left mining was not fundable (its equity is above
/// what the month's acceptances left), unless a `capex_budget` also binds.
fn check_fundable(engine: &Engine, r: &Record, before: &[SiteState], s: f64, full_pivot: bool) {
    let sc = &engine.scenario;
    if sc.financing.capex_funding != CapexFunding::Strict {
        return;
    }
    let fleet = &engine.model.fleet;
    let equity_share = 1.0 - sc.financing.capex_debt_share;
    // The treasury after step 0.
    let mut tr = r.open;
    let f = &r.flows;
    tr.reserve_btc += f.event_buy_btc - f.event_sale_btc;
    tr.loan_usd += f.event_loan_drawn_usd - f.event_loan_repayment_usd - f.event_repay_loan_usd;
    tr.cash_usd += f.event_cash_in_usd + f.event_loan_drawn_usd + f.event_equity_usd
        - f.event_buy_usd
        - f.event_repay_loan_usd;
    let liquid = (tr.cash_usd - sc.treasury.min_cash_usd).max(0.0)
        + (tr.free_btc(s, sc.loan.initial_ltv) - sc.treasury.reserve_floor_btc).max(0.0) * s;
    // Installments still due (this month included) of conversions under way.
    let mut committed = 0.0;
    for (i, st) in before.iter().enumerate() {
        if let SiteState::Converting { start } = *st {
            let site = &fleet.sites[i];
            let end = start as usize + site.lead_months;
            if end > r.t {
                committed += (end - r.t) as f64 * site.installment_usd;
            }
        }
    }
    let mut budget = liquid - equity_share * committed;
    for &i in &r.started {
        let equity = equity_share * fleet.sites[i].capex_usd;
        assert!(
            equity <= budget + 1e-6,
            "month {}: site {i} not fundable",
            r.t
        );
        budget -= equity;
    }
    let capped = sc
        .events
        .iter()
        .any(|e| matches!(e.kind, EventKind::CapexBudget { .. }));
    if full_pivot && !capped {
        for (i, st) in r.sites.iter().enumerate() {
            if fleet.sites[i].convertible && *st == SiteState::Mining {
                let equity = equity_share * fleet.sites[i].capex_usd;
                assert!(
                    equity > budget - 1e-6 - 1e-12 * budget.abs(),
                    "month {}: site {i} was fundable ({equity} <= {budget}) but not started",
                    r.t
                );
            }
        }
    }
}

#[test]
fn invariants_hold_on_the_first_paths_of_every_shipped_scenario() {
    for engine in engines() {
        for path in 0..8 {
            check_path(&engine, path);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_on_random_paths(scenario in 0usize..SHIPPED.len(), path in 0u64..1_000_000) {
        let engine = Engine::new(load(SHIPPED[scenario]));
        check_path(&engine, path);
    }

    #[test]
    fn no_policy_sees_a_later_month(scenario in 0usize..SHIPPED.len(), path in 0u64..1_000_000, cut in 0usize..23, factor in 0.2f64..5.0) {
        // Change the market after month `cut`: every month up to `cut` must
        // replay identically, for every policy.
        let engine = Engine::new(load(SHIPPED[scenario]));
        let inputs = engine.path_inputs(path);
        let mut changed = inputs.market.clone();
        for t in cut + 1..changed.months() {
            changed.btc_price_usd[t] *= factor;
            changed.hashprice_usd_per_eh_day[t] *= factor;
            changed.gpu_hour_usd[t] /= factor;
            changed.ai_demand_mw_it[t] *= factor;
            changed.hashrate_ehs[t] /= factor;
        }
        let changed = engine.market_inputs(changed);
        for p in 0..engine.scenario.policies.len() {
            let (a, _) = replay_records(&engine, p, &inputs);
            let (b, _) = replay_records(&engine, p, &changed);
            prop_assert_eq!(&a[..=cut], &b[..=cut]);
        }
    }
}

#[test]
fn distress_and_liquidation_paths_are_reached_and_reconcile() {
    // The invariants must also hold where the treasury is under stress: the
    // no-delever scenario starts above the margin call.
    let engine = Engine::new(load("cango_2026_no_delever"));
    let (records, _) = replay_records(&engine, 0, &engine.path_inputs(3));
    assert!(records[0].flows.margin_call || records[0].flows.liquidation);
    for r in &records {
        check_balances(r);
    }
}

/// A month's mining flows are the sum, over the sites still mining that
/// month, of each site's mining (`SiteEcon::mining`), whichever way the
/// replay takes it (the fleet's total less the sites that left, or the sum
/// of the few that remain). With all but one site in eight convertible and
/// every request accepted, `full_pivot` takes more than half the fleet out
/// of mining, so both ways are exercised, the second also over
/// non-convertible sites, whose months the mining table does not keep.
#[test]
fn mining_flows_are_the_sum_over_the_sites_still_mining() {
    let mut all_convertible = load("cango_2026");
    for (i, site) in all_convertible.sites.iter_mut().enumerate() {
        site.convertible = i % 8 != 0;
        site.lead_months = site.convertible.then_some(site.lead_months.unwrap_or(6));
    }
    all_convertible.financing.capex_funding = CapexFunding::Borrow;
    all_convertible.name = "cango_2026, 7 in 8 sites convertible".to_string();
    let mut engines = engines();
    engines.push(Engine::new(all_convertible));
    let (mut few_left, mut most_left) = (0, 0);
    for engine in &engines {
        let fleet = &engine.model.fleet;
        let cal = &engine.model.calendar;
        for path in 0..3 {
            let inputs = engine.path_inputs(path);
            let market = &inputs.market;
            for p in 0..engine.scenario.policies.len() {
                let (records, _) = replay_records(engine, p, &inputs);
                for r in &records {
                    let t = r.t;
                    let btc_per_eh = cal.days[t]
                        * pivotsim::model::calendar::BLOCKS_PER_DAY
                        * (cal.subsidy_btc[t] + market.fee_btc[t])
                        / market.hashrate_ehs[t];
                    let (mut btc, mut revenue, mut power, mut opex) = (0.0, 0.0, 0.0, 0.0);
                    let mut left = 0;
                    for (site, state) in fleet.sites.iter().zip(&r.sites) {
                        if *state != SiteState::Mining {
                            left += 1;
                            continue;
                        }
                        let m =
                            site.mining(fleet, btc_per_eh, market.btc_price_usd[t], cal.days[t]);
                        btc += m.btc_mined;
                        revenue += m.revenue_usd;
                        power += m.power_usd;
                        opex += m.opex_usd;
                    }
                    if 2 * left > fleet.len() {
                        most_left += 1;
                    } else {
                        few_left += 1;
                    }
                    let f = &r.flows;
                    let sc = &engine.scenario.name;
                    for (what, got, want) in [
                        ("btc", f.btc_mined, btc),
                        ("revenue", f.mining_revenue_usd, revenue),
                        ("power", f.mining_power_usd, power),
                        ("opex", f.mining_opex_usd, opex),
                    ] {
                        // Summed in another order: equal up to rounding.
                        assert!(
                            close(got, want, 1e-9),
                            "{sc} path {path} policy {p} month {t}: {what} {got} vs {want}"
                        );
                    }
                }
            }
        }
    }
    assert!(
        few_left > 100 && most_left > 100,
        "{few_left} / {most_left}"
    );
}
