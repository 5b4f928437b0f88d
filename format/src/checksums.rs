//! `SHA256SUMS`: the checksum list of a release, in the text format `sha256sum -c`
//! reads. Rendered sorted by name (the same files always give the same bytes) and parsed
//! strictly: one `<64 hex digits><two spaces or space-star><plain file name>` per line,
//! no names that leave the directory, no duplicates, at least one entry.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Read};

use sha2::{Digest, Sha256};

/// The SHA-256 a `SHA256SUMS` line records: of everything `reader` yields, streamed in
/// 256 KiB blocks (constant memory whatever the size).
pub fn sha256_reader(mut reader: impl Read) -> io::Result<[u8; 32]> {
    let mut hasher = Sha256::new();
    let mut block = vec![0u8; 256 * 1024];
    loop {
        match reader.read(&mut block) {
            Ok(0) => return Ok(hasher.finalize().into()),
            Ok(n) => hasher.update(&block[..n]),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
}

/// Why a checksum list could not be parsed. Line numbers count from 1.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum Sha256SumsError {
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

/// A checksum list: file name to SHA-256.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sha256Sums {
    entries: BTreeMap<String, [u8; 32]>,
}

impl Sha256Sums {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `name`'s digest, replacing an earlier one for the same name.
    pub fn insert(&mut self, name: impl Into<String>, digest: [u8; 32]) {
        self.entries.insert(name.into(), digest);
    }

    /// The recorded digest of `name`.
    pub fn get(&self, name: &str) -> Option<&[u8; 32]> {
        self.entries.get(name)
    }

    /// The recorded names and digests, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8; 32])> {
        self.entries
            .iter()
            .map(|(name, digest)| (name.as_str(), digest))
    }

    /// How many files are listed.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no file is listed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The list in `sha256sum`'s text format: `<hex>  <name>\n` per file, sorted by name.
    pub fn render(&self) -> String {
        let mut text = String::new();
        for (name, digest) in &self.entries {
            // Writing to a String cannot fail.
            let _ = writeln!(text, "{}  {name}", hex::encode(digest));
        }
        text
    }

    /// Parses `sha256sum` output. Accepts the text (`"  "`) and binary (`" *"`)
    /// separators; rejects anything else, names with a `/`, `\` or NUL, hidden names,
    /// duplicates and an empty list.
    pub fn parse(text: &str) -> Result<Self, Sha256SumsError> {
        let mut entries = BTreeMap::new();
        for (index, line) in text.lines().enumerate() {
            let number = index + 1;
            let malformed = || Sha256SumsError::Malformed {
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
                return Err(Sha256SumsError::UnsafeName {
                    line: number,
                    name: name.to_owned(),
                });
            }
            if entries.insert(name.to_owned(), sha256).is_some() {
                return Err(Sha256SumsError::Duplicate {
                    line: number,
                    name: name.to_owned(),
                });
            }
        }
        if entries.is_empty() {
            return Err(Sha256SumsError::Empty);
        }
        Ok(Sha256Sums { entries })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn hashing_streams_across_blocks() {
        assert_eq!(hex::encode(sha256_reader(io::empty()).unwrap()), EMPTY);
        let data = vec![7u8; 600 * 1024 + 3];
        let streamed = sha256_reader(&data[..]).unwrap();
        assert_eq!(streamed, <[u8; 32]>::from(Sha256::digest(&data)));
    }

    #[test]
    fn rendering_is_sorted_and_in_sha256sum_format() {
        let mut sums = Sha256Sums::new();
        sums.insert("b", [1; 32]);
        sums.insert("a", [2; 32]);
        assert_eq!(
            sums.render(),
            format!("{}  a\n{}  b\n", "02".repeat(32), "01".repeat(32))
        );
    }

    #[test]
    fn what_is_rendered_parses_back() {
        let mut sums = Sha256Sums::new();
        sums.insert("cordon", [7; 32]);
        sums.insert("manifest.json", [9; 32]);
        assert_eq!(Sha256Sums::parse(&sums.render()).unwrap(), sums);
    }

    #[test]
    fn text_and_binary_separators_parse() {
        let list = Sha256Sums::parse(&format!("{EMPTY}  a\n{EMPTY} *b\n")).unwrap();
        let names: Vec<&str> = list.iter().map(|(name, _)| name).collect();
        assert_eq!(names, ["a", "b"]);
    }

    #[test]
    fn malformed_lines_name_their_line() {
        let error = Sha256Sums::parse(&format!("{EMPTY}  a\n{EMPTY} a\n")).unwrap_err();
        assert!(
            matches!(error, Sha256SumsError::Malformed { line: 2, .. }),
            "{error}"
        );
        let error = Sha256Sums::parse(&format!("{}  a\n", "zz".repeat(32))).unwrap_err();
        assert!(matches!(error, Sha256SumsError::Malformed { line: 1, .. }));
        let error = Sha256Sums::parse("short  a\n").unwrap_err();
        assert!(matches!(error, Sha256SumsError::Malformed { line: 1, .. }));
        assert_eq!(Sha256Sums::parse("").unwrap_err(), Sha256SumsError::Empty);
    }

    #[test]
    fn names_leaving_the_directory_are_rejected() {
        for bad in [
            "../etc/passwd",
            "/etc/passwd",
            "a/b",
            "a\\b",
            ".hidden",
            "..",
            "",
        ] {
            let error = Sha256Sums::parse(&format!("{EMPTY}  {bad}\n")).unwrap_err();
            assert!(
                matches!(error, Sha256SumsError::UnsafeName { .. }),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn duplicates_are_rejected() {
        let error = Sha256Sums::parse(&format!("{EMPTY}  a\n{EMPTY}  a\n")).unwrap_err();
        assert!(matches!(error, Sha256SumsError::Duplicate { line: 2, .. }));
    }
}
