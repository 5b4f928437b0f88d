//! The SHA-512s of registry `.crate` archives, computed from cargo's download cache
//! (`$CARGO_HOME/registry/cache/<index>/<name>-<version>.crate`) while `cargo metadata`
//! runs ([`crate::head_start`] says which and when): `Cargo.lock` already names every
//! package, version and checksum, so this reading and hashing need not wait for cargo's
//! answer. Each archive is read once and both digests are taken from the same bytes.
//!
//! This is only a head start. An archive counts only when its SHA-256 equals the lock
//! file's checksum, and the documents look an archive up by its cache directory, file
//! name and SHA-256 ([`CrateDigests::sha512`]); one that was not hashed here (another
//! lock file, another cargo home) is hashed when it is needed ([`crate::evidence`]), so
//! the documents are the same bytes either way.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256, Sha512};

/// SHA-512 (lower-case hex) by (cache directory name, file name, SHA-256).
#[derive(Debug, Default)]
pub(crate) struct CrateDigests {
    map: HashMap<(String, String, String), String>,
}

impl CrateDigests {
    /// Hashes the archive `<name>-<version>.crate` from the first of `caches` (cargo's
    /// download cache directories, [`cache_dirs`]) whose copy has the lock file's
    /// `sha256`. Not found, nothing hashed: that only means the work is done later.
    pub(crate) fn add(&mut self, name: &str, version: &str, sha256: &str, caches: &[PathBuf]) {
        let file_name = format!("{name}-{version}.crate");
        for cache in caches {
            let Some(index) = cache.file_name().and_then(|index| index.to_str()) else {
                continue;
            };
            let Ok(bytes) = std::fs::read(cache.join(&file_name)) else {
                continue;
            };
            if hex::encode(Sha256::digest(&bytes)) == sha256 {
                self.map.insert(
                    (index.to_owned(), file_name, sha256.to_owned()),
                    hex::encode(Sha512::digest(&bytes)),
                );
                return;
            }
        }
    }

    /// The SHA-512 of the archive at `path` (`…/cache/<index>/<name>-<version>.crate`)
    /// when it was hashed here and its SHA-256 is `sha256`.
    pub(crate) fn sha512(&self, path: &Path, sha256: &str) -> Option<&str> {
        let file_name = path.file_name()?.to_str()?;
        let index = path.parent()?.file_name()?.to_str()?;
        self.map
            .get(&(index.to_owned(), file_name.to_owned(), sha256.to_owned()))
            .map(String::as_str)
    }
}

/// The index directories of cargo's download cache, `$CARGO_HOME/registry/cache/*`.
pub(crate) fn cache_dirs() -> Vec<PathBuf> {
    registry_dirs("cache")
}

/// The index directories under `$CARGO_HOME/registry/KIND/` (`cache` for the downloaded
/// archives, `src` for the unpacked sources; `CARGO_HOME` defaults to `~/.cargo`), sorted.
pub(crate) fn registry_dirs(kind: &str) -> Vec<PathBuf> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")));
    let Some(home) = home else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(home.join("registry").join(kind)) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    dirs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_archives_up_by_cache_directory_file_name_and_sha256() {
        let mut digests = CrateDigests::default();
        digests.map.insert(
            (
                "index.crates.io-1".into(),
                "a-1.0.0.crate".into(),
                "ab".into(),
            ),
            "cd".into(),
        );
        let path = Path::new("/home/x/.cargo/registry/cache/index.crates.io-1/a-1.0.0.crate");
        assert_eq!(digests.sha512(path, "ab"), Some("cd"));
        assert_eq!(digests.sha512(path, "ef"), None);
        let elsewhere = Path::new("/home/x/.cargo/registry/cache/other-2/a-1.0.0.crate");
        assert_eq!(digests.sha512(elsewhere, "ab"), None);
    }
}
