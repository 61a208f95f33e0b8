//! `drivers.csv`: what drives each policy's paired NPV difference against
//! the baseline ([`crate::summary::PolicyDrivers`]), one row per policy and
//! driver, then the policy's `margin_call` outcome row.

use super::{csv_bytes, num};
use crate::summary::Summary;

/// Columns of `drivers.csv`.
pub const DRIVERS_HEADER: [&str; 21] = [
    "policy",
    "driver",
    "std_coef",
    "rank_corr",
    "contribution_to_variance",
    "decile_1_mean_usd",
    "decile_2_mean_usd",
    "decile_3_mean_usd",
    "decile_4_mean_usd",
    "decile_5_mean_usd",
    "decile_6_mean_usd",
    "decile_7_mean_usd",
    "decile_8_mean_usd",
    "decile_9_mean_usd",
    "decile_10_mean_usd",
    "mean_when_beats",
    "mean_otherwise",
    "p_beats_baseline",
    "r_squared",
    "paths",
    "note",
];

/// An optional figure: empty when absent.
fn opt(x: Option<f64>) -> String {
    x.map_or(String::new(), num)
}

/// `drivers.csv`, numbers at full precision like the other CSVs (shortest
/// round-trip form), empty cells for absent figures (a merged decile, no
/// path on one side). Per policy, after its drivers, a `margin_call` row
/// with `note = outcome`: its `mean_when_beats` and `mean_otherwise` are
/// P(margin call) on the paths where the policy beats the baseline and on
/// the others; it is not a regressor, so its coefficient, correlation,
/// share, deciles and `r_squared` are empty (`p_beats_baseline` and
/// `paths` are the policy's).
pub fn drivers_csv(summary: &Summary) -> Vec<u8> {
    let mut rows = Vec::new();
    for p in &summary.drivers {
        let tail = |r: &mut Vec<String>, r_squared: String, note: &str| {
            r.push(num(p.p_beats_baseline));
            r.push(r_squared);
            r.push(p.paths.to_string());
            r.push(note.to_string());
        };
        for d in &p.drivers {
            let mut r = vec![
                p.policy.clone(),
                d.driver.clone(),
                num(d.std_coef),
                num(d.rank_corr),
                num(d.contribution_to_variance),
            ];
            r.extend((0..10).map(|k| opt(d.decile_mean_usd.get(k).copied().flatten())));
            r.push(opt(d.mean_when_beats));
            r.push(opt(d.mean_otherwise));
            tail(&mut r, num(p.r_squared), &d.note);
            rows.push(r);
        }
        let mut r = vec![p.policy.clone(), "margin_call".to_string()];
        r.extend(std::iter::repeat_n(String::new(), 13));
        r.push(opt(p.p_margin_call_when_beats));
        r.push(opt(p.p_margin_call_otherwise));
        tail(&mut r, String::new(), "outcome");
        rows.push(r);
    }
    csv_bytes(&DRIVERS_HEADER, rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::charts::testdata::summary;
    use crate::report::csv_check::{Cell, cell, check_columns};

    fn opt(x: Option<f64>) -> String {
        x.map_or(String::new(), |v| v.to_string())
    }

    /// The fixture's drivers, with a constant driver, a side with no path
    /// and a short decile list (the missing deciles empty).
    fn hand_made() -> Summary {
        let mut s = summary(3, 12);
        let p = &mut s.drivers[1];
        p.p_margin_call_when_beats = None;
        let d = &mut p.drivers[4];
        d.note = "constant".to_string();
        d.std_coef = 0.0;
        d.rank_corr = 0.0;
        d.contribution_to_variance = 0.0;
        d.decile_mean_usd = vec![Some(-1.25e6)];
        d.mean_when_beats = Some(2.0);
        d.mean_otherwise = None;
        s
    }

    #[test]
    fn drivers_csv_columns_hold_their_fields() {
        let s = hand_made();
        let mut rows: Vec<Vec<Cell>> = Vec::new();
        for p in &s.drivers {
            for d in &p.drivers {
                let mut r = vec![
                    cell("policy", &p.policy),
                    cell("driver", &d.driver),
                    cell("std_coef", d.std_coef),
                    cell("rank_corr", d.rank_corr),
                    cell("contribution_to_variance", d.contribution_to_variance),
                ];
                for k in 0..10 {
                    let v = d.decile_mean_usd.get(k).copied().flatten();
                    r.push(cell(format!("decile_{}_mean_usd", k + 1), opt(v)));
                }
                r.extend([
                    cell("mean_when_beats", opt(d.mean_when_beats)),
                    cell("mean_otherwise", opt(d.mean_otherwise)),
                    cell("p_beats_baseline", p.p_beats_baseline),
                    cell("r_squared", p.r_squared),
                    cell("paths", p.paths),
                    cell("note", &d.note),
                ]);
                rows.push(r);
            }
            let mut r = vec![cell("policy", &p.policy), cell("driver", "margin_call")];
            for name in ["std_coef", "rank_corr", "contribution_to_variance"] {
                r.push(cell(name, ""));
            }
            for k in 0..10 {
                r.push(cell(format!("decile_{}_mean_usd", k + 1), ""));
            }
            r.extend([
                cell("mean_when_beats", opt(p.p_margin_call_when_beats)),
                cell("mean_otherwise", opt(p.p_margin_call_otherwise)),
                cell("p_beats_baseline", p.p_beats_baseline),
                cell("r_squared", ""),
                cell("paths", p.paths),
                cell("note", "outcome"),
            ]);
            rows.push(r);
        }
        assert_eq!(rows.len(), 2 * 7);
        check_columns(&drivers_csv(&s), &rows);
    }

    #[test]
    fn merged_deciles_and_absent_means_are_empty_cells() {
        let text = String::from_utf8(drivers_csv(&hand_made())).unwrap();
        let header = text.lines().next().unwrap();
        assert_eq!(header, DRIVERS_HEADER.join(","));
        // The fixture's jump count merges deciles 2-4 and 7.
        let jumps = text
            .lines()
            .find(|l| l.starts_with("staged,btc_jumps,"))
            .unwrap();
        let cells: Vec<&str> = jumps.split(',').collect();
        assert!(!cells[5].is_empty() && !cells[9].is_empty());
        assert_eq!(&cells[6..9], ["", "", ""]);
        assert_eq!(cells[11], "");
        // A run with only the baseline: the header alone.
        let only = drivers_csv(&summary(1, 12));
        assert_eq!(String::from_utf8(only).unwrap().lines().count(), 1);
    }
}
