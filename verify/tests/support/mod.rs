//! A signed test release for the `report` and SSDF-map tests: two real ELF binaries
//! carrying `.dep-v0` crate lists, a CycloneDX SBOM built from the same crate list (so
//! `cordon-verify release` accepts it), SLSA provenance, a manifest with the crate set,
//! every file signed with cordon's own signer under a fresh trust root, `SHA256SUMS`.
//! The crates, their licences and suppliers, and the SBOM's extra strings are the
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

/// What the release holds.
#[derive(Debug, Clone)]
pub struct Spec {
    pub version: String,
    pub crates: Vec<TestCrate>,
    /// Extra fields merged into the SBOM's `metadata` (e.g. hostile strings).
    pub sbom_metadata: Value,
}

impl Spec {
    pub fn new(version: &str, crates: Vec<TestCrate>) -> Spec {
        Spec {
            version: version.into(),
            crates,
            sbom_metadata: json!({}),
        }
    }
}

#[derive(Debug)]
pub struct TestRelease {
    pub temp: tempfile::TempDir,
    pub dir: PathBuf,
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

fn purl(c: &TestCrate) -> String {
    format!("pkg:cargo/{}@{}", c.name, c.version)
}

/// Builds and signs the release.
pub fn build(spec: &Spec) -> TestRelease {
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
    let crate_list: Vec<(&str, &str)> = spec
        .crates
        .iter()
        .map(|c| (c.name.as_str(), c.version.as_str()))
        .collect();
    let binary = elf_with_deps(&dir, "cordon", "cordon-cli", &crate_list);
    let statement = json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "cordon", "digest": {"sha256": binary}}],
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
    let provenance_name = format!("cordon-{}.intoto.jsonl", spec.version);
    let provenance = write(
        &provenance_name,
        signer
            .sign_in_toto(statement.to_string().as_bytes())
            .unwrap()
            .as_bytes(),
    );
    let app_ref = "pkg:cargo/cordon-cli@0.1.0?bin=cordon";
    let components: Vec<Value> = spec
        .crates
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
    let mut metadata = json!({
        "timestamp": "2099-01-01T00:00:00Z",
        "authors": [{"name": "The cordon developers"}],
        "component": {"type": "application", "name": "cordon", "version": spec.version,
            "bom-ref": app_ref, "purl": "pkg:cargo/cordon-cli@0.1.0",
            "supplier": {"name": "The cordon developers"},
            "licenses": [{"expression": "Apache-2.0"}],
            "hashes": [{"alg": "SHA-256", "content": binary}]}
    });
    if let (Value::Object(target), Value::Object(extra)) = (&mut metadata, &spec.sbom_metadata) {
        for (key, value) in extra {
            target.insert(key.clone(), value.clone());
        }
    }
    let mut dependencies = vec![json!({"ref": app_ref,
        "dependsOn": spec.crates.iter().map(purl).collect::<Vec<_>>()})];
    dependencies.extend(
        spec.crates
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
    let signed = ["cordon", sbom_name.as_str()];
    let paths: Vec<PathBuf> = signed.iter().map(|name| dir.join(name)).collect();
    let bundles = signer
        .sign_blobs(&paths.iter().map(PathBuf::as_path).collect::<Vec<_>>())
        .unwrap();
    let mut files = vec![
        json!({"name": "cordon", "sha256": binary, "size": 1, "kind": "binary", "describes": []}),
        json!({"name": provenance_name, "sha256": provenance, "size": 1, "kind": "provenance", "describes": ["cordon"]}),
        json!({"name": sbom_name, "sha256": sbom, "size": 1, "kind": "sbom", "describes": ["cordon"]}),
    ];
    let mut listed = vec![
        "cordon".to_owned(),
        provenance_name,
        sbom_name.clone(),
        "trusted_root.dsse.json".to_owned(),
        "manifest.json".to_owned(),
        "manifest.json.sigstore.json".to_owned(),
    ];
    for (name, bundle) in signed.iter().zip(&bundles) {
        let bundle_name = format!("{name}.sigstore.json");
        let digest = write(&bundle_name, bundle.as_bytes());
        files.push(json!({"name": bundle_name, "sha256": digest, "size": 1, "kind": "signature", "describes": [name]}));
        listed.push(bundle_name);
    }
    let crates: Vec<Value> = spec
        .crates
        .iter()
        .map(|c| json!({"name": c.name, "version": c.version,
            "source": "registry+https://github.com/rust-lang/crates.io-index", "binaries": ["cordon"]}))
        .collect();
    let manifest = json!({
        "schema": SCHEMA, "name": "cordon", "version": spec.version,
        "source": {"repository": "git+https://github.com/cordon-dev/cordon", "ref": tag, "commit": COMMIT, "dirty": false, "sourceDateEpoch": 0},
        "files": files, "crates": crates
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
