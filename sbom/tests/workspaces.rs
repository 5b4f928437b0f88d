//! End-to-end tests of `cordon-sbom` on small real workspaces written to a temporary
//! directory: cargo itself resolves them (path and local git dependencies only, so no
//! network is needed).
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use cordon_sbom::{Binary, Build, CrateSource, Error, Format, Options};
use serde_json::Value;

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

fn lib_crate(root: &Path, name: &str, manifest_extra: &str) {
    write(
        &root.join(name).join("Cargo.toml"),
        &format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\nlicense = \"MIT/Apache-2.0\"\nauthors = [\"Ann Author <ann@example.com>\"]\ndescription = \"the {name} crate\"\n{manifest_extra}"
        ),
    );
    write(&root.join(name).join("src/lib.rs"), "");
}

fn cargo(dir: &Path, args: &[&str]) {
    let status = Command::new(env!("CARGO"))
        .args(args)
        .current_dir(dir)
        .status()
        .unwrap();
    assert!(status.success(), "cargo {args:?} failed");
}

/// A workspace whose binary `app` (package `app`) has: a normal path dependency `used`
/// with a weak-feature-only optional dependency `phantom`; a build dependency `builder`;
/// a proc-macro `macros`; a Windows-only dependency `winonly`; a dev-dependency `devonly`;
/// a non-default feature `loud` that turns on `used`'s optional `loud_dep`, a path
/// dependency outside the workspace (so that cargo metadata lists it only when asked).
fn fixture() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    write(
        &root.join("Cargo.toml"),
        "[workspace]\nresolver = \"2\"\nmembers = [\"app\", \"used\", \"phantom\", \"builder\", \"macros\", \"winonly\", \"devonly\", \"leaf_dep\"]\nexclude = [\"outside\"]\n",
    );
    write(
        &root.join("app/Cargo.toml"),
        r#"[package]
name = "app"
version = "1.2.3"
edition = "2021"
license = "Apache-2.0"
authors = ["The app team"]
repository = "https://example.com/app"
build = "build.rs"

[[bin]]
name = "app-bin"
path = "src/main.rs"

[dependencies]
used = { path = "../used", features = ["weak"] }
macros = { path = "../macros" }

[build-dependencies]
builder = { path = "../builder" }

[target.'cfg(windows)'.dependencies]
winonly = { path = "../winonly" }

[dev-dependencies]
devonly = { path = "../devonly" }

[features]
loud = ["used/loud"]
"#,
    );
    write(&root.join("app/build.rs"), "fn main() {}\n");
    write(&root.join("app/src/main.rs"), "fn main() {}\n");
    lib_crate(
        &root,
        "used",
        "\n[dependencies]\nphantom = { path = \"../phantom\", optional = true }\nleaf_dep = { path = \"../leaf_dep\" }\nloud_dep = { path = \"../outside/loud_dep\", optional = true }\n\n[features]\nweak = [\"phantom?/extra\"]\nloud = [\"dep:loud_dep\"]\n",
    );
    lib_crate(&root, "phantom", "\n[features]\nextra = []\n");
    lib_crate(&root.join("outside"), "loud_dep", "");
    lib_crate(&root, "builder", "");
    lib_crate(&root, "winonly", "");
    lib_crate(&root, "devonly", "");
    lib_crate(&root, "leaf_dep", "");
    lib_crate(&root, "macros", "\n[lib]\nproc-macro = true\n");
    cargo(&root, &["generate-lockfile", "--offline", "--quiet"]);
    (dir, root)
}

fn build(root: &Path, target: Option<&str>) -> Build {
    Build {
        manifest_path: root.join("Cargo.toml"),
        binaries: vec![Binary {
            package: "app".into(),
            bin: "app-bin".into(),
        }],
        target: target.map(str::to_owned),
        features: vec![],
        no_default_features: false,
    }
}

fn names(build: &Build) -> Vec<String> {
    let resolution = cordon_sbom::resolve(build).unwrap();
    let binary = &resolution.binaries[0];
    binary
        .crates
        .iter()
        .map(|&i| resolution.crates[i].name.clone())
        .collect()
}

#[test]
fn crate_set_is_what_is_linked() {
    let (_dir, root) = fixture();
    // No build dependency, proc-macro, dev-dependency, other-platform or weak-feature
    // phantom dependency.
    assert_eq!(
        names(&build(&root, Some("x86_64-unknown-linux-gnu"))),
        ["app", "leaf_dep", "used"]
    );
    // For Windows, the cfg(windows) dependency is in (no Windows std is needed to resolve).
    assert_eq!(
        names(&build(&root, Some("x86_64-pc-windows-gnu"))),
        ["app", "leaf_dep", "used", "winonly"]
    );
}

#[test]
fn a_requested_feature_brings_in_the_optional_dependency_it_enables() {
    // cargo metadata leaves such a dependency out of its graph unless asked for every
    // feature; cordon asks, and decides over that graph. Values read as cargo reads
    // `--features`: several in one value, and `dep/feat` for a dependency's feature.
    let (_dir, root) = fixture();
    for feature in ["loud", "app/loud", "app/loud,loud", " loud  ", "used/loud"] {
        let mut build = build(&root, Some("x86_64-unknown-linux-gnu"));
        build.features = vec![feature.to_owned()];
        assert_eq!(
            names(&build),
            ["app", "leaf_dep", "loud_dep", "used"],
            "-F {feature}"
        );
    }
}

#[test]
fn documents_are_valid_shaped_deterministic_and_honest() {
    let (dir, root) = fixture();
    let binary = dir.path().join("app-bin");
    fs::write(&binary, b"not really a binary").unwrap();
    let options = Options {
        timestamp: Some(1_700_000_000),
        ..Options::default()
    };
    let build = build(&root, Some("x86_64-unknown-linux-gnu"));
    for format in Format::ALL {
        let first =
            cordon_sbom::document(&build, std::slice::from_ref(&binary), format, &options).unwrap();
        let second =
            cordon_sbom::document(&build, std::slice::from_ref(&binary), format, &options).unwrap();
        assert_eq!(first, second, "{format:?} is not deterministic");
        let json: Value = serde_json::from_slice(&first).unwrap();
        let text = String::from_utf8(first).unwrap();
        for absent in ["phantom", "builder", "macros", "winonly", "devonly"] {
            assert!(
                !text.contains(&format!("\"{absent}\"")),
                "{format:?} lists {absent}"
            );
        }
        assert!(text.contains("2023-11-14T22:13:20Z"));
        // SHA-256 and SHA-512 of the file itself.
        let sha256 = sha256_hex(b"not really a binary");
        assert!(
            text.contains(&sha256),
            "{format:?} lacks the binary's SHA-256"
        );
        match format {
            Format::Spdx23 => {
                let packages = json["packages"].as_array().unwrap();
                // The binary, its two crates, and the toolchain (rustc, std).
                assert_eq!(packages.len(), 5);
                let toolchain: Vec<_> = packages
                    .iter()
                    .filter_map(cordon_format::toolchain::in_spdx2)
                    .collect();
                assert_eq!(toolchain.len(), 2, "{packages:?}");
                let leaf = packages.iter().find(|p| p["name"] == "leaf_dep").unwrap();
                assert_eq!(leaf["SPDXID"], "SPDXRef-Package-leaf-dep-0.1.0");
                assert_eq!(leaf["licenseDeclared"], "MIT OR Apache-2.0");
                // A path dependency has no download location and no invented checksum.
                assert_eq!(leaf["downloadLocation"], "NOASSERTION");
                assert!(leaf.get("checksums").is_none());
                assert_eq!(json["documentDescribes"][0], "SPDXRef-Binary-app-bin-1.2.3");
                // No licence file in the fixture: no concluded licence; every file of
                // the crate was read and none holds a copyright statement: NONE.
                assert_eq!(leaf["licenseConcluded"], "NOASSERTION");
                assert_eq!(leaf["copyrightText"], "NONE");
                assert!(
                    leaf["comment"]
                        .as_str()
                        .unwrap()
                        .contains("copyright: NONE, none of the crate's 2 files"),
                    "{leaf}"
                );
                // Completeness, the SPDX 2.3 way: the leaf depends on NONE.
                let relationships = json["relationships"].as_array().unwrap();
                assert!(
                    relationships
                        .iter()
                        .any(|r| r["spdxElementId"] == "SPDXRef-Package-leaf-dep-0.1.0"
                            && r["relationshipType"] == "DEPENDS_ON"
                            && r["relatedSpdxElement"] == "NONE")
                );
                // The binary depends on std; rustc is its build tool.
                let std_id =
                    packages.iter().find(|p| p["name"] == "std").unwrap()["SPDXID"].clone();
                let rustc_id =
                    packages.iter().find(|p| p["name"] == "rustc").unwrap()["SPDXID"].clone();
                let binary_id = json["documentDescribes"][0].clone();
                assert!(relationships.iter().any(|r| r["spdxElementId"] == binary_id
                    && r["relationshipType"] == "DEPENDS_ON"
                    && r["relatedSpdxElement"] == std_id));
                assert!(relationships.iter().any(|r| r["spdxElementId"] == rustc_id
                    && r["relationshipType"] == "BUILD_TOOL_OF"
                    && r["relatedSpdxElement"] == binary_id));
            }
            Format::Spdx301 => {
                let graph = json["@graph"].as_array().unwrap();
                let of_type = |kind: &'static str| graph.iter().filter(move |e| e["type"] == kind);
                let sbom = of_type("software_Sbom").next().unwrap();
                assert_eq!(sbom["software_sbomType"], serde_json::json!(["build"]));
                assert_eq!(of_type("software_Package").count(), 5);
                assert_eq!(
                    of_type("software_Package")
                        .filter_map(cordon_format::toolchain::in_spdx3)
                        .count(),
                    2
                );
                let rustc = of_type("software_Package")
                    .find(|p| p["name"] == "rustc")
                    .unwrap();
                let uses_tool = of_type("LifecycleScopedRelationship")
                    .find(|r| r["relationshipType"] == "usesTool")
                    .unwrap();
                assert_eq!(uses_tool["to"], serde_json::json!([rustc["spdxId"]]));
                assert_eq!(uses_tool["scope"], "build");
                let leaf = of_type("software_Package")
                    .find(|p| p["name"] == "leaf_dep")
                    .unwrap();
                let leaf_id = leaf["spdxId"].as_str().unwrap();
                let from_leaf = |kind: &str| {
                    of_type("Relationship")
                        .find(|r| r["from"] == leaf_id && r["relationshipType"] == kind)
                        .unwrap()
                };
                let depends = from_leaf("dependsOn");
                assert_eq!(depends["to"], serde_json::json!(["NoneElement"]));
                assert_eq!(depends["completeness"], "complete");
                assert_eq!(
                    from_leaf("hasConcludedLicense")["to"],
                    serde_json::json!(["expandedlicensing_NoAssertionLicense"])
                );
                assert_eq!(leaf["software_copyrightText"], "NONE");
            }
            _ => {
                let components = json["components"].as_array().unwrap();
                // Two crates, then the toolchain: std (required) and rustc (excluded).
                assert_eq!(components.len(), 4);
                let part = |name: &str| {
                    let component = components.iter().find(|c| c["name"] == name).unwrap();
                    (
                        cordon_format::toolchain::in_cyclonedx(component),
                        component["scope"].clone(),
                    )
                };
                assert_eq!(
                    part("std"),
                    (
                        Some(cordon_format::toolchain::ToolchainPart::Std),
                        serde_json::json!("required")
                    )
                );
                assert_eq!(
                    part("rustc"),
                    (
                        Some(cordon_format::toolchain::ToolchainPart::Rustc),
                        serde_json::json!("excluded")
                    )
                );
                let used = components.iter().find(|c| c["name"] == "used").unwrap();
                assert_eq!(used["licenses"][0]["expression"], "MIT OR Apache-2.0");
                assert_eq!(used["purl"], "pkg:cargo/used@0.1.0");
                assert!(used.get("hashes").is_none());
                let primary = &json["metadata"]["component"];
                assert_eq!(primary["name"], "app-bin");
                assert_eq!(primary["version"], "1.2.3");
                assert_eq!(primary["hashes"].as_array().unwrap().len(), 2);
                let deps = json["dependencies"].as_array().unwrap();
                let app = deps
                    .iter()
                    .find(|d| d["ref"] == primary["bom-ref"])
                    .unwrap();
                let std_ref = &components.iter().find(|c| c["name"] == "std").unwrap()["bom-ref"];
                assert_eq!(
                    app["dependsOn"],
                    serde_json::json!(["pkg:cargo/used@0.1.0", std_ref])
                );
                assert!(
                    json["serialNumber"]
                        .as_str()
                        .unwrap()
                        .starts_with("urn:uuid:")
                );
            }
        }
    }
}

#[test]
fn missing_lockfile_is_a_clear_error() {
    let (_dir, root) = fixture();
    fs::remove_file(root.join("Cargo.lock")).unwrap();
    let error = cordon_sbom::resolve(&build(&root, None)).unwrap_err();
    assert!(matches!(error, Error::NoLockfile { .. }), "{error}");
    assert!(error.to_string().contains("cargo generate-lockfile"));
    // Nothing was written behind our back.
    assert!(!root.join("Cargo.lock").exists());
}

#[test]
fn unknown_package_or_binary_is_a_clear_error() {
    let (_dir, root) = fixture();
    let mut wrong = build(&root, None);
    wrong.binaries[0].package = "nope".into();
    let error = cordon_sbom::resolve(&wrong).unwrap_err();
    assert!(matches!(error, Error::UnknownPackage { .. }), "{error}");
    assert!(error.to_string().contains("app"));

    let mut wrong = build(&root, None);
    wrong.binaries[0].bin = "nope".into();
    let error = cordon_sbom::resolve(&wrong).unwrap_err();
    assert!(matches!(error, Error::UnknownBinary { .. }), "{error}");
    assert!(error.to_string().contains("app-bin"));

    // An empty bin picks the only one.
    let mut only = build(&root, None);
    only.binaries[0].bin = String::new();
    assert_eq!(
        cordon_sbom::resolve(&only).unwrap().binaries[0].bin,
        "app-bin"
    );
    // A library package, with no binary named: says so.
    let mut library = build(&root, None);
    library.binaries[0] = Binary {
        package: "used".into(),
        bin: String::new(),
    };
    let error = cordon_sbom::resolve(&library).unwrap_err();
    assert!(matches!(error, Error::WhichBinary { .. }), "{error}");
    assert!(
        error
            .to_string()
            .contains("no binary target (it is a library)"),
        "{error}"
    );
}

#[test]
fn unknown_target_is_a_clear_error() {
    let (_dir, root) = fixture();
    let error = cordon_sbom::resolve(&build(&root, Some("nonesuch-unknown-target"))).unwrap_err();
    assert!(matches!(error, Error::UnknownTarget { .. }), "{error}");
    assert!(error.to_string().contains("nonesuch-unknown-target"));
}

#[test]
fn unreadable_binary_is_a_clear_error() {
    let (dir, root) = fixture();
    let error = cordon_sbom::document(
        &build(&root, None),
        &[dir.path().join("missing")],
        Format::CycloneDx16,
        &Options {
            timestamp: Some(0),
            ..Options::default()
        },
    )
    .unwrap_err();
    assert!(matches!(error, Error::Io { .. }), "{error}");
}

/// A git dependency (a local repository, so no network) has no checksum in Cargo.lock:
/// the document says where it came from (purl `vcs_url`, SPDX download location) and
/// carries no hash rather than an invented one.
#[test]
fn git_dependencies_are_described_honestly() {
    let (dir, root) = fixture();
    let repo = dir.path().join("gitdep");
    write(
        &repo.join("Cargo.toml"),
        "[package]\nname = \"gitdep\"\nversion = \"0.3.0\"\nedition = \"2021\"\nlicense = \"Proprietary licence\"\n",
    );
    write(&repo.join("src/lib.rs"), "");
    let git = |args: &[&str]| {
        let status = Command::new("git")
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .current_dir(&repo)
            .status()
            .unwrap();
        assert!(status.success());
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "x"]);
    let url = format!("file://{}", repo.display());
    let manifest = root.join("app/Cargo.toml");
    let text = fs::read_to_string(&manifest).unwrap().replace(
        "[build-dependencies]",
        &format!("gitdep = {{ git = \"{url}\" }}\n\n[build-dependencies]"),
    );
    fs::write(&manifest, text).unwrap();
    cargo(&root, &["generate-lockfile", "--quiet"]);

    let build = build(&root, Some("x86_64-unknown-linux-gnu"));
    let resolution = cordon_sbom::resolve(&build).unwrap();
    let gitdep = resolution
        .crates
        .iter()
        .find(|c| c.name == "gitdep")
        .unwrap();
    assert!(
        matches!(&gitdep.source, CrateSource::Git { url: u, rev } if *u == url && rev.len() == 40)
    );

    let binary = dir.path().join("app-bin");
    fs::write(&binary, b"x").unwrap();
    let options = Options {
        timestamp: Some(0),
        ..Options::default()
    };
    let cdx: Value = serde_json::from_slice(
        &cordon_sbom::document(
            &build,
            std::slice::from_ref(&binary),
            Format::CycloneDx16,
            &options,
        )
        .unwrap(),
    )
    .unwrap();
    let component = cdx["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "gitdep")
        .unwrap();
    assert!(component.get("hashes").is_none());
    // Unknown licence text stays unknown.
    assert!(component.get("licenses").is_none());
    assert!(
        component["purl"]
            .as_str()
            .unwrap()
            .starts_with("pkg:cargo/gitdep@0.3.0?vcs_url=git%2Bfile")
    );
    let spdx: Value = serde_json::from_slice(
        &cordon_sbom::document(&build, &[binary], Format::Spdx23, &options).unwrap(),
    )
    .unwrap();
    let package = spdx["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "gitdep")
        .unwrap();
    // A local (file://) repository is no download location SPDX accepts; the purl keeps it.
    assert_eq!(package["downloadLocation"], "NOASSERTION");
    assert_eq!(package["licenseDeclared"], "NOASSERTION");
    assert!(package.get("checksums").is_none());
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
