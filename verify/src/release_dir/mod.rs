//! `cordon-verify release DIR`: every check a distributor needs on a whole release
//! directory, one row per file and check, and a verdict.
//!
//! What it reads (the layout of `cargo xtask release`, see docs/release.md and
//! docs/trust.md): `SHA256SUMS`; `manifest.json` (every file's digest, size, kind and
//! what it describes, and the source); `trusted_root.dsse.json` (with `--pinned-root`);
//! Sigstore bundles `<file>.sigstore.json`; the SLSA provenance (kind `provenance`); the
//! SBOMs (kind `sbom`). Each file is hashed once, streaming; bundles are then verified
//! over the recorded digest. Nothing is followed outside the directory.

mod checks;
mod report;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use checks::{check_provenance, check_sbom, check_source, load_manifest, sha256_of, verify_bundle};
use cordon_format::names::{
    MANIFEST_FILE, SHA256SUMS_FILE as SUMS_FILE, SIGNED_TRUSTED_ROOT_FILE, TRUSTED_ROOT_FILE,
    bundle_name,
};
use cordon_format::{FileKind, ManifestFile, Sha256Sums};
pub use report::{Report, Row};

use crate::checksums::{self, Outcome};
use crate::exit::{Failure, FailureClass};
use crate::input::{self, MAX_JSON_BYTES};
use crate::inventory::{self, Unlisted};
use crate::pinned;
use crate::signature::{self, TrustSource};

/// How the trusted root is obtained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootSource {
    /// `trusted_root.dsse.json` in the directory, proven from this fingerprint.
    Pinned([u8; 32]),
    /// A trusted_root.json trusted as is.
    File(PathBuf),
}

/// What the distributor expects of the release.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expectations {
    /// The source repository (`github.com/OWNER/REPO`).
    pub source_uri: Option<String>,
    /// The tag, without `refs/tags/`.
    pub source_tag: Option<String>,
    /// The builder id (and signing identity), `URI` or `URI@REF`.
    pub builder_id: Option<String>,
    /// Fail on entries no list names.
    pub deny_extra: bool,
}

fn bad(reason: impl Into<String>) -> Failure {
    Failure::new(FailureClass::BadInput, reason)
}

/// Verifies the release in `dir`.
pub fn verify(dir: &Path, root_source: &RootSource, expected: &Expectations) -> Report {
    let mut report = Report::default();

    // 1. The trusted root.
    let root = match root_source {
        RootSource::Pinned(fingerprint) => {
            let path = dir.join(SIGNED_TRUSTED_ROOT_FILE);
            let result = pinned::load_signed_trusted_root(&path, fingerprint);
            report
                .record(SIGNED_TRUSTED_ROOT_FILE, "root", result, |_| {
                    format!("signed by the pinned root {}", hex::encode(fingerprint))
                })
                .map(|(root, bytes)| {
                    // A loose trusted_root.json, if shipped, must be the signed bytes.
                    let loose = dir.join(TRUSTED_ROOT_FILE);
                    if loose.exists() {
                        match std::fs::read(&loose) {
                            Ok(found) if found == bytes => report.pass(TRUSTED_ROOT_FILE, "root", "equals the signed trusted root"),
                            Ok(_) => report.fail(TRUSTED_ROOT_FILE, "root", Failure::new(FailureClass::Signature, "differs from the root-signed trusted_root.dsse.json (the signed copy is used)")),
                            Err(error) => report.fail(TRUSTED_ROOT_FILE, "root", bad(format!("cannot be read: {error}"))),
                        }
                    }
                    root
                })
        }
        RootSource::File(path) => {
            let result = signature::load_trusted_root(&TrustSource::File(path.clone()));
            report.record(&path.display().to_string(), "root", result, |_| {
                "given with --trusted-root, trusted as is".to_owned()
            })
        }
    };

    // 2. SHA256SUMS: every listed file, hashed once.
    let mut digests: BTreeMap<String, [u8; 32]> = BTreeMap::new();
    let sums_path = dir.join(SUMS_FILE);
    let list =
        input::read_json_text(&sums_path, "checksum list", MAX_JSON_BYTES).and_then(|text| {
            Sha256Sums::parse(&text)
                .map_err(|error| bad(format!("{}: {error}", sums_path.display())))
        });
    let Some(list) = report.record(SUMS_FILE, "parse", list, |list| {
        format!("{} files listed", list.len())
    }) else {
        return report;
    };
    for checked in checksums::check(&list, dir) {
        let name = checked.entry.name.clone();
        match checked.outcome {
            Outcome::Ok => {
                digests.insert(name.clone(), checked.entry.sha256);
                report.pass(&name, "sha256", hex::encode(checked.entry.sha256));
            }
            other => {
                let line = crate::checksums::Checked {
                    entry: checked.entry,
                    outcome: other,
                }
                .to_string();
                let reason = line
                    .split_once(": ")
                    .map_or(line.as_str(), |(_, reason)| reason)
                    .to_owned();
                report.fail(
                    &name,
                    "sha256",
                    Failure::new(FailureClass::Integrity, reason),
                );
            }
        }
    }

    // 3. Entries no list names.
    let mut listed: BTreeSet<String> = list.iter().map(|(name, _)| name.to_owned()).collect();
    listed.insert(SUMS_FILE.to_owned());
    // The signature over SHA256SUMS cannot be listed in it.
    let sums_bundle = bundle_name(SUMS_FILE);
    listed.insert(sums_bundle.clone());
    match inventory::unlisted(dir, &listed) {
        Ok(extras) => {
            for extra in extras {
                let name = match &extra {
                    Unlisted::File(name) | Unlisted::Directory(name) | Unlisted::Other(name) => {
                        name.clone()
                    }
                    Unlisted::Symlink { name, .. } => name.clone(),
                };
                let escapes = matches!(extra, Unlisted::Symlink { outside: true, .. });
                let reason = extra.to_string();
                let reason = reason
                    .split_once(": ")
                    .map_or(reason.as_str(), |(_, r)| r)
                    .to_owned();
                if expected.deny_extra || escapes {
                    report.fail(
                        &name,
                        "listed",
                        Failure::new(
                            FailureClass::Integrity,
                            format!("{reason} (not in {SUMS_FILE})"),
                        ),
                    );
                } else {
                    report.pass(
                        &name,
                        "listed",
                        format!("extra: {reason}, allowed (--deny-extra refuses it)"),
                    );
                }
            }
        }
        Err(error) => report.fail(
            "-",
            "listed",
            bad(format!("cannot list {}: {error}", dir.display())),
        ),
    }

    // 4. The manifest.
    let manifest = load_manifest(dir, &digests);
    let Some(manifest) = report.record(MANIFEST_FILE, "manifest", manifest, |m| {
        format!(
            "{} {} from {} {} at {}",
            m.name, m.version, m.source.repository, m.source.git_ref, m.source.commit
        )
    }) else {
        return report;
    };
    for file in &manifest.files {
        let result = match digests.get(&file.name) {
            None => Err(Failure::new(
                FailureClass::Integrity,
                format!(
                    "listed in {MANIFEST_FILE} but not in {SUMS_FILE}, or failed its digest check"
                ),
            )),
            Some(digest) if hex::encode(digest) != file.sha256 => Err(Failure::new(
                FailureClass::Integrity,
                format!(
                    "{MANIFEST_FILE} records sha256 {}, the file is {}",
                    file.sha256,
                    hex::encode(digest)
                ),
            )),
            Some(_) => Ok(()),
        };
        report.record(&file.name, "manifest", result, |()| {
            format!("{} as recorded", file.kind)
        });
    }
    check_source(&manifest, expected, &mut report);

    let Some(root) = root else {
        return report;
    };
    // 5. Signatures: every file in the manifest but the bundles themselves has one; the
    //    manifest's and SHA256SUMS's own bundles are checked when present.
    let mut signers: BTreeSet<String> = BTreeSet::new();
    let sums_bundle_path = dir.join(&sums_bundle);
    if sums_bundle_path.symlink_metadata().is_ok() {
        let result = sha256_of(&sums_path)
            .and_then(|digest| verify_bundle(&root, &sums_bundle_path, &digest, expected));
        if let Some(identity) = report.record(SUMS_FILE, "signature", result, |identity| {
            format!("{sums_bundle} signed by {identity}")
        }) {
            signers.insert(identity);
        }
    }
    let manifest_bundle = bundle_name(MANIFEST_FILE);
    if let (Some(digest), true) = (
        digests.get(MANIFEST_FILE),
        digests.contains_key(&manifest_bundle),
    ) {
        let result = verify_bundle(&root, &dir.join(&manifest_bundle), digest, expected);
        if let Some(identity) = report.record(MANIFEST_FILE, "signature", result, |identity| {
            format!("{manifest_bundle} signed by {identity}")
        }) {
            signers.insert(identity);
        }
    }
    // The provenance is itself a DSSE bundle (checked with it below) and the root-signed
    // trusted root carries the root key's signature (checked with --pinned-root).
    for file in manifest.files.iter().filter(|file| {
        file.kind != FileKind::Signature
            && file.kind != FileKind::Provenance
            && file.name != SIGNED_TRUSTED_ROOT_FILE
    }) {
        let bundle_name = bundle_name(&file.name);
        let Some(digest) = digests.get(&file.name) else {
            continue;
        };
        if !digests.contains_key(&bundle_name) {
            report.fail(
                &file.name,
                "signature",
                Failure::new(
                    FailureClass::Signature,
                    format!(
                        "no Sigstore bundle {bundle_name} in {SUMS_FILE}: the file is unsigned"
                    ),
                ),
            );
            continue;
        }
        let result = verify_bundle(&root, &dir.join(&bundle_name), digest, expected);
        if let Some(identity) = report.record(&file.name, "signature", result, |identity| {
            format!("{bundle_name} signed by {identity}")
        }) {
            signers.insert(identity);
        }
    }
    if signers.len() > 1 {
        report.fail(
            "-",
            "identity",
            Failure::new(
                FailureClass::Identity,
                format!(
                    "the files are signed by different identities: {}",
                    signers.into_iter().collect::<Vec<_>>().join(", ")
                ),
            ),
        );
    }

    // 6. Provenance and SBOMs.
    let binaries: Vec<&ManifestFile> = manifest
        .files
        .iter()
        .filter(|file| file.kind == FileKind::Binary)
        .collect();
    for file in manifest
        .files
        .iter()
        .filter(|file| file.kind == FileKind::Provenance)
    {
        let result = check_provenance(
            &root,
            &dir.join(&file.name),
            &binaries,
            &digests,
            &manifest,
            expected,
        );
        report.record(&file.name, "provenance", result, |detail| detail.clone());
    }
    // Each binary's embedded dependency list, read once for all SBOMs.
    let embedded: BTreeMap<String, checks::EmbeddedList> = binaries
        .iter()
        .filter(|binary| digests.contains_key(&binary.name))
        .map(|binary| {
            (
                binary.name.clone(),
                crate::embedded::embedded_crates(&dir.join(&binary.name)),
            )
        })
        .collect();
    for file in manifest
        .files
        .iter()
        .filter(|file| file.kind == FileKind::Sbom)
    {
        let result = check_sbom(&dir.join(&file.name), file, &digests, &embedded);
        report.record(&file.name, "sbom", result, |detail| detail.clone());
    }
    report
}
