//! The only place that writes run results to disk.
//!
//! Every file is written under a temporary name in its final folder and then
//! renamed, so a reader (or a crash) never sees half a file, and a failed run
//! leaves the files of an earlier run intact.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

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

/// Create `dir` (and its parents) if needed and check that a file can be
/// created in it (a probe, removed at once).
pub fn check_writable(dir: &Path) -> Result<(), UnwritableDir> {
    let err = |source| UnwritableDir {
        path: dir.to_path_buf(),
        source,
    };
    fs::create_dir_all(dir).map_err(err)?;
    let probe = dir.join(format!(".pivotsim-probe-{}", std::process::id()));
    fs::File::create(&probe).map_err(err)?;
    fs::remove_file(&probe).map_err(err)
}

/// Create `dir` (and its parents) if needed.
pub fn ensure_dir(dir: &Path) -> Result<(), OutputError> {
    fs::create_dir_all(dir).map_err(|source| OutputError {
        path: dir.to_path_buf(),
        source,
    })
}

/// Write `bytes` to `path` atomically: a temporary sibling, fsync, rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    let err = |source| OutputError {
        path: path.to_path_buf(),
        source,
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(err)
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
}
