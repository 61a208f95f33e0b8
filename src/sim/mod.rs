//! One policy replayed on one market path: the monthly step, written once.
//!
//! [`Model`] holds everything that is the same for every path (calendar,
//! fleet, treasury rules, events, policies). [`Model::replay`] runs the T
//! months of one policy on one sampled market, in the order of MODEL.md
//! section 3 (events, policy, mining, cash flows, funding, covenant,
//! maturity, repair), and fills a [`PolicyOutcome`]. Every flow of a month is
//! recorded in a [`MonthFlows`], which the replay ledger prints and the
//! invariant tests check; the hot loop passes a no-op observer, so recording
//! costs nothing there.

use crate::model::calendar::Calendar;
use crate::model::finance::annuity_factor;
use crate::model::fleet::Fleet;
use crate::model::market::MarketPath;
use crate::model::mining::{FleetMining, MiningTable};
use crate::policy::{self, Policy, PolicyMemory, PolicyView};
use crate::scenario::{CapexFunding, EventKind, Scenario, SellToTargetLtv};

pub use crate::model::state::{SiteState, TreasuryState};

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
    pub mining_opex_usd: f64,
    pub ai_power_usd: f64,
    pub ai_opex_usd: f64,
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
}

impl PolicyOutcome {
    /// Sizes the monthly series for a replay of `months` months. A replay
    /// writes every month of every series, so they are not cleared.
    fn reset(&mut self, months: usize) {
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

/// Where a replay starts ([`Model::replay_from`]).
pub enum Start<'a> {
    /// Month 0.
    Beginning,
    /// Month 0, keeping the replay's state at the start of every month in
    /// the vector (for the passive policy, whose replay every policy follows
    /// until its first conversion starts).
    Recording(&'a mut Vec<Carry>),
    /// Month `t0`, from the passive replay's state at the start of it. Only
    /// for a policy whose first conversion starts in month `t0` ([`Model::first_start`])
    /// and whose `decide` keeps no memory between months ([`crate::policy::Policy::memoryless`]):
    /// until then its replay is the passive one, month for month.
    Resume(usize, &'a Carry),
}

/// A replay's state at the start of a month, before any site has left
/// mining (see [`Start`]): the treasury and the running figures.
#[derive(Debug, Clone, Copy)]
pub struct Carry {
    treasury: TreasuryState,
    running: Running,
}

/// A replay's figures over the months so far: sums, peaks and flags.
#[derive(Debug, Clone, Copy)]
struct Running {
    npv: f64,
    total_revenue: f64,
    peak_usd: f64,
    max_dd: f64,
    peak_net: f64,
    max_dd_net: f64,
    min_reserve: f64,
    tail_mining_margin: f64,
    tail_ai_margin: f64,
    margin_call: bool,
    liquidation: bool,
    first_distress_month: Option<usize>,
    first_margin_call_month: Option<usize>,
}

impl Running {
    /// Before month 0.
    const START: Running = Running {
        npv: 0.0,
        total_revenue: 0.0,
        peak_usd: 0.0,
        max_dd: 0.0,
        peak_net: f64::NEG_INFINITY,
        max_dd_net: 0.0,
        min_reserve: f64::INFINITY,
        tail_mining_margin: 0.0,
        tail_ai_margin: 0.0,
        margin_call: false,
        liquidation: false,
        first_distress_month: None,
        first_margin_call_month: None,
    };
}

/// Scratch buffers of one replay, reused across paths by a worker.
#[derive(Debug, Default)]
pub struct Scratch {
    sites: Vec<SiteState>,
    memory: PolicyMemory,
    requests: Vec<usize>,
    started: Vec<usize>,
    /// Sites that have left mining (converting or AI), in the order they started.
    left: Vec<usize>,
    /// Of those, the sites still converting, in the same order, each with
    /// the month it goes live (its start plus its lead time).
    converting: Vec<(usize, usize)>,
    /// Sites still mining, in fleet order (the complement of `left`).
    mining: Vec<usize>,
    /// Convertible sites still mining, in fleet order.
    convertible_mining: Vec<usize>,
    /// Change of the project-debt payment at the start of month t.
    payment_delta: Vec<f64>,
}

impl Scratch {
    /// Every site mining and the policy's memory fresh: the start of a
    /// path, as [`Model::first_start`] tests it.
    fn passive_reset(&mut self, n_sites: usize) {
        self.sites.clear();
        self.sites.resize(n_sites, SiteState::Mining);
        self.memory.reset(n_sites);
    }
}

/// Takes `i` out of the ascending list `sites`, keeping the order.
fn remove_sorted(sites: &mut Vec<usize>, i: usize) {
    if let Ok(k) = sites.binary_search(&i) {
        sites.remove(k);
    }
}

/// Path-independent parts of the model, shared by every path and policy.
pub struct Model {
    pub calendar: Calendar,
    pub fleet: Fleet,
    pub policies: Vec<Box<dyn Policy>>,
    rules: Rules,
    /// Event indices per month.
    events_by_month: Vec<Vec<usize>>,
    events: Vec<EventKind>,
    /// Per month, the `capex_budget` in force: (period id, cap in USD). The
    /// period id changes every 12 months from the budget's month.
    capex_cap: Vec<Option<(usize, f64)>>,
    /// The least equity any convertible site's conversion needs (infinite
    /// if none is convertible): under strict funding, a month whose budget
    /// is below it accepts no request.
    min_conversion_equity_usd: f64,
    /// Ask a policy without memory in months whose step 1 can start
    /// nothing, instead of skipping it (the same outcome; on only in the
    /// test that checks it).
    pub(crate) ask_unfundable: bool,
}

/// Treasury, loan, financing and valuation parameters, flattened.
#[derive(Debug, Clone)]
struct Rules {
    reserve_btc: f64,
    cash_usd: f64,
    sell_mined_fraction: f64,
    min_cash_usd: f64,
    reserve_floor_btc: f64,
    distress_buffer_usd: f64,
    loan_usd: f64,
    loan_rate_monthly: f64,
    initial_ltv: f64,
    margin_call_ltv: f64,
    liquidation_ltv: f64,
    liquidation_penalty: f64,
    maturity_month: Option<usize>,
    equity_share: f64,
    debt_share: f64,
    debt_rate_monthly: f64,
    debt_term_months: usize,
    /// Project-debt payment per USD borrowed: the annuity factor at
    /// `debt_rate_monthly` over `debt_term_months`.
    debt_payment_per_usd: f64,
    strict_funding: bool,
    distress_rate_monthly: f64,
    terminal_multiple_mining: f64,
    terminal_multiple_ai: f64,
    sell_to_target_ltv: Option<SellToTargetLtv>,
}

impl Model {
    pub fn new(scenario: &Scenario) -> Model {
        let calendar = Calendar::new(scenario);
        let fleet = Fleet::new(scenario);
        let months = calendar.months();
        let mut events_by_month = vec![Vec::new(); months];
        for (k, e) in scenario.events.iter().enumerate() {
            if let Some(t) = e.month.filter(|&t| t < months) {
                events_by_month[t].push(k);
            }
        }
        let mut capex_cap = vec![None; months];
        for (k, e) in scenario.events.iter().enumerate() {
            if let (EventKind::CapexBudget { usd_per_year }, Some(m)) = (&e.kind, e.month) {
                // Events are sorted by date: a later budget overwrites from its month.
                for (t, cap) in capex_cap.iter_mut().enumerate().skip(m) {
                    *cap = Some((k * months + (t - m) / 12, *usd_per_year));
                }
            }
        }
        let t = &scenario.treasury;
        let l = &scenario.loan;
        let f = &scenario.financing;
        let v = &scenario.valuation;
        let equity_share = 1.0 - f.capex_debt_share;
        // The same product as the acceptance test in `replay`.
        let min_conversion_equity_usd = fleet
            .convertible
            .iter()
            .map(|&i| equity_share * fleet.sites[i].capex_usd)
            .fold(f64::INFINITY, f64::min);
        let debt_term_months = (f.capex_debt_term_years * 12.0).round().max(1.0) as usize;
        let debt_rate_monthly = f.capex_debt_rate / 12.0;
        Model {
            calendar,
            fleet,
            policies: scenario.policies.iter().map(policy::build).collect(),
            rules: Rules {
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
                equity_share,
                debt_share: f.capex_debt_share,
                debt_rate_monthly,
                debt_term_months,
                debt_payment_per_usd: annuity_factor(debt_rate_monthly, debt_term_months as f64),
                strict_funding: f.capex_funding == CapexFunding::Strict,
                distress_rate_monthly: f.distress_rate / 12.0,
                terminal_multiple_mining: v.terminal_multiple_mining,
                terminal_multiple_ai: v.terminal_multiple_ai,
                sell_to_target_ltv: t.sell_to_target_ltv,
            },
            capex_cap,
            min_conversion_equity_usd,
            ask_unfundable: false,
            events_by_month,
            events: scenario.events.iter().map(|e| e.kind.clone()).collect(),
        }
    }

    pub fn months(&self) -> usize {
        self.calendar.months()
    }

    /// Replay policy `p` on one market path. `table` holds the path's mining
    /// outcomes; `observe` sees every month (a no-op closure in the hot loop).
    pub fn replay<F: FnMut(&MonthRecord<'_>)>(
        &self,
        p: usize,
        market: &MarketPath,
        table: &MiningTable,
        scratch: &mut Scratch,
        out: &mut PolicyOutcome,
        observe: F,
    ) {
        self.replay_from(p, market, table, scratch, out, Start::Beginning, observe);
    }

    /// [`Model::replay`] from where `start` says. Resumed at month `t0`, the
    /// replay writes only months `t0..` of `out`'s monthly series (the
    /// earlier months are the passive replay's) and `observe` sees only
    /// those months; its other figures are the whole path's.
    ///
    /// # Panics
    /// If a resumed replay's month is not below the months simulated.
    #[allow(clippy::too_many_arguments)]
    pub fn replay_from<F: FnMut(&MonthRecord<'_>)>(
        &self,
        p: usize,
        market: &MarketPath,
        table: &MiningTable,
        scratch: &mut Scratch,
        out: &mut PolicyOutcome,
        start: Start<'_>,
        mut observe: F,
    ) {
        let months = self.months();
        let fleet = &self.fleet;
        let cal = &self.calendar;
        let r = &self.rules;
        let n_sites = fleet.len();
        let policy = &self.policies[p];
        let passive = policy.passive();
        let memoryless = policy.memoryless();

        out.reset(months);
        scratch.sites.clear();
        scratch.sites.resize(n_sites, SiteState::Mining);
        scratch.memory.reset(n_sites);
        scratch.left.clear();
        scratch.converting.clear();
        scratch.mining.clear();
        scratch.mining.extend(0..n_sites);
        scratch.convertible_mining.clear();
        scratch
            .convertible_mining
            .extend_from_slice(&fleet.convertible);
        scratch.payment_delta.clear();
        scratch.payment_delta.resize(months + 1, 0.0);
        // Month-indexed inputs and outputs as slices of exactly `months`
        // entries, so that indexing by `t < months` needs no bounds checks.
        let price_usd = &market.btc_price_usd[..months];
        let days_in = &cal.days[..months];
        let discount = &cal.discount[..months];
        let demand_mw = &market.ai_demand_mw[..months];
        let gpu_hour_usd = &market.gpu_hour_usd[..months];
        let capex_cap = &self.capex_cap[..months];
        let events_by_month = &self.events_by_month[..months];
        let fleet_total = &table.fleet_total[..months];
        let payment_delta = &mut scratch.payment_delta[..months + 1];
        let out_revenue = &mut out.revenue_usd[..months];
        let out_mining_revenue = &mut out.mining_revenue_usd[..months];
        let out_ai_revenue = &mut out.ai_revenue_usd[..months];
        let out_btc_mined = &mut out.btc_mined[..months];
        let out_reserve_btc = &mut out.reserve_btc[..months];
        let out_reserve_usd = &mut out.reserve_usd[..months];
        let out_net_reserve = &mut out.net_reserve_usd[..months];
        let out_mw = &mut out.mw[..months];

        let mut tr = TreasuryState {
            reserve_btc: r.reserve_btc,
            cash_usd: r.cash_usd,
            loan_usd: r.loan_usd,
            project_debt_usd: 0.0,
            distress_usd: 0.0,
        };
        // Running sums over sites, updated when a site changes state.
        let mut ai_mw = 0.0; // IT MW of live AI sites
        let mut ai_power_coef = 0.0; // sum of it_mw * power price over live AI sites
        let mut converting_it_mw = 0.0;
        let mut converting = 0usize;
        let mut converting_mw = 0.0; // grid MW converting
        let mut left_mw = 0.0; // grid MW no longer mining
        let mut installments_usd = 0.0; // capex installments of the converting sites
        let mut payment_usd = 0.0; // project-debt service due this month

        let mut run = Running::START;
        let tail_from = months.saturating_sub(12);
        // capex_budget: the period being counted and the capex accepted in it.
        // (A replay resumed before its first conversion starts here too: a
        // new period or not, nothing has been accepted in it.)
        let mut cap_period = usize::MAX;
        let mut cap_spent = 0.0;

        let mut first_month = 0;
        let mut record = None;
        match start {
            Start::Beginning => {}
            Start::Recording(carries) => {
                carries.clear();
                record = Some(carries);
            }
            Start::Resume(t0, c) => {
                assert!(t0 < months, "resumed at month {t0} of {months}");
                first_month = t0;
                (tr, run) = (c.treasury, c.running);
            }
        }

        for t in first_month..months {
            if let Some(carries) = record.as_deref_mut() {
                carries.push(Carry {
                    treasury: tr,
                    running: run,
                });
            }
            let s = price_usd[t];
            let days = days_in[t];
            let mut fl = MonthFlows::default();

            // Sites whose lead time ends go live at the start of the month.
            if converting > 0 {
                // The converting sites in the order they started (`left`
                // without the live ones): the same order, so the same sums.
                scratch.converting.retain(|&(i, live)| {
                    if live != t {
                        return true;
                    }
                    let site = &fleet.sites[i];
                    scratch.sites[i] = SiteState::Ai;
                    converting -= 1;
                    converting_mw -= site.power_mw;
                    converting_it_mw -= site.it_mw;
                    installments_usd -= site.installment_usd;
                    ai_mw += site.it_mw;
                    ai_power_coef += site.it_mw * site.power_usd_per_mwh;
                    false
                });
                if converting == 0 {
                    // Clear rounding residue of the running sums.
                    converting_mw = 0.0;
                    converting_it_mw = 0.0;
                    installments_usd = 0.0;
                }
            }
            payment_usd += payment_delta[t];
            let open = tr;

            // Step 0: scheduled events.
            for &k in &events_by_month[t] {
                match self.events[k] {
                    EventKind::SellBtc {
                        btc,
                        repay_loan,
                        price_usd,
                    } => {
                        let price = price_usd.unwrap_or(s);
                        let sold = btc.min(tr.reserve_btc);
                        let proceeds = sold * price;
                        tr.reserve_btc -= sold;
                        let repay = if repay_loan {
                            proceeds.min(tr.loan_usd)
                        } else {
                            0.0
                        };
                        tr.loan_usd -= repay;
                        tr.cash_usd += proceeds - repay;
                        fl.event_sale_btc += sold;
                        fl.event_sale_usd += proceeds;
                        fl.event_loan_repayment_usd += repay;
                        fl.event_cash_in_usd += proceeds - repay;
                    }
                    EventKind::BuyBtc { usd, price_usd } => {
                        let price = price_usd.unwrap_or(s);
                        let spend = usd.min((tr.cash_usd - r.min_cash_usd).max(0.0));
                        let bought = spend / price;
                        tr.cash_usd -= spend;
                        tr.reserve_btc += bought;
                        fl.event_buy_btc += bought;
                        fl.event_buy_usd += spend;
                    }
                    EventKind::RepayLoan { usd } => {
                        let repay = usd
                            .min(tr.loan_usd)
                            .min((tr.cash_usd - r.min_cash_usd).max(0.0));
                        tr.cash_usd -= repay;
                        tr.loan_usd -= repay;
                        fl.event_repay_loan_usd += repay;
                    }
                    EventKind::DrawLoan { ltv, max_usd } => {
                        let headroom = (ltv * tr.reserve_btc * s - tr.loan_usd).max(0.0);
                        let draw = max_usd.map_or(headroom, |m| m.min(headroom));
                        tr.loan_usd += draw;
                        tr.cash_usd += draw;
                        fl.event_loan_drawn_usd += draw;
                    }
                    EventKind::RaiseEquity { usd } => {
                        tr.cash_usd += usd;
                        fl.event_equity_usd += usd;
                    }
                    // A condition of step 1 (see `capex_cap`), no flow.
                    EventKind::CapexBudget { .. } => {}
                }
            }
            if t == 0 {
                run.peak_usd = tr.reserve_btc * s;
                run.peak_net = tr.net_reserve_usd(s);
            }

            // Step 1: the policy asks; the treasury accepts while fundable.
            let seen = tr;
            scratch.requests.clear();
            scratch.started.clear();
            // What step 1 may commit does not depend on the requests. A
            // policy without memory between months is not asked in a month
            // whose step 1 can start nothing (its requests would all be
            // turned down, and asking leaves no trace); one with memory is
            // asked every month, and the budget is worked out only if it
            // asks for something.
            let known_budget = (memoryless && !passive && !self.ask_unfundable)
                .then(|| self.step1_budget(&tr, s, t, &scratch.converting));
            let unfundable = matches!(known_budget, Some(None));
            // A passive policy asks for nothing: no view to build for it.
            if !passive && !unfundable {
                let view = self.view(
                    t,
                    market,
                    table,
                    &scratch.sites,
                    &scratch.convertible_mining,
                    &tr,
                    ai_mw + converting_it_mw,
                    converting,
                    scratch.left.len(),
                );
                policy.decide(&view, &mut scratch.memory, &mut scratch.requests);
            }
            let cap = capex_cap[t];
            if let Some((period, _)) = cap
                && period != cap_period
            {
                cap_period = period;
                cap_spent = 0.0;
            }
            if !scratch.requests.is_empty()
                && let Some(mut budget) = known_budget
                    .unwrap_or_else(|| self.step1_budget(&tr, s, t, &scratch.converting))
            {
                for &i in &scratch.requests {
                    if !self.accepts(i, &scratch.sites, &mut budget, cap, &mut cap_spent) {
                        continue;
                    }
                    let site = &fleet.sites[i];
                    scratch.sites[i] = SiteState::Converting { start: t as u32 };
                    scratch.started.push(i);
                    scratch.left.push(i);
                    scratch.converting.push((i, t + site.lead_months));
                    remove_sorted(&mut scratch.mining, i);
                    remove_sorted(&mut scratch.convertible_mining, i);
                    converting += 1;
                    converting_mw += site.power_mw;
                    left_mw += site.power_mw;
                    converting_it_mw += site.it_mw;
                    installments_usd += site.installment_usd;
                }
            }

            // Step 2: mining, and the MW in each state. Mining outcomes are
            // the same for every policy: start from the fleet's total and
            // take out the sites that left mining (or sum the few that remain).
            let mining = if 2 * scratch.left.len() <= n_sites {
                let mut m = fleet_total[t];
                for &i in &scratch.left {
                    m.sub(&table.site(fleet, t, i), fleet.sites[i].power_mw);
                }
                m
            } else {
                // In fleet order, as a sum over the whole fleet would add them.
                let mut m = FleetMining::default();
                for &i in &scratch.mining {
                    m.add(&table.site(fleet, t, i), fleet.sites[i].power_mw);
                }
                m
            };
            let mw = MwByState {
                mining: fleet.total_power_mw - left_mw,
                idle: mining.idle_mw,
                converting: converting_mw,
                ai: left_mw - converting_mw,
            };
            fl.btc_mined = mining.btc_mined;
            fl.mining_revenue_usd = mining.revenue_usd;
            fl.mining_power_usd = mining.power_usd;
            fl.mining_opex_usd = mining.opex_usd;
            tr.reserve_btc += fl.btc_mined;
            fl.mined_sold_btc = fl.btc_mined * r.sell_mined_fraction;
            fl.mined_sold_usd = fl.mined_sold_btc * s;
            tr.reserve_btc -= fl.mined_sold_btc;
            tr.cash_usd += fl.mined_sold_usd;

            // Step 3: cash flows.
            if ai_mw > 0.0 {
                let u = fleet.u_max.min(demand_mw[t] / ai_mw);
                fl.ai_revenue_usd = ai_mw * u * fleet.ai_rate_usd_per_mw_it(days, gpu_hour_usd[t]);
                fl.ai_power_usd = u * fleet.ai_power_usd_per_mw_it(days, 1.0) * ai_power_coef;
                fl.ai_opex_usd = ai_mw * fleet.ai_opex_usd_per_mw_it_month;
            }
            fl.capex_usd = installments_usd;
            fl.capex_equity_usd = r.equity_share * installments_usd;
            fl.capex_debt_usd = r.debt_share * installments_usd;
            fl.project_debt_interest_usd = tr.project_debt_usd * r.debt_rate_monthly;
            fl.project_debt_principal_usd = payment_usd - fl.project_debt_interest_usd;
            fl.loan_interest_usd = tr.loan_usd * r.loan_rate_monthly;
            fl.distress_interest_usd = tr.distress_usd * r.distress_rate_monthly;
            tr.cash_usd += fl.ai_revenue_usd
                - fl.mining_power_usd
                - fl.mining_opex_usd
                - fl.ai_power_usd
                - fl.ai_opex_usd
                - fl.capex_equity_usd
                - payment_usd
                - fl.loan_interest_usd
                - fl.distress_interest_usd;
            tr.project_debt_usd += fl.capex_debt_usd - fl.project_debt_principal_usd;
            if fl.capex_debt_usd > 0.0 {
                // A new annuity per installment, first payment next month.
                let pmt = fl.capex_debt_usd * r.debt_payment_per_usd;
                payment_delta[t + 1] += pmt;
                let end = t + 1 + r.debt_term_months;
                if end <= months {
                    payment_delta[end] -= pmt;
                }
            }

            // Step 4: funding.
            if tr.cash_usd < r.min_cash_usd {
                let need = r.min_cash_usd - tr.cash_usd;
                let free = tr.free_btc(s, r.initial_ltv);
                if free * s >= need {
                    fl.funding_sale_btc = need / s;
                    fl.funding_sale_usd = need;
                } else {
                    fl.funding_sale_btc = free;
                    fl.funding_sale_usd = free * s;
                    fl.distress_borrowed_usd = need - fl.funding_sale_usd;
                    fl.distress_month = true;
                }
                tr.reserve_btc -= fl.funding_sale_btc;
                tr.distress_usd += fl.distress_borrowed_usd;
                tr.cash_usd = r.min_cash_usd;
            }

            // Step 4b: standing rule, sell BTC to bring LTV back to target.
            if let Some(rule) = r.sell_to_target_ltv
                && tr.loan_usd > 0.0
                && tr.ltv(s) > rule.trigger_ltv
            {
                let (btc, usd) = tr.sell_to_ltv(s, rule.target_ltv);
                fl.target_ltv_sale_btc = btc;
                fl.target_ltv_sale_usd = usd;
            }

            // Step 5: covenant.
            let ltv = tr.ltv(s);
            if tr.loan_usd > 0.0 && ltv >= r.liquidation_ltv {
                let owed = tr.loan_usd * (1.0 + r.liquidation_penalty);
                let sold = tr.reserve_btc.min(owed / s);
                let proceeds = if sold < tr.reserve_btc {
                    owed
                } else {
                    sold * s
                };
                let deficiency = owed - proceeds;
                let from_cash = deficiency.min((tr.cash_usd - r.min_cash_usd).max(0.0));
                fl.liquidation = true;
                fl.liquidation_sale_btc = sold;
                fl.liquidation_sale_usd = proceeds;
                fl.liquidation_loan_closed_usd = tr.loan_usd;
                fl.liquidation_penalty_usd = owed - tr.loan_usd;
                fl.liquidation_deficiency_cash_usd = from_cash;
                fl.liquidation_deficiency_distress_usd = deficiency - from_cash;
                tr.reserve_btc -= sold;
                tr.loan_usd = 0.0;
                tr.cash_usd -= from_cash;
                tr.distress_usd += deficiency - from_cash;
                if deficiency - from_cash > 0.0 {
                    fl.distress_month = true;
                }
            } else if tr.loan_usd > 0.0 && ltv >= r.margin_call_ltv {
                fl.margin_call = true;
                let target = r.initial_ltv * tr.reserve_btc * s;
                let cash = (tr.loan_usd - target).min((tr.cash_usd - r.min_cash_usd).max(0.0));
                tr.cash_usd -= cash;
                tr.loan_usd -= cash;
                fl.margin_call_cash_usd = cash;
                if tr.loan_usd > target {
                    let (btc, usd) = tr.sell_to_ltv(s, r.initial_ltv);
                    fl.margin_call_sale_btc = btc;
                    fl.margin_call_sale_usd = usd;
                }
            }

            // Step 6: maturity.
            if r.maturity_month == Some(t) && tr.loan_usd > 0.0 {
                let cash = tr.loan_usd.min((tr.cash_usd - r.min_cash_usd).max(0.0));
                tr.cash_usd -= cash;
                tr.loan_usd -= cash;
                fl.maturity_cash_usd = cash;
                if tr.loan_usd > 0.0 {
                    let x = tr.reserve_btc.min(tr.loan_usd / s);
                    let usd = if x < tr.reserve_btc {
                        tr.loan_usd
                    } else {
                        x * s
                    };
                    tr.reserve_btc -= x;
                    tr.loan_usd -= usd;
                    fl.maturity_sale_btc = x;
                    fl.maturity_sale_usd = usd;
                }
                if tr.loan_usd > 0.0 {
                    fl.maturity_distress_usd = tr.loan_usd;
                    tr.distress_usd += tr.loan_usd;
                    fl.distress_month = true;
                }
                tr.loan_usd = 0.0;
            }

            // Step 7: repair.
            let excess = tr.cash_usd - r.min_cash_usd - r.distress_buffer_usd;
            if excess > 0.0 && tr.distress_usd > 0.0 {
                let repay = tr.distress_usd.min(excess);
                tr.cash_usd -= repay;
                tr.distress_usd -= repay;
                fl.distress_repaid_usd = repay;
            }

            // End of month: record.
            let mining_margin = fl.mining_revenue_usd - fl.mining_power_usd - fl.mining_opex_usd;
            let ai_margin = fl.ai_revenue_usd - fl.ai_power_usd - fl.ai_opex_usd;
            let revenue = fl.mining_revenue_usd + fl.ai_revenue_usd;
            run.npv += discount[t] * (mining_margin + ai_margin - fl.capex_usd);
            run.total_revenue += revenue;
            if t >= tail_from {
                run.tail_mining_margin += mining_margin;
                run.tail_ai_margin += ai_margin;
            }
            let reserve_usd = tr.reserve_btc * s;
            let net = tr.net_reserve_usd(s);
            run.peak_usd = run.peak_usd.max(reserve_usd);
            if run.peak_usd > 0.0 {
                run.max_dd = run.max_dd.max((run.peak_usd - reserve_usd) / run.peak_usd);
            }
            run.peak_net = run.peak_net.max(net);
            run.max_dd_net = run.max_dd_net.max(run.peak_net - net);
            run.min_reserve = run.min_reserve.min(tr.reserve_btc);
            run.margin_call |= fl.margin_call;
            run.liquidation |= fl.liquidation;
            if fl.margin_call || fl.liquidation {
                run.first_margin_call_month.get_or_insert(t);
            }
            if fl.distress_month {
                run.first_distress_month.get_or_insert(t);
            }
            out_revenue[t] = revenue;
            out_mining_revenue[t] = fl.mining_revenue_usd;
            out_ai_revenue[t] = fl.ai_revenue_usd;
            out_btc_mined[t] = fl.btc_mined;
            out_reserve_btc[t] = tr.reserve_btc;
            out_reserve_usd[t] = reserve_usd;
            out_net_reserve[t] = net;
            out_mw[t] = mw;
            observe(&MonthRecord {
                t,
                open: &open,
                seen: &seen,
                close: &tr,
                flows: &fl,
                started: &scratch.started,
                sites: &scratch.sites,
                mw,
            });
        }

        out.npv_usd = run.npv
            + cal.terminal_discount
                * (r.terminal_multiple_mining * run.tail_mining_margin
                    + r.terminal_multiple_ai * run.tail_ai_margin);
        out.total_revenue_usd = run.total_revenue;
        out.terminal_net_reserve_usd = out.net_reserve_usd[months - 1];
        out.max_drawdown = run.max_dd;
        out.max_drawdown_net_usd = run.max_dd_net;
        out.min_reserve_btc = run.min_reserve;
        out.margin_call = run.margin_call;
        out.liquidation = run.liquidation;
        out.first_distress_month = run.first_distress_month;
        out.first_margin_call_month = run.first_margin_call_month;
        out.conversions_started = scratch.left.len() as u32;
    }

    /// Policy `p`'s view of month `t` (see [`PolicyView`]).
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn view<'a>(
        &'a self,
        t: usize,
        market: &'a MarketPath,
        table: &'a MiningTable,
        sites: &'a [SiteState],
        convertible_mining: &'a [usize],
        treasury: &'a TreasuryState,
        ai_mw_live_and_converting: f64,
        converting_now: usize,
        started: usize,
    ) -> PolicyView<'a> {
        PolicyView {
            t,
            days: self.calendar.days[t],
            btc_price_usd: &market.btc_price_usd[..=t],
            hashprice_usd_per_eh_day: &market.hashprice_usd_per_eh_day[..=t],
            gpu_hour_usd: &market.gpu_hour_usd[..=t],
            ai_demand_mw: &market.ai_demand_mw[..=t],
            fleet: &self.fleet,
            sites,
            convertible_mining,
            treasury,
            mining_margin_usd_per_mw: table.margins(&self.fleet, t),
            ai_mw_live_and_converting,
            converting_now,
            started,
        }
    }

    /// The equity step 1 of month `t` may commit to new conversions
    /// ([`Model::funding_budget`] under strict funding, else unlimited);
    /// `None` if it is below the least equity any conversion needs, so that
    /// every request would fail [`Model::accepts`].
    fn step1_budget(
        &self,
        tr: &TreasuryState,
        s: f64,
        t: usize,
        converting: &[(usize, usize)],
    ) -> Option<f64> {
        if !self.rules.strict_funding {
            return Some(f64::INFINITY);
        }
        let budget = self.funding_budget(tr, s, t, converting);
        // (A NaN budget is not below it: the requests go on to the test.)
        if budget < self.min_conversion_equity_usd {
            None
        } else {
            Some(budget)
        }
    }

    /// Step 1's test of one request (MODEL.md section 3): the site is still
    /// mining and convertible (policies only ask for those; guarded anyway),
    /// its equity share of the capex fits `budget` under strict funding, and
    /// its full capex (equity and debt) fits the `capex_budget` in force
    /// with `cap_spent` already committed. If so, the equity comes off
    /// `budget`, the capex goes into `cap_spent`, and it returns true.
    #[inline(always)]
    fn accepts(
        &self,
        i: usize,
        sites: &[SiteState],
        budget: &mut f64,
        cap: Option<(usize, f64)>,
        cap_spent: &mut f64,
    ) -> bool {
        let r = &self.rules;
        let site = &self.fleet.sites[i];
        if !matches!(sites[i], SiteState::Mining) || !site.convertible {
            return false;
        }
        let equity = r.equity_share * site.capex_usd;
        if r.strict_funding && equity > *budget {
            return false;
        }
        if let Some((_, limit)) = cap {
            if *cap_spent + site.capex_usd > limit * (1.0 + 1e-12) {
                return false;
            }
            *cap_spent += site.capex_usd;
        }
        *budget -= equity;
        true
    }

    /// Whether policy `p` never asks for a conversion (`hold`).
    pub fn is_passive(&self, p: usize) -> bool {
        self.policies[p].passive()
    }

    /// The first month in which policy `p` would start a conversion on this
    /// path, had it followed a passive policy (one that never asks) until
    /// then; `seen[t]` is the passive replay's treasury after step 0 of month
    /// t (`MonthRecord::seen`). `None` if it never would: then no site of
    /// `p` ever leaves mining, every step is the passive policy's, and `p`'s
    /// replay is the passive replay month for month, bit for bit.
    ///
    /// Until its first start, a policy's path is the passive one: the same
    /// events, all sites mining, the same treasury. So its asks can be put to
    /// the same acceptance test on the passive treasury ([`Model::accepts`],
    /// with nothing of the capex budget spent), month by month, without the
    /// treasury steps. The policy's memory sees the same views in the same
    /// order as in a full replay, which starts it afresh.
    pub fn first_start(
        &self,
        p: usize,
        market: &MarketPath,
        table: &MiningTable,
        seen: &[TreasuryState],
        scratch: &mut Scratch,
    ) -> Option<usize> {
        let months = self.months().min(seen.len());
        if let Some(threshold) = self.policies[p].as_threshold() {
            scratch.passive_reset(self.fleet.len());
            // Its asks for every month at once (see `Threshold::passive_asks`).
            let Scratch {
                sites,
                memory,
                requests,
                ..
            } = scratch;
            let days = &self.calendar.days[..months];
            return threshold.passive_asks(
                &self.fleet,
                days,
                market,
                table,
                memory,
                requests,
                |t| self.passive_may_accept(t, market, &seen[t]),
                |t, asks| self.passive_accepts(t, market, &seen[t], sites, asks),
            );
        }
        self.first_start_by_month(p, market, table, &seen[..months], scratch)
    }

    /// [`Model::first_start`] for any policy: its `decide`, month by month,
    /// on the passive path (`seen` holds the months to test).
    pub(crate) fn first_start_by_month(
        &self,
        p: usize,
        market: &MarketPath,
        table: &MiningTable,
        seen: &[TreasuryState],
        scratch: &mut Scratch,
    ) -> Option<usize> {
        let policy = &self.policies[p];
        let memoryless = policy.memoryless();
        scratch.passive_reset(self.fleet.len());
        for (t, tr) in seen.iter().enumerate() {
            // No request can start in a month whose step 1 may commit too
            // little equity; a policy with memory still decides in it.
            if memoryless && !self.passive_may_accept(t, market, tr) {
                continue;
            }
            scratch.requests.clear();
            let view = self.view(
                t,
                market,
                table,
                &scratch.sites,
                &self.fleet.convertible,
                tr,
                // `ai_mw + converting_it_mw` of a replay with no site left:
                // 0.0 + 0.0.
                0.0,
                0,
                0,
            );
            policy.decide(&view, &mut scratch.memory, &mut scratch.requests);
            if !scratch.requests.is_empty()
                && self.passive_accepts(t, market, tr, &scratch.sites, &scratch.requests)
            {
                return Some(t);
            }
        }
        None
    }

    /// False if step 1 of month `t` on the passive path (treasury `tr` after
    /// step 0, no site left mining) would start no request at all (the
    /// equity it may commit is below what any conversion needs): the first
    /// test of [`Model::passive_accepts`].
    fn passive_may_accept(&self, t: usize, market: &MarketPath, tr: &TreasuryState) -> bool {
        let s = market.btc_price_usd[t];
        self.step1_budget(tr, s, t, &[]).is_some()
    }

    /// Whether step 1 of month `t` on the passive path (treasury `tr` after
    /// step 0, no site left mining) would start any of `requests`.
    fn passive_accepts(
        &self,
        t: usize,
        market: &MarketPath,
        tr: &TreasuryState,
        sites: &[SiteState],
        requests: &[usize],
    ) -> bool {
        let s = market.btc_price_usd[t];
        let Some(mut budget) = self.step1_budget(tr, s, t, &[]) else {
            return false;
        };
        let mut cap_spent = 0.0;
        let cap = self.capex_cap[t];
        requests
            .iter()
            .any(|&i| self.accepts(i, sites, &mut budget, cap, &mut cap_spent))
    }

    /// The equity the treasury can still commit to new conversions in month t
    /// (MODEL.md section 3, step 1): spendable cash and free BTC above the
    /// floor, minus the equity share of the installments not yet paid (this
    /// month's included) of the conversions under way: `converting`, each
    /// site with the month it goes live, in the order they started.
    fn funding_budget(
        &self,
        tr: &TreasuryState,
        s: f64,
        t: usize,
        converting: &[(usize, usize)],
    ) -> f64 {
        let r = &self.rules;
        let liquid = (tr.cash_usd - r.min_cash_usd).max(0.0)
            + (tr.free_btc(s, r.initial_ltv) - r.reserve_floor_btc).max(0.0) * s;
        let committed: f64 = converting
            .iter()
            .map(|&(i, live)| (live - t) as f64 * self.fleet.sites[i].installment_usd)
            .sum();
        liquid - r.equity_share * committed
    }
}
