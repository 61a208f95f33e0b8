//! Allocation policies: which sites to start converting, month by month.
//!
//! A policy is data in the scenario (`[[policies]]`); [`build`] makes each
//! entry a [`Policy`], one file per kind. A policy sees only a
//! [`PolicyView`]: the market up to and including month t (slices that end
//! at t, so a later month cannot be read), the sites' states, the treasury
//! after step 0, and the sites' mining margins of month t. What a kind keeps
//! from one month to the next (the threshold streaks) is its own type, made
//! by [`Policy::memory`] and handed back to it in a [`PolicyMemory`].
//!
//! To add a kind: a file with a type implementing [`Policy`], its
//! [`PolicyKind`] variant in the scenario, and its arm in [`build`].

mod full_pivot;
mod hold;
mod rank;
mod staged;
mod threshold;

use std::any::Any;

use crate::model::calendar::Calendar;
use crate::model::fleet::Fleet;
use crate::model::market::{MarketModel, MarketPath};
use crate::model::mining::{MiningTable, MonthMargins};
use crate::model::state::{SiteState, TreasuryState};
use crate::scenario::{PolicyKind, PolicySpec};

pub use full_pivot::FullPivot;
pub use hold::Hold;
pub use staged::Staged;
pub use threshold::Threshold;

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
    pub ai_demand_mw_it: &'a [f64],
    pub fleet: &'a Fleet,
    /// Each site's state at the start of month t.
    pub sites: &'a [SiteState],
    /// The convertible sites still mining at the start of month t, in
    /// fleet order.
    pub convertible_mining: &'a [usize],
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

/// A policy's memory of one path: a value of the policy's own type (see
/// [`Policy::memory`]), scratch included, kept between paths by the
/// worker so that a path allocates nothing.
pub struct PolicyMemory(Box<dyn Any + Send>);

impl PolicyMemory {
    pub fn new<T: Any + Send>(memory: T) -> PolicyMemory {
        PolicyMemory(Box::new(memory))
    }

    /// The memory of a policy that keeps none.
    pub fn none() -> PolicyMemory {
        PolicyMemory::new(())
    }

    /// The memory as the type its policy made it.
    ///
    /// # Panics
    /// If it is of another type: a policy was handed another's memory.
    #[inline(always)]
    pub fn get_mut<T: Any>(&mut self) -> &mut T {
        self.0
            .downcast_mut()
            .expect("a policy is handed the memory it made")
    }
}

impl std::fmt::Debug for PolicyMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PolicyMemory")
    }
}

/// The passive path (every site mining, nothing converting or live as AI)
/// of one market path, months `0..days.len()`: what
/// [`Policy::first_ask_on_passive_path`] may read.
pub struct PassivePath<'a> {
    pub fleet: &'a Fleet,
    /// Days of each month tested.
    pub days: &'a [f64],
    pub market: &'a MarketPath,
    pub table: &'a MiningTable,
}

/// Decides which sites to start converting.
pub trait Policy: Send + Sync {
    /// Push the sites to start converting this month onto `requests`, in order
    /// of preference. The treasury then accepts them while they are fundable.
    fn decide(&self, view: &PolicyView<'_>, memory: &mut PolicyMemory, requests: &mut Vec<usize>);

    /// The policy's memory, made once per worker and reused for every path
    /// (see [`Policy::start_path`]). By default none.
    fn memory(&self) -> PolicyMemory {
        PolicyMemory::none()
    }

    /// Makes `memory` fresh for a new path on a fleet of `sites` sites.
    fn start_path(&self, memory: &mut PolicyMemory, sites: usize) {
        let _ = (memory, sites);
    }

    /// True if the policy never asks for a conversion. Its replay is then
    /// the one every policy follows until its first conversion starts, which
    /// lets the engine skip replaying policies that never start one on a
    /// path.
    fn passive(&self) -> bool {
        false
    }

    /// True if `decide` reads nothing from its memory that it wrote in an
    /// earlier month (its asks depend on the month's view alone). Until its
    /// first conversion starts, such a policy's replay is then the passive
    /// one, state and all, so the engine resumes its replay at that month
    /// from the passive replay's state.
    fn memoryless(&self) -> bool {
        false
    }

    /// A faster way, if the policy has one, to find the first month in
    /// which it would start a conversion had it followed the passive path:
    /// `Some(answer)`; `None` (the default) to be asked month by month.
    /// `accept(t, asks)` is step 1's test of month `t`'s asks on that path,
    /// and must not depend on their order; `may_accept(t)` is false only
    /// for months in which `accept` is false whatever the asks. `memory`
    /// serves as scratch; it is made fresh before the next path's replay.
    fn first_ask_on_passive_path(
        &self,
        path: &PassivePath<'_>,
        memory: &mut PolicyMemory,
        requests: &mut Vec<usize>,
        may_accept: &dyn Fn(usize) -> bool,
        accept: &mut dyn FnMut(usize, &[usize]) -> bool,
    ) -> Option<Option<usize>> {
        let _ = (path, memory, requests, may_accept, accept);
        None
    }
}

/// What building a policy may see: the model of a path (fleet, calendar,
/// market sampler) and paths to train on. A policy fitted on simulated
/// paths (e.g. by regression, Longstaff-Schwartz) samples them with
/// [`BuildContext::training_path`]: they are drawn on path indices of their
/// own (from [`TRAINING_PATHS_FROM`] up), so training moves no draw of any
/// path of the run.
pub struct BuildContext<'a> {
    pub fleet: &'a Fleet,
    pub calendar: &'a Calendar,
    pub market: &'a MarketModel,
    /// The run's master seed.
    pub seed: u64,
}

/// The first path index of the training paths: far above any run's paths.
pub const TRAINING_PATHS_FROM: u64 = 1 << 62;

impl BuildContext<'_> {
    /// Training path `k`: its market and its mining table, into the buffers
    /// given (reused across calls).
    pub fn training_path(&self, k: u64, market: &mut MarketPath, table: &mut MiningTable) {
        if market.months() != self.calendar.months() {
            *market = MarketPath::with_months(self.calendar.months());
        }
        self.market
            .sample(self.seed, TRAINING_PATHS_FROM + k, market);
        table.fill(self.fleet, self.calendar, market);
    }
}

/// Build the policy a scenario names, on the model `ctx` describes.
pub fn build(spec: &PolicySpec, ctx: &BuildContext<'_>) -> Box<dyn Policy> {
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
        } => Box::new(Threshold::new(
            ctx.fleet,
            hurdle,
            window_months,
            max_concurrent,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Training paths are the market model's own paths at indices no run
    /// reaches: reproducible, and none is a path of the run.
    #[test]
    fn training_paths_are_reproducible_and_apart_from_the_run() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let sc = crate::scenario::load(&dir.join("smoke.toml")).unwrap();
        let calendar = Calendar::new(&sc);
        let fleet = Fleet::new(&sc);
        let market = MarketModel::new(&sc.market, &calendar);
        let ctx = BuildContext {
            fleet: &fleet,
            calendar: &calendar,
            market: &market,
            seed: sc.simulation.seed,
        };
        let (mut a, mut b) = (MarketPath::with_months(1), MarketPath::with_months(1));
        let (mut ta, mut tb) = (MiningTable::default(), MiningTable::default());
        ctx.training_path(3, &mut a, &mut ta);
        ctx.training_path(3, &mut b, &mut tb);
        assert_eq!(a.btc_price_usd, b.btc_price_usd);
        assert_eq!(ta.months(), calendar.months());
        let mut run = MarketPath::with_months(calendar.months());
        for path in 0..64 {
            market.sample(sc.simulation.seed, path, &mut run);
            assert_ne!(run.btc_price_usd, a.btc_price_usd, "run path {path}");
        }
    }
}
