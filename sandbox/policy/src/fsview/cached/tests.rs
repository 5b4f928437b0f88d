//! The cached view answers exactly as the real filesystem does (links, missing and
//! unreadable parents, odd spellings of paths), and asks it far less.

use std::cell::Cell;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use super::{Cached, LIST_AT_QUESTION};
use crate::fsview::{Entries, EntryType, FsView, Kind, RealFs};

/// The real filesystem, counting what is asked of it; `listable: false` makes every
/// listing fail, as an unreadable directory's does for a user who is not root.
#[derive(Default)]
struct Counting {
    kinds: Cell<usize>,
    listings: Cell<usize>,
    unlistable: bool,
}

impl FsView for Counting {
    fn kind(&self, path: &Path) -> Option<Kind> {
        self.kinds.set(self.kinds.get() + 1);
        RealFs.kind(path)
    }
    fn list(&self, path: &Path) -> Vec<String> {
        RealFs.list(path)
    }
    fn read(&self, path: &Path) -> Option<String> {
        RealFs.read(path)
    }
    fn is_symlink(&self, path: &Path) -> bool {
        self.kinds.set(self.kinds.get() + 1);
        RealFs.is_symlink(path)
    }
    fn entries(&self, path: &Path, max_entries: usize) -> Entries {
        self.listings.set(self.listings.get() + 1);
        if self.unlistable {
            return Entries::Unknown;
        }
        RealFs.entries(path, max_entries)
    }
}

/// A tree with every case: directories, files, links to each, a dangling link, a loop,
/// a file where a directory is expected, a directory that may be searched but not read.
fn tree() -> (tempfile::TempDir, Vec<PathBuf>) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("home/.config/gh")).unwrap();
    std::fs::write(root.join("home/.config/gh/hosts.yml"), "token").unwrap();
    std::fs::write(root.join("home/.netrc"), "machine").unwrap();
    std::fs::create_dir(root.join("target")).unwrap();
    std::fs::write(root.join("target/file"), "text").unwrap();
    symlink(root.join("target"), root.join("home/.aws")).unwrap();
    symlink(root.join("target/file"), root.join("home/.npmrc")).unwrap();
    symlink(root.join("nowhere"), root.join("home/.docker")).unwrap();
    symlink(root.join("home/.loop"), root.join("home/.loop")).unwrap();
    std::fs::create_dir(root.join("home/locked")).unwrap();
    std::fs::write(root.join("home/locked/inside"), "x").unwrap();
    std::fs::set_permissions(
        root.join("home/locked"),
        std::fs::Permissions::from_mode(0o311),
    )
    .unwrap();
    let names = [
        "home",
        "home/.config",
        "home/.config/gh",
        "home/.config/gh/hosts.yml",
        "home/.config/missing",
        "home/.netrc",
        "home/.netrc/below-a-file",
        "home/.aws",
        "home/.aws/file",
        "home/.aws/missing",
        "home/.npmrc",
        "home/.docker",
        "home/.docker/config.json",
        "home/.loop",
        "home/.loop/x",
        "home/locked",
        "home/locked/inside",
        "home/locked/missing",
        "home/absent",
        "home/absent/deeper",
        "home/absent/deeper/still",
        "home/.config/./gh",
        "home/.config//gh",
        "home/.config/gh/",
        "home/.netrc/",
        "home/.config/gh/..",
        "home/absent/..",
    ];
    let mut paths: Vec<PathBuf> = names
        .iter()
        .map(|name| PathBuf::from(format!("{}/{name}", root.display())))
        .collect();
    paths.push(PathBuf::from("/"));
    (dir, paths)
}

fn assert_same_answers(view: &dyn FsView, paths: &[PathBuf]) {
    // Twice over, forwards then backwards: the second question about a directory's
    // names lists it, so both the listed and the unlisted answers are compared.
    for path in paths.iter().chain(paths.iter().rev()) {
        assert_eq!(
            view.kind(path),
            RealFs.kind(path),
            "kind of {}",
            path.display()
        );
        assert_eq!(
            view.is_symlink(path),
            RealFs.is_symlink(path),
            "is_symlink of {}",
            path.display()
        );
        assert_eq!(
            view.read(path),
            RealFs.read(path),
            "read of {}",
            path.display()
        );
    }
    for path in paths {
        assert_eq!(
            view.list(path),
            RealFs.list(path),
            "list of {}",
            path.display()
        );
    }
}

#[test]
fn listed_answers_are_the_filesystems_answers() {
    let (_dir, paths) = tree();
    let counting = Counting::default();
    assert_same_answers(&Cached::new(&counting), &paths);
    assert!(counting.listings.get() > 0, "nothing was listed");
}

#[test]
fn an_unlistable_directory_is_asked_about_name_by_name() {
    let (_dir, paths) = tree();
    let counting = Counting {
        unlistable: true,
        ..Counting::default()
    };
    assert_same_answers(&Cached::new(&counting), &paths);
}

#[test]
fn a_directory_asked_about_often_is_listed_once() {
    let (dir, _) = tree();
    let config = dir.path().join("home/.config");
    let counting = Counting::default();
    let cached = Cached::new(&counting);
    for name in ["a", "b", "c", "d", "e", "f", "gh"] {
        let expected = (name == "gh").then_some(Kind::Dir);
        assert_eq!(cached.kind(&config.join(name)), expected);
    }
    assert_eq!(counting.listings.get(), 1);
    assert_eq!(counting.kinds.get() as u32, LIST_AT_QUESTION - 1);
}

#[test]
fn nothing_under_a_missing_directory_is_asked_about_twice() {
    let (dir, _) = tree();
    let absent = dir.path().join("home/absent");
    let counting = Counting::default();
    let cached = Cached::new(&counting);
    for name in ["a", "b", "c", "d", "e"] {
        assert_eq!(cached.kind(&absent.join(name)), None);
    }
    for name in ["a", "b", "c", "d", "e"] {
        assert!(!cached.is_symlink(&absent.join(name)));
        assert_eq!(cached.read(&absent.join(name)), None);
    }
    assert_eq!(counting.kinds.get() + counting.listings.get(), 2);
}

#[test]
fn a_directory_too_large_to_list_is_not_listed() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["a", "b", "c"] {
        std::fs::write(dir.path().join(name), "").unwrap();
    }
    assert_eq!(RealFs.entries(dir.path(), 2), Entries::Unknown);
    let Entries::Listed(entries) = RealFs.entries(dir.path(), 3) else {
        panic!("three entries are listed in full");
    };
    assert_eq!(entries.len(), 3);
    assert!(entries.iter().all(|(_, kind)| *kind == EntryType::Other));
    assert_eq!(
        RealFs.entries(&dir.path().join("a"), 3),
        Entries::NoChildren,
        "a file has nothing under it"
    );
}
