//! The per-file checks of `cordon-verify release`: the manifest, the source, a bundle
//! over a recorded digest, the provenance's subjects and source, the SBOMs' hashes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

use cordon_format::names::{MANIFEST_FILE, SHA256SUMS_FILE};
use cordon_format::toolchain;
use cordon_format::{Manifest, ManifestFile};

use super::{Expectations, bad};
use crate::authority::{self, Authority};
use crate::embedded::Crate;
use crate::exit::{Failure, FailureClass};
use crate::input::{self, ArtifactInput, MAX_JSON_BYTES};
use crate::provenance::{builder_matches, normalize_repository, signer_matches};
use crate::report::Report;
use crate::signature::{self, ExpectedSigner, TrustedRoot};
use sigstore_verify::types::Bundle;

pub(super) fn sha256_of(path: &Path) -> Result<[u8; 32], Failure> {
    let (file, _) = input::open_regular(path, "file")?;
    input::sha256_reader(file)
        .map_err(|error| bad(format!("{}: cannot be read: {error}", path.display())))
}

/// Reads and parses `manifest.json` (the caller has checked its digest).
pub(super) fn load_manifest(dir: &Path) -> Result<Manifest, Failure> {
    let path = dir.join(MANIFEST_FILE);
    let text = input::read_text(&path, "manifest", MAX_JSON_BYTES)?;
    Manifest::parse(text.as_bytes(), &path).map_err(|error| bad(error.to_string()))
}

pub(super) fn check_source(manifest: &Manifest, expected: &Expectations, report: &mut Report) {
    if let Some(uri) = &expected.source_uri {
        let result = match (
            normalize_repository(uri),
            normalize_repository(&manifest.source.repository),
        ) {
            (None, _) => Err(bad(format!(
                "--source-uri {uri:?}: expected github.com/OWNER/REPO"
            ))),
            (Some(want), Some(have)) if want == have => Ok(have),
            (Some(want), _) => Err(Failure::new(
                FailureClass::ProvenancePolicy,
                format!("built from {}, not from {want}", manifest.source.repository),
            )),
        };
        report.record(MANIFEST_FILE, "source", result, |have| {
            format!("repository {have}")
        });
    }
    if let Some(tag) = &expected.source_tag {
        let want = format!("refs/tags/{tag}");
        let result = if manifest.source.git_ref == want {
            Ok(())
        } else {
            Err(Failure::new(
                FailureClass::ProvenancePolicy,
                format!("built from {}, not from {want}", manifest.source.git_ref),
            ))
        };
        report.record(MANIFEST_FILE, "source", result, |()| format!("ref {want}"));
    }
}

/// Verifies an already parsed bundle over `digest`; returns the signing identity.
pub(super) fn verify_loaded_bundle(
    root: &TrustedRoot,
    authority: &Authority,
    bundle: &Bundle,
    digest: &[u8; 32],
    expected: &Expectations,
) -> Result<String, Failure> {
    let pinned_identity = expected
        .signer_workflow
        .as_ref()
        .filter(|signer| !signer.contains('*'))
        .cloned();
    let result = signature::verify(
        root,
        bundle,
        &ArtifactInput::Sha256(*digest),
        &ExpectedSigner::AnyFromRoot {
            identity: pinned_identity,
        },
    )?;
    authority::check(root, bundle, authority)?;
    let identity = result
        .identity()
        .map(ToString::to_string)
        .unwrap_or_else(|| "a managed key".to_owned());
    if let Some(signer) = &expected.signer_workflow
        && !signer_matches(&identity, signer)
    {
        return Err(Failure::new(
            FailureClass::Identity,
            format!("signed by {identity:?}, not by the expected signer {signer:?}"),
        ));
    }
    if let (Some(uri), Some(certificate)) = (&expected.source_uri, result.certificate())
        && let Some(repository) = &certificate.ci_claims.source_repository_uri
        && normalize_repository(repository) != normalize_repository(uri)
    {
        return Err(Failure::new(
            FailureClass::Identity,
            format!("the signing certificate names source {repository}, not {uri}"),
        ));
    }
    Ok(identity)
}

/// The shipped files a release's provenance must name as subjects.
#[derive(Clone, Copy)]
pub(super) struct Shipped<'a> {
    /// The binaries (manifest kind `binary`).
    pub(super) binaries: &'a [&'a ManifestFile],
    /// The archives (manifest kind `archive`, and every `.tar.gz` SHA256SUMS lists).
    pub(super) archives: &'a [&'a str],
}

/// Checks the release's provenance: a Sigstore DSSE bundle whose signature verifies for
/// every shipped binary and archive (the in-toto subjects cover them), whose statement
/// is SLSA v1 and names the builder and source the manifest and the caller expect.
///
/// `shipped` holds the binaries and archives whose digest was verified; the caller
/// reports the ones skipped.
pub(super) fn check_provenance(
    (root, authority): (&TrustedRoot, &Authority),
    bundle: &Bundle,
    shipped: &Shipped<'_>,
    digests: &BTreeMap<String, [u8; 32]>,
    manifest: &Manifest,
    expected: &Expectations,
) -> Result<String, Failure> {
    let Shipped { binaries, archives } = *shipped;
    let policy = |reason: String| Failure::new(FailureClass::ProvenancePolicy, reason);
    let payload = signature::in_toto_payload(bundle)?;
    let statement: Value = serde_json::from_slice(payload).map_err(|error| {
        bad(format!(
            "the DSSE payload is not an in-toto JSON statement: {error}"
        ))
    })?;
    // The signature is checked over a binary the statement names (sigstore-verify also
    // matches it against the subjects); which binaries are covered is policy, below.
    let named = |digest: &[u8; 32]| {
        let digest = hex::encode(digest);
        statement
            .get("subject")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|subject| {
                subject.pointer("/digest/sha256").and_then(Value::as_str) == Some(&digest)
            })
    };
    let Some((first, digest)) = binaries
        .iter()
        .filter_map(|binary| Some((binary, digests.get(&binary.name)?)))
        .find(|(_, digest)| named(digest))
    else {
        return Err(policy(
            "its subjects name none of the release's binaries".to_owned(),
        ));
    };
    let signer =
        verify_loaded_bundle(root, authority, bundle, digest, expected).map_err(|failure| {
            Failure::new(
                failure.class,
                format!(
                    "the provenance bundle (checked for {}): {}",
                    first.name, failure.reason
                ),
            )
        })?;
    let subjects: Vec<(String, String)> = statement
        .get("subject")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|subject| {
            Some((
                subject.get("name")?.as_str()?.to_owned(),
                subject.pointer("/digest/sha256")?.as_str()?.to_owned(),
            ))
        })
        .collect();
    let covered = binaries
        .iter()
        .map(|binary| binary.name.as_str())
        .chain(archives.iter().copied());
    for name in covered {
        let Some(digest) = digests.get(name) else {
            continue;
        };
        let digest = hex::encode(digest);
        if !subjects.iter().any(|(_, subject)| *subject == digest) {
            return Err(policy(format!(
                "does not cover {name} (sha256 {digest} is not a subject)"
            )));
        }
    }
    let predicate = statement.get("predicate").unwrap_or(&Value::Null);
    let builder = predicate
        .pointer("/runDetails/builder/id")
        .and_then(Value::as_str)
        .unwrap_or("");
    if let Some(expected_builder) = &expected.builder_id
        && !builder_matches(builder, expected_builder)
    {
        return Err(Failure::new(
            FailureClass::Identity,
            format!("builder id {builder:?} is not the expected builder {expected_builder:?}"),
        ));
    }
    let source = predicate
        .pointer("/buildDefinition/resolvedDependencies")
        .and_then(Value::as_array)
        .and_then(|list| {
            list.iter().find(|d| {
                d.get("uri")
                    .and_then(Value::as_str)
                    .is_some_and(|uri| uri.starts_with("git+"))
            })
        });
    let source_uri = source
        .and_then(|d| d.get("uri"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let commit = source
        .and_then(|d| d.pointer("/digest/gitCommit"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let (repository, git_ref) = source_uri.split_once('@').unwrap_or((source_uri, ""));
    if normalize_repository(repository) != normalize_repository(&manifest.source.repository)
        || git_ref != manifest.source.git_ref
        || commit != manifest.source.commit
    {
        return Err(policy(format!(
            "names source {source_uri} at {commit:?}, the manifest {}@{} at {}",
            manifest.source.repository, manifest.source.git_ref, manifest.source.commit
        )));
    }
    Ok(format!(
        "SLSA v1 by {builder}, signed by {signer}, covers {} binaries and {} archives, source {source_uri} at {commit}; SLSA Build L1: signed with the release's own CA, which certifies no build platform (docs/slsa.md)",
        binaries.len(),
        archives.len()
    ))
}

/// Checks that an SBOM describes each binary it claims to (`file.describes`) with that
/// binary's SHA-256: in CycloneDX the primary component or one of its sub-components
/// (a release document lists each binary under `metadata.component.components`), in SPDX
/// 2 a described package or one a described package `CONTAINS`, in SPDX 3 the Sbom's root
/// packages and those they `contains`, matched by name.
///
/// `describes` are the binaries to check (those whose own digest check failed are left
/// out by the caller and reported as skipped).
pub(super) fn check_sbom(
    path: &Path,
    describes: &[&str],
    digests: &BTreeMap<String, [u8; 32]>,
    embedded: &BTreeMap<String, EmbeddedList>,
) -> Result<String, Failure> {
    let text = input::read_text(path, "SBOM", MAX_JSON_BYTES)?;
    let document = input::parse_json(&text, path, "SBOM")?;
    check_sbom_document(&document, describes, digests, embedded)
}

/// [`check_sbom`] on a parsed document.
fn check_sbom_document(
    document: &Value,
    describes: &[&str],
    digests: &BTreeMap<String, [u8; 32]>,
    embedded: &BTreeMap<String, EmbeddedList>,
) -> Result<String, Failure> {
    let mismatch = |reason: String| Failure::new(FailureClass::SbomMismatch, reason);
    let described = if document.get("bomFormat").and_then(Value::as_str) == Some("CycloneDX") {
        cyclonedx_described(document)
    } else if document.get("spdxVersion").is_some() {
        spdx_described(document)
    } else if spdx3::is_spdx3(document) {
        spdx3::described(document)
    } else {
        return Err(bad(
            "neither a CycloneDX, an SPDX 2 JSON nor an SPDX 3 JSON-LD document",
        ));
    };
    for &binary in describes {
        let Some(digest) = digests.get(binary) else {
            return Err(mismatch(format!(
                "describes {binary}, which is not listed in {SHA256SUMS_FILE}"
            )));
        };
        let digest = hex::encode(digest);
        let hashes: Vec<&str> = described
            .iter()
            .filter(|(name, _)| name == binary)
            .flat_map(|(_, hashes)| hashes.iter().map(String::as_str))
            .collect();
        if !hashes.contains(&digest.as_str()) {
            return Err(mismatch(format!(
                "its component for {binary} has SHA-256 {}, the file is {digest}",
                if hashes.is_empty() {
                    "(none)".to_owned()
                } else {
                    hashes.join(", ")
                }
            )));
        }
    }
    let mut compared = Vec::new();
    for &binary in describes {
        let listed = match embedded.get(binary) {
            Some(Ok(Some(listed))) => listed,
            Some(Ok(None)) => {
                return Err(mismatch(format!(
                    "{binary} carries no {} dependency list to compare with",
                    crate::embedded::SECTION
                )));
            }
            Some(Err(reason)) => {
                return Err(bad(format!(
                    "cannot read {binary}'s embedded dependency list: {reason}"
                )));
            }
            None => continue,
        };
        let Some(in_sbom) = sbom_crates(document, binary) else {
            return Err(mismatch(format!(
                "has no dependency graph for {binary} to compare with its embedded list"
            )));
        };
        if &in_sbom != listed {
            let missing: Vec<&Crate> = listed.difference(&in_sbom).collect();
            let extra: Vec<&Crate> = in_sbom.difference(listed).collect();
            return Err(mismatch(format!(
                "its crates for {binary} differ from the list embedded in the binary: \
                 {} missing from the SBOM ({}), {} not in the binary ({})",
                missing.len(),
                show_crates(&missing),
                extra.len(),
                show_crates(&extra),
            )));
        }
        compared.push(format!("{binary} ({} crates)", listed.len()));
    }
    Ok(format!(
        "component hashes match {}; crates equal the embedded lists of {}",
        describes.join(", "),
        if compared.is_empty() {
            "none".to_owned()
        } else {
            compared.join(", ")
        }
    ))
}

/// The SBOM readers of [`check_sbom`] over untrusted text, for the fuzz target
/// (`verify/fuzz/fuzz_targets/sbom.rs`): the described components of every format, the
/// dependency walk from each of them, and the whole check with each component's first
/// SHA-256 as the file's digest and one crate as its embedded list. Returns how many
/// components were described (so that nothing is optimised away).
pub(crate) fn read_untrusted_sbom(text: &str) -> usize {
    let Ok(document) = input::parse_json_named(text, "fuzz.sbom.json") else {
        return 0;
    };
    let described: Vec<(String, Vec<String>)> = cyclonedx_described(&document)
        .into_iter()
        .chain(spdx_described(&document))
        .chain(spdx3::described(&document))
        .collect();
    let mut digests: BTreeMap<String, [u8; 32]> = BTreeMap::new();
    let mut embedded: BTreeMap<String, EmbeddedList> = BTreeMap::new();
    for (name, hashes) in &described {
        let _ = sbom_crates(&document, name);
        let digest = hashes
            .first()
            .and_then(|hash| hex::decode(hash).ok())
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok());
        if let Some(digest) = digest {
            digests.insert(name.clone(), digest);
        }
        let listed = BTreeSet::from([(name.clone(), "1.0.0".to_owned())]);
        embedded.insert(name.clone(), Ok(Some(listed)));
    }
    let names: Vec<&str> = digests.keys().map(String::as_str).collect();
    let _ = check_sbom_document(&document, &names, &digests, &embedded);
    described.len()
}

/// At most five `name@version`, then how many more.
fn show_crates(crates: &[&Crate]) -> String {
    let mut shown: Vec<String> = crates
        .iter()
        .take(5)
        .map(|(name, version)| format!("{name}@{version}"))
        .collect();
    if crates.len() > 5 {
        shown.push(format!("and {} more", crates.len() - 5));
    }
    shown.join(", ")
}

/// What reading a binary's embedded dependency list gave (see [`crate::embedded`]).
pub(super) type EmbeddedList = Result<Option<BTreeSet<Crate>>, String>;

/// The crates an SBOM says `binary` depends on, transitively, as (name, version): the
/// CycloneDX `dependencies` graph or SPDX `DEPENDS_ON` relationships from the binary's
/// component, without the toolchain's components (exactly those
/// [`cordon_format::toolchain`] recognises: marker, name and purl). `None` when the
/// document has no component for the binary.
fn sbom_crates(document: &Value, binary: &str) -> Option<BTreeSet<Crate>> {
    if spdx3::is_spdx3(document) {
        return spdx3::crates(document, binary);
    }
    let list = |pointer: &str| -> Vec<&Value> {
        document
            .pointer(pointer)
            .and_then(Value::as_array)
            .map(|items| items.iter().collect())
            .unwrap_or_default()
    };
    let text = |value: &Value, key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
    // id -> (name, version); edges id -> ids; then a walk from the binary's id.
    let mut nodes: BTreeMap<String, Crate> = BTreeMap::new();
    let mut edges: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let start = if document.get("bomFormat").is_some() {
        let described: Vec<&Value> = document
            .pointer("/metadata/component")
            .into_iter()
            .chain(list("/metadata/component/components"))
            .collect();
        for component in described.iter().copied().chain(list("/components")) {
            // The toolchain (rustc, std) is not a crate of `.dep-v0`.
            if toolchain::in_cyclonedx(component).is_some() {
                continue;
            }
            if let (Some(id), Some(name)) = (text(component, "bom-ref"), text(component, "name")) {
                nodes.insert(id, (name, text(component, "version").unwrap_or_default()));
            }
        }
        for dependency in list("/dependencies") {
            if let Some(id) = text(dependency, "ref") {
                let targets = dependency
                    .get("dependsOn")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect();
                edges.insert(id, targets);
            }
        }
        // A release document's primary component may share the binary's name: the
        // binaries are its sub-components, so look there first.
        described
            .into_iter()
            .rev()
            .find(|component| text(component, "name").as_deref() == Some(binary))
            .and_then(|component| text(component, "bom-ref"))
    } else {
        for package in list("/packages") {
            if toolchain::in_spdx2(package).is_some() {
                continue;
            }
            if let (Some(id), Some(name)) = (text(package, "SPDXID"), text(package, "name")) {
                nodes.insert(id, (name, text(package, "versionInfo").unwrap_or_default()));
            }
        }
        for relation in list("/relationships") {
            if text(relation, "relationshipType").as_deref() != Some("DEPENDS_ON") {
                continue;
            }
            if let (Some(from), Some(to)) = (
                text(relation, "spdxElementId"),
                text(relation, "relatedSpdxElement"),
            ) {
                edges.entry(from).or_default().push(to);
            }
        }
        // Described and contained packages, contained (the binaries of a release
        // package) last so that they are found first.
        let described = spdx_described_ids(document);
        let named: Vec<String> = list("/packages")
            .into_iter()
            .filter(|package| text(package, "name").as_deref() == Some(binary))
            .filter_map(|package| text(package, "SPDXID"))
            .collect();
        described.into_iter().rev().find(|id| named.contains(id))
    }?;
    let mut seen: BTreeSet<String> = BTreeSet::from([start.clone()]);
    let mut queue = vec![start.clone()];
    while let Some(id) = queue.pop() {
        for next in edges.get(&id).into_iter().flatten() {
            if seen.insert(next.clone()) {
                queue.push(next.clone());
            }
        }
    }
    seen.remove(&start);
    Some(
        seen.iter()
            .filter_map(|id| nodes.get(id).cloned())
            .collect(),
    )
}

/// (name, lower-case SHA-256 values) of CycloneDX's primary component and its direct
/// sub-components.
fn cyclonedx_described(document: &Value) -> Vec<(String, Vec<String>)> {
    let primary = document.pointer("/metadata/component");
    let children = primary
        .and_then(|component| component.get("components"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    primary
        .into_iter()
        .chain(children)
        .map(|component| {
            let name = component.get("name").and_then(Value::as_str).unwrap_or("");
            let hashes = component
                .get("hashes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|hash| hash.get("alg").and_then(Value::as_str) == Some("SHA-256"))
                .filter_map(|hash| hash.get("content")?.as_str().map(str::to_ascii_lowercase))
                .collect();
            (name.to_owned(), hashes)
        })
        .collect()
}

/// (name, lower-case SHA-256 values) of SPDX's described packages and the packages they
/// `CONTAINS`.
fn spdx_described(document: &Value) -> Vec<(String, Vec<String>)> {
    let ids = spdx_described_ids(document);
    document
        .get("packages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|package| {
            package
                .get("SPDXID")
                .and_then(Value::as_str)
                .is_some_and(|id| ids.iter().any(|known| known == id))
        })
        .map(|package| {
            let name = package.get("name").and_then(Value::as_str).unwrap_or("");
            let hashes = package
                .get("checksums")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|sum| sum.get("algorithm").and_then(Value::as_str) == Some("SHA256"))
                .filter_map(|sum| {
                    sum.get("checksumValue")?
                        .as_str()
                        .map(str::to_ascii_lowercase)
                })
                .collect();
            (name.to_owned(), hashes)
        })
        .collect()
}

/// The SPDXIDs of the described packages and the packages they `CONTAINS`.
fn spdx_described_ids(document: &Value) -> Vec<String> {
    let mut ids: Vec<&str> = document
        .get("documentDescribes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let contained: Vec<&str> = document
        .get("relationships")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|relation| {
            relation.get("relationshipType").and_then(Value::as_str) == Some("CONTAINS")
                && relation
                    .get("spdxElementId")
                    .and_then(Value::as_str)
                    .is_some_and(|id| ids.contains(&id))
        })
        .filter_map(|relation| relation.get("relatedSpdxElement")?.as_str())
        .collect();
    ids.extend(contained);
    ids.into_iter().map(str::to_owned).collect()
}

mod spdx3;

#[cfg(test)]
mod tests;
