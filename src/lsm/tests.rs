use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

use super::basis::{Features, laguerre};
use super::put::{self, PutSpec};
use super::*;

fn rng(seed: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(seed)
}

fn spec(spot: f64, sigma: f64, years: f64) -> PutSpec {
    PutSpec {
        spot,
        strike: 40.0,
        sigma,
        years,
        rate: 0.06,
        dates_per_year: 50,
    }
}

#[test]
fn laguerre_is_the_papers_first_three_and_their_recurrence() {
    for x in [0.0, 0.3, 0.9, 1.0, 2.5, 7.0] {
        let mut out = [0.0; 4];
        laguerre(x, &mut out);
        let w = (-x / 2.0_f64).exp();
        let want = [
            w,
            w * (1.0 - x),
            w * (1.0 - 2.0 * x + x * x / 2.0),
            // L3 = 1 - 3x + 3x^2/2 - x^3/6
            w * (1.0 - 3.0 * x + 1.5 * x * x - x * x * x / 6.0),
        ];
        for (o, w) in out.iter().zip(want) {
            assert!((o - w).abs() < 1e-13, "x {x}: {out:?} vs {want:?}");
        }
    }
}

#[test]
fn polynomial_basis_is_every_monomial_up_to_the_degree() {
    let basis = Basis::Polynomial { degree: 3 };
    assert_eq!(basis.columns(1).unwrap(), 4);
    assert_eq!(basis.columns(3).unwrap(), 20);
    assert_eq!(Basis::Polynomial { degree: 2 }.columns(9).unwrap(), 55);
    // A sample with mean 0 and sd 1 in each variable: z = x.
    let sample = [1.0, -1.0, 2.0, -1.0, 1.0, -2.0];
    let f = Features::new(&Basis::Polynomial { degree: 2 }, 3, &sample).unwrap();
    let x = [0.5, 3.0, -2.0];
    let mut z = [0.0; 3];
    let mut out = vec![0.0; f.columns()];
    f.eval(&[x[0], x[1], x[2] * 2.0], &mut z, &mut out);
    let mut got = out.clone();
    let mut want = vec![1.0, x[0], x[1], x[2]];
    for i in 0..3 {
        for j in i..3 {
            want.push(x[i] * x[j]);
        }
    }
    got.sort_by(f64::total_cmp);
    want.sort_by(f64::total_cmp);
    assert_eq!(got, want);
}

#[test]
fn bad_bases_are_refused_with_their_name() {
    let err = |b: Basis, vars| b.columns(vars).unwrap_err().to_string();
    assert!(err(Basis::Polynomial { degree: 0 }, 2).contains("polynomial degree"));
    assert!(err(Basis::Polynomial { degree: 5 }, 2).contains("1..=4"));
    assert!(err(Basis::Polynomial { degree: 4 }, 20).contains("monomials"));
    let lag = |terms, scale| Basis::Laguerre { terms, scale };
    assert!(err(lag(3, 40.0), 2).contains("vars"));
    assert!(err(lag(0, 40.0), 1).contains("laguerre terms"));
    assert!(err(lag(3, 0.0), 1).contains("laguerre scale"));
}

#[test]
fn least_squares_recovers_a_linear_law_and_survives_collinear_columns() {
    let mut r = rng(3);
    let n = 200;
    let xs: Vec<f64> = (0..n).map(|_| r.random_range(-2.0..2.0)).collect();
    // Columns: 1, x, 2x (collinear), 0 (empty).
    let design = nalgebra::DMatrix::from_fn(n, 4, |i, j| match j {
        0 => 1.0,
        1 => xs[i],
        2 => 2.0 * xs[i],
        _ => 0.0,
    });
    let y = nalgebra::DVector::from_fn(n, |i, _| 3.0 - 5.0 * xs[i]);
    let (beta, rank) = least_squares(design, y).unwrap();
    assert_eq!(rank, 2);
    assert!((beta[0] - 3.0).abs() < 1e-10, "{beta}");
    // Minimum norm: -5 x split as b1 x + b2 2x with (b1, b2) along (1, 2).
    assert!(
        (beta[1] + 1.0).abs() < 1e-10 && (beta[2] + 2.0).abs() < 1e-10,
        "{beta}"
    );
    assert!(beta[3].abs() < 1e-12, "{beta}");
    // Fewer rows than columns: still the minimum-norm exact fit.
    let small = nalgebra::DMatrix::from_row_slice(1, 3, &[1.0, 1.0, 0.0]);
    let (beta, rank) = least_squares(small, nalgebra::DVector::from_element(1, 4.0)).unwrap();
    assert_eq!(rank, 1);
    assert!((beta[0] - 2.0).abs() < 1e-12 && (beta[1] - 2.0).abs() < 1e-12 && beta[2] == 0.0);
}

#[test]
fn a_fitted_polynomial_predicts_out_of_sample_and_ignores_a_constant_variable() {
    let mut r = rng(5);
    let n = 500;
    let mut states = Vec::new();
    let mut targets = Vec::new();
    for _ in 0..n {
        let (a, b) = (r.random_range(10.0..20.0), r.random_range(-1.0..3.0));
        states.extend([a, b, 7.0]); // the third variable never moves
        targets.push(3.0 + 2.0 * a - b * b + 0.5 * a * b);
    }
    let fitted = Fitted::fit(&Basis::Polynomial { degree: 2 }, 3, &states, &targets).unwrap();
    assert_eq!(fitted.rows(), n);
    assert_eq!(
        fitted.rank(),
        6,
        "10 columns, 4 of them in the constant variable"
    );
    let mut scratch = Vec::new();
    for (a, b) in [(12.5, 0.0), (25.0, -4.0), (15.0, 2.0)] {
        let want = 3.0 + 2.0 * a - b * b + 0.5 * a * b;
        // The constant variable elsewhere than its sample value changes nothing.
        let got = fitted.predict(&[a, b, 9.0], &mut scratch);
        assert!(
            (got - want).abs() < 1e-8 * want.abs().max(1.0),
            "{got} vs {want}"
        );
    }
}

#[test]
fn fit_refuses_non_finite_and_mismatched_input() {
    let b = Basis::Polynomial { degree: 1 };
    let e = Fitted::fit(&b, 2, &[1.0, f64::NAN, 2.0, 3.0], &[1.0, 2.0]).unwrap_err();
    assert_eq!(
        e,
        LsmError::NonFinite {
            what: "state",
            date: 0,
            path: 0
        }
    );
    assert!(Fitted::fit(&b, 2, &[1.0, 2.0, 3.0], &[1.0, 2.0]).is_err());
    assert!(Fitted::fit(&b, 2, &[], &[]).is_err());
    let states = PathStates::zeros(4, 2, 1).unwrap();
    let e = fit(&states, &b, Participation::Allowed, &[1.0], |_, _, _| {
        Some(1.0)
    })
    .unwrap_err();
    assert!(e.to_string().contains("discount"), "{e}");
    let e = fit(
        &states,
        &b,
        Participation::Allowed,
        &[1.0, 1.0],
        |_, _, _| Some(f64::INFINITY),
    )
    .unwrap_err();
    assert_eq!(
        e,
        LsmError::NonFinite {
            what: "exercise value",
            date: 1,
            path: 0
        }
    );
}

#[test]
fn mean_se_of_pairs_uses_the_pair_averages() {
    let (m, se) = mean_se(&[1.0, 3.0, 5.0, 7.0], true);
    assert_eq!(m, 4.0);
    // Pair averages 2 and 6: sd 2.828..., se 2.
    assert!((se - 2.0).abs() < 1e-12);
    let (m, se) = mean_se(&[1.0, 3.0, 5.0, 7.0], false);
    assert_eq!(m, 4.0);
    assert!((se - (20.0_f64 / 3.0 / 4.0).sqrt()).abs() < 1e-12);
}

#[test]
fn the_paths_do_not_depend_on_the_thread_count() {
    let s = spec(36.0, 0.2, 1.0);
    let on = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| put::simulate(&s, 3_000, 7, 0).unwrap())
    };
    let one = on(1);
    assert_eq!(one, on(2));
    assert_eq!(one.paths(), 6_000);
    // Antithetic: log S of path 2i and 2i+1 average to the drift's.
    let dt = 1.0 / 50.0;
    let drift = (0.06 - 0.02) * dt;
    let (a, b) = (one.state(0, 10)[0], one.state(0, 11)[0]);
    assert!(((a / 36.0).ln() + (b / 36.0).ln() - 2.0 * drift).abs() < 1e-12);
    // Another seed, other paths; the training streams are not the pricing ones.
    assert_ne!(
        one.state(3, 0),
        put::simulate(&s, 3_000, 8, 0).unwrap().state(3, 0)
    );
    assert_ne!(
        one.state(3, 0),
        put::simulate(&s, 3_000, 7, 1 << 63).unwrap().state(3, 0)
    );
}

/// The Black-Scholes put (K 40, r 0.06), from the closed form with Python's
/// `math.erfc`; the paper's Table 1 prints the same figures to 3 decimals.
const EUROPEAN: [(f64, f64, f64, f64); 4] = [
    (36.0, 0.2, 1.0, 3.844308),
    (36.0, 0.4, 1.0, 6.711399),
    (40.0, 0.2, 1.0, 2.066401),
    (44.0, 0.4, 1.0, 3.782799),
];

#[test]
fn with_one_exercise_date_tree_and_lsm_give_the_european_price() {
    for (spot, sigma, years, want) in EUROPEAN {
        let mut s = spec(spot, sigma, years);
        s.dates_per_year = 1;
        assert_eq!(years, 1.0);
        let tree = s.tree_price(put::TREE_MIN_STEPS).unwrap();
        assert!((tree - want).abs() < 2e-3, "tree {tree} vs {want}");
        let mc = put::price(&s, 20_000, 11).unwrap();
        assert!((mc.price - want).abs() < 4.0 * mc.se, "{mc:?} vs {want}");
    }
}

#[test]
fn more_exercise_dates_are_worth_more_on_the_tree() {
    let mut s = spec(36.0, 0.2, 1.0);
    let mut last = 0.0;
    for dates in [1, 2, 12, 50, 250] {
        s.dates_per_year = dates;
        let v = s.tree_price(2_000).unwrap();
        assert!(v > last, "{dates} dates: {v} <= {last}");
        last = v;
    }
    assert!(last > s.strike - s.spot, "worth more than exercising today");
}

#[test]
fn the_rule_applied_to_its_training_paths_gives_the_in_sample_values() {
    let s = spec(38.0, 0.4, 1.0);
    let states = put::simulate(&s, 2_000, 3, 0).unwrap();
    let discount = s.discount().unwrap();
    let exercise = |_: usize, _: usize, x: &[f64]| Some(s.strike - x[0]);
    let (rule, in_sample) = fit(
        &states,
        &s.basis(),
        Participation::InTheMoney,
        &discount,
        exercise,
    )
    .unwrap();
    let again = apply(&rule, &states, &discount, exercise).unwrap();
    assert_eq!(in_sample.stopped, again.stopped);
    for (a, b) in in_sample.values.iter().zip(&again.values) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }
    assert!(
        in_sample
            .stopped
            .iter()
            .any(|d| d.is_some_and(|d| d + 1 < rule.dates()))
    );
    assert!(rule.continuation(rule.dates() - 1).is_none());
}

#[test]
fn participation_chooses_the_rows_of_each_regression() {
    let s = spec(40.0, 0.2, 0.2);
    let states = put::simulate(&s, 500, 1, 0).unwrap();
    let discount = s.discount().unwrap();
    // Stopping allowed on even paths only, at any value.
    let even = |_: usize, p: usize, x: &[f64]| p.is_multiple_of(2).then(|| s.strike - x[0]);
    let (rule, _) = fit(&states, &s.basis(), Participation::Allowed, &discount, even).unwrap();
    let (itm, _) = fit(
        &states,
        &s.basis(),
        Participation::InTheMoney,
        &discount,
        even,
    )
    .unwrap();
    for d in 0..rule.dates() - 1 {
        assert_eq!(rule.continuation(d).unwrap().rows(), 500);
        let in_the_money = (0..1000usize)
            .filter(|&p| p.is_multiple_of(2) && states.state(d, p)[0] < s.strike)
            .count();
        assert_eq!(itm.continuation(d).unwrap().rows(), in_the_money);
    }
}

#[test]
fn out_of_sample_is_close_to_and_not_above_the_tree() {
    let s = spec(36.0, 0.2, 1.0);
    let tree = s.tree_price(put::TREE_MIN_STEPS).unwrap();
    let out = put::price_out_of_sample(&s, 40_000, 5).unwrap();
    assert!(out.price < tree + 3.0 * out.se, "{out:?} vs tree {tree}");
    assert!(
        out.price > tree - 0.03 - 3.0 * out.se,
        "{out:?} vs tree {tree}"
    );
}

#[test]
fn bad_put_inputs_name_their_flag() {
    let mut s = spec(36.0, 0.2, 1.0);
    s.spot = -1.0;
    assert!(
        put::price(&s, 100, 1)
            .unwrap_err()
            .to_string()
            .starts_with("spot")
    );
    let s = spec(36.0, 0.2, 1.0);
    assert!(
        put::price(&s, 101, 1)
            .unwrap_err()
            .to_string()
            .starts_with("paths")
    );
    let mut s = spec(36.0, 0.2, 1.0);
    s.dates_per_year = 0;
    assert!(
        s.dates()
            .unwrap_err()
            .to_string()
            .starts_with("dates-per-year")
    );
    let e = put::price(&spec(36.0, 0.2, 1.0), 1_000, 1).unwrap();
    let line: serde_json::Value = serde_json::from_str(&e.json_line()).unwrap();
    assert_eq!(line["price"].as_f64(), Some(e.price));
    assert_eq!(line["se"].as_f64(), Some(e.se));
}
