//! The replay's shortcuts, each a copy of a state the full replay would
//! reach anyway: a policy is replayed on the passive path (every site
//! mining, the same treasury) until its first conversion starts, so its
//! first start can be found without the treasury steps
//! ([`Model::first_start`]) and a policy without memory can resume from the
//! passive replay's state at that month ([`Start::Resume`], [`Carry`]).
//! The engine's tests replay every policy in full and compare, bit for bit.

use crate::model::market::MarketPath;
use crate::model::mining::MiningTable;
use crate::model::state::{SiteState, TreasuryState};

use crate::policy::PassivePath;

use super::state::Running;
use super::{Model, Scratch};

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
    pub(crate) treasury: TreasuryState,
    pub(crate) running: Running,
}

impl Model {
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
        // A policy with a faster way of its own (the threshold policy tests
        // every month at once).
        scratch.passive_reset(self, p);
        let Scratch {
            state,
            memories,
            requests,
            ..
        } = scratch;
        let sites = &state.sites.states;
        let path = PassivePath {
            fleet: &self.fleet,
            days: &self.calendar.days[..months],
            market,
            table,
        };
        let fast = self.policies[p].first_ask_on_passive_path(
            &path,
            &mut memories[p],
            requests,
            &|t| self.passive_may_accept(t, market, &seen[t]),
            &mut |t, asks| self.passive_accepts(t, market, &seen[t], sites, asks),
        );
        match fast {
            Some(first) => first,
            None => self.first_start_by_month(p, market, table, &seen[..months], scratch),
        }
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
        scratch.passive_reset(self, p);
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
                &scratch.state.sites.states,
                &self.fleet.convertible,
                tr,
                // `ai_mw + converting_it_mw` of a replay with no site left:
                // 0.0 + 0.0.
                0.0,
                0,
                0,
            );
            policy.decide(&view, &mut scratch.memories[p], &mut scratch.requests);
            if !scratch.requests.is_empty()
                && self.passive_accepts(
                    t,
                    market,
                    tr,
                    &scratch.state.sites.states,
                    &scratch.requests,
                )
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
}

impl Scratch {
    /// Every site mining and the policy's memory fresh: the start of a
    /// path, as [`Model::first_start`] tests it.
    fn passive_reset(&mut self, model: &Model, p: usize) {
        self.state.sites.states.clear();
        self.state
            .sites
            .states
            .resize(model.fleet.len(), SiteState::Mining);
        self.start_path(model, p);
    }
}
