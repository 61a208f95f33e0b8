//! `.pivotsim-manifest.json` and the names of the protocol: the files of a
//! set, run ids, staging folders and temporary files (see the parent
//! module's doc).

use std::fs;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use super::{BACKUP, MANIFEST, MANIFEST_FORMAT, STAGING_PREFIX};

/// Whether a set's manifest describes the set in place or a commit under way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// The files listed are in the folder, all from run `run_id`.
    Complete,
    /// A journal: a commit was under way (see the module doc).
    Committing,
}

/// `.pivotsim-manifest.json`: which files of the folder are pivotsim's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The manifest's format, 1.
    pub pivotsim_manifest: u32,
    pub state: State,
    /// The invocation that wrote the files.
    pub run_id: String,
    /// `run`, `compare`, ...
    pub command: String,
    pub pivotsim_version: String,
    /// The set's file names, sorted.
    pub files: Vec<String>,
    /// Journal only: the staging folder of the commit under way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staging: Option<String>,
    /// Journal only: the set the commit replaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<Previous>,
}

/// In a journal, the set being replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Previous {
    /// `None` when the folder had no manifest.
    pub run_id: Option<String>,
    pub files: Vec<String>,
    /// The folder (relative to the output folder) that holds all of them
    /// until the commit is done or rolled back.
    pub backup: String,
}

impl Manifest {
    pub(super) fn complete(run_id: &str, command: &str, files: Vec<String>) -> Manifest {
        Manifest {
            pivotsim_manifest: MANIFEST_FORMAT,
            state: State::Complete,
            run_id: run_id.to_string(),
            command: command.to_string(),
            pivotsim_version: env!("CARGO_PKG_VERSION").to_string(),
            files,
            staging: None,
            previous: None,
        }
    }

    pub(super) fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("a manifest serialises");
        bytes.push(b'\n');
        bytes
    }

    /// Of this format, with plain names, and a journal naming its staging
    /// folder: anything else is not acted on.
    fn is_valid(&self) -> bool {
        let plain = |files: &[String]| files.iter().all(|f| check_name(f).is_ok());
        self.pivotsim_manifest == MANIFEST_FORMAT
            && plain(&self.files)
            && match (self.state, &self.staging, &self.previous) {
                (State::Complete, None, None) => true,
                (State::Committing, Some(s), Some(p)) => {
                    is_staging_name(s) && p.backup == format!("{s}/{BACKUP}") && plain(&p.files)
                }
                _ => false,
            }
    }
}

/// The manifest in `dir`: `None` when there is none, or one pivotsim did not
/// write (that one is left alone, and replaced at the next commit).
pub fn read_manifest(dir: &Path) -> io::Result<Option<Manifest>> {
    match fs::read(dir.join(MANIFEST)) {
        Ok(bytes) => Ok(serde_json::from_slice::<Manifest>(&bytes)
            .ok()
            .filter(Manifest::is_valid)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// A plain file name: not empty, no separator, no NUL, no leading dot (so
/// neither `.` nor `..`, nor a name of the protocol's own).
pub(super) fn check_name(name: &str) -> io::Result<()> {
    if name.is_empty() || name.starts_with('.') || name.contains(['/', '\\', '\0']) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("`{name}` is not a plain file name"),
        ));
    }
    Ok(())
}

/// `YYYYMMDDTHHMMSS.mmmZ-<pid>-<counter>`, as [`new_run_id`] makes them.
pub(super) fn is_run_id(s: &str) -> bool {
    let digits = |t: &str| !t.is_empty() && t.len() <= 20 && t.bytes().all(|b| b.is_ascii_digit());
    let Some((time, rest)) = s.split_once("Z-") else {
        return false;
    };
    let Some((pid, count)) = rest.split_once('-') else {
        return false;
    };
    time.len() == 19
        && time.is_ascii()
        && digits(&time[..8])
        && &time[8..9] == "T"
        && digits(&time[9..15])
        && &time[15..16] == "."
        && digits(&time[16..])
        && digits(pid)
        && digits(count)
}

pub(super) fn new_run_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let time = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3f");
    format!("{time}Z-{}-{n}", std::process::id())
}

pub(super) fn is_staging_name(name: &str) -> bool {
    name.strip_prefix(STAGING_PREFIX).is_some_and(is_run_id)
}

/// `.NAME.tmp-<pid>`, as [`super::write_atomic`] names its temporary files.
pub(super) fn is_tmp_name(name: &str) -> bool {
    name.strip_prefix('.')
        .and_then(|rest| rest.rsplit_once(".tmp-"))
        .is_some_and(|(base, pid)| {
            !base.is_empty() && !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit())
        })
}
