//! Every policy replayed on one path ([`Model::replay_policies`]), with the
//! shortcuts that spare replaying the passive path again, each a copy of a
//! state the full replay would reach anyway. Until its first conversion
//! starts, a policy's path is the passive policy's (every site mining, the
//! same treasury), so:
//!
//! - its first start can be found without the treasury steps
//!   ([`Model::first_start`]), and a policy that never starts one gets the
//!   passive replay's outcome, copied;
//! - a policy without memory resumes from the passive replay's state at
//!   the month of its first start ([`Start::Resume`], [`Carry`]);
//! - (in step 1) a policy without memory is not asked in a month whose
//!   step 1 can start nothing.
//!
//! The tests below replay every policy in full, asked every month, and
//! compare the outcomes bit for bit.

use crate::model::market::MarketPath;
use crate::model::mining::MiningTable;
use crate::model::state::{SiteState, TreasuryState};

use crate::policy::PassivePath;

use super::flows::PolicyOutcome;
use super::state::Running;
use super::{Model, Scratch};

/// Where a replay starts ([`Model::replay_from`]).
pub(crate) enum Start<'a> {
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
pub(crate) struct Carry {
    pub(crate) treasury: TreasuryState,
    pub(crate) running: Running,
}

/// The buffers of [`Model::replay_policies`], kept by a worker between
/// paths: each policy's outcome on the last path, and the replays' scratch.
#[derive(Debug, Default)]
pub struct PathReplays {
    /// Policy `p`'s outcome on the path last replayed, unless it is the
    /// passive policy's (`copy_of[p]`): read them with [`PathReplays::outcome`].
    outcomes: Vec<PolicyOutcome>,
    /// The passive policy, for a policy whose replay is the passive one on
    /// this path (it starts no conversion): its outcome is not copied.
    copy_of: Vec<Option<usize>>,
    scratch: Scratch,
    /// Per month, the treasury the passive policy saw in step 1.
    seen: Vec<TreasuryState>,
    /// Per month, the passive replay's state at its start.
    carries: Vec<Carry>,
}

/// What a policy's replay follows on a path: the passive replay's outcome,
/// the treasury it saw in each month's step 1 and its state at the start
/// of each month.
struct Follower<'a> {
    market: &'a MarketPath,
    table: &'a MiningTable,
    seen: &'a [TreasuryState],
    carries: &'a [Carry],
    passive_out: &'a PolicyOutcome,
}

impl PathReplays {
    /// Policy `p`'s outcome on the path last replayed.
    #[inline]
    pub fn outcome(&self, p: usize) -> &PolicyOutcome {
        &self.outcomes[self.copy_of[p].unwrap_or(p)]
    }
}

impl Model {
    /// Every policy replayed on one market path (`table` its mining):
    /// `replays.outcome(p)` is, bit for bit, what [`Model::replay`] gives
    /// for policy `p`. The passive policy (`hold`) is replayed first; the
    /// others follow it until their first start (see the module's doc).
    pub fn replay_policies(
        &self,
        market: &MarketPath,
        table: &MiningTable,
        replays: &mut PathReplays,
    ) {
        let n = self.policies.len();
        replays.outcomes.resize_with(n, PolicyOutcome::default);
        replays.copy_of.clear();
        replays.copy_of.resize(n, None);
        self.replay_passive(market, table, replays);
        let passive = self.passive;
        let PathReplays {
            outcomes,
            copy_of,
            scratch,
            seen,
            carries,
        } = replays;
        for p in (0..n).filter(|&p| Some(p) != passive) {
            let Some(q) = passive else {
                self.replay(p, market, table, scratch, &mut outcomes[p], |_| {});
                continue;
            };
            let (out, passive_out) = pair_mut(outcomes, p, q);
            let follower = Follower {
                market,
                table,
                seen,
                carries,
                passive_out,
            };
            if !self.follow(p, &follower, scratch, out) {
                copy_of[p] = Some(q);
            }
        }
    }

    /// The passive policy's replay of a path (if the model has one), into
    /// `replays`, recording what the other policies' replays follow:
    /// the first step of [`Model::replay_policies`], and of
    /// [`Model::replay_after_passive`].
    pub fn replay_passive(
        &self,
        market: &MarketPath,
        table: &MiningTable,
        replays: &mut PathReplays,
    ) {
        let Some(q) = self.passive else {
            return;
        };
        let months = self.months();
        if replays.outcomes.len() <= q {
            replays.outcomes.resize_with(q + 1, PolicyOutcome::default);
        }
        replays.seen.resize(months, TreasuryState::default());
        let PathReplays {
            outcomes,
            scratch,
            seen,
            carries,
            ..
        } = replays;
        let record = Start::Recording(carries);
        self.replay_from::<true, _>(q, market, table, scratch, &mut outcomes[q], record, |rec| {
            seen[rec.t] = *rec.seen;
        });
    }

    /// Policy `p` on the path whose passive replay [`Model::replay_passive`]
    /// put in `replays` last, with the shortcuts of
    /// [`Model::replay_policies`]: bit for bit what [`Model::replay`]
    /// gives. The outcome is `out`, or the passive replay's when `p`
    /// starts no conversion on the path (`out` is then left as it was).
    /// For loops of replays of many policies on one path, one buffer each.
    pub fn replay_after_passive<'a>(
        &self,
        p: usize,
        market: &MarketPath,
        table: &MiningTable,
        replays: &'a mut PathReplays,
        out: &'a mut PolicyOutcome,
    ) -> &'a PolicyOutcome {
        let PathReplays {
            outcomes,
            scratch,
            seen,
            carries,
            ..
        } = replays;
        match self.passive {
            Some(q) if q == p => &outcomes[q],
            Some(q) => {
                let follower = Follower {
                    market,
                    table,
                    seen,
                    carries,
                    passive_out: &outcomes[q],
                };
                if self.follow(p, &follower, scratch, out) {
                    out
                } else {
                    &outcomes[q]
                }
            }
            None => {
                self.replay(p, market, table, scratch, out, |_| {});
                out
            }
        }
    }

    /// Policy `p` (not the passive one) replayed into `out` after the
    /// passive replay `f` describes; false if it never starts a conversion
    /// on the path (its outcome is then the passive one, and `out` is not
    /// written).
    fn follow(
        &self,
        p: usize,
        f: &Follower<'_>,
        scratch: &mut Scratch,
        out: &mut PolicyOutcome,
    ) -> bool {
        let (market, table) = (f.market, f.table);
        match self.first_start(p, market, table, f.seen, scratch) {
            // Never starts one: the passive replay, month for month.
            None => false,
            Some(t0) if t0 > 0 && self.policies[p].memoryless() => {
                let resume = Start::Resume(t0, &f.carries[t0]);
                self.replay_from::<true, _>(p, market, table, scratch, out, resume, |_| {});
                // The months before the first start: the passive policy's.
                out.copy_first_months(f.passive_out, t0);
                true
            }
            Some(_) => {
                self.replay(p, market, table, scratch, out, |_| {});
                true
            }
        }
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
            None => self.first_ask_by_month(p, market, table, &seen[..months], scratch),
        }
    }

    /// [`Model::first_start`] for any policy: its `decide`, month by month,
    /// on the passive path (`seen` holds the months to test). The plain
    /// definition the policies' own fast ways are tested against.
    #[cfg(test)]
    pub(crate) fn first_start_by_month(
        &self,
        p: usize,
        market: &MarketPath,
        table: &MiningTable,
        seen: &[TreasuryState],
        scratch: &mut Scratch,
    ) -> Option<usize> {
        scratch.passive_reset(self, p);
        self.first_ask_by_month(p, market, table, seen, scratch)
    }

    /// [`Model::first_start_by_month`] on a scratch already reset for `p`.
    fn first_ask_by_month(
        &self,
        p: usize,
        market: &MarketPath,
        table: &MiningTable,
        seen: &[TreasuryState],
        scratch: &mut Scratch,
    ) -> Option<usize> {
        let policy = &self.policies[p];
        let memoryless = policy.memoryless();
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

/// `(&mut v[a], &v[b])` for `a != b`.
fn pair_mut<T>(v: &mut [T], a: usize, b: usize) -> (&mut T, &T) {
    assert_ne!(a, b);
    if a < b {
        let (lo, hi) = v.split_at_mut(b);
        (&mut lo[a], &hi[0])
    } else {
        let (lo, hi) = v.split_at_mut(a);
        (&mut hi[0], &lo[b])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::market::MarketModel;
    use crate::scenario::{PolicyKind, Scenario};

    /// A shipped scenario.
    fn reference(name: &str) -> Scenario {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        crate::scenario::load(&dir.join(format!("{name}.toml"))).unwrap()
    }

    fn model_and_market(sc: &Scenario) -> (Model, MarketModel) {
        let model = Model::new(sc);
        let market = MarketModel::new(&sc.market, &model.calendar);
        (model, market)
    }

    /// `sc` with its threshold policies set to these parameters.
    fn with_threshold(
        mut sc: Scenario,
        hurdle: f64,
        window_months: usize,
        room: usize,
    ) -> Scenario {
        for spec in &mut sc.policies {
            if let PolicyKind::Threshold { .. } = spec.kind {
                spec.kind = PolicyKind::Threshold {
                    hurdle,
                    window_months,
                    max_concurrent: room,
                };
            }
        }
        sc
    }

    /// `sc` with nothing to fund conversions with (no cash above the floor,
    /// no mined BTC sold, a BTC floor above the reserve) until a large
    /// equity raise in step 0 of `month`.
    fn funded_only_from(mut sc: Scenario, month: usize) -> Scenario {
        sc.treasury.sell_mined_fraction = 0.0;
        sc.treasury.cash_usd = sc.treasury.min_cash_usd;
        sc.treasury.reserve_floor_btc = 1e9;
        sc.events.push(crate::scenario::Event {
            date: sc.simulation.start,
            month: Some(month),
            kind: crate::scenario::EventKind::RaiseEquity { usd: 1e10 },
        });
        sc
    }

    /// Policies that never start a conversion on a path get the passive
    /// policy's outcome copied instead of a replay, and memoryless ones
    /// that do have their replay resumed at the month of their first start
    /// from the passive replay, and memoryless policies are not asked in
    /// months whose step 1 can start nothing: the outcomes must be the ones
    /// full replays (every policy asked every month) give, bit for bit.
    /// On the reference scenarios (`threshold` rarely
    /// converts), on a `threshold` eager enough to convert on most paths,
    /// with nothing to fund a conversion until the last month (a replay
    /// resumed in it), with `hold` neither first nor the baseline, and with
    /// no passive policy at all; both outcomes of the test for a first
    /// start, and resumed replays, must occur.
    #[test]
    fn shortcuts_give_the_outcomes_of_full_replays() {
        let mut cases = Vec::new();
        for name in [
            "cango_2026",
            "cango_2026_treasury",
            "cango_2026_colocation",
            "cango_2026_no_delever",
        ] {
            cases.push((name.to_string(), reference(name)));
        }
        let eager = with_threshold(reference("cango_2026"), 0.0, 1, 4);
        cases.push(("eager threshold".into(), eager.clone()));
        // The test for a first start must see the treasury after the events.
        let months = eager.simulation.months;
        let last_month_raise = funded_only_from(eager.clone(), months - 1);
        cases.push(("equity raised in the last month".into(), last_month_raise));
        let mut moved = eager.clone();
        moved.policies.rotate_left(1); // hold last, the baseline threshold's
        moved.baseline = moved
            .policies
            .iter()
            .position(|p| matches!(p.kind, PolicyKind::Threshold { .. }))
            .unwrap();
        cases.push(("hold last, not the baseline".into(), moved));
        let mut no_hold = eager;
        no_hold
            .policies
            .retain(|p| !matches!(p.kind, PolicyKind::Hold));
        no_hold.baseline = 0;
        cases.push(("no hold".into(), no_hold));

        let (mut never, mut starts, mut resumed) = (0, 0, 0);
        for (name, sc) in cases {
            let (model, market) = model_and_market(&sc);
            let mut replays = PathReplays::default();
            let (mut path_market, mut table) = (
                MarketPath::with_months(model.months()),
                MiningTable::default(),
            );
            let mut scratch = Scratch::default();
            let mut full = PolicyOutcome::default();
            for path in 0..300 {
                market.sample(sc.simulation.seed, path, &mut path_market);
                table.fill(&model.fleet, &model.calendar, &path_market);
                model.replay_policies(&path_market, &table, &mut replays);
                for p in 0..model.policies.len() {
                    model.replay_from::<false, _>(
                        p,
                        &path_market,
                        &table,
                        &mut scratch,
                        &mut full,
                        Start::Beginning,
                        |_| {},
                    );
                    assert_eq!(
                        format!("{:?}", replays.outcome(p)),
                        format!("{full:?}"),
                        "{name}, path {path}, policy {p}"
                    );
                }
                let Some(q) = (0..model.policies.len()).find(|&p| model.is_passive(p)) else {
                    continue;
                };
                for p in (0..model.policies.len()).filter(|&p| p != q) {
                    let first =
                        model.first_start(p, &path_market, &table, &replays.seen, &mut scratch);
                    match first {
                        None => never += 1,
                        Some(t0) => {
                            starts += 1;
                            if t0 > 0 && model.policies[p].memoryless() {
                                resumed += 1;
                            }
                        }
                    }
                }
            }
        }
        assert!(
            never > 100 && starts > 100 && resumed > 100,
            "never {never}, starts {starts}, resumed {resumed}"
        );
    }

    /// The threshold policy's test for a first start on the passive path,
    /// all months at once (bit sets of months), against its `decide` month
    /// by month: the same month, or none, on every path. Reference
    /// scenarios and thresholds that ask early and often, with windows of
    /// 0, 1 and 3 months and one longer than the run, no room to convert,
    /// and a 100-month run (bit sets of two words).
    #[test]
    fn threshold_first_start_matches_its_decide_month_by_month() {
        let mut cases = Vec::new();
        for name in ["cango_2026", "cango_2026_treasury", "cango_2026_colocation"] {
            cases.push((name.to_string(), reference(name)));
        }
        let variants = [
            (0.0, 1, 4, 60),
            (0.5, 3, 4, 60),
            (0.0, 0, 2, 60),
            (0.0, 3, 0, 60),
            (0.0, 61, 4, 60),
            (0.8, 3, 1, 100),
            (0.0, 1, 4, 100),
        ];
        for (hurdle, window_months, room, months) in variants {
            let mut sc = with_threshold(reference("cango_2026"), hurdle, window_months, room);
            sc.simulation.months = months;
            let name =
                format!("hurdle {hurdle} window {window_months} room {room} months {months}");
            cases.push((name, sc));
        }
        // No funding until month 65 of 100: a first start tested across
        // the bit sets' word boundary.
        let mut late = with_threshold(reference("cango_2026"), 0.0, 3, 4);
        late.simulation.months = 100;
        cases.push((
            "equity raised in month 65 of 100".into(),
            funded_only_from(late, 65),
        ));
        let (mut never, mut late) = (0, 0);
        for (name, sc) in cases {
            let (model, market) = model_and_market(&sc);
            let threshold = (0..model.policies.len())
                .find(|&p| matches!(sc.policies[p].kind, PolicyKind::Threshold { .. }))
                .unwrap();
            let mut replays = PathReplays::default();
            let (mut path_market, mut table) = (
                MarketPath::with_months(model.months()),
                MiningTable::default(),
            );
            let mut scratch = Scratch::default();
            for path in 0..300 {
                market.sample(sc.simulation.seed, path, &mut path_market);
                table.fill(&model.fleet, &model.calendar, &path_market);
                model.replay_policies(&path_market, &table, &mut replays);
                let seen = &replays.seen;
                let fast = model.first_start(threshold, &path_market, &table, seen, &mut scratch);
                let by_month =
                    model.first_start_by_month(threshold, &path_market, &table, seen, &mut scratch);
                assert_eq!(fast, by_month, "{name}, path {path}");
                match fast {
                    None => never += 1,
                    Some(t) if t >= 64 => late += 1,
                    Some(_) => {}
                }
            }
        }
        assert!(never > 100 && late > 0, "never {never}, late {late}");
    }
}
