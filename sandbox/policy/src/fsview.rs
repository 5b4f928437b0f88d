//! The few facts about the filesystem that resolution needs (does a path exist, what is
//! in a directory, what does a small file say), behind a trait so that a Plan can be
//! resolved against a fake tree in tests. The real implementation only reads.

use std::path::{Path, PathBuf};

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
}

/// Remembers what another view answered, so that resolution asks the filesystem about
/// each path once. A directory's listing, once asked for, answers for its children
/// (a name that is not listed does not exist), and so does a missing parent: most of the
/// built-in lists' paths are absent on any one machine, and this spares a `stat` each.
pub(crate) struct Cached<'a> {
    inner: &'a dyn FsView,
    kinds: std::cell::RefCell<std::collections::HashMap<std::ffi::OsString, Option<Kind>>>,
    listings: std::cell::RefCell<
        std::collections::HashMap<std::ffi::OsString, std::collections::HashSet<String>>,
    >,
}

impl<'a> Cached<'a> {
    pub(crate) fn new(inner: &'a dyn FsView) -> Self {
        Cached {
            inner,
            kinds: std::cell::RefCell::default(),
            listings: std::cell::RefCell::default(),
        }
    }

    /// True when what is known about `path`'s parent proves that `path` is absent.
    fn known_absent(&self, path: &Path) -> bool {
        let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
            return false;
        };
        if let Some(names) = self.listings.borrow().get(parent.as_os_str()) {
            // Listings hold the names that are text; others cannot be judged by them.
            if let Some(name) = name.to_str() {
                return !names.contains(name);
            }
        }
        matches!(self.kinds.borrow().get(parent.as_os_str()), Some(None))
    }
}

impl FsView for Cached<'_> {
    fn kind(&self, path: &Path) -> Option<Kind> {
        // Keyed by the bytes: comparing `Path`s walks their components.
        if let Some(kind) = self.kinds.borrow().get(path.as_os_str()) {
            return *kind;
        }
        let kind = if self.known_absent(path) {
            None
        } else {
            self.inner.kind(path)
        };
        self.kinds
            .borrow_mut()
            .insert(path.as_os_str().to_os_string(), kind);
        kind
    }

    fn list(&self, path: &Path) -> Vec<String> {
        if let Some(names) = self.listings.borrow().get(path.as_os_str()) {
            let mut names: Vec<String> = names.iter().cloned().collect();
            names.sort();
            return names;
        }
        let names = self.inner.list(path);
        // An empty answer may mean "unreadable": only a real listing answers for children.
        if !names.is_empty() {
            self.listings.borrow_mut().insert(
                path.as_os_str().to_os_string(),
                names.iter().cloned().collect(),
            );
        }
        names
    }

    fn read(&self, path: &Path) -> Option<String> {
        if self.known_absent(path) {
            return None;
        }
        self.inner.read(path)
    }

    fn is_symlink(&self, path: &Path) -> bool {
        self.inner.is_symlink(path)
    }

    fn subdirs(&self, path: &Path, max_entries: usize) -> (Vec<String>, usize, bool) {
        self.inner.subdirs(path, max_entries)
    }

    fn dir_links(&self, path: &Path) -> Option<u64> {
        self.inner.dir_links(path)
    }
}
