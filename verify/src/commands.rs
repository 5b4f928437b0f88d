//! The single-purpose verifications behind `cordon-verify checksums`, `artifact`,
//! `verify-bundle` and `provenance`, each returning a [`Report`] (`release` is
//! [`crate::release_dir`]). The binary only parses arguments and prints.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use cordon_format::Sha256Sums;
use cordon_format::names::bundle_name;

use crate::authority::{self, Authority};
use crate::checksums::{self, Outcome};
use crate::exit::{Failure, FailureClass};
use crate::input::{self, ArtifactInput, MAX_JSON_BYTES};
use crate::inventory::{self, Unlisted};
use crate::provenance::{self, Expectations, SignerClaims, Verified as VerifiedProvenance};
use crate::report::Report;
use crate::signature::{self, ExpectedSigner, TrustSource};

/// Checks every file a `SHA256SUMS` lists against the files beside it, and reports the
/// entries no list names (the list itself and its Sigstore bundle are expected there).
/// With `deny_extra` those entries fail (integrity); a symlink leaving the directory
/// always fails.
pub fn verify_checksums(sums: &Path, deny_extra: bool) -> Report {
    let mut report = Report::default();
    let name = sums.file_name().map_or_else(
        || sums.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    );
    let list = input::read_text(sums, "checksum list", MAX_JSON_BYTES).and_then(|text| {
        Sha256Sums::parse(&text).map_err(|error| {
            Failure::new(
                FailureClass::BadInput,
                format!("checksum list {}: {error}", sums.display()),
            )
        })
    });
    let Some(list) = report.record(&name, "parse", list, |list| {
        format!("{} files listed", list.len())
    }) else {
        return report;
    };
    let dir = match sums.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    };
    for checked in checksums::check(&list, &dir) {
        match checked.outcome {
            Outcome::Ok => report.pass(
                &checked.entry.name,
                "sha256",
                hex::encode(checked.entry.sha256),
            ),
            _ => report.fail(
                &checked.entry.name,
                "sha256",
                Failure::new(FailureClass::Integrity, checked.reason()),
            ),
        }
    }
    let mut listed: BTreeSet<String> = list.iter().map(|(name, _)| name.to_owned()).collect();
    // The list and its signature cannot be listed in it.
    listed.insert(bundle_name(&name));
    listed.insert(name);
    report_unlisted(&mut report, &dir, &listed, deny_extra, "the list");
    report
}

/// Reports the entries of `dir` not in `listed`: allowed rows, or failures with
/// `deny_extra` and for symlinks leaving the directory.
pub(crate) fn report_unlisted(
    report: &mut Report,
    dir: &Path,
    listed: &BTreeSet<String>,
    deny_extra: bool,
    list_name: &str,
) {
    match inventory::unlisted(dir, listed) {
        Ok(extras) => {
            for extra in extras {
                let escapes = matches!(extra, Unlisted::Symlink { outside: true, .. });
                if deny_extra || escapes {
                    report.fail(
                        extra.name(),
                        "listed",
                        Failure::new(
                            FailureClass::Integrity,
                            format!("{} (not in {list_name})", extra.description()),
                        ),
                    );
                } else {
                    report.pass(
                        extra.name(),
                        "listed",
                        format!(
                            "extra: {}, allowed (--deny-extra refuses it)",
                            extra.description()
                        ),
                    );
                }
            }
        }
        Err(error) => report.fail(
            "-",
            "listed",
            Failure::new(
                FailureClass::BadInput,
                format!("cannot list {}: {error}", dir.display()),
            ),
        ),
    }
}

/// Verifies one Sigstore bundle over `artifact` against the trusted root `trust`,
/// requiring `signer` (`cordon-verify artifact` and `verify-bundle`). One row: the
/// bundle's signature, or why it fails.
pub fn verify_artifact(
    trust: &TrustSource,
    bundle_path: &Path,
    artifact: &ArtifactInput,
    signer: &ExpectedSigner,
) -> Report {
    let mut report = Report::default();
    let outcome = signature::load_trusted_root(trust).and_then(|loaded| {
        let bundle = signature::load_bundle(bundle_path)?;
        signature::verify(&loaded.root, &bundle, artifact, signer)
    });
    report.record(
        &bundle_path.display().to_string(),
        "signature",
        outcome,
        |result| match (result.identity(), result.issuer()) {
            (Some(identity), Some(issuer)) => format!("signed by {identity} ({issuer})"),
            _ => "signed by the managed key".to_owned(),
        },
    );
    report
}

/// Verifies third-party SLSA provenance for `file` (`cordon-verify provenance`): the
/// provenance file (a Sigstore bundle v0.1 to v0.3, JSON lines of them, or npm's
/// attestations) must hold a DSSE-signed in-toto statement whose signature verifies for
/// `artifact` (a file, or a `sha256:` digest) from a GitHub Actions workflow, and the
/// statement must say what `expected` requires. The row reports the SLSA Build level
/// proven, and what was not checked.
pub fn verify_provenance(
    artifact: &ArtifactInput,
    provenance_path: &Path,
    expected: &Expectations,
    trust: &TrustSource,
) -> Report {
    let mut report = Report::default();
    let outcome = signature::load_trusted_root(trust).and_then(|loaded| {
        let provenance = provenance::file::load(provenance_path)?;
        // Several bundles (JSON lines): the first that passes; otherwise the reason of
        // the first one about this artifact, else the first reason.
        let (mut first_failure, mut about_artifact) = (None, None);
        for bundle in &provenance.bundles {
            match check_one(&loaded.root, bundle, artifact, expected) {
                Ok(verified) => return Ok((verified, provenance.notes)),
                Err(failure) => {
                    if failure.class != FailureClass::Integrity && about_artifact.is_none() {
                        about_artifact = Some(failure.clone());
                    }
                    first_failure.get_or_insert(failure);
                }
            }
        }
        Err(about_artifact.or(first_failure).unwrap_or_else(|| {
            Failure::new(FailureClass::BadInput, "the provenance holds no bundle")
        }))
    });
    report.record(
        &provenance_path.display().to_string(),
        "provenance",
        outcome,
        |(verified, notes)| {
            let mut detail = format!(
                "SLSA Build L{} for {}: signed by {}, builder {}, source {}",
                verified.level,
                match artifact {
                    ArtifactInput::File(path) => path.display().to_string(),
                    ArtifactInput::Sha256(digest) => format!("sha256:{}", hex::encode(digest)),
                },
                verified.signer,
                verified.builder_id,
                verified.source_repository
            );
            if let Some(reference) = &verified.source_ref {
                detail.push_str(&format!(", ref {reference}"));
            }
            if let Some(commit) = &verified.source_commit {
                detail.push_str(&format!(", commit {commit}"));
            }
            detail.push_str(&format!(
                " (L{}: {})",
                verified.level, verified.level_reason
            ));
            for note in notes {
                detail.push_str(&format!("; {note}"));
            }
            detail
        },
    );
    report
}

/// One provenance bundle: its signature over `file` from a GitHub Actions workflow,
/// then the policy.
fn check_one(
    root: &signature::TrustedRoot,
    bundle: &sigstore_verify::types::Bundle,
    artifact: &ArtifactInput,
    expected: &Expectations,
) -> Result<VerifiedProvenance, Failure> {
    let payload = signature::in_toto_payload(bundle)?;
    let result = signature::verify(
        root,
        bundle,
        artifact,
        &ExpectedSigner::AnyIdentityFrom {
            issuer: provenance::GITHUB_ACTIONS_ISSUER.to_owned(),
        },
    )?;
    // A GitHub workflow identity is believed only from a Fulcio instance.
    authority::check(
        root,
        bundle,
        &Authority::Fulcio(expected.fulcio_uris.clone()),
    )?;
    let claims = result.certificate().map(SignerClaims::from);
    provenance::check(payload, claims.as_ref(), expected)
}
