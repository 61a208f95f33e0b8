//! [`OutputSet`]: the steps of a set's commit, its rollback and the
//! removal of what killed commands left (see the parent module's doc).

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::manifest::{
    Manifest, Previous, State, check_name, is_staging_name, is_tmp_name, new_run_id, read_manifest,
};
use super::{
    ABORT_VAR, BACKUP, LOCK, MANIFEST, OutputError, STAGED_MANIFEST, STAGING_PREFIX, at,
    ensure_dir, tmp_path, write_atomic,
};

fn sync_dir(dir: &Path) -> Result<(), OutputError> {
    #[cfg(unix)]
    {
        File::open(dir).and_then(|d| d.sync_all()).map_err(at(dir))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    (|| {
        let mut f = File::create_new(path)?;
        f.write_all(bytes)?;
        f.sync_all()
    })()
    .map_err(at(path))
}

fn exists(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

/// Remove a file (not a folder) if it is there.
fn remove_file_if_there(path: &Path) -> Result<(), OutputError> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => match fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(at(path)(e)),
            _ => Ok(()),
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(at(path)(e)),
    }
}

/// A second name for `src`'s bytes: a hard link, or a synced copy where the
/// filesystem has none.
fn link_or_copy(src: &Path, dst: &Path) -> Result<(), OutputError> {
    if fs::hard_link(src, dst).is_ok() {
        return Ok(());
    }
    (|| {
        fs::copy(src, dst)?;
        OpenOptions::new().write(true).open(dst)?.sync_all()
    })()
    .map_err(at(dst))
}

/// Put `saved`'s bytes at `target` atomically, leaving `saved` as it is.
fn restore(saved: &Path, target: &Path) -> Result<(), OutputError> {
    let tmp = tmp_path(target);
    remove_file_if_there(&tmp)?;
    link_or_copy(saved, &tmp)?;
    fs::rename(&tmp, target).map_err(at(target))?;
    // Renaming a link onto another link of the same file does nothing.
    remove_file_if_there(&tmp)
}

/// Lock `dir` for this process (released when the file is closed), waiting
/// for another command that holds it.
fn lock_dir(dir: &Path) -> Result<Option<File>, OutputError> {
    let path = dir.join(LOCK);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(at(&path))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(fs::TryLockError::WouldBlock) => {
            eprintln!(
                "waiting for another pivotsim command writing to {}",
                dir.display()
            );
            file.lock().map_err(at(&path))?;
            Ok(Some(file))
        }
        // A filesystem without locks: go on unlocked.
        Err(fs::TryLockError::Error(e)) if e.kind() == io::ErrorKind::Unsupported => Ok(None),
        Err(fs::TryLockError::Error(e)) => Err(at(&path)(e)),
    }
}

/// Undo what a killed command left half done in `dir` and remove its stale
/// staging folders and temporary files (see the module doc). `begin` does
/// this; here for a reader who wants the folder settled without writing.
pub fn recover(dir: &Path) -> Result<(), OutputError> {
    if !dir.is_dir() {
        return Ok(());
    }
    let _lock = lock_dir(dir)?;
    recover_locked(dir)
}

fn recover_locked(dir: &Path) -> Result<(), OutputError> {
    let manifest = read_manifest(dir).map_err(at(&dir.join(MANIFEST)))?;
    if let Some(journal) = manifest.filter(|m| m.state == State::Committing) {
        rollback(dir, &journal)?;
    }
    remove_stale(dir)
}

/// Put back the set a journal replaces, then its manifest (step by step
/// idempotent: the backup is not touched until the staging folder goes).
fn rollback(dir: &Path, journal: &Manifest) -> Result<(), OutputError> {
    let (Some(staging), Some(previous)) = (&journal.staging, &journal.previous) else {
        return Ok(());
    };
    let staging = dir.join(staging);
    let backup = staging.join(BACKUP);
    if !backup.is_dir() {
        // Cannot happen under the protocol; if it does, claim nothing and
        // remove nothing.
        remove_file_if_there(&dir.join(MANIFEST))?;
        return sync_dir(dir);
    }
    let names: BTreeSet<&str> = journal
        .files
        .iter()
        .chain(&previous.files)
        .map(String::as_str)
        .collect();
    for name in names {
        let (saved, target) = (backup.join(name), dir.join(name));
        if exists(&saved) {
            restore(&saved, &target)?;
        } else if journal.files.iter().any(|f| f == name) {
            remove_file_if_there(&target)?;
        }
    }
    sync_dir(dir)?;
    let saved = backup.join(MANIFEST);
    if exists(&saved) {
        restore(&saved, &dir.join(MANIFEST))?;
    } else {
        remove_file_if_there(&dir.join(MANIFEST))?;
    }
    sync_dir(dir)?;
    fs::remove_dir_all(&staging).map_err(at(&staging))
}

/// Remove `.staging-<run id>/` folders and `.NAME.tmp-<pid>` files: the
/// leftovers of killed commands (the caller holds the lock). Nothing else.
fn remove_stale(dir: &Path) -> Result<(), OutputError> {
    for entry in fs::read_dir(dir).map_err(at(dir))? {
        let entry = entry.map_err(at(dir))?;
        let path = entry.path();
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let kind = entry.file_type().map_err(at(&path))?;
        if kind.is_dir() && is_staging_name(&name) {
            fs::remove_dir_all(&path).map_err(at(&path))?;
        } else if kind.is_file() && is_tmp_name(&name) {
            remove_file_if_there(&path)?;
        }
    }
    Ok(())
}

/// A point of a commit where a test can stop it (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Staged(usize),
    BackedUp,
    Intent,
    Swapped(usize),
    Removed(usize),
    Committed,
}

impl Step {
    fn parse(s: &str) -> Option<Step> {
        let (name, k) = match s.split_once(':') {
            Some((name, k)) => (name, Some(k.parse::<usize>().ok()?)),
            None => (s, None),
        };
        Some(match (name, k) {
            ("staged", Some(k)) => Step::Staged(k),
            ("backed-up", None) => Step::BackedUp,
            ("intent", None) => Step::Intent,
            ("swapped", Some(k)) => Step::Swapped(k),
            ("removed", Some(k)) => Step::Removed(k),
            ("committed", None) => Step::Committed,
            _ => return None,
        })
    }
}

/// Where a commit stands, for what a failure or a drop must undo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// `DIR` untouched: drop the staging folder.
    Staging,
    /// The journal may be in place: roll back.
    Journaled,
    /// Done (or rolled back): nothing to undo.
    Done,
}

/// The files of one command, written into a folder as one set (see the
/// module doc). `add` takes `&self`, so files can be written from several
/// threads. Dropped without [`commit`](Self::commit), it removes its staging
/// folder and leaves the folder as it was.
#[derive(Debug)]
pub struct OutputSet {
    dir: PathBuf,
    run_id: String,
    command: String,
    staging: PathBuf,
    previous: Option<Manifest>,
    names: Mutex<Vec<String>>,
    staged: AtomicUsize,
    /// Where to stop, as a kill would: aborting the process
    /// (`PIVOTSIM_TEST_ABORT`), or, in unit tests, returning with no cleanup.
    stop: Option<(Step, bool)>,
    stopped: AtomicBool,
    phase: Phase,
    journal: Option<Manifest>,
    _lock: Option<File>,
}

impl OutputSet {
    /// Start a set in `dir` for `command` (`run`, `compare`, ...): create
    /// `dir`, take its lock, undo a killed command's half-done commit,
    /// remove stale staging folders and temporary files, make the staging
    /// folder.
    pub fn begin(dir: &Path, command: &str) -> Result<OutputSet, OutputError> {
        ensure_dir(dir)?;
        let lock = lock_dir(dir)?;
        recover_locked(dir)?;
        let previous = read_manifest(dir).map_err(at(&dir.join(MANIFEST)))?;
        let run_id = new_run_id();
        let staging = dir.join(format!("{STAGING_PREFIX}{run_id}"));
        fs::create_dir(&staging).map_err(at(&staging))?;
        let stop = std::env::var(ABORT_VAR)
            .ok()
            .and_then(|v| Step::parse(&v))
            .map(|step| (step, true));
        Ok(OutputSet {
            dir: dir.to_path_buf(),
            run_id,
            command: command.to_string(),
            staging,
            previous,
            names: Mutex::new(Vec::new()),
            staged: AtomicUsize::new(0),
            stop,
            stopped: AtomicBool::new(false),
            phase: Phase::Staging,
            journal: None,
            _lock: lock,
        })
    }

    /// The output folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// This invocation's id, as the manifest will hold it.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Stage file `name` (a plain file name, once per set) with `bytes`.
    pub fn add(&self, name: &str, bytes: &[u8]) -> Result<(), OutputError> {
        check_name(name).map_err(at(&self.dir.join(name)))?;
        {
            let mut names = self.names.lock().expect("a writer panicked");
            if names.iter().any(|n| n == name) {
                return Err(at(&self.dir.join(name))(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    "written twice in one set",
                )));
            }
            names.push(name.to_string());
        }
        write_synced(&self.staging.join(name), bytes)?;
        let n = self.staged.fetch_add(1, Ordering::SeqCst) + 1;
        self.checkpoint(Step::Staged(n))
    }

    fn checkpoint(&self, step: Step) -> Result<(), OutputError> {
        match self.stop {
            Some((at_step, abort)) if at_step == step => {
                if abort {
                    std::process::abort();
                }
                self.stopped.store(true, Ordering::SeqCst);
                Err(at(&self.dir)(io::Error::new(
                    io::ErrorKind::Interrupted,
                    format!("stopped at {step:?} (test)"),
                )))
            }
            _ => Ok(()),
        }
    }

    /// Put the staged files in place of the previous set, as one set: the
    /// manifest lists them, and the previous set's files that this one lacks
    /// are removed. On failure the previous set is left in place.
    pub fn commit(mut self) -> Result<Manifest, OutputError> {
        let result = self.commit_steps();
        if result.is_err() && self.phase == Phase::Journaled && !self.stopped.load(Ordering::SeqCst)
        {
            // A failure, not a kill: put the previous set back now (if that
            // fails too, the next command will).
            let journal = self.journal.take().expect("journaled");
            if rollback(&self.dir, &journal).is_ok() {
                self.phase = Phase::Done;
            }
        }
        result
    }

    fn commit_steps(&mut self) -> Result<Manifest, OutputError> {
        let (dir, staging) = (self.dir.clone(), self.staging.clone());
        let mut files = self.names.lock().expect("a writer panicked").clone();
        files.sort();
        let new = Manifest::complete(&self.run_id, &self.command, files.clone());
        sync_dir(&staging)?;
        let staged_manifest = staging.join(STAGED_MANIFEST);
        write_synced(&staged_manifest, &new.to_bytes())?;
        let previous_files = self
            .previous
            .as_ref()
            .map(|m| m.files.clone())
            .unwrap_or_default();
        self.back_up(&previous_files, &files)?;
        self.checkpoint(Step::BackedUp)?;

        let staging_name = format!("{STAGING_PREFIX}{}", self.run_id);
        let journal = Manifest {
            state: State::Committing,
            staging: Some(staging_name.clone()),
            previous: Some(Previous {
                run_id: self.previous.as_ref().map(|m| m.run_id.clone()),
                files: previous_files.clone(),
                backup: format!("{staging_name}/{BACKUP}"),
            }),
            ..new.clone()
        };
        self.journal = Some(journal.clone());
        self.phase = Phase::Journaled;
        write_atomic(&dir.join(MANIFEST), &journal.to_bytes())?;
        sync_dir(&dir)?;
        self.checkpoint(Step::Intent)?;

        for (k, name) in files.iter().enumerate() {
            let target = dir.join(name);
            fs::rename(staging.join(name), &target).map_err(at(&target))?;
            self.checkpoint(Step::Swapped(k + 1))?;
        }
        let gone = previous_files.iter().filter(|n| !files.contains(n));
        for (k, name) in gone.enumerate() {
            remove_file_if_there(&dir.join(name))?;
            self.checkpoint(Step::Removed(k + 1))?;
        }
        sync_dir(&dir)?;
        let manifest = dir.join(MANIFEST);
        fs::rename(&staged_manifest, &manifest).map_err(at(&manifest))?;
        sync_dir(&dir)?;
        self.phase = Phase::Done;
        self.checkpoint(Step::Committed)?;
        // Left behind on failure, the next command removes it.
        let _ = fs::remove_dir_all(&staging);
        Ok(new)
    }

    /// Step 2 of a commit: the previous manifest, and whatever `DIR` holds
    /// under a name of either set, linked into `.previous/`.
    fn back_up(&self, previous: &[String], new: &[String]) -> Result<(), OutputError> {
        let backup = self.staging.join(BACKUP);
        fs::create_dir(&backup).map_err(at(&backup))?;
        let names: BTreeSet<&str> = previous
            .iter()
            .chain(new)
            .map(String::as_str)
            .chain([MANIFEST])
            .collect();
        for name in names {
            let path = self.dir.join(name);
            match fs::symlink_metadata(&path) {
                Ok(m) if m.is_dir() => {
                    if new.iter().any(|n| n == name) {
                        return Err(at(&path)(io::Error::new(
                            io::ErrorKind::AlreadyExists,
                            "a folder is in the place of a result file",
                        )));
                    }
                }
                Ok(_) => link_or_copy(&path, &backup.join(name))?,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(at(&path)(e)),
            }
        }
        sync_dir(&backup)?;
        sync_dir(&self.staging)
    }
}

impl Drop for OutputSet {
    fn drop(&mut self) {
        // Not committed (an error on the way): `DIR` is untouched. A set
        // stopped by a test is left as a kill would leave it, and so is a
        // journal whose rollback failed, for the next command.
        if self.phase == Phase::Staging && !self.stopped.load(Ordering::SeqCst) {
            let _ = fs::remove_dir_all(&self.staging);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::manifest::is_run_id;
    use super::*;

    /// Every regular file directly in `dir` (the lock aside), with its bytes.
    fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| e.file_type().unwrap().is_file())
            .map(|e| e.file_name().into_string().unwrap())
            .filter(|n| n != LOCK)
            .map(|n| (n.clone(), fs::read(dir.join(&n)).unwrap()))
            .collect()
    }

    /// Every name directly in `dir`.
    fn names(dir: &Path) -> BTreeSet<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect()
    }

    fn write_set(dir: &Path, set: &[(&str, &str)]) -> Manifest {
        let out = OutputSet::begin(dir, "run").unwrap();
        for (name, text) in set {
            out.add(name, text.as_bytes()).unwrap();
        }
        out.commit().unwrap()
    }

    fn set_of(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn names_must_be_plain_file_names() {
        let dir = tempfile::tempdir().unwrap();
        let out = OutputSet::begin(dir.path(), "run").unwrap();
        for bad in [
            "", ".", "..", ".hidden", "a/b", "../x", "/abs", "a\\b", "nul\0",
        ] {
            let e = out.add(bad, b"x").unwrap_err();
            assert_eq!(e.source.kind(), io::ErrorKind::InvalidInput, "{bad:?}");
        }
        out.add("a..b.csv", b"x").unwrap();
        let twice = out.add("a..b.csv", b"y").unwrap_err();
        assert_eq!(twice.source.kind(), io::ErrorKind::AlreadyExists);
        let manifest = out.commit().unwrap();
        assert_eq!(manifest.files, ["a..b.csv"]);
        assert_eq!(names(dir.path()), set_of(&["a..b.csv", MANIFEST, LOCK]));
    }

    #[test]
    fn the_manifest_lists_the_set_on_disk_and_the_users_files_stay() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("notes.txt"), "mine").unwrap();
        let out = OutputSet::begin(dir.path(), "compare").unwrap();
        let run_id = out.run_id().to_string();
        std::thread::scope(|s| {
            for name in ["b.csv", "a.json", "c.png"] {
                let out = &out;
                s.spawn(move || out.add(name, name.as_bytes()).unwrap());
            }
        });
        let manifest = out.commit().unwrap();
        assert_eq!(manifest.files, ["a.json", "b.csv", "c.png"]);
        assert_eq!(manifest.run_id, run_id);
        assert!(is_run_id(&run_id), "{run_id}");
        assert_eq!(manifest.command, "compare");
        assert_eq!(manifest.state, State::Complete);
        assert_eq!(read_manifest(dir.path()).unwrap(), Some(manifest.clone()));
        let text = fs::read_to_string(dir.path().join(MANIFEST)).unwrap();
        assert!(text.contains("\"state\": \"complete\""), "{text}");
        assert!(!text.contains("previous"), "{text}");
        assert_eq!(
            names(dir.path()),
            set_of(&["a.json", "b.csv", "c.png", "notes.txt", MANIFEST, LOCK])
        );
        assert_eq!(fs::read(dir.path().join("notes.txt")).unwrap(), b"mine");
        assert_eq!(fs::read(dir.path().join("b.csv")).unwrap(), b"b.csv");
    }

    #[test]
    fn a_new_set_removes_only_the_previous_sets_files_it_lacks() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("notes.txt"), "mine").unwrap();
        write_set(dir.path(), &[("a", "1a"), ("b", "1b"), ("c", "1c")]);
        fs::write(dir.path().join("d"), "not pivotsim's").unwrap();
        let second = write_set(dir.path(), &[("b", "2b"), ("e", "2e")]);
        assert_eq!(second.files, ["b", "e"]);
        let mut expected = BTreeMap::new();
        for (n, t) in [("notes.txt", "mine"), ("d", "not pivotsim's"), ("b", "2b")] {
            expected.insert(n.to_string(), t.as_bytes().to_vec());
        }
        expected.insert("e".into(), b"2e".to_vec());
        expected.insert(MANIFEST.into(), second.to_bytes());
        assert_eq!(files(dir.path()), expected);
        assert_eq!(names(dir.path()).len(), expected.len() + 1, "and the lock");
    }

    #[test]
    fn stale_staging_folders_and_temporary_files_go_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let stale = d.join(format!("{STAGING_PREFIX}{}", new_run_id()));
        fs::create_dir_all(stale.join(BACKUP)).unwrap();
        fs::write(stale.join("summary.json"), "old").unwrap();
        fs::create_dir(d.join(".staging-mine")).unwrap();
        fs::create_dir(d.join("ledgers")).unwrap();
        fs::write(d.join("ledgers").join(".x.csv.tmp-12"), "").unwrap();
        for f in [
            ".summary.json.tmp-4242",
            ".pivotsim-manifest.json.tmp-7",
            ".notes.tmp-abc",
            "x.tmp-12",
            ".tmp-12",
            "notes.txt",
        ] {
            fs::write(d.join(f), "x").unwrap();
        }
        let out = OutputSet::begin(d, "run").unwrap();
        let own = format!("{STAGING_PREFIX}{}", out.run_id());
        assert_eq!(
            names(d),
            set_of(&[
                ".staging-mine",
                "ledgers",
                ".notes.tmp-abc",
                "x.tmp-12",
                ".tmp-12",
                "notes.txt",
                LOCK,
                &own,
            ])
        );
        assert!(d.join("ledgers").join(".x.csv.tmp-12").exists());
        drop(out);
        assert!(!d.join(own).exists(), "a dropped set leaves no staging");
    }

    #[test]
    fn run_ids_are_unique_and_recognised() {
        let (a, b) = (new_run_id(), new_run_id());
        assert_ne!(a, b);
        assert!(is_run_id(&a) && is_run_id(&b), "{a} {b}");
        for bad in [
            "",
            "x",
            "20260301T120000.123Z-",
            "20260301T120000.123Z-1",
            "20260301T120000Z-1-2",
            "2026030xT120000.123Z-1-2",
            "20260301T120000.123Z-1-2/..",
        ] {
            assert!(!is_run_id(bad), "{bad}");
        }
        assert!(is_run_id("20260301T120000.123Z-1-2"));
    }

    #[test]
    fn an_uncommitted_set_leaves_the_folder_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        write_set(dir.path(), &[("a", "1a"), ("b", "1b")]);
        let before = files(dir.path());
        let out = OutputSet::begin(dir.path(), "run").unwrap();
        out.add("a", b"2a").unwrap();
        drop(out);
        assert_eq!(files(dir.path()), before);
        assert_eq!(names(dir.path()).len(), before.len() + 1, "and the lock");
    }

    /// The folder of the kill tests: a user's file, a first set, and a
    /// file pivotsim did not write under a name the second set will use.
    fn first_set(dir: &Path) -> BTreeMap<String, Vec<u8>> {
        fs::write(dir.join("notes.txt"), "mine").unwrap();
        write_set(dir, &[("a", "1a"), ("b", "1b"), ("c", "1c")]);
        fs::write(dir.join("d"), "legacy d").unwrap();
        files(dir)
    }

    const SECOND: [(&str, &str); 2] = [("a", "2a"), ("d", "2d")];

    /// Begin the second set, stopping at `step` as a kill would.
    fn second_set_stopped_at(dir: &Path, step: Step) {
        let mut out = OutputSet::begin(dir, "run").unwrap();
        out.stop = Some((step, false));
        for (name, text) in SECOND {
            if out.add(name, text.as_bytes()).is_err() {
                return;
            }
        }
        assert!(out.commit().is_err(), "{step:?} was not reached");
    }

    #[test]
    fn a_kill_at_any_step_leaves_one_complete_set_and_the_next_begin_settles_it() {
        let steps = [
            Step::Staged(1),
            Step::Staged(2),
            Step::BackedUp,
            Step::Intent,
            Step::Swapped(1),
            Step::Swapped(2),
            Step::Removed(1),
            Step::Removed(2),
            Step::Committed,
        ];
        for step in steps {
            let dir = tempfile::tempdir().unwrap();
            let d = dir.path();
            let before = first_set(d);
            second_set_stopped_at(d, step);
            let manifest = read_manifest(d).unwrap().unwrap();
            let in_window = manifest.state == State::Committing;
            assert_eq!(
                in_window,
                matches!(step, Step::Intent | Step::Swapped(_) | Step::Removed(_)),
                "{step:?}"
            );
            if in_window {
                // The journal names where the previous set is, complete.
                let previous = manifest.previous.unwrap();
                assert_eq!(previous.files, ["a", "b", "c"]);
                let backup = files(&d.join(&previous.backup));
                for name in &previous.files {
                    assert_eq!(backup[name], before[name], "{step:?}: {name}");
                }
            } else if step != Step::Committed {
                assert_eq!(files(d), before, "{step:?}: the folder is untouched");
            }
            let stagings = names(d).iter().filter(|n| is_staging_name(n)).count();
            assert_eq!(stagings, 1, "{step:?}");

            // The next command settles the folder before it writes.
            drop(OutputSet::begin(d, "run").unwrap());
            let after = files(d);
            if step == Step::Committed {
                let manifest = read_manifest(d).unwrap().unwrap();
                assert_eq!(manifest.files, ["a", "d"]);
                assert_eq!(after["a"], b"2a");
                assert_eq!(after["d"], b"2d");
                assert!(!after.contains_key("b") && !after.contains_key("c"));
                assert_eq!(after["notes.txt"], b"mine");
                assert_eq!(after.len(), 4, "{after:?}");
            } else {
                assert_eq!(after, before, "{step:?}: the previous set, as it was");
            }
            assert_eq!(names(d).len(), after.len() + 1, "{step:?}: only the lock");
        }
    }

    #[test]
    fn a_rollback_stopped_half_way_is_rolled_back_again() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let before = first_set(d);
        second_set_stopped_at(d, Step::Removed(1));
        let journal = read_manifest(d).unwrap().unwrap();
        // The rollback's first restore done, then killed.
        let backup = d.join(&journal.previous.as_ref().unwrap().backup);
        restore(&backup.join("a"), &d.join("a")).unwrap();
        recover(d).unwrap();
        assert_eq!(files(d), before);
        recover(d).unwrap();
        assert_eq!(files(d), before, "settled");
    }

    #[test]
    fn a_failure_while_swapping_is_rolled_back_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let before = first_set(d);
        let out = OutputSet::begin(d, "run").unwrap();
        for (name, text) in SECOND {
            out.add(name, text.as_bytes()).unwrap();
        }
        // `d` vanishes from the staging folder: its rename fails after
        // `a`'s has replaced the previous `a`.
        fs::remove_file(out.staging.join("d")).unwrap();
        let e = out.commit().unwrap_err();
        assert!(e.path.ends_with("d"), "{e}");
        assert_eq!(files(d), before);
        assert_eq!(names(d).len(), before.len() + 1, "no staging left");
    }

    #[test]
    fn a_folder_in_the_place_of_a_result_is_refused_before_anything_moves() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let before = first_set(d);
        fs::create_dir(d.join("e")).unwrap();
        let out = OutputSet::begin(d, "run").unwrap();
        out.add("a", b"2a").unwrap();
        out.add("e", b"2e").unwrap();
        let e = out.commit().unwrap_err();
        assert!(e.path.ends_with("e"), "{e}");
        assert_eq!(files(d), before);
        assert!(d.join("e").is_dir());
    }

    #[test]
    fn a_manifest_pivotsim_did_not_write_is_not_acted_on() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::write(d.join("a"), "mine").unwrap();
        let forged = Manifest {
            staging: Some("../../elsewhere".into()),
            previous: Some(Previous {
                run_id: None,
                files: vec![],
                backup: "../../elsewhere/.previous".into(),
            }),
            state: State::Committing,
            ..Manifest::complete("x", "run", vec!["a".into()])
        };
        fs::write(d.join(MANIFEST), forged.to_bytes()).unwrap();
        assert_eq!(read_manifest(d).unwrap(), None);
        fs::write(d.join(MANIFEST), "{ not json").unwrap();
        assert_eq!(read_manifest(d).unwrap(), None);
        write_set(d, &[("b", "b")]);
        assert_eq!(fs::read(d.join("a")).unwrap(), b"mine");
    }

    #[test]
    fn the_folder_is_locked_while_a_set_is_open() {
        let dir = tempfile::tempdir().unwrap();
        let out = OutputSet::begin(dir.path(), "run").unwrap();
        let other = File::open(dir.path().join(LOCK)).unwrap();
        assert!(matches!(
            other.try_lock(),
            Err(fs::TryLockError::WouldBlock)
        ));
        drop(out);
        other.try_lock().unwrap();
    }

    #[test]
    fn the_abort_steps_parse() {
        assert_eq!(Step::parse("staged:2"), Some(Step::Staged(2)));
        assert_eq!(Step::parse("backed-up"), Some(Step::BackedUp));
        assert_eq!(Step::parse("intent"), Some(Step::Intent));
        assert_eq!(Step::parse("swapped:1"), Some(Step::Swapped(1)));
        assert_eq!(Step::parse("removed:3"), Some(Step::Removed(3)));
        assert_eq!(Step::parse("committed"), Some(Step::Committed));
        for bad in ["", "staged", "staged:x", "intent:1", "kill"] {
            assert_eq!(Step::parse(bad), None, "{bad}");
        }
    }
}
