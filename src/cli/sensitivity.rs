//! `pivotsim sensitivity`: one-at-a-time sensitivity of a scenario's keys
//! (`sensitivity.csv`, the tornado charts, `report.html`), or, with
//! `--breakeven`, the value of one key at which two policies' mean NPVs
//! cross (`breakeven.json`).

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Context;

use crate::charts::html::ReportImage;
use crate::charts::sensitivity_html::sensitivity_report_html;
use crate::charts::{self, ChartOptions, Format, tornado};
use crate::output;
use crate::report::sensitivity as report;
use crate::scenario::Overrides;
use crate::scenario::edit::ScenarioDoc;
use crate::sensitivity::breakeven::{self, Breakeven};
use crate::sensitivity::plan::{DEFAULT_RANGE, PlanOptions, plan};
use crate::sensitivity::points::{self, Settings};
use crate::sensitivity::{BadInput, Metric, calibration};

/// The folder, under the sensitivity folder, of `--breakeven`'s file.
pub const BREAKEVEN_DIR: &str = "breakeven";

#[derive(Debug, clap::Args)]
pub struct SensitivityArgs {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    /// Keys to move, comma-separated, named as in error messages
    /// (market.btc.sigma, regions[0].power_usd_per_mwh); default: every
    /// non-zero numeric key of market, mining, ai, regions, treasury, loan,
    /// financing and valuation, and those of [sensitivity.ranges].
    #[arg(long, value_delimiter = ',', conflicts_with = "breakeven")]
    pub params: Option<Vec<String>>,
    /// Fraction each value moves either way: low = value x (1 - R),
    /// high = value x (1 + R), clamped into the key's allowed range.
    #[arg(long, default_value_t = DEFAULT_RANGE, conflicts_with = "breakeven")]
    pub range: f64,
    /// calibration.json of `pivotsim calibrate`: its fitted keys move to
    /// estimate -+ 2 SE.
    #[arg(long, value_name = "FILE", conflicts_with = "breakeven")]
    pub from_calibration: Option<PathBuf>,
    /// Monte Carlo paths of every point (overrides `simulation.paths`).
    #[arg(long)]
    pub paths: Option<u64>,
    /// Master seed of every point (overrides `simulation.seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Worker threads (default: all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Output folder (default: output/<scenario>-sensitivity, and its
    /// breakeven/ folder for --breakeven).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Skip the tornado charts; report.html is still written.
    #[arg(long)]
    pub no_charts: bool,
    /// Chart image format.
    #[arg(long, value_enum, default_value_t = Format::Both)]
    pub format: Format,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
    /// Instead: bisect for the value of KEY at which two policies' mean
    /// NPVs are equal (needs --between).
    #[arg(long, value_name = "KEY", requires = "between")]
    pub breakeven: Option<String>,
    /// The bracket of --breakeven: the crossing is searched between A and B.
    #[arg(long, num_args = 2, value_names = ["A", "B"], allow_negative_numbers = true,
          requires = "breakeven")]
    pub between: Option<Vec<f64>>,
    /// The two policies of --breakeven, P,Q (default: the two of highest
    /// mean NPV at the base, best first).
    #[arg(long, value_delimiter = ',', requires = "breakeven")]
    pub policies: Option<Vec<String>>,
}

pub fn run(args: SensitivityArgs) -> anyhow::Result<()> {
    let overrides = Overrides {
        paths: args.paths,
        seed: args.seed,
        months: None,
    };
    let loaded = ScenarioDoc::load(&args.scenario, &overrides)?;
    let progress = !args.quiet && std::io::stderr().is_terminal();
    let default_dir = output::default_dir(output::Command::Sensitivity {
        scenario: &loaded.scenario.name,
    });
    if let Some(key) = &args.breakeven {
        let (a, b) = match args.between.as_deref() {
            Some(&[a, b]) => (a, b),
            _ => return Err(BadInput("--between: expected two values, A B".into()).into()),
        };
        let policies = match args.policies.as_deref() {
            None => None,
            Some([p, q]) => Some((p.clone(), q.clone())),
            Some(other) => {
                return Err(BadInput(format!(
                    "--policies: expected two policies, P,Q; got {}",
                    other.len()
                ))
                .into());
            }
        };
        let opts = breakeven::Options {
            key: key.clone(),
            between: (a, b),
            policies,
            threads: args.threads,
            progress,
        };
        let out_dir = args
            .out
            .clone()
            .unwrap_or_else(|| default_dir.join(BREAKEVEN_DIR));
        output::check_writable(&out_dir)?;
        let found = breakeven::breakeven(&loaded, &opts)?;
        return write_breakeven(&found, &out_dir, args.quiet);
    }
    let calibration = match &args.from_calibration {
        Some(file) => calibration::read(file)?,
        None => Default::default(),
    };
    let params = plan(
        &loaded,
        &PlanOptions {
            params: args.params.clone(),
            range: args.range,
            calibration,
        },
    )?;
    let out_dir = args.out.clone().unwrap_or(default_dir);
    output::check_writable(&out_dir)?;
    let settings = Settings {
        threads: args.threads,
        progress,
        parallel_points: parallel_points(),
    };
    let started = std::time::Instant::now();
    let sens = points::run(&loaded.doc, loaded.scenario, &params, &settings)?;
    let elapsed = started.elapsed().as_secs_f64();
    output::ensure_dir(&out_dir)?;
    let set = output::OutputSet::begin(&out_dir, "sensitivity")?;
    set.add("sensitivity.csv", &report::sensitivity_csv(&sens))?;
    let mut images = Vec::new();
    if !args.no_charts {
        let opts = ChartOptions {
            format: args.format,
        };
        let files = charts::render_tornados(&sens, &opts).context("drawing the tornado charts")?;
        for f in &files {
            set.add(&f.name, &f.bytes)?;
        }
        let ext = if args.format == Format::Svg {
            "svg"
        } else {
            "png"
        };
        for metric in [Metric::NpvVsBaseline, Metric::MarginCall] {
            images.push(ReportImage {
                file: format!("{}.{ext}", tornado::stem(metric)),
                title: tornado::title(metric, &sens.base.baseline),
            });
        }
    }
    set.add("report.html", &sensitivity_report_html(&sens, &images))?;
    set.commit()
        .with_context(|| format!("writing the sensitivity of {}", sens.base.scenario))?;
    if !args.quiet {
        print!("{}", report::sensitivity_table(&sens, 10));
        let skipped = sens
            .params
            .iter()
            .flat_map(|p| [&p.low, &p.high])
            .filter(|o| o.result.is_err())
            .count();
        if skipped > 0 {
            eprintln!(
                "{skipped} points skipped (the reasons are in sensitivity.csv and report.html)"
            );
        }
        eprintln!(
            "{} points x {} paths in {elapsed:.2} s; results in {}",
            sens.points_run(),
            sens.base.paths,
            out_dir.display()
        );
    }
    Ok(())
}

/// Whether the points run in parallel, one thread each
/// (`PIVOTSIM_SENSITIVITY_POINTS=parallel`), or one after the other on
/// every thread (the default). Both give the same bytes; on 2 cores the
/// reference scenario's 135 points at 10,000 paths took 29 to 34 s one
/// after the other and 47 to 51 s in parallel (two engines at once share
/// the caches and memory bandwidth one engine on two threads has alone).
fn parallel_points() -> bool {
    std::env::var("PIVOTSIM_SENSITIVITY_POINTS").as_deref() == Ok("parallel")
}

fn write_breakeven(
    found: &Breakeven,
    out_dir: &std::path::Path,
    quiet: bool,
) -> anyhow::Result<()> {
    output::ensure_dir(out_dir)?;
    let set = output::OutputSet::begin(out_dir, "sensitivity --breakeven")?;
    set.add("breakeven.json", &report::breakeven_json(found))?;
    set.commit().context("writing the breakeven")?;
    if !quiet {
        println!("{}", report::breakeven_line(found));
        eprintln!("results in {}", out_dir.display());
    }
    Ok(())
}
