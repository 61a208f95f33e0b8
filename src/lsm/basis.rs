//! The functions of the state that a regression is run on.
//!
//! A [`Basis`] says which family; [`Features`] is that family made concrete
//! for one fitting sample (the state's transform, the list of monomials) and
//! evaluates it for any state, in the fitting sample or not.

use super::{LsmError, bad};

/// Largest number of polynomial variables and of regression columns
/// accepted: far above anything a regression over thousands of paths can
/// estimate, and a guard against asking for millions of monomials.
pub const MAX_VARS: usize = 64;
pub const MAX_COLUMNS: usize = 2_000;
/// Most Laguerre polynomials (the recurrence loses accuracy beyond).
pub const MAX_LAGUERRE: usize = 20;

/// A family of basis functions. Every family includes the constant.
#[derive(Debug, Clone, PartialEq)]
pub enum Basis {
    /// A constant and the first `terms` weighted Laguerre polynomials of
    /// `X = x / scale`, `x` the state's single variable: `L0 = exp(-X/2)`,
    /// `L1 = exp(-X/2) (1 - X)`, `L2 = exp(-X/2) (1 - 2X + X^2/2)`, and on by
    /// the recurrence `(n+1) L_{n+1} = (2n+1-X) L_n - n L_{n-1}` under the
    /// same weight (Longstaff & Schwartz 2001, eq. 2). The scale (the strike
    /// for a put: `X = S/K`) keeps `X` of order one; with `X = S` near 40,
    /// `exp(-X/2)` is about 2e-9 and the columns are badly scaled.
    Laguerre { terms: usize, scale: f64 },
    /// Every monomial of total degree at most `degree` (1..=4) in the state's
    /// variables, each variable first standardised by the mean and standard
    /// deviation of the fitting sample (a variable constant over the sample
    /// is only centred, and its columns drop out of the fit as rank
    /// deficiency). `C(d + degree, degree)` columns for `d` variables.
    Polynomial { degree: usize },
}

impl Basis {
    /// Number of regression columns for states of `vars` variables, or what
    /// is wrong with the pair.
    pub fn columns(&self, vars: usize) -> Result<usize, LsmError> {
        match *self {
            Basis::Laguerre { terms, scale } => {
                if vars != 1 {
                    return Err(bad("vars", "1 for a Laguerre basis", vars));
                }
                if !(1..=MAX_LAGUERRE).contains(&terms) {
                    return Err(bad("laguerre terms", "1..=20", terms));
                }
                if !(scale.is_finite() && scale > 0.0) {
                    return Err(bad("laguerre scale", "finite and > 0", scale));
                }
                Ok(terms + 1)
            }
            Basis::Polynomial { degree } => {
                if !(1..=4).contains(&degree) {
                    return Err(bad("polynomial degree", "1..=4", degree));
                }
                if !(1..=MAX_VARS).contains(&vars) {
                    return Err(bad("vars", "1..=64", vars));
                }
                // C(vars + degree, degree), exact in u128 for these sizes.
                let mut n: u128 = 1;
                for i in 1..=degree as u128 {
                    n = n * (vars as u128 + i) / i;
                }
                if n > MAX_COLUMNS as u128 {
                    return Err(bad(
                        "polynomial degree",
                        "at most 2,000 monomials over the state's variables",
                        format!("{n} monomials of degree <= {degree} in {vars} variables"),
                    ));
                }
                Ok(n as usize)
            }
        }
    }
}

/// A basis made concrete: `z = (x - center) / scale` per variable, then the
/// columns evaluated at `z`.
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    laguerre: bool,
    center: Vec<f64>,
    scale: Vec<f64>,
    /// Polynomial: column `i` (after the constant, column 0) is column
    /// `parent` times variable `var`; empty for Laguerre.
    monomials: Vec<(u32, u32)>,
    columns: usize,
}

impl Features {
    /// The features of `basis` on a sample of states (`rows x vars`,
    /// row-major): the polynomial standardisation is the sample's.
    pub fn new(basis: &Basis, vars: usize, sample: &[f64]) -> Result<Features, LsmError> {
        let columns = basis.columns(vars)?;
        match *basis {
            Basis::Laguerre { scale, .. } => Ok(Features {
                laguerre: true,
                center: vec![0.0],
                scale: vec![scale],
                monomials: Vec::new(),
                columns,
            }),
            Basis::Polynomial { degree } => {
                let (center, scale) = standardise(vars, sample);
                let monomials = monomials(vars, degree);
                debug_assert_eq!(monomials.len() + 1, columns);
                Ok(Features {
                    laguerre: false,
                    center,
                    scale,
                    monomials,
                    columns,
                })
            }
        }
    }

    /// Number of columns (the constant included).
    pub fn columns(&self) -> usize {
        self.columns
    }

    pub fn vars(&self) -> usize {
        self.center.len()
    }

    /// The columns at `state` into `out` (`columns()` long); `z` is scratch
    /// for the transformed state (`vars()` long).
    pub fn eval(&self, state: &[f64], z: &mut [f64], out: &mut [f64]) {
        for (i, zi) in z.iter_mut().enumerate() {
            *zi = (state[i] - self.center[i]) / self.scale[i];
        }
        out[0] = 1.0;
        if self.laguerre {
            laguerre(z[0], &mut out[1..]);
        } else {
            for (i, &(parent, var)) in self.monomials.iter().enumerate() {
                out[i + 1] = out[parent as usize] * z[var as usize];
            }
        }
    }
}

/// The weighted Laguerre polynomials `exp(-x/2) L_n(x)`, n = 0..out.len().
pub fn laguerre(x: f64, out: &mut [f64]) {
    let w = (-0.5 * x).exp();
    let (mut prev, mut cur) = (0.0, 1.0);
    for (n, o) in out.iter_mut().enumerate() {
        *o = w * cur;
        let n = n as f64;
        let next = ((2.0 * n + 1.0 - x) * cur - n * prev) / (n + 1.0);
        (prev, cur) = (cur, next);
    }
}

/// Mean and standard deviation of each variable over the sample; a variable
/// (nearly) constant on it gets scale 1, so it is centred only and its
/// columns are (nearly) zero on the sample.
fn standardise(vars: usize, sample: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let rows = sample.len() / vars;
    let mut center = vec![0.0; vars];
    let mut scale = vec![1.0; vars];
    if rows == 0 {
        return (center, scale);
    }
    for row in sample.chunks_exact(vars) {
        for (c, x) in center.iter_mut().zip(row) {
            *c += x;
        }
    }
    for c in &mut center {
        *c /= rows as f64;
    }
    let mut ss = vec![0.0; vars];
    for row in sample.chunks_exact(vars) {
        for ((s, x), c) in ss.iter_mut().zip(row).zip(&center) {
            *s += (x - c) * (x - c);
        }
    }
    for ((s, sd), c) in ss.iter().zip(&mut scale).zip(&center) {
        let v = (s / rows as f64).sqrt();
        if v.is_finite() && v > 1e-12 * c.abs().max(1.0) {
            *sd = v;
        }
    }
    (center, scale)
}

/// Monomials of degree 1..=degree in `vars` variables, graded: each is a
/// monomial of one degree less (its parent, index into the columns with the
/// constant at 0) times a variable at least as high as the parent's last.
fn monomials(vars: usize, degree: usize) -> Vec<(u32, u32)> {
    let mut out: Vec<(u32, u32)> = Vec::new();
    // (column index, last variable) of the previous degree; the constant first.
    let mut frontier: Vec<(usize, usize)> = vec![(0, 0)];
    for _ in 0..degree {
        let mut next = Vec::new();
        for &(col, last) in &frontier {
            for var in last..vars {
                out.push((col as u32, var as u32));
                next.push((out.len(), var));
            }
        }
        frontier = next;
    }
    out
}
