//! `pivotsim backtest`: the hashrate equation of a scenario or a calibration
//! through history around halvings and capitulations
//! (`backtest.csv`, `backtest.json`, `backtest.png|svg`), or, with
//! `--forecast`, a scenario's market fans against the months after its start
//! (`forecast_check.csv`, `forecast_check.png|svg`).

use std::path::PathBuf;

use anyhow::Context;
use chrono::NaiveDate;

use crate::backtest::{self, PATHS, Params, forecast};
use crate::charts::{self, ChartOptions, Format};
use crate::history::{History, month_label, parse_month};
use crate::output;
use crate::scenario::{self, Overrides};

#[derive(Debug, clap::Args)]
#[command(group(
    clap::ArgGroup::new("parameters")
        .required(true)
        .args(["scenario", "calibration", "forecast"]),
))]
pub struct BacktestArgs {
    /// History file (CSV, one row per month; see docs/model.md section 7).
    #[arg(long)]
    pub history: PathBuf,
    /// Backtest the hashrate dynamics of this scenario (TOML); its
    /// break-even applies at its `start`.
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// Backtest the hashrate dynamics of this calibration.json (from
    /// `pivotsim calibrate`); capitulation on, break-even at its window's start.
    #[arg(long)]
    pub calibration: Option<PathBuf>,
    /// Check this scenario's market fans against the history months after
    /// its start instead.
    #[arg(long, value_name = "SCENARIO", conflicts_with = "events")]
    pub forecast: Option<PathBuf>,
    /// Event months, YYYY-MM, comma-separated (default: every halving in the
    /// file and the capitulations 2018-11 and 2022-06).
    #[arg(long, value_delimiter = ',', value_parser = event_month)]
    pub events: Option<Vec<NaiveDate>>,
    /// Seed (default: the scenario's; 42 for a calibration).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Output folder (default: output/backtest-<scenario or calibration
    /// folder>/, or output/backtest-forecast-<scenario>/).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Skip the chart.
    #[arg(long)]
    pub no_charts: bool,
    /// Chart image format.
    #[arg(long, value_enum, default_value_t = Format::Both)]
    pub format: Format,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
}

fn event_month(text: &str) -> Result<NaiveDate, String> {
    parse_month(text).ok_or_else(|| format!("expected a month as YYYY-MM, got `{text}`"))
}

/// Run the command.
pub fn backtest(args: BacktestArgs) -> anyhow::Result<()> {
    if let Some(file) = &args.forecast {
        return forecast_check(&args, file);
    }
    let params = match (&args.scenario, &args.calibration) {
        (Some(file), _) => Params::of_scenario(&scenario::load(file)?, file),
        (None, Some(file)) => backtest::calibration::load(file)?,
        (None, None) => unreachable!("clap requires one of the parameter sources"),
    };
    let history = History::load(&args.history)?;
    let events = match &args.events {
        Some(months) => backtest::events_of(&history, months)?,
        None => backtest::default_events(&history),
    };
    if events.is_empty() {
        return Err(crate::history::HistoryError {
            file: history.file.clone(),
            line: None,
            column: None,
            message: "no halving or capitulation with three months of file before it; \
                      name the events with --events"
                .to_owned(),
        }
        .into());
    }
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| output::default_dir(output::Command::Backtest { name: &params.name }));
    let seed = args.seed.unwrap_or(params.seed);
    // A second or so: run before the folder is made, so that a bad input
    // (a window outside the file) writes nothing.
    let result = backtest::run(&history, &params, &events, seed, PATHS)?;
    output::check_writable(&out_dir)?;
    let mut files = vec![
        ("backtest.csv".to_owned(), backtest::report::csv(&result)),
        ("backtest.json".to_owned(), backtest::report::json(&result)),
    ];
    if !args.no_charts {
        let opts = ChartOptions {
            format: args.format,
        };
        for f in charts::render_backtest(&result, &opts).context("drawing the backtest chart")? {
            files.push((f.name, f.bytes));
        }
    }
    write_set(&out_dir, &files)?;
    if !args.quiet {
        print!("{}", backtest::report::table(&result));
        eprintln!("results in {}", out_dir.display());
    }
    Ok(())
}

fn forecast_check(args: &BacktestArgs, file: &std::path::Path) -> anyhow::Result<()> {
    let sc = scenario::load_with(
        file,
        &Overrides {
            seed: args.seed,
            ..Overrides::default()
        },
    )?;
    let history = History::load(&args.history)?;
    let out_dir = args.out.clone().unwrap_or_else(|| {
        output::default_dir(output::Command::Backtest {
            name: &format!("forecast-{}", sc.name),
        })
    });
    let check = forecast::check(&sc, &history)?;
    output::check_writable(&out_dir)?;
    let mut files = vec![("forecast_check.csv".to_owned(), forecast::csv(&check))];
    if !args.no_charts {
        let opts = ChartOptions {
            format: args.format,
        };
        for f in charts::render_forecast(&check, &opts).context("drawing the forecast chart")? {
            files.push((f.name, f.bytes));
        }
    }
    write_set(&out_dir, &files)?;
    if !args.quiet {
        print!("{}", forecast::table(&check));
        eprintln!(
            "months {} to {} checked; results in {}",
            month_label(check.start),
            check
                .months
                .iter()
                .rfind(|m| m.in_history)
                .map_or_else(String::new, |m| month_label(m.month)),
            out_dir.display()
        );
    }
    Ok(())
}

/// The files as one set (all of them or, on failure, the previous ones).
fn write_set(dir: &std::path::Path, files: &[(String, Vec<u8>)]) -> anyhow::Result<()> {
    output::ensure_dir(dir)?;
    let set = output::OutputSet::begin(dir, "backtest")?;
    for (name, bytes) in files {
        set.add(name, bytes)?;
    }
    set.commit().context("writing the backtest")?;
    Ok(())
}
