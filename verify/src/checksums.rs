//! `SHA256SUMS` files checked against the files beside them. The list is parsed strictly
//! by `cordon-format` ([`Sha256Sums::parse`]), the format the signer renders.

use std::fs::File;
use std::io;
use std::path::Path;

use cordon_format::Sha256Sums;

/// One entry of a checksum list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// The file name, relative to the list's directory.
    pub name: String,
    /// The recorded SHA-256.
    pub sha256: [u8; 32],
}

/// What checking one entry found.
#[derive(Debug)]
#[non_exhaustive]
pub(crate) enum Outcome {
    /// The file's digest equals the recorded one.
    Ok,
    /// The file's digest differs.
    Mismatch {
        /// The digest of the file as found.
        actual: [u8; 32],
    },
    /// The file is absent.
    Missing,
    /// The path exists but is not a regular file (a directory, a device, ...).
    NotAFile,
    /// The path is a symlink, which is never followed.
    Symlink {
        /// Where it points, as written in the link.
        target: std::path::PathBuf,
        /// Whether that is outside the directory.
        outside: bool,
    },
    /// The file exists but could not be read.
    Unreadable(io::Error),
}

/// The outcome for one entry.
#[derive(Debug)]
pub(crate) struct Checked {
    /// The entry that was checked.
    pub entry: Entry,
    /// What was found.
    pub outcome: Outcome,
}

impl Checked {
    /// Why the entry failed, without its name; `ok` when it passed.
    pub(crate) fn reason(&self) -> String {
        match &self.outcome {
            Outcome::Ok => "ok".to_owned(),
            Outcome::Mismatch { actual } => format!(
                "sha256 is {}, the list says {}",
                hex::encode(actual),
                hex::encode(self.entry.sha256)
            ),
            Outcome::Missing => "listed but absent".to_owned(),
            Outcome::NotAFile => "not a regular file (a directory or device)".to_owned(),
            Outcome::Symlink { target, outside } => format!(
                "a symlink to {}{}; release files must be regular files",
                target.display(),
                if *outside {
                    ", outside the directory"
                } else {
                    ""
                }
            ),
            Outcome::Unreadable(error) => format!("cannot read: {error}"),
        }
    }
}

/// Checks every entry of `list` against the files in `dir`, in name order. Symlinks are
/// never followed.
pub(crate) fn check(list: &Sha256Sums, dir: &Path) -> Vec<Checked> {
    list.iter()
        .map(|(name, sha256)| Checked {
            entry: Entry {
                name: name.to_owned(),
                sha256: *sha256,
            },
            outcome: check_one(&dir.join(name), sha256),
        })
        .collect()
}

fn check_one(path: &Path, expected: &[u8; 32]) -> Outcome {
    let inspected = match path.symlink_metadata() {
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Outcome::Missing,
        Err(error) => return Outcome::Unreadable(error),
        Ok(metadata) if metadata.file_type().is_symlink() => {
            return match path.read_link() {
                Ok(target) => Outcome::Symlink {
                    outside: crate::inventory::leaves_directory(&target),
                    target,
                },
                Err(error) => Outcome::Unreadable(error),
            };
        }
        Ok(metadata) if !metadata.file_type().is_file() => return Outcome::NotAFile,
        Ok(metadata) => metadata,
    };
    match sha256_file(path, &inspected) {
        Ok(actual) if &actual == expected => Outcome::Ok,
        Ok(actual) => Outcome::Mismatch { actual },
        Err(error) => Outcome::Unreadable(error),
    }
}

/// Hashes the regular file `inspected` describes (from `lstat`); if `path` was swapped
/// for something else (a symlink) since, the opened file is not that one and is refused.
fn sha256_file(path: &Path, inspected: &std::fs::Metadata) -> io::Result<[u8; 32]> {
    use std::os::unix::fs::MetadataExt as _;
    let mut file = File::open(path)?;
    let opened = file.metadata()?;
    if (opened.dev(), opened.ino()) != (inspected.dev(), inspected.ino()) {
        return Err(io::Error::other(
            "the file was replaced while it was being checked",
        ));
    }
    crate::input::sha256_reader(&mut file)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn check_reports_each_kind_of_failure() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("good"), b"").unwrap();
        std::fs::write(dir.path().join("bad"), b"changed").unwrap();
        std::fs::create_dir(dir.path().join("dir")).unwrap();
        std::os::unix::fs::symlink("good", dir.path().join("link")).unwrap();
        let text = ["good", "bad", "gone", "dir", "link"]
            .iter()
            .map(|name| format!("{EMPTY}  {name}\n"))
            .collect::<String>();
        let results = check(&Sha256Sums::parse(&text).unwrap(), dir.path());
        // In name order: bad, dir, gone, good, link.
        assert!(matches!(results[0].outcome, Outcome::Mismatch { .. }));
        assert!(matches!(results[1].outcome, Outcome::NotAFile));
        assert!(matches!(results[2].outcome, Outcome::Missing));
        assert!(matches!(results[3].outcome, Outcome::Ok));
        assert!(matches!(
            results[4].outcome,
            Outcome::Symlink { outside: false, .. }
        ));
        assert!(results[0].reason().contains("the list says e3b0c442"));
    }
}
