//! Board-deck charts of a run, of a comparison of scenarios, of a
//! backtest ([`backtest`]) and of `optimize` ([`frontier`]).
//!
//! Pure: every chart draws onto a plotters [`DrawingArea`] from a
//! [`Summary`] (what `summary.json` holds) and nothing else, and the
//! functions here return file names and bytes; the caller writes them
//! (through [`crate::output::OutputSet`]). So a test renders a chart to an
//! SVG string in memory.
//!
//! Text uses DejaVu Sans compiled into the binary (`assets/fonts`), registered
//! as plotters' `sans-serif` the first time a chart is drawn: charts render
//! the same on a machine with no fonts installed (CI, a fresh server), and the
//! binary links no font library.
//!
//! Every chart has a title that says what it shows, units on its axes, a
//! legend, the policies in the same Okabe-Ito colours, and a footer with the
//! scenario, paths, seed, pivotsim version and run date ([`style`]).

pub mod allocation;
pub mod answer;
pub mod backtest;
pub mod compare;
pub mod deck;
pub mod drivers;
pub mod frontier;
pub mod html;
pub mod market;
pub mod policy_compare;
pub mod reserve_drawdown;
pub mod revenue_expected;
pub mod revenue_fan;
mod rows;
pub mod sensitivity_html;
pub mod style;
pub mod tornado;

use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::backtest::Backtest;
use crate::backtest::forecast::ForecastCheck;
use crate::optimize::Optimization;
use crate::sensitivity::{Metric, Sensitivity};
use crate::summary::Summary;
use style::{ChartResult, HEIGHT, WIDTH};

/// Which image formats to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// PNG only (1920x1080, for slides).
    Png,
    /// SVG only (scalable; text left as text).
    Svg,
    /// Both PNG and SVG.
    #[default]
    Both,
}

impl Format {
    pub fn png(self) -> bool {
        matches!(self, Format::Png | Format::Both)
    }
    pub fn svg(self) -> bool {
        matches!(self, Format::Svg | Format::Both)
    }
}

/// How to render.
#[derive(Debug, Clone, Default)]
pub struct ChartOptions {
    pub format: Format,
}

/// A rendered chart file: its name (e.g. `revenue_fan.png`) and bytes.
#[derive(Debug, Clone)]
pub struct ChartFile {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// A chart could not be drawn or encoded.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("chart {chart}: drawing failed: {message}")]
    Draw { chart: String, message: String },
    #[error("chart {chart}: PNG encoding failed: {message}")]
    Encode { chart: String, message: String },
    #[error("the bundled chart font is not a valid font")]
    Font,
}

/// The charts of one run, in the order the report shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chart {
    PolicyCompare,
    RevenueFan,
    RevenueExpected,
    ReserveDrawdown,
    Allocation,
    Market,
}

impl Chart {
    pub const ALL: [Chart; 6] = [
        Chart::PolicyCompare,
        Chart::RevenueFan,
        Chart::RevenueExpected,
        Chart::ReserveDrawdown,
        Chart::Allocation,
        Chart::Market,
    ];

    /// File name without extension.
    pub fn stem(self) -> &'static str {
        match self {
            Chart::RevenueFan => "revenue_fan",
            Chart::RevenueExpected => "revenue_expected",
            Chart::ReserveDrawdown => "reserve_drawdown",
            Chart::Allocation => "allocation",
            Chart::PolicyCompare => "policy_compare",
            Chart::Market => "market",
        }
    }

    /// The chart's title, as drawn on it.
    pub fn title(self) -> &'static str {
        match self {
            Chart::RevenueFan => revenue_fan::TITLE,
            Chart::RevenueExpected => revenue_expected::TITLE,
            Chart::ReserveDrawdown => reserve_drawdown::TITLE,
            Chart::Allocation => allocation::TITLE,
            Chart::PolicyCompare => policy_compare::TITLE,
            Chart::Market => market::TITLE,
        }
    }

    /// Draw this chart of `summary` on `root`.
    pub fn draw<DB: DrawingBackend>(
        self,
        summary: &Summary,
        root: &DrawingArea<DB, Shift>,
    ) -> ChartResult<(), DB> {
        match self {
            Chart::RevenueFan => revenue_fan::draw(summary, root),
            Chart::RevenueExpected => revenue_expected::draw(summary, root),
            Chart::ReserveDrawdown => reserve_drawdown::draw(summary, root),
            Chart::Allocation => allocation::draw(summary, root),
            Chart::PolicyCompare => policy_compare::draw(summary, root),
            Chart::Market => market::draw(summary, root),
        }
    }
}

/// Something to draw: one chart of a run, or the comparison of runs.
#[derive(Clone, Copy)]
enum Job<'a> {
    Run(Chart, &'a Summary),
    Compare(&'a [Summary]),
    Drivers(&'a Summary),
    Backtest(&'a Backtest),
    Forecast(&'a ForecastCheck),
    Frontier(&'a Optimization),
    Tornado(&'a Sensitivity, Metric),
}

impl Job<'_> {
    fn name(&self) -> &'static str {
        match self {
            Job::Run(c, _) => c.stem(),
            Job::Compare(_) => COMPARE_STEM,
            Job::Drivers(_) => drivers::STEM,
            Job::Backtest(_) => BACKTEST_STEM,
            Job::Forecast(_) => FORECAST_STEM,
            Job::Frontier(_) => FRONTIER_STEM,
            Job::Tornado(_, m) => tornado::stem(*m),
        }
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> ChartResult<(), DB> {
        match self {
            Job::Run(c, s) => c.draw(s, root),
            Job::Compare(s) => compare::draw(s, root),
            Job::Drivers(s) => drivers::draw(s, root),
            Job::Backtest(b) => backtest::draw(b, root),
            Job::Forecast(f) => backtest::draw_forecast(f, root),
            Job::Frontier(o) => frontier::draw(o, root),
            Job::Tornado(s, m) => tornado::draw(s, *m, root),
        }
    }
}

/// File stem of the scenario comparison chart.
pub const COMPARE_STEM: &str = "compare";
/// File stem of `pivotsim backtest`'s chart.
pub const BACKTEST_STEM: &str = "backtest";
/// File stem of `pivotsim backtest --forecast`'s chart.
pub const FORECAST_STEM: &str = "forecast_check";
/// File stem of `pivotsim optimize`'s chart.
pub const FRONTIER_STEM: &str = "frontier";

static FONTS: OnceLock<bool> = OnceLock::new();

/// Register the bundled font as `sans-serif` (regular and bold), once.
fn register_fonts() -> Result<(), ChartError> {
    let ok = *FONTS.get_or_init(|| {
        let regular: &'static [u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
        let bold: &'static [u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");
        plotters::style::register_font(style::FONT, FontStyle::Normal, regular).is_ok()
            && plotters::style::register_font(style::FONT, FontStyle::Bold, bold).is_ok()
    });
    if ok { Ok(()) } else { Err(ChartError::Font) }
}

fn draw_error(job: &Job, e: impl std::fmt::Display) -> ChartError {
    ChartError::Draw {
        chart: job.name().to_string(),
        message: e.to_string(),
    }
}

fn svg_of(job: Job) -> Result<String, ChartError> {
    register_fonts()?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        job.draw(&root).map_err(|e| draw_error(&job, e))?;
        root.present().map_err(|e| draw_error(&job, e))?;
    }
    Ok(svg)
}

fn png_of(job: Job) -> Result<Vec<u8>, ChartError> {
    use image::ImageEncoder;
    register_fonts()?;
    let mut rgb = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (WIDTH, HEIGHT)).into_drawing_area();
        job.draw(&root).map_err(|e| draw_error(&job, e))?;
        root.present().map_err(|e| draw_error(&job, e))?;
    }
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(&rgb, WIDTH, HEIGHT, image::ColorType::Rgb8)
        .map_err(|e| ChartError::Encode {
            chart: job.name().to_string(),
            message: e.to_string(),
        })?;
    Ok(png)
}

fn render(job: Job, opts: &ChartOptions, out: &mut Vec<ChartFile>) -> Result<(), ChartError> {
    if opts.format.png() {
        out.push(ChartFile {
            name: format!("{}.png", job.name()),
            bytes: png_of(job)?,
        });
    }
    if opts.format.svg() {
        out.push(ChartFile {
            name: format!("{}.svg", job.name()),
            bytes: svg_of(job)?.into_bytes(),
        });
    }
    Ok(())
}

/// One chart of a run as an SVG document.
pub fn svg(chart: Chart, summary: &Summary) -> Result<String, ChartError> {
    svg_of(Job::Run(chart, summary))
}

/// One chart of a run as a 1920x1080 PNG.
pub fn png(chart: Chart, summary: &Summary) -> Result<Vec<u8>, ChartError> {
    png_of(Job::Run(chart, summary))
}

/// Every chart of a run, in [`Chart::ALL`] order, in the chosen formats.
pub fn render_all(summary: &Summary, opts: &ChartOptions) -> Result<Vec<ChartFile>, ChartError> {
    let mut out = Vec::new();
    for chart in Chart::ALL {
        render(Job::Run(chart, summary), opts, &mut out)?;
    }
    Ok(out)
}

/// The comparison chart of several runs (`compare.png` / `compare.svg`).
pub fn render_compare(
    summaries: &[Summary],
    opts: &ChartOptions,
) -> Result<Vec<ChartFile>, ChartError> {
    let mut out = Vec::new();
    render(Job::Compare(summaries), opts, &mut out)?;
    Ok(out)
}

/// The backtest chart (`backtest.png` / `backtest.svg`).
pub fn render_backtest(b: &Backtest, opts: &ChartOptions) -> Result<Vec<ChartFile>, ChartError> {
    let mut out = Vec::new();
    render(Job::Backtest(b), opts, &mut out)?;
    Ok(out)
}

/// The forecast check chart (`forecast_check.png` / `forecast_check.svg`).
pub fn render_forecast(
    f: &ForecastCheck,
    opts: &ChartOptions,
) -> Result<Vec<ChartFile>, ChartError> {
    let mut out = Vec::new();
    render(Job::Forecast(f), opts, &mut out)?;
    Ok(out)
}

/// The drivers chart of a run (`drivers.png` / `drivers.svg`): for each
/// policy but the baseline, the decile means and the shares of variance of
/// [`Summary::drivers`]. Not in [`Chart::ALL`]: the caller adds it (a run
/// with only the baseline draws a note in its place).
pub fn render_drivers(
    summary: &Summary,
    opts: &ChartOptions,
) -> Result<Vec<ChartFile>, ChartError> {
    let mut out = Vec::new();
    render(Job::Drivers(summary), opts, &mut out)?;
    Ok(out)
}

/// The drivers chart as an SVG document.
pub fn drivers_svg(summary: &Summary) -> Result<String, ChartError> {
    svg_of(Job::Drivers(summary))
}

/// The frontier chart of `pivotsim optimize` (`frontier.png` / `frontier.svg`).
pub fn render_frontier(
    o: &Optimization,
    opts: &ChartOptions,
) -> Result<Vec<ChartFile>, ChartError> {
    let mut out = Vec::new();
    render(Job::Frontier(o), opts, &mut out)?;
    Ok(out)
}

/// The tornado charts of a sensitivity (`tornado_npv`,
/// `tornado_margin_call`), in the chosen formats.
pub fn render_tornados(s: &Sensitivity, opts: &ChartOptions) -> Result<Vec<ChartFile>, ChartError> {
    let mut out = Vec::new();
    for metric in [Metric::NpvVsBaseline, Metric::MarginCall] {
        render(Job::Tornado(s, metric), opts, &mut out)?;
    }
    Ok(out)
}

/// The comparison chart as an SVG document.
pub fn compare_svg(summaries: &[Summary]) -> Result<String, ChartError> {
    svg_of(Job::Compare(summaries))
}

#[cfg(test)]
pub(crate) mod testdata;

#[cfg(test)]
mod tests;
