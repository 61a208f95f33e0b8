//! Allocation policies (MODEL.md section 4).
//!
//! A policy is data in the scenario (`[[policies]]`); here each kind becomes a
//! [`Policy`] with one required method. A policy sees only a [`PolicyView`]:
//! the market up to and including month t (slices that end at t, so a later
//! month cannot be read), the sites' states, the treasury after step 0, and
//! the sites' mining margins of month t. Per-path memory a policy needs (the
//! threshold streaks) lives in [`PolicyMemory`], reset for every path.

use crate::model::fleet::Fleet;
use crate::model::market::MarketPath;
use crate::model::mining::{MiningTable, MonthMargins};
use crate::model::state::{SiteState, TreasuryState};
use crate::scenario::{PolicyKind, PolicySpec};
use crate::stats::total_order_key;

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

/// Per-path memory of a policy.
#[derive(Debug, Clone, Default)]
pub struct PolicyMemory {
    /// Threshold: consecutive months each convertible site (by its place in
    /// [`Fleet::convertible`]) has passed; read only while the site mines.
    pub streak: Vec<u32>,
    /// Threshold: this month's AI margin minus hurdle per MW, by convertible
    /// site (scratch, see [`Fleet::threshold_excess_usd_per_mw`]).
    pub excess_usd_per_mw: Vec<f64>,
    /// Scratch of [`keep_lowest_margins`].
    ranked: Vec<(i64, usize)>,
    /// Threshold on the passive path: whether convertible site `j` passes
    /// in month `t`, at `[j * months + t]` (see [`Threshold::passive_asks`]).
    passes: Vec<bool>,
    /// Scratch of [`Fleet::threshold_passes_passive`].
    month_scratch: Vec<f64>,
    /// Threshold on the passive path: one site's passes as a bit set of
    /// months, and per site the months it asks in (scratch of
    /// [`Threshold::passive_asks`]).
    bits: Vec<u64>,
    asks: Vec<u64>,
    /// The months any site asks in (scratch of [`Threshold::passive_asks`]).
    any: Vec<u64>,
}

impl PolicyMemory {
    /// Fresh memory for a path on a fleet of `sites` sites.
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

    /// True if the policy never asks for a conversion. Its replay is then
    /// the one every policy follows until its first conversion starts, which
    /// lets the engine skip replaying policies that never start one on a
    /// path (the simulation's `Model::first_start`).
    fn passive(&self) -> bool {
        false
    }

    /// The policy as a [`Threshold`], if it is one (the engine tests its
    /// asks on the passive path for all months at once).
    fn as_threshold(&self) -> Option<&Threshold> {
        None
    }

    /// True if `decide` reads nothing from [`PolicyMemory`] that it wrote
    /// in an earlier month (its asks depend on the month's view alone).
    /// Until its first conversion starts, such a policy's replay is then
    /// the passive one, state and all, so the engine resumes its replay at
    /// that month from the passive replay (the simulation's `Start::Resume`).
    fn memoryless(&self) -> bool {
        false
    }
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

    fn passive(&self) -> bool {
        true
    }

    fn memoryless(&self) -> bool {
        true
    }
}

/// Every month, every convertible site still mining, in fleet order.
pub struct FullPivot;

impl Policy for FullPivot {
    fn decide(&self, view: &PolicyView<'_>, _: &mut PolicyMemory, requests: &mut Vec<usize>) {
        requests.extend_from_slice(view.convertible_mining);
    }

    fn memoryless(&self) -> bool {
        true
    }
}

/// In months 0, 3, 6, ...: the `sites_per_quarter` convertible mining sites
/// with the lowest mining margin per MW, until `max_sites` have started.
pub struct Staged {
    pub sites_per_quarter: usize,
    pub max_sites: usize,
}

impl Policy for Staged {
    fn decide(&self, view: &PolicyView<'_>, memory: &mut PolicyMemory, requests: &mut Vec<usize>) {
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
        requests.extend_from_slice(view.convertible_mining);
        let margin = view.mining_margin_usd_per_mw;
        keep_lowest_margins(requests, start, want, margin, &mut memory.ranked);
    }

    /// Its memory is only the scratch of the ranking.
    fn memoryless(&self) -> bool {
        true
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
        let margin = view.mining_margin_usd_per_mw;
        let sites = fleet.convertible.iter().zip(&memory.excess_usd_per_mw);
        for ((&i, &excess), streak) in sites.zip(&mut memory.streak) {
            // A site that has left mining never returns, so its streak is
            // not read again: it is counted like the others, and only the
            // sites still mining are asked for.
            *streak = if excess > margin.get(i) {
                *streak + 1
            } else {
                0
            };
            if *streak as usize >= self.window_months && matches!(view.sites[i], SiteState::Mining)
            {
                requests.push(i);
            }
        }
        let room = self.max_concurrent.saturating_sub(view.converting_now);
        keep_lowest_margins(requests, start, room, margin, &mut memory.ranked);
    }

    fn as_threshold(&self) -> Option<&Threshold> {
        Some(self)
    }
}

impl Threshold {
    /// This policy's asks on the passive path (no site has left mining, so
    /// no AI MW and nothing converting), month by month: `accept(t, asks)`
    /// is called for each month `t` whose asks are not empty, the sites
    /// `decide` would push in that month (the same set; in `decide`'s order
    /// only when they were ranked), until it returns true; that month is
    /// returned (None if it never does). `accept` must not depend on the
    /// order of the asks (step 1's test starts none or some, whatever
    /// their order, as nothing is spent before the first start). `memory`
    /// serves only as scratch: the streaks are not read. `may_accept(t)`
    /// must be false only for months where `accept` is false whatever the
    /// asks (no equity to spend): those months are skipped, and if there is
    /// no other month, nothing is computed.
    ///
    /// On this path a site's test does not depend on earlier decisions, so
    /// every month's passes are computed first, with the months in vector
    /// lanes ([`Fleet::threshold_passes_passive`]); the streaks, asks and
    /// ranking are then `decide`'s, month by month.
    #[allow(clippy::too_many_arguments)]
    pub fn passive_asks(
        &self,
        fleet: &Fleet,
        days: &[f64],
        market: &MarketPath,
        table: &MiningTable,
        memory: &mut PolicyMemory,
        requests: &mut Vec<usize>,
        may_accept: impl Fn(usize) -> bool,
        mut accept: impl FnMut(usize, &[usize]) -> bool,
    ) -> Option<usize> {
        let months = days.len();
        if months == 0 || self.window_months > months {
            return None; // a streak is at most t + 1 in month t
        }
        // A site first asks in month window - 1 (its streak is at most t + 1).
        if !(self.window_months.saturating_sub(1)..months).any(&may_accept) {
            return None;
        }
        fleet.threshold_passes_passive(
            self.hurdle,
            days,
            market,
            table,
            &mut memory.month_scratch,
            &mut memory.passes,
        );
        // Site j's streak reaches the window in month t exactly if it passed
        // in each of months t + 1 - window ..= t (streaks start at 0): per
        // site, a bit set of those months, the AND of its passes shifted by
        // 0 .. window - 1 months.
        let words = months.div_ceil(64);
        let n_conv = fleet.convertible.len();
        memory.asks.clear();
        memory.asks.resize(n_conv * words, 0);
        memory.any.clear();
        memory.any.resize(words, 0);
        for (passes, asks) in memory
            .passes
            .chunks_exact(months)
            .zip(memory.asks.chunks_exact_mut(words))
        {
            let bits = pack_bits(passes, &mut memory.bits);
            for (w, ask) in asks.iter_mut().enumerate() {
                *ask = if w + 1 == words && !months.is_multiple_of(64) {
                    (1u64 << (months % 64)) - 1
                } else {
                    u64::MAX
                };
                for shift in 0..self.window_months {
                    *ask &= shifted_word(bits, w, shift);
                }
                memory.any[w] |= *ask;
            }
        }
        let mut first = None;
        'months: for (w, &word) in memory.any.iter().enumerate() {
            let mut word = word;
            while word != 0 {
                let t = 64 * w + word.trailing_zeros() as usize;
                word &= word - 1;
                if !may_accept(t) {
                    continue;
                }
                requests.clear();
                let asks = memory
                    .asks
                    .chunks_exact(words)
                    .map(|a| a[w] >> (t % 64) & 1 == 1);
                for (&i, asked) in fleet.convertible.iter().zip(asks) {
                    if asked {
                        requests.push(i);
                    }
                }
                // The test accepts any of the asks or none, whatever their
                // order: only more asks than room need ranking.
                let room = self.max_concurrent;
                if requests.len() > room {
                    keep_lowest_margins(
                        requests,
                        0,
                        room,
                        table.margins(fleet, t),
                        &mut memory.ranked,
                    );
                }
                if !requests.is_empty() && accept(t, requests) {
                    first = Some(t);
                    break 'months;
                }
            }
        }
        first
    }
}

/// `flags` as a bit set in `out` (bit `t % 64` of word `t / 64` is
/// `flags[t]`), eight flags per multiply.
fn pack_bits<'a>(flags: &[bool], out: &'a mut Vec<u64>) -> &'a [u64] {
    out.clear();
    for chunk in flags.chunks(64) {
        let mut word = 0;
        for (b, eight) in chunk.chunks(8).enumerate() {
            // Eight flags as the bytes of a u64 (a fixed-size copy: no
            // `memcpy` call for a whole group of eight).
            let bytes: [u8; 8] = match <&[bool; 8]>::try_from(eight) {
                Ok(eight) => eight.map(u8::from),
                Err(_) => {
                    let mut bytes = [0u8; 8];
                    for (x, &f) in bytes.iter_mut().zip(eight) {
                        *x = u8::from(f);
                    }
                    bytes
                }
            };
            // Byte i (0 or 1) lands on bit 56 + i, with no carries.
            let packed = u64::from_le_bytes(bytes).wrapping_mul(0x0102_0408_1020_4080) >> 56;
            word |= packed << (8 * b);
        }
        out.push(word);
    }
    out
}

/// Word `w` of the bit set `bits` shifted up by `shift` bits (bit `t` of the
/// result is bit `t - shift` of `bits`, 0 below `shift`).
fn shifted_word(bits: &[u64], w: usize, shift: usize) -> u64 {
    let (words, s) = (shift / 64, shift % 64);
    let word = |k: usize| if k < words { 0 } else { bits[k - words] };
    if s == 0 {
        word(w)
    } else {
        let low = if w == 0 { 0 } else { word(w - 1) >> (64 - s) };
        word(w) << s | low
    }
}

/// Keeps, of the sites in `requests[start..]`, the `k` with the lowest
/// mining margin per MW, lowest first, ties in the order they came
/// (`f64::total_cmp`): what a stable sort by margin, then keeping the first
/// `k`, gives. Each site's margin is read once, as an integer key, and the
/// `k` lowest are kept sorted as the candidates pass: a candidate goes
/// after every kept key not above its own, so ties keep their order.
fn keep_lowest_margins(
    requests: &mut Vec<usize>,
    start: usize,
    k: usize,
    margin: MonthMargins<'_>,
    ranked: &mut Vec<(i64, usize)>,
) {
    if requests.len() == start {
        return; // no candidates (most months of a threshold policy)
    }
    ranked.clear();
    if k > 0 {
        for &site in &requests[start..] {
            let key = total_order_key(margin.get(site));
            if ranked.len() == k {
                if key >= ranked[k - 1].0 {
                    continue;
                }
                ranked.pop();
            }
            // Insertion-sort step (no memmove call for a handful of items).
            ranked.push((key, site));
            let mut j = ranked.len() - 1;
            while j > 0 && ranked[j - 1].0 > key {
                ranked.swap(j - 1, j);
                j -= 1;
            }
        }
    }
    requests.truncate(start);
    requests.extend(ranked.iter().map(|&(_, site)| site));
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng, rngs::Xoshiro256PlusPlus};

    /// The bit set against its definition (bit `t % 64` of word `t / 64`
    /// is flag `t`), on every length up to three words and a ragged tail.
    #[test]
    fn pack_bits_sets_bit_t_for_flag_t() {
        let mut r = Xoshiro256PlusPlus::seed_from_u64(9);
        let mut out = Vec::new();
        for len in 0..=200usize {
            let flags: Vec<bool> = (0..len).map(|_| r.random_bool(0.5)).collect();
            let bits = pack_bits(&flags, &mut out);
            assert_eq!(bits.len(), len.div_ceil(64), "length {len}");
            for t in 0..64 * bits.len() {
                let want = flags.get(t).copied().unwrap_or(false);
                assert_eq!(
                    bits[t / 64] >> (t % 64) & 1 == 1,
                    want,
                    "length {len}, flag {t}"
                );
            }
        }
    }

    /// The selection against its definition: a stable sort by
    /// `f64::total_cmp`, then the first `k`. Margins drawn from a few
    /// values (many ties) with signed zeros and NaN, candidates in an
    /// arbitrary order after a prefix that must stay untouched.
    #[test]
    fn keeping_the_lowest_margins_is_a_stable_sort_then_the_first_k() {
        let mut r = Xoshiro256PlusPlus::seed_from_u64(5);
        let pool = [
            -1.5,
            -0.0,
            0.0,
            2.0,
            2.0,
            7.25,
            f64::NAN,
            -f64::NAN,
            f64::INFINITY,
        ];
        let mut ranked = Vec::new();
        for trial in 0..500 {
            let sites = 1 + r.random_range(0..40);
            let margins: Vec<f64> = (0..sites)
                .map(|_| pool[r.random_range(0..pool.len())])
                .collect();
            let identity: Vec<u32> = (0..sites as u32).collect();
            let margin = MonthMargins::from_slices(&margins, &identity);
            let mut candidates: Vec<usize> = (0..sites).filter(|_| r.random_bool(0.7)).collect();
            for i in (1..candidates.len()).rev() {
                candidates.swap(i, r.random_range(0..=i));
            }
            let k = r.random_range(0..=sites + 1);
            let prefix = [99, 98];
            let mut got: Vec<usize> = prefix
                .iter()
                .copied()
                .chain(candidates.iter().copied())
                .collect();
            keep_lowest_margins(&mut got, prefix.len(), k, margin, &mut ranked);
            let mut want = candidates.clone();
            want.sort_by(|&a, &b| margins[a].total_cmp(&margins[b]));
            want.truncate(k);
            assert_eq!(&got[..2], &prefix, "trial {trial}");
            assert_eq!(
                &got[2..],
                &want[..],
                "trial {trial}: k {k}, margins {margins:?}"
            );
        }
    }
}
