//! `pivotsim optimize`: the best setting of a policy's keys under risk
//! limits; `optimize.csv`, `optimize.json`, `best.toml` and the frontier
//! chart, written as one set.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Context;

use crate::charts::{self, ChartOptions, Format};
use crate::optimize::{self, Limits, Request};
use crate::output;
use crate::report::optimize as files;
use crate::scenario::Overrides;

#[derive(Debug, clap::Args)]
pub struct OptimizeArgs {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    /// The policy to optimise (its name in the scenario's [[policies]]).
    #[arg(long)]
    pub policy: String,
    /// The grid: key=low:high:n[,key=low:high:n...] over the policy's keys
    /// (n points from low to high inclusive; integer keys rounded).
    #[arg(long, value_name = "SPEC")]
    pub grid: String,
    /// Feasible only with P(margin call) at most this (a fraction in [0, 1]).
    #[arg(long, value_name = "X")]
    pub max_p_margin_call: Option<f64>,
    /// Feasible only with P(liquidation) at most this (a fraction in [0, 1]).
    #[arg(long, value_name = "Y")]
    pub max_p_liquidation: Option<f64>,
    /// Monte Carlo paths (overrides `simulation.paths`).
    #[arg(long)]
    pub paths: Option<u64>,
    /// Master seed (overrides `simulation.seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Seed of the winner's out-of-sample run (default: the seed + 1).
    #[arg(long, value_name = "S2")]
    pub validate_seed: Option<u64>,
    /// Worker threads (default: all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Output folder (default: output/<scenario name>-optimize).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Skip the frontier chart.
    #[arg(long)]
    pub no_charts: bool,
    /// Chart image format.
    #[arg(long, value_enum, default_value_t = Format::Both)]
    pub format: Format,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(args: OptimizeArgs) -> anyhow::Result<()> {
    let req = Request {
        scenario: &args.scenario,
        overrides: Overrides {
            paths: args.paths,
            seed: args.seed,
            months: None,
        },
        policy: &args.policy,
        grid: &args.grid,
        limits: Limits {
            max_p_margin_call: args.max_p_margin_call,
            max_p_liquidation: args.max_p_liquidation,
        },
        validate_seed: args.validate_seed,
    };
    // Every input is checked before anything is simulated.
    let prepared = optimize::prepare(&req)?;
    let out_dir = args.out.clone().unwrap_or_else(|| {
        output::default_dir(output::Command::Optimize {
            scenario: &prepared.scenario.name,
        })
    });
    output::check_writable(&out_dir)?;
    let progress = !args.quiet && std::io::stderr().is_terminal();
    let o = prepared.run(args.threads, progress);
    let what = || format!("writing the optimisation of {}", o.scenario);
    let mut out: Vec<(String, Vec<u8>)> = vec![
        ("optimize.csv".into(), files::optimize_csv(&o)),
        ("optimize.json".into(), files::optimize_json(&o)),
    ];
    if let Some(best) = files::best_toml(&o) {
        out.push(("best.toml".into(), best));
    }
    if !args.no_charts {
        let opts = ChartOptions {
            format: args.format,
        };
        let chart = charts::render_frontier(&o, &opts).context("drawing the frontier chart")?;
        out.extend(chart.into_iter().map(|f| (f.name, f.bytes)));
    }
    output::ensure_dir(&out_dir)?;
    let set = output::OutputSet::begin(&out_dir, "optimize")?;
    for (name, bytes) in &out {
        set.add(name, bytes).with_context(what)?;
    }
    set.commit().with_context(what)?;
    if !args.quiet {
        print!("{}", files::summary_text(&o));
        eprintln!("results in {}", out_dir.display());
    }
    Ok(())
}
