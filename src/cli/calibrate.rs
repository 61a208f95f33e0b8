//! `pivotsim calibrate`: fit the market parameters to a history file and
//! write `calibration.json` and the `calibration.toml` fragment as one set.

use std::path::PathBuf;

use anyhow::Context;

use crate::calibrate::{self, Options, hashrate::Grid};
use crate::history::{History, month_label};
use crate::output;
use crate::scenario;

/// The scenario whose break-even, efficiency gain and fallbacks are used
/// by default.
pub const DEFAULT_SCENARIO: &str = "scenarios/cango_2026.toml";

#[derive(Debug, clap::Args)]
pub struct CalibrateArgs {
    /// History file (CSV, one row per month; see docs/model.md section 7).
    #[arg(long)]
    pub history: PathBuf,
    /// First month of the window, YYYY-MM (default: the file's first).
    #[arg(long)]
    pub from: Option<String>,
    /// Last month of the window, YYYY-MM (default: the file's last).
    #[arg(long)]
    pub to: Option<String>,
    /// The month the fragment's scenario starts, YYYY-MM (default: the
    /// month after --to); the break-even is carried to it.
    #[arg(long)]
    pub start: Option<String>,
    /// Scenario giving the break-even (at its simulation.start), the
    /// efficiency gain, and the values kept for parameters history does not
    /// identify.
    #[arg(long, default_value = DEFAULT_SCENARIO)]
    pub scenario: PathBuf,
    /// Fit breakeven_usd_per_eh_day and efficiency_gain_per_year too.
    #[arg(long)]
    pub fit_breakeven: bool,
    /// Output folder (default: output/calibrate-<from>-<to>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Seed of the fee level's bootstrap.
    #[arg(long, default_value_t = calibrate::DEFAULT_SEED)]
    pub seed: u64,
}

pub fn run(args: CalibrateArgs) -> anyhow::Result<()> {
    let history = History::load(&args.history)?;
    let sc = scenario::load(&args.scenario)?;
    let opts = Options {
        from: args.from.clone(),
        to: args.to.clone(),
        start: args.start.clone(),
        fit_breakeven: args.fit_breakeven,
        seed: args.seed,
        scenario: sc.market.clone(),
        scenario_start: sc.simulation.start,
        scenario_file: args.scenario.display().to_string(),
        grid: Grid::standard(),
    };
    // Checked before the fit and before anything is written.
    let window = calibrate::window(&history, &opts)?;
    let out_dir = args.out.clone().unwrap_or_else(|| {
        output::default_dir(output::Command::Calibrate {
            from: &month_label(window.from),
            to: &month_label(window.to),
        })
    });
    output::check_writable(&out_dir)?;
    let c = calibrate::calibrate(&history, &opts)?;
    for w in &c.warnings {
        eprintln!("warning: {w}");
    }
    let set = output::OutputSet::begin(&out_dir, "calibrate")?;
    set.add("calibration.json", &calibrate::output::json(&c))?;
    set.add(
        "calibration.toml",
        calibrate::output::fragment(&c).as_bytes(),
    )?;
    set.commit().context("writing the calibration")?;
    print!("{}", calibrate::output::summary(&c));
    eprintln!("results in {}", out_dir.display());
    Ok(())
}
