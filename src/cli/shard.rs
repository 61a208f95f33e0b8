//! `pivotsim run --shard I/N` (or `--shard-from-env`): one share of a run's
//! paths into one shard file; `pivotsim merge`: a complete set of shard
//! files into what `pivotsim run` writes.

use std::path::PathBuf;

use anyhow::Context;

use super::{BadInput, RunArgs};
use crate::charts::Format;
use crate::engine::shard::{Shard, check_set};
use crate::engine::{Engine, RunOptions};
use crate::output;
use crate::scenario::{self, Overrides};

/// The shard a `run` is asked for, and where its index came from.
pub struct ShardChoice {
    pub index: u64,
    pub count: u64,
    pub source: String,
}

/// Reads an environment variable as a number; `Ok(None)` when unset.
fn env_number(name: &str) -> Result<Option<u64>, BadInput> {
    match std::env::var(name) {
        Err(_) => Ok(None),
        Ok(v) => v
            .trim()
            .parse::<u64>()
            .map(Some)
            .map_err(|_| BadInput(format!("{name}={v:?}: expected a whole number"))),
    }
}

/// The shard `args` ask for, if any: `--shard I/N`, or with
/// `--shard-from-env` the index from Slurm's array variables
/// (`SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN`, count
/// `SLURM_ARRAY_TASK_COUNT`), else Kubernetes' `JOB_COMPLETION_INDEX`, else
/// AWS Batch's `AWS_BATCH_JOB_ARRAY_INDEX` (count from `--shards`).
pub fn choice(args: &RunArgs) -> Result<Option<ShardChoice>, BadInput> {
    let checked = |index: u64, count: u64, source: String| {
        if count == 0 || index >= count {
            return Err(BadInput(format!(
                "{source}: shard {index} of {count}: expected an index from 0 to the count less one"
            )));
        }
        Ok(Some(ShardChoice {
            index,
            count,
            source,
        }))
    };
    if let Some(spec) = &args.shard {
        let parsed = spec
            .split_once('/')
            .and_then(|(i, n)| Some((i.trim().parse().ok()?, n.trim().parse().ok()?)));
        let Some((index, count)) = parsed else {
            return Err(BadInput(format!(
                "--shard {spec:?}: expected I/N, e.g. 0/4 (shards are numbered from 0)"
            )));
        };
        return checked(index, count, format!("--shard {spec}"));
    }
    if !args.shard_from_env {
        return Ok(None);
    }
    if let Some(id) = env_number("SLURM_ARRAY_TASK_ID")? {
        if let Some(step) = env_number("SLURM_ARRAY_TASK_STEP")?.filter(|&s| s != 1) {
            return Err(BadInput(format!(
                "SLURM_ARRAY_TASK_STEP={step}: a shard array must have step 1 (e.g. --array=0-7)"
            )));
        }
        let min = env_number("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
        let count = env_number("SLURM_ARRAY_TASK_COUNT")?.ok_or_else(|| {
            BadInput("SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not".into())
        })?;
        if let Some(n) = args.shards.filter(|&n| n != count) {
            return Err(BadInput(format!(
                "--shards {n} but the Slurm array has {count} tasks (SLURM_ARRAY_TASK_COUNT)"
            )));
        }
        let index = id.checked_sub(min).ok_or_else(|| {
            BadInput(format!(
                "SLURM_ARRAY_TASK_ID {id} is below SLURM_ARRAY_TASK_MIN {min}"
            ))
        })?;
        return checked(
            index,
            count,
            format!("Slurm (SLURM_ARRAY_TASK_ID {id} - SLURM_ARRAY_TASK_MIN {min})"),
        );
    }
    for var in ["JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX"] {
        if let Some(index) = env_number(var)? {
            let count = args.shards.ok_or_else(|| {
                BadInput(format!(
                    "{var} is set: give the number of shards with --shards N"
                ))
            })?;
            return checked(index, count, var.to_string());
        }
    }
    Err(BadInput(
        "--shard-from-env: none of SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX or \
         AWS_BATCH_JOB_ARRAY_INDEX is set"
            .into(),
    ))
}

/// The shard file's name.
pub fn file_name(index: u64, count: u64) -> String {
    format!("shard-{index}-of-{count}.pvshard")
}

/// Simulate the shard `choice` of the scenario `args` name and write its
/// file into the output folder (a single file, written atomically: shards
/// of one run share the folder).
pub fn run_shard(args: &RunArgs, choice: &ShardChoice) -> anyhow::Result<()> {
    let overrides = Overrides {
        paths: args.paths,
        seed: args.seed,
        months: args.months,
    };
    let sc = scenario::load_with(&args.scenario, &overrides)?;
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| output::default_dir(output::Command::Shards { scenario: &sc.name }));
    output::check_writable(&out_dir)?;
    let scenario_path = std::path::absolute(&args.scenario)
        .unwrap_or_else(|_| args.scenario.clone())
        .to_string_lossy()
        .into_owned();
    let engine = Engine::new(sc);
    let opts = RunOptions {
        threads: args.threads,
        progress: !args.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()),
        worst: args.worst.unwrap_or(0),
    };
    let shard = engine.run_shard(&opts, choice.index, choice.count, &scenario_path);
    output::ensure_dir(&out_dir)?;
    let path = out_dir.join(file_name(choice.index, choice.count));
    output::write_atomic(&path, &shard.to_bytes()).context("writing the shard")?;
    if !args.quiet {
        eprintln!(
            "shard {} of {} (from {}): {} paths; {}",
            choice.index,
            choice.count,
            choice.source,
            shard.paths(),
            path.display()
        );
    }
    Ok(())
}

#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// Shard files, or folders holding them (`*.pvshard`).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Output folder (default: output/<scenario>, as `run`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The scenario file, if it is no longer where the shards ran it (its
    /// SHA-256 must be theirs).
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Skip the charts; report.html is still written, with the table only.
    #[arg(long)]
    pub no_charts: bool,
    /// Chart image format.
    #[arg(long, value_enum, default_value_t = Format::Both)]
    pub format: Format,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
}

/// The shard files `paths` name: files as given, folders' `*.pvshard` in
/// name order.
fn shard_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, BadInput> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| BadInput(format!("{}: cannot read the folder: {e}", p.display())))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "pvshard"))
                .collect();
            if found.is_empty() {
                return Err(BadInput(format!(
                    "{}: no .pvshard files in it",
                    p.display()
                )));
            }
            found.sort();
            files.extend(found);
        } else {
            files.push(p.clone());
        }
    }
    Ok(files)
}

/// Read, check and merge the shards; write what `run` writes.
pub fn merge(args: MergeArgs) -> anyhow::Result<()> {
    let files = shard_files(&args.paths)?;
    let mut shards = Vec::new();
    let mut names = Vec::new();
    for f in &files {
        let bytes = crate::scenario::read_capped(f)?;
        let shard =
            Shard::from_bytes(&bytes).map_err(|e| BadInput(format!("{}: {e}", f.display())))?;
        shards.push(shard);
        names.push(f.display().to_string());
    }
    check_set(&shards, &names).map_err(BadInput)?;
    let h = shards[0].header.clone();
    let scenario_path = args
        .scenario
        .clone()
        .unwrap_or_else(|| PathBuf::from(&h.scenario_path));
    let overrides = Overrides {
        paths: Some(h.paths),
        seed: Some(h.seed),
        months: Some(h.months),
    };
    let sc = scenario::load_with(&scenario_path, &overrides)?;
    if sc.sha256 != h.scenario_sha256 {
        return Err(BadInput(format!(
            "{}: not the scenario the shards ran (its SHA-256 differs); give the one they ran \
             with --scenario",
            scenario_path.display()
        ))
        .into());
    }
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| output::default_dir(output::Command::Run { scenario: &sc.name }));
    output::check_writable(&out_dir)?;
    let engine = Engine::new(sc);
    let summary = engine
        .merge_shards(shards, args.threads)
        .map_err(|e| BadInput(format!("{}: {e}", files[0].display())))?;
    let written = super::RunOutputs {
        out_dir: &out_dir,
        no_charts: args.no_charts,
        format: args.format,
        worst: h.worst > 0,
        quiet: args.quiet,
    };
    written.write(&engine, &summary)?;
    if !args.quiet {
        eprintln!(
            "{} shards merged; results in {}",
            files.len(),
            out_dir.display()
        );
    }
    Ok(())
}
