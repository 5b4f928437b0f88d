//! The release directory, written atomically.
//!
//! A release is assembled in a hidden staging directory beside its final place
//! (`dist/.<name>.partial-<pid>`) and renamed into place only when complete, so a reader
//! sees either no release or a whole one. Every file is flushed to disk before the
//! rename, and the rename itself is flushed through the parent directory. A lock file in
//! the parent serialises concurrent releases; staging directories left by a killed run
//! are removed by the next one.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::checksums::{Sha256Sums, sha256_reader};

/// Why the release directory could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutputError {
    /// A filesystem operation failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done, as a verb phrase ("create", "write", ...).
        action: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// A release or file name that would escape its directory or hide itself.
    #[error("invalid name {name:?}: {reason}")]
    InvalidName {
        /// The rejected name.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The release directory exists and replacing it was not asked for.
    #[error("{} already exists; refusing to replace a published release", path.display())]
    AlreadyExists {
        /// The existing directory.
        path: PathBuf,
    },
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> OutputError {
    let path = path.to_owned();
    move |source| OutputError::Io {
        action,
        path,
        source,
    }
}

/// A release directory being assembled. Dropping it without [`StagedDir::publish`]
/// removes everything it wrote.
#[derive(Debug)]
pub struct StagedDir {
    parent: PathBuf,
    name: String,
    staging: PathBuf,
    sums: Sha256Sums,
    published: bool,
    // Held for the lifetime of the staging directory; released on drop.
    _lock: File,
}

impl StagedDir {
    /// Starts assembling `parent/name`. Creates `parent` if needed.
    pub fn create(parent: &Path, name: &str) -> Result<Self, OutputError> {
        check_name(name)?;
        fs::create_dir_all(parent).map_err(io_error("create", parent))?;
        let lock_path = parent.join(".lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_error("open", &lock_path))?;
        lock.lock().map_err(io_error("lock", &lock_path))?;
        remove_stale_staging(parent, name)?;
        let staging = parent.join(format!(".{name}.partial-{}", std::process::id()));
        fs::create_dir(&staging).map_err(io_error("create", &staging))?;
        Ok(StagedDir {
            parent: parent.to_owned(),
            name: name.to_owned(),
            staging,
            sums: Sha256Sums::new(),
            published: false,
            _lock: lock,
        })
    }

    /// Where the release will be once published.
    pub fn final_path(&self) -> PathBuf {
        self.parent.join(&self.name)
    }

    /// Writes `contents` as `file_name` and records its digest.
    pub fn write_file(&mut self, file_name: &str, contents: &[u8]) -> Result<(), OutputError> {
        self.copy_from(file_name, contents, false)
    }

    /// Copies the file at `source` in as `file_name`, executable when `executable`, and
    /// records its digest (computed from the bytes as they are copied).
    pub fn copy_file(
        &mut self,
        file_name: &str,
        source: &Path,
        executable: bool,
    ) -> Result<(), OutputError> {
        let input = File::open(source).map_err(io_error("open", source))?;
        self.copy_from(file_name, input, executable)
    }

    /// Writes `SHA256SUMS`-format checksums of every file written so far as `file_name`.
    /// The checksum file itself is not listed in it.
    pub fn write_checksums(&mut self, file_name: &str) -> Result<(), OutputError> {
        let text = self.sums.render();
        self.write_file(file_name, text.as_bytes())?;
        Ok(())
    }

    /// The size in bytes of `file_name`, written earlier.
    pub fn file_size(&self, file_name: &str) -> Result<u64, OutputError> {
        check_name(file_name)?;
        let path = self.staging.join(file_name);
        fs::metadata(&path)
            .map(|metadata| metadata.len())
            .map_err(io_error("read the size of", &path))
    }

    /// The digests of the files written so far.
    pub fn checksums(&self) -> &Sha256Sums {
        &self.sums
    }

    /// Renames the staging directory into place and returns the final path. An existing
    /// release of the same name is an error unless `replace` is set; then it is swapped
    /// out and removed.
    pub fn publish(mut self, replace: bool) -> Result<PathBuf, OutputError> {
        sync_dir(&self.staging)?;
        let target = self.final_path();
        let displaced = if target.exists() {
            if !replace {
                return Err(OutputError::AlreadyExists { path: target });
            }
            let old = self
                .parent
                .join(format!(".{}.old-{}", self.name, std::process::id()));
            fs::rename(&target, &old).map_err(io_error("move aside", &target))?;
            Some(old)
        } else {
            None
        };
        fs::rename(&self.staging, &target).map_err(io_error("rename into place", &target))?;
        self.published = true;
        sync_dir(&self.parent)?;
        if let Some(old) = displaced {
            fs::remove_dir_all(&old).map_err(io_error("remove", &old))?;
        }
        Ok(target)
    }

    fn copy_from(
        &mut self,
        file_name: &str,
        mut input: impl io::Read,
        executable: bool,
    ) -> Result<(), OutputError> {
        check_name(file_name)?;
        let path = self.staging.join(file_name);
        let mut file = File::create_new(&path).map_err(io_error("create", &path))?;
        let digest = sha256_reader(TeeReader {
            reader: &mut input,
            writer: &mut file,
        })
        .map_err(io_error("write", &path))?;
        let mode = if executable { 0o755 } else { 0o644 };
        file.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(io_error("set permissions of", &path))?;
        file.sync_all().map_err(io_error("flush", &path))?;
        self.sums.insert(file_name, digest);
        Ok(())
    }
}

impl Drop for StagedDir {
    fn drop(&mut self) {
        if !self.published {
            // Best effort: a leftover is hidden and removed by the next run anyway.
            let _ = fs::remove_dir_all(&self.staging);
        }
    }
}

/// Rejects names that are empty, hidden, or not a single path component.
fn check_name(name: &str) -> Result<(), OutputError> {
    let reason = if name.is_empty() {
        Some("empty")
    } else if name.starts_with('.') {
        Some("must not start with '.'")
    } else if name.contains('/') || name.contains('\0') {
        Some("must be a single path component")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(OutputError::InvalidName {
            name: name.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

/// Removes `.<name>.partial-*` and `.<name>.old-*` directories left by killed runs. Only
/// called with the parent's lock held, so no live run owns them.
fn remove_stale_staging(parent: &Path, name: &str) -> Result<(), OutputError> {
    let partial = format!(".{name}.partial-");
    let old = format!(".{name}.old-");
    let entries = fs::read_dir(parent).map_err(io_error("list", parent))?;
    for entry in entries {
        let entry = entry.map_err(io_error("list", parent))?;
        let file_name = entry.file_name();
        let file_name = file_name.to_string_lossy();
        if file_name.starts_with(&partial) || file_name.starts_with(&old) {
            let path = entry.path();
            fs::remove_dir_all(&path).map_err(io_error("remove stale", &path))?;
        }
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> Result<(), OutputError> {
    File::open(dir)
        .and_then(|handle| handle.sync_all())
        .map_err(io_error("flush", dir))
}

/// Passes reads through while copying every byte read into `writer`.
struct TeeReader<'a, R, W> {
    reader: &'a mut R,
    writer: &'a mut W,
}

impl<R: io::Read, W: Write> io::Read for TeeReader<'_, R, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.reader.read(buf)?;
        self.writer.write_all(&buf[..n])?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn nothing_is_visible_until_published() {
        let dist = tempfile::tempdir().unwrap();
        let mut staged = StagedDir::create(dist.path(), "0.1.0").unwrap();
        staged.write_file("a", b"a").unwrap();
        assert!(!dist.path().join("0.1.0").exists());
        let path = staged.publish(false).unwrap();
        assert_eq!(names_in(&path), ["a"]);
        assert_eq!(names_in(dist.path()), [".lock", "0.1.0"]);
    }

    #[test]
    fn dropping_without_publishing_leaves_nothing() {
        let dist = tempfile::tempdir().unwrap();
        {
            let mut staged = StagedDir::create(dist.path(), "0.1.0").unwrap();
            staged.write_file("a", b"a").unwrap();
        }
        assert_eq!(names_in(dist.path()), [".lock"]);
    }

    #[test]
    fn stale_staging_from_a_killed_run_is_removed() {
        let dist = tempfile::tempdir().unwrap();
        fs::create_dir_all(dist.path().join(".0.1.0.partial-999999/sub")).unwrap();
        fs::create_dir_all(dist.path().join(".0.2.0.partial-1")).unwrap();
        let staged = StagedDir::create(dist.path(), "0.1.0").unwrap();
        drop(staged);
        assert_eq!(names_in(dist.path()), [".0.2.0.partial-1", ".lock"]);
    }

    #[test]
    fn an_existing_release_is_kept_unless_replacing() {
        let dist = tempfile::tempdir().unwrap();
        let mut first = StagedDir::create(dist.path(), "1.0.0").unwrap();
        first.write_file("old", b"old").unwrap();
        first.publish(false).unwrap();

        let mut second = StagedDir::create(dist.path(), "1.0.0").unwrap();
        second.write_file("new", b"new").unwrap();
        let error = second.publish(false).unwrap_err();
        assert!(
            matches!(error, OutputError::AlreadyExists { .. }),
            "{error}"
        );
        assert_eq!(names_in(&dist.path().join("1.0.0")), ["old"]);

        let mut third = StagedDir::create(dist.path(), "1.0.0").unwrap();
        third.write_file("new", b"new").unwrap();
        third.publish(true).unwrap();
        assert_eq!(names_in(&dist.path().join("1.0.0")), ["new"]);
        assert_eq!(names_in(dist.path()), [".lock", "1.0.0"]);
    }

    #[test]
    fn executables_get_mode_755_and_data_644() {
        let dist = tempfile::tempdir().unwrap();
        let source = dist.path().join("tool");
        fs::write(&source, b"#!/bin/sh\n").unwrap();
        let mut staged = StagedDir::create(&dist.path().join("out"), "v").unwrap();
        staged.copy_file("tool", &source, true).unwrap();
        staged.write_file("notes", b"n").unwrap();
        let path = staged.publish(false).unwrap();
        let mode = |name: &str| fs::metadata(path.join(name)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode("tool"), 0o755);
        assert_eq!(mode("notes"), 0o644);
    }

    #[test]
    fn checksums_cover_every_file_but_themselves() {
        let dist = tempfile::tempdir().unwrap();
        let mut staged = StagedDir::create(dist.path(), "v").unwrap();
        staged.write_file("x", b"").unwrap();
        staged.write_checksums("SHA256SUMS").unwrap();
        let path = staged.publish(false).unwrap();
        assert_eq!(
            fs::read_to_string(path.join("SHA256SUMS")).unwrap(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  x\n"
        );
    }

    #[test]
    fn names_that_escape_or_hide_are_rejected() {
        let dist = tempfile::tempdir().unwrap();
        for bad in ["", ".hidden", "a/b", ".."] {
            assert!(matches!(
                StagedDir::create(dist.path(), bad),
                Err(OutputError::InvalidName { .. })
            ));
        }
        let mut staged = StagedDir::create(dist.path(), "v").unwrap();
        assert!(staged.write_file("../x", b"").is_err());
        assert!(!dist.path().join("x").exists());
    }
}
