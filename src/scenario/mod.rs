//! Scenario files: TOML in, a validated [`Scenario`] out.
//!
//! Two stages, as in ripgrep: `raw` is a serde mirror of the file
//! (`deny_unknown_fields`), `validate` turns it into the domain types of
//! [`types`]. CLI overrides (`--paths`, `--seed`) patch the raw stage, so every
//! value goes through one validation path. Errors name the file, the key and
//! what was expected.

mod describe;
pub mod edit;
mod fleet;
mod locate;
mod raw;
pub mod types;
mod validate;
pub mod variant;

pub use describe::describe;
pub use types::*;
pub use validate::MAX_PATHS;
pub use validate::cholesky;

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Values from the command line that replace the file's, before validation.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub paths: Option<u64>,
    pub seed: Option<u64>,
    pub months: Option<usize>,
}

/// A scenario file that cannot be used. Every variant names the file and,
/// where there is one, the key (dotted path, e.g. `loan.margin_call_ltv` or
/// `sites[3].power_mw`, or `sites_csv (fleet.csv line 4) power_mw`).
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("{file}: cannot read")]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: {message}")]
    Parse { file: PathBuf, message: String },
    #[error("{file}: key `{key}`: {message}")]
    Invalid {
        file: PathBuf,
        key: String,
        message: String,
    },
}

/// Read and validate a scenario file.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    load_with(path, &Overrides::default())
}

/// Read a scenario file, apply overrides, validate.
pub fn load_with(path: &Path, overrides: &Overrides) -> Result<Scenario, ScenarioError> {
    let text = read_text(path)?;
    let raw = parse(path, &text)?;
    build(path, raw, text.as_bytes(), overrides, None)
}

/// The file's text (UTF-8, at most [`MAX_INPUT_BYTES`]).
fn read_text(path: &Path) -> Result<String, ScenarioError> {
    String::from_utf8(read_capped(path)?).map_err(|_| ScenarioError::Parse {
        file: path.to_path_buf(),
        message: "expected a text file (UTF-8)".into(),
    })
}

/// The raw stage of the file's text.
fn parse(path: &Path, text: &str) -> Result<raw::RawScenario, ScenarioError> {
    toml::from_str(text).map_err(|err| ScenarioError::Parse {
        file: path.to_path_buf(),
        message: locate::toml_error_message(text, &err),
    })
}

/// Overrides, the fleet, the hash (of `hashed` and the fleet CSV) and
/// validation, noting the numbers read in `record` if given.
fn build(
    path: &Path,
    mut raw: raw::RawScenario,
    hashed: &[u8],
    overrides: &Overrides,
    record: Option<&std::cell::RefCell<Vec<edit::NumericKey>>>,
) -> Result<Scenario, ScenarioError> {
    overrides.apply(&mut raw.simulation);
    let fleet = fleet::load(path, &raw)?;
    let mut hasher = Sha256::new();
    hasher.update(hashed);
    if let Some(csv) = &fleet.csv_bytes {
        hasher.update(csv);
    }
    let sha256 = format!("{:x}", hasher.finalize());
    validate::validate(path, raw, &fleet.sites, sha256, record)
}

impl Overrides {
    /// Patch the raw values; validation then checks them like the file's
    /// own. (A count beyond `i64::MAX`, the file's integer type, saturates.)
    fn apply(&self, simulation: &mut raw::RawSimulation) {
        if let Some(paths) = self.paths {
            simulation.paths = i64::try_from(paths).unwrap_or(i64::MAX);
        }
        if let Some(seed) = self.seed {
            simulation.seed = seed;
        }
        if let Some(months) = self.months {
            simulation.months = i64::try_from(months).unwrap_or(i64::MAX);
        }
    }
}

#[cfg(test)]
mod tests;

/// The most bytes a scenario or fleet file may hold.
pub const MAX_INPUT_BYTES: u64 = 64 << 20;

/// The bytes of an input file, refused past [`MAX_INPUT_BYTES`] (so that a
/// device such as `/dev/zero` is not read until memory runs out).
pub(crate) fn read_capped(path: &Path) -> Result<Vec<u8>, ScenarioError> {
    use std::io::Read;
    let io = |source| ScenarioError::Io {
        file: path.to_path_buf(),
        source,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(io)?
        .take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(ScenarioError::Parse {
            file: path.to_path_buf(),
            message: format!(
                "larger than {} MiB: not a scenario or fleet file",
                MAX_INPUT_BYTES >> 20
            ),
        });
    }
    Ok(bytes)
}
