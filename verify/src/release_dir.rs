//! `cordon-verify release DIR`: every check a distributor needs on a whole release
//! directory, one row per file and check, and a verdict.
//!
//! What it reads (the layout of `cargo xtask release`, see docs/release.md and
//! docs/trust.md): `SHA256SUMS`; `manifest.json` (every file's digest, size, kind and
//! what it describes, and the source); `trusted_root.dsse.json` (with `--pinned-root`);
//! Sigstore bundles `<file>.sigstore.json`; the SLSA provenance (kind `provenance`); the
//! SBOMs (kind `sbom`). Each file is hashed once, streaming; bundles are then verified
//! over the recorded digest. Nothing is followed outside the directory.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::checksums::{ChecksumList, Outcome};
use crate::exit::{Failure, FailureClass};
use crate::input::{self, ArtifactInput, MAX_JSON_BYTES};
use crate::inventory::{self, Unlisted};
use crate::pinned;
use crate::provenance::{builder_matches, normalize_repository};
use crate::signature::{self, Signer, TrustSource, TrustedRoot};

/// The checksum list's name.
pub const SUMS_FILE: &str = "SHA256SUMS";
/// The manifest's name.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The manifest schema this verifier understands.
pub const MANIFEST_SCHEMA: &str =
    "https://github.com/cordon-dev/cordon/blob/main/docs/release.md#manifest-v1";
/// The suffix of a file's Sigstore bundle.
pub const BUNDLE_SUFFIX: &str = ".sigstore.json";

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

/// One row of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The file the check is about (or `-` for the release as a whole).
    pub file: String,
    /// The check.
    pub check: &'static str,
    /// `None` when it passed; the failure otherwise.
    pub failure: Option<Failure>,
    /// What was established, for a passing row.
    pub detail: String,
}

/// The whole report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Every row, in check order.
    pub rows: Vec<Row>,
}

impl Report {
    fn pass(&mut self, file: &str, check: &'static str, detail: impl Into<String>) {
        self.rows.push(Row {
            file: file.to_owned(),
            check,
            failure: None,
            detail: detail.into(),
        });
    }

    fn fail(&mut self, file: &str, check: &'static str, failure: Failure) {
        self.rows.push(Row {
            file: file.to_owned(),
            check,
            failure: Some(failure),
            detail: String::new(),
        });
    }

    fn record<T>(
        &mut self,
        file: &str,
        check: &'static str,
        result: Result<T, Failure>,
        detail: impl FnOnce(&T) -> String,
    ) -> Option<T> {
        match result {
            Ok(value) => {
                let text = detail(&value);
                self.pass(file, check, text);
                Some(value)
            }
            Err(failure) => {
                self.fail(file, check, failure);
                None
            }
        }
    }

    /// The most serious failure class, or `None` when everything passed.
    pub fn verdict(&self) -> Option<FailureClass> {
        FailureClass::most_serious(
            self.rows
                .iter()
                .filter_map(|row| row.failure.as_ref().map(|failure| failure.class)),
        )
    }

    /// The report as text: one row per line, then the verdict.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for row in &self.rows {
            match &row.failure {
                None => out.push_str(&format!(
                    "ok      {:<10} {}: {}\n",
                    row.check, row.file, row.detail
                )),
                Some(failure) => out.push_str(&format!(
                    "FAILED  {:<10} {}: {} ({})\n",
                    row.check, row.file, failure.reason, failure.class
                )),
            }
        }
        let failed = self.rows.iter().filter(|row| row.failure.is_some()).count();
        match self.verdict() {
            None => out.push_str(&format!("verdict: ok ({} checks)\n", self.rows.len())),
            Some(class) => out.push_str(&format!(
                "verdict: FAILED ({failed} of {} checks; exit {} {class})\n",
                self.rows.len(),
                class.exit_code()
            )),
        }
        out
    }

    /// The report as JSON, for machines.
    pub fn to_json(&self) -> Value {
        let verdict = self.verdict();
        json!({
            "verdict": if verdict.is_some() { "failed" } else { "ok" },
            "exitCode": verdict.map_or(0, FailureClass::exit_code),
            "class": verdict.map(FailureClass::name),
            "rows": self.rows.iter().map(|row| json!({
                "file": row.file,
                "check": row.check,
                "ok": row.failure.is_none(),
                "class": row.failure.as_ref().map(|failure| failure.class.name()),
                "reason": row.failure.as_ref().map(|failure| failure.reason.clone()),
                "detail": row.detail,
            })).collect::<Vec<_>>(),
        })
    }
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
            let path = dir.join(pinned::SIGNED_TRUSTED_ROOT_FILE);
            let result = pinned::load_signed_trusted_root(&path, fingerprint);
            report
                .record(pinned::SIGNED_TRUSTED_ROOT_FILE, "root", result, |_| {
                    format!("signed by the pinned root {}", hex::encode(fingerprint))
                })
                .map(|(root, bytes)| {
                    // A loose trusted_root.json, if shipped, must be the signed bytes.
                    let loose = dir.join("trusted_root.json");
                    if loose.exists() {
                        match std::fs::read(&loose) {
                            Ok(found) if found == bytes => report.pass("trusted_root.json", "root", "equals the signed trusted root"),
                            Ok(_) => report.fail("trusted_root.json", "root", Failure::new(FailureClass::Signature, "differs from the root-signed trusted_root.dsse.json (the signed copy is used)")),
                            Err(error) => report.fail("trusted_root.json", "root", bad(format!("cannot be read: {error}"))),
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
            ChecksumList::parse(&text)
                .map_err(|error| bad(format!("{}: {error}", sums_path.display())))
        });
    let Some(list) = report.record(SUMS_FILE, "parse", list, |list| {
        format!("{} files listed", list.entries().len())
    }) else {
        return report;
    };
    for checked in list.check(dir) {
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
    let mut listed: BTreeSet<String> = list
        .entries()
        .iter()
        .map(|entry| entry.name.clone())
        .collect();
    listed.insert(SUMS_FILE.to_owned());
    // The signature over SHA256SUMS cannot be listed in it.
    let sums_bundle = format!("{SUMS_FILE}{BUNDLE_SUFFIX}");
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
            m.name, m.version, m.repository, m.git_ref, m.commit
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
    let manifest_bundle = format!("{MANIFEST_FILE}{BUNDLE_SUFFIX}");
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
    for file in manifest
        .files
        .iter()
        .filter(|file| file.kind != "signature")
    {
        let bundle_name = format!("{}{BUNDLE_SUFFIX}", file.name);
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
        .filter(|file| file.kind == "binary")
        .collect();
    for file in manifest
        .files
        .iter()
        .filter(|file| file.kind == "provenance")
    {
        let result = check_provenance(
            &dir.join(&file.name),
            &binaries,
            &digests,
            &manifest,
            expected,
        );
        report.record(&file.name, "provenance", result, |detail| detail.clone());
    }
    for file in manifest.files.iter().filter(|file| file.kind == "sbom") {
        let result = check_sbom(&dir.join(&file.name), file, &digests);
        report.record(&file.name, "sbom", result, |detail| detail.clone());
    }
    report
}

fn sha256_of(path: &Path) -> Result<[u8; 32], Failure> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let (mut file, _) = input::open_regular(path, "file")?;
    let mut hasher = Sha256::new();
    let mut block = vec![0u8; 256 * 1024];
    loop {
        match file.read(&mut block) {
            Ok(0) => return Ok(hasher.finalize().into()),
            Ok(n) => hasher.update(&block[..n]),
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err(bad(format!("{}: cannot be read: {error}", path.display()))),
        }
    }
}

/// The parts of `manifest.json` the verifier uses.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ReleaseManifest {
    name: String,
    version: String,
    repository: String,
    git_ref: String,
    commit: String,
    files: Vec<ManifestFile>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct ManifestFile {
    name: String,
    sha256: String,
    kind: String,
    describes: Vec<String>,
}

fn load_manifest(
    dir: &Path,
    digests: &BTreeMap<String, [u8; 32]>,
) -> Result<ReleaseManifest, Failure> {
    if !digests.contains_key(MANIFEST_FILE) {
        return Err(Failure::new(
            FailureClass::Integrity,
            format!("not listed in {SUMS_FILE} (or its digest is wrong): it cannot be trusted"),
        ));
    }
    let path = dir.join(MANIFEST_FILE);
    let text = input::read_json_text(&path, "manifest", MAX_JSON_BYTES)?;
    let value = input::parse_json(&text, &path, "manifest")?;
    let text_at = |pointer: &str| {
        value
            .pointer(pointer)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    if text_at("/schema").as_deref() != Some(MANIFEST_SCHEMA) {
        return Err(bad(format!(
            "schema {:?} is not {MANIFEST_SCHEMA}",
            text_at("/schema")
        )));
    }
    let missing = |field: &str| bad(format!("{MANIFEST_FILE} has no {field}"));
    let mut files = Vec::new();
    for (index, file) in value
        .get("files")
        .and_then(Value::as_array)
        .ok_or_else(|| missing("files list"))?
        .iter()
        .enumerate()
    {
        let field = |name: &str| {
            file.get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| missing(&format!("files[{index}].{name}")))
        };
        files.push(ManifestFile {
            name: field("name")?,
            sha256: field("sha256")?,
            kind: field("kind")?,
            describes: file
                .get("describes")
                .and_then(Value::as_array)
                .map(|list| {
                    list.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
        });
    }
    Ok(ReleaseManifest {
        name: text_at("/name").ok_or_else(|| missing("name"))?,
        version: text_at("/version").ok_or_else(|| missing("version"))?,
        repository: text_at("/source/repository").ok_or_else(|| missing("source.repository"))?,
        git_ref: text_at("/source/ref").ok_or_else(|| missing("source.ref"))?,
        commit: text_at("/source/commit").ok_or_else(|| missing("source.commit"))?,
        files,
    })
}

fn check_source(manifest: &ReleaseManifest, expected: &Expectations, report: &mut Report) {
    if let Some(uri) = &expected.source_uri {
        let result = match (
            normalize_repository(uri),
            normalize_repository(&manifest.repository),
        ) {
            (None, _) => Err(bad(format!(
                "--source-uri {uri:?}: expected github.com/OWNER/REPO"
            ))),
            (Some(want), Some(have)) if want == have => Ok(have),
            (Some(want), _) => Err(Failure::new(
                FailureClass::ProvenancePolicy,
                format!("built from {}, not from {want}", manifest.repository),
            )),
        };
        report.record(MANIFEST_FILE, "source", result, |have| {
            format!("repository {have}")
        });
    }
    if let Some(tag) = &expected.source_tag {
        let want = format!("refs/tags/{tag}");
        let result = if manifest.git_ref == want {
            Ok(())
        } else {
            Err(Failure::new(
                FailureClass::ProvenancePolicy,
                format!("built from {}, not from {want}", manifest.git_ref),
            ))
        };
        report.record(MANIFEST_FILE, "source", result, |()| format!("ref {want}"));
    }
}

/// Verifies one file's bundle over its recorded digest; returns the signing identity.
fn verify_bundle(
    root: &TrustedRoot,
    bundle_path: &Path,
    digest: &[u8; 32],
    expected: &Expectations,
) -> Result<String, Failure> {
    let bundle = signature::load_bundle(bundle_path)?;
    let pinned_identity = expected
        .builder_id
        .as_ref()
        .filter(|builder| builder.contains('@'))
        .cloned();
    let result = signature::verify(
        root,
        &bundle,
        &ArtifactInput::Sha256(*digest),
        &Signer::AnyFromRoot {
            identity: pinned_identity,
        },
    )?;
    let identity = result
        .identity()
        .map(ToString::to_string)
        .unwrap_or_else(|| "a managed key".to_owned());
    if let Some(builder) = &expected.builder_id
        && !builder_matches(&identity, builder)
    {
        return Err(Failure::new(
            FailureClass::Identity,
            format!("signed by {identity:?}, not by the expected builder {builder:?}"),
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

fn check_provenance(
    path: &Path,
    binaries: &[&ManifestFile],
    digests: &BTreeMap<String, [u8; 32]>,
    manifest: &ReleaseManifest,
    expected: &Expectations,
) -> Result<String, Failure> {
    let text = input::read_json_text(path, "provenance", MAX_JSON_BYTES)?;
    let statement = input::parse_json(&text, path, "provenance")?;
    let policy = |reason: String| Failure::new(FailureClass::ProvenancePolicy, reason);
    if statement.get("predicateType").and_then(Value::as_str) != Some(crate::provenance::SLSA_V1) {
        return Err(policy(format!(
            "predicate type is not {}",
            crate::provenance::SLSA_V1
        )));
    }
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
    for binary in binaries {
        let Some(digest) = digests.get(&binary.name) else {
            continue;
        };
        let digest = hex::encode(digest);
        if !subjects.iter().any(|(_, subject)| *subject == digest) {
            return Err(policy(format!(
                "does not cover {} (sha256 {digest} is not a subject)",
                binary.name
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
        return Err(policy(format!(
            "builder id {builder:?} is not the expected {expected_builder:?}"
        )));
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
    if normalize_repository(repository) != normalize_repository(&manifest.repository)
        || git_ref != manifest.git_ref
        || commit != manifest.commit
    {
        return Err(policy(format!(
            "names source {source_uri} at {commit:?}, the manifest {}@{} at {}",
            manifest.repository, manifest.git_ref, manifest.commit
        )));
    }
    Ok(format!(
        "SLSA v1 by {builder}, covers {} binaries, source {source_uri} at {commit}",
        binaries.len()
    ))
}

fn check_sbom(
    path: &Path,
    file: &ManifestFile,
    digests: &BTreeMap<String, [u8; 32]>,
) -> Result<String, Failure> {
    let text = input::read_json_text(path, "SBOM", MAX_JSON_BYTES)?;
    let document = input::parse_json(&text, path, "SBOM")?;
    let mismatch = |reason: String| Failure::new(FailureClass::SbomMismatch, reason);
    let hashes: Vec<String> =
        if document.get("bomFormat").and_then(Value::as_str) == Some("CycloneDX") {
            document
                .pointer("/metadata/component/hashes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|hash| hash.get("alg").and_then(Value::as_str) == Some("SHA-256"))
                .filter_map(|hash| hash.get("content")?.as_str().map(str::to_ascii_lowercase))
                .collect()
        } else if document.get("spdxVersion").is_some() {
            let described: Vec<&str> = document
                .get("documentDescribes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            document
                .get("packages")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|package| {
                    package
                        .get("SPDXID")
                        .and_then(Value::as_str)
                        .is_some_and(|id| described.contains(&id))
                })
                .flat_map(|package| {
                    package
                        .get("checksums")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                })
                .filter(|sum| sum.get("algorithm").and_then(Value::as_str) == Some("SHA256"))
                .filter_map(|sum| {
                    sum.get("checksumValue")?
                        .as_str()
                        .map(str::to_ascii_lowercase)
                })
                .collect()
        } else {
            return Err(bad("neither a CycloneDX nor an SPDX JSON document"));
        };
    for binary in &file.describes {
        let Some(digest) = digests.get(binary) else {
            return Err(mismatch(format!(
                "describes {binary}, which is not in the release"
            )));
        };
        let digest = hex::encode(digest);
        if !hashes.contains(&digest) {
            return Err(mismatch(format!(
                "its primary component's SHA-256 ({}) is not {binary}'s {digest}",
                if hashes.is_empty() {
                    "none".to_owned()
                } else {
                    hashes.join(", ")
                }
            )));
        }
    }
    Ok(format!(
        "primary component hashes match {}",
        file.describes.join(", ")
    ))
}
