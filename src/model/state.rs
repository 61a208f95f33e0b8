//! The state a policy sees and the treasury carries from month to month: each
//! site's state and the treasury's balances, with the treasury's derived
//! figures (collateral, free BTC, LTV, net reserve).

/// A site's state at the start of a month. Conversions never go back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SiteState {
    Mining,
    /// Converting since month `start`; live as AI from `start + lead`.
    Converting {
        start: u32,
    },
    Ai,
}

/// Balances of the treasury.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TreasuryState {
    pub reserve_btc: f64,
    pub cash_usd: f64,
    /// BTC-backed loan.
    pub loan_usd: f64,
    /// Capex financing (sum of the annuities' balances).
    pub project_debt_usd: f64,
    /// Emergency debt.
    pub distress_usd: f64,
}

impl TreasuryState {
    /// BTC pledged for the loan at price `s`: `loan / (s * initial_ltv)`.
    pub fn collateral_btc(&self, s: f64, initial_ltv: f64) -> f64 {
        if self.loan_usd > 0.0 {
            self.loan_usd / (s * initial_ltv)
        } else {
            0.0
        }
    }

    /// BTC above the collateral.
    pub fn free_btc(&self, s: f64, initial_ltv: f64) -> f64 {
        (self.reserve_btc - self.collateral_btc(s, initial_ltv)).max(0.0)
    }

    /// `loan / (reserve * s)`: 0 without a loan, infinite with a loan and no BTC.
    pub fn ltv(&self, s: f64) -> f64 {
        if self.loan_usd <= 0.0 {
            0.0
        } else if self.reserve_btc <= 0.0 {
            f64::INFINITY
        } else {
            self.loan_usd / (self.reserve_btc * s)
        }
    }

    /// Sell BTC at `s`, the proceeds repaying the loan, until `ltv = target_ltv`
    /// exactly: `x` with `loan - x s = target_ltv (reserve - x) s`, at most the
    /// reserve. Returns the BTC sold and the USD repaid.
    pub fn sell_to_ltv(&mut self, s: f64, target_ltv: f64) -> (f64, f64) {
        let excess_usd = self.loan_usd - target_ltv * self.reserve_btc * s;
        let btc = (excess_usd / (s * (1.0 - target_ltv))).min(self.reserve_btc);
        self.reserve_btc -= btc;
        self.loan_usd -= btc * s;
        (btc, btc * s)
    }

    /// `reserve * s + cash - loan - project debt - distress`.
    pub fn net_reserve_usd(&self, s: f64) -> f64 {
        self.reserve_btc * s + self.cash_usd
            - self.loan_usd
            - self.project_debt_usd
            - self.distress_usd
    }
}
