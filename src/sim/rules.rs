//! The treasury, loan, financing and valuation parameters of a scenario,
//! flattened into the monthly rates and shares the monthly step uses.

use crate::model::finance::annuity_factor;
use crate::scenario::{CapexFunding, Scenario, SellToTargetLtv};

/// Treasury, loan, financing and valuation parameters, flattened.
#[derive(Debug, Clone)]
pub(crate) struct Rules {
    pub reserve_btc: f64,
    pub cash_usd: f64,
    pub sell_mined_fraction: f64,
    pub min_cash_usd: f64,
    pub reserve_floor_btc: f64,
    pub distress_buffer_usd: f64,
    pub loan_usd: f64,
    pub loan_rate_monthly: f64,
    pub initial_ltv: f64,
    pub margin_call_ltv: f64,
    pub liquidation_ltv: f64,
    pub liquidation_penalty: f64,
    pub maturity_month: Option<usize>,
    pub equity_share: f64,
    pub debt_share: f64,
    pub debt_rate_monthly: f64,
    pub debt_term_months: usize,
    /// Project-debt payment per USD borrowed: the annuity factor at
    /// `debt_rate_monthly` over `debt_term_months`.
    pub debt_payment_per_usd: f64,
    pub strict_funding: bool,
    pub distress_rate_monthly: f64,
    pub terminal_multiple_mining: f64,
    pub terminal_multiple_ai: f64,
    pub sell_to_target_ltv: Option<SellToTargetLtv>,
}

impl Rules {
    pub fn new(scenario: &Scenario) -> Rules {
        let t = &scenario.treasury;
        let l = &scenario.loan;
        let f = &scenario.financing;
        let v = &scenario.valuation;
        let debt_term_months = (f.capex_debt_term_years * 12.0).round().max(1.0) as usize;
        let debt_rate_monthly = f.capex_debt_rate / 12.0;
        Rules {
            reserve_btc: t.reserve_btc,
            cash_usd: t.cash_usd,
            sell_mined_fraction: t.sell_mined_fraction,
            min_cash_usd: t.min_cash_usd,
            reserve_floor_btc: t.reserve_floor_btc,
            distress_buffer_usd: t.distress_buffer_usd,
            loan_usd: l.principal_usd,
            loan_rate_monthly: l.rate / 12.0,
            initial_ltv: l.initial_ltv,
            margin_call_ltv: l.margin_call_ltv,
            liquidation_ltv: l.liquidation_ltv,
            liquidation_penalty: l.liquidation_penalty,
            maturity_month: l.maturity_month,
            equity_share: 1.0 - f.capex_debt_share,
            debt_share: f.capex_debt_share,
            debt_rate_monthly,
            debt_term_months,
            debt_payment_per_usd: annuity_factor(debt_rate_monthly, debt_term_months as f64),
            strict_funding: f.capex_funding == CapexFunding::Strict,
            distress_rate_monthly: f.distress_rate / 12.0,
            terminal_multiple_mining: v.terminal_multiple_mining,
            terminal_multiple_ai: v.terminal_multiple_ai,
            sell_to_target_ltv: t.sell_to_target_ltv,
        }
    }

    /// Cash above the floor, `max(cash - min_cash, 0)`: what a step may pay
    /// out of cash.
    #[inline(always)]
    pub fn spendable_cash_usd(&self, cash_usd: f64) -> f64 {
        (cash_usd - self.min_cash_usd).max(0.0)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Round numbers: a 10% monthly loan rate on a 50% initial LTV, margin
    /// call at 70%, liquidation at 85% with a 5% penalty, cash floor 10.
    pub(crate) fn rules() -> Rules {
        Rules {
            reserve_btc: 100.0,
            cash_usd: 50.0,
            sell_mined_fraction: 0.5,
            min_cash_usd: 10.0,
            reserve_floor_btc: 0.0,
            distress_buffer_usd: 5.0,
            loan_usd: 0.0,
            loan_rate_monthly: 0.1,
            initial_ltv: 0.5,
            margin_call_ltv: 0.7,
            liquidation_ltv: 0.85,
            liquidation_penalty: 0.05,
            maturity_month: Some(12),
            equity_share: 0.25,
            debt_share: 0.75,
            debt_rate_monthly: 0.01,
            debt_term_months: 12,
            debt_payment_per_usd: 0.1,
            strict_funding: true,
            distress_rate_monthly: 0.02,
            terminal_multiple_mining: 0.0,
            terminal_multiple_ai: 0.0,
            sell_to_target_ltv: None,
        }
    }
}
