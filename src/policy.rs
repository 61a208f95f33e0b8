//! Allocation policies (MODEL.md section 4).
//!
//! A policy is data in the scenario (`[[policies]]`); here each kind becomes a
//! [`Policy`] with one required method. A policy sees only a [`PolicyView`]:
//! the market up to and including month t (slices that end at t, so a later
//! month cannot be read), the sites' states, the treasury after step 0, and
//! the sites' mining margins of month t. Per-path memory a policy needs (the
//! threshold streaks) lives in [`PolicyMemory`], reset for every path.

use crate::fleet::{Fleet, MonthMargins};
use crate::scenario::{PolicyKind, PolicySpec};
use crate::sim::{SiteState, TreasuryState};

/// What a policy may look at in month t.
pub struct PolicyView<'a> {
    /// The month, 0-based.
    pub t: usize,
    /// Days in month t.
    pub days: f64,
    /// Market history, months 0 ..= t.
    pub btc_price_usd: &'a [f64],
    pub hashprice_usd_per_eh_day: &'a [f64],
    pub gpu_hour_usd: &'a [f64],
    pub ai_demand_mw: &'a [f64],
    pub fleet: &'a Fleet,
    /// Each site's state at the start of month t.
    pub sites: &'a [SiteState],
    /// The treasury after month t's scheduled events.
    pub treasury: &'a TreasuryState,
    /// Mining margin per MW of each site in month t (curtailment applied).
    pub mining_margin_usd_per_mw: MonthMargins<'a>,
    /// IT MW of sites live or converting at the start of month t.
    pub ai_mw_live_and_converting: f64,
    /// Sites converting at the start of month t.
    pub converting_now: usize,
    /// Sites that have left mining (converting or AI): conversions started.
    pub started: usize,
}

/// Per-path memory of a policy.
#[derive(Debug, Clone, Default)]
pub struct PolicyMemory {
    /// Threshold: consecutive months each site has passed while mining.
    pub streak: Vec<u32>,
    /// Threshold: this month's AI margin minus hurdle per MW, by convertible
    /// site (scratch, see [`Fleet::threshold_excess_usd_per_mw`]).
    pub excess_usd_per_mw: Vec<f64>,
}

impl PolicyMemory {
    pub fn reset(&mut self, sites: usize) {
        self.streak.clear();
        self.streak.resize(sites, 0);
    }
}

/// Decides which sites to start converting.
pub trait Policy: Send + Sync {
    /// Push the sites to start converting this month onto `requests`, in order
    /// of preference. The treasury then accepts them while they are fundable.
    fn decide(&self, view: &PolicyView<'_>, memory: &mut PolicyMemory, requests: &mut Vec<usize>);
}

/// Build the policy a scenario names.
pub fn build(spec: &PolicySpec) -> Box<dyn Policy> {
    match spec.kind {
        PolicyKind::Hold => Box::new(Hold),
        PolicyKind::FullPivot => Box::new(FullPivot),
        PolicyKind::Staged {
            sites_per_quarter,
            max_sites,
        } => Box::new(Staged {
            sites_per_quarter,
            max_sites,
        }),
        PolicyKind::Threshold {
            hurdle,
            window_months,
            max_concurrent,
        } => Box::new(Threshold {
            hurdle,
            window_months,
            max_concurrent,
        }),
    }
}

/// Never converts: the baseline.
pub struct Hold;

impl Policy for Hold {
    fn decide(&self, _: &PolicyView<'_>, _: &mut PolicyMemory, _: &mut Vec<usize>) {}
}

/// Every month, every convertible site still mining, in fleet order.
pub struct FullPivot;

impl Policy for FullPivot {
    fn decide(&self, view: &PolicyView<'_>, _: &mut PolicyMemory, requests: &mut Vec<usize>) {
        requests.extend(convertible_mining(view));
    }
}

/// In months 0, 3, 6, ...: the `sites_per_quarter` convertible mining sites
/// with the lowest mining margin per MW, until `max_sites` have started.
pub struct Staged {
    pub sites_per_quarter: usize,
    pub max_sites: usize,
}

impl Policy for Staged {
    fn decide(&self, view: &PolicyView<'_>, _: &mut PolicyMemory, requests: &mut Vec<usize>) {
        if !view.t.is_multiple_of(3) {
            return;
        }
        let want = self
            .sites_per_quarter
            .min(self.max_sites.saturating_sub(view.started));
        if want == 0 {
            return;
        }
        let start = requests.len();
        requests.extend(convertible_mining(view));
        sort_by_margin(&mut requests[start..], view.mining_margin_usd_per_mw);
        requests.truncate(start + want);
    }
}

/// Converts a site once AI beats mining by a hurdle for a window of months.
pub struct Threshold {
    pub hurdle: f64,
    pub window_months: usize,
    pub max_concurrent: usize,
}

impl Policy for Threshold {
    fn decide(&self, view: &PolicyView<'_>, memory: &mut PolicyMemory, requests: &mut Vec<usize>) {
        let t = view.t;
        let fleet = view.fleet;
        let demand = view.ai_demand_mw[t];
        let ai = fleet.ai_month(view.days, view.gpu_hour_usd[t]);
        fleet.threshold_excess_usd_per_mw(
            &ai,
            demand,
            view.ai_mw_live_and_converting,
            self.hurdle,
            &mut memory.excess_usd_per_mw,
        );
        let start = requests.len();
        for (&i, &excess) in fleet.convertible.iter().zip(&memory.excess_usd_per_mw) {
            if view.sites[i] != SiteState::Mining {
                continue;
            }
            let passes = excess > view.mining_margin_usd_per_mw.get(i);
            memory.streak[i] = if passes { memory.streak[i] + 1 } else { 0 };
            if memory.streak[i] as usize >= self.window_months {
                requests.push(i);
            }
        }
        let room = self.max_concurrent.saturating_sub(view.converting_now);
        sort_by_margin(&mut requests[start..], view.mining_margin_usd_per_mw);
        requests.truncate(start + room.min(requests.len() - start));
    }
}

/// Convertible sites still mining, in fleet order.
fn convertible_mining<'a>(view: &'a PolicyView<'_>) -> impl Iterator<Item = usize> + 'a {
    view.fleet
        .convertible
        .iter()
        .copied()
        .filter(|&i| view.sites[i] == SiteState::Mining)
}

/// Lowest mining margin first; ties keep fleet order (stable sort).
fn sort_by_margin(sites: &mut [usize], margin: MonthMargins<'_>) {
    sites.sort_by(|&a, &b| margin.get(a).total_cmp(&margin.get(b)));
}
