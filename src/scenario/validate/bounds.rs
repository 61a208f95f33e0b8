//! The allowed range of every numeric key: generous, physically meaningful,
//! and narrow enough that no path of a run can produce an infinite or NaN
//! value, even at 600 months (docs/scenario-format.md, "Bounds").
//!
//! The derivation is on the log scale. The BTC price after `T = 50` years is
//! `s0 exp(X)`, `X = (mu - sigma^2/2 - lambda k) T + sigma sqrt(T) z +
//! N jump_mean + jump_sd sqrt(N) z'` with `N ~ Poisson(lambda T)`; with every
//! normal at 8 standard deviations (and `N` 8 standard deviations off its
//! mean) `X` stays within about [-383, 140], so the price within [1e-168,
//! 1e70]. The hashrate follows `c S` (`c = 144 (subsidy + fees) /
//! breakeven`, within [e^-143, e^60]) and its own noise, and the other
//! series are exponentials with drifts and volatilities bounded the same way.
//! Every product the model forms (BTC mined, revenue, reserve value) then
//! stays below about e^660 = 1e286, short of f64's 1.8e308, and every series
//! that is divided by or logged stays above e^-612 = 1e-265. The test at the
//! end of this file recomputes these figures from the constants below.
//!
//! The means and standard errors add values over paths in fixed point, which
//! holds sums of squares up to 2^107 = 1.6e32 (a figure of 1.3e14 USD over
//! 10,000 paths): a run beyond that stops with exit code 1 naming the figure
//! (`Summary::first_non_finite`), however valid its inputs.

use super::{Lo, Range};

const fn closed(lo: f64, hi: f64) -> Range {
    Range {
        lo: Lo::AtLeast(lo),
        hi,
    }
}

const fn open_closed(lo: f64, hi: f64) -> Range {
    Range {
        lo: Lo::Above(lo),
        hi,
    }
}

/// Shares and probabilities.
pub(super) const SHARE: Range = closed(0.0, 1.0);
/// Uptime and maximum utilization: a share that cannot be 0.
pub(super) const POSITIVE_SHARE: Range = open_closed(0.0, 1.0);
pub(super) const CORRELATION: Range = closed(-1.0, 1.0);

/// BTC price, USD (`s0_usd`, an event's `price_usd`): a cent to a billion.
pub(super) const BTC_PRICE_USD: Range = closed(0.01, 1e9);
/// Yearly drifts and growth rates (BTC `mu`, GPU price decline, AI demand
/// growth, efficiency gain): -100 % to +100 % a year on the log scale,
/// e^50 = 5e21 either way over 50 years.
pub(super) const DRIFT: Range = closed(-1.0, 1.0);
/// Yearly volatilities of BTC, GPU price and AI demand: up to 200 %.
pub(super) const VOLATILITY: Range = closed(0.0, 2.0);
/// Hashrate noise: up to 100 % a year (the reference has 10 %).
pub(super) const HASHRATE_VOLATILITY: Range = closed(0.0, 1.0);
/// Jumps per year: at most 1,000 (about 83 a month; the reference has 6).
pub(super) const JUMPS_PER_YEAR: Range = closed(0.0, 1000.0);
/// Mean log jump: a jump at most multiplies or divides the price by e.
pub(super) const JUMP_MEAN: Range = closed(-1.0, 1.0);
/// Standard deviation of the log jump.
pub(super) const JUMP_SD: Range = closed(0.0, 1.0);
/// The jumps' yearly log-variance, `lambda (jump_mean^2 + jump_sd^2)`, at
/// most 1 (the reference has 0.044): many jumps must be small ones, or
/// their compensating drift `-lambda k` alone would reach e^-85,000.
pub(super) const MAX_JUMP_VARIANCE_PER_YEAR: u32 = 1;
/// A regime's mean duration: 0.1 to 1,000 years.
pub(super) const REGIME_YEARS: Range = closed(0.1, 1000.0);

/// Network hashrate at month 0: a TH/s (1e-6 EH/s) to a billion EH/s.
pub(super) const HASHRATE_EHS: Range = closed(1e-6, 1e9);
/// Break-even hashprice, USD per EH/s per day (the reference has 32,000).
pub(super) const BREAKEVEN_USD_PER_EH_DAY: Range = closed(1.0, 1e15);
/// Speed of hashrate entry and exit: at most 12 a year, which closes the
/// whole gap in one month (above it the monthly step would overshoot and
/// the hashrate oscillate without bound).
pub(super) const KAPPA_PER_YEAR: Range = closed(0.0, 12.0);
/// A machine's economic life, months (how far ahead miners price the
/// subsidy): up to 10 years.
pub(super) const MACHINE_LIFE_MONTHS: (i64, i64) = (1, 120);
/// A key that the scenario does not use (the exit branch's keys with
/// capitulation off): any finite number.
pub(super) const UNUSED: Range = closed(f64::MIN, f64::MAX);
/// Mean fees per block, BTC.
pub(super) const FEE_BTC: Range = closed(0.0, 100.0);
/// Monthly log-normal dispersion of fees.
pub(super) const FEE_DISPERSION: Range = closed(0.0, 3.0);
/// Block subsidy, BTC: a satoshi to Bitcoin's first 50.
pub(super) const SUBSIDY_BTC: Range = closed(1e-8, 50.0);
/// Halving dates listed (Bitcoin's subsidy reaches zero after 33).
pub(super) const MAX_HALVINGS: usize = 64;

/// GPU-hour price, USD.
pub(super) const GPU_HOUR_USD: Range = closed(1e-4, 1e4);
/// AI demand at month 0, MW of IT: up to a terawatt.
pub(super) const AI_DEMAND_MW: Range = closed(0.0, 1e6);

/// A cost or price per unit (per MW, per MW-IT, per GPU), USD: up to a
/// billion.
pub(super) const UNIT_USD: Range = closed(0.0, 1e9);
/// Power usage effectiveness.
pub(super) const PUE: Range = closed(1.0, 5.0);
/// GPUs per MW of IT (10 W a GPU at most).
pub(super) const GPUS_PER_MW_IT: Range = closed(0.0, 1e5);
/// Annuity lives and terms, years.
pub(super) const YEARS: Range = closed(0.1, 100.0);
/// Power price, USD per MWh (spot markets cap at 5,000 to 15,000).
pub(super) const POWER_USD_PER_MWH: Range = closed(0.0, 1e5);
/// A site's grid capacity, MW: up to 100 GW.
pub(super) const SITE_MW: Range = open_closed(0.0, 1e5);
/// Mining efficiency, J/TH (today's machines 15 to 30; 2010's GPUs 1e6).
pub(super) const J_PER_TH: Range = closed(0.01, 1e7);

/// An amount of BTC: at most the 21 million there will ever be.
pub(super) const BTC: Range = closed(0.0, 21e6);
/// An amount of BTC that must be positive (a sale).
pub(super) const POSITIVE_BTC: Range = open_closed(0.0, 21e6);
/// An amount of money, USD: up to a trillion.
pub(super) const USD: Range = closed(0.0, 1e12);
/// An amount of money that must be positive (an event's amount).
pub(super) const POSITIVE_USD: Range = open_closed(0.0, 1e12);
/// Yearly interest and discount rates: up to 100 %.
pub(super) const RATE: Range = closed(0.0, 1.0);
/// The loan's LTV thresholds (the reference has 0.60, 0.75, 0.90).
pub(super) const LTV: Range = closed(0.01, 5.0);
/// Multiples: terminal multiples (years of margin) and the threshold hurdle.
pub(super) const MULTIPLE: Range = closed(0.0, 100.0);

/// The hashrate's lag, months: at most the longest run.
pub(super) const MONTHS: (i64, i64) = (0, super::MAX_MONTHS as i64);
/// Lead times and windows, months: at least one, at most the longest run.
pub(super) const LEAD_MONTHS: (i64, i64) = (1, super::MAX_MONTHS as i64);
/// Sites asked for per quarter.
pub(super) const SITES_PER_QUARTER: (i64, i64) = (1, 1_000_000);
/// Counts of sites in a policy: at most a million.
pub(super) const SITES: (i64, i64) = (0, 1_000_000);

#[cfg(test)]
mod tests {
    //! The derivation of the module's doc, recomputed from the constants:
    //! the worst case, at 600 months with every normal draw 8 standard
    //! deviations out, of every series the model logs, divides by or
    //! multiplies, on the log scale.

    use super::*;

    const T: f64 = 50.0;
    const Z: f64 = 8.0;
    /// The natural log of the largest and the smallest normal f64.
    const LN_MAX: f64 = 709.7;
    const LN_MIN: f64 = -708.3;

    fn lo(r: Range) -> f64 {
        match r.lo {
            Lo::Above(v) | Lo::AtLeast(v) => v,
        }
    }

    /// `n` points from `a` to `b`.
    fn grid(a: f64, b: f64, n: usize) -> impl Iterator<Item = f64> {
        (0..n).map(move |i| a + (b - a) * i as f64 / (n - 1) as f64)
    }

    /// The lowest and highest log-change `X` of the BTC price over `T`
    /// years, over a grid of the allowed drift, volatility and jumps.
    fn btc_log_change() -> (f64, f64) {
        let (mut low, mut high) = (f64::MAX, f64::MIN);
        for mu in [lo(DRIFT), DRIFT.hi] {
            for sigma in grid(0.0, VOLATILITY.hi, 41) {
                let base = (mu - sigma * sigma / 2.0) * T;
                let diffusion = Z * sigma * T.sqrt();
                for lambda in grid(0.0, 10.0, 41).chain(grid(10.0, JUMPS_PER_YEAR.hi, 100)) {
                    for jm in grid(lo(JUMP_MEAN), JUMP_MEAN.hi, 41) {
                        for js in grid(0.0, JUMP_SD.hi, 21) {
                            if lambda * (jm * jm + js * js) > f64::from(MAX_JUMP_VARIANCE_PER_YEAR)
                            {
                                continue;
                            }
                            let k = (jm + js * js / 2.0).exp() - 1.0;
                            let mean = lambda * T;
                            for n in [mean - Z * mean.sqrt(), mean, mean + Z * mean.sqrt()] {
                                let n = n.max(0.0);
                                let jumps = n * jm - mean * k;
                                let spread = Z * js * n.sqrt();
                                low = low.min(base - diffusion + jumps - spread);
                                high = high.max(base + diffusion + jumps + spread);
                            }
                        }
                    }
                }
            }
        }
        (low, high)
    }

    /// A geometric Brownian motion's log-change over `T` years at the
    /// allowed drift and volatility: (lowest, highest).
    fn gbm(drift: Range, vol: Range) -> (f64, f64) {
        let (mut low, mut high) = (f64::MAX, f64::MIN);
        for d in [lo(drift), drift.hi] {
            for s in grid(0.0, vol.hi, 201) {
                let base = (d - s * s / 2.0) * T;
                low = low.min(base - Z * s * T.sqrt());
                high = high.max(base + Z * s * T.sqrt());
            }
        }
        (low, high)
    }

    #[test]
    fn the_worst_case_of_every_series_is_finite_and_positive() {
        let (x_lo, x_hi) = btc_log_change();
        assert!(x_lo > -400.0 && x_hi < 150.0, "X in [{x_lo}, {x_hi}]");
        let ln_s = (lo(BTC_PRICE_USD).ln() + x_lo, BTC_PRICE_USD.hi.ln() + x_hi);
        // A month's fees per block, F = mean exp(s z - s^2/2), and the BTC
        // a block pays (the subsidy halved at most MAX_HALVINGS times).
        let fee_dispersion = FEE_DISPERSION.hi;
        let fee_max = FEE_BTC.hi * (Z * fee_dispersion - fee_dispersion.powi(2) / 2.0).exp();
        let ln_block_btc = (
            (lo(SUBSIDY_BTC) * 0.5f64.powi(MAX_HALVINGS as i32)).ln(),
            (SUBSIDY_BTC.hi + fee_max).ln(),
        );
        // H_eq = c S, c = 144 (subsidy + mean fee) / breakeven, the
        // breakeven moving by exp(-g t).
        let g = DRIFT.hi * T;
        let ln_c = (
            144f64.ln() + ln_block_btc.0 - BREAKEVEN_USD_PER_EH_DAY.hi.ln() - g,
            144f64.ln() + (SUBSIDY_BTC.hi + FEE_BTC.hi).ln() - lo(BREAKEVEN_USD_PER_EH_DAY).ln()
                + g,
        );
        // With 0 <= kappa dt <= 1 the log hashrate stays between H0's and
        // H_eq's, give or take its own noise (a random walk at worst).
        let (noise_lo, noise_hi) = gbm(closed(0.0, 0.0), HASHRATE_VOLATILITY);
        let ln_h = (
            lo(HASHRATE_EHS).ln().min(ln_c.0 + ln_s.0) + noise_lo,
            HASHRATE_EHS.hi.ln().max(ln_c.1 + ln_s.1) + noise_hi,
        );
        // S[t] / H[u] for u <= t: H[u] followed H0 or c S at some earlier
        // month, and S rose at most by x_hi since.
        let ln_s_over_h = (x_hi - ln_c.0 - noise_lo).max(ln_s.1 - lo(HASHRATE_EHS).ln() - noise_lo);
        // The largest, most efficient site in a 31-day month.
        let ln_site_ehs_days = (SITE_MW.hi / lo(J_PER_TH)).ln() + 31f64.ln();
        let ln_btc_mined = ln_site_ehs_days + 144f64.ln() + ln_block_btc.1 - ln_h.0;
        let ln_revenue = ln_site_ehs_days + 144f64.ln() + ln_block_btc.1 + ln_s_over_h;
        // Every month's BTC kept, valued at a later price, and the reserve.
        let ln_reserve_usd = (ln_revenue + 600f64.ln()).max(BTC.hi.ln() + ln_s.1);
        let (p_lo, p_hi) = gbm(DRIFT, VOLATILITY);
        let ln_gpu = (lo(GPU_HOUR_USD).ln() + p_lo, GPU_HOUR_USD.hi.ln() + p_hi);
        let ln_ai_revenue = ln_gpu.1 + (GPUS_PER_MW_IT.hi * 24.0 * 31.0 * SITE_MW.hi).ln();
        let ln_demand = AI_DEMAND_MW.hi.ln() + p_hi;
        for (name, value) in [
            ("ln S low", ln_s.0),
            ("ln H low", ln_h.0),
            ("ln GPU price low", ln_gpu.0),
        ] {
            assert!(value > LN_MIN + 20.0, "{name} = {value}");
        }
        for (name, value) in [
            ("ln S high", ln_s.1),
            ("ln H high", ln_h.1),
            ("ln BTC mined", ln_btc_mined),
            ("ln mining revenue", ln_revenue),
            ("ln reserve USD", ln_reserve_usd),
            ("ln GPU price high", ln_gpu.1),
            ("ln AI revenue", ln_ai_revenue),
            ("ln AI demand", ln_demand),
        ] {
            assert!(value < LN_MAX - 20.0, "{name} = {value}");
        }
    }
}
