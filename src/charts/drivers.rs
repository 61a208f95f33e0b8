//! The drivers chart (`drivers.png` / `.svg`): for each policy but the
//! baseline, what moves its paired NPV difference against the baseline
//! ([`crate::summary::PolicyDrivers`]).
//!
//! One block per policy. Left, a "spider" chart: for each driver, the mean
//! difference in each decile bin of the driver (x: decile 1 = the 10% of
//! paths where the driver is lowest). A steep line is a driver the answer
//! depends on; a flat one does not matter; a line crossing zero says where
//! the policy starts to win. Ties merge deciles (a jump count that is 0 on
//! half the paths): a merged bin is drawn at the middle of the deciles it
//! spans. Right, each driver's LMG share of the difference's variance,
//! sorted, and the share no driver explains (1 - R^2). Drivers keep one
//! colour (from Paul Tol's colour-blind-safe "muted" set, apart from the
//! policies' Okabe-Ito colours, which name the blocks).

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::style::*;
use crate::format::{pct, thousands};
use crate::summary::{DriverStats, PolicyDrivers, Summary};

pub const TITLE: &str = "What drives the NPV difference between each policy and the baseline";

/// File stem of the chart.
pub const STEM: &str = "drivers";

/// Six of Paul Tol's colour-blind-safe "muted" colours (indigo, rose,
/// green, olive, wine, teal), none close to a policy's Okabe-Ito colour.
const DRIVER_PALETTE: [RGBColor; 6] = [
    RGBColor(51, 34, 136),
    RGBColor(204, 102, 119),
    RGBColor(17, 119, 51),
    RGBColor(153, 153, 51),
    RGBColor(136, 34, 85),
    RGBColor(68, 170, 153),
];

/// The share of variance no driver explains.
const UNEXPLAINED: RGBColor = RGBColor(187, 187, 187);

/// The colour of the `i`th driver.
pub fn driver_color(i: usize) -> RGBColor {
    DRIVER_PALETTE[i % DRIVER_PALETTE.len()]
}

/// A driver's name as the chart writes it.
pub fn driver_label(name: &str) -> String {
    match name {
        "btc_log_return" => "BTC return".into(),
        "hashprice_mean_usd_per_ph_day" => "Hashprice".into(),
        "btc_jumps" => "BTC jumps".into(),
        "ai_demand_end_mw_it" => "AI demand".into(),
        "gpu_hour_end_usd" => "GPU-hour price".into(),
        "ai_utilisation_mean" => "AI utilisation".into(),
        other => other.to_string(),
    }
}

/// The drivers in the order of their first appearance, across policies.
fn driver_names(s: &Summary) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for d in s.drivers.iter().flat_map(|p| &p.drivers) {
        if !names.contains(&d.driver) {
            names.push(d.driver.clone());
        }
    }
    names
}

pub fn draw<DB: DrawingBackend>(s: &Summary, root: &DrawingArea<DB, Shift>) -> ChartResult<(), DB> {
    let footer = footer(s);
    let names = driver_names(s);
    let paths = s.drivers.first().map_or(0, |p| p.paths);
    let subtitle = format!(
        "Left: mean NPV difference vs `{}` by decile of each driver. Right: each driver's \
         share of its variance (LMG). {} paths.",
        s.baseline,
        thousands(paths as f64, 0)
    );
    let legend: Vec<LegendItem> = names
        .iter()
        .enumerate()
        .map(|(i, n)| LegendItem::new(driver_label(n), Swatch::Line(driver_color(i))))
        .collect();
    let body = frame(
        root,
        &Frame {
            title: TITLE,
            subtitle: &subtitle,
            legend: &legend,
            footer: &footer,
        },
    )?;
    if s.drivers.is_empty() {
        let style = text(AXIS_PX, &MUTED).pos(Pos::new(HPos::Left, VPos::Top));
        body.draw_text(
            "No policy besides the baseline: there is no difference to explain.",
            &style,
            (0, 20),
        )?;
        return Ok(());
    }
    let n = s.drivers.len();
    let cols = if n <= 3 { 1 } else { 2 };
    let rows = n.div_ceil(cols);
    // One scale for every block's bars, so bars compare across policies.
    let bar_max = s
        .drivers
        .iter()
        .flat_map(|p| {
            let shares = p.drivers.iter().map(|d| d.contribution_to_variance);
            shares.chain(std::iter::once(1.0 - p.r_squared))
        })
        .fold(0.0f64, f64::max)
        .max(1e-9);
    for (k, (p, area)) in s
        .drivers
        .iter()
        .zip(body.split_evenly((rows, cols)))
        .enumerate()
    {
        let color = s
            .policies
            .iter()
            .position(|q| q.name == p.policy)
            .map_or(INK, policy_color);
        let block = Block {
            p,
            color,
            names: &names,
            baseline: &s.baseline,
            bar_max,
            x_desc: k / cols == rows - 1,
        };
        draw_block(&area, &block)?;
    }
    Ok(())
}

/// What one policy's block needs.
struct Block<'a> {
    p: &'a PolicyDrivers,
    color: RGBColor,
    names: &'a [String],
    baseline: &'a str,
    /// The share the longest bar stands for.
    bar_max: f64,
    /// Describe the x axis (bottom row only).
    x_desc: bool,
}

fn draw_block<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, b: &Block) -> ChartResult<(), DB> {
    let (w, h) = area.dim_in_pixel();
    // Header: the policy in its colour, then how often it wins and R^2.
    let name = format!("{} minus {}", b.p.policy, b.baseline);
    let name_style = bold(PANEL_TITLE_PX, &b.color);
    area.draw_text(&name, &name_style, (0, 4))?;
    let name_w = area.estimate_text_size(&name, &name_style)?.0 as i32;
    let facts_style = text(AXIS_PX, &MUTED);
    let long = format!(
        "beats it on {} of paths · drivers explain {} of the variance (R²)",
        pct(b.p.p_beats_baseline),
        pct(b.p.r_squared)
    );
    let short = format!(
        "beats it on {} · R² {}",
        pct(b.p.p_beats_baseline),
        pct(b.p.r_squared)
    );
    let room = w as i32 - name_w - 24;
    let facts = if area.estimate_text_size(&long, &facts_style)?.0 as i32 <= room {
        long
    } else {
        short
    };
    area.draw_text(&facts, &facts_style, (name_w + 24, 6))?;
    let header = PANEL_TITLE_PX as i32 + 10;
    let body = area
        .clone()
        .shrink((0, header), (w, h.saturating_sub(header as u32)));
    let (bw, _) = body.dim_in_pixel();
    let (left, right) = body.split_horizontally(bw * 57 / 100);
    let x_area = if b.x_desc { 78 } else { 40 };
    draw_spider(&left, b, x_area)?;
    // The bars span the plot's height (without the bottom row's x title).
    draw_bars(&right.margin(8, 40, 24, 24), b)
}

/// The decile means of each varying driver: (x, mean) points, a merged bin
/// at the middle of the deciles it spans.
fn spider_points(deciles: &[Option<f64>]) -> Vec<(f64, f64)> {
    let mut points = Vec::new();
    for (k, m) in deciles.iter().enumerate() {
        if let Some(m) = m {
            let span = deciles[k + 1..].iter().take_while(|d| d.is_none()).count();
            points.push((1.0 + k as f64 + span as f64 / 2.0, *m));
        }
    }
    points
}

fn draw_spider<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    b: &Block,
    x_area: u32,
) -> ChartResult<(), DB> {
    let lines: Vec<(usize, Vec<(f64, f64)>)> =
        b.p.drivers
            .iter()
            .filter(|d| d.note != "constant")
            .map(|d| {
                let i = b.names.iter().position(|n| *n == d.driver).unwrap_or(0);
                (i, spider_points(&d.decile_mean_usd))
            })
            .collect();
    let (lo, hi) = lines
        .iter()
        .flat_map(|(_, pts)| pts.iter().map(|p| p.1))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), y| {
            (lo.min(y), hi.max(y))
        });
    let y_range = padded(lo, hi, true);
    let money = MoneyAxis::for_range(y_range.0, y_range.1);
    let mut chart = ChartBuilder::on(area)
        .margin_top(8)
        .margin_right(24)
        .x_label_area_size(x_area)
        .y_label_area_size(140)
        .build_cartesian_2d(0.5..10.5, y_range.0..y_range.1)?;
    let y_fmt = |y: &f64| money.fmt(*y);
    let x_fmt = |x: &f64| format!("{x:.0}");
    let mut mesh = chart.configure_mesh();
    mesh.disable_x_mesh()
        .x_labels(10)
        .x_label_formatter(&x_fmt)
        .y_labels(5)
        .y_label_formatter(&y_fmt)
        .label_style(text(TICK_PX, &INK))
        .axis_desc_style(text(AXIS_PX, &INK))
        .bold_line_style(GRID.stroke_width(1))
        .light_line_style(TRANSPARENT)
        .axis_style(MUTED.stroke_width(2))
        .set_all_tick_mark_size(6);
    if b.x_desc {
        mesh.x_desc("Decile of the driver (1 = lowest 10% of paths)");
    }
    mesh.draw()?;
    // Break-even: above the line the policy beats the baseline on average.
    chart.draw_series(LineSeries::new(
        vec![(0.5, 0.0), (10.5, 0.0)],
        INK.stroke_width(2),
    ))?;
    for (i, pts) in &lines {
        let c = driver_color(*i);
        chart.draw_series(LineSeries::new(pts.clone(), c.stroke_width(4)))?;
        chart.draw_series(pts.iter().map(|&p| Circle::new(p, 6, c.filled())))?;
    }
    Ok(())
}

/// Horizontal bars of the shares of variance, largest first, then the
/// constant drivers and the unexplained share, with the values written.
fn draw_bars<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, b: &Block) -> ChartResult<(), DB> {
    let (w, h) = area.dim_in_pixel();
    let (w, h) = (w as i32, h as i32);
    let mut order: Vec<&DriverStats> = b.p.drivers.iter().collect();
    // Largest share first; constant drivers last; ties keep the file order.
    order.sort_by(|x, y| {
        let key = |d: &DriverStats| (d.note == "constant", -d.contribution_to_variance);
        key(x)
            .partial_cmp(&key(y))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut rows: Vec<(String, f64, RGBColor, Option<&str>)> = order
        .into_iter()
        .map(|d| {
            let i = b.names.iter().position(|n| *n == d.driver).unwrap_or(0);
            let note = (d.note == "constant").then_some("constant");
            let label = driver_label(&d.driver);
            (label, d.contribution_to_variance, driver_color(i), note)
        })
        .collect();
    let unexplained = (1.0 - b.p.r_squared).max(0.0);
    rows.push(("not explained".into(), unexplained, UNEXPLAINED, None));
    let row_h = (h / rows.len().max(1) as i32).max(1);
    // Rows closer than the tick text's height get smaller text.
    let px = (row_h as f64 - 2.0).clamp(16.0, TICK_PX);
    let label_style = text(px, &INK);
    let mut label_w = 0;
    for (label, ..) in &rows {
        label_w = label_w.max(area.estimate_text_size(label, &label_style)?.0 as i32);
    }
    let value_w = area.estimate_text_size("constant", &label_style)?.0 as i32 + 12;
    let x0 = label_w + 16;
    let span = (w - x0 - value_w).max(1) as f64;
    let right = label_style.pos(Pos::new(HPos::Right, VPos::Center));
    let value_style = text(px, &MUTED).pos(Pos::new(HPos::Left, VPos::Center));
    for (r, (label, share, color, note)) in rows.iter().enumerate() {
        let cy = r as i32 * row_h + row_h / 2;
        area.draw_text(label, &right, (label_w, cy))?;
        let len = (share / b.bar_max * span).round() as i32;
        let half = (row_h * 3 / 10).clamp(4, 16);
        if len > 0 {
            area.draw(&Rectangle::new(
                [(x0, cy - half), (x0 + len, cy + half)],
                color.filled(),
            ))?;
        }
        let value = note.map_or_else(|| pct(*share), str::to_string);
        area.draw_text(&value, &value_style, (x0 + len + 8, cy))?;
    }
    // The axis the bars stand on.
    area.draw(&PathElement::new(
        vec![(x0, 0), (x0, row_h * rows.len() as i32)],
        MUTED.stroke_width(2),
    ))
}
