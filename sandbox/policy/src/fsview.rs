//! The few facts about the filesystem that resolution needs (does a path exist, what is
//! in a directory, what does a small file say), behind a trait so that a Plan can be
//! resolved against a fake tree in tests. The real implementation only reads.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

mod cached;
pub(crate) use cached::Cached;

/// What kind of thing is at a path (symlinks are followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A directory.
    Dir,
    /// Anything else that exists.
    File,
}

/// Read-only access to the filesystem, as resolution sees it.
pub trait FsView {
    /// The kind of thing at `path`, or `None` when nothing is there.
    fn kind(&self, path: &Path) -> Option<Kind>;
    /// The names in directory `path` (empty when it is not a readable directory).
    fn list(&self, path: &Path) -> Vec<String>;
    /// A small text file's content.
    fn read(&self, path: &Path) -> Option<String>;
    /// True when `path` itself is a symbolic link.
    fn is_symlink(&self, _path: &Path) -> bool {
        false
    }
    /// The names of the subdirectories of `path` (symbolic links not followed), from
    /// reading at most `max_entries` entries, with how many entries were read and
    /// whether that was all of them.
    fn subdirs(&self, path: &Path, max_entries: usize) -> (Vec<String>, usize, bool) {
        let names = self.list(path);
        let complete = names.len() <= max_entries;
        let read = names.len().min(max_entries);
        let dirs = names
            .into_iter()
            .take(max_entries)
            .filter(|name| {
                let child = path.join(name);
                !self.is_symlink(&child) && self.kind(&child) == Some(Kind::Dir)
            })
            .collect();
        (dirs, read, complete)
    }
    /// The link count of directory `path`: on most Linux filesystems 2 plus its number
    /// of subdirectories, so 2 means it has none. `None` when unknown.
    fn dir_links(&self, _path: &Path) -> Option<u64> {
        None
    }
    /// Every entry of directory `path` with its type as the listing gives it (symbolic
    /// links not followed), when the listing is complete within `max_entries` entries.
    /// The default cannot tell, and then each path is asked about by [`FsView::kind`].
    fn entries(&self, _path: &Path, _max_entries: usize) -> Entries {
        Entries::Unknown
    }
}

/// What listing a directory told about the names under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entries {
    /// The directory's entries, all of them, each with its type as listed.
    Listed(Vec<(OsString, EntryType)>),
    /// Nothing is at the path, or it is not a directory: no path under it exists.
    NoChildren,
    /// The listing cannot tell (unreadable, too large, interrupted by an error).
    Unknown,
}

/// The type of a directory entry as its directory lists it (symbolic links not followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryType {
    /// A directory.
    Dir,
    /// A symbolic link: what it points at is only known by following it.
    Symlink,
    /// Anything else that exists (a file, a device, a socket, a pipe).
    Other,
    /// The listing did not say; only a `stat` tells.
    Unknown,
}

/// The real filesystem.
#[derive(Debug, Clone, Copy, Default)]
pub struct RealFs;

impl FsView for RealFs {
    fn is_symlink(&self, path: &Path) -> bool {
        path.symlink_metadata()
            .is_ok_and(|meta| meta.file_type().is_symlink())
    }

    fn kind(&self, path: &Path) -> Option<Kind> {
        std::fs::metadata(path)
            .ok()
            .map(|meta| if meta.is_dir() { Kind::Dir } else { Kind::File })
    }

    fn list(&self, path: &Path) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(path) else {
            return Vec::new();
        };
        let mut names: Vec<String> = entries
            .filter_map(|entry| entry.ok())
            .filter_map(|entry| entry.file_name().into_string().ok())
            .collect();
        names.sort();
        names
    }

    fn subdirs(&self, path: &Path, max_entries: usize) -> (Vec<String>, usize, bool) {
        // The entry types come with the listing: no `stat` per entry.
        let Ok(entries) = std::fs::read_dir(path) else {
            return (Vec::new(), 0, true);
        };
        let mut names = Vec::new();
        let mut read = 0;
        for entry in entries.filter_map(|entry| entry.ok()) {
            if read == max_entries {
                return (names, read, false);
            }
            read += 1;
            if entry.file_type().is_ok_and(|kind| kind.is_dir())
                && let Ok(name) = entry.file_name().into_string()
            {
                names.push(name);
            }
        }
        names.sort();
        (names, read, true)
    }

    fn dir_links(&self, path: &Path) -> Option<u64> {
        use std::os::unix::fs::MetadataExt;
        // btrfs and some others report 1 for every directory: no information.
        std::fs::metadata(path)
            .ok()
            .map(|meta| meta.nlink())
            .filter(|links| *links >= 2)
    }

    fn entries(&self, path: &Path, max_entries: usize) -> Entries {
        let entries = match std::fs::read_dir(path) {
            Ok(entries) => entries,
            // Nothing there, or not a directory (`ENOTDIR`): nothing can be under it.
            Err(error)
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) =>
            {
                return Entries::NoChildren;
            }
            // Permission denied (a directory that may be searched but not read),
            // a loop of links, anything else: its children must be asked one by one.
            Err(_) => return Entries::Unknown,
        };
        let mut listed = Vec::new();
        for entry in entries {
            let Ok(entry) = entry else {
                return Entries::Unknown;
            };
            if listed.len() == max_entries {
                return Entries::Unknown;
            }
            // The type comes with the listing on the usual filesystems (no `stat`).
            let kind = match entry.file_type() {
                Ok(kind) if kind.is_dir() => EntryType::Dir,
                Ok(kind) if kind.is_symlink() => EntryType::Symlink,
                Ok(_) => EntryType::Other,
                Err(_) => EntryType::Unknown,
            };
            listed.push((entry.file_name(), kind));
        }
        Entries::Listed(listed)
    }

    fn read(&self, path: &Path) -> Option<String> {
        use std::io::Read;
        let mut text = String::new();
        std::fs::File::open(path)
            .ok()?
            .take(64 * 1024)
            .read_to_string(&mut text)
            .ok()?;
        Some(text)
    }
}

/// A fake tree for tests: directories and files given by absolute path.
#[derive(Debug, Clone, Default)]
pub struct FakeFs {
    entries: std::collections::BTreeMap<PathBuf, Option<String>>,
}

impl FakeFs {
    /// Adds a directory (and its parents).
    pub fn dir(mut self, path: &str) -> Self {
        let path = PathBuf::from(path);
        for ancestor in path.ancestors() {
            self.entries.entry(ancestor.to_path_buf()).or_insert(None);
        }
        self
    }

    /// Adds a file with `text` (and its parent directories).
    pub fn file(mut self, path: &str, text: &str) -> Self {
        let path = PathBuf::from(path);
        if let Some(parent) = path.parent() {
            self = self.dir(&parent.to_string_lossy());
        }
        self.entries.insert(path, Some(text.to_owned()));
        self
    }
}

impl FsView for FakeFs {
    fn kind(&self, path: &Path) -> Option<Kind> {
        self.entries.get(path).map(|content| match content {
            None => Kind::Dir,
            Some(_) => Kind::File,
        })
    }

    fn list(&self, path: &Path) -> Vec<String> {
        self.entries
            .keys()
            .filter(|entry| entry.parent() == Some(path) && entry.as_path() != path)
            .filter_map(|entry| entry.file_name())
            .map(|name| name.to_string_lossy().into_owned())
            .collect()
    }

    fn read(&self, path: &Path) -> Option<String> {
        self.entries.get(path).cloned().flatten()
    }

    fn entries(&self, path: &Path, max_entries: usize) -> Entries {
        if self.kind(path) != Some(Kind::Dir) {
            return Entries::NoChildren;
        }
        let listed: Vec<(OsString, EntryType)> = self
            .entries
            .iter()
            .filter(|(entry, _)| entry.parent() == Some(path) && entry.as_path() != path)
            .filter_map(|(entry, content)| {
                let kind = match content {
                    None => EntryType::Dir,
                    Some(_) => EntryType::Other,
                };
                Some((entry.file_name()?.to_os_string(), kind))
            })
            .collect();
        if listed.len() > max_entries {
            return Entries::Unknown;
        }
        Entries::Listed(listed)
    }
}
