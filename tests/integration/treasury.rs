//! The treasury events beyond the sale (`buy_btc`, `repay_loan`,
//! `draw_loan`, `raise_equity`, `capex_budget`) and the standing rule
//! `sell_to_target_ltv`, each checked against its stated semantics on
//! sampled paths.

use pivotsim::engine::Engine;
use pivotsim::scenario::{self, EventKind};

use crate::common::{Record, close, load, replay_records, scenario_path};

/// The smoke scenario with `extra` appended (and `treasury_extra` added to
/// its `[treasury]` table), loaded from a scratch folder.
fn smoke_with(extra: &str, treasury_extra: &str) -> Engine {
    let text = std::fs::read_to_string(scenario_path("smoke")).unwrap();
    let anchor = "distress_buffer_usd = \"2000000\"\n";
    assert!(text.contains(anchor));
    let text = text.replace(anchor, &format!("{anchor}{treasury_extra}\n"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scenario.toml");
    std::fs::write(&path, format!("{text}\n{extra}")).unwrap();
    Engine::new(scenario::load(&path).unwrap_or_else(|e| panic!("{e}")))
}

fn records(engine: &Engine, p: usize, path: u64) -> Vec<Record> {
    replay_records(engine, p, &engine.path_inputs(path)).0
}

const MIN_CASH: f64 = 3_000_000.0;

#[test]
fn raise_equity_adds_its_cash_in_its_month() {
    let engine = smoke_with(
        "[[events]]\nkind = \"raise_equity\"\ndate = \"2026-05-20\"\nusd = \"12345678.90\"\n",
        "",
    );
    for path in 0..5 {
        let r = records(&engine, 0, path);
        assert_eq!(r[3].flows.event_equity_usd, 12_345_678.90);
        assert!(
            r.iter()
                .filter(|x| x.t != 3)
                .all(|x| x.flows.event_equity_usd == 0.0)
        );
    }
}

#[test]
fn draw_loan_raises_the_loan_to_its_ltv_capped_by_max_usd() {
    let engine = smoke_with(
        "[[events]]\nkind = \"draw_loan\"\ndate = \"2026-02-20\"\nltv = 0.55\n\
         [[events]]\nkind = \"draw_loan\"\ndate = \"2026-06-01\"\nltv = 0.6\nmax_usd = 1000000\n",
        "",
    );
    for path in 0..5 {
        let inputs = engine.path_inputs(path);
        let r = replay_records(&engine, 0, &inputs).0;
        // Month 0: after the sale (500 BTC repay the loan), borrow up to LTV 0.55.
        let f = &r[0].flows;
        let s = inputs.market.btc_price_usd[0];
        let reserve = r[0].open.reserve_btc - f.event_sale_btc;
        let loan_before = r[0].open.loan_usd - f.event_loan_repayment_usd;
        let expected = (0.55 * reserve * s - loan_before).max(0.0);
        assert!(
            close(f.event_loan_drawn_usd, expected, 1e-12),
            "path {path}"
        );
        assert!(f.event_loan_drawn_usd > 0.0);
        // Month 4: capped at 1M.
        assert!(r[4].flows.event_loan_drawn_usd <= 1_000_000.0);
    }
}

#[test]
fn buy_btc_and_repay_loan_spend_only_cash_above_min_cash() {
    let engine = smoke_with(
        "[[events]]\nkind = \"buy_btc\"\ndate = \"2026-03-10\"\nusd = \"2000000\"\nprice_usd = \"50000\"\n\
         [[events]]\nkind = \"buy_btc\"\ndate = \"2026-04-10\"\nusd = \"1e12\"\n\
         [[events]]\nkind = \"repay_loan\"\ndate = \"2026-07-10\"\nusd = \"1e12\"\n",
        "",
    );
    for path in 0..5 {
        let inputs = engine.path_inputs(path);
        let r = replay_records(&engine, 0, &inputs).0;
        let f1 = &r[1].flows;
        let spend1 = 2e6f64.min((r[1].open.cash_usd - MIN_CASH).max(0.0));
        assert_eq!(f1.event_buy_usd, spend1);
        assert_eq!(f1.event_buy_btc, spend1 / 50_000.0);
        // Everything above min_cash, at the month's price.
        let f2 = &r[2].flows;
        assert_eq!(f2.event_buy_usd, (r[2].open.cash_usd - MIN_CASH).max(0.0));
        assert!(close(
            f2.event_buy_btc * inputs.market.btc_price_usd[2],
            f2.event_buy_usd,
            1e-12
        ));
        let f5 = &r[5].flows;
        let repay = r[5]
            .open
            .loan_usd
            .min((r[5].open.cash_usd - MIN_CASH).max(0.0));
        assert_eq!(f5.event_repay_loan_usd, repay);
    }
}

#[test]
fn capex_budget_caps_the_capex_accepted_in_each_12_month_period() {
    // Borrow funding accepts every request, so only the budget limits
    // full_pivot: about one site's capex a year from month 0.
    let base = "[financing]\ncapex_funding = \"borrow\"\n";
    let free = smoke_with(base, "");
    let capex: Vec<f64> = free.model.fleet.sites.iter().map(|s| s.capex_usd).collect();
    let cap = capex.iter().copied().fold(0.0, f64::max) * 1.01;
    let capped = smoke_with(
        &format!(
            "{base}[[events]]\nkind = \"capex_budget\"\ndate = \"2026-02-15\"\nusd_per_year = {cap}\n"
        ),
        "",
    );
    let p = 3; // smoke's policies: hold, staged, threshold, full_pivot
    assert!(matches!(
        capped.scenario.events.last().unwrap().kind,
        EventKind::CapexBudget { .. }
    ));
    for path in 0..5 {
        let a = records(&free, p, path);
        let b = records(&capped, p, path);
        let started = |r: &[Record]| r.iter().map(|x| x.started.len()).sum::<usize>();
        assert!(started(&b) < started(&a), "path {path}: the budget binds");
        assert!(started(&b) >= 1, "path {path}: the budget allows one site");
        for period in 0..2 {
            let months = 12 * period..12 * (period + 1);
            let spent: f64 = b[months]
                .iter()
                .flat_map(|x| x.started.iter().map(|&i| capex[i]))
                .sum();
            assert!(spent <= cap, "path {path} period {period}: {spent} > {cap}");
        }
    }
}

#[test]
fn sell_to_target_ltv_sells_down_to_target_before_any_margin_call() {
    // The reference case with the rule: a margin call can only happen when
    // the rule has sold the whole reserve (LTV above 1).
    let engine = Engine::new(load("cango_2026_treasury"));
    let rule = engine.scenario.treasury.sell_to_target_ltv.unwrap();
    let mut fired = 0;
    for path in 0..60 {
        let inputs = engine.path_inputs(path);
        for p in 0..engine.scenario.policies.len() {
            for r in replay_records(&engine, p, &inputs).0 {
                let f = &r.flows;
                let s = inputs.market.btc_price_usd[r.t];
                if f.target_ltv_sale_btc > 0.0 {
                    fired += 1;
                    // After the sale, LTV = target exactly (or no BTC left).
                    if !f.margin_call && !f.liquidation {
                        let ltv = r.close.loan_usd / (r.close.reserve_btc * s);
                        if r.close.loan_usd > 0.0 && r.close.reserve_btc > 0.0 {
                            assert!(
                                ltv <= rule.target_ltv * (1.0 + 1e-9),
                                "path {path} month {}: ltv {ltv}",
                                r.t
                            );
                        }
                    }
                }
                if f.margin_call || f.liquidation {
                    assert!(
                        f.target_ltv_sale_btc == 0.0 || r.close.reserve_btc <= 1e-9,
                        "path {path} month {}: margin call after the rule sold",
                        r.t
                    );
                }
            }
        }
    }
    assert!(fired > 0, "the rule never fired");
}

#[test]
fn sell_to_target_ltv_lowers_the_margin_call_rate() {
    let without = smoke_with("", "");
    let with = smoke_with(
        "",
        "sell_to_target_ltv = { trigger_ltv = 0.65, target_ltv = 0.5 }",
    );
    let count = |e: &Engine| {
        (0..200)
            .filter(|&path| records(e, 0, path).iter().any(|r| r.flows.margin_call))
            .count()
    };
    let (a, b) = (count(&without), count(&with));
    assert!(a > 0, "the smoke scenario has margin calls");
    assert!(b < a, "with the rule {b}, without {a}");
}
