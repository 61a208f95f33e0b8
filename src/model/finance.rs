//! Annuities and discounting: the factors that turn an outlay into level
//! payments per period (a conversion's capex annuity, the debt payment).

/// Ordinary annuity factor: payment per unit of principal over `n` periods at
/// rate `i` per period, first payment one period after the outlay.
pub fn annuity_factor(i: f64, n: f64) -> f64 {
    if n <= 0.0 {
        return 0.0;
    }
    if i.abs() < 1e-15 {
        1.0 / n
    } else {
        i / (1.0 - (1.0 + i).powf(-n))
    }
}
