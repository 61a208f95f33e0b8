//! The winner and limit rules.

use super::*;
use crate::summary::MeanSe;

/// `optimize` of `threshold` on `smoke` (300 paths) over `grid`, under
/// `limits`: a small real outcome for the exporters' and the chart's tests.
pub(crate) fn example(grid: &str, limits: Limits) -> Optimization {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/smoke.toml");
    let req = Request {
        scenario: &file,
        overrides: Overrides {
            paths: Some(300),
            ..Overrides::default()
        },
        policy: "threshold",
        grid,
        limits,
        validate_seed: None,
    };
    prepare(&req).unwrap().run(2, false)
}

fn figures(npv: f64, p_margin_call: f64, p_liquidation: f64) -> VariantFigures {
    VariantFigures {
        npv_usd: MeanSe { mean: npv, se: 1.0 },
        npv_vs_baseline_usd: MeanSe { mean: npv, se: 1.0 },
        p_margin_call,
        p_liquidation,
    }
}

fn rows(limits: &Limits, figs: &[VariantFigures]) -> Vec<Row> {
    figs.iter()
        .map(|f| Row {
            params: Vec::new(),
            merged: 1,
            figures: *f,
            feasible: limits.admit(f),
        })
        .collect()
}

/// The winner is the feasible row of highest mean NPV; of equals, the
/// first; none when no row is feasible, with the reason.
#[test]
fn the_winner_is_the_first_best_feasible_row() {
    let limits = Limits {
        max_p_margin_call: Some(0.1),
        max_p_liquidation: Some(0.02),
    };
    let figs = [
        figures(5.0, 0.05, 0.0),
        figures(9.0, 0.2, 0.0),   // too many margin calls
        figures(7.0, 0.1, 0.0),   // at the limit: feasible
        figures(8.0, 0.05, 0.03), // too many liquidations
        figures(7.0, 0.0, 0.0),   // ties the third
    ];
    let r = rows(&limits, &figs);
    assert_eq!(
        r.iter().map(|r| r.feasible).collect::<Vec<_>>(),
        [true, false, true, false, true]
    );
    assert_eq!(best_row(&r), Some(2));
    let none = Limits {
        max_p_margin_call: Some(0.0),
        max_p_liquidation: None,
    };
    let r = rows(&none, &[figures(1.0, 0.3, 0.0), figures(2.0, 0.2, 0.0)]);
    assert_eq!(best_row(&r), None);
    let why = no_winner(&r, &none);
    assert!(
        why.contains("P(margin call) <= 0") && why.contains("lowest is 0.2"),
        "{why}"
    );
    assert_eq!(best_row(&rows(&Limits::default(), &figs)), Some(1));
}

/// Limits are fractions in [0, 1]; NaN is refused, naming the flag.
#[test]
fn limits_must_be_fractions() {
    for (x, y, ok) in [
        (Some(0.0), Some(1.0), true),
        (None, None, true),
        (Some(1.5), None, false),
        (None, Some(-0.1), false),
        (Some(f64::NAN), None, false),
    ] {
        let l = Limits {
            max_p_margin_call: x,
            max_p_liquidation: y,
        };
        match l.check() {
            Ok(()) => assert!(ok),
            Err(e) => {
                assert!(!ok);
                assert!(e.to_string().contains("--max-p-"), "{e}");
            }
        }
    }
}
