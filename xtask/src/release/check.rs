//! Checks of a published release directory with independent tools, run by `cargo xtask
//! test`'s `release` stage: `sha256sum -c`, the released `cordon-verify checksums` and
//! `cordon-verify release --pinned-root`,
//! sigstore-python verifying every bundle offline against the release's own
//! `trusted_root.json`, the official CycloneDX and SPDX validators, the NTIA / CISA /
//! BSI conformance checker on the SPDX SBOMs, and the provenance's subjects being exactly
//! the shipped binaries.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use cordon_format::names::{MANIFEST_FILE, SHA256SUMS_FILE, TRUSTED_ROOT_FILE};
use cordon_format::{FileKind, Manifest};
use serde_json::{Value, json};

use crate::trust::{LOCAL_IDENTITY, LOCAL_ISSUER};
use crate::{run, tools};

/// Runs every check on `published`, signed with the trust directory `trust_dir`.
pub(crate) fn check_published(root: &Path, published: &Path, trust_dir: &Path) -> Result<()> {
    if run::succeeds("sha256sum", &["--version"]) {
        run::status(run::command("sha256sum", published).args([
            "--check",
            "--strict",
            "--quiet",
            SHA256SUMS_FILE,
        ]))
        .context("sha256sum rejects the release's SHA256SUMS")?;
    }
    run::status(
        run::command(published.join("cordon-verify"), published)
            .args(["checksums", SHA256SUMS_FILE]),
    )
    .context("the released cordon-verify rejects the release's SHA256SUMS")?;

    // The distributor's check: the whole release, proven from the pinned root alone.
    let pinned = cordon_release::TrustDir::open(trust_dir)
        .with_context(|| format!("cannot open the trust directory {}", trust_dir.display()))?
        .root_fingerprint();
    run::status(
        run::command(published.join("cordon-verify"), published)
            .args(["release", "."])
            .args(["--pinned-root", &pinned]),
    )
    .context("the released cordon-verify rejects the release against its pinned root")?;

    // The procurement report of the release (docs/verify.md), with cordon's own licence
    // policy and the pinned advisory-db snapshot; written to target/xtask/report/.
    let report_dir = root.join("target/xtask/report");
    fs::create_dir_all(&report_dir)
        .with_context(|| format!("cannot create {}", report_dir.display()))?;
    let started = std::time::Instant::now();
    run::status(
        run::command(published.join("cordon-verify"), published)
            .args(["report", "."])
            .args(["--pinned-root", &pinned])
            .arg("--licence-policy")
            .arg(root.join("docs/licence-policy.toml"))
            .arg("--advisory-db")
            .arg(root.join("audit/tests/data/advisory-db-snapshot"))
            .arg("--html")
            .arg(report_dir.join("report.html"))
            .arg("--json")
            .arg(report_dir.join("report.json")),
    )
    .context("the released cordon-verify report rejects the release")?;
    eprintln!(
        "cordon-verify report: {} in {:.2} s",
        report_dir.join("report.html").display(),
        started.elapsed().as_secs_f64()
    );

    let manifest = Manifest::read(&published.join(MANIFEST_FILE))?;
    let python = tools::python_bin(root)?;

    // sigstore-python, offline, with a client trust config made of the release's own
    // trusted_root.json (and the trust directory's signing config, which verification
    // does not use but the format requires).
    let scratch = tempfile::tempdir().context("cannot create a temporary directory")?;
    let config = scratch.path().join("client_trust_config.json");
    let trusted_root: Value = read_json(&published.join(TRUSTED_ROOT_FILE))?;
    let signing_config: Value = read_json(&trust_dir.join("signing_config.json"))?;
    fs::write(
        &config,
        json!({
            "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
            "trustedRoot": trusted_root,
            "signingConfig": signing_config,
        })
        .to_string(),
    )
    .with_context(|| format!("cannot write {}", config.display()))?;
    let signed: Vec<&str> = manifest
        .files
        .iter()
        .filter(|file| file.kind == FileKind::Signature)
        .flat_map(|file| file.describes.iter().map(String::as_str))
        .collect();
    // `sigstore verify identity --offline` against the release's own trust config.
    let sigstore_verify = || {
        let mut command = run::command(python.join("sigstore"), published);
        command
            .env("COLUMNS", "1000")
            .arg("--trust-config")
            .arg(&config)
            .args(["verify", "identity", "--offline"])
            .args([
                "--cert-identity",
                LOCAL_IDENTITY,
                "--cert-oidc-issuer",
                LOCAL_ISSUER,
            ]);
        command
    };
    let mut verify = sigstore_verify();
    verify.args(&signed).args([MANIFEST_FILE, SHA256SUMS_FILE]);
    run::status(&mut verify).context("sigstore-python rejects a bundle of the release")?;

    // The DSSE provenance bundle, checked against every shipped binary and archive.
    let provenance = manifest
        .files
        .iter()
        .find(|file| file.kind == FileKind::Provenance)
        .context("the manifest lists no provenance")?;
    let binaries: Vec<&str> = manifest
        .files
        .iter()
        .filter(|file| matches!(file.kind, FileKind::Binary | FileKind::Archive))
        .map(|file| file.name.as_str())
        .collect();
    for binary in &binaries {
        run::status(
            sigstore_verify()
                .args(["--bundle", &provenance.name, binary])
                // It prints the whole statement on success.
                .stdout(std::process::Stdio::null()),
        )
        .with_context(|| format!("sigstore-python rejects {} for {binary}", provenance.name))?;
    }
    check_subjects(published, &provenance.name, &manifest)?;

    // The SBOMs through the official validators, then the SPDX ones through the
    // NTIA / CISA FSCT3 / BSI TR-03183-2 conformance checker.
    let script = root.join("xtask/tools/validate-cyclonedx.py");
    let mut spdx = Vec::new();
    for file in manifest
        .files
        .iter()
        .filter(|file| file.kind == FileKind::Sbom)
    {
        let path = published.join(&file.name);
        if file.name.ends_with(".spdx3.json") {
            run::status(
                run::command(python.join("python"), root)
                    .arg(root.join("xtask/tools/validate-spdx3.py"))
                    .arg(&path),
            )
            .with_context(|| format!("{} is not valid SPDX 3.0.1", file.name))?;
            spdx.push(path);
        } else if file.name.ends_with(".spdx.json") {
            run::status(
                run::command(python.join("pyspdxtools"), root)
                    .args(["--version", "SPDX-2.3", "-i"])
                    .arg(&path),
            )
            .with_context(|| format!("pyspdxtools rejects {}", file.name))?;
            spdx.push(path);
        } else {
            let version = if file.name.contains(".v1_6.") {
                "1.6"
            } else {
                "1.5"
            };
            run::status(
                run::command(python.join("python"), root)
                    .arg(&script)
                    .arg(version)
                    .arg(&path),
            )
            .with_context(|| format!("{} fails the CycloneDX {version} schema", file.name))?;
        }
    }
    let with_archives = manifest
        .files
        .iter()
        .any(|file| file.kind == FileKind::Archive);
    crate::conformance::check(root, "the release", &spdx, with_archives)?;
    eprintln!(
        "release check: {} bundles and the provenance verified by sigstore-python offline; \
         SBOMs valid; provenance subjects = the {} shipped binaries and archives",
        signed.len() + 2,
        binaries.len()
    );
    Ok(())
}

/// The statement inside the DSSE bundle names exactly the shipped binaries and archives,
/// with their digests.
fn check_subjects(published: &Path, bundle_name: &str, manifest: &Manifest) -> Result<()> {
    let bundle: Value = read_json(&published.join(bundle_name))?;
    let payload = bundle["dsseEnvelope"]["payload"]
        .as_str()
        .with_context(|| format!("{bundle_name} has no dsseEnvelope.payload"))?;
    let statement: Value = serde_json::from_slice(
        &base64::engine::general_purpose::STANDARD
            .decode(payload)
            .with_context(|| format!("{bundle_name}: the payload is not base64"))?,
    )
    .with_context(|| format!("{bundle_name}: the payload is not JSON"))?;
    let subjects: BTreeMap<String, String> = statement["subject"]
        .as_array()
        .context("the statement has no subject list")?
        .iter()
        .map(|subject| {
            (
                subject["name"].as_str().unwrap_or_default().to_owned(),
                subject["digest"]["sha256"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    let shipped: BTreeMap<String, String> = manifest
        .files
        .iter()
        .filter(|file| matches!(file.kind, FileKind::Binary | FileKind::Archive))
        .map(|file| (file.name.clone(), file.sha256.clone()))
        .collect();
    if subjects != shipped {
        bail!("the provenance subjects {subjects:?} are not the shipped files {shipped:?}");
    }
    Ok(())
}

fn read_json(path: &Path) -> Result<Value> {
    serde_json::from_str(
        &fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?,
    )
    .with_context(|| format!("{} is not JSON", path.display()))
}
