//! The charts of `pivotsim backtest`: one panel per event, the actual
//! hashrate over the model's fan (`backtest`); and a scenario's market fans
//! with what happened after its start, each month labelled with its
//! percentile rank (`forecast_check`).

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::style::*;
use crate::backtest::forecast::{ForecastCheck, METRICS};
use crate::backtest::{Backtest, EventResult, LEAD_MONTHS};
use crate::format::thousands;
use crate::summary::Stats;

pub const TITLE: &str = "Backtest: the hashrate equation through halvings and capitulations";
pub const FORECAST_TITLE: &str = "Forecast check: the scenario's market against what happened";

/// The model's colour; the actuals are drawn in ink.
const MODEL: RGBColor = POLICY_PALETTE[0];

fn stats(q: &[f64; 5]) -> Stats {
    Stats {
        mean: q[2],
        se: 0.0,
        p5: q[0],
        p25: q[1],
        p50: q[2],
        p75: q[3],
        p95: q[4],
        cvar5: None,
    }
}

fn legend() -> Vec<LegendItem> {
    vec![
        LegendItem::new("actual (monthly mean)", Swatch::Line(INK)),
        LegendItem::new("model median", Swatch::Line(MODEL)),
        LegendItem::new("25-75% of paths", Swatch::Fill(MODEL, 0.34 + 0.16)),
        LegendItem::new("5-95% of paths", Swatch::Fill(MODEL, 0.16)),
    ]
}

/// Tick labels with as many decimals as the range needs.
fn number_fmt(lo: f64, hi: f64) -> impl Fn(&f64) -> String {
    let span = (hi - lo).abs();
    let decimals = if span >= 50.0 {
        0
    } else if span >= 5.0 {
        1
    } else {
        2
    };
    move |y: &f64| thousands(*y, decimals)
}

/// The actual series as a line (broken at missing months) with dots.
fn draw_actual<DB: DrawingBackend>(
    chart: &mut ChartContext<DB, MonthCoord>,
    actual: &[Option<f64>],
) -> ChartResult<(), DB> {
    let mut segment: Vec<(f64, f64)> = Vec::new();
    let mut segments = Vec::new();
    for (t, a) in actual.iter().enumerate() {
        match a {
            Some(y) => segment.push((t as f64, *y)),
            None => segments.push(std::mem::take(&mut segment)),
        }
    }
    segments.push(segment);
    for s in segments.into_iter().filter(|s| !s.is_empty()) {
        chart.draw_series(LineSeries::new(s.clone(), INK.stroke_width(4)))?;
        chart.draw_series(s.into_iter().map(|p| Circle::new(p, 6, INK.filled())))?;
    }
    Ok(())
}

/// A dashed vertical line at month `x` (the event; the panel's title names
/// it).
fn mark<DB: DrawingBackend>(
    chart: &mut ChartContext<DB, MonthCoord>,
    x: f64,
    (y0, y1): (f64, f64),
) -> ChartResult<(), DB> {
    chart.draw_series(DashedLineSeries::new(
        vec![(x, y0), (x, y1)],
        8,
        7,
        MUTED.stroke_width(2),
    ))?;
    Ok(())
}

fn event_panel<DB: DrawingBackend>(
    e: &EventResult,
    area: &DrawingArea<DB, Shift>,
    first_column: bool,
) -> ChartResult<(), DB> {
    let dates: Vec<String> = e
        .months
        .iter()
        .map(|m| m.month.format("%Y-%m-%d").to_string())
        .collect();
    let fan: Vec<Stats> = e
        .months
        .iter()
        .map_while(|m| m.hashrate_ehs.as_ref().map(stats))
        .collect();
    let actual: Vec<Option<f64>> = e.months.iter().map(|m| m.actual_hashrate_ehs).collect();
    let (mut lo, mut hi) = fan_extent(&fan);
    for a in actual.iter().flatten() {
        (lo, hi) = (lo.min(*a), hi.max(*a));
    }
    let y_range = padded(lo, hi, false);
    // Headroom for the score note, top right.
    let y_range = (y_range.0, y_range.1 + 0.16 * (y_range.1 - y_range.0));
    let fmt = number_fmt(y_range.0, y_range.1);
    let kind = e.event.kind.name();
    let title = format!(
        "{}{} {}",
        kind[..1].to_uppercase(),
        &kind[1..],
        e.event.month.format("%b %Y")
    );
    let panel = MonthPanel {
        title: &title,
        title_color: INK,
        dates: &dates,
        y_range,
        y_fmt: &fmt,
        y_desc: first_column.then_some("Hashrate, EH/s"),
        halvings: &[],
    };
    let mut chart = month_panel(area, &panel)?;
    draw_fan(&mut chart, &fan, MODEL, false)?;
    draw_actual(&mut chart, &actual)?;
    mark(&mut chart, LEAD_MONTHS as f64, y_range)?;
    // The event's own score, top right, in the headroom.
    let scored: Vec<_> = e.rows.iter().filter(|r| r.scored()).collect();
    if !scored.is_empty() {
        let n = scored.len() as f64;
        let model = scored
            .iter()
            .filter_map(|r| r.log_density_hashrate)
            .sum::<f64>()
            / n;
        let rw = scored
            .iter()
            .filter_map(|r| r.random_walk_log_density)
            .sum::<f64>()
            / n;
        let note = format!("model {model:.1} · random walk {rw:.1}");
        let style = text(NOTE_PX - 4.0, &INK).pos(Pos::new(HPos::Right, VPos::Top));
        let last = (dates.len() - 1) as f64;
        chart
            .plotting_area()
            .draw(&(EmptyElement::at((last, y_range.1)) + Text::new(note, (-8, 6), style)))?;
    }
    Ok(())
}

/// Draw the backtest chart of `b` on `root`.
pub fn draw<DB: DrawingBackend>(
    b: &Backtest,
    root: &DrawingArea<DB, Shift>,
) -> ChartResult<(), DB> {
    let score = |x: Option<f64>| x.map_or("n/a".to_owned(), |x| format!("{x:.2}"));
    let subtitle = format!(
        "Hashrate, EH/s; dashed: the event. Score (mean log density of the actual, 1-12 months on): model {}, random walk {}.",
        score(b.score),
        score(b.random_walk_score)
    );
    let footer = format!(
        "{} {} · model started {LEAD_MONTHS} months before each event at the observed hashrate, driven by observed price, subsidy and fees · {} paths · seed {} · pivotsim {}",
        b.params.kind.name(),
        b.params.name,
        thousands(b.paths as f64, 0),
        b.seed,
        env!("CARGO_PKG_VERSION")
    );
    let body = frame(
        root,
        &Frame {
            title: TITLE,
            subtitle: &subtitle,
            legend: &legend(),
            footer: &footer,
        },
    )?;
    let n = b.events.len();
    let cols = grid_cols(n);
    for (i, (e, area)) in b.events.iter().zip(panel_grid(&body, n)).enumerate() {
        event_panel(e, &area, i % cols == 0)?;
    }
    Ok(())
}

/// Draw the forecast check of `f` on `root`.
pub fn draw_forecast<DB: DrawingBackend>(
    f: &ForecastCheck,
    root: &DrawingArea<DB, Shift>,
) -> ChartResult<(), DB> {
    let subtitle = format!(
        "Scenario {}, from {}: the model's fans (its own paths) and history's monthly means, each labelled with its percentile rank.",
        f.scenario,
        f.start.format("%b %Y")
    );
    let footer = format!(
        "Scenario {} · {} paths · seed {} · history {} · pivotsim {}",
        f.scenario,
        thousands(f.paths as f64, 0),
        f.seed,
        f.history_file
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        env!("CARGO_PKG_VERSION")
    );
    let body = frame(
        root,
        &Frame {
            title: FORECAST_TITLE,
            subtitle: &subtitle,
            legend: &legend(),
            footer: &footer,
        },
    )?;
    let dates: Vec<String> = f
        .months
        .iter()
        .map(|m| m.month.format("%Y-%m-%d").to_string())
        .collect();
    let titles = [
        ("BTC price", "USD per BTC"),
        ("Network hashrate", "EH/s"),
        ("Hashprice", "USD per PH/s per day"),
    ];
    for (k, area) in panel_grid(&body, METRICS.len()).into_iter().enumerate() {
        let fan: Vec<Stats> = f.months.iter().map(|m| stats(&m.fans[k])).collect();
        let actual: Vec<Option<f64>> = f.months.iter().map(|m| m.actual[k]).collect();
        let (mut lo, mut hi) = fan_extent(&fan);
        for a in actual.iter().flatten() {
            (lo, hi) = (lo.min(*a), hi.max(*a));
        }
        let y_range = padded(lo, hi, false);
        let money = MoneyAxis::for_range(y_range.0, y_range.1);
        let plain = number_fmt(y_range.0, y_range.1);
        let fmt = |y: &f64| if k == 1 { plain(y) } else { money.fmt(*y) };
        let panel = MonthPanel {
            title: titles[k].0,
            title_color: INK,
            dates: &dates,
            y_range,
            y_fmt: &fmt,
            y_desc: Some(titles[k].1),
            halvings: &[],
        };
        let mut chart = month_panel(&area, &panel)?;
        draw_fan(&mut chart, &fan, MODEL, false)?;
        draw_actual(&mut chart, &actual)?;
        let style = bold(NOTE_PX - 4.0, &INK).pos(Pos::new(HPos::Center, VPos::Bottom));
        for (t, m) in f.months.iter().enumerate() {
            if let (Some(a), Some(r)) = (m.actual[k], m.percentile_rank[k]) {
                chart.plotting_area().draw(
                    &(EmptyElement::at((t as f64, a))
                        + Text::new(format!("{r:.0}%"), (0, -12), style.clone())),
                )?;
            }
        }
    }
    Ok(())
}
