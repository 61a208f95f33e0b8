//! The command line: parse, validate, run, export. `main.rs` only calls
//! [`main`].
//!
//! Exit codes: 0 done, 2 bad input (scenario or arguments), 1 anything else.
//! Errors are printed once, with their chain (`{:#}`).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

pub mod backtest;
pub mod bench;
pub mod calibrate;
pub mod compare;
pub mod optimize;
pub mod sensitivity;
pub mod shard;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::charts::deck;
use crate::charts::{ChartOptions, Format};
use crate::engine::{Engine, RunOptions};
use crate::output;
use crate::report;
use crate::scenario::{self, Overrides, ScenarioError};
use compare::CompareOptions;

/// pivotsim: should a Bitcoin miner convert its sites to AI inference now, in
/// stages, on a signal, or never? Monte Carlo over BTC price, hashrate, fees,
/// halvings and AI prices, with the treasury and the BTC-backed loan.
#[derive(Debug, Parser)]
#[command(name = "pivotsim", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario: simulate every policy on the same paths and write results.
    Run(RunArgs),
    /// Measure throughput: timed runs (no files written) and the RNG floor.
    Bench(BenchArgs),
    /// Run several scenario files with the same seed and paths, side by side.
    Compare(CompareArgs),
    /// Merge the shard files of a run (`run --shard`) into what `run` writes.
    Merge(shard::MergeArgs),
    /// Replay one path of a run under one policy as a month-by-month ledger.
    Replay(ReplayArgs),
    /// Fit BTC volatility and jumps, fees and the hashrate equation to a
    /// monthly history file; write calibration.json and a scenario fragment.
    Calibrate(calibrate::CalibrateArgs),
    /// Run the hashrate equation through history around halvings and
    /// capitulations, scored against a random walk; or check a scenario's
    /// market fans against the months after its start (--forecast).
    Backtest(backtest::BacktestArgs),
    /// The best setting of one policy's keys under risk limits: a grid of
    /// variants on the same paths, the winner re-run on another seed.
    Optimize(optimize::OptimizeArgs),
    /// What moves the answer: each key moved one at a time to a low and a
    /// high value, on the same paths (tornado charts); or the value of one
    /// key at which two policies' mean NPVs cross (--breakeven).
    Sensitivity(sensitivity::SensitivityArgs),
    /// Check a scenario file and describe it.
    Validate {
        /// Scenario file (TOML).
        scenario: PathBuf,
    },
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    /// Monte Carlo paths (overrides `simulation.paths`).
    #[arg(long)]
    pub paths: Option<u64>,
    /// Master seed (overrides `simulation.seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Months simulated (overrides `simulation.months`).
    #[arg(long)]
    pub months: Option<usize>,
    /// Worker threads (default: all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Output folder (default: output/<scenario name>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Skip the charts; report.html is still written, with the table only.
    #[arg(long)]
    pub no_charts: bool,
    /// Chart image format.
    #[arg(long, value_enum, default_value_t = Format::Both)]
    pub format: Format,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
    /// Also write worst_paths.csv: per policy, the K paths with the lowest
    /// NPV and the K with the lowest terminal net reserve.
    #[arg(long, value_name = "K")]
    pub worst: Option<usize>,
    /// Simulate only shard I of N (numbered from 0) and write its file,
    /// `shard-I-of-N.pvshard`, into the output folder (default:
    /// output/<scenario>-shards); `pivotsim merge` makes the run of them.
    #[arg(long, value_name = "I/N", conflicts_with = "shard_from_env")]
    pub shard: Option<String>,
    /// As --shard, with the index from the scheduler: Slurm's array
    /// (SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN, of
    /// SLURM_ARRAY_TASK_COUNT), else Kubernetes' JOB_COMPLETION_INDEX, else
    /// AWS Batch's AWS_BATCH_JOB_ARRAY_INDEX (those two need --shards).
    #[arg(long)]
    pub shard_from_env: bool,
    /// The number of shards, with --shard-from-env.
    #[arg(long, value_name = "N", requires = "shard_from_env")]
    pub shards: Option<u64>,
}

/// A command's argument that cannot be used (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    /// Path index to replay (as listed in worst_paths.csv).
    #[arg(long)]
    pub path: u64,
    /// Policy name (as in the scenario's [[policies]]).
    #[arg(long)]
    pub policy: String,
    /// Master seed (overrides `simulation.seed`; use the run's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Months simulated (overrides `simulation.months`; use the run's).
    #[arg(long)]
    pub months: Option<usize>,
    /// `csv`: every flow in its own column, to the cent; `md`: a readable table.
    #[arg(long, value_enum, default_value_t = LedgerFormat::Csv)]
    pub format: LedgerFormat,
    /// Output file (default: csv to
    /// output/<scenario>/ledgers/ledger_<policy>_path<N>.csv, md to the
    /// terminal).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LedgerFormat {
    Csv,
    Md,
}

#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// Scenario files (TOML), two or more.
    #[arg(required = true, num_args = 2..)]
    pub scenarios: Vec<PathBuf>,
    /// Monte Carlo paths for every scenario (default: the first file's).
    #[arg(long)]
    pub paths: Option<u64>,
    /// Master seed for every scenario (default: the first file's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Worker threads (default: all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Output folder (default: output/compare-<names joined by '+'>, or a
    /// short hash of them when long).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Skip the chart (compare.csv and the table only).
    #[arg(long)]
    pub no_charts: bool,
    /// Chart image format.
    #[arg(long, value_enum, default_value_t = Format::Both)]
    pub format: Format,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    /// Monte Carlo paths (default: the scenario's).
    #[arg(long)]
    pub paths: Option<u64>,
    /// Worker threads (default: all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Timed runs (at least 1); the median is reported.
    #[arg(long, default_value_t = 3, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub repeat: usize,
}

/// Parse the arguments, run, and map the outcome to an exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit_code(&e))
        }
    }
}

/// 2 for bad input, 1 otherwise.
fn exit_code(e: &anyhow::Error) -> u8 {
    if e.chain().any(|c| {
        c.downcast_ref::<ScenarioError>().is_some()
            || c.downcast_ref::<BadInput>().is_some()
            || c.downcast_ref::<output::UnwritableDir>().is_some()
            || c.downcast_ref::<crate::history::HistoryError>().is_some()
            || c.downcast_ref::<crate::calibrate::WindowError>().is_some()
            || c.downcast_ref::<crate::optimize::OptimizeError>().is_some()
            || c.downcast_ref::<crate::sensitivity::BadInput>().is_some()
    }) {
        2
    } else {
        1
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Run(args) => run(args),
        Command::Bench(args) => {
            let sc = scenario::load_with(
                &args.scenario,
                &Overrides {
                    paths: args.paths,
                    ..Overrides::default()
                },
            )?;
            let engine = Engine::new(sc);
            print!(
                "{}",
                bench::bench(&engine, args.threads, args.repeat).render()
            );
            Ok(())
        }
        Command::Compare(args) => compare(args),
        Command::Merge(args) => shard::merge(args),
        Command::Backtest(args) => backtest::backtest(args),
        Command::Replay(args) => replay(args),
        Command::Calibrate(args) => calibrate::run(args),
        Command::Optimize(args) => optimize::run(args),
        Command::Sensitivity(args) => sensitivity::run(args),
        Command::Validate { scenario } => {
            let sc = scenario::load(&scenario)?;
            print!("{}", scenario::describe(&sc));
            Ok(())
        }
    }
}

fn run(args: RunArgs) -> anyhow::Result<()> {
    if let Some(choice) = shard::choice(&args)? {
        return shard::run_shard(&args, &choice);
    }
    let overrides = Overrides {
        paths: args.paths,
        seed: args.seed,
        months: args.months,
    };
    let sc = scenario::load_with(&args.scenario, &overrides)?;
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| output::default_dir(output::Command::Run { scenario: &sc.name }));
    // Before the simulation, which may take long: an unwritable folder is
    // a bad argument, not a failure at the end.
    output::check_writable(&out_dir)?;
    let engine = Engine::new(sc);
    let summary = engine.run(&RunOptions {
        threads: args.threads,
        progress: !args.quiet && std::io::stderr().is_terminal(),
        worst: args.worst.unwrap_or(0),
    });
    let outputs = RunOutputs {
        out_dir: &out_dir,
        no_charts: args.no_charts,
        format: args.format,
        worst: args.worst.is_some(),
        quiet: args.quiet,
    };
    outputs.write(&engine, &summary)?;
    if !args.quiet {
        eprintln!(
            "{} paths in {:.2} s ({:.0} paths/s, {} threads); results in {}",
            summary.paths,
            summary.elapsed_s,
            summary.performance.paths_per_s,
            summary.performance.threads,
            out_dir.display()
        );
    }
    Ok(())
}

/// What `run` (and `merge`) write, and where.
pub(crate) struct RunOutputs<'a> {
    pub out_dir: &'a std::path::Path,
    pub no_charts: bool,
    pub format: Format,
    /// Write worst_paths.csv (`--worst`).
    pub worst: bool,
    pub quiet: bool,
}

impl RunOutputs<'_> {
    /// The run's files, as one set, and (unless quiet) its table.
    pub fn write(&self, engine: &Engine, summary: &crate::summary::Summary) -> anyhow::Result<()> {
        // A figure that is not a number stops the run before any file is written.
        summary.ensure_finite()?;
        let out_dir = self.out_dir;
        output::ensure_dir(out_dir)?;
        // The files go in as one set: all of them or, if this fails or is
        // killed, the previous run's (see `output`).
        let set = output::OutputSet::begin(out_dir, "run")?;
        type Render = fn(&crate::summary::Summary) -> Vec<u8>;
        let files: [(&str, Render); 5] = [
            ("summary.json", report::summary_json),
            ("monthly.csv", report::monthly_csv),
            ("market.csv", report::market_csv),
            ("policies.csv", report::policies_csv),
            ("drivers.csv", report::drivers::drivers_csv),
        ];
        let chart_opts = ChartOptions {
            format: self.format,
        };
        // Each data file is rendered and staged (written and synced) on a
        // thread of its own while the deck is drawn: the files are
        // independent, and the syncs overlap.
        let (written, deck) = std::thread::scope(|s| {
            let writers: Vec<_> = files
                .iter()
                .map(|&(name, render)| {
                    let set = &set;
                    s.spawn(move || set.add(name, &render(summary)))
                })
                .collect();
            let deck = deck::run_files(summary, (!self.no_charts).then_some(&chart_opts));
            let written: Vec<_> = writers
                .into_iter()
                .map(|h| h.join().expect("a writer thread panicked"))
                .collect();
            (written, deck)
        });
        for result in written {
            result.with_context(|| format!("writing the results of {}", summary.scenario))?;
        }
        let deck = deck.with_context(|| format!("drawing the charts of {}", summary.scenario))?;
        add_all(&set, &deck)?;
        if self.worst {
            let bytes = crate::engine::worst::worst_paths_csv(engine, &summary.worst_paths);
            set.add("worst_paths.csv", &bytes)
                .with_context(|| format!("writing the worst paths of {}", summary.scenario))?;
        }
        set.commit()
            .with_context(|| format!("writing the results of {}", summary.scenario))?;
        if !self.quiet {
            print!("{}", report::table(summary));
        }
        Ok(())
    }
}

fn add_all(set: &output::OutputSet, files: &[deck::OutFile]) -> anyhow::Result<()> {
    for (name, bytes) in files {
        set.add(name, bytes)?;
    }
    Ok(())
}

fn compare(args: CompareArgs) -> anyhow::Result<()> {
    let opts = CompareOptions {
        paths: args.paths,
        seed: args.seed,
        run: RunOptions {
            threads: args.threads,
            progress: !args.quiet && std::io::stderr().is_terminal(),
            ..RunOptions::default()
        },
    };
    let scenarios = compare::load_scenarios(&args.scenarios, &opts)?;
    if let Some(out) = &args.out {
        output::check_writable(out)?;
    }
    let summaries = compare::run_scenarios(scenarios, &opts);
    for summary in &summaries {
        summary.ensure_finite()?;
    }
    let names: Vec<String> = summaries.iter().map(|s| s.scenario.clone()).collect();
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| compare::default_out_dir(&names));
    output::ensure_dir(&out_dir)?;
    let set = output::OutputSet::begin(&out_dir, "compare")?;
    let chart_opts = ChartOptions {
        format: args.format,
    };
    let files = deck::compare_files(&summaries, (!args.no_charts).then_some(&chart_opts))
        .context("drawing the comparison chart")?;
    add_all(&set, &files)?;
    set.commit().context("writing the comparison")?;
    if !args.quiet {
        print!("{}", report::compare::compare_table(&summaries));
        eprintln!("results in {}", out_dir.display());
    }
    Ok(())
}

fn replay(args: ReplayArgs) -> anyhow::Result<()> {
    use crate::engine::ledger;
    let overrides = Overrides {
        seed: args.seed,
        months: args.months,
        ..Overrides::default()
    };
    let sc = scenario::load_with(&args.scenario, &overrides)?;
    let engine = Engine::new(sc);
    let Some(p) = ledger::policy_index(&engine, &args.policy) else {
        let names: Vec<&str> = engine
            .scenario
            .policies
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        return Err(ScenarioError::Invalid {
            file: args.scenario.clone(),
            key: "policies".into(),
            message: format!(
                "no policy named `{}`; the policies are {}",
                args.policy,
                names.join(", ")
            ),
        }
        .into());
    };
    let ledger = ledger::replay(&engine, p, args.path)?;
    let bytes = match args.format {
        LedgerFormat::Csv => ledger.csv(),
        LedgerFormat::Md => ledger.markdown().into_bytes(),
    };
    let out = match (&args.out, args.format) {
        (Some(out), _) => Some(out.clone()),
        // Beside the run's files, outside its set: a run keeps them.
        (None, LedgerFormat::Csv) => Some(
            output::default_dir(output::Command::Replay {
                scenario: &engine.scenario.name,
            })
            .join(format!("ledger_{}_path{}.csv", ledger.policy, args.path)),
        ),
        (None, LedgerFormat::Md) => None,
    };
    match out {
        Some(out) => {
            if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
                output::ensure_dir(dir)?;
            }
            output::write_atomic(&out, &bytes).context("writing the ledger")?;
            println!("{}", ledger.totals_line());
            eprintln!("ledger in {}", out.display());
        }
        None => print!("{}", String::from_utf8_lossy(&bytes)),
    }
    Ok(())
}
