//! The validated scenario: domain types only, no parsing.
//!
//! Everything here has passed validation (`scenario::load`): numbers are finite
//! and in range, dates are resolved, the fleet is non-empty, every site knows
//! its effective parameters (region values with per-site overrides applied),
//! and the correlation matrix has a Cholesky factor. The simulation reads these
//! structs and never re-checks them.
//!
//! Money is `f64` here: the simulation runs in f64. A value the user wrote
//! as an exact decimal string (`"305000000.00"`) is parsed as a Decimal and
//! converted once; the replay ledger rounds every flow to the cent (USD) or
//! the satoshi (BTC) when it writes a row.

use chrono::NaiveDate;

/// A validated scenario, ready to simulate.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Scenario name (the `name` key, or the file stem); names the output folder.
    pub name: String,
    /// Free-text description from the file.
    pub description: String,
    /// SHA-256 of the scenario file's bytes, hex (the fleet CSV's bytes are hashed in too).
    pub sha256: String,
    pub simulation: Simulation,
    pub market: Market,
    pub mining: Mining,
    pub ai: Ai,
    /// Sites in fleet order (the order of the CSV or of `[[sites]]`).
    pub sites: Vec<Site>,
    /// Names of the regions, in the order they were declared.
    pub regions: Vec<Region>,
    pub treasury: Treasury,
    pub loan: Loan,
    pub financing: Financing,
    pub valuation: Valuation,
    /// Scheduled treasury events, sorted by date (stable for equal dates).
    pub events: Vec<Event>,
    /// At least one policy; `policies[baseline]` is the baseline of paired comparisons.
    pub policies: Vec<PolicySpec>,
    /// Index into `policies` of the baseline: the policy named `hold`, else the first.
    pub baseline: usize,
}

#[derive(Debug, Clone)]
pub struct Simulation {
    /// Number of Monte Carlo paths (>= 1).
    pub paths: u64,
    /// Master seed; every path's random streams derive from it and the path index.
    pub seed: u64,
    /// Number of months simulated, T (>= 1).
    pub months: usize,
    /// First day of month 0 (always the 1st of a month).
    pub start: NaiveDate,
}

#[derive(Debug, Clone)]
pub struct Market {
    pub btc: BtcPrice,
    pub hashrate: Hashrate,
    pub fees: Fees,
    /// Block subsidy (BTC) before the first halving listed in `halvings`.
    pub subsidy_btc: f64,
    /// Halving dates, ascending. A block mined on the date already gets the halved subsidy.
    pub halvings: Vec<NaiveDate>,
    pub gpu_price: GpuPrice,
    pub ai_demand: AiDemand,
    /// Correlation of the market's factor shocks, n x n by rows, in the
    /// order of the model's factor list (btc price Z, hashrate W, gpu price
    /// U, ai demand V; the file gives these four).
    pub correlation: Vec<Vec<f64>>,
    /// Lower-triangular Cholesky factor of `correlation` (validated SPD), n x n.
    pub cholesky: Vec<Vec<f64>>,
}

#[derive(Debug, Clone)]
pub struct BtcPrice {
    /// S0, USD.
    pub s0_usd: f64,
    /// Drift mu (annual) outside regimes.
    pub mu: f64,
    /// Volatility sigma (annual) outside regimes.
    pub sigma: f64,
    /// Jump intensity lambda (jumps per year); 0 turns jumps off.
    pub jump_lambda_per_year: f64,
    /// Mean of the log jump size, mj.
    pub jump_mean: f64,
    /// Standard deviation of the log jump size, sj (>= 0).
    pub jump_sd: f64,
    /// Optional Markov regimes; empty = off (use `mu`, `sigma`).
    pub regimes: Vec<Regime>,
}

#[derive(Debug, Clone)]
pub struct Regime {
    pub name: String,
    pub mu: f64,
    pub sigma: f64,
    /// Mean time spent in the regime before leaving (years, > 0).
    pub mean_duration_years: f64,
}

#[derive(Debug, Clone)]
pub struct Hashrate {
    /// H0, EH/s.
    pub h0_ehs: f64,
    /// Break-even hashprice at t = 0, USD per EH/s per day.
    pub breakeven_usd_per_eh_day: f64,
    /// Yearly efficiency gain g_eff (the break-even falls by exp(-g_eff t)).
    pub efficiency_gain_per_year: f64,
    /// kappa_up: speed of entry (per year) when the gap is positive.
    pub kappa_up_per_year: f64,
    /// kappa_down: speed of exit (per year) when the gap is not positive.
    pub kappa_down_per_year: f64,
    /// L, months of lag before new machines arrive.
    pub lag_months: usize,
    /// sigma_h, annual volatility of the hashrate noise.
    pub sigma: f64,
    /// M, a machine's economic life in months: H_eq prices the mean subsidy
    /// of months t .. t+M-1, so miners see the halvings coming (1: revision 4).
    pub machine_life_months: usize,
    /// Whether machines below the marginal cash cost switch off (the exit
    /// branch of the hashrate equation; false: revision 4).
    pub capitulation: bool,
    /// c_cash, in (0, 1]: the marginal running machine's cash cost as a
    /// share of a new machine's all-in break-even.
    pub cash_cost_share: f64,
    /// kappa_exit: how fast (per year) machines below their cash cost switch off.
    pub kappa_exit_per_year: f64,
}

#[derive(Debug, Clone)]
pub struct Fees {
    /// Mean fees per block, BTC.
    pub mean_btc: f64,
    /// Log-normal dispersion of the monthly fee level.
    pub sigma: f64,
}

#[derive(Debug, Clone)]
pub struct GpuPrice {
    /// p0, USD per GPU-hour.
    pub p0_usd_per_gpu_hour: f64,
    /// d_p, yearly decline (a drift of -d_p).
    pub decline_per_year: f64,
    /// sigma_p.
    pub sigma: f64,
}

#[derive(Debug, Clone)]
pub struct AiDemand {
    /// D0, MW of IT load the company can sell at month 0.
    pub d0_mw_it: f64,
    /// g_d, yearly growth.
    pub growth_per_year: f64,
    /// sigma_d.
    pub sigma: f64,
}

#[derive(Debug, Clone)]
pub struct Mining {
    /// Mining opex, USD per MW of grid power per month (staff, maintenance; not power).
    pub opex_usd_per_mw_month: f64,
    /// Share of opex an idle (curtailed) site still pays, in [0, 1].
    pub curtailed_opex_share: f64,
    /// Economic curtailment on (default) or off (sites always run).
    pub curtailment: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AiMode {
    /// The company sells GPU-hours: buys the GPUs, pays the power.
    GpuCloud,
    /// The company leases powered shells; the tenant brings GPUs and pays power.
    Colocation,
}

impl AiMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AiMode::GpuCloud => "gpu_cloud",
            AiMode::Colocation => "colocation",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Ai {
    pub mode: AiMode,
    /// Power usage effectiveness: grid MW per MW of IT load (>= 1).
    pub pue: f64,
    /// Maximum utilization of AI capacity, in (0, 1].
    pub u_max: f64,
    pub gpus_per_mw_it: f64,
    /// GPU capex, USD per GPU (counts only in gpu_cloud).
    pub gpu_capex_usd: f64,
    pub gpu_life_years: f64,
    pub facility_life_years: f64,
    /// Default facility capex, USD per MW of IT (regions and sites may override).
    pub facility_capex_usd_per_mw_it: f64,
    /// AI opex, USD per MW of IT per month, paid whatever the utilization.
    pub opex_usd_per_mw_it_month: f64,
    /// Colocation lease, USD per MW of IT per year.
    pub lease_usd_per_mw_it_year: f64,
}

#[derive(Debug, Clone)]
pub struct Region {
    pub name: String,
    pub power_usd_per_mwh: f64,
    pub uptime: f64,
    /// Conversion lead time, months; None = sites of this region need their own.
    pub lead_months: Option<usize>,
    /// Facility capex override, USD per MW-IT; None = the AI default.
    pub facility_capex_usd_per_mw_it: Option<f64>,
    /// Share of the power an idle mining site still pays, in [0, 1].
    pub take_or_pay_share: f64,
}

/// A site with every parameter resolved (region value unless the site overrides it).
#[derive(Debug, Clone)]
pub struct Site {
    pub id: String,
    /// Index into `Scenario::regions`.
    pub region: usize,
    /// Grid capacity, MW (> 0).
    pub power_mw: f64,
    /// Mining efficiency, J/TH (> 0).
    pub j_per_th: f64,
    pub convertible: bool,
    pub power_usd_per_mwh: f64,
    /// Share of hours the machines run, in (0, 1].
    pub uptime: f64,
    /// Conversion lead time, months (>= 1); Some for every convertible site.
    pub lead_months: Option<usize>,
    pub facility_capex_usd_per_mw_it: f64,
    /// Share of the power it would draw running that the site pays when
    /// idle (hosting with a minimum take), in [0, 1].
    pub take_or_pay_share: f64,
}

impl Site {
    /// Site hashrate, EH/s: `power_mw / j_per_th` (1 MW at 20 J/TH = 0.05 EH/s).
    pub fn hashrate_ehs(&self) -> f64 {
        self.power_mw / self.j_per_th
    }
}

#[derive(Debug, Clone)]
pub struct Treasury {
    /// BTC held at the start.
    pub reserve_btc: f64,
    pub cash_usd: f64,
    /// Share of newly mined BTC sold at once, in [0, 1].
    pub sell_mined_fraction: f64,
    pub min_cash_usd: f64,
    /// BTC that the fundability rule will not count as spendable.
    pub reserve_floor_btc: f64,
    /// Cash kept above `min_cash_usd` before distress debt is repaid.
    pub distress_buffer_usd: f64,
    /// Standing rule: sell BTC to repay the loan when LTV rises above a level.
    pub sell_to_target_ltv: Option<SellToTargetLtv>,
}

/// `[treasury] sell_to_target_ltv`: after funding (step 4) and before the
/// covenant (step 5), if `ltv > trigger_ltv`, sell BTC at `S[t]` and repay
/// the loan until `ltv = target_ltv` (or the reserve is gone).
/// Validated: `0 < target_ltv < trigger_ltv < loan.margin_call_ltv`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SellToTargetLtv {
    pub trigger_ltv: f64,
    pub target_ltv: f64,
}

#[derive(Debug, Clone)]
pub struct Loan {
    /// BTC-backed loan principal at the start, USD (0 = no loan).
    pub principal_usd: f64,
    pub rate: f64,
    pub initial_ltv: f64,
    pub margin_call_ltv: f64,
    pub liquidation_ltv: f64,
    pub liquidation_penalty: f64,
    /// Month index of maturity, if the maturity date falls in the horizon.
    pub maturity_month: Option<usize>,
    /// The maturity date as written, if any.
    pub maturity: Option<NaiveDate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapexFunding {
    /// A conversion starts only if its equity share is fundable now (docs/model.md section 3, step 1).
    Strict,
    /// Every request is accepted.
    Borrow,
}

#[derive(Debug, Clone)]
pub struct Financing {
    /// Share of each capex installment financed as project debt, in [0, 1].
    pub capex_debt_share: f64,
    pub capex_debt_rate: f64,
    pub capex_debt_term_years: f64,
    pub capex_funding: CapexFunding,
    /// Interest rate on distress debt.
    pub distress_rate: f64,
}

#[derive(Debug, Clone)]
pub struct Valuation {
    pub discount_rate: f64,
    pub terminal_multiple_mining: f64,
    pub terminal_multiple_ai: f64,
}

#[derive(Debug, Clone)]
pub struct Event {
    pub date: NaiveDate,
    /// Month index the event runs in (step 0); None if after the horizon.
    pub month: Option<usize>,
    pub kind: EventKind,
}

#[derive(Debug, Clone)]
pub enum EventKind {
    /// Sell `min(btc, reserve)` at `price_usd` (or the month's BTC price);
    /// the proceeds repay the loan if `repay_loan`, the rest goes to cash.
    SellBtc {
        btc: f64,
        repay_loan: bool,
        price_usd: Option<f64>,
    },
    /// Spend `min(usd, max(0, cash - min_cash))` on BTC at `price_usd` (or
    /// the month's BTC price).
    BuyBtc { usd: f64, price_usd: Option<f64> },
    /// Repay `min(usd, loan, max(0, cash - min_cash))` of the loan from cash.
    RepayLoan { usd: f64 },
    /// Borrow against the reserve up to `ltv`: the loan rises by
    /// `max(0, ltv * reserve * S[t] - loan)`, at most `max_usd`; cash in.
    /// Same terms as the loan (rate, covenants).
    DrawLoan { ltv: f64, max_usd: Option<f64> },
    /// Cash in from new equity.
    RaiseEquity { usd: f64 },
    /// From its month on, the capex of the conversions accepted in each
    /// 12-month period counted from that month is at most `usd_per_year`
    /// (an extra condition of the fundability rule, step 1). A later
    /// budget replaces an earlier one from its month.
    CapexBudget { usd_per_year: f64 },
}

impl EventKind {
    /// The `kind` of the event as written in the file.
    pub fn as_str(&self) -> &'static str {
        match self {
            EventKind::SellBtc { .. } => "sell_btc",
            EventKind::BuyBtc { .. } => "buy_btc",
            EventKind::RepayLoan { .. } => "repay_loan",
            EventKind::DrawLoan { .. } => "draw_loan",
            EventKind::RaiseEquity { .. } => "raise_equity",
            EventKind::CapexBudget { .. } => "capex_budget",
        }
    }
}

#[derive(Debug, Clone)]
pub struct PolicySpec {
    /// Unique name within the scenario.
    pub name: String,
    pub kind: PolicyKind,
}

#[derive(Debug, Clone)]
pub enum PolicyKind {
    Hold,
    FullPivot,
    Staged {
        sites_per_quarter: usize,
        max_sites: usize,
    },
    Threshold {
        hurdle: f64,
        window_months: usize,
        max_concurrent: usize,
    },
}

impl PolicyKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            PolicyKind::Hold => "hold",
            PolicyKind::FullPivot => "full_pivot",
            PolicyKind::Staged { .. } => "staged",
            PolicyKind::Threshold { .. } => "threshold",
        }
    }
}
