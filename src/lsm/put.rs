//! The classic check of the method: an American put, exercisable at
//! `dates_per_year` evenly spaced dates (so, strictly, Bermudan), on a stock
//! following geometric Brownian motion under the risk-neutral measure,
//! priced by Longstaff-Schwartz with the paper's basis (a constant and the
//! first three weighted Laguerre polynomials of `S/K`), on antithetic pairs.
//! `examples/american_put.rs` prints it; `tests/integration/lsm.rs` checks it
//! against [`super::tree::bermudan`] on the cases of the paper's Table 1.

use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

use super::backward::{self, Participation};
use super::{Basis, LsmError, PathStates, bad, mean_se, tree};

/// The stream bit of the training paths of the out-of-sample estimate: the
/// pricing paths use streams `0..pairs`, the training paths the same indices
/// with this bit set, so the two sets never share a path.
const TRAINING_STREAM: u64 = 1 << 63;

/// Weighted Laguerre polynomials in the put's basis (besides the constant).
pub const LAGUERRE_TERMS: usize = 3;

/// Minimum steps of the benchmark tree.
pub const TREE_MIN_STEPS: usize = 10_000;

/// The option and the stock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PutSpec {
    pub spot: f64,
    pub strike: f64,
    /// Annual volatility of the stock (0.2 = 20%).
    pub sigma: f64,
    pub years: f64,
    /// Continuously compounded annual risk-free rate.
    pub rate: f64,
    pub dates_per_year: u32,
}

/// A Monte Carlo price and its standard error (from the pair averages).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PutEstimate {
    pub price: f64,
    pub se: f64,
    pub paths: usize,
    pub dates: usize,
}

impl PutEstimate {
    /// `{"price": .., "se": ..}`, the example's last line.
    pub fn json_line(&self) -> String {
        serde_json::json!({ "price": self.price, "se": self.se }).to_string()
    }
}

impl PutSpec {
    /// The number of exercise dates, `round(years x dates_per_year)`, evenly
    /// spaced with the last at maturity; or the first bad field.
    pub fn dates(&self) -> Result<usize, LsmError> {
        let positive = |name, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(bad(name, "a finite number > 0", v))
            }
        };
        positive("spot", self.spot)?;
        positive("strike", self.strike)?;
        positive("sigma", self.sigma)?;
        positive("years", self.years)?;
        if !(self.rate.is_finite() && self.rate.abs() <= 1.0) {
            return Err(bad("rate", "a finite rate in [-1, 1]", self.rate));
        }
        let dates = (self.years * f64::from(self.dates_per_year)).round();
        if !(1.0..=100_000.0).contains(&dates) {
            return Err(bad(
                "dates-per-year",
                "between 1 and 100,000 exercise dates over the option's life",
                dates,
            ));
        }
        Ok(dates as usize)
    }

    /// Years between exercise dates.
    fn dt(&self, dates: usize) -> f64 {
        self.years / dates as f64
    }

    /// Discount factor of each step, `exp(-rate dt)`.
    pub fn discount(&self) -> Result<Vec<f64>, LsmError> {
        let dates = self.dates()?;
        Ok(vec![(-self.rate * self.dt(dates)).exp(); dates])
    }

    /// The Laguerre basis of the paper, in `X = S/K`.
    pub fn basis(&self) -> Basis {
        Basis::Laguerre {
            terms: LAGUERRE_TERMS,
            scale: self.strike,
        }
    }

    fn exercise(&self) -> impl Fn(usize, usize, &[f64]) -> Option<f64> + '_ {
        move |_, _, s| Some(self.strike - s[0])
    }

    /// The benchmark: a CRR tree with the same exercise dates and at least
    /// `min_steps` steps.
    pub fn tree_price(&self, min_steps: usize) -> Result<f64, LsmError> {
        let dates = self.dates()?;
        tree::bermudan(
            self.spot,
            self.sigma,
            self.years,
            self.rate,
            dates,
            min_steps,
            |s| self.strike - s,
        )
    }
}

fn check_paths(paths: usize) -> Result<usize, LsmError> {
    if paths < 2 || !paths.is_multiple_of(2) {
        return Err(bad(
            "paths",
            "an even number >= 2 (antithetic pairs)",
            paths,
        ));
    }
    Ok(paths / 2)
}

/// Stock prices at the exercise dates of `2 x pairs` paths: pair `i` draws
/// its normals from ChaCha8 stream `stream_bit | i` of the generator seeded
/// by `seed`, path `2i` from `Z`, path `2i+1` from `-Z`. The pairs are
/// filled in parallel; each owns its stream, so the thread count does not
/// change a number.
pub fn simulate(
    spec: &PutSpec,
    pairs: usize,
    seed: u64,
    stream_bit: u64,
) -> Result<PathStates, LsmError> {
    let dates = spec.dates()?;
    let dt = spec.dt(dates);
    let drift = (spec.rate - 0.5 * spec.sigma * spec.sigma) * dt;
    let vol = spec.sigma * dt.sqrt();
    let mut states = PathStates::zeros(2 * pairs, dates, 1)?;
    let key = ChaCha8Rng::seed_from_u64(seed).get_seed();
    let mut rngs: Vec<ChaCha8Rng> = (0..pairs as u64)
        .map(|i| {
            let mut r = ChaCha8Rng::from_seed(key);
            r.set_stream(stream_bit | i);
            r
        })
        .collect();
    let mut spots = vec![spec.spot; 2 * pairs];
    for d in 0..dates {
        let out = states.date_mut(d);
        out.par_chunks_mut(2)
            .zip(spots.par_chunks_mut(2))
            .zip(rngs.par_iter_mut())
            .with_min_len(1024)
            .for_each(|((out, s), rng)| {
                let z: f64 = StandardNormal.sample(rng);
                s[0] *= (drift + vol * z).exp();
                s[1] *= (drift - vol * z).exp();
                out.copy_from_slice(s);
            });
    }
    Ok(states)
}

/// The paper's estimate: the rule fitted on `paths` paths (`paths/2`
/// antithetic pairs, pricing streams of `seed`) and the mean of their
/// in-sample values; the standard error is that of the pair averages.
pub fn price(spec: &PutSpec, paths: usize, seed: u64) -> Result<PutEstimate, LsmError> {
    let pairs = check_paths(paths)?;
    let states = simulate(spec, pairs, seed, 0)?;
    let discount = spec.discount()?;
    let (_, valuation) = backward::fit(
        &states,
        &spec.basis(),
        Participation::InTheMoney,
        &discount,
        spec.exercise(),
    )?;
    let (price, se) = mean_se(&valuation.values, true);
    Ok(PutEstimate {
        price,
        se,
        paths,
        dates: discount.len(),
    })
}

/// The out-of-sample (low-biased) estimate: the rule fitted on `paths`
/// training paths (training streams of `seed`), applied to the `paths`
/// pricing paths that [`price`] uses.
pub fn price_out_of_sample(
    spec: &PutSpec,
    paths: usize,
    seed: u64,
) -> Result<PutEstimate, LsmError> {
    let pairs = check_paths(paths)?;
    let discount = spec.discount()?;
    let training = simulate(spec, pairs, seed, TRAINING_STREAM)?;
    let (rule, _) = backward::fit(
        &training,
        &spec.basis(),
        Participation::InTheMoney,
        &discount,
        spec.exercise(),
    )?;
    drop(training);
    let pricing = simulate(spec, pairs, seed, 0)?;
    let valuation = backward::apply(&rule, &pricing, &discount, spec.exercise())?;
    let (price, se) = mean_se(&valuation.values, true);
    Ok(PutEstimate {
        price,
        se,
        paths,
        dates: discount.len(),
    })
}
