//! `SHA256SUMS`: the checksum list of a release, in the format `sha256sum -c` reads.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use sha2::{Digest, Sha256};

/// SHA-256 of everything `reader` yields, streamed in 64 KiB blocks.
pub fn sha256_reader(mut reader: impl Read) -> io::Result<[u8; 32]> {
    let mut hasher = Sha256::new();
    let mut block = vec![0u8; 64 * 1024];
    loop {
        match reader.read(&mut block) {
            Ok(0) => return Ok(hasher.finalize().into()),
            Ok(n) => hasher.update(&block[..n]),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
}

/// SHA-256 of a file's contents.
pub fn sha256_file(path: &Path) -> io::Result<[u8; 32]> {
    sha256_reader(File::open(path)?)
}

/// A checksum list: file name to SHA-256, rendered sorted by name so the same files
/// always give the same bytes.
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

    /// The recorded names and digests, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8; 32])> {
        self.entries
            .iter()
            .map(|(name, digest)| (name.as_str(), digest))
    }

    /// The list in `sha256sum`'s text format: `<hex>  <name>\n` per file.
    pub fn render(&self) -> String {
        let mut text = String::new();
        for (name, digest) in &self.entries {
            // Writing to a String cannot fail.
            let _ = writeln!(text, "{}  {name}", hex::encode(digest));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_input_has_the_well_known_digest() {
        let digest = sha256_reader(io::empty()).unwrap();
        assert_eq!(
            hex::encode(digest),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn long_input_streams_across_blocks() {
        let data = vec![7u8; 200 * 1024 + 3];
        let streamed = sha256_reader(&data[..]).unwrap();
        let direct: [u8; 32] = Sha256::digest(&data).into();
        assert_eq!(streamed, direct);
    }

    #[test]
    fn rendering_is_sorted_and_in_sha256sum_format() {
        let mut sums = Sha256Sums::new();
        sums.insert("b", [1; 32]);
        sums.insert("a", [2; 32]);
        let text = sums.render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].ends_with("  a"));
        assert!(lines[0].starts_with(&"02".repeat(32)));
        assert!(lines[1].ends_with("  b"));
        assert!(text.ends_with('\n'));
    }
}
