//! A "row chart": one row per policy (or scenario x policy), one column per
//! figure, every figure drawn as a mark on its own axis with its value
//! written above it. It serves the policy comparison, the drawdown
//! distribution and the scenario comparison: reading across a row gives one
//! policy's figures, reading down a column compares policies.
//!
//! Values are written on the chart because a board reads numbers: a 95% CI
//! of a mean NPV is often narrower than the dot that marks it.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::style::*;
use crate::summary::{Stats, Summary};

/// One row: its label (in its colour) and, on the first row of a group, the
/// group's name (a scenario in the comparison).
#[derive(Debug, Clone)]
pub struct Row {
    pub label: String,
    pub color: RGBColor,
    pub group: Option<String>,
    /// Shade the row's band (alternate groups).
    pub shade: bool,
}

/// One row per policy of a run, in its colour, bands alternating.
pub fn policy_rows(s: &Summary) -> Vec<Row> {
    s.policies
        .iter()
        .enumerate()
        .map(|(i, p)| Row {
            label: p.name.clone(),
            color: policy_color(i),
            group: None,
            shade: i % 2 == 1,
        })
        .collect()
}

/// How a figure is drawn in its row.
#[derive(Debug, Clone)]
pub enum Mark {
    /// A mean with the half-width of its 95% CI.
    Dot {
        mean: f64,
        half_ci: f64,
        text: String,
    },
    /// A bar from zero.
    Bar { value: f64, text: String },
    /// A distribution from its percentiles: whiskers 5-95, box 25-75, median
    /// line, mean as a hollow circle.
    Box { stats: Stats, text: String },
    /// No mark, only a note (e.g. "baseline").
    Note(String),
}

impl Mark {
    fn extent(&self) -> Option<(f64, f64)> {
        match self {
            Mark::Dot { mean, half_ci, .. } => Some((mean - half_ci, mean + half_ci)),
            Mark::Bar { value, .. } => Some((value.min(0.0), value.max(0.0))),
            Mark::Box { stats, .. } => Some((stats.p5.min(stats.mean), stats.p95.max(stats.mean))),
            Mark::Note(_) => None,
        }
    }
    fn text(&self) -> &str {
        match self {
            Mark::Dot { text, .. } | Mark::Bar { text, .. } | Mark::Box { text, .. } => text,
            Mark::Note(t) => t,
        }
    }
}

/// What a column's axis counts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Axis {
    /// USD, written as $K/$M/$B.
    Money,
    /// A probability, written as a percentage.
    Probability,
}

/// One figure across the rows.
#[derive(Debug, Clone)]
pub struct Column {
    /// Bold first line of the header.
    pub title: String,
    /// Second line: what the mark shows (e.g. "mean, 95% CI").
    pub note: String,
    pub axis: Axis,
    /// One per row.
    pub marks: Vec<Mark>,
    /// Share of the width, relative to the other columns (1.0 = equal).
    pub weight: f64,
}

/// Draw `columns` over `rows` in `area`, with the labels (group names, then
/// row labels) in a column as wide as they need.
pub fn draw_rows<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    rows: &[Row],
    columns: &[Column],
) -> ChartResult<(), DB> {
    let (w, _) = area.dim_in_pixel();
    let group_style = bold(LEGEND_PX, &INK);
    let (group_w, label_w) = label_widths(area, rows, &group_style)?;
    let label_px = (group_w as u32 + label_w + 40).min(w / 3);
    let (labels, rest) = area.split_horizontally(label_px);
    let total: f64 = columns.iter().map(|c| c.weight).sum::<f64>().max(1e-9);
    let unit = (w - label_px) as f64 / total;
    let breaks: Vec<i32> = columns
        .iter()
        .scan(0.0, |x, c| {
            *x += c.weight * unit;
            Some(*x as i32)
        })
        .take(columns.len().saturating_sub(1))
        .collect();
    let col_areas = rest.split_by_breakpoints(breaks, Vec::<i32>::new());
    // Every column lays the rows out alike: the labels follow the last's.
    let mut row_centres: Vec<i32> = Vec::new();
    let last_column = columns.len().saturating_sub(1);
    for (c, (column, col_area)) in columns.iter().zip(&col_areas).enumerate() {
        let neighbours = (c > 0, c < last_column);
        row_centres = draw_column(col_area, rows, column, neighbours)?;
    }
    let label_column = LabelColumn {
        width: label_px as i32,
        group_w,
        group_style,
    };
    draw_labels(&labels, rows, &row_centres, &label_column)
}

/// Widths of the group names' column (with its gap; 0 without groups) and
/// of the widest row label.
fn label_widths<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    rows: &[Row],
    group_style: &TextStyle,
) -> ChartResult<(i32, u32), DB> {
    let mut group_w = 0;
    let mut label_w = 0;
    for r in rows {
        if let Some(g) = &r.group {
            group_w = group_w.max(area.estimate_text_size(g, group_style)?.0 as i32 + 28);
        }
        label_w = label_w.max(
            area.estimate_text_size(&r.label, &bold(LEGEND_PX, &r.color))?
                .0,
        );
    }
    Ok((group_w, label_w))
}

/// The axis range of a column: every mark's extent and zero, padded.
fn column_range(column: &Column) -> (f64, f64) {
    let (lo, hi) = column
        .marks
        .iter()
        .filter_map(Mark::extent)
        .fold((0.0f64, 0.0f64), |(a, b), (l, h)| (a.min(l), b.max(h)));
    match column.axis {
        Axis::Probability => (0.0, (hi * 1.08).max(0.05)),
        Axis::Money => padded(lo, hi, true),
    }
}

/// The tick labels of an axis over `lo..hi`, `body_w` pixels wide with
/// digits `digit_px` wide. A tick label is centred on its tick. Between two
/// columns (`neighbours`: one to the left, one to the right), one that
/// would reach more than `SPILL_PX` into the 48 px between their axes is
/// left out, so neighbouring columns' end labels never touch. (The backend
/// is busy while the mesh formats its labels: a label's width is taken as
/// its length in digit widths, measured before.)
fn tick_labels(
    axis: Axis,
    (lo, hi): (f64, f64),
    (body_w, digit_px): (f64, f64),
    neighbours: (bool, bool),
) -> impl Fn(&f64) -> String {
    const SPILL_PX: f64 = 18.0;
    let money = MoneyAxis::for_range(lo, hi);
    let pct_decimals = if hi < 0.03 { 1 } else { 0 };
    let label = move |x: f64| match axis {
        Axis::Money => money.fmt(x),
        Axis::Probability => format!("{:.*}%", pct_decimals, 100.0 * x),
    };
    move |x: &f64| {
        let s = label(*x);
        let half = s.chars().count() as f64 * digit_px / 2.0;
        let at = (x - lo) / (hi - lo) * body_w;
        let spills_left = neighbours.0 && half - at > SPILL_PX;
        let spills_right = neighbours.1 && at + half - body_w > SPILL_PX;
        if spills_left || spills_right {
            String::new()
        } else {
            s
        }
    }
}

/// One column: its header, its axis (with the rows' shading) and a mark
/// per row. `neighbours` says whether a column stands to its left and to
/// its right. Returns the rows' centres, in pixels of the backend.
fn draw_column<DB: DrawingBackend>(
    col_area: &DrawingArea<DB, Shift>,
    rows: &[Row],
    column: &Column,
    neighbours: (bool, bool),
) -> ChartResult<Vec<i32>, DB> {
    let n = rows.len().max(1) as f64;
    let (cw, _) = col_area.dim_in_pixel();
    let header = 84;
    col_area.draw_text(
        &column.title,
        &bold(AXIS_PX, &INK).pos(Pos::new(HPos::Center, VPos::Top)),
        (cw as i32 / 2, 0),
    )?;
    col_area.draw_text(
        &column.note,
        &text(NOTE_PX - 2.0, &MUTED).pos(Pos::new(HPos::Center, VPos::Top)),
        (cw as i32 / 2, AXIS_PX as i32 + 8),
    )?;
    let body = col_area.margin(header, 0, 24, 24);
    let (lo, hi) = column_range(column);
    let digit_px = f64::from(col_area.estimate_text_size("0", &text(TICK_PX, &INK))?.0);
    let body_w = f64::from(cw.saturating_sub(48));
    let fmt = tick_labels(column.axis, (lo, hi), (body_w, digit_px), neighbours);
    let mut chart = ChartBuilder::on(&body)
        .x_label_area_size(44)
        .y_label_area_size(0)
        .build_cartesian_2d(lo..hi, 0.0..n)?;
    // Shading first, so grid lines and marks sit on it.
    for (i, r) in rows.iter().enumerate() {
        if r.shade {
            let y = n - i as f64;
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
        .x_labels(((cw as usize).saturating_sub(48) / 140).clamp(2, 6))
        .x_label_formatter(&fmt)
        .label_style(text(TICK_PX, &INK))
        .bold_line_style(GRID.stroke_width(1))
        .light_line_style(TRANSPARENT)
        .axis_style(MUTED.stroke_width(2))
        .draw()?;
    if lo < 0.0 {
        chart.draw_series(LineSeries::new(
            vec![(0.0, 0.0), (0.0, n)],
            INK.stroke_width(2),
        ))?;
    }
    // Pixel geometry, relative to `col_area`.
    let (bx, by) = col_area.get_base_pixel();
    let px = |x: f64, y: f64| {
        let (a, b) = chart.backend_coord(&(x, y));
        (a - bx, b - by)
    };
    let (left, _) = px(lo, 0.0);
    let (right, _) = px(hi, 0.0);
    let row_px = (px(lo, 0.0).1 - px(lo, 1.0).1).max(1);
    let thick = (row_px * 30 / 100).clamp(10, 34);
    let mut row_centres = Vec::new();
    for (i, (mark, row)) in column.marks.iter().zip(rows).enumerate() {
        let yc = n - i as f64 - 0.5;
        let (_, cy) = px(lo, yc);
        row_centres.push(cy + by);
        // The mark sits below the row's centre line, its value above it.
        let my = cy + thick / 2 + 2;
        let anchor_x =
            draw_mark(col_area, mark, row.color, (my, thick), &px)?.unwrap_or((left + right) / 2);
        draw_value(col_area, mark, (anchor_x, cy), (left, right))?;
    }
    Ok(row_centres)
}

/// Draw `mark` in colour `c` on the line `my`, `thick` pixels high, with
/// `px` from chart coordinates to pixels of `col_area`. Returns the x the
/// mark's value is centred on; `None` for a note, which draws nothing.
fn draw_mark<DB: DrawingBackend>(
    col_area: &DrawingArea<DB, Shift>,
    mark: &Mark,
    c: RGBColor,
    (my, thick): (i32, i32),
    px: &dyn Fn(f64, f64) -> (i32, i32),
) -> ChartResult<Option<i32>, DB> {
    let x = |v: f64| px(v, 0.0).0;
    match mark {
        Mark::Dot { mean, half_ci, .. } => {
            let (x0, x1, xm) = (x(mean - half_ci), x(mean + half_ci), x(*mean));
            col_area.draw(&PathElement::new(
                vec![(x0, my), (x1, my)],
                c.stroke_width(4),
            ))?;
            for x in [x0, x1] {
                col_area.draw(&PathElement::new(
                    vec![(x, my - thick / 2), (x, my + thick / 2)],
                    c.stroke_width(3),
                ))?;
            }
            col_area.draw(&Circle::new((xm, my), (thick / 2).clamp(7, 12), c.filled()))?;
            Ok(Some(xm))
        }
        Mark::Bar { value, .. } => {
            let (x0, x1) = (x(0.0), x(*value));
            let (a, b) = (x0.min(x1), x0.max(x1).max(x0.min(x1) + 2));
            col_area.draw(&Rectangle::new(
                [(a, my - thick / 2), (b, my + thick / 2)],
                c.filled(),
            ))?;
            Ok(Some(x1))
        }
        Mark::Box { stats, .. } => {
            let h = thick / 2;
            col_area.draw(&PathElement::new(
                vec![(x(stats.p5), my), (x(stats.p95), my)],
                c.stroke_width(3),
            ))?;
            for v in [stats.p5, stats.p95] {
                col_area.draw(&PathElement::new(
                    vec![(x(v), my - h / 2), (x(v), my + h / 2)],
                    c.stroke_width(3),
                ))?;
            }
            col_area.draw(&Rectangle::new(
                [(x(stats.p25), my - h), (x(stats.p75), my + h)],
                c.mix(0.35).filled(),
            ))?;
            col_area.draw(&Rectangle::new(
                [(x(stats.p25), my - h), (x(stats.p75), my + h)],
                c.stroke_width(2),
            ))?;
            col_area.draw(&PathElement::new(
                vec![(x(stats.p50), my - h), (x(stats.p50), my + h)],
                c.stroke_width(5),
            ))?;
            col_area.draw(&Circle::new((x(stats.mean), my), 8, WHITE.filled()))?;
            col_area.draw(&Circle::new((x(stats.mean), my), 8, INK.stroke_width(3)))?;
            Ok(Some(x(stats.p50)))
        }
        Mark::Note(_) => Ok(None),
    }
}

/// The mark's value, centred on `anchor_x` just above the row's centre
/// line `cy` (a note: on it, muted), kept between the axis ends.
fn draw_value<DB: DrawingBackend>(
    col_area: &DrawingArea<DB, Shift>,
    mark: &Mark,
    (anchor_x, cy): (i32, i32),
    (left, right): (i32, i32),
) -> ChartResult<(), DB> {
    let t = mark.text();
    if t.is_empty() {
        return Ok(());
    }
    let value_style = text(NOTE_PX - 2.0, &INK);
    let (tw, _) = col_area.estimate_text_size(t, &value_style)?;
    let half = tw as i32 / 2;
    let tx = anchor_x.clamp(left + half + 2, (right - half - 2).max(left + half + 2));
    let (style, ty) = if matches!(mark, Mark::Note(_)) {
        (
            text(NOTE_PX - 2.0, &MUTED).pos(Pos::new(HPos::Center, VPos::Center)),
            cy,
        )
    } else {
        (
            value_style.pos(Pos::new(HPos::Center, VPos::Bottom)),
            cy - 2,
        )
    };
    col_area.draw_text(t, &style, (tx, ty))?;
    Ok(())
}

/// The labels' column: its width, that of the group names in it, and their
/// style.
struct LabelColumn<'a> {
    width: i32,
    group_w: i32,
    group_style: TextStyle<'a>,
}

/// Group names and row labels, aligned with the rows' centres (pixels of
/// the backend), each shaded row's band carried across.
fn draw_labels<DB: DrawingBackend>(
    labels: &DrawingArea<DB, Shift>,
    rows: &[Row],
    row_centres: &[i32],
    column: &LabelColumn,
) -> ChartResult<(), DB> {
    let (_, lby) = labels.get_base_pixel();
    for (i, r) in rows.iter().enumerate() {
        let Some(&cy) = row_centres.get(i) else { break };
        let cy = cy - lby;
        if r.shade {
            let half = if rows.len() > 1 {
                (row_centres.get(1).copied().unwrap_or(cy) - row_centres[0]).abs() / 2
            } else {
                20
            };
            labels.draw(&Rectangle::new(
                [(0, cy - half), (column.width, cy + half)],
                SHADE.filled(),
            ))?;
        }
        if let Some(g) = &r.group {
            labels.draw_text(
                g,
                &column.group_style.pos(Pos::new(HPos::Left, VPos::Center)),
                (8, cy),
            )?;
        }
        labels.draw_text(
            &r.label,
            &bold(LEGEND_PX, &r.color).pos(Pos::new(HPos::Left, VPos::Center)),
            (column.group_w + 8, cy),
        )?;
    }
    Ok(())
}
