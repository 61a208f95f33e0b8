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

use std::fmt::Write as _;

use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use rust_decimal::{Decimal, RoundingStrategy};

use crate::engine::Engine;
use crate::format;
use crate::sim::{MonthFlows, PolicyOutcome, SiteState, TreasuryState};

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
    flow!("mining_power", [(Cash, Out)], mining_power_usd),
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

/// Replay path `path` of the engine's scenario (its seed) under policy `p`.
pub fn replay(engine: &Engine, p: usize, path: u64) -> Ledger {
    let sc = &engine.scenario;
    let model = &engine.model;
    let months = model.months();
    let seed = sc.simulation.seed;
    let inputs = engine.path_inputs(path);
    let (market, table) = (&inputs.market, &inputs.table);
    let mut rows: Vec<LedgerRow> = Vec::with_capacity(months);
    let mut carry: Option<[Decimal; 5]> = None;
    let outcome = engine.replay_inputs(&inputs, p, |r| {
        let t = r.t;
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
    Ledger {
        scenario: sc.name.clone(),
        policy: sc.policies[p].name.clone(),
        path,
        seed,
        rows,
        outcome,
    }
}

/// A cell with `dp` decimals always shown.
fn fixed(x: Decimal, dp: u32) -> String {
    let mut x = x;
    x.rescale(dp);
    x.to_string()
}

fn flag(b: bool) -> &'static str {
    if b { "1" } else { "0" }
}

impl Ledger {
    /// The CSV header, in column order.
    pub fn header() -> Vec<String> {
        let mut h: Vec<String> = [
            "month",
            "date",
            "btc_price_usd",
            "hashrate_ehs",
            "hashprice_usd_per_ph_day",
            "fees_btc_per_block",
            "gpu_hour_usd",
            "ai_demand_mw_it",
        ]
        .map(String::from)
        .to_vec();
        h.extend(Balance::ALL.map(|b| format!("{}_open", b.name())));
        for spec in FLOWS {
            for &(b, d) in spec.legs {
                let dir = if d == In { "in" } else { "out" };
                h.push(format!("{}__{dir}__{}", b.name(), spec.what));
            }
            match spec.what {
                "mined" => h.push("mining_revenue_usd".into()),
                "capex_equity" => h.push("capex_usd".into()),
                "liquidation_sale" => {
                    h.push("liquidation_sale_usd".into());
                    h.push("liquidation_penalty_usd".into());
                }
                _ => {}
            }
        }
        h.extend(Balance::ALL.map(|b| format!("{}_close", b.name())));
        h.extend(
            [
                "ltv",
                "reserve_usd",
                "net_reserve_usd",
                "margin_call",
                "liquidation",
                "distress_month",
                "sites_mining",
                "sites_curtailed",
                "sites_converting",
                "sites_ai",
                "sites_started_converting",
            ]
            .map(String::from),
        );
        h
    }

    fn cells(row: &LedgerRow) -> Vec<String> {
        let mut c = vec![
            row.t.to_string(),
            row.date.clone(),
            fixed(row.price(), USD_DP),
            format!("{:.3}", row.hashrate_ehs),
            format!("{:.4}", row.hashprice_usd_per_ph_day),
            format!("{:.8}", row.fees_btc_per_block),
            format!("{:.4}", row.gpu_hour_usd),
            format!("{:.3}", row.ai_demand_mw_it),
        ];
        c.extend(Balance::ALL.map(|b| fixed(row.open[b.index()], b.dp())));
        for (spec, v) in FLOWS.iter().zip(&row.flows) {
            for &(b, _) in spec.legs {
                c.push(fixed(*v, b.dp()));
            }
            match spec.what {
                "mined" => c.push(fixed(row.mining_revenue_usd, USD_DP)),
                "capex_equity" => c.push(fixed(row.capex_usd, USD_DP)),
                "liquidation_sale" => {
                    c.push(fixed(row.liquidation_sale_usd, USD_DP));
                    c.push(fixed(row.liquidation_penalty_usd, USD_DP));
                }
                _ => {}
            }
        }
        c.extend(Balance::ALL.map(|b| fixed(row.close[b.index()], b.dp())));
        c.push(row.ltv().map_or_else(|| "inf".into(), |l| fixed(l, 6)));
        c.push(fixed(row.reserve_usd(), USD_DP));
        c.push(fixed(row.net_reserve_usd(), USD_DP));
        c.push(flag(row.margin_call).into());
        c.push(flag(row.liquidation).into());
        c.push(flag(row.distress_month).into());
        c.push(row.sites_mining.to_string());
        c.push(row.sites_curtailed.to_string());
        c.push(row.sites_converting.to_string());
        c.push(row.sites_ai.to_string());
        c.push(row.started.join(";"));
        c
    }

    /// The ledger as CSV: a header, then one row per month.
    pub fn csv(&self) -> Vec<u8> {
        let mut w = csv::Writer::from_writer(Vec::new());
        // Writing to a Vec cannot fail.
        let _ = w.write_record(Self::header());
        for row in &self.rows {
            let _ = w.write_record(Self::cells(row));
        }
        w.into_inner().unwrap_or_default()
    }

    /// One line on the path's totals.
    pub fn totals_line(&self) -> String {
        let o = &self.outcome;
        let month = |m: Option<usize>| {
            m.map_or_else(
                || "none".to_owned(),
                |m| format!("month {m} ({})", self.rows[m].date),
            )
        };
        format!(
            "{} path {} (seed {}), policy {}: NPV {}, terminal net reserve {}, first margin call {}, first distress {}{}",
            self.scenario,
            self.path,
            self.seed,
            self.policy,
            format::usd_m(o.npv_usd),
            format::usd_m(o.terminal_net_reserve_usd),
            month(o.first_margin_call_month),
            month(o.first_distress_month),
            if o.liquidation { ", liquidated" } else { "" }
        )
    }

    /// A readable Markdown table: per month, the balances with their total
    /// ins and outs, and a note of every treasury event of the month. USD is
    /// rounded to the dollar here; the CSV has every flow to the cent.
    pub fn markdown(&self) -> String {
        let usd = |x: Decimal| format::thousands(x.to_f64().unwrap_or(f64::NAN), 0);
        let btc = |x: Decimal| format::thousands(x.to_f64().unwrap_or(f64::NAN), 2);
        let mut out = String::new();
        let _ = writeln!(out, "{}\n", self.totals_line());
        let _ = writeln!(
            out,
            "| month | date | BTC price | cash open | cash in | cash out | cash close | BTC open | BTC in | BTC out | BTC close | loan close | LTV | project debt | distress | net reserve | sites M/I/C/AI | notes |"
        );
        let _ = writeln!(out, "|{}", "---:|".repeat(18));
        for row in &self.rows {
            let ltv = row.ltv().map_or_else(
                || "inf".into(),
                |l| format!("{:.3}", l.to_f64().unwrap_or(0.0)),
            );
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {}/{}/{}/{} | {} |",
                row.t,
                row.date,
                usd(row.price()),
                usd(row.open[Cash.index()]),
                usd(row.total(Cash, In)),
                usd(row.total(Cash, Out)),
                usd(row.close[Cash.index()]),
                btc(row.open[Reserve.index()]),
                btc(row.total(Reserve, In)),
                btc(row.total(Reserve, Out)),
                btc(row.close[Reserve.index()]),
                usd(row.close[Loan.index()]),
                ltv,
                usd(row.close[ProjectDebt.index()]),
                usd(row.close[Distress.index()]),
                usd(row.net_reserve_usd()),
                row.sites_mining,
                row.sites_curtailed,
                row.sites_converting,
                row.sites_ai,
                Self::notes(row, &usd, &btc),
            );
        }
        let _ = writeln!(
            out,
            "\nSites: M mining, I idle (curtailed), C converting, AI live. USD rounded to the dollar; the CSV (`--format csv`) has every flow in its own column, to the cent and the satoshi."
        );
        out
    }

    fn notes(
        row: &LedgerRow,
        usd: &dyn Fn(Decimal) -> String,
        btc: &dyn Fn(Decimal) -> String,
    ) -> String {
        let mut notes: Vec<String> = Vec::new();
        let sale = row.flow("event_sale", Reserve);
        if !sale.is_zero() {
            notes.push(format!(
                "event sale {} BTC: {} to the loan, {} to cash",
                btc(sale),
                usd(row.flow("event_sale", Loan)),
                usd(row.flow("event_sale", Cash))
            ));
        }
        let mut note = |what: &str, b: Balance, label: &str, is_btc: bool| {
            let v = row.flow(what, b);
            if !v.is_zero() {
                let v = if is_btc { btc(v) + " BTC" } else { usd(v) };
                notes.push(format!("{label} {v}"));
            }
        };
        note("btc_purchase", Reserve, "bought", true);
        note("loan_repayment", Loan, "loan repaid", false);
        note("loan_draw", Loan, "loan drawn", false);
        note("equity_raise", Cash, "equity raised", false);
        note("funding_sale", Reserve, "funding sale", true);
        note("distress_borrowing", Distress, "distress borrowed", false);
        note("target_ltv_sale", Reserve, "LTV rule sale", true);
        note(
            "margin_call_repayment",
            Loan,
            "margin call: cash to loan",
            false,
        );
        note("margin_call_sale", Reserve, "margin call sale", true);
        note("liquidation_sale", Reserve, "LIQUIDATION sale", true);
        note("maturity_repayment", Loan, "maturity: cash to loan", false);
        note("maturity_sale", Reserve, "maturity sale", true);
        note(
            "maturity_to_distress",
            Distress,
            "maturity to distress",
            false,
        );
        note("distress_repayment", Distress, "distress repaid", false);
        if row.margin_call && !notes.iter().any(|n| n.starts_with("margin call")) {
            notes.push("margin call".into());
        }
        if !row.started.is_empty() {
            notes.push(format!("started {}", row.started.join(", ")));
        }
        notes.join("; ")
    }
}
