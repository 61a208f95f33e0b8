//! What `pivotsim sensitivity` writes besides its charts: `sensitivity.csv`
//! (long form), `breakeven.json`, and the tables it prints.

use serde_json::json;

use super::{csv_bytes, num};
use crate::format::{sig4, usd_m};
use crate::sensitivity::breakeven::Breakeven;
use crate::sensitivity::{Metric, Outcome, PolicyFigures, Sensitivity, Side};

/// The columns of `sensitivity.csv`.
pub const SENSITIVITY_HEADER: [&str; 11] = [
    "parameter",
    "side",
    "value",
    "status",
    "policy",
    "npv_usd_mean",
    "npv_usd_se",
    "npv_vs_baseline_usd_mean",
    "npv_vs_baseline_usd_se",
    "p_margin_call",
    "p_liquidation",
];

/// `ok`, or `skipped: <reason>`.
pub fn status(result: &Result<Vec<PolicyFigures>, String>) -> String {
    match result {
        Ok(_) => "ok".into(),
        Err(reason) => format!("skipped: {reason}"),
    }
}

/// `sensitivity.csv`: one `base` row per policy (parameter and value
/// empty), then per parameter its `low` and `high` rows, one per policy;
/// a skipped side has its rows with the reason in `status` and no figures.
/// `value` in Rust's shortest round-trip form.
pub fn sensitivity_csv(s: &Sensitivity) -> Vec<u8> {
    let policies: Vec<&str> = s.base.policies.iter().map(|p| p.name.as_str()).collect();
    let mut rows = Vec::new();
    let base = Outcome {
        value: None,
        result: Ok(PolicyFigures::of(&s.base)),
    };
    let mut push = |parameter: &str, side: Side, o: &Outcome| {
        for policy in &policies {
            let mut r = vec![
                parameter.to_string(),
                side.as_str().to_string(),
                o.value.map(num).unwrap_or_default(),
                status(&o.result),
                policy.to_string(),
            ];
            let figures = o
                .result
                .as_ref()
                .ok()
                .and_then(|f| f.iter().find(|f| f.policy == *policy));
            match figures {
                Some(f) => {
                    let vs = f.npv_vs_baseline_usd;
                    r.extend([
                        num(f.npv_usd.mean),
                        num(f.npv_usd.se),
                        vs.map(|d| num(d.mean)).unwrap_or_default(),
                        vs.map(|d| num(d.se)).unwrap_or_default(),
                        num(f.p_margin_call),
                        num(f.p_liquidation),
                    ]);
                }
                None => r.extend(std::iter::repeat_n(String::new(), 6)),
            }
            rows.push(r);
        }
    };
    push("", Side::Base, &base);
    for p in &s.params {
        push(&p.key, Side::Low, &p.low);
        push(&p.key, Side::High, &p.high);
    }
    csv_bytes(&SENSITIVITY_HEADER, rows)
}

/// The terminal's table: the `top` parameters of largest swing, each
/// compared policy's NPV vs baseline at the low and high values.
pub fn sensitivity_table(s: &Sensitivity, top: usize) -> String {
    let compared = s.compared();
    let b = &s.base;
    let mut out = format!(
        "{}: sensitivity of {} parameters, {} points x {} paths, seed {}; NPV vs baseline `{}` \
         at the low | high value\n",
        b.scenario,
        s.params.len(),
        s.points_run(),
        b.paths,
        b.seed,
        b.baseline
    );
    if compared.is_empty() {
        out.push_str(
            "(one policy only: no difference against the baseline to show; see sensitivity.csv)\n",
        );
        return out;
    }
    let width = s
        .params
        .iter()
        .map(|p| p.key.len())
        .max()
        .unwrap_or(9)
        .max(9);
    out.push_str(&format!(
        "{:width$}  {:>22}",
        "parameter", "low | high value"
    ));
    for p in &compared {
        out.push_str(&format!("  {:>23}", p));
    }
    out.push('\n');
    out.push_str(&format!("{:width$}  {:>22}", "(base)", ""));
    for p in &compared {
        out.push_str(&format!(
            "  {:>23}",
            usd_m(s.base_figure(p, Metric::NpvVsBaseline))
        ));
    }
    out.push('\n');
    for i in s
        .by_swing(Metric::NpvVsBaseline, &compared)
        .into_iter()
        .take(top)
    {
        let p = &s.params[i];
        let v = |o: &Outcome| o.value.map_or("-".to_string(), sig4);
        let values = format!("{} | {}", v(&p.low), v(&p.high));
        out.push_str(&format!("{:width$}  {values:>22}", p.key));
        for name in &compared {
            let sw = s.swing(i, name, Metric::NpvVsBaseline);
            let cell = |x: Option<f64>| x.map_or("skipped".to_string(), usd_m);
            out.push_str(&format!(
                "  {:>23}",
                format!("{} | {}", cell(sw.low), cell(sw.high))
            ));
        }
        out.push('\n');
    }
    out
}

/// `breakeven.json`.
pub fn breakeven_json(b: &Breakeven) -> Vec<u8> {
    let s = &b.search;
    let [p, q] = &b.policies;
    // Which side of the crossing P is ahead on: the sign at the lower end.
    let p_ahead = s.crossing.and(s.evaluations.first()).map(|first| {
        if first.difference.mean > 0.0 {
            "below the crossing"
        } else {
            "above the crossing"
        }
    });
    let evaluations: Vec<_> = s
        .evaluations
        .iter()
        .map(|e| {
            json!({
                "value": e.value,
                "npv_difference_usd": {"mean": e.difference.mean, "se": e.difference.se},
            })
        })
        .collect();
    let value = json!({
        "scenario": b.scenario,
        "key": b.key,
        "base_value": b.base_value,
        "policies": [p, q],
        "difference": format!("npv_usd of `{p}` minus `{q}`, paired path by path"),
        "base_npv_usd": {p.as_str(): b.base_npv_usd[0], q.as_str(): b.base_npv_usd[1]},
        "between": b.between,
        "paths": b.paths,
        "seed": b.seed,
        "crossing": s.crossing,
        "se": s.se,
        "bracket": s.bracket,
        "iterations": s.iterations,
        "reason": s.reason,
        "p_beats_q": p_ahead,
        "evaluations": evaluations,
    });
    let mut bytes = serde_json::to_vec_pretty(&value).expect("JSON of plain values");
    bytes.push(b'\n');
    bytes
}

/// The line the terminal gets for a breakeven.
pub fn breakeven_line(b: &Breakeven) -> String {
    let s = &b.search;
    let [p, q] = &b.policies;
    match (s.crossing, s.se, s.bracket) {
        (Some(x), Some(se), Some([lo, hi])) => format!(
            "{}: `{p}` and `{q}` have the same mean NPV at {} = {} (SE {}; bracket [{}, {}] \
             after {} bisection steps); at the base value {}, `{p}` minus `{q}` is {}",
            b.scenario,
            b.key,
            sig4(x),
            sig4(se),
            sig4(lo),
            sig4(hi),
            s.iterations,
            sig4(b.base_value),
            usd_m(b.base_npv_usd[0] - b.base_npv_usd[1]),
        ),
        _ => format!(
            "{}: no breakeven of {} between {} and {}: {}",
            b.scenario,
            b.key,
            b.between[0],
            b.between[1],
            s.reason.as_deref().unwrap_or("no crossing")
        ),
    }
}
