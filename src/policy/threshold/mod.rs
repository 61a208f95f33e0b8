//! `threshold`: converts a site once AI beats mining by a hurdle for a
//! window of months, at most so many converting at once.
//!
//! Its test runs every month for every convertible site, so it has a fast
//! path of its own: on the passive path a site's test does not depend on
//! earlier decisions, so [`Threshold`]'s first ask there is found for all
//! months at once ([`Policy::first_ask_on_passive_path`]), bit for bit the
//! month-by-month answer.

use crate::model::fleet::Fleet;
use crate::model::market::MarketPath;
use crate::model::mining::MiningTable;
use crate::model::state::SiteState;

use super::rank::{Ranked, keep_lowest_margins};
use super::{PassivePath, Policy, PolicyMemory, PolicyView};

mod sites;

use sites::ThresholdSites;

/// Converts a site once AI beats mining by a hurdle for a window of months.
pub struct Threshold {
    pub hurdle: f64,
    pub window_months: usize,
    pub max_concurrent: usize,
    /// The fleet's convertible sites, as the test reads them.
    sites: ThresholdSites,
}

impl Threshold {
    /// The policy on `fleet`.
    pub fn new(
        fleet: &Fleet,
        hurdle: f64,
        window_months: usize,
        max_concurrent: usize,
    ) -> Threshold {
        Threshold {
            hurdle,
            window_months,
            max_concurrent,
            sites: ThresholdSites::new(fleet),
        }
    }
}

/// The threshold policy's memory of a path, and its scratch.
#[derive(Debug, Clone, Default)]
struct ThresholdMemory {
    /// Consecutive months each convertible site (by its place in
    /// [`Fleet::convertible`]) has passed; read only while the site mines.
    streak: Vec<u32>,
    /// This month's AI margin minus hurdle per MW, by convertible site
    /// (scratch, see [`ThresholdSites::excess_usd_per_mw`]).
    excess_usd_per_mw: Vec<f64>,
    /// Scratch of [`keep_lowest_margins`].
    ranked: Ranked,
    /// On the passive path: whether convertible site `j` passes in month
    /// `t`, at `[j * months + t]` (see [`Threshold::passive_asks`]).
    passes: Vec<bool>,
    /// Scratch of [`ThresholdSites::passes_passive`].
    month_scratch: Vec<f64>,
    /// On the passive path: one site's passes as a bit set of months, and
    /// per site the months it asks in (scratch of [`Threshold::passive_asks`]).
    bits: Vec<u64>,
    asks: Vec<u64>,
    /// The months any site asks in (scratch of [`Threshold::passive_asks`]).
    any: Vec<u64>,
}

impl Policy for Threshold {
    fn decide(&self, view: &PolicyView<'_>, memory: &mut PolicyMemory, requests: &mut Vec<usize>) {
        let memory = memory.get_mut::<ThresholdMemory>();
        let t = view.t;
        let fleet = view.fleet;
        let demand = view.ai_demand_mw_it[t];
        let ai = fleet.ai_month(view.days, view.gpu_hour_usd[t]);
        self.sites.excess_usd_per_mw(
            fleet,
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

    fn memory(&self) -> PolicyMemory {
        PolicyMemory::new(ThresholdMemory::default())
    }

    fn start_path(&self, memory: &mut PolicyMemory, sites: usize) {
        let streak = &mut memory.get_mut::<ThresholdMemory>().streak;
        streak.clear();
        streak.resize(sites, 0);
    }

    fn first_ask_on_passive_path(
        &self,
        path: &PassivePath<'_>,
        memory: &mut PolicyMemory,
        requests: &mut Vec<usize>,
        may_accept: &dyn Fn(usize) -> bool,
        accept: &mut dyn FnMut(usize, &[usize]) -> bool,
    ) -> Option<Option<usize>> {
        Some(self.passive_asks(
            path.fleet,
            path.days,
            path.market,
            path.table,
            memory.get_mut::<ThresholdMemory>(),
            requests,
            may_accept,
            accept,
        ))
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
    /// lanes ([`ThresholdSites::passes_passive`]); the streaks, asks and
    /// ranking are then `decide`'s, month by month.
    #[allow(clippy::too_many_arguments)]
    fn passive_asks(
        &self,
        fleet: &Fleet,
        days: &[f64],
        market: &MarketPath,
        table: &MiningTable,
        memory: &mut ThresholdMemory,
        requests: &mut Vec<usize>,
        may_accept: &dyn Fn(usize) -> bool,
        accept: &mut dyn FnMut(usize, &[usize]) -> bool,
    ) -> Option<usize> {
        let months = days.len();
        if months == 0 || self.window_months > months {
            return None; // a streak is at most t + 1 in month t
        }
        // A site first asks in month window - 1 (its streak is at most t + 1).
        if !(self.window_months.saturating_sub(1)..months).any(may_accept) {
            return None;
        }
        self.sites.passes_passive(
            fleet,
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
}
