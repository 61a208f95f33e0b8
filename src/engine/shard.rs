//! Shards of a run: a share of the paths simulated on its own (a task of a
//! Slurm array or a Kubernetes Indexed Job), stored as one file of exact
//! partial aggregates, and the merge of a complete set of shards into the
//! [`Summary`] a single run gives.
//!
//! Shard `i` of `n` owns the chunks `floor(C i / n) .. floor(C (i + 1) / n)`
//! of the run's `C` chunks. Past the pilot, every shard simulates the whole
//! pilot (the bins are placed from all of it) but counts only its own
//! chunks; the merge simulates the pilot once more to place the same bins
//! and checks them against the shards' fingerprint. Every aggregate merges
//! exactly (fixed-point sums, integer counts, ordered lists), so the merged
//! summary is, to the byte, the single run's but for its timing fields.
//!
//! The file: the line `PIVOTSIM-SHARD`, one line of JSON ([`ShardHeader`]:
//! what the shard is of, readable with `head -2`), then the aggregates in
//! postcard encoding, whose SHA-256 the header holds.

use std::ops::Range;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::phases::Partial;
use super::worst::WorstK;
use super::{CHUNK_PATHS, Engine, RunOptions};
use crate::stats::{CellSums, CellSumsData, HistogramCounts, Moments, QuantileHistograms};
use crate::summary::{Phases, Summary};

/// The first line of a shard file.
const MAGIC: &[u8] = b"PIVOTSIM-SHARD\n";
/// The version of the file's layout; a merge refuses any other.
pub const FORMAT_VERSION: u32 = 1;

/// What a shard is of: everything that must agree across the shards of one
/// run, and the shard's own place and time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardHeader {
    pub format_version: u32,
    pub pivotsim_version: String,
    pub scenario: String,
    /// The scenario file as the shard was given it, made absolute (the
    /// merge reads it again and checks its SHA-256).
    pub scenario_path: String,
    pub scenario_sha256: String,
    pub seed: u64,
    pub paths: u64,
    pub months: usize,
    /// `--worst K` (0: none).
    pub worst: usize,
    pub shard_index: u64,
    pub shard_count: u64,
    pub run_started_utc: String,
    /// SHA-256 of the histogram bins (none when the run has no more paths
    /// than the pilot).
    pub bins_sha256: Option<String>,
    pub payload_sha256: String,
}

/// The exact aggregates of a shard's chunks.
#[derive(Debug, Serialize, Deserialize)]
struct Payload {
    paths: u64,
    moments: Vec<Moments>,
    histograms: Option<HistogramCounts>,
    tails: Option<CellSumsData>,
    pilot: Vec<Vec<f64>>,
    worst: Vec<WorstK>,
    drivers: Vec<(u64, Vec<f64>)>,
    /// Seconds simulating (for the merged run's throughput figures).
    simulate_s: f64,
}

/// A shard read back or just simulated.
pub struct Shard {
    pub header: ShardHeader,
    payload: Payload,
}

/// The chunks shard `index` of `count` owns in a run of `paths` paths.
pub fn shard_chunks(paths: u64, index: u64, count: u64) -> Range<u64> {
    let n = u128::from(paths.div_ceil(CHUNK_PATHS));
    let at = |i: u64| (n * u128::from(i) / u128::from(count)) as u64;
    at(index)..at(index + 1)
}

impl Engine {
    /// Simulate shard `index` of `count` (`index < count`) of the run.
    /// `scenario_path` is recorded for the merge.
    pub fn run_shard(
        &self,
        opts: &RunOptions,
        index: u64,
        count: u64,
        scenario_path: &str,
    ) -> Shard {
        assert!(index < count, "shard {index} of {count}");
        let sc = &self.scenario;
        let owned = shard_chunks(sc.simulation.paths, index, count);
        let (total, sim) = self.simulate(opts, owned);
        let bins_sha256 = total.histograms.as_ref().map(|h| h.layout().fingerprint());
        let payload = Payload {
            paths: total.paths,
            moments: total.moments,
            histograms: total.histograms.as_ref().map(QuantileHistograms::to_counts),
            tails: total.tails.as_ref().map(CellSums::to_data),
            pilot: total.pilot,
            worst: total.worst,
            drivers: total.drivers,
            simulate_s: total.time_simulate.as_secs_f64(),
        };
        Shard {
            header: ShardHeader {
                format_version: FORMAT_VERSION,
                pivotsim_version: env!("CARGO_PKG_VERSION").to_string(),
                scenario: sc.name.clone(),
                scenario_path: scenario_path.to_string(),
                scenario_sha256: sc.sha256.clone(),
                seed: sc.simulation.seed,
                paths: sc.simulation.paths,
                months: self.model.months(),
                worst: opts.worst,
                shard_index: index,
                shard_count: count,
                run_started_utc: sim.run_started_utc,
                bins_sha256,
                payload_sha256: String::new(),
            },
            payload,
        }
    }

    /// The summary of a complete set of this run's shards (any order): what
    /// [`Engine::run`] gives, but for the timing fields; the run date is
    /// the earliest shard's. The caller has checked the shards with
    /// [`check_set`].
    pub fn merge_shards(&self, shards: Vec<Shard>, threads: usize) -> Result<Summary, String> {
        let started = Instant::now();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("thread pool");
        let paths = self.scenario.simulation.paths;
        let worst = shards.first().map_or(0, |s| s.header.worst);
        // The bins: the pilot again, nothing counted (no chunk owned).
        let n_chunks = paths.div_ceil(CHUNK_PATHS);
        let bar = indicatif::ProgressBar::hidden();
        let (bins, _) = pool.install(|| self.run_phases(paths, worst, &bar, n_chunks..n_chunks));
        let layout = bins.histograms.as_ref().map(|h| h.layout().clone());
        let mut shards = shards;
        shards.sort_by_key(|s| s.header.shard_index);
        let run_started_utc = shards
            .iter()
            .map(|s| s.header.run_started_utc.clone())
            .min()
            .unwrap_or_default();
        let mut total: Option<Partial> = None;
        let mut simulate_s = 0.0;
        for shard in shards {
            let name = format!(
                "shard {} of {}",
                shard.header.shard_index, shard.header.shard_count
            );
            let fingerprint = layout.as_ref().map(|l| l.fingerprint());
            if shard.header.bins_sha256 != fingerprint {
                return Err(format!("{name}: its histogram bins are not this run's"));
            }
            let p = shard.payload;
            simulate_s += p.simulate_s;
            let histograms = match (&layout, p.histograms) {
                (Some(l), Some(h)) => Some(
                    QuantileHistograms::from_counts(l.clone(), h)
                        .map_err(|e| format!("{name}: {e}"))?,
                ),
                (None, None) => None,
                _ => {
                    return Err(format!(
                        "{name}: histograms where the run has none, or none where it has"
                    ));
                }
            };
            let tails = match (&layout, p.tails) {
                (Some(l), Some(t)) => {
                    Some(CellSums::from_data(l.clone(), t).map_err(|e| format!("{name}: {e}"))?)
                }
                (None, None) => None,
                _ => return Err(format!("{name}: tail sums that do not fit the run")),
            };
            if p.moments.len() != self.layout.n_total {
                return Err(format!(
                    "{name}: {} metrics, expected {}",
                    p.moments.len(),
                    self.layout.n_total
                ));
            }
            let part = Partial::from_parts(
                p.paths, p.moments, histograms, tails, p.pilot, p.worst, p.drivers,
            );
            total = Some(match total {
                Some(t) => t.merge(part),
                None => part,
            });
        }
        let mut total = total.ok_or("no shards")?;
        if total.paths != paths {
            return Err(format!(
                "the shards hold {} paths, the run {paths}",
                total.paths
            ));
        }
        total.time_simulate = std::time::Duration::from_secs_f64(simulate_s);
        let threads = pool.current_num_threads();
        let phases = Phases {
            pilot_s: started.elapsed().as_secs_f64(),
            bins_s: 0.0,
            main_s: 0.0,
            summary_s: 0.0,
        };
        Ok(pool.install(|| self.summarise(total, threads, started, run_started_utc, phases)))
    }
}

impl Shard {
    /// Paths simulated into the shard.
    pub fn paths(&self) -> u64 {
        self.payload.paths
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let payload = postcard::to_stdvec(&self.payload).expect("aggregates encode");
        let mut header = self.header.clone();
        header.payload_sha256 = format!("{:x}", Sha256::digest(&payload));
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(
            serde_json::to_string(&header)
                .expect("header encodes")
                .as_bytes(),
        );
        out.push(b'\n');
        out.extend_from_slice(&payload);
        out
    }

    /// A shard from a file's bytes; an error says what is wrong with them.
    pub fn from_bytes(bytes: &[u8]) -> Result<Shard, String> {
        let rest = bytes
            .strip_prefix(MAGIC)
            .ok_or("not a pivotsim shard file (its first line is not PIVOTSIM-SHARD)")?;
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or("a shard file cut short in its header")?;
        let header: ShardHeader = serde_json::from_slice(&rest[..end])
            .map_err(|e| format!("a shard header that does not read: {e}"))?;
        if header.format_version != FORMAT_VERSION {
            return Err(format!(
                "shard format version {}, this pivotsim reads {FORMAT_VERSION}",
                header.format_version
            ));
        }
        let payload = &rest[end + 1..];
        if format!("{:x}", Sha256::digest(payload)) != header.payload_sha256 {
            return Err(
                "corrupt: its aggregates do not match their SHA-256 (cut short or altered)".into(),
            );
        }
        let payload: Payload =
            postcard::from_bytes(payload).map_err(|e| format!("corrupt aggregates: {e}"))?;
        Ok(Shard { header, payload })
    }
}

/// Why a set of shards is not one complete run: shards of another run
/// (scenario, seed, paths, months, count, version, `--worst`), an index
/// twice or missing. `names[i]` names shard `i` in messages.
pub fn check_set(shards: &[Shard], names: &[String]) -> Result<(), String> {
    let Some(first) = shards.first() else {
        return Err("no shard files given".into());
    };
    let h0 = &first.header;
    for (s, name) in shards.iter().zip(names).skip(1) {
        let h = &s.header;
        let differs = [
            ("scenario", h.scenario_sha256 != h0.scenario_sha256),
            ("seed", h.seed != h0.seed),
            ("paths", h.paths != h0.paths),
            ("months", h.months != h0.months),
            ("shard count", h.shard_count != h0.shard_count),
            (
                "pivotsim version",
                h.pivotsim_version != h0.pivotsim_version,
            ),
            ("--worst", h.worst != h0.worst),
            ("histogram bins", h.bins_sha256 != h0.bins_sha256),
        ];
        if let Some((what, _)) = differs.iter().find(|(_, d)| *d) {
            return Err(format!(
                "{name} is of another run than {}: its {what} differs",
                names[0]
            ));
        }
    }
    let count = h0.shard_count;
    let mut seen = std::collections::BTreeMap::new();
    for (s, name) in shards.iter().zip(names) {
        let i = s.header.shard_index;
        if i >= count {
            return Err(format!(
                "{name}: shard index {i} is not below its count {count}"
            ));
        }
        if let Some(other) = seen.insert(i, name) {
            return Err(format!("{name} and {other} are both shard {i} of {count}"));
        }
    }
    // Every index is below the count and none is repeated: the set is
    // complete when there are `count` of them.
    if (seen.len() as u64) < count {
        let missing: Vec<String> = (0..count)
            .filter(|i| !seen.contains_key(i))
            .take(10)
            .map(|i| i.to_string())
            .collect();
        return Err(format!(
            "incomplete: shard {} of {count} missing",
            missing.join(", ")
        ));
    }
    Ok(())
}
