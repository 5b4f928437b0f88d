//! `cordon-verify release DIR`: every check a distributor needs on a whole release
//! directory, one row per file and check, and a verdict.
//!
//! What it reads (the layout of `cargo xtask release`, see docs/release.md and
//! docs/trust.md): `SHA256SUMS`; `manifest.json` (every file's digest, size, kind and
//! what it describes, and the source); `trusted_root.dsse.json` (with `--pinned-root`);
//! Sigstore bundles `<file>.sigstore.json`; keyless bundles `<file>.keyless.sigstore.json`
//! when present (see `keyless`); the SLSA provenance (kind `provenance`); the SBOMs (kind
//! `sbom`). Each file is hashed once, streaming; bundles are then verified
//! over the recorded digest. Nothing is followed outside the directory.
//!
//! Each defect is reported once, at its root: a file that fails its digest check gets
//! one failed `sha256` row, and the checks that needed its bytes (its manifest record,
//! its signature, the SBOMs and provenance that describe it) get `skipped` rows that say
//! why. Bundles made under another trust root give one failed row, not one per file.

mod checks;
mod keyless;
mod signatures;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use checks::{Shipped, check_provenance, check_sbom, check_source, load_manifest};
use cordon_format::names::{
    MANIFEST_FILE, SHA256SUMS_FILE, SIGNED_TRUSTED_ROOT_FILE, TRUSTED_ROOT_FILE, bundle_name,
    keyless_bundle_name,
};
use cordon_format::{FileKind, ManifestFile, Sha256Sums};
use signatures::Signatures;

use crate::authority::Authority;
use crate::checksums::{self, Outcome};
use crate::commands::report_unlisted;
use crate::exit::{Failure, FailureClass};
use crate::input::{self, MAX_JSON_BYTES};
use crate::report::Report;
use crate::signature::{self, TrustSource};

/// What the distributor expects of the release.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expectations {
    /// The source repository (`github.com/OWNER/REPO`).
    pub source_uri: Option<String>,
    /// The tag, without `refs/tags/`.
    pub source_tag: Option<String>,
    /// The provenance's `builder.id`, `URI` or `URI@REF`.
    pub builder_id: Option<String>,
    /// The identity every file must be signed by: exact, or with `*` wildcards that do
    /// not cross the `@` (`cordon_verify::signer_matches`).
    pub signer_workflow: Option<String>,
    /// Fail on entries no list names.
    pub deny_extra: bool,
    /// CA URIs of the trusted root that are a Fulcio besides the public-good ones (a
    /// private Fulcio, a stand-in): keyless bundles must come from a Fulcio, the
    /// release's own bundles from anything else.
    pub fulcio_uris: Vec<String>,
    /// The identity every keyless bundle must be signed by: exact, or with `*`
    /// wildcards that do not cross the `@`.
    pub keyless_signer: Option<String>,
    /// The rollback state file (see `crate::rollback`): refuse a pinned root's trusted
    /// root older than the highest version recorded there, or expired; record newer
    /// ones. Needs [`TrustSource::Pinned`].
    pub root_state: Option<std::path::PathBuf>,
}

fn bad(reason: impl Into<String>) -> Failure {
    Failure::new(FailureClass::BadInput, reason)
}

/// What the `sha256` check found for one name.
enum Digest<'a> {
    /// Listed, and the file has that digest.
    Verified(&'a [u8; 32]),
    /// Listed, and the check failed (its own row says why).
    Failed,
    /// Not listed in `SHA256SUMS`.
    Unlisted,
}

#[derive(Default)]
struct Digests {
    verified: BTreeMap<String, [u8; 32]>,
    failed: BTreeSet<String>,
}

impl Digests {
    fn get(&self, name: &str) -> Digest<'_> {
        match self.verified.get(name) {
            Some(digest) => Digest::Verified(digest),
            None if self.failed.contains(name) => Digest::Failed,
            None => Digest::Unlisted,
        }
    }

    /// True when `name`'s bytes were verified; otherwise a skipped `check` row says why
    /// (the failure itself has its own row).
    fn verified_or_skip(&self, report: &mut Report, name: &str, check: &'static str) -> bool {
        match self.get(name) {
            Digest::Verified(_) => true,
            Digest::Failed => {
                report.skip(name, check, failed_digest(name));
                false
            }
            Digest::Unlisted => {
                report.skip(
                    name,
                    check,
                    format!("not listed in {SHA256SUMS_FILE}; not checked"),
                );
                false
            }
        }
    }
}

/// The reason of a row skipped because `name` failed its `sha256` check.
fn failed_digest(name: &str) -> String {
    format!("{name} failed its sha256 check (reported above)")
}

const NO_ROOT: &str = "not checked: the trusted root was not established (see the root row)";

/// For the fuzz target only (see [`crate::fuzz_sbom_readers`]).
pub(crate) use checks::read_untrusted_sbom;

/// Verifies the release in `dir` against the trusted root `trust` (for a release,
/// [`TrustSource::Pinned`] with `DIR/trusted_root.dsse.json`, or a file).
pub fn verify(dir: &Path, trust: &TrustSource, expected: &Expectations) -> Report {
    let mut report = Report::default();
    match dir.metadata() {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            report.fail(
                &dir.display().to_string(),
                "input",
                bad("does not exist; pass the release directory"),
            );
            return report;
        }
        Err(error) => {
            report.fail(
                &dir.display().to_string(),
                "input",
                bad(format!("cannot be inspected: {error}")),
            );
            return report;
        }
        Ok(metadata) if !metadata.is_dir() => {
            report.fail(
                &dir.display().to_string(),
                "input",
                bad("not a directory; pass the release directory, not a file in it"),
            );
            return report;
        }
        Ok(_) => {}
    }

    // 1. The trusted root.
    let root_name = match trust {
        TrustSource::Pinned { signed_root, .. } => file_name_in(dir, signed_root),
        TrustSource::File(path) => path.display().to_string(),
        _ => "-".to_owned(),
    };
    let loaded = report.record(
        &root_name,
        "root",
        signature::load_trusted_root(trust),
        |loaded| loaded.description.clone(),
    );
    let root = loaded.map(|loaded| {
        // A loose trusted_root.json, if shipped, must be the signed bytes the release
        // ships (a newer signed root given from outside certifies more than it).
        let loose = dir.join(TRUSTED_ROOT_FILE);
        let own_signed_root = matches!(trust, TrustSource::Pinned { signed_root, .. }
            if signed_root.parent() == Some(dir));
        if let (Some(signed), true, true) =
            (&loaded.signed_bytes, loose.exists(), own_signed_root)
        {
            match std::fs::read(&loose) {
                Ok(found) if &found == signed => report.pass(
                    TRUSTED_ROOT_FILE,
                    "root",
                    "equals the signed trusted root",
                ),
                Ok(_) => report.fail(
                    TRUSTED_ROOT_FILE,
                    "root",
                    Failure::new(
                        FailureClass::Signature,
                        format!("differs from the root-signed {SIGNED_TRUSTED_ROOT_FILE} (the signed copy is used)"),
                    ),
                ),
                Err(error) => report.fail(
                    TRUSTED_ROOT_FILE,
                    "root",
                    bad(format!("cannot be read: {error}")),
                ),
            }
        }
        (loaded.root, loaded.signed_version)
    });
    let root = match (&expected.root_state, root) {
        (Some(state), Some((root, signed_version))) => {
            let checked = match trust {
                TrustSource::Pinned {
                    fingerprint,
                    signed_root,
                } => crate::rollback::check_and_record(
                    state,
                    fingerprint,
                    &signed_root.display().to_string(),
                    &root,
                    signed_version,
                    unix_now(),
                ),
                _ => Err(bad(
                    "--root-state keeps versions per pinned root: pass --pinned-root",
                )),
            };
            // A rolled-back or expired root vouches for nothing below.
            report
                .record(&root_name, "rollback", checked, Clone::clone)
                .map(|_| root)
        }
        (_, root) => root.map(|(root, _)| root),
    };

    // 2. SHA256SUMS: every listed file, hashed once.
    let sums_path = dir.join(SHA256SUMS_FILE);
    let list = input::read_text(&sums_path, "checksum list", MAX_JSON_BYTES).and_then(|text| {
        Sha256Sums::parse(&text).map_err(|error| bad(format!("{}: {error}", sums_path.display())))
    });
    let Some(list) = report.record(SHA256SUMS_FILE, "parse", list, |list| {
        format!("{} files listed", list.len())
    }) else {
        return report;
    };
    let mut digests = Digests::default();
    for checked in checksums::check(&list, dir) {
        let name = checked.entry.name.clone();
        if matches!(checked.outcome, Outcome::Ok) {
            report.pass(&name, "sha256", hex::encode(checked.entry.sha256));
            digests.verified.insert(name, checked.entry.sha256);
        } else {
            report.fail(
                &name,
                "sha256",
                Failure::new(FailureClass::Integrity, checked.reason()),
            );
            digests.failed.insert(name);
        }
    }

    // 3. Entries no list names. The signature over SHA256SUMS cannot be listed in it.
    let sums_bundle = bundle_name(SHA256SUMS_FILE);
    let mut listed: BTreeSet<String> = list.iter().map(|(name, _)| name.to_owned()).collect();
    listed.insert(SHA256SUMS_FILE.to_owned());
    listed.insert(sums_bundle.clone());
    listed.insert(keyless_bundle_name(SHA256SUMS_FILE));
    report_unlisted(
        &mut report,
        dir,
        &listed,
        expected.deny_extra,
        SHA256SUMS_FILE,
    );

    let mut signatures = Signatures {
        root: root.as_ref(),
        // The release's own signatures come from its release CA: one of the pinned
        // root's when it is pinned, never the public-good Fulcio's.
        authority: match trust {
            TrustSource::Pinned { fingerprint, .. } => Authority::PinnedRoot(*fingerprint),
            _ => Authority::NotFulcio(expected.fulcio_uris.clone()),
        },
        expected,
        signers: BTreeSet::new(),
        foreign: None,
    };
    // 4. The signature over SHA256SUMS, when shipped.
    let sums_bundle_path = dir.join(&sums_bundle);
    if sums_bundle_path.symlink_metadata().is_ok() {
        match checks::sha256_of(&sums_path) {
            Ok(digest) => {
                signatures.check(&mut report, SHA256SUMS_FILE, &sums_bundle_path, &digest);
            }
            Err(failure) => report.fail(SHA256SUMS_FILE, "signature", failure),
        }
    }

    // 5. The manifest: everything below depends on it.
    match digests.get(MANIFEST_FILE) {
        Digest::Verified(_) => {}
        Digest::Failed => {
            report.skip(
                MANIFEST_FILE,
                "manifest",
                format!(
                    "{}; nothing it records was checked",
                    failed_digest(MANIFEST_FILE)
                ),
            );
            return report;
        }
        Digest::Unlisted => {
            report.fail(
                MANIFEST_FILE,
                "manifest",
                Failure::new(
                    FailureClass::Integrity,
                    format!("not listed in {SHA256SUMS_FILE}: it cannot be trusted"),
                ),
            );
            return report;
        }
    }
    let Some(manifest) = report.record(MANIFEST_FILE, "manifest", load_manifest(dir), |m| {
        format!(
            "{} {} from {} {} at {}",
            m.name, m.version, m.source.repository, m.source.git_ref, m.source.commit
        )
    }) else {
        return report;
    };
    for file in &manifest.files {
        match digests.get(&file.name) {
            Digest::Verified(digest) if hex::encode(digest) == file.sha256 => {
                report.pass(&file.name, "manifest", format!("{} as recorded", file.kind));
            }
            Digest::Verified(digest) => report.fail(
                &file.name,
                "manifest",
                Failure::new(
                    FailureClass::Integrity,
                    format!(
                        "{MANIFEST_FILE} records sha256 {}, the file is {}",
                        file.sha256,
                        hex::encode(digest)
                    ),
                ),
            ),
            Digest::Failed => report.skip(&file.name, "manifest", failed_digest(&file.name)),
            Digest::Unlisted => report.fail(
                &file.name,
                "manifest",
                Failure::new(
                    FailureClass::Integrity,
                    format!("recorded in {MANIFEST_FILE} but not listed in {SHA256SUMS_FILE}"),
                ),
            ),
        }
    }
    check_source(&manifest, expected, &mut report);

    // 6. Signatures: the manifest's, and every recorded file's but the bundles'. The
    //    provenance is itself a DSSE bundle (checked with it below) and the root-signed
    //    trusted root carries the root key's signature (checked with --pinned-root).
    let signed = std::iter::once(MANIFEST_FILE).chain(
        manifest
            .files
            .iter()
            .filter(|file| {
                file.kind != FileKind::Signature
                    && file.kind != FileKind::KeylessSignature
                    && file.kind != FileKind::Provenance
                    && file.name != SIGNED_TRUSTED_ROOT_FILE
            })
            .map(|file| file.name.as_str()),
    );
    for name in signed {
        let bundle = bundle_name(name);
        match (digests.get(name), digests.get(&bundle)) {
            (Digest::Failed, _) => report.skip(
                name,
                "signature",
                format!("{}; its signature was not checked", failed_digest(name)),
            ),
            // Its manifest row reports it.
            (Digest::Unlisted, _) => report.skip(
                name,
                "signature",
                format!("not listed in {SHA256SUMS_FILE}; its signature was not checked"),
            ),
            (Digest::Verified(_), Digest::Failed) => report.skip(
                name,
                "signature",
                format!(
                    "its bundle {}; the signature was not checked",
                    failed_digest(&bundle)
                ),
            ),
            (Digest::Verified(_), Digest::Unlisted) => report.fail(
                name,
                "signature",
                Failure::new(
                    FailureClass::Signature,
                    format!(
                        "no Sigstore bundle {bundle} in {SHA256SUMS_FILE}: the file is unsigned"
                    ),
                ),
            ),
            (Digest::Verified(digest), Digest::Verified(_)) => {
                signatures.check(&mut report, name, &dir.join(&bundle), digest);
            }
        }
    }
    if signatures.signers.len() > 1 {
        report.fail(
            "-",
            "identity",
            Failure::new(
                FailureClass::Identity,
                format!(
                    "the files are signed by different identities: {}",
                    std::mem::take(&mut signatures.signers)
                        .into_iter()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
        );
    }

    // 7. The keyless bundles, with their own rows (skipped under a pinned root).
    keyless::check(
        &mut report,
        dir,
        &manifest,
        &digests,
        (signatures.root, trust),
        expected,
    );

    // 8. Provenance and SBOMs, over the binaries whose bytes were verified.
    let binaries: Vec<&ManifestFile> = manifest.files_of(FileKind::Binary).collect();
    let (verified, skipped): (Vec<&ManifestFile>, Vec<&ManifestFile>) = binaries
        .iter()
        .partition(|binary| matches!(digests.get(&binary.name), Digest::Verified(_)));
    let skipped_note = |names: &[&str]| {
        if names.is_empty() {
            String::new()
        } else {
            format!(
                "; not checked for {} (failed its sha256 check)",
                names.join(", ")
            )
        }
    };
    // Archives must be subjects too: those the manifest records and every `.tar.gz`
    // SHA256SUMS lists (a release archive the manifest forgot is still shipped).
    let mut archives: BTreeSet<&str> = manifest
        .files_of(FileKind::Archive)
        .map(|file| file.name.as_str())
        .collect();
    archives.extend(
        list.iter()
            .map(|(name, _)| name)
            .filter(|name| name.ends_with(".tar.gz")),
    );
    let mut skipped_names: Vec<&str> = skipped
        .iter()
        .filter(|binary| digests.failed.contains(&binary.name))
        .map(|binary| binary.name.as_str())
        .collect();
    skipped_names.extend(
        archives
            .iter()
            .filter(|name| digests.failed.contains(**name)),
    );
    let archives: Vec<&str> = archives
        .into_iter()
        .filter(|name| matches!(digests.get(name), Digest::Verified(_)))
        .collect();
    for file in manifest.files_of(FileKind::Provenance) {
        if !digests.verified_or_skip(&mut report, &file.name, "provenance") {
            continue;
        }
        let Some(root) = signatures.root else {
            report.skip(&file.name, "provenance", NO_ROOT);
            continue;
        };
        let path = dir.join(&file.name);
        let bundle = match signature::load_bundle(&path) {
            Ok(bundle) => bundle,
            Err(failure) => {
                report.fail(&file.name, "provenance", failure);
                continue;
            }
        };
        if signatures.foreign(&mut report, &file.name, "provenance", root, &bundle) {
            continue;
        }
        let result = check_provenance(
            (root, &signatures.authority),
            &bundle,
            &Shipped {
                binaries: &verified,
                archives: &archives,
            },
            &digests.verified,
            &manifest,
            expected,
        );
        report.record(&file.name, "provenance", result, |detail| {
            format!("{detail}{}", skipped_note(&skipped_names))
        });
    }
    // Each verified binary's embedded dependency list, read once for all SBOMs.
    let embedded: BTreeMap<String, checks::EmbeddedList> = verified
        .iter()
        .map(|binary| {
            (
                binary.name.clone(),
                crate::embedded::embedded_crates(&dir.join(&binary.name)),
            )
        })
        .collect();
    for file in manifest.files_of(FileKind::Sbom) {
        if !digests.verified_or_skip(&mut report, &file.name, "sbom") {
            continue;
        }
        let (describes, not_checked): (Vec<&str>, Vec<&str>) = file
            .describes
            .iter()
            .map(String::as_str)
            .partition(|binary| !digests.failed.contains(*binary));
        if describes.is_empty() && !not_checked.is_empty() {
            report.skip(
                &file.name,
                "sbom",
                format!(
                    "it describes only {}, which failed its sha256 check (reported above)",
                    not_checked.join(", ")
                ),
            );
            continue;
        }
        let result = check_sbom(
            &dir.join(&file.name),
            &describes,
            &digests.verified,
            &embedded,
        );
        report.record(&file.name, "sbom", result, |detail| {
            format!("{detail}{}", skipped_note(&not_checked))
        });
    }
    report
}

/// Now, in Unix seconds.
fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}

/// `path`'s file name when it is directly in `dir`, else the whole path.
fn file_name_in(dir: &Path, path: &Path) -> String {
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) if parent == dir => name.to_string_lossy().into_owned(),
        _ => path.display().to_string(),
    }
}
