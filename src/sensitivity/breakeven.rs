//! Breakevens: the value of a key at which policy P's mean NPV equals Q's,
//! by bisection on common random numbers.
//!
//! Every evaluation runs the scenario with the key set (as [`super::points`]
//! builds it) on the same seed and paths, and measures the paired
//! difference `NPV_P - NPV_Q` path by path: its mean and standard error.
//! With the same paths at every value, the mean difference is a smooth
//! function of the key, not a noisy one, and bisection on its sign
//! converges. The two ends must differ in sign (else there is no crossing
//! in the bracket, and the result says so with both ends' figures). Each
//! step halves the bracket, keeping the half whose ends differ in sign,
//! until the bracket is narrower than the crossing's standard error (the
//! paired SE of the difference there over the slope of the mean
//! difference, `se_d / |slope|`) or than `1e-3 |B - A|` (an integer key:
//! until its ends are adjacent integers). The crossing reported is where
//! the straight line between the bracket's ends crosses zero (inside it).

use rayon::prelude::*;

use super::BadInput;
use crate::engine::{CHUNK_PATHS, Engine};
use crate::scenario::edit::Loaded;
use crate::summary::MeanSe;

/// The most bisection steps (the rules above stop well before).
pub const MAX_ITERATIONS: usize = 200;
/// The bracket's relative width at which the search stops.
pub const RELATIVE_TOLERANCE: f64 = 1e-3;

/// The paired difference at one value of the key.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation {
    pub value: f64,
    /// `NPV_P - NPV_Q`, mean and SE over the paths.
    pub difference: MeanSe,
}

/// What the bisection found.
#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    /// Where the mean difference crosses zero; `None` with `reason`.
    pub crossing: Option<f64>,
    /// The crossing's standard error, `se_d / |slope|`.
    pub se: Option<f64>,
    /// The last bracket, `[lo, hi]`, whose ends differ in sign.
    pub bracket: Option<[f64; 2]>,
    /// Bisection steps (evaluations beyond the two ends).
    pub iterations: usize,
    pub reason: Option<String>,
    /// Every value evaluated, in order.
    pub evaluations: Vec<Evaluation>,
}

/// Bisect `f` (the paired difference at a value) over `[a, b]`.
pub fn bisect(
    a: f64,
    b: f64,
    integer: bool,
    mut f: impl FnMut(f64) -> Result<MeanSe, String>,
) -> Search {
    let mut search = Search {
        crossing: None,
        se: None,
        bracket: None,
        iterations: 0,
        reason: None,
        evaluations: Vec::new(),
    };
    let (a, b) = (a.min(b), a.max(b));
    let mut eval = |x: f64, s: &mut Search| -> Result<MeanSe, String> {
        let d = f(x)?;
        s.evaluations.push(Evaluation {
            value: x,
            difference: d,
        });
        Ok(d)
    };
    let ends = eval(a, &mut search).and_then(|fa| Ok((fa, eval(b, &mut search)?)));
    let (mut f_lo, mut f_hi) = match ends {
        Ok(ends) => ends,
        Err(reason) => {
            search.reason = Some(reason);
            return search;
        }
    };
    let ties: Vec<f64> = [(a, f_lo), (b, f_hi)]
        .into_iter()
        .filter(|(_, d)| tie(d))
        .map(|(x, _)| x)
        .collect();
    if !ties.is_empty() {
        search.reason = Some(tie_reason(&ties));
        return search;
    }
    if f_lo.mean.signum() == f_hi.mean.signum() && f_lo.mean != 0.0 && f_hi.mean != 0.0 {
        search.reason = Some(format!(
            "the mean difference has the same sign at both ends: {} (SE {}) at {a} and {} \
             (SE {}) at {b}, so no crossing in [{a}, {b}]",
            f_lo.mean, f_lo.se, f_hi.mean, f_hi.se
        ));
        return search;
    }
    let (mut lo, mut hi) = (a, b);
    loop {
        let (crossing, se) = secant(lo, hi, f_lo, f_hi);
        let width = hi - lo;
        let done = width < se
            || width <= RELATIVE_TOLERANCE * (b - a)
            || f_lo.mean == 0.0
            || f_hi.mean == 0.0
            || search.iterations >= MAX_ITERATIONS;
        let mid = if integer {
            ((lo + hi) / 2.0).round()
        } else {
            lo + width / 2.0
        };
        if done || mid <= lo || mid >= hi {
            search.crossing = Some(crossing);
            search.se = Some(se);
            search.bracket = Some([lo, hi]);
            return search;
        }
        let f_mid = match eval(mid, &mut search) {
            Ok(d) => d,
            Err(reason) => {
                search.reason = Some(reason);
                return search;
            }
        };
        search.iterations += 1;
        if tie(&f_mid) {
            search.reason = Some(tie_reason(&[mid]));
            return search;
        }
        if f_mid.mean.signum() == f_lo.mean.signum() && f_mid.mean != 0.0 {
            (lo, f_lo) = (mid, f_mid);
        } else {
            (hi, f_hi) = (mid, f_mid);
        }
    }
}

/// The two policies act alike: their NPVs are equal on every path.
fn tie(d: &MeanSe) -> bool {
    d.mean == 0.0 && d.se == 0.0
}

fn tie_reason(at: &[f64]) -> String {
    let at: Vec<String> = at.iter().map(|x| x.to_string()).collect();
    format!(
        "the two policies act alike at {} (their NPVs are equal on every path): they tie over \
         a range of values, not at one crossing",
        at.join(" and ")
    )
}

/// Where the line through `(lo, f_lo)` and `(hi, f_hi)` crosses zero, and
/// that crossing's SE: the difference's SE there (interpolated) over the
/// slope.
fn secant(lo: f64, hi: f64, f_lo: MeanSe, f_hi: MeanSe) -> (f64, f64) {
    if f_lo.mean == 0.0 {
        return (lo, standard_error(f_lo.se, f_lo.mean, f_hi.mean, hi - lo));
    }
    if f_hi.mean == 0.0 {
        return (hi, standard_error(f_hi.se, f_lo.mean, f_hi.mean, hi - lo));
    }
    let w = f_lo.mean / (f_lo.mean - f_hi.mean);
    let x = lo + w * (hi - lo);
    let se_d = f_lo.se + w * (f_hi.se - f_lo.se);
    (x, standard_error(se_d, f_lo.mean, f_hi.mean, hi - lo))
}

fn standard_error(se_d: f64, f_lo: f64, f_hi: f64, width: f64) -> f64 {
    let slope = ((f_hi - f_lo) / width).abs();
    if slope > 0.0 {
        se_d / slope
    } else {
        f64::INFINITY
    }
}

/// Every policy's NPV on every path of `engine`'s scenario
/// (`[policy][path]`), simulated on `threads` threads (0 = all cores).
/// The paths are those of a run of the scenario: the same values.
pub fn npv_by_path(engine: &Engine, threads: usize) -> Vec<Vec<f64>> {
    let paths = engine.scenario.simulation.paths;
    let policies = engine.scenario.policies.len();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool");
    let chunks: Vec<Vec<f64>> = pool.install(|| {
        (0..paths.div_ceil(CHUNK_PATHS))
            .into_par_iter()
            .map_init(
                || engine.worker(),
                |w, c| {
                    let (start, end) = (c * CHUNK_PATHS, ((c + 1) * CHUNK_PATHS).min(paths));
                    let mut out = Vec::with_capacity((end - start) as usize * policies);
                    for path in start..end {
                        engine.simulate_path(w, path);
                        out.extend((0..policies).map(|p| engine.path_values(w, p).npv_usd));
                    }
                    out
                },
            )
            .collect()
    });
    let mut by_policy = vec![Vec::with_capacity(paths as usize); policies];
    for chunk in &chunks {
        for row in chunk.chunks_exact(policies) {
            for (p, v) in row.iter().enumerate() {
                by_policy[p].push(*v);
            }
        }
    }
    by_policy
}

/// Mean and standard error (sample SD / sqrt(n)) of `values`, summed in
/// order.
pub fn mean_se(values: impl ExactSizeIterator<Item = f64> + Clone) -> MeanSe {
    let n = values.len() as f64;
    if n == 0.0 {
        return MeanSe { mean: 0.0, se: 0.0 };
    }
    let mean = values.clone().sum::<f64>() / n;
    let ss: f64 = values.map(|v| (v - mean) * (v - mean)).sum();
    let se = if n > 1.0 {
        (ss / (n - 1.0)).sqrt() / n.sqrt()
    } else {
        0.0
    };
    MeanSe { mean, se }
}

/// The paired difference `NPV_p - NPV_q` over the paths.
pub fn paired(npv: &[Vec<f64>], p: usize, q: usize) -> MeanSe {
    mean_se(npv[p].iter().zip(&npv[q]).map(|(a, b)| a - b))
}

/// What `--breakeven KEY --between A B [--policies P,Q]` asks for.
#[derive(Debug, Clone)]
pub struct Options {
    pub key: String,
    pub between: (f64, f64),
    /// `(P, Q)`; default: the two policies of highest mean NPV at the
    /// base, best first.
    pub policies: Option<(String, String)>,
    /// Worker threads; 0 = all cores.
    pub threads: usize,
    /// A progress line per evaluation on stderr.
    pub progress: bool,
}

/// The breakeven found, with what it was asked (`breakeven.json`).
#[derive(Debug, Clone, PartialEq)]
pub struct Breakeven {
    pub scenario: String,
    pub key: String,
    /// The key's value in the scenario.
    pub base_value: f64,
    /// `[P, Q]`: the crossing is where P's mean NPV equals Q's.
    pub policies: [String; 2],
    /// P's and Q's mean NPV at the base.
    pub base_npv_usd: [f64; 2],
    pub between: [f64; 2],
    pub paths: u64,
    pub seed: u64,
    pub search: Search,
}

/// Find the breakeven of `opts.key` in the loaded scenario.
pub fn breakeven(loaded: &Loaded, opts: &Options) -> Result<Breakeven, BadInput> {
    let file = loaded.doc.file().display().to_string();
    let key = loaded
        .keys
        .iter()
        .find(|k| k.key == opts.key)
        .ok_or_else(|| {
            BadInput(format!(
                "{file}: --breakeven: {}",
                loaded.doc.problem(&opts.key)
            ))
        })?;
    let (a, b) = opts.between;
    for v in [a, b] {
        if !key.contains(v) {
            return Err(BadInput(format!(
                "--between: {v} is outside the allowed range of `{}`, {}",
                key.key,
                key.range_text()
            )));
        }
        if key.integer && v.fract() != 0.0 {
            return Err(BadInput(format!(
                "--between: `{}` is an integer key, got {v}",
                key.key
            )));
        }
    }
    if a == b {
        return Err(BadInput(format!(
            "--between: expected two different values, got {a} twice"
        )));
    }
    let sc = &loaded.scenario;
    let names: Vec<&str> = sc.policies.iter().map(|p| p.name.as_str()).collect();
    if names.len() < 2 {
        return Err(BadInput(format!(
            "{file}: --breakeven needs two policies; the scenario has {}",
            names.len()
        )));
    }
    let index = |name: &str| {
        names.iter().position(|n| *n == name).ok_or_else(|| {
            BadInput(format!(
                "--policies: no policy named `{name}`; the policies are {}",
                names.join(", ")
            ))
        })
    };
    let named = match &opts.policies {
        Some((p, q)) => {
            let (p, q) = (index(p)?, index(q)?);
            if p == q {
                return Err(BadInput(format!(
                    "--policies: expected two different policies, got `{}` twice",
                    names[p]
                )));
            }
            Some((p, q))
        }
        None => None,
    };
    let base_npv = npv_by_path(&Engine::new(sc.clone()), opts.threads);
    let means: Vec<f64> = base_npv
        .iter()
        .map(|v| mean_se(v.iter().copied()).mean)
        .collect();
    let (p, q) = named.unwrap_or_else(|| {
        let mut order: Vec<usize> = (0..names.len()).collect();
        order.sort_by(|&i, &j| means[j].total_cmp(&means[i]).then(i.cmp(&j)));
        (order[0], order[1])
    });
    let step = std::cell::Cell::new(0usize);
    let search = bisect(a, b, key.integer, |x| {
        step.set(step.get() + 1);
        if opts.progress {
            eprint!(
                "\rbreakeven: evaluation {} at {} = {x}            ",
                step.get(),
                key.key
            );
        }
        let sc = super::points::point(&loaded.doc, &key.key, x, key.integer)?;
        Ok(paired(&npv_by_path(&Engine::new(sc), opts.threads), p, q))
    });
    if opts.progress {
        eprint!("\r{:70}\r", "");
    }
    Ok(Breakeven {
        scenario: sc.name.clone(),
        key: key.key.clone(),
        base_value: key.value,
        policies: [names[p].to_string(), names[q].to_string()],
        base_npv_usd: [means[p], means[q]],
        between: [a.min(b), a.max(b)],
        paths: sc.simulation.paths,
        seed: sc.simulation.seed,
        search,
    })
}
