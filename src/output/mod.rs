//! The only place that writes run results to disk.
//!
//! Two ways to write:
//!
//! - [`write_atomic`]: one file on its own (the `replay` ledger; shard files
//!   in a shared folder), written as `.NAME.tmp-<pid>` beside its name,
//!   synced, and renamed over it: a reader never sees half a file. Such files
//!   belong to no set.
//! - [`OutputSet`]: the files of one command (`run`, `compare`, and the later
//!   `sensitivity`, `optimize`, `calibrate`, `backtest`) into its folder, as
//!   one set: a reader of the manifest finds all of the new files or all of
//!   the previous ones, never a mix, and no file of the folder but pivotsim's
//!   own is touched. [`default_dir`] names each command's default folder.
//!
//! # The protocol of a set
//!
//! In a folder `DIR`, pivotsim owns only:
//!
//! - the files listed by `.pivotsim-manifest.json` (JSON: `run_id`,
//!   `command`, `pivotsim_version`, `state`, `files`), and the manifest;
//! - `.pivotsim-lock`, locked while a command writes to `DIR`, so that two
//!   commands writing to one folder take turns;
//! - `.staging-<run id>/` folders and `.NAME.tmp-<pid>` files, which only a
//!   command at work, or a killed one, leaves.
//!
//! Every other file or folder in `DIR` (a user's notes, `ledgers/`) is never
//! read, moved or removed. A command:
//!
//! 1. [`OutputSet::begin`] creates `DIR`, takes the lock, undoes what a
//!    killed command left half done (below), removes stale `.staging-<run
//!    id>/` folders and `.NAME.tmp-<pid>` files, and makes its own
//!    `.staging-<run id>/`. The run id is the UTC time to the millisecond,
//!    the process id and a counter: unique per invocation.
//! 2. [`OutputSet::add`] writes each file into the staging folder and syncs
//!    it. Names are plain file names: no separator, no leading dot (so no
//!    `..`).
//! 3. [`OutputSet::commit`]:
//!    1. syncs the staging folder and writes the new manifest (`state:
//!       "complete"`) into it;
//!    2. backs up: hard-links (or copies) into `.staging-<run id>/.previous/`
//!       the previous manifest and every file `DIR` holds under a name of the
//!       previous set or of the new one;
//!    3. intent: replaces the manifest by a journal: `state: "committing"`,
//!       the new `files`, `staging`, and `previous` (its `run_id`, its
//!       `files`, and `backup`, the folder that holds them all);
//!    4. swap: renames each staged file over `DIR/<name>`, removes the
//!       previous set's files that the new one lacks, and syncs `DIR`;
//!    5. commit point: renames the staged manifest over the journal, syncs
//!       `DIR`;
//!    6. removes the staging folder.
//!
//! A kill or a failure (a full disk) before step 3 leaves `DIR` as it was,
//! plus a staging folder (removed at once after a failure, by the next
//! command after a kill). A failure in steps 3 to 5 is rolled back at once. A
//! kill in steps 3 to 5 leaves the journal, and the next command's `begin`
//! (or [`recover`]) rolls back: each name of either set is restored from
//! `.previous/` (linked or copied to a temporary name, renamed over), or
//! removed when `.previous/` has no such file and the name is the new set's;
//! then the previous manifest is put back (or the journal removed if there
//! was none), `DIR` synced and the staging folder removed. `.previous/` does
//! not change until then, so a kill during a rollback is rolled back again.
//! A kill after step 5 leaves the new set complete and a staging folder that
//! the next `begin` removes.
//!
//! So whatever the moment of a kill, a reader of the manifest finds one
//! complete set: with `state: "complete"`, exactly the files listed, in
//! `DIR`, all from run `run_id`; with `state: "committing"`, the previous
//! complete set in `previous.backup`, until the next command puts it back in
//! `DIR`. (Files cannot all be replaced in one atomic step: during the swap
//! `DIR` holds a mix, which is why the journal is written first and names
//! where the previous set is.)
//!
//! `PIVOTSIM_TEST_ABORT=<step>` is for tests only: the process aborts, as a
//! kill would, at that step: `staged:K` (after the K-th file is staged),
//! `backed-up`, `intent`, `swapped:K`, `removed:K`, `committed`.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

mod manifest;
mod set;

pub use manifest::{Manifest, Previous, State, read_manifest};
pub use set::{OutputSet, recover};

/// The manifest of the set in a folder.
pub const MANIFEST: &str = ".pivotsim-manifest.json";
/// Locked by the command writing to a folder.
pub const LOCK: &str = ".pivotsim-lock";
/// The folder every command writes under by default.
pub const ROOT: &str = "output";
const STAGING_PREFIX: &str = ".staging-";
/// In the staging folder: the previous state of the names a commit replaces.
const BACKUP: &str = ".previous";
/// In the staging folder: the new manifest, renamed into place last.
const STAGED_MANIFEST: &str = ".manifest.json";
const MANIFEST_FORMAT: u32 = 1;
const ABORT_VAR: &str = "PIVOTSIM_TEST_ABORT";

/// A file could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}")]
pub struct OutputError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// The output folder cannot be created or written to: found before anything
/// is simulated, and a bad argument (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("the output folder {path} cannot be written")]
pub struct UnwritableDir {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

fn at(path: &Path) -> impl FnOnce(io::Error) -> OutputError + '_ {
    move |source| OutputError {
        path: path.to_path_buf(),
        source,
    }
}

/// A command, with what names its default folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command<'a> {
    /// `run`: `output/<scenario>/`.
    Run { scenario: &'a str },
    /// `replay`'s ledgers: `output/<scenario>/ledgers/`, beside the run's
    /// set and outside it.
    Replay { scenario: &'a str },
    /// `run --shard`: `output/<scenario>-shards/` (one file a shard).
    Shards { scenario: &'a str },
    /// `sensitivity`: `output/<scenario>-sensitivity/`.
    Sensitivity { scenario: &'a str },
    /// `optimize`: `output/<scenario>-optimize/`.
    Optimize { scenario: &'a str },
    /// `calibrate`: `output/calibrate-<from>-<to>/`.
    Calibrate { from: &'a str, to: &'a str },
    /// `backtest`: `output/backtest-<name>/`.
    Backtest { name: &'a str },
}

/// The folder a command writes to when no `--out` is given. (`compare`'s,
/// named after several scenarios, is `cli::compare::default_out_dir`.)
pub fn default_dir(command: Command<'_>) -> PathBuf {
    let root = Path::new(ROOT);
    match command {
        Command::Run { scenario } => root.join(scenario),
        Command::Replay { scenario } => root.join(scenario).join("ledgers"),
        Command::Shards { scenario } => root.join(format!("{scenario}-shards")),
        Command::Sensitivity { scenario } => root.join(format!("{scenario}-sensitivity")),
        Command::Optimize { scenario } => root.join(format!("{scenario}-optimize")),
        Command::Calibrate { from, to } => root.join(format!("calibrate-{from}-{to}")),
        Command::Backtest { name } => root.join(format!("backtest-{name}")),
    }
}

/// Check that `dir` can be created (with its parents) and a file created
/// in it (a probe, removed at once). The folders it had to create are
/// removed again, so a run that fails later leaves no empty folder behind.
pub fn check_writable(dir: &Path) -> Result<(), UnwritableDir> {
    let err = |source| UnwritableDir {
        path: dir.to_path_buf(),
        source,
    };
    let missing: Vec<&Path> = dir
        .ancestors()
        .take_while(|d| !d.as_os_str().is_empty() && !d.exists())
        .collect();
    fs::create_dir_all(dir).map_err(err)?;
    let probe = dir.join(format!(".pivotsim-probe-{}", std::process::id()));
    fs::File::create(&probe).map_err(err)?;
    fs::remove_file(&probe).map_err(err)?;
    // Deepest first; `remove_dir` leaves a folder that is not empty.
    for created in missing {
        let _ = fs::remove_dir(created);
    }
    Ok(())
}

/// Create `dir` (and its parents) if needed.
pub fn ensure_dir(dir: &Path) -> Result<(), OutputError> {
    fs::create_dir_all(dir).map_err(at(dir))
}

fn tmp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Write `bytes` to `path` atomically: a temporary sibling, fsync, rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    let tmp = tmp_path(path);
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(at(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn failed_write_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("missing").join("a.json");
        let e = write_atomic(&p, b"x").unwrap_err();
        assert!(e.to_string().contains("a.json"));
    }

    #[test]
    fn each_command_has_its_default_folder() {
        let cases = [
            (Command::Run { scenario: "s" }, "output/s"),
            (Command::Replay { scenario: "s" }, "output/s/ledgers"),
            (
                Command::Sensitivity { scenario: "s" },
                "output/s-sensitivity",
            ),
            (Command::Optimize { scenario: "s" }, "output/s-optimize"),
            (
                Command::Calibrate {
                    from: "2021-01",
                    to: "2024-12",
                },
                "output/calibrate-2021-01-2024-12",
            ),
            (Command::Backtest { name: "b" }, "output/backtest-b"),
        ];
        for (command, path) in cases {
            assert_eq!(default_dir(command), Path::new(path), "{command:?}");
        }
    }
}
