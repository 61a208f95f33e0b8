//! Step 1 of a month: the policy sees the month ([`PolicyView`]) and asks
//! for sites to convert; the treasury accepts them in the order asked while
//! they are fundable (equity within the funding budget under strict
//! funding, capex within the `capex_budget` in force).

use crate::model::market::MarketPath;
use crate::model::mining::MiningTable;
use crate::model::state::{SiteState, TreasuryState};
use crate::policy::{Policy, PolicyView};

use super::{Model, Scratch};

/// What the monthly step needs to know of the policy it replays.
pub(crate) struct Asker<'a> {
    /// The policy's index in the model.
    pub p: usize,
    pub policy: &'a dyn Policy,
    /// Never asks (`Policy::passive`).
    pub passive: bool,
    /// Keeps no memory between months (`Policy::memoryless`).
    pub memoryless: bool,
}

impl Model {
    /// Step 1 of month `t`: `scratch.requests` gets the policy's asks and
    /// `scratch.started` the sites accepted, in order; accepted sites start
    /// converting in `scratch.state`. Without `SHORTCUTS` every policy is
    /// asked every month (the definition the shortcut is tested against).
    #[inline(always)]
    pub(crate) fn step1<const SHORTCUTS: bool>(
        &self,
        t: usize,
        asker: &Asker<'_>,
        market: &MarketPath,
        table: &MiningTable,
        scratch: &mut Scratch,
    ) {
        let Scratch {
            state,
            memories,
            requests,
            started,
        } = scratch;
        requests.clear();
        started.clear();
        let s = market.btc_price_usd[t];
        // What step 1 may commit does not depend on the requests. A policy
        // without memory between months is not asked in a month whose step
        // 1 can start nothing (its requests would all be turned down, and
        // asking leaves no trace); one with memory is asked every month,
        // and the budget is worked out only if it asks for something.
        let known_budget = (SHORTCUTS && asker.memoryless && !asker.passive)
            .then(|| self.step1_budget(&state.treasury, s, t, &state.sites.converting));
        let unfundable = matches!(known_budget, Some(None));
        // A passive policy asks for nothing: no view to build for it.
        if !asker.passive && !unfundable {
            let sites = &state.sites;
            let view = self.view(
                t,
                market,
                table,
                &sites.states,
                &sites.convertible_mining,
                &state.treasury,
                sites.ai_mw + sites.converting_it_mw,
                sites.converting.len(),
                sites.left.len(),
            );
            asker.policy.decide(&view, &mut memories[asker.p], requests);
        }
        let cap = self.capex_cap[t];
        state.capex.enter(cap);
        if !requests.is_empty()
            && let Some(mut budget) = known_budget.unwrap_or_else(|| {
                self.step1_budget(&state.treasury, s, t, &state.sites.converting)
            })
        {
            for &i in requests.iter() {
                if !self.accepts(
                    i,
                    &state.sites.states,
                    &mut budget,
                    cap,
                    &mut state.capex.spent_usd,
                ) {
                    continue;
                }
                state.sites.start(i, t, &self.fleet);
                started.push(i);
            }
        }
    }

    /// Policy `p`'s view of month `t` (see [`PolicyView`]).
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub(crate) fn view<'a>(
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
            ai_demand_mw_it: &market.ai_demand_mw_it[..=t],
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
    pub(crate) fn step1_budget(
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

    /// Step 1's test of one request: the site is still mining and
    /// convertible (policies only ask for those; guarded anyway), its equity
    /// share of the capex fits `budget` under strict funding, and its full
    /// capex (equity and debt) fits the `capex_budget` in force with
    /// `cap_spent` already committed. If so, the equity comes off `budget`,
    /// the capex goes into `cap_spent`, and it returns true.
    #[inline(always)]
    pub(crate) fn accepts(
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

    /// The equity the treasury can still commit to new conversions in month
    /// t: spendable cash and free BTC above the floor, minus the equity
    /// share of the installments not yet paid (this month's included) of
    /// the conversions under way: `converting`, each site with the month it
    /// goes live, in the order they started.
    fn funding_budget(
        &self,
        tr: &TreasuryState,
        s: f64,
        t: usize,
        converting: &[(usize, usize)],
    ) -> f64 {
        let r = &self.rules;
        let liquid = r.spendable_cash_usd(tr.cash_usd)
            + (tr.free_btc(s, r.initial_ltv) - r.reserve_floor_btc).max(0.0) * s;
        let committed: f64 = converting
            .iter()
            .map(|&(i, live)| (live - t) as f64 * self.fleet.sites[i].installment_usd)
            .sum();
        liquid - r.equity_share * committed
    }
}

#[cfg(test)]
mod tests {
    use crate::model::state::TreasuryState;
    use crate::scenario::CapexFunding;
    use crate::sim::Model;

    fn model(funding: CapexFunding) -> Model {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let mut sc = crate::scenario::load(&dir.join("cango_2026.toml")).unwrap();
        sc.financing.capex_funding = funding;
        sc.treasury.reserve_floor_btc = 0.0;
        Model::new(&sc)
    }

    /// Under strict funding, step 1 can start nothing in a month whose
    /// budget (spendable cash and free BTC, less the equity committed to
    /// conversions under way) is below the least equity any conversion
    /// needs: `step1_budget` says so (`None`, the month a policy without
    /// memory is not asked in), and every request fails `accepts` then.
    /// Just above it, the cheapest conversion is accepted.
    #[test]
    fn the_fundability_skip_is_exactly_the_months_no_request_can_pass() {
        let m = model(CapexFunding::Strict);
        let r = &m.rules;
        let need = m.min_conversion_equity_usd;
        assert!(need.is_finite() && need > 0.0);
        let cheapest = *m
            .fleet
            .convertible
            .iter()
            .find(|&&i| r.equity_share * m.fleet.sites[i].capex_usd == need)
            .unwrap();
        let sites = vec![crate::sim::SiteState::Mining; m.fleet.len()];
        let with_cash = |cash_usd: f64| TreasuryState {
            cash_usd: r.min_cash_usd + cash_usd,
            ..TreasuryState::default()
        };
        // Below the least equity: nothing can start.
        let poor = with_cash(need * 0.999);
        assert_eq!(m.step1_budget(&poor, 70_000.0, 0, &[]), None);
        let mut budget = need * 0.999;
        for &i in &m.fleet.convertible {
            assert!(!m.accepts(i, &sites, &mut budget, None, &mut 0.0));
        }
        // Enough for the cheapest: a budget, and that site passes.
        let rich = with_cash(need);
        let mut budget = m.step1_budget(&rich, 70_000.0, 0, &[]).unwrap();
        assert!(m.accepts(cheapest, &sites, &mut budget, None, &mut 0.0));
        assert_eq!(budget, 0.0);
        // Conversions under way commit equity: the same cash is not enough.
        let live = 3;
        let under_way = [(cheapest, live)];
        assert_eq!(m.step1_budget(&rich, 70_000.0, 0, &under_way), None);
        // Without strict funding every month may start a conversion.
        let loose = model(CapexFunding::Borrow);
        assert_eq!(
            loose.step1_budget(&poor, 70_000.0, 0, &[]),
            Some(f64::INFINITY)
        );
    }
}
