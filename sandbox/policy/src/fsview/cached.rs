//! A view that remembers what another view answered, so that resolution asks the
//! filesystem about each path once, and that answers most of its questions from
//! directory listings: the built-in catalog asks about ~190 paths in a handful of
//! directories (the home directory, `~/.config`, `~/.local/share`, the project), most of
//! them absent on any one machine. A directory asked about twice is listed once (one
//! `openat` and `getdents64`) and answers for every name under it; a missing directory
//! answers "absent" for everything under it.
//!
//! The answers are exactly those of the view underneath:
//! - a listing only says "absent" for a name it does not hold, and only when it is
//!   complete (an unreadable directory, an error while reading or a very large directory
//!   gives no listing, and each name is then asked about by `stat`);
//! - a listed symbolic link, or an entry whose type the listing does not give, is asked
//!   about by `stat` (which follows links, as [`FsView::kind`] does);
//! - only plain absolute paths (`/a/b`, not `/a/./b`, `/a/b/` or `/a/b/..`) are answered
//!   from their parent's listing: the others are not always the parent's entry by name.
//!
//! A listing is a snapshot taken during resolution, before the question it answers; a
//! path created after it was taken is missed exactly as one created after its own `stat`
//! would be: resolution is a snapshot of the filesystem either way.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::path::{Component, Path};

use super::{Entries, EntryType, FsView, Kind};

/// How many names under one directory are asked about before the directory is listed:
/// a listing costs about what three `stat`s do, and most directories are asked about
/// once (an ancestor, a single configuration file) or dozens of times (the home
/// directory, `~/.config`).
const LIST_AT_QUESTION: u32 = 2;

/// A directory is listed only when it has at most this many entries; a larger one (a
/// home directory kept as a dumping ground) is asked about name by name.
const MAX_LISTED_ENTRIES: usize = 2048;

/// What is known about the names under one directory.
enum Under {
    /// Not listed yet: how many of its names were asked about.
    Asked(u32),
    /// The complete listing: each name with its type as listed.
    Listed(HashMap<OsString, EntryType>),
    /// Nothing is under it (it is missing or not a directory).
    Nothing,
    /// Listing it did not tell (unreadable, too large, an error): ask name by name.
    Unlistable,
}

/// What the parent's listing says about a path.
enum FromParent {
    /// The path does not exist.
    Absent,
    /// The path is listed with this type.
    Listed(EntryType),
    /// The parent does not tell: ask the view underneath.
    Unknown,
}

/// Remembers what another view answered and answers from directory listings.
pub(crate) struct Cached<'a> {
    inner: &'a dyn FsView,
    kinds: RefCell<HashMap<OsString, Option<Kind>>>,
    under: RefCell<HashMap<OsString, Under>>,
}

impl<'a> Cached<'a> {
    pub(crate) fn new(inner: &'a dyn FsView) -> Self {
        Cached {
            inner,
            kinds: RefCell::default(),
            under: RefCell::default(),
        }
    }

    /// What `path`'s parent tells about it, listing the parent once it has been asked
    /// about often enough (`count` says whether this question counts towards that), or
    /// what a listed ancestor tells about the parent.
    fn from_parent(&self, path: &Path, count: bool) -> FromParent {
        let Some((parent, name)) = plain_parent(path) else {
            return FromParent::Unknown;
        };
        // A parent known to be missing or a file has nothing under it.
        if matches!(
            self.kinds.borrow().get(parent.as_os_str()),
            Some(None | Some(Kind::File))
        ) {
            return FromParent::Absent;
        }
        if count && self.count_question(parent) {
            self.list_once(parent);
        }
        match self.under.borrow().get(parent.as_os_str()) {
            Some(Under::Listed(names)) => {
                return match names.get(name) {
                    Some(kind) => FromParent::Listed(*kind),
                    None => FromParent::Absent,
                };
            }
            Some(Under::Nothing) => return FromParent::Absent,
            _ => {}
        }
        // `~/.local/share/app/x` is absent when `~/.local`'s listing has no `share`.
        match self.from_parent(parent, false) {
            FromParent::Absent | FromParent::Listed(EntryType::Other) => FromParent::Absent,
            _ => FromParent::Unknown,
        }
    }

    /// Counts a question about a name in `dir`: true when `dir` is now to be listed.
    fn count_question(&self, dir: &Path) -> bool {
        let mut under = self.under.borrow_mut();
        match under.get_mut(dir.as_os_str()) {
            Some(Under::Asked(asked)) => {
                *asked += 1;
                *asked >= LIST_AT_QUESTION
            }
            Some(_) => false,
            None => {
                under.insert(dir.as_os_str().to_os_string(), Under::Asked(1));
                LIST_AT_QUESTION <= 1
            }
        }
    }

    /// Lists `dir` unless it was listed already, and remembers what that told.
    fn list_once(&self, dir: &Path) {
        if matches!(
            self.under.borrow().get(dir.as_os_str()),
            Some(Under::Listed(_) | Under::Nothing | Under::Unlistable)
        ) {
            return;
        }
        let state = match self.inner.entries(dir, MAX_LISTED_ENTRIES) {
            Entries::Listed(entries) => Under::Listed(entries.into_iter().collect()),
            Entries::NoChildren => Under::Nothing,
            Entries::Unknown => Under::Unlistable,
        };
        self.under
            .borrow_mut()
            .insert(dir.as_os_str().to_os_string(), state);
    }
}

/// `path`'s parent and its name in it, for a plain absolute path: one written exactly as
/// `/` and its names joined by single `/` (not `/a/./b`, `/a//b`, `/a/b/`, `/a/b/..` or
/// relative), which is then its parent's entry by that name.
fn plain_parent(path: &Path) -> Option<(&Path, &OsStr)> {
    let bytes = path.as_os_str().as_encoded_bytes();
    let mut components = path.components();
    if components.next() != Some(Component::RootDir) {
        return None;
    }
    let mut at = 1;
    for component in components {
        let Component::Normal(name) = component else {
            return None;
        };
        let name = name.as_encoded_bytes();
        if at > 1 {
            if bytes.get(at) != Some(&b'/') {
                return None;
            }
            at += 1;
        }
        if bytes.get(at..at + name.len()) != Some(name) {
            return None;
        }
        at += name.len();
    }
    if at != bytes.len() {
        return None;
    }
    Some((path.parent()?, path.file_name()?))
}

impl FsView for Cached<'_> {
    fn kind(&self, path: &Path) -> Option<Kind> {
        // Keyed by the bytes: comparing `Path`s walks their components.
        if let Some(kind) = self.kinds.borrow().get(path.as_os_str()) {
            return *kind;
        }
        let kind = match self.from_parent(path, true) {
            FromParent::Absent => None,
            FromParent::Listed(EntryType::Dir) => Some(Kind::Dir),
            FromParent::Listed(EntryType::Other) => Some(Kind::File),
            FromParent::Listed(EntryType::Symlink | EntryType::Unknown) | FromParent::Unknown => {
                self.inner.kind(path)
            }
        };
        self.kinds
            .borrow_mut()
            .insert(path.as_os_str().to_os_string(), kind);
        kind
    }

    fn list(&self, path: &Path) -> Vec<String> {
        self.list_once(path);
        match self.under.borrow().get(path.as_os_str()) {
            Some(Under::Listed(names)) => {
                // As the view underneath lists: the names that are text, sorted.
                let mut names: Vec<String> = names
                    .keys()
                    .filter_map(|name| name.to_str().map(ToOwned::to_owned))
                    .collect();
                names.sort();
                return names;
            }
            Some(Under::Nothing) => return Vec::new(),
            _ => {}
        }
        self.inner.list(path)
    }

    fn read(&self, path: &Path) -> Option<String> {
        if matches!(self.from_parent(path, false), FromParent::Absent) {
            return None;
        }
        self.inner.read(path)
    }

    fn is_symlink(&self, path: &Path) -> bool {
        match self.from_parent(path, false) {
            FromParent::Absent => false,
            FromParent::Listed(EntryType::Symlink) => true,
            FromParent::Listed(EntryType::Dir | EntryType::Other) => false,
            FromParent::Listed(EntryType::Unknown) | FromParent::Unknown => {
                self.inner.is_symlink(path)
            }
        }
    }

    fn subdirs(&self, path: &Path, max_entries: usize) -> (Vec<String>, usize, bool) {
        self.inner.subdirs(path, max_entries)
    }

    fn dir_links(&self, path: &Path) -> Option<u64> {
        self.inner.dir_links(path)
    }

    fn entries(&self, path: &Path, max_entries: usize) -> Entries {
        self.inner.entries(path, max_entries)
    }
}

#[cfg(test)]
mod tests;
