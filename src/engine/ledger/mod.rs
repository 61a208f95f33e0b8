//! The replay ledger: one path of a run, under one policy, as a month-by-month
//! statement that reconciles to the cent and to the satoshi.
//!
//! [`replay`] re-simulates path N with exactly the code the engine runs
//! ([`Engine::path_inputs`] and [`Engine::replay_inputs`], the single-path
//! replay of [`super::replay`]), so its market draws and its totals are
//! those of path N in `pivotsim run` with the same seed, whatever the
//! thread or path count of that run.
//!
//! Exactness. The simulation runs in f64. The ledger converts every flow of
//! [`MonthFlows`] to a `Decimal`, rounded half-to-even to the cent (USD) or
//! to the satoshi (BTC, 8 decimals), and builds each balance as
//! `close = open + sum(in) - sum(out)` of those flows, carrying the Decimal
//! close into the next month's open. So the identities hold exactly on every
//! row by construction. So that rounding does not drift over the horizon,
//! each month's residue (the simulation's close rounded, minus the close of
//! the rounded flows: a few cents or satoshis at most) is settled on the
//! last flow of that balance in the month, so every Decimal balance equals
//! the simulation's balance rounded to the cent or satoshi, on every row,
//! and a paid-off loan closes at exactly 0.00. A flow may therefore differ
//! from its own f64 value by a few cents. A flow that moves two balances is
//! settled only on behalf of the one settled first (order: reserve, project
//! debt, loan, distress, cash), so no settled balance moves again.
//!
//! Event amounts written as exact decimal strings (`price_usd = "68525"`,
//! `usd = "50000000.00"`) reach the ledger exactly: their f64 values, and
//! products such as 4,451 BTC x 68,525 USD, are exact in f64 at these
//! magnitudes, and rounding to the cent recovers them. They would not be
//! exact with more than 2 decimals of USD or 8 of BTC, above about 9e13 USD
//! (2^53 cents), or for amounts the model computes (a `draw_loan` to an LTV,
//! a `buy_btc` at the month's price).

mod render;

use rust_decimal::prelude::FromPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

use crate::engine::Engine;
use crate::engine::replay::PathInputs;
use crate::format;
use crate::sim::{MonthFlows, MonthRecord, PolicyOutcome, SiteState, TreasuryState};

/// Decimals of USD amounts (cents).
pub const USD_DP: u32 = 2;
/// Decimals of BTC amounts (satoshis).
pub const BTC_DP: u32 = 8;

/// A balance of the treasury.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Balance {
    Cash,
    Reserve,
    Loan,
    ProjectDebt,
    Distress,
}

impl Balance {
    pub const ALL: [Balance; 5] = [
        Balance::Cash,
        Balance::Reserve,
        Balance::Loan,
        Balance::ProjectDebt,
        Balance::Distress,
    ];

    /// Column stem: `cash_usd`, `reserve_btc`, ...
    pub fn name(self) -> &'static str {
        match self {
            Balance::Cash => "cash_usd",
            Balance::Reserve => "reserve_btc",
            Balance::Loan => "loan_usd",
            Balance::ProjectDebt => "project_debt_usd",
            Balance::Distress => "distress_usd",
        }
    }

    /// Decimals kept.
    pub fn dp(self) -> u32 {
        match self {
            Balance::Reserve => BTC_DP,
            _ => USD_DP,
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    fn of(self, tr: &TreasuryState) -> f64 {
        match self {
            Balance::Cash => tr.cash_usd,
            Balance::Reserve => tr.reserve_btc,
            Balance::Loan => tr.loan_usd,
            Balance::ProjectDebt => tr.project_debt_usd,
            Balance::Distress => tr.distress_usd,
        }
    }
}

/// Direction of a flow on a balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    In,
    Out,
}

/// One flow of a month: what it is, the balances it moves (one column per
/// leg, `<balance>__in__<what>` or `<balance>__out__<what>`), and its value.
/// Every leg of a flow is in the unit of its balances (BTC legs and USD legs
/// are separate flows).
pub struct FlowSpec {
    pub what: &'static str,
    pub legs: &'static [(Balance, Dir)],
    get: fn(&MonthFlows) -> f64,
}

use Balance::{Cash, Distress, Loan, ProjectDebt, Reserve};
use Dir::{In, Out};

macro_rules! flow {
    ($what:literal, [$(($b:expr, $d:expr)),+], $field:ident) => {
        FlowSpec {
            what: $what,
            legs: &[$(($b, $d)),+],
            get: |f: &MonthFlows| f.$field,
        }
    };
    ($what:literal, [$(($b:expr, $d:expr)),+], |$f:ident| $get:expr) => {
        FlowSpec {
            what: $what,
            legs: &[$(($b, $d)),+],
            get: |$f: &MonthFlows| $get,
        }
    };
}

/// Every flow of docs/model.md section 3, in the order of the steps.
pub static FLOWS: &[FlowSpec] = &[
    // Step 0: events.
    flow!("event_sale", [(Reserve, Out)], event_sale_btc),
    flow!("event_sale", [(Loan, Out)], event_loan_repayment_usd),
    flow!("event_sale", [(Cash, In)], event_cash_in_usd),
    flow!("btc_purchase", [(Reserve, In)], event_buy_btc),
    flow!("btc_purchase", [(Cash, Out)], event_buy_usd),
    flow!(
        "loan_repayment",
        [(Cash, Out), (Loan, Out)],
        event_repay_loan_usd
    ),
    flow!("loan_draw", [(Loan, In), (Cash, In)], event_loan_drawn_usd),
    flow!("equity_raise", [(Cash, In)], event_equity_usd),
    // Step 2: mining.
    flow!("mined", [(Reserve, In)], btc_mined),
    flow!("mined_sale", [(Reserve, Out)], mined_sold_btc),
    flow!("mined_sale", [(Cash, In)], mined_sold_usd),
    // Step 3: cash flows.
    flow!("ai_revenue", [(Cash, In)], ai_revenue_usd),
    flow!("mining_power", [(Cash, Out)], |f| f.mining_power_usd
        - f.mining_idle_power_usd),
    flow!(
        "idle_take_or_pay_power",
        [(Cash, Out)],
        mining_idle_power_usd
    ),
    flow!("mining_opex", [(Cash, Out)], mining_opex_usd),
    flow!("ai_power", [(Cash, Out)], ai_power_usd),
    flow!("ai_opex", [(Cash, Out)], ai_opex_usd),
    flow!("capex_equity", [(Cash, Out)], capex_equity_usd),
    flow!("capex_debt", [(ProjectDebt, In)], capex_debt_usd),
    flow!(
        "project_debt_interest",
        [(Cash, Out)],
        project_debt_interest_usd
    ),
    flow!(
        "project_debt_principal",
        [(Cash, Out), (ProjectDebt, Out)],
        project_debt_principal_usd
    ),
    flow!("loan_interest", [(Cash, Out)], loan_interest_usd),
    flow!("distress_interest", [(Cash, Out)], distress_interest_usd),
    // Step 4: funding.
    flow!("funding_sale", [(Reserve, Out)], funding_sale_btc),
    flow!("funding_sale", [(Cash, In)], funding_sale_usd),
    flow!(
        "distress_borrowing",
        [(Distress, In), (Cash, In)],
        distress_borrowed_usd
    ),
    // Step 4b: sell_to_target_ltv.
    flow!("target_ltv_sale", [(Reserve, Out)], target_ltv_sale_btc),
    flow!("target_ltv_sale", [(Loan, Out)], target_ltv_sale_usd),
    // Step 5: covenant.
    flow!(
        "margin_call_repayment",
        [(Cash, Out), (Loan, Out)],
        margin_call_cash_usd
    ),
    flow!("margin_call_sale", [(Reserve, Out)], margin_call_sale_btc),
    flow!("margin_call_sale", [(Loan, Out)], margin_call_sale_usd),
    flow!("liquidation_sale", [(Reserve, Out)], liquidation_sale_btc),
    flow!("liquidation", [(Loan, Out)], liquidation_loan_closed_usd),
    flow!(
        "liquidation_deficiency",
        [(Cash, Out)],
        liquidation_deficiency_cash_usd
    ),
    flow!(
        "liquidation_deficiency",
        [(Distress, In)],
        liquidation_deficiency_distress_usd
    ),
    // Step 6: maturity.
    flow!(
        "maturity_repayment",
        [(Cash, Out), (Loan, Out)],
        maturity_cash_usd
    ),
    flow!("maturity_sale", [(Reserve, Out)], maturity_sale_btc),
    flow!("maturity_sale", [(Loan, Out)], maturity_sale_usd),
    flow!(
        "maturity_to_distress",
        [(Loan, Out), (Distress, In)],
        maturity_distress_usd
    ),
    // Step 7: repair.
    flow!(
        "distress_repayment",
        [(Cash, Out), (Distress, Out)],
        distress_repaid_usd
    ),
];

/// Balances in the order their residues are settled; cash last.
const SNAP_ORDER: [Balance; 5] = [Reserve, ProjectDebt, Loan, Distress, Cash];

/// Whether settling `b`'s residue may change `spec`: only if every other
/// leg of the flow is on a balance settled after `b` (so a settled balance
/// stays settled).
fn snap_may_use(spec: &FlowSpec, b: Balance) -> bool {
    let rank = |x: Balance| SNAP_ORDER.iter().position(|&y| y == x).unwrap_or(0);
    spec.legs.iter().all(|&(x, _)| x == b || rank(x) > rank(b))
}

/// `x` rounded half-to-even to `dp` decimals.
pub fn to_decimal(x: f64, dp: u32) -> Decimal {
    Decimal::from_f64(x)
        .unwrap_or_default()
        .round_dp_with_strategy(dp, RoundingStrategy::MidpointNearestEven)
}

/// One month of the ledger.
#[derive(Debug, Clone)]
pub struct LedgerRow {
    pub t: usize,
    pub date: String,
    pub btc_price_usd: f64,
    pub hashrate_ehs: f64,
    pub hashprice_usd_per_ph_day: f64,
    pub fees_btc_per_block: f64,
    pub gpu_hour_usd: f64,
    pub ai_demand_mw_it: f64,
    /// Balances in `Balance::ALL` order.
    pub open: [Decimal; 5],
    /// One value per entry of [`FLOWS`].
    pub flows: Vec<Decimal>,
    pub close: [Decimal; 5],
    /// The simulation's own (f64) closing balances.
    pub sim_close: TreasuryState,
    /// Information, not flows.
    pub mining_revenue_usd: Decimal,
    pub capex_usd: Decimal,
    pub liquidation_sale_usd: Decimal,
    pub liquidation_penalty_usd: Decimal,
    pub margin_call: bool,
    pub liquidation: bool,
    pub distress_month: bool,
    pub sites_mining: usize,
    pub sites_curtailed: usize,
    pub sites_converting: usize,
    pub sites_ai: usize,
    /// Ids of the sites that started converting this month.
    pub started: Vec<String>,
}

impl LedgerRow {
    fn price(&self) -> Decimal {
        to_decimal(self.btc_price_usd, USD_DP)
    }

    /// `reserve_btc_close * btc_price_usd` (the price as printed), to the cent.
    pub fn reserve_usd(&self) -> Decimal {
        (self.close[Reserve.index()] * self.price())
            .round_dp_with_strategy(USD_DP, RoundingStrategy::MidpointNearestEven)
    }

    /// `reserve_usd + cash - loan - project debt - distress`, closing.
    pub fn net_reserve_usd(&self) -> Decimal {
        self.reserve_usd() + self.close[Cash.index()]
            - self.close[Loan.index()]
            - self.close[ProjectDebt.index()]
            - self.close[Distress.index()]
    }

    /// `loan / reserve_usd`, closing: 0 without a loan, None (infinite)
    /// with a loan and no BTC.
    pub fn ltv(&self) -> Option<Decimal> {
        let loan = self.close[Loan.index()];
        let reserve = self.close[Reserve.index()] * self.price();
        if loan.is_zero() {
            Some(Decimal::ZERO)
        } else if reserve.is_zero() {
            None
        } else {
            Some((loan / reserve).round_dp(6))
        }
    }

    fn flow(&self, what: &str, balance: Balance) -> Decimal {
        FLOWS
            .iter()
            .zip(&self.flows)
            .filter(|(spec, _)| spec.what == what && spec.legs.iter().any(|l| l.0 == balance))
            .map(|(_, v)| *v)
            .sum()
    }

    /// Sum of the flows into (`In`) or out of (`Out`) a balance.
    pub fn total(&self, balance: Balance, dir: Dir) -> Decimal {
        FLOWS
            .iter()
            .zip(&self.flows)
            .filter(|(spec, _)| spec.legs.contains(&(balance, dir)))
            .map(|(_, v)| *v)
            .sum()
    }
}

/// A replayed path: its rows and the simulation's outcome.
#[derive(Debug)]
pub struct Ledger {
    pub scenario: String,
    pub policy: String,
    pub path: u64,
    pub seed: u64,
    pub rows: Vec<LedgerRow>,
    /// The path's totals (NPV, terminal net reserve, flags), as in the run.
    pub outcome: PolicyOutcome,
}

/// Index of the policy named `name`.
pub fn policy_index(engine: &Engine, name: &str) -> Option<usize> {
    engine.scenario.policies.iter().position(|p| p.name == name)
}

/// The largest magnitude a ledger figure may have: `Decimal` holds about
/// 7.9e28, and a month's balance adds up a few dozen flows, so 1e26 USD or
/// BTC leaves room for every sum and for `reserve_usd`'s product.
pub const LEDGER_MAX_ABS: f64 = 1e26;

/// A figure of the path is too large (or not finite) for the ledger's exact
/// decimals: the ledger is refused rather than written with a wrong cell.
#[derive(Debug, thiserror::Error)]
#[error(
    "path {path}, policy `{policy}`, month {month}: `{what}` is {value:e}, beyond the \
     ledger's exact decimal range (at most 1e26 in magnitude)"
)]
pub struct LedgerRangeError {
    pub path: u64,
    pub policy: String,
    pub month: usize,
    pub what: String,
    pub value: f64,
}

/// The first figure of a month that the ledger cannot hold exactly.
fn out_of_range(r: &MonthRecord<'_>, btc_price_usd: f64) -> Option<(String, f64)> {
    let beyond = |x: f64| x.is_nan() || x.abs() > LEDGER_MAX_ABS;
    let f = r.flows;
    let mut balances = Balance::ALL
        .into_iter()
        .flat_map(|b| [(b, "open", b.of(r.open)), (b, "close", b.of(r.close))]);
    if let Some((b, side, x)) = balances.find(|&(.., x)| beyond(x)) {
        return Some((format!("{}_{side}", b.name()), x));
    }
    let information = [
        ("btc_price_usd", btc_price_usd),
        ("reserve_usd", btc_price_usd * r.close.reserve_btc),
        ("mining_revenue_usd", f.mining_revenue_usd),
        ("capex_usd", f.capex_usd),
        ("liquidation_sale_usd", f.liquidation_sale_usd),
        ("liquidation_penalty_usd", f.liquidation_penalty_usd),
    ];
    FLOWS
        .iter()
        .map(|spec| (spec.what, (spec.get)(f)))
        .chain(information)
        .find(|&(_, x)| beyond(x))
        .map(|(what, x)| (what.to_owned(), x))
}

/// Replay path `path` of the engine's scenario (its seed) under policy `p`.
/// Refused when a figure is beyond [`LEDGER_MAX_ABS`].
pub fn replay(engine: &Engine, p: usize, path: u64) -> Result<Ledger, LedgerRangeError> {
    ledger_of(engine, p, path, &engine.path_inputs(path))
}

/// The ledger of policy `p` on `inputs`, labelled as path `path`.
fn ledger_of(
    engine: &Engine,
    p: usize,
    path: u64,
    inputs: &PathInputs,
) -> Result<Ledger, LedgerRangeError> {
    let sc = &engine.scenario;
    let model = &engine.model;
    let months = model.months();
    let seed = sc.simulation.seed;
    let (market, table) = (&inputs.market, &inputs.table);
    let mut rows: Vec<LedgerRow> = Vec::with_capacity(months);
    let mut carry: Option<[Decimal; 5]> = None;
    let mut too_large: Option<(usize, String, f64)> = None;
    let outcome = engine.replay_inputs(inputs, p, |r| {
        let t = r.t;
        if too_large.is_some() {
            return;
        }
        if let Some((what, value)) = out_of_range(r, market.btc_price_usd[t]) {
            too_large = Some((t, what, value));
            return;
        }
        let open = carry.unwrap_or_else(|| Balance::ALL.map(|b| to_decimal(b.of(r.open), b.dp())));
        let mut flows: Vec<Decimal> = FLOWS
            .iter()
            .map(|spec| to_decimal((spec.get)(r.flows), spec.legs[0].0.dp()))
            .collect();
        let closes = |flows: &[Decimal]| -> [Decimal; 5] {
            let mut c = open;
            for (spec, v) in FLOWS.iter().zip(flows) {
                for &(b, d) in spec.legs {
                    match d {
                        In => c[b.index()] += *v,
                        Out => c[b.index()] -= *v,
                    }
                }
            }
            c
        };
        // Keep every balance at the simulation's, to the cent or satoshi:
        // the rounding residue of the month (a few cents at most) goes to
        // the last flow of the balance that can take it (see the module doc).
        for b in SNAP_ORDER {
            let target = to_decimal(b.of(r.close), b.dp());
            let residue = target - closes(&flows)[b.index()];
            if residue.is_zero() {
                continue;
            }
            let pick = FLOWS.iter().zip(&flows).rposition(|(spec, v)| {
                let Some(&(_, dir)) = spec.legs.iter().find(|l| l.0 == b) else {
                    return false;
                };
                let adjusted = if dir == In {
                    *v + residue
                } else {
                    *v - residue
                };
                !v.is_zero() && adjusted >= Decimal::ZERO && snap_may_use(spec, b)
            });
            if let Some(k) = pick {
                let dir = FLOWS[k].legs.iter().find(|l| l.0 == b).map(|l| l.1);
                match dir {
                    Some(In) => flows[k] += residue,
                    _ => flows[k] -= residue,
                }
            }
        }
        let close = closes(&flows);
        carry = Some(close);
        let (mut mining, mut curtailed, mut converting, mut ai) = (0, 0, 0, 0);
        for (i, st) in r.sites.iter().enumerate() {
            match st {
                SiteState::Mining if table.site(&model.fleet, t, i).runs => mining += 1,
                SiteState::Mining => curtailed += 1,
                SiteState::Converting { .. } => converting += 1,
                SiteState::Ai => ai += 1,
            }
        }
        let f = r.flows;
        rows.push(LedgerRow {
            t,
            date: model.calendar.dates[t].format("%Y-%m-%d").to_string(),
            btc_price_usd: market.btc_price_usd[t],
            hashrate_ehs: market.hashrate_ehs[t],
            hashprice_usd_per_ph_day: market.hashprice_usd_per_eh_day[t] / 1000.0,
            fees_btc_per_block: market.fee_btc[t],
            gpu_hour_usd: market.gpu_hour_usd[t],
            ai_demand_mw_it: market.ai_demand_mw_it[t],
            open,
            flows,
            close,
            sim_close: *r.close,
            mining_revenue_usd: to_decimal(f.mining_revenue_usd, USD_DP),
            capex_usd: to_decimal(f.capex_usd, USD_DP),
            liquidation_sale_usd: to_decimal(f.liquidation_sale_usd, USD_DP),
            liquidation_penalty_usd: to_decimal(f.liquidation_penalty_usd, USD_DP),
            margin_call: f.margin_call,
            liquidation: f.liquidation,
            distress_month: f.distress_month,
            sites_mining: mining,
            sites_curtailed: curtailed,
            sites_converting: converting,
            sites_ai: ai,
            started: r.started.iter().map(|&i| sc.sites[i].id.clone()).collect(),
        });
    });
    if let Some((month, what, value)) = too_large {
        return Err(LedgerRangeError {
            path,
            policy: sc.policies[p].name.clone(),
            month,
            what,
            value,
        });
    }
    Ok(Ledger {
        scenario: sc.name.clone(),
        policy: sc.policies[p].name.clone(),
        path,
        seed,
        rows,
        outcome,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_figure_beyond_the_decimals_refuses_the_ledger_naming_it() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/smoke.toml");
        let engine = Engine::new(crate::scenario::load(std::path::Path::new(path)).unwrap());
        let within = ledger_of(&engine, 0, 0, &engine.path_inputs(0));
        assert!(within.is_ok());
        let mut market = engine.path_inputs(0).market;
        market.btc_price_usd[3] = 1e27;
        let err = ledger_of(&engine, 0, 0, &engine.market_inputs(market)).unwrap_err();
        assert_eq!((err.month, err.policy.as_str()), (3, "hold"));
        let message = err.to_string();
        assert!(
            message.contains("month 3") && message.contains("beyond"),
            "{message}"
        );
        let mut market = engine.path_inputs(0).market;
        market.btc_price_usd[5] = f64::NAN;
        let err = ledger_of(&engine, 0, 0, &engine.market_inputs(market)).unwrap_err();
        assert_eq!(err.month, 5);
    }
}
