//! The tornado charts of `pivotsim sensitivity`: what moves each policy's
//! NPV against the baseline (`tornado_npv`), and its risk of a margin call
//! (`tornado_margin_call`), one parameter at a time.
//!
//! One row per parameter, the widest swing at the top; in each row a bar
//! from the base run's value to the value with the parameter at its low
//! (light) and at its high (dark), the figures written at the bars' ends,
//! the base run as a dashed line. Several policies are panels side by side
//! that share the rows (ordered by the widest swing over the panels): the
//! parameter names, long, are written once, and one row reads across the
//! policies. The NPV panels include zero, where a policy does as well as
//! the baseline: a bar that crosses it is an assumption under which the
//! answer changes.

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::style::*;
use crate::format::{pct, sig4, usd_m};
use crate::sensitivity::{Metric, Sensitivity, Swing};

/// The most parameters a chart shows (all are in `sensitivity.csv`).
pub const TOP: usize = 12;

/// File stem of a metric's chart.
pub fn stem(metric: Metric) -> &'static str {
    match metric {
        Metric::NpvVsBaseline => "tornado_npv",
        Metric::MarginCall => "tornado_margin_call",
    }
}

/// A metric's chart title.
pub fn title(metric: Metric, baseline: &str) -> String {
    match metric {
        Metric::NpvVsBaseline => format!("What moves each policy's NPV against `{baseline}`"),
        Metric::MarginCall => "What moves the risk of a margin call".to_string(),
    }
}

fn figure(metric: Metric, v: f64) -> String {
    match metric {
        Metric::NpvVsBaseline => usd_m(v),
        Metric::MarginCall => pct(v),
    }
}

/// The panels: (policy index, name).
fn panels(s: &Sensitivity, metric: Metric) -> Vec<(usize, String)> {
    s.base
        .policies
        .iter()
        .enumerate()
        .filter(|(_, p)| metric == Metric::MarginCall || p.name != s.base.baseline)
        .map(|(i, p)| (i, p.name.clone()))
        .collect()
}

pub fn draw<DB: DrawingBackend>(
    s: &Sensitivity,
    metric: Metric,
    root: &DrawingArea<DB, Shift>,
) -> ChartResult<(), DB> {
    let panels = panels(s, metric);
    let names: Vec<&str> = panels.iter().map(|(_, n)| n.as_str()).collect();
    let rows: Vec<usize> = s.by_swing(metric, &names).into_iter().take(TOP).collect();
    let what = match metric {
        Metric::NpvVsBaseline => {
            format!("Mean NPV minus that of `{}`, path by path", s.base.baseline)
        }
        Metric::MarginCall => "Share of paths with a margin call".to_string(),
    };
    let subtitle = format!(
        "{what}; one parameter at its low or high value, the others as in the scenario; \
         the {} widest of {} shown.",
        rows.len(),
        s.params.len()
    );
    let grey = RGBColor(90, 90, 90);
    let legend = [
        LegendItem::new("parameter at its low value", Swatch::Fill(grey, 0.35)),
        LegendItem::new("at its high value", Swatch::Fill(grey, 1.0)),
        LegendItem::new("base run", Swatch::Dashed(INK)),
    ];
    let footer = footer(&s.base);
    let title = title(metric, &s.base.baseline);
    let body = frame(
        root,
        &Frame {
            title: &title,
            subtitle: &subtitle,
            legend: &legend,
            footer: &footer,
        },
    )?;
    if panels.is_empty() || rows.is_empty() {
        let note = if panels.is_empty() {
            "One policy only: there is no difference against the baseline to show."
        } else {
            "No parameter was moved."
        };
        body.draw_text(note, &text(AXIS_PX, &MUTED), (0, 40))?;
        return Ok(());
    }
    let (label_px, key_px) = label_width(&body, s, &rows)?;
    let (labels, rest) = body.split_horizontally(label_px);
    let areas = rest.split_evenly((1, panels.len()));
    let mut centres = Vec::new();
    for ((index, name), area) in panels.iter().zip(&areas) {
        centres = draw_panel(area, s, metric, (*index, name), &rows)?;
    }
    let (bx, by) = labels.get_base_pixel();
    for (&i, &y) in rows.iter().zip(&centres) {
        let p = &s.params[i];
        let v = |o: &crate::sensitivity::Outcome| match (&o.result, o.value) {
            (Ok(_), Some(v)) => sig4(v),
            _ => "skipped".to_string(),
        };
        let values = format!(
            "{} → {}  (base {})",
            v(&p.low),
            v(&p.high),
            sig4(p.base_value)
        );
        labels.draw_text(
            &p.key,
            &text(key_px, &INK).pos(Pos::new(HPos::Left, VPos::Bottom)),
            (0, y - by + 2),
        )?;
        labels.draw_text(
            &values,
            &text(NOTE_PX - 6.0, &MUTED).pos(Pos::new(HPos::Left, VPos::Top)),
            (0, y - by + 6),
        )?;
    }
    let _ = bx;
    Ok(())
}

/// The label column's width and the key's font size: the widest key at
/// 24 px, smaller if that would take more than a third of the width.
fn label_width<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    s: &Sensitivity,
    rows: &[usize],
) -> ChartResult<(u32, f64), DB> {
    let (w, _) = area.dim_in_pixel();
    let max = w / 3;
    let mut px = 24.0;
    loop {
        let mut widest = 0;
        for &i in rows {
            widest = widest.max(
                area.estimate_text_size(&s.params[i].key, &text(px, &INK))?
                    .0,
            );
        }
        if widest + 24 <= max || px <= 16.0 {
            return Ok(((widest + 24).min(max).max(200), px));
        }
        px -= 1.0;
    }
}

/// One policy's panel; returns the rows' centres in backend pixels.
fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    s: &Sensitivity,
    metric: Metric,
    (index, policy): (usize, &str),
    rows: &[usize],
) -> ChartResult<Vec<i32>, DB> {
    let color = policy_color(index);
    let swings: Vec<Swing> = rows.iter().map(|&i| s.swing(i, policy, metric)).collect();
    let base = s.base_figure(policy, metric);
    let (mut lo, mut hi) = swings
        .iter()
        .map(Swing::extent)
        .fold((base, base), |(a, b), (l, h)| (a.min(l), b.max(h)));
    if metric == Metric::NpvVsBaseline {
        (lo, hi) = (lo.min(0.0), hi.max(0.0));
    }
    if hi - lo <= f64::EPSILON * hi.abs().max(1.0) {
        let d = match metric {
            Metric::NpvVsBaseline => 1e6,
            Metric::MarginCall => 0.01,
        };
        (lo, hi) = (lo - d, hi + d);
    }
    // Room for the figures at the bars' ends, as wide as the widest one,
    // either side; the data keep at least 40% of the width.
    let (w, _) = area.dim_in_pixel();
    let plot_w = f64::from(w.saturating_sub(40)).max(100.0);
    let label = text(NOTE_PX - 4.0, &INK);
    let mut label_px = 0.0f64;
    for v in swings.iter().flat_map(|sw| [sw.low, sw.high]).flatten() {
        let (lw, _) = area.estimate_text_size(&figure(metric, v), &label)?;
        label_px = label_px.max(f64::from(lw) + 10.0);
    }
    let pad = (hi - lo) * label_px / (plot_w - 2.0 * label_px).max(0.4 * plot_w);
    let (data_lo, data_hi) = (lo, hi);
    let (lo, hi) = (lo - pad, hi + pad);
    let caption = format!("{policy}: base {}", figure(metric, base));
    let n = rows.len() as f64;
    let money = MoneyAxis::for_range(data_lo, data_hi);
    // Ticks only under the data, not in the room left for the figures.
    let fmt = move |x: &f64| match metric {
        _ if *x < data_lo - 1e-9 * (data_hi - data_lo)
            || *x > data_hi + 1e-9 * (data_hi - data_lo) =>
        {
            String::new()
        }
        Metric::NpvVsBaseline => money.fmt(*x),
        Metric::MarginCall => format!("{:.0}%", 100.0 * x),
    };
    let mut chart = ChartBuilder::on(area)
        .caption(caption, bold(PANEL_TITLE_PX - 4.0, &color))
        .margin_left(20)
        .margin_right(20)
        .margin_top(4)
        .x_label_area_size(44)
        .y_label_area_size(0)
        .build_cartesian_2d(lo..hi, 0.0..n)?;
    for r in 0..rows.len() {
        if r % 2 == 1 {
            let y = n - r as f64;
            chart.draw_series(std::iter::once(Rectangle::new(
                [(lo, y), (hi, y - 1.0)],
                SHADE.filled(),
            )))?;
        }
    }
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_labels(((w as usize) / 150).clamp(2, 6))
        .x_label_formatter(&fmt)
        .label_style(text(TICK_PX - 4.0, &INK))
        .bold_line_style(GRID.stroke_width(1))
        .light_line_style(TRANSPARENT)
        .axis_style(MUTED.stroke_width(2))
        .draw()?;
    if metric == Metric::NpvVsBaseline && lo < 0.0 && hi > 0.0 {
        chart.draw_series(LineSeries::new(
            vec![(0.0, 0.0), (0.0, n)],
            MUTED.stroke_width(2),
        ))?;
    }
    let mut centres = Vec::new();
    for (r, sw) in swings.iter().enumerate() {
        let yc = n - r as f64 - 0.5;
        centres.push(chart.backend_coord(&(lo, yc)).1);
        // The longer side first, so the shorter shows on top of it.
        let mut sides = [(sw.low, color.mix(0.35)), (sw.high, color.mix(1.0))];
        sides.sort_by(|a, b| {
            let len = |v: Option<f64>| v.map_or(0.0, |v| (v - base).abs());
            len(b.0).total_cmp(&len(a.0))
        });
        for (value, fill) in sides {
            let Some(v) = value else { continue };
            chart.draw_series(std::iter::once(Rectangle::new(
                [(base, yc - 0.32), (v, yc + 0.32)],
                fill.filled(),
            )))?;
        }
        draw_values(&mut chart, sw, metric, yc, &label)?;
        if sw.low.is_none_or(|v| v == base) && sw.high.is_none_or(|v| v == base) {
            let note = if sw.low.is_none() && sw.high.is_none() {
                "skipped"
            } else {
                "no effect"
            };
            chart.plotting_area().draw(
                &(EmptyElement::at((base, yc))
                    + Text::new(
                        note,
                        (8, 0),
                        text(NOTE_PX - 6.0, &MUTED).pos(Pos::new(HPos::Left, VPos::Center)),
                    )),
            )?;
        }
    }
    chart.draw_series(DashedLineSeries::new(
        vec![(base, 0.0), (base, n)],
        8,
        6,
        INK.stroke_width(2),
    ))?;
    Ok(centres)
}

/// The figures at a row's bar ends: each beyond its end, away from the
/// base; when both ends are on one side of the base, both beyond the
/// farther end, one above the other and named.
fn draw_values<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    sw: &Swing,
    metric: Metric,
    yc: f64,
    label: &TextStyle,
) -> ChartResult<(), DB> {
    let base = sw.base;
    let moved = |v: Option<f64>| v.filter(|v| *v != base);
    let area = chart.plotting_area();
    let at = |v: f64, dy: i32, text: String| {
        let (dx, h) = if v < base {
            (-6, HPos::Right)
        } else {
            (6, HPos::Left)
        };
        EmptyElement::at((v, yc)) + Text::new(text, (dx, dy), label.pos(Pos::new(h, VPos::Center)))
    };
    match (moved(sw.low), moved(sw.high)) {
        (Some(l), Some(h)) if (l < base) == (h < base) => {
            let far = if (l - base).abs() >= (h - base).abs() {
                l
            } else {
                h
            };
            let small = text(NOTE_PX - 8.0, &INK);
            for (dy, name, v) in [(-12, "low", l), (12, "high", h)] {
                let (dx, hp) = if far < base {
                    (-6, HPos::Right)
                } else {
                    (6, HPos::Left)
                };
                area.draw(
                    &(EmptyElement::at((far, yc))
                        + Text::new(
                            format!("{name} {}", figure(metric, v)),
                            (dx, dy),
                            small.pos(Pos::new(hp, VPos::Center)),
                        )),
                )?;
            }
        }
        (l, h) => {
            for v in [l, h].into_iter().flatten() {
                area.draw(&at(v, 0, figure(metric, v)))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::charts::testdata::summary;
    use crate::sensitivity::{Outcome, ParamResult, PolicyFigures, Source};

    /// A sensitivity of `policies` policies: one parameter moving NPV and
    /// margin calls, one skipped on one side, one moving nothing.
    fn demo(policies: usize) -> Sensitivity {
        let base = summary(policies, 12);
        let shifted = |d: f64| {
            let mut f = PolicyFigures::of(&base);
            for x in &mut f {
                x.npv_vs_baseline_usd = x.npv_vs_baseline_usd.map(|m| crate::summary::MeanSe {
                    mean: m.mean + d,
                    se: m.se,
                });
                x.p_margin_call = (x.p_margin_call + d / 1e9).clamp(0.0, 1.0);
            }
            f
        };
        let param = |key: &str, low: Result<Vec<PolicyFigures>, String>, high| ParamResult {
            key: key.into(),
            base_value: 0.5,
            integer: false,
            source: Source::Range(0.2),
            low: Outcome {
                value: Some(0.4),
                result: low,
            },
            high: Outcome {
                value: Some(0.6),
                result: high,
            },
        };
        Sensitivity {
            params: vec![
                param("market.btc.sigma", Ok(shifted(-50e6)), Ok(shifted(80e6))),
                param(
                    "loan.margin_call_ltv",
                    Err("invalid".into()),
                    Ok(shifted(5e6)),
                ),
                param(
                    "ai.lease_usd_per_mw_it_year",
                    Ok(shifted(0.0)),
                    Ok(shifted(0.0)),
                ),
            ],
            base,
        }
    }

    #[test]
    fn tornados_draw_for_many_policies_one_policy_and_no_parameter() {
        for s in [
            demo(4),
            demo(1),
            Sensitivity {
                params: Vec::new(),
                ..demo(2)
            },
        ] {
            for metric in [Metric::NpvVsBaseline, Metric::MarginCall] {
                let svg = crate::charts::svg_of(crate::charts::Job::Tornado(&s, metric)).unwrap();
                assert!(svg.contains("What moves"), "{metric:?}");
            }
        }
        let s = demo(3);
        let svg =
            crate::charts::svg_of(crate::charts::Job::Tornado(&s, Metric::NpvVsBaseline)).unwrap();
        // The widest first; the values at the bars' ends; the skipped side.
        let sigma = svg.find("market.btc.sigma").unwrap();
        let ltv = svg.find("loan.margin_call_ltv").unwrap();
        assert!(sigma < ltv);
        assert!(svg.contains("skipped → 0.6"));
        assert!(svg.contains("no effect"));
        let one = demo(1);
        let svg = crate::charts::svg_of(crate::charts::Job::Tornado(&one, Metric::NpvVsBaseline))
            .unwrap();
        assert!(svg.contains("One policy only"));
    }
}
