//! The state a replay carries from one month to the next ([`MonthState`]):
//! the treasury, the sites (each one's state, the lists the step walks and
//! the running sums over them), the project-debt payment schedule, the
//! capex-budget period, and the running figures of the path so far (sums,
//! peaks, flags) from which the path's outcome is read at the end.

use crate::model::fleet::Fleet;
use crate::model::mining::{FleetMining, MiningTable};
use crate::model::state::{SiteState, TreasuryState};

use super::flows::{MonthFlows, MwByState, PolicyOutcome};
use super::rules::Rules;

/// Everything a replay knows at the start of a month. The vectors are kept
/// between paths (in [`super::Scratch`]) so a replay allocates nothing.
#[derive(Debug, Default)]
pub struct MonthState {
    pub treasury: TreasuryState,
    pub(crate) running: Running,
    pub(crate) sites: SiteBook,
    pub(crate) debt: DebtSchedule,
    pub(crate) capex: CapexPeriod,
}

impl MonthState {
    /// The state before month 0: the scenario's opening treasury, every site
    /// mining, no debt service due, no capex-budget period entered.
    pub(crate) fn reset(&mut self, r: &Rules, fleet: &Fleet, months: usize) {
        self.treasury = TreasuryState {
            reserve_btc: r.reserve_btc,
            cash_usd: r.cash_usd,
            loan_usd: r.loan_usd,
            project_debt_usd: 0.0,
            distress_usd: 0.0,
        };
        self.running = Running::START;
        self.sites.reset(fleet);
        self.debt.reset(months);
        self.capex = CapexPeriod::START;
    }
}

/// A replay's figures over the months so far: sums, peaks and flags.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Running {
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
    ai_utilisation_sum: f64,
    ai_live_months: u32,
}

impl Default for Running {
    fn default() -> Running {
        Running::START
    }
}

/// The month's figures for the outcome's monthly series.
pub(crate) struct MonthEnd {
    pub revenue_usd: f64,
    pub reserve_usd: f64,
    pub net_reserve_usd: f64,
}

impl Running {
    /// Before month 0.
    pub const START: Running = Running {
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
        ai_utilisation_sum: 0.0,
        ai_live_months: 0,
    };

    /// The peaks the drawdowns are measured from start at month 0's
    /// treasury after its events (`tr`) at price `s`.
    #[inline(always)]
    pub fn open(&mut self, tr: &TreasuryState, s: f64) {
        self.peak_usd = tr.reserve_btc * s;
        self.peak_net = tr.net_reserve_usd(s);
    }

    /// Month `t` closed with flows `fl` and treasury `tr` at price `s`:
    /// its discounted margins into the NPV (and the tail's margins, for the
    /// terminal value, if `in_tail`), revenue, peaks and drawdowns, the
    /// lowest reserve, and the first margin call and distress.
    #[inline(always)]
    pub fn close_month(
        &mut self,
        t: usize,
        discount: f64,
        in_tail: bool,
        fl: &MonthFlows,
        tr: &TreasuryState,
        s: f64,
    ) -> MonthEnd {
        let mining_margin = fl.mining_revenue_usd - fl.mining_power_usd - fl.mining_opex_usd;
        let ai_margin = fl.ai_revenue_usd - fl.ai_power_usd - fl.ai_opex_usd;
        let revenue = fl.mining_revenue_usd + fl.ai_revenue_usd;
        self.npv += discount * (mining_margin + ai_margin - fl.capex_usd);
        self.total_revenue += revenue;
        if in_tail {
            self.tail_mining_margin += mining_margin;
            self.tail_ai_margin += ai_margin;
        }
        let reserve_usd = tr.reserve_btc * s;
        let net = tr.net_reserve_usd(s);
        self.peak_usd = self.peak_usd.max(reserve_usd);
        if self.peak_usd > 0.0 {
            self.max_dd = self
                .max_dd
                .max((self.peak_usd - reserve_usd) / self.peak_usd);
        }
        self.peak_net = self.peak_net.max(net);
        self.max_dd_net = self.max_dd_net.max(self.peak_net - net);
        self.min_reserve = self.min_reserve.min(tr.reserve_btc);
        self.margin_call |= fl.margin_call;
        self.liquidation |= fl.liquidation;
        if fl.margin_call || fl.liquidation {
            self.first_margin_call_month.get_or_insert(t);
        }
        if fl.distress_month {
            self.first_distress_month.get_or_insert(t);
        }
        if fl.ai_live {
            self.ai_utilisation_sum += fl.ai_utilisation;
            self.ai_live_months += 1;
        }
        MonthEnd {
            revenue_usd: revenue,
            reserve_usd,
            net_reserve_usd: net,
        }
    }

    /// The path's figures into `out`, whose monthly series are complete:
    /// the NPV with its terminal value (the last 12 months' margins times
    /// their multiples, discounted by `terminal_discount`).
    pub fn finish(&self, r: &Rules, terminal_discount: f64, out: &mut PolicyOutcome) {
        out.npv_usd = self.npv
            + terminal_discount
                * (r.terminal_multiple_mining * self.tail_mining_margin
                    + r.terminal_multiple_ai * self.tail_ai_margin);
        out.total_revenue_usd = self.total_revenue;
        out.terminal_net_reserve_usd = *out.net_reserve_usd.last().expect("at least one month");
        out.max_drawdown = self.max_dd;
        out.max_drawdown_net_usd = self.max_dd_net;
        out.min_reserve_btc = self.min_reserve;
        out.margin_call = self.margin_call;
        out.liquidation = self.liquidation;
        out.first_distress_month = self.first_distress_month;
        out.first_margin_call_month = self.first_margin_call_month;
        out.ai_utilisation_mean = if self.ai_live_months > 0 {
            self.ai_utilisation_sum / f64::from(self.ai_live_months)
        } else {
            0.0
        };
    }
}

/// The sites' side of the state: each site's state, the lists the monthly
/// step walks, and running sums over the sites, updated when a site changes
/// state (so a month costs the sites that changed, not the fleet).
#[derive(Debug, Default)]
pub(crate) struct SiteBook {
    pub states: Vec<SiteState>,
    /// Sites that have left mining (converting or AI), in the order they started.
    pub left: Vec<usize>,
    /// Of those, the sites still converting, in the same order, each with
    /// the month it goes live (its start plus its lead time).
    pub converting: Vec<(usize, usize)>,
    /// Sites still mining, in fleet order (the complement of `left`).
    pub mining: Vec<usize>,
    /// Convertible sites still mining, in fleet order.
    pub convertible_mining: Vec<usize>,
    /// IT MW of live AI sites.
    pub ai_mw: f64,
    /// Sum of IT MW times power price over live AI sites.
    pub ai_power_coef: f64,
    pub converting_it_mw: f64,
    /// Grid MW converting.
    pub converting_mw: f64,
    /// Grid MW no longer mining.
    pub left_mw: f64,
    /// Capex installments due from the converting sites.
    pub installments_usd: f64,
}

impl SiteBook {
    fn reset(&mut self, fleet: &Fleet) {
        let n = fleet.len();
        self.states.clear();
        self.states.resize(n, SiteState::Mining);
        self.left.clear();
        self.converting.clear();
        self.mining.clear();
        self.mining.extend(0..n);
        self.convertible_mining.clear();
        self.convertible_mining
            .extend_from_slice(&fleet.convertible);
        self.ai_mw = 0.0;
        self.ai_power_coef = 0.0;
        self.converting_it_mw = 0.0;
        self.converting_mw = 0.0;
        self.left_mw = 0.0;
        self.installments_usd = 0.0;
    }

    /// Sites whose lead time ends go live at the start of month `t`.
    #[inline(always)]
    pub fn go_live(&mut self, t: usize, fleet: &Fleet) {
        if self.converting.is_empty() {
            return;
        }
        let SiteBook {
            states,
            converting,
            ai_mw,
            ai_power_coef,
            converting_it_mw,
            converting_mw,
            installments_usd,
            ..
        } = self;
        // The converting sites in the order they started (`left` without
        // the live ones): the same order, so the same sums.
        converting.retain(|&(i, live)| {
            if live != t {
                return true;
            }
            let site = &fleet.sites[i];
            states[i] = SiteState::Ai;
            *converting_mw -= site.power_mw;
            *converting_it_mw -= site.it_mw;
            *installments_usd -= site.installment_usd;
            *ai_mw += site.it_mw;
            *ai_power_coef += site.it_mw * site.power_usd_per_mwh;
            false
        });
        if converting.is_empty() {
            // Clear rounding residue of the running sums.
            *converting_mw = 0.0;
            *converting_it_mw = 0.0;
            *installments_usd = 0.0;
        }
    }

    /// Site `i` starts converting in month `t` (step 1 accepted it).
    #[inline(always)]
    pub fn start(&mut self, i: usize, t: usize, fleet: &Fleet) {
        let site = &fleet.sites[i];
        self.states[i] = SiteState::Converting { start: t as u32 };
        self.left.push(i);
        self.converting.push((i, t + site.lead_months));
        remove_sorted(&mut self.mining, i);
        remove_sorted(&mut self.convertible_mining, i);
        self.converting_mw += site.power_mw;
        self.left_mw += site.power_mw;
        self.converting_it_mw += site.it_mw;
        self.installments_usd += site.installment_usd;
    }

    /// Step 2: the mining of the sites still mining in month `t`, and the
    /// MW in each state. Mining outcomes are the same for every policy:
    /// start from the fleet's total and take out the sites that left mining
    /// (or, once most have left, sum the few that remain).
    #[inline(always)]
    pub fn mining(&self, t: usize, fleet: &Fleet, table: &MiningTable) -> (FleetMining, MwByState) {
        let mining = if 2 * self.left.len() <= fleet.len() {
            let mut m = table.fleet_total[t];
            for &i in &self.left {
                m.sub(&table.site(fleet, t, i), fleet.sites[i].power_mw);
            }
            m
        } else {
            // In fleet order, as a sum over the whole fleet would add them.
            let mut m = FleetMining::default();
            for &i in &self.mining {
                m.add(&table.site(fleet, t, i), fleet.sites[i].power_mw);
            }
            m
        };
        let mw = MwByState {
            mining: fleet.total_power_mw - self.left_mw,
            idle: mining.idle_mw,
            converting: self.converting_mw,
            ai: self.left_mw - self.converting_mw,
        };
        (mining, mw)
    }

    /// Step 3's AI part: revenue, power and opex of the live AI sites in a
    /// month of `days` days with demand `demand_mw` at `gpu_hour_usd`; the
    /// utilisation is demand over live IT MW, capped at the fleet's `u_max`.
    #[inline(always)]
    pub fn ai_flows(
        &self,
        fleet: &Fleet,
        days: f64,
        demand_mw: f64,
        gpu_hour_usd: f64,
        fl: &mut MonthFlows,
    ) {
        if self.ai_mw > 0.0 {
            let u = fleet.u_max.min(demand_mw / self.ai_mw);
            fl.ai_revenue_usd = self.ai_mw * u * fleet.ai_rate_usd_per_mw_it(days, gpu_hour_usd);
            fl.ai_power_usd = u * fleet.ai_power_usd_per_mw_it(days, 1.0) * self.ai_power_coef;
            fl.ai_opex_usd = self.ai_mw * fleet.ai_opex_usd_per_mw_it_month;
            fl.ai_utilisation = u;
            fl.ai_live = true;
        }
    }
}

/// Takes `i` out of the ascending list `sites`, keeping the order.
fn remove_sorted(sites: &mut Vec<usize>, i: usize) {
    if let Ok(k) = sites.binary_search(&i) {
        sites.remove(k);
    }
}

/// The project debt's payment schedule: each capex installment financed by
/// debt is an annuity whose payment starts the month after and runs for the
/// debt's term.
#[derive(Debug, Default)]
pub(crate) struct DebtSchedule {
    /// Change of the payment at the start of month t (`months + 1` entries).
    payment_delta: Vec<f64>,
    /// The payment due this month.
    payment_usd: f64,
}

impl DebtSchedule {
    fn reset(&mut self, months: usize) {
        self.payment_delta.clear();
        self.payment_delta.resize(months + 1, 0.0);
        self.payment_usd = 0.0;
    }

    /// The payment due in month `t` (call once per month, in order).
    #[inline(always)]
    pub fn due(&mut self, t: usize) -> f64 {
        self.payment_usd += self.payment_delta[t];
        self.payment_usd
    }

    /// `debt_usd` borrowed in month `t`: a new annuity, first payment next month.
    #[inline(always)]
    pub fn borrow(&mut self, t: usize, debt_usd: f64, r: &Rules) {
        if debt_usd > 0.0 {
            let pmt = debt_usd * r.debt_payment_per_usd;
            let months = self.payment_delta.len() - 1;
            self.payment_delta[t + 1] += pmt;
            let end = t + 1 + r.debt_term_months;
            if end <= months {
                self.payment_delta[end] -= pmt;
            }
        }
    }
}

/// The `capex_budget` period being counted and the capex accepted in it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CapexPeriod {
    period: usize,
    pub spent_usd: f64,
}

impl Default for CapexPeriod {
    fn default() -> CapexPeriod {
        CapexPeriod::START
    }
}

impl CapexPeriod {
    /// No period entered. (A replay resumed before its first conversion
    /// starts here too: a new period or not, nothing has been accepted in it.)
    pub const START: CapexPeriod = CapexPeriod {
        period: usize::MAX,
        spent_usd: 0.0,
    };

    /// Month's budget `cap` (period id, cap): a new period starts afresh.
    #[inline(always)]
    pub fn enter(&mut self, cap: Option<(usize, f64)>) {
        if let Some((period, _)) = cap
            && period != self.period
        {
            self.period = period;
            self.spent_usd = 0.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_annuity_is_paid_from_the_next_month_for_its_term() {
        let r = Rules {
            debt_payment_per_usd: 0.5,
            debt_term_months: 2,
            ..crate::sim::rules::tests::rules()
        };
        let mut d = DebtSchedule::default();
        d.reset(5);
        assert_eq!(d.due(0), 0.0);
        d.borrow(0, 10.0, &r);
        assert_eq!(d.due(1), 5.0);
        d.borrow(1, 2.0, &r);
        assert_eq!(d.due(2), 6.0);
        assert_eq!(d.due(3), 1.0, "the first annuity ended after 2 payments");
        assert_eq!(d.due(4), 0.0);
        // Borrowed in the last month: paid after the horizon, no entry past it.
        d.borrow(4, 10.0, &r);
    }

    #[test]
    fn a_capex_period_starts_afresh_only_when_its_id_changes() {
        let mut c = CapexPeriod::START;
        c.enter(Some((7, 100.0)));
        c.spent_usd += 40.0;
        c.enter(Some((7, 100.0)));
        assert_eq!(c.spent_usd, 40.0);
        c.enter(None);
        assert_eq!(c.spent_usd, 40.0);
        c.enter(Some((8, 100.0)));
        assert_eq!(c.spent_usd, 0.0);
    }
}
