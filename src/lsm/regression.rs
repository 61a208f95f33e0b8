//! Least squares (nalgebra's QR and SVD) and one date's fitted regression.

use nalgebra::{DMatrix, DVector, SVD};

use super::basis::{Basis, Features};
use super::{LsmError, bad};

/// Iterations allowed to the SVD of the small `R` factor (it converges in a
/// handful per singular value).
const SVD_MAX_ITERATIONS: usize = 1_000;

/// Minimum-norm least-squares solution of `design * beta ~ y`, and the rank
/// used. Householder QR of the tall design (`Q^T y` kept, `Q` never formed),
/// then an SVD of the small `R` (columns x columns) in which singular values
/// at or below `max(rows, columns) * eps * largest` count as zero (numpy's
/// `lstsq` default): collinear or all-zero columns get no weight instead of
/// huge cancelling ones.
pub fn least_squares(
    design: DMatrix<f64>,
    y: DVector<f64>,
) -> Result<(DVector<f64>, usize), LsmError> {
    let (rows, columns) = design.shape();
    if rows == 0 || columns == 0 {
        return Err(bad(
            "design",
            "at least one row and one column",
            format!("{rows}x{columns}"),
        ));
    }
    if y.len() != rows {
        return Err(bad("targets", "one per design row", y.len()));
    }
    let qr = design.qr();
    let mut qty = y;
    qr.q_tr_mul(&mut qty);
    let r = qr.r();
    let top = qty.rows(0, r.nrows()).into_owned();
    let svd = SVD::try_new(r, true, true, f64::EPSILON, SVD_MAX_ITERATIONS)
        .ok_or_else(|| LsmError::Solver("the SVD did not converge".into()))?;
    let largest = svd.singular_values.max();
    let tol = rows.max(columns) as f64 * f64::EPSILON * largest;
    let rank = svd.singular_values.iter().filter(|&&s| s > tol).count();
    let beta = svd
        .solve(&top, tol)
        .map_err(|e| LsmError::Solver(e.to_string()))?;
    Ok((beta, rank))
}

/// One date's regression: the basis made concrete on its fitting sample and
/// the coefficients. Predicts the continuation value of any state.
#[derive(Debug, Clone, PartialEq)]
pub struct Fitted {
    features: Features,
    coefficients: Vec<f64>,
    rows: usize,
    rank: usize,
}

impl Fitted {
    /// Regress `targets` on `basis` of `states` (`targets.len()` rows of
    /// `vars` numbers, row-major). Errors name a bad basis, mismatched
    /// lengths, an empty sample or a non-finite value (`date` 0, `path` the
    /// row, in that last case).
    pub fn fit(
        basis: &Basis,
        vars: usize,
        states: &[f64],
        targets: &[f64],
    ) -> Result<Fitted, LsmError> {
        Fitted::fit_and_predict(basis, vars, states, targets).map(|(f, _)| f)
    }

    /// [`Fitted::fit`], and the fitted value at each of the sample's states
    /// (equal to [`Fitted::predict`] there, without evaluating the basis
    /// again).
    pub fn fit_and_predict(
        basis: &Basis,
        vars: usize,
        states: &[f64],
        targets: &[f64],
    ) -> Result<(Fitted, Vec<f64>), LsmError> {
        basis.columns(vars)?;
        let rows = targets.len();
        if rows == 0 {
            return Err(bad("targets", "at least one row", 0));
        }
        if states.len() != rows * vars {
            return Err(bad("states", "rows x vars numbers", states.len()));
        }
        if let Some(i) = states.iter().position(|x| !x.is_finite()) {
            return Err(LsmError::NonFinite {
                what: "state",
                date: 0,
                path: i / vars,
            });
        }
        if let Some(i) = targets.iter().position(|x| !x.is_finite()) {
            return Err(LsmError::NonFinite {
                what: "target",
                date: 0,
                path: i,
            });
        }
        let features = Features::new(basis, vars, states)?;
        let columns = features.columns();
        // Row-major first (one basis evaluation per row), then nalgebra's
        // column-major copy for the QR.
        let mut table = vec![0.0; rows * columns];
        let mut z = vec![0.0; vars];
        for (state, row) in states
            .chunks_exact(vars)
            .zip(table.chunks_exact_mut(columns))
        {
            features.eval(state, &mut z, row);
        }
        let design = DMatrix::from_row_slice(rows, columns, &table);
        let (beta, rank) = least_squares(design, DVector::from_column_slice(targets))?;
        let coefficients = beta.as_slice().to_vec();
        let fitted = table
            .chunks_exact(columns)
            .map(|row| dot(row, &coefficients))
            .collect();
        Ok((
            Fitted {
                features,
                coefficients,
                rows,
                rank,
            },
            fitted,
        ))
    }

    /// The fitted value at `state`; `scratch` is reused between calls (it
    /// grows to `vars + columns` numbers).
    pub fn predict(&self, state: &[f64], scratch: &mut Vec<f64>) -> f64 {
        let vars = self.features.vars();
        scratch.resize(vars + self.coefficients.len(), 0.0);
        let (z, cols) = scratch.split_at_mut(vars);
        self.features.eval(state, z, cols);
        dot(cols, &self.coefficients)
    }

    /// The coefficients, the constant's first, in the basis's column order.
    pub fn coefficients(&self) -> &[f64] {
        &self.coefficients
    }

    /// Rows the regression was fitted on.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Rank of the design (columns minus those that dropped out).
    pub fn rank(&self) -> usize {
        self.rank
    }
}

/// The one dot product of columns and coefficients, so a prediction and a
/// fitted value at the same state are the same number.
fn dot(columns: &[f64], coefficients: &[f64]) -> f64 {
    columns.iter().zip(coefficients).map(|(c, b)| c * b).sum()
}
