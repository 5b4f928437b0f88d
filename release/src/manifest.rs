//! `manifest.json`: the machine-readable index of a release directory — every file with
//! its digest, size and kind, the source it was built from, and the crate set compiled
//! into the shipped binaries, which the next release diffs against (see `docs/release.md`).

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::crates::CrateRecord;

/// The manifest format this crate writes and reads.
pub const MANIFEST_SCHEMA: &str =
    "https://github.com/cordon-dev/cordon/blob/main/docs/release.md#manifest-v1";
/// The manifest's file name in a release directory.
pub const MANIFEST_FILE: &str = "manifest.json";

/// The index of one release directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// Always [`MANIFEST_SCHEMA`].
    pub schema: String,
    /// The product name (`cordon`).
    pub name: String,
    /// The release version.
    pub version: String,
    /// What was built.
    pub source: ManifestSource,
    /// Every file of the release directory except the manifest itself and the files
    /// written after it (`SHA256SUMS` and the signatures over the manifest and it).
    pub files: Vec<ManifestFile>,
    /// The crates compiled into the shipped binaries.
    pub crates: Vec<CrateRecord>,
}

/// The source of a release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestSource {
    /// `git+<url>` of the repository.
    pub repository: String,
    /// The ref built.
    #[serde(rename = "ref")]
    pub git_ref: String,
    /// The commit.
    pub commit: String,
    /// True when built from a worktree with uncommitted changes (`--allow-dirty`).
    pub dirty: bool,
    /// `SOURCE_DATE_EPOCH`: the commit time, in Unix seconds.
    pub source_date_epoch: i64,
}

/// One file of a release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestFile {
    /// The file name in the release directory.
    pub name: String,
    /// Lowercase hex SHA-256.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// What the file is.
    pub kind: FileKind,
    /// For signatures and SBOMs: the file(s) they are about.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub describes: Vec<String>,
}

/// The kinds of file a release holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileKind {
    /// A shipped binary.
    Binary,
    /// An archive of the shipped binaries and the included files (`.tar.gz`).
    Archive,
    /// A CycloneDX or SPDX document.
    Sbom,
    /// The in-toto provenance.
    Provenance,
    /// A Sigstore bundle.
    Signature,
    /// The markdown release notes.
    Notes,
    /// The Sigstore trusted root the bundles verify against.
    TrustedRoot,
    /// A checksum list.
    Checksums,
}

/// A manifest that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The file cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The manifest path.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a manifest this version understands.
    #[error("{}: not a cordon release manifest: {problem}", path.display())]
    Invalid {
        /// The manifest path.
        path: PathBuf,
        /// What is wrong (serde's message names line and column).
        problem: String,
    },
}

impl Manifest {
    /// Reads and checks the manifest at `path`.
    pub fn read(path: &Path) -> Result<Manifest, ManifestError> {
        let text = fs::read_to_string(path).map_err(|source| ManifestError::Io {
            path: path.to_owned(),
            source,
        })?;
        let invalid = |problem: String| ManifestError::Invalid {
            path: path.to_owned(),
            problem,
        };
        let manifest: Manifest =
            serde_json::from_str(&text).map_err(|error| invalid(error.to_string()))?;
        if manifest.schema != MANIFEST_SCHEMA {
            return Err(invalid(format!(
                "schema is {:?}, expected {MANIFEST_SCHEMA:?}",
                manifest.schema
            )));
        }
        Ok(manifest)
    }

    /// Pretty JSON with a final newline: the bytes written to `manifest.json`.
    pub fn to_json(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }
}

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

    fn manifest(version: &str) -> Manifest {
        Manifest {
            schema: MANIFEST_SCHEMA.into(),
            name: "cordon".into(),
            version: version.into(),
            source: ManifestSource {
                repository: "git+https://example.invalid/x".into(),
                git_ref: "HEAD".into(),
                commit: "c".repeat(40),
                dirty: false,
                source_date_epoch: 1,
            },
            files: vec![ManifestFile {
                name: "app".into(),
                sha256: "a".repeat(64),
                size: 3,
                kind: FileKind::Binary,
                describes: vec![],
            }],
            crates: vec![],
        }
    }

    #[test]
    fn round_trips_through_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(MANIFEST_FILE);
        fs::write(&path, manifest("1.0.0").to_json()).unwrap();
        assert_eq!(Manifest::read(&path).unwrap(), manifest("1.0.0"));
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains(r#""kind": "binary""#), "{text}");
    }

    #[test]
    fn a_foreign_file_is_rejected_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(MANIFEST_FILE);
        let mut other = manifest("1.0.0");
        other.schema = "something else".into();
        fs::write(&path, other.to_json()).unwrap();
        let error = Manifest::read(&path).unwrap_err().to_string();
        assert!(
            error.contains("manifest.json") && error.contains("schema"),
            "{error}"
        );
        fs::write(&path, "{").unwrap();
        assert!(Manifest::read(&path).is_err());
    }

    #[test]
    fn finds_the_newest_older_release() {
        let dist = tempfile::tempdir().unwrap();
        for version in ["0.9.0", "0.10.0", "1.0.0", "2.0.0"] {
            let dir = dist.path().join(version);
            fs::create_dir_all(&dir).unwrap();
            fs::write(dir.join(MANIFEST_FILE), manifest(version).to_json()).unwrap();
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
