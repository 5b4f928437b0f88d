//! A release's keyless bundles: `<file>.keyless.sigstore.json` beside `<file>.sigstore.json`
//! (manifest kind `keyless-signature`; the manifest's and `SHA256SUMS`'s own keyless
//! bundles, written after the manifest, are found by name). Each is verified over the
//! file it describes against the trusted root, must be certified by a Fulcio (the
//! public-good one or a `--fulcio-uri`), and gives its own `keyless` row. For the
//! provenance, the keyless bundle is a DSSE bundle of the very statement the embedded
//! provenance signs.
//!
//! With `--pinned-root` they are skipped, not failed: the root-signed trusted root holds
//! only cordon's release CAs and log, and the release is fully verified without them.

use std::collections::BTreeSet;
use std::path::Path;

use cordon_format::names::{MANIFEST_FILE, SHA256SUMS_FILE, keyless_bundle_name};
use cordon_format::{FileKind, Manifest};
use sigstore_verify::trust_root::TrustedRoot;
use sigstore_verify::types::Bundle;

use super::{Digest, Digests, Expectations, NO_ROOT, failed_digest};
use crate::authority::{self, is_fulcio};
use crate::exit::{Failure, FailureClass};
use crate::input::ArtifactInput;
use crate::report::Report;
use crate::signature::{self, ExpectedSigner, TrustSource};
use crate::signer_matches;

/// The row's check name.
const CHECK: &str = "keyless";

/// Why keyless bundles are not checked under a pinned root.
pub(super) const PINNED_ONLY: &str = "not checked: the pinned root's trusted root certifies only cordon's release CAs; pass --trusted-root with a trusted_root.json that also holds the public-good entries (Fulcio, Rekor, TSA) to verify them";

/// What every keyless check reads.
struct Context<'a> {
    root: &'a TrustedRoot,
    dir: &'a Path,
    manifest: &'a Manifest,
    digests: &'a Digests,
    expected: &'a Expectations,
}

/// One keyless bundle to check: the file it signs and the bundle's name.
struct Keyless {
    file: String,
    bundle: String,
    /// The file is the provenance: the bundle signs its statement as DSSE.
    provenance: bool,
}

/// The keyless bundles of the release in `dir`: the manifest's, then the manifest's and
/// `SHA256SUMS`'s when present.
fn keyless_bundles(dir: &Path, manifest: &Manifest, report: &mut Report) -> Vec<Keyless> {
    let mut found = Vec::new();
    for record in manifest.files_of(FileKind::KeylessSignature) {
        let [file] = record.describes.as_slice() else {
            report.fail(
                &record.name,
                CHECK,
                Failure::new(
                    FailureClass::BadInput,
                    format!(
                        "manifest.json records it describing {} files; a keyless bundle describes exactly one",
                        record.describes.len()
                    ),
                ),
            );
            continue;
        };
        found.push(Keyless {
            file: file.clone(),
            bundle: record.name.clone(),
            provenance: manifest
                .files
                .iter()
                .any(|other| other.name == *file && other.kind == FileKind::Provenance),
        });
    }
    for file in [MANIFEST_FILE, SHA256SUMS_FILE] {
        let bundle = keyless_bundle_name(file);
        if dir.join(&bundle).symlink_metadata().is_ok() {
            found.push(Keyless {
                file: file.to_owned(),
                bundle,
                provenance: false,
            });
        }
    }
    found
}

/// Checks every keyless bundle of the release, one `keyless` row each.
pub(super) fn check(
    report: &mut Report,
    dir: &Path,
    manifest: &Manifest,
    digests: &Digests,
    (root, trust): (Option<&TrustedRoot>, &TrustSource),
    expected: &Expectations,
) {
    let bundles = keyless_bundles(dir, manifest, report);
    if bundles.is_empty() {
        return;
    }
    if matches!(trust, TrustSource::Pinned { .. }) {
        report.skip(
            "-",
            CHECK,
            format!("{} keyless bundles {PINNED_ONLY}", bundles.len()),
        );
        return;
    }
    let Some(root) = root else {
        report.skip("-", CHECK, NO_ROOT);
        return;
    };
    let context = Context {
        root,
        dir,
        manifest,
        digests,
        expected,
    };
    let mut signers = BTreeSet::new();
    for keyless in &bundles {
        let Some(digest) = file_digest(report, dir, digests, keyless) else {
            continue;
        };
        // The bundle's own bytes: listed in SHA256SUMS, except SHA256SUMS's own.
        if keyless.file != SHA256SUMS_FILE && !bundle_verified(report, digests, keyless) {
            continue;
        }
        let result = signature::load_bundle(&dir.join(&keyless.bundle))
            .and_then(|bundle| verify_one(&context, &bundle, keyless, &digest));
        if let Some((signer, _)) = report.record(&keyless.file, CHECK, result, |(signer, ca)| {
            format!("{} signed by {signer} (certified by {ca})", keyless.bundle)
        }) {
            signers.insert(signer);
        }
    }
    if signers.len() > 1 {
        report.fail(
            "-",
            CHECK,
            Failure::new(
                FailureClass::Identity,
                format!(
                    "the keyless bundles are signed by different identities: {}",
                    signers.into_iter().collect::<Vec<_>>().join(", ")
                ),
            ),
        );
    }
}

/// The verified digest of the file `keyless` signs, or a row saying why not.
fn file_digest(
    report: &mut Report,
    dir: &Path,
    digests: &Digests,
    keyless: &Keyless,
) -> Option<[u8; 32]> {
    if keyless.file == SHA256SUMS_FILE {
        return match super::checks::sha256_of(&dir.join(SHA256SUMS_FILE)) {
            Ok(digest) => Some(digest),
            Err(failure) => {
                report.fail(&keyless.file, CHECK, failure);
                None
            }
        };
    }
    match digests.get(&keyless.file) {
        Digest::Verified(digest) => Some(*digest),
        Digest::Failed => {
            report.skip(
                &keyless.file,
                CHECK,
                format!(
                    "{}; its keyless bundle was not checked",
                    failed_digest(&keyless.file)
                ),
            );
            None
        }
        Digest::Unlisted => {
            report.skip(
                &keyless.file,
                CHECK,
                format!("not listed in {SHA256SUMS_FILE}; its keyless bundle was not checked"),
            );
            None
        }
    }
}

/// True when the keyless bundle's own bytes are listed and verified; otherwise a row.
fn bundle_verified(report: &mut Report, digests: &Digests, keyless: &Keyless) -> bool {
    match digests.get(&keyless.bundle) {
        Digest::Verified(_) => true,
        Digest::Failed => {
            report.skip(
                &keyless.file,
                CHECK,
                format!(
                    "its keyless bundle {}; not checked",
                    failed_digest(&keyless.bundle)
                ),
            );
            false
        }
        Digest::Unlisted => {
            report.fail(
                &keyless.file,
                CHECK,
                Failure::new(
                    FailureClass::Integrity,
                    format!("{} is not listed in {SHA256SUMS_FILE}", keyless.bundle),
                ),
            );
            false
        }
    }
}

/// Verifies one keyless bundle; returns the signer and the certifying CA's URI.
fn verify_one(
    context: &Context<'_>,
    bundle: &Bundle,
    keyless: &Keyless,
    file_digest: &[u8; 32],
) -> Result<(String, String), Failure> {
    let Context {
        root,
        dir,
        manifest,
        digests,
        expected,
    } = *context;
    let digest = if keyless.provenance {
        same_statement(bundle, &dir.join(&keyless.file), manifest, digests)?
    } else {
        *file_digest
    };
    let result = signature::verify(
        root,
        bundle,
        &ArtifactInput::Sha256(digest),
        &ExpectedSigner::AnyFromRoot { identity: None },
    )
    .map_err(|failure| {
        Failure::new(
            failure.class,
            format!("{}: {}", keyless.bundle, failure.reason),
        )
    })?;
    let ca = authority::issuing_authority(root, bundle).ok_or_else(|| {
        Failure::new(
            FailureClass::Identity,
            format!(
                "{}: the signing certificate's issuer is none of the trusted root's certificate authorities",
                keyless.bundle
            ),
        )
    })?;
    if !is_fulcio(&ca.uri, &expected.fulcio_uris) {
        return Err(Failure::new(
            FailureClass::Identity,
            format!(
                "{} is certified by the CA {} ({}), not by a Fulcio: a keyless bundle's identity is believed only from Fulcio, a cordon release identity only from cordon's release CA (pass --fulcio-uri {} if that CA is a Fulcio you trust)",
                keyless.bundle,
                ca.uri,
                ca.subject
                    .common_name
                    .as_deref()
                    .unwrap_or("no common name"),
                ca.uri
            ),
        ));
    }
    let identity = result
        .identity()
        .map(ToString::to_string)
        .unwrap_or_else(|| "a managed key".to_owned());
    if let Some(signer) = &expected.keyless_signer
        && !signer_matches(&identity, signer)
    {
        return Err(Failure::new(
            FailureClass::Identity,
            format!(
                "{} is signed by {identity:?}, not by the expected keyless signer {signer:?}",
                keyless.bundle
            ),
        ));
    }
    Ok((identity, ca.uri.clone()))
}

/// For the provenance's keyless bundle: its DSSE statement must be the embedded
/// provenance's, byte for byte. Returns the digest of a verified binary it names (the
/// signature is checked over it).
fn same_statement(
    bundle: &Bundle,
    provenance: &Path,
    manifest: &Manifest,
    digests: &Digests,
) -> Result<[u8; 32], Failure> {
    let keyless_payload = signature::in_toto_payload(bundle)?;
    let embedded = signature::load_bundle(provenance)?;
    let embedded_payload = signature::in_toto_payload(&embedded)?;
    if keyless_payload != embedded_payload {
        return Err(Failure::new(
            FailureClass::Integrity,
            format!(
                "its in-toto statement differs from the one {} signs",
                provenance
                    .file_name()
                    .map_or_else(String::new, |name| name.to_string_lossy().into_owned())
            ),
        ));
    }
    let statement: serde_json::Value =
        serde_json::from_slice(keyless_payload).map_err(|error| {
            Failure::new(
                FailureClass::BadInput,
                format!("the DSSE payload is not JSON: {error}"),
            )
        })?;
    manifest
        .files_of(FileKind::Binary)
        .filter_map(|binary| match digests.get(&binary.name) {
            Digest::Verified(digest) => Some(*digest),
            _ => None,
        })
        .find(|digest| {
            let digest = hex::encode(digest);
            statement
                .get("subject")
                .and_then(serde_json::Value::as_array)
                .into_iter()
                .flatten()
                .any(|subject| {
                    subject.pointer("/digest/sha256").and_then(|v| v.as_str()) == Some(&digest)
                })
        })
        .ok_or_else(|| {
            Failure::new(
                FailureClass::ProvenancePolicy,
                "its subjects name none of the release's verified binaries",
            )
        })
}
