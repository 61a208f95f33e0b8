//! One policy replayed on one market path: the monthly step, written once.
//!
//! [`Model`] holds everything that is the same for every path (calendar,
//! fleet, treasury rules, events, policies). A replay is a loop of months
//! ([`Model::replay`]); a month ([`Model::month`]) takes the
//! [`MonthState`] at its start to the state at its end through the steps of
//! `docs/model.md` (events, policy, mining, cash flows, funding, covenant,
//! maturity, repair), each a function of its own: the policy's step in
//! [`step1`], the treasury's in [`treasury`]. Every flow of a month is
//! recorded in a [`MonthFlows`], which the replay ledger prints and the
//! invariant tests check; the hot loop passes a no-op observer, so recording
//! costs nothing there. The shortcuts that spare replaying the passive path
//! again live in [`shortcuts`].

mod flows;
mod rules;
mod shortcuts;
mod state;
mod step1;
pub(crate) mod treasury;

use crate::model::calendar::Calendar;
use crate::model::fleet::Fleet;
use crate::model::market::{MarketModel, MarketPath};
use crate::model::mining::MiningTable;
use crate::policy::{self, Policy, PolicyMemory};
use crate::scenario::{EventKind, Scenario};

pub use crate::model::state::{SiteState, TreasuryState};
pub use flows::{MonthFlows, MonthRecord, MwByState, PolicyOutcome};
pub use shortcuts::PathReplays;
pub(crate) use shortcuts::{Carry, Start};
pub use state::MonthState;

use rules::Rules;
use step1::Asker;

/// Scratch buffers of one replay, reused across paths by a worker.
#[derive(Debug, Default)]
pub struct Scratch {
    state: MonthState,
    /// Each policy's memory, made by the policy the first time it is
    /// replayed (in the model's order).
    memories: Vec<PolicyMemory>,
    requests: Vec<usize>,
    /// Sites that started converting this month, in acceptance order.
    started: Vec<usize>,
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
    /// The first policy that never asks for a conversion (`hold`), if any:
    /// the passive replay the others follow until their first start.
    passive: Option<usize>,
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
        let rules = Rules::new(scenario);
        let ctx = policy::BuildContext {
            fleet: &fleet,
            calendar: &calendar,
            market: &MarketModel::new(&scenario.market, &calendar),
            seed: scenario.simulation.seed,
        };
        let policies: Vec<Box<dyn Policy>> = scenario
            .policies
            .iter()
            .map(|s| policy::build(s, &ctx))
            .collect();
        let passive = policies.iter().position(|p| p.passive());
        // The same product as the acceptance test of step 1.
        let min_conversion_equity_usd = fleet
            .convertible
            .iter()
            .map(|&i| rules.equity_share * fleet.sites[i].capex_usd)
            .fold(f64::INFINITY, f64::min);
        Model {
            calendar,
            fleet,
            policies,
            rules,
            capex_cap,
            min_conversion_equity_usd,
            passive,
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
        self.replay_from::<true, F>(p, market, table, scratch, out, Start::Beginning, observe);
    }

    /// [`Model::replay`] from where `start` says. Resumed at month `t0`, the
    /// replay writes only months `t0..` of `out`'s monthly series (the
    /// earlier months are the passive replay's) and `observe` sees only
    /// those months; its other figures are the whole path's. With
    /// `SHORTCUTS` (every caller but the tests that check the shortcut), a
    /// policy without memory is not asked in a month whose step 1 can start
    /// nothing.
    ///
    /// # Panics
    /// If a resumed replay's month is not below the months simulated.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn replay_from<const SHORTCUTS: bool, F: FnMut(&MonthRecord<'_>)>(
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
        let policy = &*self.policies[p];
        let asker = Asker {
            p,
            policy,
            passive: policy.passive(),
            memoryless: policy.memoryless(),
        };
        out.reset(months);
        scratch.start_path(self, p);
        scratch.state.reset(&self.rules, &self.fleet, months);
        let tail_from = months.saturating_sub(12);

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
                scratch.state.treasury = c.treasury;
                scratch.state.running = c.running;
            }
        }

        // Month-indexed inputs and outputs as slices of exactly `months`
        // entries, so that indexing by `t < months` needs no bounds checks.
        let price_usd = &market.btc_price_usd[..months];
        let discount = &self.calendar.discount[..months];
        let out_revenue = &mut out.revenue_usd[..months];
        let out_mining_revenue = &mut out.mining_revenue_usd[..months];
        let out_ai_revenue = &mut out.ai_revenue_usd[..months];
        let out_btc_mined = &mut out.btc_mined[..months];
        let out_reserve_btc = &mut out.reserve_btc[..months];
        let out_reserve_usd = &mut out.reserve_usd[..months];
        let out_net_reserve = &mut out.net_reserve_usd[..months];
        let out_mw = &mut out.mw[..months];
        for t in first_month..months {
            if let Some(carries) = record.as_deref_mut() {
                carries.push(Carry {
                    treasury: scratch.state.treasury,
                    running: scratch.state.running,
                });
            }
            let s = price_usd[t];
            let (open, seen, fl, mw) = self.month::<SHORTCUTS>(t, &asker, market, table, scratch);
            let state = &mut scratch.state;
            let end =
                state
                    .running
                    .close_month(t, discount[t], t >= tail_from, &fl, &state.treasury, s);
            out_revenue[t] = end.revenue_usd;
            out_mining_revenue[t] = fl.mining_revenue_usd;
            out_ai_revenue[t] = fl.ai_revenue_usd;
            out_btc_mined[t] = fl.btc_mined;
            out_reserve_btc[t] = state.treasury.reserve_btc;
            out_reserve_usd[t] = end.reserve_usd;
            out_net_reserve[t] = end.net_reserve_usd;
            out_mw[t] = mw;
            observe(&MonthRecord {
                t,
                open: &open,
                seen: &seen,
                close: &state.treasury,
                flows: &fl,
                started: &scratch.started,
                sites: &state.sites.states,
                mw,
            });
        }
        let state = &scratch.state;
        state
            .running
            .finish(&self.rules, self.calendar.terminal_discount, out);
        out.conversions_started = state.sites.left.len() as u32;
    }

    /// Month `t` of a replay: `scratch.state` from the start of the month to
    /// its end, through the steps in order. Returns the treasury at the
    /// start of the month, the treasury the policy saw (after the events),
    /// the month's flows and the MW in each state.
    #[inline(always)]
    fn month<const SHORTCUTS: bool>(
        &self,
        t: usize,
        asker: &Asker<'_>,
        market: &MarketPath,
        table: &MiningTable,
        scratch: &mut Scratch,
    ) -> (TreasuryState, TreasuryState, MonthFlows, MwByState) {
        let r = &self.rules;
        let fleet = &self.fleet;
        let s = market.btc_price_usd[t];
        let mut fl = MonthFlows::default();
        let state = &mut scratch.state;
        state.sites.go_live(t, fleet);
        let payment_usd = state.debt.due(t);
        let open = state.treasury;

        // Step 0: scheduled events.
        for &k in &self.events_by_month[t] {
            treasury::event(&self.events[k], r, s, &mut state.treasury, &mut fl);
        }
        if t == 0 {
            state.running.open(&state.treasury, s);
        }
        let seen = state.treasury;

        // Step 1: the policy asks; the treasury accepts while fundable.
        self.step1::<SHORTCUTS>(t, asker, market, table, scratch);
        let state = &mut scratch.state;
        let tr = &mut state.treasury;

        // Step 2: mining.
        let (mining, mw) = state.sites.mining(t, fleet, table);
        treasury::mining_proceeds(r, s, &mining, tr, &mut fl);

        // Step 3: cash flows, and the new project debt's annuity.
        state.sites.ai_flows(
            fleet,
            self.calendar.days[t],
            market.ai_demand_mw_it[t],
            market.gpu_hour_usd[t],
            &mut fl,
        );
        treasury::cash_flows(r, state.sites.installments_usd, payment_usd, tr, &mut fl);
        state.debt.borrow(t, fl.capex_debt_usd, r);

        // Steps 4 to 7: funding (and the standing LTV rule), covenant,
        // maturity, repair.
        treasury::fund(r, s, tr, &mut fl);
        treasury::sell_to_target_ltv(r, s, tr, &mut fl);
        treasury::covenant(r, s, tr, &mut fl);
        treasury::maturity(r, s, t, tr, &mut fl);
        treasury::repair(r, tr, &mut fl);
        (open, seen, fl, mw)
    }
}

impl Scratch {
    /// Policy `p`'s memory made fresh for a new path (made first if `p` was
    /// never replayed with this scratch).
    pub(crate) fn start_path(&mut self, model: &Model, p: usize) {
        while self.memories.len() <= p {
            let next = &model.policies[self.memories.len()];
            self.memories.push(next.memory());
        }
        model.policies[p].start_path(&mut self.memories[p], model.fleet.len());
    }
}
