//! `manifest.json`: the machine-readable index of a release directory — every file with
//! its digest, size and kind, the source it was built from, and the crate set compiled
//! into the shipped binaries, which the next release diffs against (see
//! `docs/release.md`). The signer writes it with [`Manifest::to_json`]; the verifier
//! reads it with [`Manifest::parse`], which checks the schema and every field's type.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The manifest format this crate writes and reads.
pub const MANIFEST_SCHEMA: &str =
    "https://github.com/cordon-dev/cordon/blob/main/docs/release.md#manifest-v1";

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
#[non_exhaustive]
pub enum FileKind {
    /// A shipped binary.
    Binary,
    /// An archive of the shipped binaries and the included files (`.tar.gz`); the
    /// provenance names it as a subject.
    Archive,
    /// A CycloneDX or SPDX document.
    Sbom,
    /// The in-toto provenance.
    Provenance,
    /// A Sigstore bundle.
    Signature,
    /// A keyless Sigstore bundle (public-good Fulcio, Rekor, TSA) of the one file it
    /// describes, beside that file's [`FileKind::Signature`] bundle; for the provenance,
    /// a keyless DSSE bundle of the same statement.
    KeylessSignature,
    /// The markdown release notes.
    Notes,
    /// The Sigstore trusted root the bundles verify against.
    TrustedRoot,
    /// A checksum list.
    Checksums,
    /// A VEX document (OpenVEX or CycloneDX VEX, as written in the repository) saying
    /// which advisories the release is not affected by; `cordon-verify report` applies
    /// it by default.
    Vex,
}

impl FileKind {
    /// The name `manifest.json` uses (`binary`, `trusted-root`, ...).
    pub fn name(self) -> &'static str {
        match self {
            FileKind::Binary => "binary",
            FileKind::Archive => "archive",
            FileKind::Sbom => "sbom",
            FileKind::Provenance => "provenance",
            FileKind::Signature => "signature",
            FileKind::KeylessSignature => "keyless-signature",
            FileKind::Notes => "notes",
            FileKind::TrustedRoot => "trusted-root",
            FileKind::Checksums => "checksums",
            FileKind::Vex => "vex",
        }
    }
}

impl std::fmt::Display for FileKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One crate compiled into at least one shipped binary.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CrateRecord {
    /// The crate (package) name.
    pub name: String,
    /// Its exact version.
    pub version: String,
    /// Where it came from: cargo's source id (`registry+https://...`, `git+...`), or none
    /// for a path or workspace crate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The shipped binaries that contain it, sorted.
    #[serde(default)]
    pub binaries: Vec<String>,
}

/// A manifest that cannot be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
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
        let bytes = std::fs::read(path).map_err(|source| ManifestError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&bytes, path)
    }

    /// Parses and checks a manifest's bytes; `path` names it in errors.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Manifest, ManifestError> {
        let invalid = |problem: String| ManifestError::Invalid {
            path: path.to_owned(),
            problem,
        };
        let manifest: Manifest =
            serde_json::from_slice(bytes).map_err(|error| invalid(error.to_string()))?;
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

    /// The recorded files of `kind`, in manifest order.
    pub fn files_of(&self, kind: FileKind) -> impl Iterator<Item = &ManifestFile> {
        self.files.iter().filter(move |file| file.kind == kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest {
            schema: MANIFEST_SCHEMA.into(),
            name: "cordon".into(),
            version: "1.0.0".into(),
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
                kind: FileKind::TrustedRoot,
                describes: vec![],
            }],
            crates: vec![CrateRecord {
                name: "serde".into(),
                version: "1.0.0".into(),
                source: None,
                binaries: vec!["app".into()],
            }],
        }
    }

    #[test]
    fn round_trips_through_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("manifest.json");
        std::fs::write(&path, manifest().to_json()).unwrap();
        assert_eq!(Manifest::read(&path).unwrap(), manifest());
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(r#""kind": "trusted-root""#), "{text}");
        assert!(text.contains(r#""sourceDateEpoch": 1"#), "{text}");
        assert_eq!(FileKind::TrustedRoot.to_string(), "trusted-root");
        let keyless: FileKind = serde_json::from_str(r#""keyless-signature""#).unwrap();
        assert_eq!(keyless, FileKind::KeylessSignature);
        assert_eq!(keyless.to_string(), "keyless-signature");
        let vex: FileKind = serde_json::from_str(r#""vex""#).unwrap();
        assert_eq!((vex, vex.to_string().as_str()), (FileKind::Vex, "vex"));
    }

    #[test]
    fn a_foreign_or_malformed_file_is_rejected_with_its_path() {
        let path = Path::new("dist/manifest.json");
        let mut other = manifest();
        other.schema = "something else".into();
        let error = Manifest::parse(&other.to_json(), path)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("dist/manifest.json") && error.contains("schema"),
            "{error}"
        );
        let text = String::from_utf8(manifest().to_json()).unwrap();
        for broken in [
            "{".to_owned(),
            text.replace(r#""trusted-root""#, r#""rootkit""#),
            text.replace(r#""size": 3"#, r#""size": "3""#),
            text.replace(r#""commit""#, r#""comit""#),
        ] {
            assert!(
                matches!(
                    Manifest::parse(broken.as_bytes(), path),
                    Err(ManifestError::Invalid { .. })
                ),
                "{broken}"
            );
        }
    }
}
