//! The market: one sampled path of BTC price, hashrate, fees, GPU-hour price
//! and AI demand (docs/model.md section 1).
//!
//! The sampler is immutable (`&self`) and owns no generator. Each path gets
//! its own generators, keyed by (seed, path index, stream), so path i is the
//! same whatever the thread count or path count of the run, and `replay` can
//! re-create it alone. The four models draw from separate streams (correlated
//! diffusions, jumps, fees, regimes), so switching regimes on does not shift
//! the price shocks of any path. The correlated shocks are the market's
//! factors ([`crate::model::factors`]), where a factor added after the first
//! four gets a stream of its own.

use rand::rngs::Xoshiro256PlusPlus;
use rand::{Rng, RngExt, SeedableRng};
use rand_distr::{Distribution, StandardNormal};

use crate::kernels::expm::exp_in_place;
use crate::model::calendar::{BLOCKS_PER_DAY, Calendar, DT_YEARS};
use crate::model::factors::{
    AI_DEMAND, BTC_PRICE, CorrelatedShocks, GPU_PRICE, HASHRATE, MARKET_FACTORS, ShockRngs,
};
use crate::scenario::Market;

/// Random stream of a path, one per model, and one per market factor after
/// the first four.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// The normals of the first four factors (Z, W, U, V), in that order.
    Diffusion,
    /// Poisson jump counts and jump sizes.
    Jumps,
    /// Monthly fee level.
    Fees,
    /// Regime switches.
    Regimes,
    /// The normals of the market factor at this index of the factor list,
    /// one drawing from a stream of its own (see [`crate::model::factors`]).
    Factor(u32),
}

/// Key of the first factor stream: above every model stream's key, so the
/// two kinds never meet however many of either there are.
const FACTOR_STREAM_KEY: u64 = 1 << 32;

impl Stream {
    /// The stream's key in [`path_rng`]: 1 to 4 for the models' streams
    /// (their keys since the first release, which the golden outputs fix),
    /// `2^32 + index` for a factor's own stream.
    pub const fn key(self) -> u64 {
        match self {
            Stream::Diffusion => 1,
            Stream::Jumps => 2,
            Stream::Fees => 3,
            Stream::Regimes => 4,
            Stream::Factor(index) => FACTOR_STREAM_KEY + index as u64,
        }
    }
}

/// Hashprice `HP = 144 (subsidy + F) S / H`, USD per EH/s per day.
pub fn hashprice_usd_per_eh_day(
    subsidy_btc: f64,
    fee_btc: f64,
    btc_price_usd: f64,
    hashrate_ehs: f64,
) -> f64 {
    BLOCKS_PER_DAY * (subsidy_btc + fee_btc) * btc_price_usd / hashrate_ehs
}

/// SplitMix64 finaliser: a fixed, portable 64-bit mixing function.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The generator of one stream of one path, from the run's seed.
pub fn path_rng(seed: u64, path: u64, stream: Stream) -> Xoshiro256PlusPlus {
    let key = mix64(mix64(mix64(seed) ^ path.wrapping_mul(0x9e37_79b9_7f4a_7c15)) ^ stream.key());
    Xoshiro256PlusPlus::seed_from_u64(key)
}

/// One sampled market path, month by month (values at the start of month t).
#[derive(Debug, Clone, Default)]
pub struct MarketPath {
    /// S[t], USD per BTC.
    pub btc_price_usd: Vec<f64>,
    /// H[t], network hashrate, EH/s.
    pub hashrate_ehs: Vec<f64>,
    /// F[t], fees per block, BTC.
    pub fee_btc: Vec<f64>,
    /// HP[t] = 144 (subsidy + F) S / H, USD per EH/s per day.
    pub hashprice_usd_per_eh_day: Vec<f64>,
    /// p[t], USD per GPU-hour.
    pub gpu_hour_usd: Vec<f64>,
    /// D[t], AI demand reachable, MW of IT load.
    pub ai_demand_mw_it: Vec<f64>,
    /// Index of the regime in force during month t (0 when regimes are off).
    pub regime: Vec<u8>,
    /// Number of BTC price jumps on the path (every month's Poisson count).
    pub btc_jumps: u32,
}

impl MarketPath {
    pub fn with_months(months: usize) -> MarketPath {
        let v = || vec![0.0; months];
        MarketPath {
            btc_price_usd: v(),
            hashrate_ehs: v(),
            fee_btc: v(),
            hashprice_usd_per_eh_day: v(),
            gpu_hour_usd: v(),
            ai_demand_mw_it: v(),
            regime: vec![0; months],
            btc_jumps: 0,
        }
    }

    pub fn months(&self) -> usize {
        self.btc_price_usd.len()
    }
}

/// Monthly drift and volatility terms of one BTC regime, precomputed.
#[derive(Debug, Clone)]
struct RegimeStep {
    /// `(mu - sigma^2/2 - lambda k) dt`.
    drift: f64,
    /// `sigma sqrt(dt)`.
    vol: f64,
    /// Monthly probability of leaving, `1 - exp(-dt / mean_duration)`.
    p_leave: f64,
}

/// The market model with everything per-month precomputed; samples paths.
#[derive(Debug, Clone)]
pub struct MarketModel {
    s0_usd: f64,
    regimes: Vec<RegimeStep>,
    jump_mean_per_month: f64,
    /// Draws of the monthly jump count (Poisson of `jump_mean_per_month`).
    jump_count: PoissonInversion,
    jump_mean: f64,
    jump_sd: f64,
    h0_ehs: f64,
    kappa_up_dt: f64,
    kappa_down_dt: f64,
    lag_months: usize,
    h_drift: f64,
    h_vol: f64,
    fee_mean_btc: f64,
    fee_sigma: f64,
    p0: f64,
    p_drift: f64,
    p_vol: f64,
    d0: f64,
    d_drift: f64,
    d_vol: f64,
    /// The correlated shocks (Z, W, U, V) of a month.
    shocks: CorrelatedShocks,
    /// `144 (sub_fwd[t] + fee_mean) / hp_be[t]`: H_eq[t] = this * S[t].
    h_eq_per_usd: Vec<f64>,
    /// With capitulation on, `144 (subsidy[t] + fee_mean) / (c_cash hp_be[t])`:
    /// H_cash[t] = this * S[t]. `None` with capitulation off (revision 4).
    h_cash_per_usd: Option<Vec<f64>>,
    /// `kappa_exit dt`.
    kappa_exit_dt: f64,
    /// Day-weighted block subsidy per month, BTC, for the hashprice.
    subsidy_btc: Vec<f64>,
}

impl MarketModel {
    pub fn new(market: &Market, cal: &Calendar) -> MarketModel {
        let btc = &market.btc;
        let lambda = btc.jump_lambda_per_year;
        let k = (btc.jump_mean + 0.5 * btc.jump_sd * btc.jump_sd).exp() - 1.0;
        let step = |mu: f64, sigma: f64, mean_duration_years: f64| RegimeStep {
            drift: (mu - 0.5 * sigma * sigma - lambda * k) * DT_YEARS,
            vol: sigma * DT_YEARS.sqrt(),
            p_leave: 1.0 - (-DT_YEARS / mean_duration_years).exp(),
        };
        let regimes = if btc.regimes.is_empty() {
            vec![step(btc.mu, btc.sigma, f64::INFINITY)]
        } else {
            btc.regimes
                .iter()
                .map(|r| step(r.mu, r.sigma, r.mean_duration_years))
                .collect()
        };
        let hr = &market.hashrate;
        let sqrt_dt = DT_YEARS.sqrt();
        MarketModel {
            s0_usd: btc.s0_usd,
            regimes,
            jump_mean_per_month: lambda * DT_YEARS,
            jump_count: PoissonInversion::new(lambda * DT_YEARS),
            jump_mean: btc.jump_mean,
            jump_sd: btc.jump_sd,
            h0_ehs: hr.h0_ehs,
            kappa_up_dt: hr.kappa_up_per_year * DT_YEARS,
            kappa_down_dt: hr.kappa_down_per_year * DT_YEARS,
            lag_months: hr.lag_months,
            h_drift: -0.5 * hr.sigma * hr.sigma * DT_YEARS,
            h_vol: hr.sigma * sqrt_dt,
            fee_mean_btc: market.fees.mean_btc,
            fee_sigma: market.fees.sigma,
            p0: market.gpu_price.p0_usd_per_gpu_hour,
            p_drift: (-market.gpu_price.decline_per_year
                - 0.5 * market.gpu_price.sigma * market.gpu_price.sigma)
                * DT_YEARS,
            p_vol: market.gpu_price.sigma * sqrt_dt,
            d0: market.ai_demand.d0_mw_it,
            d_drift: (market.ai_demand.growth_per_year
                - 0.5 * market.ai_demand.sigma * market.ai_demand.sigma)
                * DT_YEARS,
            d_vol: market.ai_demand.sigma * sqrt_dt,
            shocks: CorrelatedShocks::new(&MARKET_FACTORS, &market.cholesky),
            h_eq_per_usd: (0..cal.months())
                .map(|t| {
                    BLOCKS_PER_DAY * (cal.subsidy_fwd_btc[t] + market.fees.mean_btc)
                        / cal.breakeven_usd_per_eh_day[t]
                })
                .collect(),
            h_cash_per_usd: hr.capitulation.then(|| {
                (0..cal.months())
                    .map(|t| {
                        BLOCKS_PER_DAY * (cal.subsidy_btc[t] + market.fees.mean_btc)
                            / (hr.cash_cost_share * cal.breakeven_usd_per_eh_day[t])
                    })
                    .collect()
            }),
            kappa_exit_dt: hr.kappa_exit_per_year * DT_YEARS,
            subsidy_btc: cal.subsidy_btc.clone(),
        }
    }

    /// Sample path `path` of the run with `seed` into `out` (reused buffers).
    pub fn sample(&self, seed: u64, path: u64, out: &mut MarketPath) {
        let mut shocks = self.shocks.rngs(seed, path);
        let mut jumps = path_rng(seed, path, Stream::Jumps);
        let mut fees = path_rng(seed, path, Stream::Fees);
        let mut regimes = path_rng(seed, path, Stream::Regimes);
        self.sample_with(&mut shocks, &mut jumps, &mut fees, &mut regimes, out);
    }

    /// Sample one path from the given generators (the factors', then one
    /// per model stream).
    ///
    /// In three passes, so that the exponentials, which no draw and no
    /// recursion waits on, are taken a whole series at a time
    /// ([`crate::kernels::expm::exp_in_place`]): (1) month by month, the draws in
    /// each stream's order, the regimes, and every month's exponent; (2) the
    /// exponentials, and the price, GPU-hour and demand series as running
    /// products; (3) the hashrate's recursion (it reads the lagged price) on
    /// the log scale, then its exponentials. Every value is the same
    /// operations in the same order as a single month-by-month loop.
    pub fn sample_with<R: Rng>(
        &self,
        shocks: &mut ShockRngs<R>,
        jumps: &mut R,
        fees: &mut R,
        regimes: &mut R,
        out: &mut MarketPath,
    ) {
        let months = out.months();
        if months == 0 {
            return;
        }
        let switching = self.regimes.len() > 1;
        let mut regime = 0usize;
        out.btc_jumps = 0;
        // Pass 1. Until pass 2, month t + 1 of the price, GPU-hour and
        // demand series holds the exponent of the step from month t, the
        // fee series the fee's exponent, and month t + 1 of the hashrate
        // series the hashrate shock W of month t.
        // Month t's own entries, and month t + 1's (one fewer).
        let fee = &mut out.fee_btc[..months];
        let regime_of = &mut out.regime[..months];
        let hr_next = &mut out.hashrate_ehs[1..months];
        let price_next = &mut out.btc_price_usd[1..months];
        let gpu_next = &mut out.gpu_hour_usd[1..months];
        let demand_next = &mut out.ai_demand_mw_it[1..months];
        for t in 0..months {
            fee[t] = self.fee_sigma * normal(fees) - 0.5 * self.fee_sigma * self.fee_sigma;
            regime_of[t] = regime as u8;
            if t + 1 == months {
                break;
            }
            // Correlated shocks (Z, W, U, V) = L e.
            let x = self.shocks.draw(shocks);
            let (z, u, v) = (x[BTC_PRICE], x[GPU_PRICE], x[AI_DEMAND]);
            hr_next[t] = x[HASHRATE];

            // BTC price: Merton jump-diffusion in the current regime.
            let rs = &self.regimes[regime];
            let (n_jumps, jump) = self.jump_sum(jumps);
            out.btc_jumps = out.btc_jumps.saturating_add(n_jumps);
            price_next[t] = rs.drift + rs.vol * z + jump;
            gpu_next[t] = self.p_drift + self.p_vol * u;
            demand_next[t] = self.d_drift + self.d_vol * v;

            if switching && regimes.random::<f64>() < rs.p_leave {
                // Leave to one of the other regimes, uniformly.
                let others = self.regimes.len() - 1;
                let pick = (regimes.random::<f64>() * others as f64) as usize;
                let pick = pick.min(others - 1);
                regime = if pick >= regime { pick + 1 } else { pick };
            }
        }

        // Pass 2.
        exp_in_place(&mut out.fee_btc[..months]);
        for f in &mut out.fee_btc[..months] {
            *f *= self.fee_mean_btc;
        }
        for (series, start) in [
            (&mut out.btc_price_usd, self.s0_usd),
            (&mut out.gpu_hour_usd, self.p0),
            (&mut out.ai_demand_mw_it, self.d0),
        ] {
            let series = &mut series[..months];
            exp_in_place(&mut series[1..]);
            // Month 0 is the start; month t + 1 is month t times its step.
            let mut x = start;
            series[0] = x;
            for step in &mut series[1..] {
                x *= *step;
                *step = x;
            }
        }

        // Pass 3: ln H, month by month. H[0] = H0 exactly; later months come
        // from the log dynamics: below the marginal cash cost (capitulation
        // on) machines switch off towards H_cash of month t; otherwise H
        // moves towards H_eq of month t - L (clamped at 0), at S of that month.
        let mut ln_h = self.h0_ehs.ln();
        for t in 0..months - 1 {
            let ln_h_cash = self
                .h_cash_per_usd
                .as_ref()
                .map(|per_usd| (per_usd[t] * out.btc_price_usd[t]).ln())
                .filter(|&ln_h_cash| ln_h > ln_h_cash);
            let drift_dt = match ln_h_cash {
                Some(ln_h_cash) => self.kappa_exit_dt * (ln_h_cash - ln_h),
                None => {
                    let lagged = t.saturating_sub(self.lag_months);
                    let ln_h_eq = (self.h_eq_per_usd[lagged] * out.btc_price_usd[lagged]).ln();
                    let gap = ln_h_eq - ln_h;
                    let kappa_dt = if gap > 0.0 {
                        self.kappa_up_dt
                    } else {
                        self.kappa_down_dt
                    };
                    kappa_dt * gap
                }
            };
            let w = out.hashrate_ehs[t + 1];
            ln_h += drift_dt + self.h_drift + self.h_vol * w;
            out.hashrate_ehs[t + 1] = ln_h;
        }
        exp_in_place(&mut out.hashrate_ehs[1..months]);
        out.hashrate_ehs[0] = self.h0_ehs;
        for t in 0..months {
            out.hashprice_usd_per_eh_day[t] = hashprice_usd_per_eh_day(
                self.subsidy_btc[t],
                out.fee_btc[t],
                out.btc_price_usd[t],
                out.hashrate_ehs[t],
            );
        }
    }

    /// N[t] ~ Poisson(lambda dt) and J[t], the sum of N[t] normal log-jumps.
    /// The sum of n iid Normal(mj, sj^2) is Normal(n mj, n sj^2), so one
    /// normal draw serves.
    fn jump_sum<R: Rng>(&self, rng: &mut R) -> (u32, f64) {
        if self.jump_mean_per_month <= 0.0 {
            return (0, 0.0);
        }
        let n = self.jump_count.sample(rng);
        if n == 0 {
            return (0, 0.0);
        }
        let count = u32::try_from(n).unwrap_or(u32::MAX);
        let n = n as f64;
        (
            count,
            n * self.jump_mean + self.jump_sd * n.sqrt() * normal(rng),
        )
    }
}

impl MarketModel {
    /// The random draws one path of `months` needs, and nothing else: the
    /// same streams and the same number of normals, uniforms and Poisson
    /// draws as [`MarketModel::sample`] (the factors' normals drawn by the
    /// same [`CorrelatedShocks::normals`]), without the model's arithmetic.
    /// The floor under the cost of a path (`pivotsim bench` reports it).
    /// Returns a checksum so the draws cannot be optimised away.
    pub fn rng_floor(&self, seed: u64, path: u64, months: usize) -> f64 {
        let mut shocks = self.shocks.rngs(seed, path);
        let mut jumps = path_rng(seed, path, Stream::Jumps);
        let mut fees = path_rng(seed, path, Stream::Fees);
        let mut switches = path_rng(seed, path, Stream::Regimes);
        let mut sum = 0.0;
        for t in 0..months {
            sum += normal(&mut fees);
            if t + 1 == months {
                break;
            }
            sum += self.shocks.normals(&mut shocks).iter().sum::<f64>();
            if self.jump_mean_per_month > 0.0 && self.jump_count.sample(&mut jumps) > 0 {
                sum += normal(&mut jumps);
            }
            if self.regimes.len() > 1 {
                sum += switches.random::<f64>();
            }
        }
        sum
    }
}

/// A standard normal draw.
#[inline]
pub(crate) fn normal<R: Rng>(rng: &mut R) -> f64 {
    StandardNormal.sample(rng)
}

/// Poisson draws by inversion of the CDF (exact; fast for the small monthly
/// means this model uses). The cumulative probabilities are worked out once,
/// `P(0) = exp(-mean)` and `P(k) = P(k - 1) * (mean / k)` added up, until a
/// `P(k)` falls below 1e-300: a draw is the first `k` whose cumulative
/// probability is at least the uniform `u`, or that last `k`. Large means
/// fall back to rand_distr.
#[derive(Debug, Clone)]
struct PoissonInversion {
    mean: f64,
    /// `cdf[k]`: `P(0) + ... + P(k)`, for `k` below the first whose `P(k)`
    /// is under 1e-300 (that `k` is `cdf.len()`). Empty for a mean over 30.
    cdf: Vec<f64>,
}

/// Means above this are drawn by rand_distr's Poisson.
const POISSON_INVERSION_MAX_MEAN: f64 = 30.0;

impl PoissonInversion {
    fn new(mean: f64) -> PoissonInversion {
        let mut cdf = Vec::new();
        if mean <= POISSON_INVERSION_MAX_MEAN {
            let mut p = (-mean).exp();
            let mut sum = p;
            cdf.push(sum);
            for k in 1.. {
                p *= mean / k as f64;
                sum += p;
                if p < 1e-300 {
                    break;
                }
                cdf.push(sum);
            }
        }
        PoissonInversion { mean, cdf }
    }

    #[inline]
    fn sample<R: Rng>(&self, rng: &mut R) -> u64 {
        if self.mean > POISSON_INVERSION_MAX_MEAN {
            return self.sample_large(rng);
        }
        let u: f64 = rng.random();
        self.cdf.iter().take_while(|&&cdf| u > cdf).count() as u64
    }

    /// A draw of a mean over [`POISSON_INVERSION_MAX_MEAN`], by rand_distr
    /// (kept out of line: the reference scenarios' means are under 1).
    #[cold]
    #[inline(never)]
    fn sample_large<R: Rng>(&self, rng: &mut R) -> u64 {
        let dist = rand_distr::Poisson::new(self.mean).expect("finite positive mean");
        dist.sample(rng) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The floor of `pivotsim bench` runs on the reference model: a
    /// function of (seed, path), finite, other on another path.
    #[test]
    fn rng_floor_is_a_function_of_seed_and_path() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let sc = crate::scenario::load(&dir.join("cango_2026.toml")).unwrap();
        let model = MarketModel::new(&sc.market, &Calendar::new(&sc));
        let floor = model.rng_floor(42, 3, 60);
        assert!(floor.is_finite());
        assert_eq!(floor.to_bits(), model.rng_floor(42, 3, 60).to_bits());
        assert_ne!(floor, model.rng_floor(42, 4, 60));
    }

    #[test]
    fn streams_are_distinct_and_stable() {
        let a: u64 = path_rng(42, 0, Stream::Diffusion).random();
        let b: u64 = path_rng(42, 0, Stream::Jumps).random();
        let c: u64 = path_rng(42, 1, Stream::Diffusion).random();
        let a2: u64 = path_rng(42, 0, Stream::Diffusion).random();
        assert_eq!(a, a2);
        assert_ne!(a, b);
        assert_ne!(a, c);
    }

    /// The table of cumulative probabilities gives the draws of inverting
    /// the CDF term by term (the table's definition), draw for draw, on
    /// small and large means, zero, and uniforms at 0 and just below 1.
    #[test]
    fn poisson_table_matches_term_by_term_inversion() {
        fn term_by_term(mean: f64, u: f64) -> u64 {
            let (mut k, mut p) = (0u64, (-mean).exp());
            let mut cdf = p;
            while u > cdf {
                k += 1;
                p *= mean / k as f64;
                cdf += p;
                if p < 1e-300 {
                    break;
                }
            }
            k
        }
        /// Hands out the given uniforms, as `Rng::random::<f64>` reads them.
        struct Uniforms(Vec<u64>);
        impl rand::TryRng for Uniforms {
            type Error = core::convert::Infallible;
            fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
                unreachable!()
            }
            fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
                Ok(self.0.pop().expect("enough uniforms"))
            }
            fn try_fill_bytes(&mut self, _: &mut [u8]) -> Result<(), Self::Error> {
                unreachable!()
            }
        }
        let mut rng = path_rng(3, 0, Stream::Jumps);
        for mean in [0.0, 1e-3, 0.5, 2.0, 7.5, 29.9, 30.0] {
            let count = PoissonInversion::new(mean);
            let mut bits: Vec<u64> = (0..20_000).map(|_| rng.next_u64()).collect();
            bits.extend([0, u64::MAX, u64::MAX - (1 << 11), 1 << 11]);
            // Uniforms equal to each cumulative probability and one step
            // above (`random::<f64>` gives multiples of 2^-53, which every
            // value in [0.5, 1) is).
            for &c in count.cdf.iter().filter(|&&c| (0.5..1.0).contains(&c)) {
                let steps = (c * (1u64 << 53) as f64) as u64;
                bits.extend([steps << 11, (steps + 1) << 11]);
            }
            let mut source = Uniforms(bits.clone());
            let mut reader = Uniforms(bits);
            let mut seen_max = 0;
            while !source.0.is_empty() {
                let u: f64 = reader.random();
                let k = count.sample(&mut source);
                assert_eq!(k, term_by_term(mean, u), "mean {mean}, u {u}");
                seen_max = seen_max.max(k);
            }
            assert!(
                mean < 2.0 || seen_max as f64 > mean,
                "mean {mean}: max {seen_max}"
            );
        }
    }

    #[test]
    fn poisson_mean_and_variance() {
        let mut rng = path_rng(7, 0, Stream::Jumps);
        let n = 200_000;
        let mean = 0.5;
        let count = PoissonInversion::new(mean);
        let draws: Vec<f64> = (0..n).map(|_| count.sample(&mut rng) as f64).collect();
        let m = draws.iter().sum::<f64>() / n as f64;
        let var = draws.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1) as f64;
        // SE of the mean is sqrt(mean / n).
        let se = (mean / n as f64).sqrt();
        assert!((m - mean).abs() < 4.0 * se, "mean {m}");
        // Var of the sample variance for Poisson: (mu + 2 mu^2) / n approximately.
        let se_var = ((mean + 2.0 * mean * mean) / n as f64).sqrt();
        assert!((var - mean).abs() < 4.0 * se_var, "var {var}");
    }
}
