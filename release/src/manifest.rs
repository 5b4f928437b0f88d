//! `manifest.json`, the index of a release directory: its types are `cordon-format`'s
//! (shared with the verifier); here is what only the signer needs, finding the previous
//! release whose crate set the next one's notes diff against.

use std::fs;
use std::path::{Path, PathBuf};

pub use cordon_format::names::MANIFEST_FILE;
pub use cordon_format::{
    FileKind, MANIFEST_SCHEMA, Manifest, ManifestError, ManifestFile, ManifestSource,
};

/// The newest release in `dist` older than `version`: directories named by a semver
/// version and holding a `manifest.json`. Hidden and unparsable names are ignored.
pub fn previous_release(
    dist: &Path,
    version: &semver::Version,
) -> Result<Option<(semver::Version, PathBuf)>, ManifestError> {
    let entries = match fs::read_dir(dist) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(ManifestError::Io {
                path: dist.to_owned(),
                source,
            });
        }
    };
    let mut best: Option<(semver::Version, PathBuf)> = None;
    for entry in entries {
        let entry = entry.map_err(|source| ManifestError::Io {
            path: dist.to_owned(),
            source,
        })?;
        let name = entry.file_name();
        let Some(Ok(candidate)) = name.to_str().map(semver::Version::parse) else {
            continue;
        };
        let manifest = entry.path().join(MANIFEST_FILE);
        if candidate < *version
            && manifest.is_file()
            && best.as_ref().is_none_or(|(found, _)| candidate > *found)
        {
            best = Some((candidate, manifest));
        }
    }
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_newest_older_release() {
        let dist = tempfile::tempdir().unwrap();
        for version in ["0.9.0", "0.10.0", "1.0.0", "2.0.0"] {
            let dir = dist.path().join(version);
            fs::create_dir_all(&dir).unwrap();
            // Only the file's presence matters here; its contents are read later.
            fs::write(dir.join(MANIFEST_FILE), b"{}").unwrap();
        }
        // Not releases: no manifest, hidden staging, not a version.
        fs::create_dir_all(dist.path().join("1.5.0")).unwrap();
        fs::create_dir_all(dist.path().join(".1.9.0.partial-1")).unwrap();
        fs::create_dir_all(dist.path().join("latest")).unwrap();
        let current = semver::Version::parse("1.9.0").unwrap();
        let (found, path) = previous_release(dist.path(), &current).unwrap().unwrap();
        assert_eq!(found.to_string(), "1.0.0");
        assert!(path.ends_with("1.0.0/manifest.json"));
        let first = semver::Version::parse("0.1.0").unwrap();
        assert!(previous_release(dist.path(), &first).unwrap().is_none());
        assert!(
            previous_release(&dist.path().join("none"), &first)
                .unwrap()
                .is_none()
        );
    }
}
