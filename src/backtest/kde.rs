//! The scores' densities: a Gaussian kernel density estimate of simulated
//! values with Silverman's bandwidth, and the normal density of the random
//! walk benchmark; both on the log scale and floored at [`DENSITY_FLOOR`].

/// The density below which a miss counts as this density: one miss does not
/// make a score minus infinity.
pub const DENSITY_FLOOR: f64 = 1e-12;

const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;

/// Silverman's rule of thumb: `0.9 min(sd, IQR / 1.34) n^(-1/5)`, with the
/// sample standard deviation (n - 1) and the type-7 quartiles. Where one of
/// `sd` and `IQR / 1.34` is zero the other is used; where both are (all
/// values equal) the bandwidth is 0.
pub fn silverman_bandwidth(values: &[f64]) -> f64 {
    let n = values.len();
    if n < 2 {
        return 0.0;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let var = values.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64;
    let sd = var.sqrt();
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let q = |p: f64| {
        let r = p * (n - 1) as f64;
        let i = r.floor() as usize;
        let j = (i + 1).min(n - 1);
        sorted[i] + (r - i as f64) * (sorted[j] - sorted[i])
    };
    let iqr = (q(0.75) - q(0.25)) / 1.34;
    let spread = match (sd > 0.0, iqr > 0.0) {
        (true, true) => sd.min(iqr),
        (true, false) => sd,
        (false, true) => iqr,
        (false, false) => 0.0,
    };
    0.9 * spread * (n as f64).powf(-0.2)
}

/// `ln max(f(x), DENSITY_FLOOR)` where `f` is the Gaussian kernel density
/// estimate of `values` with Silverman's bandwidth:
/// `f(x) = 1/(n h) sum_i phi((x - x_i) / h)`. Summed as a log-sum-exp, so a
/// point far in a tail gets its (floored) value rather than 0 / 0. With a
/// zero bandwidth (all values equal) the density is a point mass: the
/// floor, unless `x` is that value (then `+inf`, as the mass's density).
pub fn kde_log_density(values: &[f64], x: f64) -> f64 {
    let floor = DENSITY_FLOOR.ln();
    let n = values.len();
    if n == 0 || !x.is_finite() {
        return floor;
    }
    let h = silverman_bandwidth(values);
    if h <= 0.0 || !h.is_finite() {
        return if values.iter().all(|&v| v == x) {
            f64::INFINITY
        } else {
            floor
        };
    }
    let exponents = values.iter().map(|&v| {
        let z = (x - v) / h;
        -0.5 * z * z
    });
    let max = exponents.clone().fold(f64::NEG_INFINITY, f64::max);
    let sum: f64 = exponents.map(|e| (e - max).exp()).sum();
    let log_f = max + sum.ln() - (n as f64 * h).ln() - LN_SQRT_2PI;
    log_f.max(floor)
}

/// `ln max(phi(x; mean, sd^2), DENSITY_FLOOR)`, the normal density.
pub fn normal_log_density(x: f64, mean: f64, sd: f64) -> f64 {
    let z = (x - mean) / sd;
    (-0.5 * z * z - sd.ln() - LN_SQRT_2PI).max(DENSITY_FLOOR.ln())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three points by hand: values 0, 1, 3; mean 4/3, sample variance
    /// ((16 + 1 + 25) / 9) / 2 = 7/3, sd 1.5275; quartiles (type 7) 0.5 and
    /// 2, IQR / 1.34 = 1.1194; h = 0.9 * 1.1194 * 3^(-1/5) = 0.8087. At
    /// x = 1: f = (phi(1/h) + phi(0) + phi(2/h)) / (3 h).
    #[test]
    fn kde_log_density_matches_a_hand_computed_case() {
        let values = [3.0, 0.0, 1.0];
        let h = silverman_bandwidth(&values);
        let expected_h = 0.9 * (1.5 / 1.34) * 3f64.powf(-0.2);
        assert!((h - expected_h).abs() < 1e-15, "{h} vs {expected_h}");
        assert!((h - 0.808_7).abs() < 1e-4, "{h}");
        let phi = |z: f64| (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
        let f = (phi(1.0 / h) + phi(0.0) + phi(2.0 / h)) / (3.0 * h);
        let got = kde_log_density(&values, 1.0);
        assert!((got - f.ln()).abs() < 1e-12, "{got} vs {}", f.ln());
        // By hand, to four places: phi(1.2365) = 0.18574, phi(0) = 0.39894,
        // phi(2.4730) = 0.01875; f = 0.60343 / 2.4262 = 0.24871.
        assert!((got.exp() - 0.248_71).abs() < 1e-4, "{f}");
    }

    #[test]
    fn a_far_miss_is_floored_not_minus_infinity() {
        let values = [0.0, 0.1, 0.2, 0.3];
        assert_eq!(kde_log_density(&values, 1e6), DENSITY_FLOOR.ln());
        assert_eq!(kde_log_density(&[], 0.0), DENSITY_FLOOR.ln());
        assert_eq!(kde_log_density(&[2.0, 2.0], 3.0), DENSITY_FLOOR.ln());
        assert_eq!(kde_log_density(&[2.0, 2.0], 2.0), f64::INFINITY);
    }

    #[test]
    fn the_normal_density_is_the_closed_form() {
        let got = normal_log_density(1.0, 0.0, 2.0);
        let expected = (-0.125f64).exp() / (2.0 * (2.0 * std::f64::consts::PI).sqrt());
        assert!((got - expected.ln()).abs() < 1e-14);
        assert_eq!(normal_log_density(1e9, 0.0, 1.0), DENSITY_FLOOR.ln());
    }
}
