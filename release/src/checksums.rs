//! The files a release lists, hashed. The list itself ([`Sha256Sums`]) and the streaming
//! digest ([`sha256_reader`]) are `cordon-format`'s, shared with the verifier.

use std::fs::File;
use std::io;
use std::path::Path;

pub use cordon_format::{Sha256Sums, sha256_reader};

/// SHA-256 of a file's contents.
pub fn sha256_file(path: &Path) -> io::Result<[u8; 32]> {
    sha256_reader(File::open(path)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_hashes_like_sha256sum() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hello.txt");
        std::fs::write(&path, b"hello\n").unwrap();
        assert_eq!(
            hex::encode(sha256_file(&path).unwrap()),
            "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
        );
        assert!(sha256_file(&dir.path().join("absent")).is_err());
    }
}
