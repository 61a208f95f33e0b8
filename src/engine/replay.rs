//! Replaying one path: the one way to do it.
//!
//! Path i of a run is the market `MarketModel::sample(seed, i)` draws with
//! the scenario's seed, that market's [`MiningTable`], and each policy
//! replayed on them by `Model::replay`. [`Engine::replay_path`] does exactly
//! that for one path and one policy, optionally observing every month, and
//! gives the [`PolicyOutcome`] the run computed for that path and policy,
//! bit for bit (the test below holds it to the engine's rows, which come
//! from `Model::replay_policies`, whose shortcuts copy and resume the
//! passive replay instead of replaying).
//!
//! Everything that replays a single path goes through here: the replay
//! ledger ([`super::ledger`]), the worst paths ([`super::worst`]), the
//! integration tests (which also replay on hand-made markets:
//! [`Engine::market_inputs`]) and the benches; later features (policy
//! training, shard pilots) are to use it too rather than sample, fill and
//! replay by hand. The pieces, for callers that need more than the outcome:
//!
//! - [`Engine::path_inputs`]: path i's market and mining table
//!   ([`PathInputs`]), which an observer may read while the replay runs;
//! - [`Engine::market_inputs`]: the same for a given market;
//! - [`Engine::replay_inputs`]: policy p replayed on such inputs;
//! - [`Engine::replay_with`]: the same into [`ReplayBuffers`] kept from one
//!   replay to the next (no allocation once they are sized), for loops of
//!   replays.
//!
//! The engine's own run replays every policy of a path at once
//! (`Engine::simulate_path`, into its workers' buffers, with the shortcuts
//! of `Model::replay_policies`); it is the reference this module matches.

use crate::engine::Engine;
use crate::model::market::MarketPath;
use crate::model::mining::MiningTable;
use crate::sim::{MonthRecord, PolicyOutcome, Scratch};

/// One path's inputs to a replay: its market and that market's mining table.
#[derive(Debug, Clone)]
pub struct PathInputs {
    pub market: MarketPath,
    pub table: MiningTable,
}

/// The buffers of a replay, reused from one replay to the next.
#[derive(Debug, Default)]
pub struct ReplayBuffers {
    scratch: Scratch,
    /// The last replay's outcome.
    pub outcome: PolicyOutcome,
}

impl Engine {
    /// Policy `p` on path `path` of the run (sampled with the scenario's
    /// seed), as the run computed it; `observe` sees every month.
    ///
    /// # Panics
    /// If `p` is not a policy of the scenario.
    pub fn replay_path(
        &self,
        path: u64,
        p: usize,
        observe: impl FnMut(&MonthRecord<'_>),
    ) -> PolicyOutcome {
        self.replay_inputs(&self.path_inputs(path), p, observe)
    }

    /// Path `path`'s market, sampled with the scenario's seed, and its
    /// mining table.
    pub fn path_inputs(&self, path: u64) -> PathInputs {
        let mut market = MarketPath::with_months(self.model.months());
        self.market
            .sample(self.scenario.simulation.seed, path, &mut market);
        self.market_inputs(market)
    }

    /// A given market (of the scenario's months) and its mining table.
    pub fn market_inputs(&self, market: MarketPath) -> PathInputs {
        let mut table = MiningTable::default();
        table.fill(&self.model.fleet, &self.model.calendar, &market);
        PathInputs { market, table }
    }

    /// Policy `p` replayed on `inputs`; `observe` sees every month.
    ///
    /// # Panics
    /// If `p` is not a policy of the scenario.
    pub fn replay_inputs(
        &self,
        inputs: &PathInputs,
        p: usize,
        observe: impl FnMut(&MonthRecord<'_>),
    ) -> PolicyOutcome {
        let mut buffers = ReplayBuffers::default();
        self.replay_with(inputs, p, &mut buffers, observe);
        buffers.outcome
    }

    /// [`Engine::replay_inputs`] into `buffers`, whose outcome it returns.
    ///
    /// # Panics
    /// If `p` is not a policy of the scenario.
    pub fn replay_with<'b>(
        &self,
        inputs: &PathInputs,
        p: usize,
        buffers: &'b mut ReplayBuffers,
        observe: impl FnMut(&MonthRecord<'_>),
    ) -> &'b PolicyOutcome {
        let ReplayBuffers { scratch, outcome } = buffers;
        self.model
            .replay(p, &inputs.market, &inputs.table, scratch, outcome, observe);
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::tests::reference;
    use crate::engine::write_outcome;

    /// Every figure of `o` as policy `p`'s part of the engine's row holds
    /// it, written over `row`, as bits.
    /// `base` is the baseline policy's outcome on the path (for the
    /// differences against it), `best` the highest NPV of any policy on it.
    fn row_bits(
        engine: &Engine,
        row: &[f64],
        p: usize,
        o: &PolicyOutcome,
        (base, best): (&PolicyOutcome, f64),
    ) -> Vec<u64> {
        let mut row = row.to_vec();
        write_outcome(&engine.layout, p, o, base, best, &mut row);
        row.iter().map(|x| x.to_bits()).collect()
    }

    /// `replay_path` gives, bit for bit, every figure the engine's run
    /// records for the path and policy: the run's row (series, scalars and
    /// flags, which `write_outcome` would leave as they are), the outcome
    /// the run's replays computed (with their shortcuts: passive copies,
    /// resumed replays) and `path_values`, on paths of `smoke` and
    /// `cango_2026_treasury`; `replay_with` on reused buffers, and an
    /// observer, change nothing. Policies copied from the passive replay
    /// (no conversion) and converting ones must both occur.
    #[test]
    fn replay_path_gives_the_runs_figures_bit_for_bit() {
        let (mut copied, mut converted) = (0, 0);
        for name in ["smoke", "cango_2026_treasury"] {
            let engine = Engine::new(reference(name));
            let mut w = engine.worker();
            let mut buffers = ReplayBuffers::default();
            for path in [0u64, 1, 2, 7, 100, 1375] {
                engine.simulate_path(&mut w, path);
                let inputs = engine.path_inputs(path);
                let row = w.row();
                let run_bits: Vec<u64> = row.iter().map(|x| x.to_bits()).collect();
                let base = w.replays.outcome(engine.scenario.baseline);
                let best = (0..engine.layout.policies)
                    .map(|p| w.replays.outcome(p).npv_usd)
                    .fold(f64::NEG_INFINITY, f64::max);
                let base = (base, best);
                for p in 0..engine.layout.policies {
                    let what = format!("{name}, path {path}, policy {p}");
                    let mut months = 0;
                    let o = engine.replay_path(path, p, |r| {
                        assert_eq!(r.t, months);
                        months += 1;
                    });
                    assert_eq!(months, engine.model.months(), "{what}");
                    assert!(
                        row_bits(&engine, row, p, &o, base) == run_bits,
                        "{what}: row"
                    );
                    let run = w.replays.outcome(p);
                    let fresh = vec![f64::NAN; row.len()];
                    assert_eq!(
                        row_bits(&engine, &fresh, p, &o, base),
                        row_bits(&engine, &fresh, p, run, base),
                        "{what}: outcome"
                    );
                    assert_eq!(
                        o.first_margin_call_month, run.first_margin_call_month,
                        "{what}"
                    );
                    assert_eq!(
                        o.ai_utilisation_mean.to_bits(),
                        run.ai_utilisation_mean.to_bits(),
                        "{what}"
                    );
                    let v = engine.path_values(&w, p);
                    assert_eq!(o.npv_usd.to_bits(), v.npv_usd.to_bits(), "{what}");
                    assert_eq!(
                        o.terminal_net_reserve_usd.to_bits(),
                        v.terminal_net_reserve_usd.to_bits(),
                        "{what}"
                    );
                    assert_eq!(
                        (o.margin_call, o.liquidation, o.first_distress_month),
                        (v.margin_call, v.liquidation, v.first_distress_month),
                        "{what}"
                    );
                    let reused = engine.replay_with(&inputs, p, &mut buffers, |_| {});
                    assert!(
                        row_bits(&engine, row, p, reused, base) == run_bits,
                        "{what}: reused buffers"
                    );
                    if !engine.model.is_passive(p) {
                        match o.conversions_started {
                            0 => copied += 1,
                            _ => converted += 1,
                        }
                    }
                }
            }
        }
        assert!(
            copied > 0 && converted > 0,
            "copied {copied}, converted {converted}"
        );
    }

    /// A hand-made market replays as the sampled one it copies, and a
    /// change to it reaches the replay.
    #[test]
    fn market_inputs_replay_the_market_given() {
        let engine = Engine::new(reference("smoke"));
        let sampled = engine.path_inputs(3);
        let same = engine.market_inputs(sampled.market.clone());
        let mut cheaper = sampled.market.clone();
        for x in &mut cheaper.btc_price_usd {
            *x *= 0.5;
        }
        let cheaper = engine.market_inputs(cheaper);
        let row = vec![0.0; engine.layout.n_total];
        let base = engine.replay_path(3, engine.scenario.baseline, |_| {});
        let base = (&base, 0.0);
        for p in 0..engine.layout.policies {
            let want = engine.replay_path(3, p, |_| {});
            let got = engine.replay_inputs(&same, p, |_| {});
            assert_eq!(
                row_bits(&engine, &row, p, &got, base),
                row_bits(&engine, &row, p, &want, base)
            );
            let other = engine.replay_inputs(&cheaper, p, |_| {});
            assert_ne!(other.npv_usd, want.npv_usd, "policy {p}");
        }
    }
}
