//! A signed test release for the `release`, `report` and SSDF-map tests: real ELF
//! binaries carrying `.dep-v0` crate lists, a CycloneDX SBOM built from the same crate
//! list (so `cordon-verify release` accepts it), optionally an archive, SLSA provenance
//! covering the binaries and the archive, a manifest with the crate set, every file signed
//! with cordon's own signer under a fresh trust root, `SHA256SUMS`. The crates, their
//! licences and suppliers, the SBOM's extra strings and one kind of [`Damage`] are the
//! caller's (a hostile SBOM is a release like any other: signed and consistent).
//! `tests/tests/ssdf_map.rs` (cordon-e2e) includes this module too.
#![allow(clippy::unwrap_used, dead_code, unreachable_pub)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use cordon_release::{InitOptions, LeafIdentity, SignOptions, Signer, TrustDir};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub const SCHEMA: &str =
    "https://github.com/cordon-dev/cordon/blob/main/docs/release.md#manifest-v1";
pub const WORKFLOW: &str = "https://github.com/cordon-dev/cordon/.github/workflows/release.yml";
pub const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

/// One crate of the test release.
#[derive(Debug, Clone)]
pub struct TestCrate {
    pub name: String,
    pub version: String,
    pub licence: Option<String>,
    pub supplier: Option<String>,
}

impl TestCrate {
    pub fn new(name: &str, version: &str, licence: &str, supplier: &str) -> TestCrate {
        TestCrate {
            name: name.into(),
            version: version.into(),
            licence: Some(licence.into()),
            supplier: Some(supplier.into()),
        }
    }
}

/// The release archive's name, when [`Spec::archive`] is set.
pub const ARCHIVE: &str = "cordon-0.1.0-x86_64-unknown-linux-gnu.tar.gz";

/// One defect a release is built with, consistently signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Damage {
    None,
    /// The SBOM's component hash for `cordon` is wrong.
    SbomHashWrong,
    /// The provenance does not name the second binary.
    ProvenanceMissesBinary,
    /// The second binary has no bundle.
    Unsigned,
    /// The SBOM lists a crate the binary's embedded `.dep-v0` list does not.
    EmbeddedListDiffers,
    /// The provenance is a plain message-signature bundle, not a DSSE statement.
    ProvenanceNotDsse,
    /// The release archive is listed and signed, but not a provenance subject.
    ProvenanceMissesArchive,
}

/// What the release holds.
#[derive(Debug, Clone)]
pub struct Spec {
    pub version: String,
    /// The crates linked into `cordon`.
    pub crates: Vec<TestCrate>,
    /// A second binary, `cordon-verify`, with these crates (not described by the SBOM).
    pub second_binary: Option<Vec<TestCrate>>,
    /// Ship [`ARCHIVE`] (not a real tarball: the verifier hashes archives, it does not
    /// open them).
    pub archive: bool,
    /// Extra fields merged into the SBOM's `metadata` (e.g. hostile strings).
    pub sbom_metadata: Value,
    /// A VEX document shipped as `cordon-<version>.vex.json` (kind `vex`), signed.
    pub vex: Option<Value>,
    pub damage: Damage,
}

impl Spec {
    /// One binary, `cordon`, linking `crates`; no archive, no damage.
    pub fn new(version: &str, crates: Vec<TestCrate>) -> Spec {
        Spec {
            version: version.into(),
            crates,
            second_binary: None,
            archive: false,
            sbom_metadata: json!({}),
            vex: None,
            damage: Damage::None,
        }
    }

    /// The shape of a cordon release, 0.1.0: `cordon` (linking `dep-a`) and
    /// `cordon-verify` (linking `dep-b`), the archive, built with `damage`.
    pub fn two_binaries(damage: Damage) -> Spec {
        let bare = |name: &str, version: &str| TestCrate {
            name: name.into(),
            version: version.into(),
            licence: None,
            supplier: None,
        };
        Spec {
            second_binary: Some(vec![bare("dep-b", "2.0.0")]),
            archive: true,
            damage,
            ..Spec::new("0.1.0", vec![bare("dep-a", "1.0.0")])
        }
    }
}

#[derive(Debug)]
pub struct TestRelease {
    pub temp: tempfile::TempDir,
    pub dir: PathBuf,
    /// The trust directory the release was signed under (`trusted_root.json` inside).
    pub trust_dir: PathBuf,
    pub fingerprint: String,
}

pub fn hex_sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A copy of `true` carrying a `.dep-v0` section listing `crates` (name, version) under
/// `root`; its SHA-256.
pub fn elf_with_deps(dir: &Path, name: &str, root: &str, crates: &[(&str, &str)]) -> String {
    let mut packages = vec![
        json!({"name": root, "version": "0.1.0", "source": "local", "root": true,
        "dependencies": (1..=crates.len()).collect::<Vec<_>>()}),
    ];
    packages.extend(
        crates.iter().map(
            |(name, version)| json!({"name": name, "version": version, "source": "crates.io"}),
        ),
    );
    let info = json!({"format": 1, "packages": packages});
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(info.to_string().as_bytes()).unwrap();
    let section = dir.join(format!(".{name}.dep-v0"));
    std::fs::write(&section, encoder.finish().unwrap()).unwrap();
    let binary = dir.join(name);
    std::fs::copy("/usr/bin/true", &binary).unwrap();
    let status = Command::new("objcopy")
        .arg(format!("--add-section=.dep-v0={}", section.display()))
        .arg("--set-section-flags=.dep-v0=noload,readonly")
        .arg(&binary)
        .status()
        .expect("objcopy (binutils) is installed");
    assert!(status.success());
    std::fs::remove_file(&section).unwrap();
    hex_sha256(&std::fs::read(&binary).unwrap())
}

/// (name, version) of each crate.
fn name_versions(crates: &[TestCrate]) -> Vec<(&str, &str)> {
    crates
        .iter()
        .map(|c| (c.name.as_str(), c.version.as_str()))
        .collect()
}

fn purl(c: &TestCrate) -> String {
    format!("pkg:cargo/{}@{}", c.name, c.version)
}

/// Builds and signs the release.
pub fn build(spec: &Spec) -> TestRelease {
    let damage = spec.damage;
    let temp = tempfile::tempdir().unwrap();
    let trust_dir = temp.path().join("trust");
    let mut options = InitOptions::new("cordon test");
    options.now = SystemTime::now() - Duration::from_secs(86_400);
    cordon_release::init_trust(&trust_dir, &options).unwrap();
    let fingerprint = TrustDir::open(&trust_dir).unwrap().root_fingerprint();
    let tag = format!("refs/tags/v{}", spec.version);
    let identity = LeafIdentity {
        subject: format!("{WORKFLOW}@{tag}"),
        issuer: "https://token.actions.githubusercontent.com".to_owned(),
        source_repository: Some("https://github.com/cordon-dev/cordon".to_owned()),
        source_digest: Some(COMMIT.to_owned()),
        source_ref: Some(tag.clone()),
    };
    let signer = Signer::open(&trust_dir, &identity, &SignOptions::default()).unwrap();
    let dir = temp.path().join(&spec.version);
    std::fs::create_dir(&dir).unwrap();
    let write = |name: &str, bytes: &[u8]| {
        std::fs::write(dir.join(name), bytes).unwrap();
        hex_sha256(bytes)
    };
    // (name, SHA-256, linked crates)
    let mut binaries = vec![(
        "cordon",
        elf_with_deps(&dir, "cordon", "cordon-cli", &name_versions(&spec.crates)),
        &spec.crates,
    )];
    if let Some(crates) = &spec.second_binary {
        let digest = elf_with_deps(
            &dir,
            "cordon-verify",
            "cordon-verify",
            &name_versions(crates),
        );
        binaries.push(("cordon-verify", digest, crates));
    }
    let binary = binaries[0].1.clone();
    let mut subjects: Vec<Value> = binaries
        .iter()
        .enumerate()
        .filter(|(index, _)| *index == 0 || damage != Damage::ProvenanceMissesBinary)
        .map(|(_, (name, digest, _))| json!({"name": name, "digest": {"sha256": digest}}))
        .collect();
    let archive = spec.archive.then(|| write(ARCHIVE, b"archive bytes"));
    if let Some(digest) = &archive
        && damage != Damage::ProvenanceMissesArchive
    {
        subjects.push(json!({"name": ARCHIVE, "digest": {"sha256": digest}}));
    }
    let statement = json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": subjects,
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {
            "buildDefinition": {
                "buildType": "https://github.com/cordon-dev/cordon/blob/main/docs/slsa.md#build-type-release-v1",
                "externalParameters": {"source": {"repository": "git+https://github.com/cordon-dev/cordon", "ref": tag}},
                "resolvedDependencies": [{"uri": format!("git+https://github.com/cordon-dev/cordon@{tag}"), "digest": {"gitCommit": COMMIT}}]
            },
            "runDetails": {"builder": {"id": format!("{WORKFLOW}@{tag}")}}
        }
    });
    let provenance_bundle = if damage == Damage::ProvenanceNotDsse {
        let statement_file = temp.path().join("statement.json");
        std::fs::write(&statement_file, statement.to_string()).unwrap();
        signer.sign_blob(&statement_file).unwrap()
    } else {
        signer
            .sign_in_toto(statement.to_string().as_bytes())
            .unwrap()
    };
    let provenance_name = format!("cordon-{}.intoto.jsonl", spec.version);
    let provenance = write(&provenance_name, provenance_bundle.as_bytes());
    let app_ref = "pkg:cargo/cordon-cli@0.1.0?bin=cordon";
    let sbom_crates = if damage == Damage::EmbeddedListDiffers {
        vec![TestCrate {
            name: "dep-z".into(),
            version: "9.9.9".into(),
            licence: None,
            supplier: None,
        }]
    } else {
        spec.crates.clone()
    };
    let components: Vec<Value> = sbom_crates
        .iter()
        .map(|c| {
            let mut component = json!({"type": "library", "bom-ref": purl(c), "name": c.name,
                "version": c.version, "purl": purl(c)});
            if let Some(licence) = &c.licence {
                component["licenses"] = json!([{"expression": licence}]);
            }
            if let Some(supplier) = &c.supplier {
                component["supplier"] = json!({"name": supplier});
            }
            component
        })
        .collect();
    let sbom_hash = if damage == Damage::SbomHashWrong {
        "00".repeat(32)
    } else {
        binary
    };
    let mut metadata = json!({
        "timestamp": "2099-01-01T00:00:00Z",
        "authors": [{"name": "The cordon developers"}],
        "component": {"type": "application", "name": "cordon", "version": spec.version,
            "bom-ref": app_ref, "purl": "pkg:cargo/cordon-cli@0.1.0",
            "supplier": {"name": "The cordon developers"},
            "licenses": [{"expression": "Apache-2.0"}],
            "hashes": [{"alg": "SHA-256", "content": sbom_hash}]}
    });
    if let (Value::Object(target), Value::Object(extra)) = (&mut metadata, &spec.sbom_metadata) {
        for (key, value) in extra {
            target.insert(key.clone(), value.clone());
        }
    }
    let mut dependencies = vec![json!({"ref": app_ref,
        "dependsOn": sbom_crates.iter().map(purl).collect::<Vec<_>>()})];
    dependencies.extend(
        sbom_crates
            .iter()
            .map(|c| json!({"ref": purl(c), "dependsOn": []})),
    );
    let sbom_name = format!("cordon-{}.cdx.json", spec.version);
    let sbom = write(
        &sbom_name,
        json!({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
            "metadata": metadata, "components": components, "dependencies": dependencies})
        .to_string()
        .as_bytes(),
    );
    std::fs::copy(
        trust_dir.join("trusted_root.dsse.json"),
        dir.join("trusted_root.dsse.json"),
    )
    .unwrap();
    let binary_names: Vec<&str> = binaries.iter().map(|(name, ..)| *name).collect();
    // (name, SHA-256, kind, describes)
    let mut files: Vec<(String, String, &str, Vec<&str>)> = binaries
        .iter()
        .map(|(name, digest, _)| ((*name).to_owned(), digest.clone(), "binary", vec![]))
        .collect();
    if let Some(digest) = &archive {
        files.push((ARCHIVE.to_owned(), digest.clone(), "archive", vec![]));
    }
    files.push((
        provenance_name,
        provenance,
        "provenance",
        binary_names.clone(),
    ));
    files.push((sbom_name, sbom, "sbom", vec!["cordon"]));
    if let Some(vex) = &spec.vex {
        let vex_name = format!("cordon-{}.vex.json", spec.version);
        let digest = write(&vex_name, vex.to_string().as_bytes());
        files.push((vex_name, digest, "vex", binary_names.clone()));
    }
    // Every file but the provenance (a DSSE bundle itself) gets a bundle.
    let signed: Vec<String> = files
        .iter()
        .filter(|(name, _, kind, _)| {
            *kind != "provenance" && !(damage == Damage::Unsigned && name == "cordon-verify")
        })
        .map(|(name, ..)| name.clone())
        .collect();
    let paths: Vec<PathBuf> = signed.iter().map(|name| dir.join(name)).collect();
    let bundles = signer
        .sign_blobs(&paths.iter().map(PathBuf::as_path).collect::<Vec<_>>())
        .unwrap();
    let mut listed: Vec<String> = files.iter().map(|(name, ..)| name.clone()).collect();
    listed.extend(
        [
            "trusted_root.dsse.json",
            "manifest.json",
            "manifest.json.sigstore.json",
        ]
        .map(str::to_owned),
    );
    let mut manifest_files: Vec<Value> = files
        .iter()
        .map(|(name, sha256, kind, describes)| json!({"name": name, "sha256": sha256, "size": 1, "kind": kind, "describes": describes}))
        .collect();
    for (name, bundle) in signed.iter().zip(&bundles) {
        let bundle_name = format!("{name}.sigstore.json");
        let digest = write(&bundle_name, bundle.as_bytes());
        manifest_files.push(json!({"name": bundle_name, "sha256": digest, "size": 1, "kind": "signature", "describes": [name]}));
        listed.push(bundle_name);
    }
    let crates: Vec<Value> = binaries
        .iter()
        .flat_map(|(binary, _, crates)| {
            crates.iter().map(move |c| json!({"name": c.name, "version": c.version,
                "source": "registry+https://github.com/rust-lang/crates.io-index", "binaries": [binary]}))
        })
        .collect();
    let manifest = json!({
        "schema": SCHEMA, "name": "cordon", "version": spec.version,
        "source": {"repository": "git+https://github.com/cordon-dev/cordon", "ref": tag, "commit": COMMIT, "dirty": false, "sourceDateEpoch": 0},
        "files": manifest_files, "crates": crates
    });
    write("manifest.json", format!("{manifest:#}\n").as_bytes());
    let manifest_bundle = signer.sign_blob(&dir.join("manifest.json")).unwrap();
    write("manifest.json.sigstore.json", manifest_bundle.as_bytes());
    let output = Command::new("sha256sum")
        .current_dir(&dir)
        .args(&listed)
        .output()
        .unwrap();
    assert!(output.status.success());
    std::fs::write(dir.join("SHA256SUMS"), &output.stdout).unwrap();
    let sums_bundle = signer.sign_blob(&dir.join("SHA256SUMS")).unwrap();
    std::fs::write(dir.join("SHA256SUMS.sigstore.json"), sums_bundle).unwrap();
    TestRelease {
        temp,
        dir,
        trust_dir,
        fingerprint,
    }
}

/// The usual crate set: permissive licences, with a supplier each.
pub fn usual_crates() -> Vec<TestCrate> {
    vec![
        TestCrate::new("anyhow", "1.0.90", "MIT OR Apache-2.0", "David Tolnay"),
        TestCrate::new(
            "smallvec",
            "1.13.2",
            "MIT OR Apache-2.0",
            "The Servo Project Developers",
        ),
        TestCrate::new(
            "unicode-ident",
            "1.0.13",
            "(MIT OR Apache-2.0) AND Unicode-3.0",
            "David Tolnay",
        ),
    ]
}

/// The `cordon-verify` binary cargo built for this test (tests of the cordon-verify
/// package; other packages' tests build it themselves).
pub fn verify_bin() -> PathBuf {
    match option_env!("CARGO_BIN_EXE_cordon-verify") {
        Some(path) => PathBuf::from(path),
        None => panic!("only cordon-verify's own tests are given the binary by cargo"),
    }
}

/// Runs `cordon-verify ARGS`: exit code, standard output, standard error.
pub fn run(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(verify_bin()).args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (
        output.status.code().unwrap(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr,
    )
}

/// Runs `cordon-verify release DIR ARGS`: exit code, standard output, standard error.
/// Failures must go to standard error only, one line each, and nothing may panic.
pub fn verify_release_split(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let output = Command::new(verify_bin())
        .arg("release")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stdout.contains("cordon-verify: FAILED"), "{stdout}");
    for line in stderr.lines() {
        assert!(line.starts_with("cordon-verify: FAILED ("), "{stderr}");
    }
    (output.status.code().unwrap(), stdout, stderr)
}

/// [`verify_release_split`] with standard output and standard error joined.
pub fn verify_release(dir: &Path, args: &[&str]) -> (i32, String) {
    let (code, stdout, stderr) = verify_release_split(dir, args);
    (code, format!("{stdout}{stderr}"))
}

/// `--pinned-root` with the release's root fingerprint, then `more`.
pub fn pinned<'a>(release: &'a TestRelease, more: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["--pinned-root", release.fingerprint.as_str()];
    args.extend_from_slice(more);
    args
}
