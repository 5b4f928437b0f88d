//! What a release directory holds beyond what its lists name: unexpected files, and
//! symlinks (with where they point). Nothing here follows a symlink.

use std::collections::BTreeSet;
use std::fmt;
use std::io;
use std::path::{Component, Path, PathBuf};

/// An entry of the directory that no list names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unlisted {
    /// A regular file.
    File(String),
    /// A symlink, with its target and whether the target leaves the directory.
    Symlink {
        /// The entry's name.
        name: String,
        /// Where it points, as written in the link.
        target: PathBuf,
        /// Whether the target resolves outside the directory.
        outside: bool,
    },
    /// A subdirectory.
    Directory(String),
    /// A device, pipe or socket.
    Other(String),
}

impl fmt::Display for Unlisted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name(), self.description())
    }
}

impl Unlisted {
    /// The entry's name in the directory.
    pub(crate) fn name(&self) -> &str {
        match self {
            Unlisted::File(name) | Unlisted::Directory(name) | Unlisted::Other(name) => name,
            Unlisted::Symlink { name, .. } => name,
        }
    }

    /// What the entry is, without its name (`a file no list names`, ...).
    pub(crate) fn description(&self) -> String {
        match self {
            Unlisted::File(_) => "a file no list names".to_owned(),
            Unlisted::Symlink {
                target,
                outside: true,
                ..
            } => format!(
                "a symlink to {} which points outside the directory",
                target.display()
            ),
            Unlisted::Symlink { target, .. } => {
                format!("a symlink to {} that no list names", target.display())
            }
            Unlisted::Directory(_) => "a directory no list names".to_owned(),
            Unlisted::Other(_) => "a device, pipe or socket".to_owned(),
        }
    }
}

/// Whether a symlink target, relative to the directory holding the link, leaves it.
/// Absolute targets always do; `..` that climbs above the directory does.
pub(crate) fn leaves_directory(target: &Path) -> bool {
    let mut depth: i64 = 0;
    for component in target.components() {
        match component {
            Component::Prefix(_) | Component::RootDir => return true,
            Component::ParentDir => {
                depth -= 1;
                if depth < 0 {
                    return true;
                }
            }
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
        }
    }
    false
}

/// The entries of `dir` not in `listed`, sorted by name. Names that are not UTF-8 are
/// reported lossily (they can never be listed).
pub(crate) fn unlisted(dir: &Path, listed: &BTreeSet<String>) -> io::Result<Vec<Unlisted>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if listed.contains(&name) {
            continue;
        }
        let file_type = entry.file_type()?;
        found.push(if file_type.is_symlink() {
            let target = std::fs::read_link(entry.path())?;
            Unlisted::Symlink {
                outside: leaves_directory(&target),
                name,
                target,
            }
        } else if file_type.is_file() {
            Unlisted::File(name)
        } else if file_type.is_dir() {
            Unlisted::Directory(name)
        } else {
            Unlisted::Other(name)
        });
    }
    found.sort_by_key(ToString::to_string);
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_that_leave_the_directory() {
        for outside in ["/etc/passwd", "..", "../x", "a/../../x", "./../x"] {
            assert!(leaves_directory(Path::new(outside)), "{outside}");
        }
        for inside in ["a", "./a", "a/../b", "a/b/../../c"] {
            assert!(!leaves_directory(Path::new(inside)), "{inside}");
        }
    }

    #[test]
    fn unlisted_entries_are_found_and_described() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path();
        std::fs::write(path.join("listed"), b"").unwrap();
        std::fs::write(path.join("extra"), b"").unwrap();
        std::fs::create_dir(path.join("sub")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", path.join("escape")).unwrap();
        std::os::unix::fs::symlink("listed", path.join("alias")).unwrap();
        let listed = BTreeSet::from(["listed".to_owned()]);
        let found = unlisted(path, &listed).unwrap();
        let lines: Vec<String> = found.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "alias: a symlink to listed that no list names",
                "escape: a symlink to /etc/passwd which points outside the directory",
                "extra: a file no list names",
                "sub: a directory no list names",
            ]
        );
    }
}
