//! Closed forms and the hand checks of docs/model.md section 6, seeded, with
//! tolerances from the standard error.

use pivotsim::model::calendar::{BLOCKS_PER_DAY, Calendar};
use pivotsim::model::fleet::Fleet;
use pivotsim::model::market::{MarketModel, MarketPath, hashprice_usd_per_eh_day};
use pivotsim::scenario::Site;
use pivotsim::sim::TreasuryState;

use crate::common::load;

/// Mean and standard error of a sample.
fn mean_se(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (n - 1.0);
    (m, (var / n).sqrt())
}

/// Month 59 of `paths` sampled paths of the reference market.
fn last_month_samples(paths: u64) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut sc = load("cango_2026");
    assert_eq!(sc.simulation.months, 60);
    // The calibrated reference has no jumps; revision 4's (6 a year, mean
    // -0.03, sd 0.08) test that their drift compensation keeps the mean.
    let btc = &mut sc.market.btc;
    (btc.jump_lambda_per_year, btc.jump_mean, btc.jump_sd) = (6.0, -0.03, 0.08);
    let cal = Calendar::new(&sc);
    let model = MarketModel::new(&sc.market, &cal);
    let mut m = MarketPath::with_months(60);
    let (mut s, mut p, mut d) = (Vec::new(), Vec::new(), Vec::new());
    for path in 0..paths {
        model.sample(20_260_201, path, &mut m);
        s.push(m.btc_price_usd[59]);
        p.push(m.gpu_hour_usd[59]);
        d.push(m.ai_demand_mw_it[59]);
    }
    (s, p, d)
}

#[test]
fn last_month_means_match_closed_forms_within_4_se() {
    let sc = load("cango_2026");
    let years = 59.0 / 12.0;
    let (s, p, d) = last_month_samples(40_000);
    let checks = [
        (
            "BTC price",
            &s,
            sc.market.btc.s0_usd * (sc.market.btc.mu * years).exp(),
        ),
        (
            "GPU-hour price",
            &p,
            sc.market.gpu_price.p0_usd_per_gpu_hour
                * (-sc.market.gpu_price.decline_per_year * years).exp(),
        ),
        (
            "AI demand",
            &d,
            sc.market.ai_demand.d0_mw_it * (sc.market.ai_demand.growth_per_year * years).exp(),
        ),
    ];
    for (name, x, expected) in checks {
        let (m, se) = mean_se(x);
        assert!(
            (m - expected).abs() < 4.0 * se,
            "{name}: mean {m:.4} vs closed form {expected:.4} (se {se:.4})"
        );
        // The test can fail: a 2% bias in the drift would be far outside 4 SE.
        assert!(
            se < 0.02 * expected,
            "{name}: se {se} too large to detect bias"
        );
    }
}

#[test]
fn hashprice_hand_check() {
    // 144 * 3.15 * 70,727 / 1,000 = 32,081.77 USD per EH/s per day.
    let hp = hashprice_usd_per_eh_day(3.125, 0.025, 70_727.0, 1_000.0);
    assert!((hp - 32_081.77).abs() < 0.005, "{hp}");
    // The sampler uses the same formula with the month's fee.
    let sc = load("cango_2026");
    let cal = Calendar::new(&sc);
    let model = MarketModel::new(&sc.market, &cal);
    let mut m = MarketPath::with_months(60);
    model.sample(1, 0, &mut m);
    assert_eq!(m.btc_price_usd[0], 70_727.0);
    assert_eq!(m.hashrate_ehs[0], 1_000.0);
    let expected = BLOCKS_PER_DAY * (3.125 + m.fee_btc[0]) * 70_727.0 / 1_000.0;
    assert!((m.hashprice_usd_per_eh_day[0] - expected).abs() < 1e-9);
}

#[test]
fn btc_mined_hand_check() {
    // 50 EH/s at 90% uptime in a 31-day month: 31 * 144 * 3.15 * 0.9 * 50 / 1000 = 632.77 BTC.
    let mut sc = load("cango_2026");
    let region = sc.sites[0].region;
    sc.sites = vec![Site {
        id: "hand".into(),
        region,
        power_mw: 1_000.0,
        j_per_th: 20.0,
        convertible: false,
        power_usd_per_mwh: 0.0,
        uptime: 0.9,
        lead_months: None,
        facility_capex_usd_per_mw_it: 7e6,
        take_or_pay_share: 0.0,
    }];
    let fleet = Fleet::new(&sc);
    assert!((fleet.sites[0].hashrate_ehs - 50.0).abs() < 1e-12);
    let btc_per_eh = 31.0 * BLOCKS_PER_DAY * 3.15 / 1_000.0;
    let m = fleet.sites[0].mining(&fleet, btc_per_eh, 70_727.0, 31.0);
    assert!(m.runs);
    assert!((m.btc_mined - 632.772).abs() < 1e-3, "{}", m.btc_mined);
}

#[test]
fn reference_fleet_idles_exactly_the_hot_us_and_oman_sites_in_february() {
    // docs/model.md section 6: at S0, H0 and mean fees, exactly the 22.5 J/TH US and Oman
    // sites (215 MW) are idle in February 2026.
    let sc = load("cango_2026");
    let fleet = Fleet::new(&sc);
    let cal = Calendar::new(&sc);
    assert_eq!(cal.days[0], 28.0);
    let btc_per_eh = 28.0 * BLOCKS_PER_DAY * (3.125 + 0.025) / 1_000.0;
    let mut idle_mw = 0.0;
    for (site, econ) in sc.sites.iter().zip(&fleet.sites) {
        let m = econ.mining(&fleet, btc_per_eh, 70_727.0, 28.0);
        let region = &sc.regions[site.region].name;
        let expect_idle = site.j_per_th == 22.5 && (region == "US" || region == "Oman");
        assert_eq!(!m.runs, expect_idle, "site {}", site.id);
        if !m.runs {
            idle_mw += site.power_mw;
            // An idle site pays only the curtailed share of its opex.
            assert_eq!(m.btc_mined, 0.0);
            assert!((m.opex_usd - 0.3 * 3_000.0 * site.power_mw).abs() < 1e-9);
        }
    }
    assert_eq!(idle_mw, 215.0);
}

/// docs/model.md section 6's hand checks of revision 5: each class runs in
/// February 2026 only above
/// `HP = j / uptime * ((1 - take_or_pay_share) * uptime * 24 * price + 2,100 / 28)`
/// (USD per EH/s per day; 30,733 for the 19.0 J/TH US sites ... 27,303 for
/// the 22.5 J/TH Ethiopian ones), the fleet mines 445.89 BTC with fees at
/// 0.025, within 10% of Cango's 454.83, and its cost with every site running
/// at uptime 1 is within 15% of Cango's 39.4 USD per PH/s per day.
#[test]
fn revision_5_hand_checks_of_the_reference_fleet() {
    let sc = load("cango_2026");
    let fleet = Fleet::new(&sc);
    let thresholds = [
        ("US", 19.0, 30_733.0),
        ("US", 22.5, 36_394.0),
        ("Oman", 19.0, 28_715.0),
        ("Oman", 22.5, 34_005.0),
        ("Paraguay", 19.0, 24_839.0),
        ("Paraguay", 22.5, 29_415.0),
        ("Ethiopia", 19.0, 23_056.0),
        ("Ethiopia", 22.5, 27_303.0),
    ];
    for (region, j, hp) in thresholds {
        let i = sc
            .sites
            .iter()
            .position(|s| sc.regions[s.region].name == region && s.j_per_th == j)
            .unwrap_or_else(|| panic!("no {region} site at {j} J/TH"));
        // At the threshold's hashprice (H = 1,000, S = 70,727) the site
        // runs just above it and idles just below.
        let btc_per_eh_at = |hashprice: f64| 28.0 * hashprice / 70_727.0;
        let site = &fleet.sites[i];
        let above = site.mining(&fleet, btc_per_eh_at(hp + 1.0), 70_727.0, 28.0);
        let below = site.mining(&fleet, btc_per_eh_at(hp - 1.0), 70_727.0, 28.0);
        assert!(
            above.runs && !below.runs,
            "{region} {j} J/TH threshold not at {hp}"
        );
    }
    // February 2026 at S0, H0 and fees 0.025.
    let btc_per_eh = 28.0 * BLOCKS_PER_DAY * (3.125 + 0.025) / 1_000.0;
    let mut btc = 0.0;
    for econ in &fleet.sites {
        btc += econ.mining(&fleet, btc_per_eh, 70_727.0, 28.0).btc_mined;
    }
    assert!((btc - 445.89).abs() < 0.005, "{btc}");
    assert!((btc / 454.83 - 1.0).abs() < 0.10);
    // The fleet's cost at uptime 1, USD per PH/s per day.
    let (mut usd_per_day, mut ph) = (0.0, 0.0);
    for s in &sc.sites {
        usd_per_day += s.power_mw
            * (24.0 * s.power_usd_per_mwh + sc.mining.opex_usd_per_mw_month * 12.0 / 365.25);
        ph += 1_000.0 * s.power_mw / s.j_per_th;
    }
    let cost = usd_per_day / ph;
    assert!((cost / 39.4 - 1.0).abs() < 0.15, "{cost}");
    assert!((cost - 34.7).abs() < 0.05, "{cost}");
}

#[test]
fn ltv_before_the_sale_is_above_the_margin_call() {
    let sc = load("cango_2026");
    let t = TreasuryState {
        reserve_btc: sc.treasury.reserve_btc,
        cash_usd: sc.treasury.cash_usd,
        loan_usd: sc.loan.principal_usd,
        project_debt_usd: 0.0,
        distress_usd: 0.0,
    };
    let ltv = t.ltv(sc.market.btc.s0_usd);
    assert!((ltv - 0.766).abs() < 5e-4, "{ltv}");
    assert!(ltv > sc.loan.margin_call_ltv);
}

#[test]
fn halving_month_of_the_reference_calendar_is_day_weighted() {
    let sc = load("cango_2026");
    let cal = Calendar::new(&sc);
    let april_2028 = 26;
    assert_eq!(cal.label(april_2028), "2028-04");
    let expected = (14.0 * 3.125 + 16.0 * 1.5625) / 30.0;
    assert!((cal.subsidy_btc[april_2028] - expected).abs() < 1e-12);
    assert_eq!(cal.subsidy_btc[april_2028 - 1], 3.125);
    assert_eq!(cal.subsidy_btc[april_2028 + 1], 1.5625);
}

/// sub_fwd is the mean subsidy over a machine's life: with M = 36 from
/// February 2026, 26 months at 3.125, April 2028 day-weighted, and 9 months
/// at 1.5625 (to January 2029); with M = 1 it is the month's own subsidy.
#[test]
fn forward_subsidy_is_the_mean_over_the_machine_life() {
    let mut sc = load("cango_2026");
    sc.market.hashrate.machine_life_months = 36;
    let cal = Calendar::new(&sc);
    let april_2028 = (14.0 * 3.125 + 16.0 * 1.5625) / 30.0;
    let expected = (26.0 * 3.125 + april_2028 + 9.0 * 1.5625) / 36.0;
    assert!((cal.subsidy_fwd_btc[0] - expected).abs() < 1e-12);
    // Past the horizon's last month (January 2031) the schedule goes on:
    // its window reaches the 2032 halving.
    let last = cal.subsidy_fwd_btc[59];
    assert!(last < 1.5625 && last > 0.78125, "{last}");
    sc.market.hashrate.machine_life_months = 1;
    let cal = Calendar::new(&sc);
    assert_eq!(cal.subsidy_fwd_btc, cal.subsidy_btc);
}

/// With no hashrate noise, each month of a sampled path is the equation of
/// docs/model.md section 1 applied to the path's own prices, computed here
/// independently: the exit branch when H is above H_cash (capitulation on),
/// else the gap to H_eq of month t - L. Both branches occur on these paths.
#[test]
fn hashrate_follows_the_revision_5_equation_month_by_month() {
    let mut sc = load("cango_2026");
    let hr = &mut sc.market.hashrate;
    (hr.machine_life_months, hr.capitulation, hr.sigma) = (36, true, 0.0);
    (hr.cash_cost_share, hr.kappa_exit_per_year, hr.lag_months) = (0.6, 9.0, 2);
    let hr = sc.market.hashrate.clone();
    let cal = Calendar::new(&sc);
    let model = MarketModel::new(&sc.market, &cal);
    let months = cal.months();
    let fee = sc.market.fees.mean_btc;
    let mut m = MarketPath::with_months(months);
    let (mut exits, mut gaps) = (0, 0);
    for path in 0..200 {
        model.sample(7, path, &mut m);
        for t in 0..months - 1 {
            let hp_be = |t: usize| {
                hr.breakeven_usd_per_eh_day * (-hr.efficiency_gain_per_year * t as f64 / 12.0).exp()
            };
            let h_cash = BLOCKS_PER_DAY * (cal.subsidy_btc[t] + fee) * m.btc_price_usd[t]
                / (hr.cash_cost_share * hp_be(t));
            let s = t.saturating_sub(hr.lag_months);
            let h_eq =
                BLOCKS_PER_DAY * (cal.subsidy_fwd_btc[s] + fee) * m.btc_price_usd[s] / hp_be(s);
            let h = m.hashrate_ehs[t];
            let step = if h > h_cash {
                exits += 1;
                hr.kappa_exit_per_year / 12.0 * (h_cash / h).ln()
            } else {
                gaps += 1;
                let kappa = if h_eq > h {
                    hr.kappa_up_per_year
                } else {
                    hr.kappa_down_per_year
                };
                kappa / 12.0 * (h_eq / h).ln()
            };
            let expected = h * step.exp();
            let got = m.hashrate_ehs[t + 1];
            assert!(
                (got / expected - 1.0).abs() < 1e-9,
                "path {path}, month {t}: H {got} vs the equation's {expected}"
            );
        }
    }
    assert!(
        exits > 100 && gaps > 100,
        "exit months {exits}, gap months {gaps}"
    );
}
