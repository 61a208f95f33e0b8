//! The chart of `pivotsim optimize`: every grid point's mean NPV against
//! its P(margin call), the region within the limit shaded, the winner and
//! the baseline marked. Read it as a frontier: the points along the top
//! edge are the best value for each level of risk; the winner is the
//! highest point inside the shade.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::style::*;
use crate::engine::sweep::VariantFigures;
use crate::format::{pct, run_date, thousands};
use crate::optimize::Optimization;

pub const TITLE: &str = "Frontier: mean NPV against the risk of a margin call";

/// Feasible points, the winner's ring, the baseline, the region shaded.
const FEASIBLE: RGBColor = POLICY_PALETTE[0];
const BASELINE: RGBColor = POLICY_PALETTE[1];
const REGION: RGBColor = AI;

fn footer(o: &Optimization) -> String {
    format!(
        "Scenario {} · policy {} · {} grid points · {} paths · seed {} · pivotsim {} · run {}",
        o.scenario,
        o.policy,
        thousands(o.rows.len() as f64, 0),
        thousands(o.paths as f64, 0),
        o.seed,
        env!("CARGO_PKG_VERSION"),
        run_date(&o.run_started_utc)
    )
}

fn subtitle(o: &Optimization) -> String {
    let keys: Vec<&str> = o.grid.axes.iter().map(|a| a.key.as_str()).collect();
    format!(
        "One dot per setting of `{}` ({}), all on the same paths; the best is the highest \
         dot within the limits.",
        o.policy,
        keys.join(" x ")
    )
}

/// `hurdle 1.1, window_months 2`.
fn params_label(o: &Optimization, row: usize) -> String {
    let parts: Vec<String> = o.rows[row]
        .params
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    parts.join(", ")
}

pub fn draw<DB: DrawingBackend>(
    o: &Optimization,
    root: &DrawingArea<DB, Shift>,
) -> ChartResult<(), DB> {
    let footer = footer(o);
    let subtitle = subtitle(o);
    let legend = [
        LegendItem::new(
            format!("within the limits ({})", o.limits.text()),
            Swatch::Dot(FEASIBLE),
        ),
        LegendItem::new("over a limit", Swatch::Ring(MUTED)),
        LegendItem::new("best", Swatch::Ring(INK)),
        LegendItem::new(
            format!("baseline `{}`", o.baseline),
            Swatch::Fill(BASELINE, 1.0),
        ),
    ];
    let body = frame(
        root,
        &Frame {
            title: TITLE,
            subtitle: &subtitle,
            legend: &legend,
            footer: &footer,
        },
    )?;
    let all: Vec<&VariantFigures> = o
        .rows
        .iter()
        .map(|r| &r.figures)
        .chain(std::iter::once(&o.baseline_in_sample))
        .collect();
    let fold = |f: fn(&VariantFigures) -> f64| {
        all.iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(f(v)), hi.max(f(v)))
            })
    };
    let (x_lo, x_hi) = fold(|f| f.p_margin_call);
    let limit = o.limits.max_p_margin_call;
    let (x_lo, x_hi) = padded(
        x_lo.min(limit.unwrap_or(x_lo)),
        x_hi.max(limit.unwrap_or(x_hi)),
        false,
    );
    let (x_lo, x_hi) = (x_lo.max(0.0), x_hi.min(1.0));
    // Labels go left of a point in the right half, so they stay inside.
    let label_at = |x: f64, dy: i32, v: VPos| {
        if x > (x_lo + x_hi) / 2.0 {
            ((-24, dy), Pos::new(HPos::Right, v))
        } else {
            ((24, dy), Pos::new(HPos::Left, v))
        }
    };
    let (y_lo, y_hi) = fold(|f| f.npv_usd.mean);
    let (y_lo, y_hi) = padded(y_lo, y_hi, false);
    let (y_lo, y_hi) = (y_lo, y_hi + 0.08 * (y_hi - y_lo)); // room for labels
    let money = MoneyAxis::for_range(y_lo, y_hi);
    let decimals = if x_hi - x_lo >= 0.1 { 0 } else { 1 };
    let x_fmt = |x: &f64| format!("{:.*}%", decimals, 100.0 * x);
    let y_fmt = |y: &f64| money.fmt(*y);
    let mut chart = ChartBuilder::on(&body)
        .margin_top(16)
        .margin_right(48)
        .x_label_area_size(90)
        .y_label_area_size(190)
        .build_cartesian_2d(x_lo..x_hi, y_lo..y_hi)?;
    chart
        .configure_mesh()
        .x_labels(8)
        .y_labels(7)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .x_desc("P(margin call), share of paths")
        .y_desc(format!("Mean NPV, {}", money.unit()))
        .label_style(text(TICK_PX, &INK))
        .axis_desc_style(text(AXIS_PX, &INK))
        .bold_line_style(GRID.stroke_width(1))
        .light_line_style(TRANSPARENT)
        .axis_style(MUTED.stroke_width(2))
        .set_all_tick_mark_size(6)
        .draw()?;
    if let Some(x) = limit {
        chart.draw_series(std::iter::once(Rectangle::new(
            [(x_lo, y_lo), (x, y_hi)],
            REGION.mix(0.18).filled(),
        )))?;
        chart.draw_series(DashedLineSeries::new(
            vec![(x, y_lo), (x, y_hi)],
            10,
            8,
            REGION.stroke_width(3),
        ))?;
        let style = text(NOTE_PX, &REGION).pos(Pos::new(HPos::Left, VPos::Top));
        chart.plotting_area().draw(
            &(EmptyElement::at((x, y_hi))
                + Text::new(format!("limit {}: shaded", pct(x)), (8, 6), style)),
        )?;
    }
    let point = |f: &VariantFigures| (f.p_margin_call, f.npv_usd.mean);
    chart.draw_series(
        o.rows
            .iter()
            .filter(|r| !r.feasible)
            .map(|r| Circle::new(point(&r.figures), 7, MUTED.stroke_width(2))),
    )?;
    chart.draw_series(
        o.rows
            .iter()
            .filter(|r| r.feasible)
            .map(|r| Circle::new(point(&r.figures), 8, FEASIBLE.mix(0.85).filled())),
    )?;
    let b = point(&o.baseline_in_sample);
    chart.draw_series(std::iter::once(
        EmptyElement::at(b) + Rectangle::new([(-10, -10), (10, 10)], BASELINE.filled()),
    ))?;
    let (offset, pos) = label_at(b.0, 18, VPos::Top);
    let style = text(NOTE_PX, &BASELINE).pos(pos);
    let label = format!("baseline {}", o.baseline);
    chart
        .plotting_area()
        .draw(&(EmptyElement::at(b) + Text::new(label, offset, style)))?;
    if let Some(best) = &o.best {
        let w = point(&best.in_sample);
        chart.draw_series(std::iter::once(Circle::new(w, 20, INK.stroke_width(4))))?;
        let label = format!("best: {}", params_label(o, best.row));
        let (offset, pos) = label_at(w.0, -18, VPos::Bottom);
        let style = bold(NOTE_PX, &INK).pos(pos);
        chart
            .plotting_area()
            .draw(&(EmptyElement::at(w) + Text::new(label, offset, style)))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::charts::{ChartOptions, Format, render_frontier};
    use crate::optimize::Limits;
    use crate::optimize::tests::example;

    /// The chart draws with and without a winner and limits, and says
    /// what it shows: the title, the winner's settings, the limit.
    #[test]
    fn the_frontier_draws_with_and_without_a_winner() {
        let svg = |o| {
            let opts = ChartOptions {
                format: Format::Svg,
            };
            let files = render_frontier(o, &opts).unwrap();
            assert_eq!(files[0].name, "frontier.svg");
            String::from_utf8(files[0].bytes.clone()).unwrap()
        };
        let limits = Limits {
            max_p_margin_call: Some(0.9),
            max_p_liquidation: None,
        };
        let o = example("hurdle=0:1.5:4,window_months=1:3:3", limits);
        let text = svg(&o);
        let best = o.best.as_ref().expect("a winner");
        let hurdle = o.rows[best.row].params[0].1;
        assert!(text.contains(super::TITLE.split(':').next().unwrap()));
        assert!(
            text.contains(&format!("best: hurdle {hurdle}")),
            "winner label"
        );
        assert!(text.contains("limit 90.0%"));
        let none = Limits {
            max_p_margin_call: Some(0.0),
            max_p_liquidation: None,
        };
        let text = svg(&example("hurdle=1:1:1", none));
        assert!(!text.contains("best:"));
    }
}
