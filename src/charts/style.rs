//! The look every chart shares, written once: palette, font sizes, the frame
//! (title, subtitle, legend, provenance footer), month and money axes, panel
//! grids, fans and halving marks.
//!
//! Sizes are pixels at 1920x1080, chosen to read from the back of a room when
//! the chart fills a slide: titles 48 px, axis descriptions 30 px, ticks 26 px.
//! Colours come from the Okabe-Ito palette, which stays distinct under the
//! common forms of colour blindness. Policy `i` of the scenario always gets
//! [`policy_color`]`(i)`, in every chart. Mining is always orange and AI always
//! bluish green; those two are kept out of the first policy colours so a
//! stacked mining/AI chart does not look like two policies.

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::format::{run_date, thousands};
use crate::summary::{PolicySummary, Stats, Summary};

/// Image size of every chart, pixels (a 16:9 slide).
pub const WIDTH: u32 = 1920;
pub const HEIGHT: u32 = 1080;

/// The font family every text uses; registered from `assets/fonts` at start-up.
pub const FONT: &str = "sans-serif";
pub const TITLE_PX: f64 = 48.0;
pub const SUBTITLE_PX: f64 = 28.0;
pub const PANEL_TITLE_PX: f64 = 32.0;
pub const AXIS_PX: f64 = 30.0;
pub const TICK_PX: f64 = 26.0;
pub const LEGEND_PX: f64 = 28.0;
pub const NOTE_PX: f64 = 26.0;
pub const FOOTER_PX: f64 = 22.0;

/// Outer margin, pixels.
pub const MARGIN: i32 = 28;

pub const INK: RGBColor = RGBColor(30, 30, 30);
pub const MUTED: RGBColor = RGBColor(95, 95, 95);
pub const GRID: RGBColor = RGBColor(225, 225, 225);
pub const SHADE: RGBColor = RGBColor(244, 244, 244);
/// Neutral series colour (the market chart: no policy involved).
pub const NEUTRAL: RGBColor = RGBColor(60, 60, 60);

/// Okabe-Ito, reordered for policies: blue, vermillion, reddish purple, sky
/// blue, black, then the colours that charts also use for states.
pub const POLICY_PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
    RGBColor(0, 158, 115),
    RGBColor(230, 159, 0),
    RGBColor(240, 228, 66),
];

/// Mining (orange), curtailed (yellow), converting (sky blue), AI (bluish green).
pub const MINING: RGBColor = RGBColor(230, 159, 0);
pub const CURTAILED: RGBColor = RGBColor(240, 228, 66);
pub const CONVERTING: RGBColor = RGBColor(86, 180, 233);
pub const AI: RGBColor = RGBColor(0, 158, 115);

/// The colour of the scenario's policy `i`, the same in every chart.
pub fn policy_color(i: usize) -> RGBColor {
    POLICY_PALETTE[i % POLICY_PALETTE.len()]
}

/// What drawing on a backend can fail with.
pub type DrawError<DB> = DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>;
pub type ChartResult<T, DB> = Result<T, DrawError<DB>>;

/// The coordinates of a monthly panel: month index by value. Month ticks are
/// drawn by [`month_panel`] itself (plotters' own ticks fall on round
/// numbers of months, not on Januaries).
pub type MonthCoord = Cartesian2d<RangedCoordf64, RangedCoordf64>;

/// A text style of the shared font.
pub fn text(px: f64, color: &RGBColor) -> TextStyle<'static> {
    TextStyle {
        color: color.to_backend_color(),
        ..TextStyle::from((FONT, px))
    }
}

/// A bold text style of the shared font.
pub fn bold(px: f64, color: &RGBColor) -> TextStyle<'static> {
    TextStyle {
        color: color.to_backend_color(),
        ..TextStyle::from((FONT, px, FontStyle::Bold))
    }
}

/// How a legend entry is drawn.
#[derive(Debug, Clone, Copy)]
pub enum Swatch {
    /// A solid line.
    Line(RGBColor),
    /// A dashed line.
    Dashed(RGBColor),
    /// A filled block with this opacity.
    Fill(RGBColor, f64),
    /// A box with whiskers (distribution from percentiles).
    BoxWhisker(RGBColor),
    /// A dot with a confidence interval.
    DotCi(RGBColor),
    /// A filled dot (a point of a scatter).
    Dot(RGBColor),
    /// A ring (a hollow or circled point).
    Ring(RGBColor),
}

/// One legend entry.
#[derive(Debug, Clone)]
pub struct LegendItem {
    pub label: String,
    pub swatch: Swatch,
}

impl LegendItem {
    pub fn new(label: impl Into<String>, swatch: Swatch) -> LegendItem {
        LegendItem {
            label: label.into(),
            swatch,
        }
    }
}

/// The legend entries of the policies, in scenario order.
pub fn policy_legend(summary: &Summary) -> Vec<LegendItem> {
    summary
        .policies
        .iter()
        .enumerate()
        .map(|(i, p)| LegendItem::new(p.name.clone(), Swatch::Fill(policy_color(i), 1.0)))
        .collect()
}

/// What surrounds a chart's body.
pub struct Frame<'a> {
    /// Says what the chart shows.
    pub title: &'a str,
    /// How to read it: units, bands, sources of the figures.
    pub subtitle: &'a str,
    pub legend: &'a [LegendItem],
    /// Provenance: see [`footer`].
    pub footer: &'a str,
}

/// The provenance line: scenario, paths, seed, version, run date.
pub fn footer(summary: &Summary) -> String {
    format!(
        "Scenario {} · {} paths · seed {} · pivotsim {} · run {}",
        summary.scenario,
        thousands(summary.paths as f64, 0),
        summary.seed,
        summary.pivotsim_version,
        run_date(&summary.run_started_utc)
    )
}

/// Draw the frame on `root` (white background, title, subtitle, legend,
/// footer) and return the area left for the chart's body.
pub fn frame<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    f: &Frame,
) -> ChartResult<DrawingArea<DB, Shift>, DB> {
    root.fill(&WHITE)?;
    let (w, h) = root.dim_in_pixel();
    let (w, h) = (w as i32, h as i32);
    root.draw_text(f.title, &bold(TITLE_PX, &INK), (MARGIN, 18))?;
    let mut top = 18 + TITLE_PX as i32 + 10;
    if !f.subtitle.is_empty() {
        root.draw_text(f.subtitle, &text(SUBTITLE_PX, &MUTED), (MARGIN, top))?;
        top += SUBTITLE_PX as i32 + 14;
    }
    if !f.legend.is_empty() {
        draw_legend(root, f.legend, (MARGIN, top))?;
        top += LEGEND_PX as i32 + 20;
    }
    let footer_y = h - FOOTER_PX as i32 - 14;
    root.draw(&PathElement::new(
        vec![(MARGIN, footer_y - 10), (w - MARGIN, footer_y - 10)],
        GRID.stroke_width(2),
    ))?;
    root.draw_text(f.footer, &text(FOOTER_PX, &MUTED), (MARGIN, footer_y))?;
    let bottom = footer_y - 18;
    Ok(root.clone().shrink(
        (MARGIN, top),
        ((w - 2 * MARGIN) as u32, (bottom - top) as u32),
    ))
}

/// A legend on one row starting at `(x, y)` (top left).
pub fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    items: &[LegendItem],
    (x, y): (i32, i32),
) -> ChartResult<(), DB> {
    let style = text(LEGEND_PX, &INK);
    let sw = 56;
    let mid = y + LEGEND_PX as i32 / 2 + 1;
    let mut cx = x;
    for item in items {
        match item.swatch {
            Swatch::Line(c) => area.draw(&PathElement::new(
                vec![(cx, mid), (cx + sw, mid)],
                c.stroke_width(4),
            ))?,
            Swatch::Dashed(c) => {
                for k in 0..3 {
                    let a = cx + k * 21;
                    area.draw(&PathElement::new(
                        vec![(a, mid), (a + 13, mid)],
                        c.stroke_width(4),
                    ))?;
                }
            }
            Swatch::Fill(c, alpha) => area.draw(&Rectangle::new(
                [(cx, mid - 12), (cx + sw, mid + 12)],
                c.mix(alpha).filled(),
            ))?,
            Swatch::BoxWhisker(c) => {
                area.draw(&PathElement::new(
                    vec![(cx, mid), (cx + sw, mid)],
                    c.stroke_width(2),
                ))?;
                area.draw(&Rectangle::new(
                    [(cx + 14, mid - 11), (cx + sw - 14, mid + 11)],
                    c.mix(0.35).filled(),
                ))?;
                area.draw(&PathElement::new(
                    vec![(cx + sw / 2, mid - 11), (cx + sw / 2, mid + 11)],
                    c.stroke_width(4),
                ))?;
            }
            Swatch::DotCi(c) => {
                area.draw(&PathElement::new(
                    vec![(cx + 6, mid), (cx + sw - 6, mid)],
                    c.stroke_width(3),
                ))?;
                area.draw(&Circle::new((cx + sw / 2, mid), 9, c.filled()))?;
            }
            Swatch::Dot(c) => area.draw(&Circle::new((cx + sw / 2, mid), 9, c.filled()))?,
            Swatch::Ring(c) => {
                area.draw(&Circle::new((cx + sw / 2, mid), 11, c.stroke_width(3)))?
            }
        }
        cx += sw + 12;
        area.draw_text(&item.label, &style, (cx, y))?;
        let (tw, _) = area.estimate_text_size(&item.label, &style)?;
        cx += tw as i32 + 44;
    }
    Ok(())
}

/// Split `area` into `n` panels in a grid (2x2 for four, a row for up to
/// three), left to right, top to bottom.
pub fn panel_grid<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    n: usize,
) -> Vec<DrawingArea<DB, Shift>> {
    let cols = grid_cols(n);
    let rows = n.div_ceil(cols).max(1);
    area.split_evenly((rows, cols))
        .into_iter()
        .take(n)
        .collect()
}

/// Columns of the grid [`panel_grid`] makes for `n` panels.
pub fn grid_cols(n: usize) -> usize {
    match n {
        0..=3 => n.max(1),
        4 => 2,
        _ => 3,
    }
}

/// `2026-02-01` -> `Feb 2026`.
pub fn month_label(date: &str) -> String {
    match chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d") {
        Ok(d) => d.format("%b %Y").to_string(),
        Err(_) => date.to_string(),
    }
}

fn month_of_year(date: &str) -> u32 {
    chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .map(|d| chrono::Datelike::month(&d))
        .unwrap_or(1)
}

/// Month indices to label on an axis `width_px` wide: every 1, 3, 6, 12,
/// 24, 36 or 60 months, the finest whose labels (`Jan 2028`, at most
/// `label_px` wide as drawn) keep a gap of at least 16 px; aligned to
/// January when yearly or coarser.
pub fn month_ticks(dates: &[String], width_px: u32, label_px: f64) -> Vec<f64> {
    let label_px = label_px + 16.0;
    let n = dates.len();
    let px_per_month = width_px as f64 / (n.max(2) - 1) as f64;
    let ticks = |step: usize| -> Vec<f64> {
        (0..n)
            .filter(|&t| {
                let m = month_of_year(&dates[t]) as usize - 1;
                let year = dates[t].get(..4).and_then(|y| y.parse::<usize>().ok());
                if step >= 12 {
                    m == 0 && year.unwrap_or(0) % (step / 12) == 0
                } else {
                    m.is_multiple_of(step)
                }
            })
            .map(|t| t as f64)
            .collect()
    };
    [1, 3, 6, 12, 24, 36, 60]
        .into_iter()
        .find(|&step| step as f64 * px_per_month >= label_px)
        .map(ticks)
        .unwrap_or_default()
}

/// Position of a date on the month axis: month index plus the share of the
/// month gone by; `None` outside the simulated months.
pub fn month_position(dates: &[String], day: &str) -> Option<f64> {
    use chrono::Datelike;
    let d = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?;
    let t = dates.iter().position(|s| {
        chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .is_ok_and(|m| m.year() == d.year() && m.month() == d.month())
    })?;
    let days = match d.month() {
        2 => 28.0,
        4 | 6 | 9 | 11 => 30.0,
        _ => 31.0,
    };
    Some(t as f64 + (d.day0() as f64) / days)
}

/// How money on an axis is written: one unit ($K, $M or $B) per axis, picked
/// from the largest value, and as many decimals as the tick spacing needs.
#[derive(Debug, Clone, Copy)]
pub struct MoneyAxis {
    divisor: f64,
    suffix: &'static str,
    decimals: usize,
}

impl MoneyAxis {
    pub fn for_range(lo: f64, hi: f64) -> MoneyAxis {
        let max = lo.abs().max(hi.abs());
        let (divisor, suffix) = if max >= 1e9 {
            (1e9, "B")
        } else if max >= 1e6 {
            (1e6, "M")
        } else if max >= 1e3 {
            (1e3, "K")
        } else {
            (1.0, "")
        };
        let step = (hi - lo).abs() / divisor / 5.0;
        let decimals = if step >= 1.0 || step == 0.0 {
            0
        } else if step >= 0.1 {
            1
        } else {
            2
        };
        MoneyAxis {
            divisor,
            suffix,
            decimals,
        }
    }

    /// The unit in words, for an axis description: `$M`.
    pub fn unit(&self) -> String {
        format!("${}", self.suffix)
    }

    pub fn fmt(&self, x: f64) -> String {
        if x == 0.0 {
            return "$0".to_string();
        }
        let n = thousands(x / self.divisor, self.decimals);
        match n.strip_prefix('-') {
            Some(rest) => format!("-${rest}{}", self.suffix),
            None => format!("${n}{}", self.suffix),
        }
    }
}

/// A range that holds `lo..hi` with a little room, optionally stretched to 0.
pub fn padded(lo: f64, hi: f64, include_zero: bool) -> (f64, f64) {
    let (mut lo, mut hi) = if include_zero {
        (lo.min(0.0), hi.max(0.0))
    } else {
        (lo, hi)
    };
    if !(lo.is_finite() && hi.is_finite()) {
        return (0.0, 1.0);
    }
    if hi - lo <= f64::EPSILON * hi.abs().max(1.0) {
        let d = hi.abs().max(1.0) * 0.05;
        return (lo - d, hi + d);
    }
    let pad = (hi - lo) * 0.05;
    if !(include_zero && lo == 0.0) {
        lo -= pad;
    }
    if !(include_zero && hi == 0.0) {
        hi += pad;
    }
    (lo, hi)
}

/// The lowest 5th and highest 95th percentile of a set of fans.
pub fn fan_extent<'a>(stats: impl IntoIterator<Item = &'a Stats>) -> (f64, f64) {
    stats
        .into_iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), s| {
            (lo.min(s.p5).min(s.mean), hi.max(s.p95).max(s.mean))
        })
}

/// One monthly panel of a chart.
pub struct MonthPanel<'a> {
    /// Panel title and its colour (the policy's).
    pub title: &'a str,
    pub title_color: RGBColor,
    /// Dates of the months, `YYYY-MM-DD`.
    pub dates: &'a [String],
    pub y_range: (f64, f64),
    pub y_fmt: &'a dyn Fn(&f64) -> String,
    /// Axis description, drawn on panels in the first column only.
    pub y_desc: Option<&'a str>,
    /// Halving dates to mark, `YYYY-MM-DD`.
    pub halvings: &'a [String],
}

/// Small multiples: one monthly panel per policy, in `areas` (laid out in
/// `cols` columns), all on `y_range`; the axis description goes on the first
/// column. `draw` fills policy i's panel; the halvings are marked on top.
#[allow(clippy::too_many_arguments)]
pub fn policy_panels<DB: DrawingBackend>(
    s: &Summary,
    areas: Vec<DrawingArea<DB, Shift>>,
    cols: usize,
    dates: &[String],
    y_range: (f64, f64),
    y_fmt: &dyn Fn(&f64) -> String,
    y_desc: &str,
    mut draw: impl FnMut(
        usize,
        &PolicySummary,
        &mut ChartContext<'_, DB, MonthCoord>,
    ) -> ChartResult<(), DB>,
) -> ChartResult<(), DB> {
    for (i, (p, area)) in s.policies.iter().zip(areas).enumerate() {
        let panel = MonthPanel {
            title: &p.name,
            title_color: policy_color(i),
            dates,
            y_range,
            y_fmt,
            y_desc: (i % cols == 0).then_some(y_desc),
            halvings: &s.halvings,
        };
        let mut chart = month_panel(&area, &panel)?;
        draw(i, p, &mut chart)?;
        mark_halvings(&mut chart, &panel)?;
    }
    Ok(())
}

/// Build a monthly panel: title, mesh, month ticks. Draw the data, then
/// [`mark_halvings`] on top of it.
pub fn month_panel<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    p: &MonthPanel,
) -> ChartResult<ChartContext<'a, DB, MonthCoord>, DB> {
    let (w, _) = area.dim_in_pixel();
    let y_area = if p.y_desc.is_some() { 180 } else { 135 };
    // The widest month label as the font draws it.
    let mut label_px = 0.0f64;
    for date in p.dates {
        let (lw, _) = area.estimate_text_size(&month_label(date), &text(TICK_PX, &INK))?;
        label_px = label_px.max(lw as f64);
    }
    let ticks = month_ticks(p.dates, w.saturating_sub(y_area + 64 + 8), label_px);
    let last = (p.dates.len().max(2) - 1) as f64;
    let mut chart = ChartBuilder::on(area)
        .caption(p.title, bold(PANEL_TITLE_PX, &p.title_color))
        .margin_top(10)
        .margin_right(64)
        .margin_bottom(6)
        .x_label_area_size(46)
        .y_label_area_size(y_area)
        .build_cartesian_2d(0.0..last, p.y_range.0..p.y_range.1)?;
    let mut mesh = chart.configure_mesh();
    mesh.disable_x_mesh()
        .x_labels(0)
        .y_label_formatter(p.y_fmt)
        .y_labels(6)
        .label_style(text(TICK_PX, &INK))
        .axis_desc_style(text(AXIS_PX, &INK))
        .bold_line_style(GRID.stroke_width(1))
        .light_line_style(TRANSPARENT)
        .axis_style(MUTED.stroke_width(2))
        .set_all_tick_mark_size(6);
    if let Some(d) = p.y_desc {
        mesh.y_desc(d);
    }
    mesh.draw()?;
    // Month ticks: grid line, tick mark and label, placed in pixels on `area`.
    let (bx, by) = area.get_base_pixel();
    let tick_style = text(TICK_PX, &INK).pos(Pos::new(HPos::Center, VPos::Top));
    for &t in &ticks {
        chart.draw_series(LineSeries::new(
            vec![(t, p.y_range.0), (t, p.y_range.1)],
            GRID.stroke_width(1),
        ))?;
        let (x, y) = chart.backend_coord(&(t, p.y_range.0));
        let (x, y) = (x - bx, y - by);
        area.draw(&PathElement::new(
            vec![(x, y), (x, y + 6)],
            MUTED.stroke_width(2),
        ))?;
        let label = month_label(&p.dates[t as usize]);
        area.draw_text(&label, &tick_style, (x, y + 10))?;
    }
    Ok(chart)
}

/// A dashed vertical line at each halving of `p`, labelled at the top.
pub fn mark_halvings<DB: DrawingBackend>(
    chart: &mut ChartContext<DB, MonthCoord>,
    p: &MonthPanel,
) -> ChartResult<(), DB> {
    let (y0, y1) = p.y_range;
    for h in p.halvings {
        if let Some(x) = month_position(p.dates, h) {
            chart.draw_series(DashedLineSeries::new(
                vec![(x, y0), (x, y1)],
                8,
                7,
                MUTED.stroke_width(2),
            ))?;
            let style = text(NOTE_PX - 4.0, &MUTED).pos(Pos::new(HPos::Left, VPos::Top));
            chart
                .plotting_area()
                .draw(&(EmptyElement::at((x, y1)) + Text::new("halving", (6, 4), style)))?;
        }
    }
    Ok(())
}

/// A fan: 5-95 and 25-75 bands, the median line and, optionally, the mean
/// dashed.
pub fn draw_fan<DB: DrawingBackend>(
    chart: &mut ChartContext<DB, MonthCoord>,
    stats: &[Stats],
    color: RGBColor,
    with_mean: bool,
) -> ChartResult<(), DB> {
    let band = |lo: fn(&Stats) -> f64, hi: fn(&Stats) -> f64| -> Vec<(f64, f64)> {
        let upper = stats.iter().enumerate().map(|(t, s)| (t as f64, hi(s)));
        let lower = stats.iter().enumerate().map(|(t, s)| (t as f64, lo(s)));
        upper.chain(lower.rev()).collect()
    };
    chart.draw_series(std::iter::once(Polygon::new(
        band(|s| s.p5, |s| s.p95),
        color.mix(0.16).filled(),
    )))?;
    chart.draw_series(std::iter::once(Polygon::new(
        band(|s| s.p25, |s| s.p75),
        color.mix(0.34).filled(),
    )))?;
    chart.draw_series(LineSeries::new(
        stats.iter().enumerate().map(|(t, s)| (t as f64, s.p50)),
        color.stroke_width(4),
    ))?;
    if with_mean {
        chart.draw_series(DashedLineSeries::new(
            stats.iter().enumerate().map(|(t, s)| (t as f64, s.mean)),
            14,
            8,
            color.stroke_width(3),
        ))?;
    }
    Ok(())
}

/// The legend of a fan in `color`.
pub fn fan_legend(color: RGBColor) -> Vec<LegendItem> {
    vec![
        LegendItem::new("median", Swatch::Line(color)),
        LegendItem::new("mean", Swatch::Dashed(color)),
        LegendItem::new("25-75% of paths", Swatch::Fill(color, 0.34 + 0.16)),
        LegendItem::new("5-95% of paths", Swatch::Fill(color, 0.16)),
    ]
}

/// Stacked areas, first layer at the bottom; each layer is a value per month.
pub fn draw_stack<DB: DrawingBackend>(
    chart: &mut ChartContext<DB, MonthCoord>,
    layers: &[(Vec<f64>, RGBColor)],
) -> ChartResult<(), DB> {
    let len = layers.first().map_or(0, |l| l.0.len());
    let mut base = vec![0.0; len];
    for (values, color) in layers {
        let top: Vec<f64> = base.iter().zip(values).map(|(b, v)| b + v).collect();
        let upper = top.iter().enumerate().map(|(t, y)| (t as f64, *y));
        let lower = base.iter().enumerate().map(|(t, y)| (t as f64, *y));
        let outline: Vec<(f64, f64)> = upper.clone().chain(lower.rev()).collect();
        chart.draw_series(std::iter::once(Polygon::new(
            outline,
            color.mix(0.85).filled(),
        )))?;
        chart.draw_series(LineSeries::new(upper, color.stroke_width(2)))?;
        base = top;
    }
    Ok(())
}

/// The dates of the simulated months, `YYYY-MM-DD`.
pub fn dates(summary: &Summary) -> Vec<String> {
    summary
        .market
        .months
        .iter()
        .map(|m| m.date.clone())
        .collect()
}
