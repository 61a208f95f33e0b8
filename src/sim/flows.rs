//! What a month and a replay produce: every flow of a month
//! ([`MonthFlows`]), what an observer sees at the end of each month
//! ([`MonthRecord`]), the MW in each state ([`MwByState`]) and the result of
//! one policy on one path ([`PolicyOutcome`]).

use crate::model::state::{SiteState, TreasuryState};

/// Every flow of one month, each non-negative, in the order of the steps.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MonthFlows {
    // Step 0: events.
    pub event_sale_btc: f64,
    pub event_sale_usd: f64,
    pub event_loan_repayment_usd: f64,
    pub event_cash_in_usd: f64,
    /// `buy_btc`: BTC bought and the cash paid.
    pub event_buy_btc: f64,
    pub event_buy_usd: f64,
    /// `repay_loan`: loan repaid from cash.
    pub event_repay_loan_usd: f64,
    /// `draw_loan`: new loan principal, paid into cash.
    pub event_loan_drawn_usd: f64,
    /// `raise_equity`: cash in.
    pub event_equity_usd: f64,
    // Step 2: mining.
    pub btc_mined: f64,
    pub mined_sold_btc: f64,
    pub mined_sold_usd: f64,
    pub mining_revenue_usd: f64,
    // Step 3: cash flows.
    pub ai_revenue_usd: f64,
    pub mining_power_usd: f64,
    /// Of `mining_power_usd`, the take-or-pay power of the idle sites.
    pub mining_idle_power_usd: f64,
    pub mining_opex_usd: f64,
    pub ai_power_usd: f64,
    pub ai_opex_usd: f64,
    /// Utilisation of the live AI sites (demand over live IT MW, capped at
    /// `u_max`); 0 when none is live (`ai_live`).
    pub ai_utilisation: f64,
    pub capex_usd: f64,
    pub capex_equity_usd: f64,
    pub capex_debt_usd: f64,
    pub project_debt_interest_usd: f64,
    pub project_debt_principal_usd: f64,
    pub loan_interest_usd: f64,
    pub distress_interest_usd: f64,
    // Step 4: funding.
    pub funding_sale_btc: f64,
    pub funding_sale_usd: f64,
    pub distress_borrowed_usd: f64,
    // Step 4b: the standing rule `sell_to_target_ltv` (BTC sold, loan repaid).
    pub target_ltv_sale_btc: f64,
    pub target_ltv_sale_usd: f64,
    // Step 5: covenant.
    pub margin_call_cash_usd: f64,
    pub margin_call_sale_btc: f64,
    pub margin_call_sale_usd: f64,
    pub liquidation_sale_btc: f64,
    pub liquidation_sale_usd: f64,
    /// Loan principal closed by the liquidation.
    pub liquidation_loan_closed_usd: f64,
    pub liquidation_penalty_usd: f64,
    pub liquidation_deficiency_cash_usd: f64,
    pub liquidation_deficiency_distress_usd: f64,
    // Step 6: maturity.
    pub maturity_cash_usd: f64,
    pub maturity_sale_btc: f64,
    pub maturity_sale_usd: f64,
    pub maturity_distress_usd: f64,
    // Step 7: repair.
    pub distress_repaid_usd: f64,
    // Flags.
    pub margin_call: bool,
    pub liquidation: bool,
    /// New distress debt this month (any step).
    pub distress_month: bool,
    /// An AI site was live this month.
    pub ai_live: bool,
}

/// What the observer of a replay sees at the end of each month.
pub struct MonthRecord<'a> {
    pub t: usize,
    pub open: &'a TreasuryState,
    /// The treasury the policy saw in step 1 (after step 0's events).
    pub seen: &'a TreasuryState,
    pub close: &'a TreasuryState,
    pub flows: &'a MonthFlows,
    /// Sites that started converting this month, in acceptance order.
    pub started: &'a [usize],
    pub sites: &'a [SiteState],
    pub mw: MwByState,
}

/// Grid MW in each state during a month.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MwByState {
    /// Mining sites, running or idle.
    pub mining: f64,
    /// Of which idle (curtailed).
    pub idle: f64,
    pub converting: f64,
    pub ai: f64,
}

/// The result of one policy on one path.
#[derive(Debug, Clone, Default)]
pub struct PolicyOutcome {
    /// Per month, end of month.
    pub revenue_usd: Vec<f64>,
    pub mining_revenue_usd: Vec<f64>,
    pub ai_revenue_usd: Vec<f64>,
    pub btc_mined: Vec<f64>,
    pub reserve_btc: Vec<f64>,
    pub reserve_usd: Vec<f64>,
    pub net_reserve_usd: Vec<f64>,
    pub mw: Vec<MwByState>,
    pub total_revenue_usd: f64,
    pub npv_usd: f64,
    pub terminal_net_reserve_usd: f64,
    /// Largest fall of reserve_usd from its running peak, share of the peak.
    pub max_drawdown: f64,
    /// Largest fall of net_reserve_usd from its running peak, USD.
    pub max_drawdown_net_usd: f64,
    pub min_reserve_btc: f64,
    pub conversions_started: u32,
    pub margin_call: bool,
    pub liquidation: bool,
    /// 0-based month of the first distress month.
    pub first_distress_month: Option<usize>,
    /// 0-based month of the first margin call or liquidation.
    pub first_margin_call_month: Option<usize>,
    /// Mean utilisation of the live AI sites over the months with one live;
    /// 0 if there were none.
    pub ai_utilisation_mean: f64,
}

impl PolicyOutcome {
    /// Sizes the monthly series for a replay of `months` months. A replay
    /// writes every month of every series, so they are not cleared.
    pub(crate) fn reset(&mut self, months: usize) {
        for v in [
            &mut self.revenue_usd,
            &mut self.mining_revenue_usd,
            &mut self.ai_revenue_usd,
            &mut self.btc_mined,
            &mut self.reserve_btc,
            &mut self.reserve_usd,
            &mut self.net_reserve_usd,
        ] {
            v.resize(months, 0.0);
        }
        self.mw.resize(months, MwByState::default());
    }
}

impl PolicyOutcome {
    /// Months `..months` of every monthly series from `other` (the rest and
    /// the path's figures are left as they are).
    pub(crate) fn copy_first_months(&mut self, other: &PolicyOutcome, months: usize) {
        let series = [
            (&mut self.revenue_usd, &other.revenue_usd),
            (&mut self.mining_revenue_usd, &other.mining_revenue_usd),
            (&mut self.ai_revenue_usd, &other.ai_revenue_usd),
            (&mut self.btc_mined, &other.btc_mined),
            (&mut self.reserve_btc, &other.reserve_btc),
            (&mut self.reserve_usd, &other.reserve_usd),
            (&mut self.net_reserve_usd, &other.net_reserve_usd),
        ];
        for (to, from) in series {
            to[..months].copy_from_slice(&from[..months]);
        }
        self.mw[..months].copy_from_slice(&other.mw[..months]);
    }
}
