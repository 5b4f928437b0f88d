//! `SHA256SUMS` files: parsed strictly, then checked against the files beside them.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use sha2::{Digest, Sha256};

/// Why a checksum list could not be parsed. Line numbers count from 1.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    /// A line is not `<64 hex digits><two spaces or space-star><file name>`.
    #[error("line {line}: expected '<64 hex digits>  <file name>', found {found:?}")]
    Malformed {
        /// The line number.
        line: usize,
        /// The offending line, shortened to 80 characters.
        found: String,
    },
    /// A file name that is not a plain name inside the release directory.
    #[error("line {line}: file name {name:?} must be a plain name inside the directory")]
    UnsafeName {
        /// The line number.
        line: usize,
        /// The rejected name.
        name: String,
    },
    /// The same file listed twice.
    #[error("line {line}: {name:?} is listed twice")]
    Duplicate {
        /// The line number of the second listing.
        line: usize,
        /// The repeated name.
        name: String,
    },
    /// No entries at all.
    #[error("the list is empty")]
    Empty,
}

/// One entry of a checksum list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The file name, relative to the list's directory.
    pub name: String,
    /// The recorded SHA-256.
    pub sha256: [u8; 32],
}

/// A parsed `SHA256SUMS` file, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChecksumList {
    entries: Vec<Entry>,
}

/// What checking one entry found.
#[derive(Debug)]
pub enum Outcome {
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
pub struct Checked {
    /// The entry that was checked.
    pub entry: Entry,
    /// What was found.
    pub outcome: Outcome,
}

impl fmt::Display for Checked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = &self.entry.name;
        match &self.outcome {
            Outcome::Ok => write!(f, "ok      {name}"),
            Outcome::Mismatch { actual } => write!(
                f,
                "FAILED  {name}: sha256 is {}, the list says {}",
                hex::encode(actual),
                hex::encode(self.entry.sha256)
            ),
            Outcome::Missing => write!(f, "FAILED  {name}: listed but absent"),
            Outcome::NotAFile => {
                write!(
                    f,
                    "FAILED  {name}: not a regular file (a directory or device)"
                )
            }
            Outcome::Symlink { target, outside } => write!(
                f,
                "FAILED  {name}: a symlink to {}{}; release files must be regular files",
                target.display(),
                if *outside {
                    ", outside the directory"
                } else {
                    ""
                }
            ),
            Outcome::Unreadable(error) => write!(f, "FAILED  {name}: cannot read: {error}"),
        }
    }
}

impl ChecksumList {
    /// Parses `sha256sum` output. Accepts the text (`"  "`) and binary (`" *"`)
    /// separators; rejects anything else, names with a `/`, hidden names, and duplicates.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let mut entries: Vec<Entry> = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let number = index + 1;
            let malformed = || ParseError::Malformed {
                line: number,
                found: line.chars().take(80).collect(),
            };
            let (digest, rest) = line.split_at_checked(64).ok_or_else(malformed)?;
            let name = rest
                .strip_prefix("  ")
                .or_else(|| rest.strip_prefix(" *"))
                .ok_or_else(malformed)?;
            let mut sha256 = [0u8; 32];
            hex::decode_to_slice(digest, &mut sha256).map_err(|_| malformed())?;
            if name.is_empty() || name.starts_with('.') || name.contains(['/', '\\', '\0']) {
                return Err(ParseError::UnsafeName {
                    line: number,
                    name: name.to_owned(),
                });
            }
            if entries.iter().any(|entry| entry.name == name) {
                return Err(ParseError::Duplicate {
                    line: number,
                    name: name.to_owned(),
                });
            }
            entries.push(Entry {
                name: name.to_owned(),
                sha256,
            });
        }
        if entries.is_empty() {
            return Err(ParseError::Empty);
        }
        Ok(ChecksumList { entries })
    }

    /// The entries, in file order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Checks every entry against the files in `dir`. Symlinks are never followed.
    pub fn check(&self, dir: &Path) -> Vec<Checked> {
        self.entries
            .iter()
            .map(|entry| Checked {
                entry: entry.clone(),
                outcome: check_one(&dir.join(&entry.name), &entry.sha256),
            })
            .collect()
    }
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
    let mut hasher = Sha256::new();
    let mut block = vec![0u8; 256 * 1024];
    loop {
        match file.read(&mut block) {
            Ok(0) => return Ok(hasher.finalize().into()),
            Ok(n) => hasher.update(&block[..n]),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn text_and_binary_separators_parse() {
        let list = ChecksumList::parse(&format!("{EMPTY}  a\n{EMPTY} *b\n")).unwrap();
        let names: Vec<&str> = list.entries().iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
    }

    #[test]
    fn malformed_lines_name_their_line() {
        let error = ChecksumList::parse(&format!("{EMPTY}  a\n{EMPTY} a\n")).unwrap_err();
        assert!(
            matches!(error, ParseError::Malformed { line: 2, .. }),
            "{error}"
        );
        let error = ChecksumList::parse(&format!("{}  a\n", "zz".repeat(32))).unwrap_err();
        assert!(matches!(error, ParseError::Malformed { line: 1, .. }));
        let error = ChecksumList::parse("short  a\n").unwrap_err();
        assert!(matches!(error, ParseError::Malformed { line: 1, .. }));
        assert_eq!(ChecksumList::parse("").unwrap_err(), ParseError::Empty);
    }

    #[test]
    fn names_leaving_the_directory_are_rejected() {
        for bad in ["../etc/passwd", "/etc/passwd", "a/b", ".hidden", "..", ""] {
            let error = ChecksumList::parse(&format!("{EMPTY}  {bad}\n")).unwrap_err();
            assert!(
                matches!(error, ParseError::UnsafeName { .. }),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn duplicates_are_rejected() {
        let error = ChecksumList::parse(&format!("{EMPTY}  a\n{EMPTY}  a\n")).unwrap_err();
        assert!(matches!(error, ParseError::Duplicate { line: 2, .. }));
    }

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
        let results = ChecksumList::parse(&text).unwrap().check(dir.path());
        assert!(matches!(results[0].outcome, Outcome::Ok));
        assert!(matches!(results[1].outcome, Outcome::Mismatch { .. }));
        assert!(matches!(results[2].outcome, Outcome::Missing));
        assert!(matches!(results[3].outcome, Outcome::NotAFile));
        assert!(matches!(
            results[4].outcome,
            Outcome::Symlink { outside: false, .. }
        ));
        assert!(results[1].to_string().contains("the list says e3b0c442"));
    }
}
