//! The release pipeline as a library, end to end on fixture workspaces: every stage, the
//! development trust root, the verifier's whole-release check, and the refusals.

#![allow(clippy::unwrap_used)]

mod fixture;

use std::fs;
use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use cordon_dist::{Config, ErrorKind, Fix, Prebuilt, Release, Silent, Stage};
use cordon_release::{FileKind, Manifest};
use cordon_verify::{ReleaseExpectations, Report, TrustSource, verify_release};

fn config(root: &Path) -> Config {
    let mut config = Config::new(root, root.parent().unwrap().join("dev-trust"));
    config.command = vec!["fixture-release".into()];
    config
}

fn statement(bundle_path: &Path) -> serde_json::Value {
    let bundle: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(bundle_path).unwrap()).unwrap();
    let payload = base64::engine::general_purpose::STANDARD
        .decode(bundle["dsseEnvelope"]["payload"].as_str().unwrap())
        .unwrap();
    serde_json::from_slice(&payload).unwrap()
}

/// `cordon-verify release DIR --pinned-root FINGERPRINT --deny-extra`, as a distributor
/// runs it.
fn verify_pinned(dir: &Path, trust_dir: &Path) -> Report {
    let fingerprint = cordon_release::TrustDir::open(trust_dir)
        .unwrap()
        .root_fingerprint();
    let pinned: [u8; 32] = hex::decode(fingerprint).unwrap().try_into().unwrap();
    let trust = TrustSource::Pinned {
        fingerprint: pinned,
        signed_root: dir.join("trusted_root.dsse.json"),
    };
    verify_release(
        dir,
        &trust,
        &ReleaseExpectations {
            deny_extra: true,
            ..ReleaseExpectations::default()
        },
    )
}

/// sigstore-python (the venv `cargo xtask test` installs into `target/tools/venv` before
/// the tests run) over every bundle of a release, offline, with the trust directory's
/// client trust config: each signed file against its bundle, every binary and archive
/// against the provenance bundle, and a tampered copy of a binary refused.
fn sigstore_python_accepts(dir: &Path, trust_dir: &Path, manifest: &Manifest) {
    let sigstore = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/tools/venv/bin/sigstore");
    assert!(
        sigstore.exists(),
        "sigstore-python is missing at {}: `cargo xtask test` installs it before the tests run",
        sigstore.display()
    );
    let leaf = cordon_release::LeafIdentity::from_env_or(
        "https://fixture.invalid/local-release",
        "https://fixture.invalid/local-oidc",
    );
    let verify = |args: &[&str]| {
        Command::new(&sigstore)
            .env("COLUMNS", "1000")
            .arg("--trust-config")
            .arg(trust_dir.join("client_trust_config.json"))
            .args(["verify", "identity", "--offline", "--cert-identity"])
            .args([
                leaf.subject.as_str(),
                "--cert-oidc-issuer",
                leaf.issuer.as_str(),
            ])
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap()
    };
    let signed: Vec<&str> = manifest
        .files
        .iter()
        .filter(|file| file.kind == FileKind::Signature)
        .flat_map(|file| file.describes.iter().map(String::as_str))
        .collect();
    assert!(signed.len() >= 4, "{signed:?}");
    let output = verify(&signed);
    assert!(
        output.status.success(),
        "sigstore-python rejects a bundle: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let provenance = manifest
        .files
        .iter()
        .find(|file| file.kind == FileKind::Provenance)
        .unwrap();
    for file in manifest
        .files
        .iter()
        .filter(|file| matches!(file.kind, FileKind::Binary | FileKind::Archive))
    {
        let output = verify(&["--bundle", &provenance.name, &file.name]);
        assert!(
            output.status.success(),
            "sigstore-python rejects {} for {}: {}",
            provenance.name,
            file.name,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    // The control: one flipped byte is refused.
    let tampered = dir.parent().unwrap().join("app-tampered");
    let mut bytes = fs::read(dir.join("app")).unwrap();
    bytes[100] ^= 1;
    fs::write(&tampered, bytes).unwrap();
    let bundle = dir.join("app.sigstore.json");
    let output = verify(&[
        "--bundle",
        bundle.to_str().unwrap(),
        tampered.to_str().unwrap(),
    ]);
    assert!(
        !output.status.success(),
        "sigstore-python accepted a tampered binary"
    );
}

/// ntia-conformance-checker (in the venv `cargo xtask test` installs, through
/// `xtask/tools/conformance.py`) on the release's SPDX documents, its results printed:
/// NTIA, CISA FSCT3-minimum and (SPDX 3) BSI TR-03183-2 all conformant, except FSCT3 on
/// SPDX 2.3, whose SBOM type the checker reads from SPDX 3 only (docs/sbom.md), and
/// BSI's "(Warning)" and "(Optional)" rows, which are informative.
fn conformance_checker_accepts(dir: &Path, files: &[&str]) {
    let tools = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = tools.join("target/tools/venv/bin/python");
    assert!(
        python.exists(),
        "the validators' venv is missing at {}: `cargo xtask test` installs it before the tests run",
        python.display()
    );
    let output = Command::new(&python)
        .arg(tools.join("xtask/tools/conformance.py"))
        .args(files)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "conformance.py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let mut checked = 0;
    for line in stdout.lines() {
        let verdict: serde_json::Value = serde_json::from_str(line).unwrap();
        let (file, standard) = (
            verdict["file"].as_str().unwrap(),
            verdict["standard"].as_str().unwrap(),
        );
        let failed: Vec<&str> = verdict["requirements"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|row| row[1] == false)
            .filter_map(|row| row[0].as_str())
            .filter(|name| !name.ends_with("(Warning)") && !name.ends_with("(Optional)"))
            .collect();
        eprintln!(
            "conformance: {file} {standard}: {} ({} components){}",
            if verdict["conformant"] == true {
                "conformant"
            } else {
                "not conformant"
            },
            verdict["components"],
            if failed.is_empty() {
                String::new()
            } else {
                format!("; failed: {failed:?}, missing: {}", verdict["missing"])
            }
        );
        if standard == "fsct3-min" && file.ends_with(".spdx.json") {
            assert_eq!(
                failed,
                ["SBOM generation context (SBOM type) provided?"],
                "{line}"
            );
        } else {
            assert!(failed.is_empty(), "{file} fails {standard}: {line}");
        }
        checked += 1;
    }
    assert_eq!(checked, 5, "{stdout}");
}

#[test]
fn a_rich_workspace_is_released_and_verifies() {
    let (_dir, root) = fixture::repository();
    fixture::rich(&root, false);

    // No repository anywhere: refused in `check`, naming the fix.
    let error = Release::new(config(&root)).run(&mut Silent).unwrap_err();
    assert_eq!(error.stage(), Stage::Check);
    assert_eq!(error.fix(), Some(Fix::SetRepository), "{error}");

    fixture::rich(&root, true);
    let published = Release::new(config(&root)).run(&mut Silent).unwrap();
    assert!(published.development_root);
    let names: Vec<&str> = published
        .files
        .iter()
        .map(|(name, ..)| name.as_str())
        .collect();
    let archive = "fixture-1.2.3-x86_64-unknown-linux-gnu.tar.gz";
    for expected in [
        "app",
        "app-helper",
        "fixture-tools",
        archive,
        &format!("{archive}.sigstore.json"),
        "fixture-1.2.3.cdx.json",
        "fixture-1.2.3.v1_6.cdx.json",
        "fixture-1.2.3.spdx.json",
        "fixture-1.2.3.spdx3.json",
        "fixture-1.2.3.intoto.jsonl",
        "RELEASE-NOTES.md",
        "SHA256SUMS",
        "manifest.json",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    assert!(!names.contains(&"devtool"), "{names:?}");

    // The crate set: the proc-macro and the build script are not linked in; the optional
    // dependency is, through the feature; the renamed dependency under its package name;
    // the git dependency; not `winonly`, which only a Windows target's feature pulls in.
    let manifest = Manifest::read(&published.dir.join("manifest.json")).unwrap();
    let crates: Vec<(&str, Vec<&str>)> = manifest
        .crates
        .iter()
        .map(|record| {
            (
                record.name.as_str(),
                record.binaries.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        crates,
        [
            ("app", vec!["app", "app-helper"]),
            ("core-lib", vec!["app", "app-helper", "fixture-tools"]),
            ("extra", vec!["app", "app-helper", "fixture-tools"]),
            ("fixture-gitdep", vec!["app", "app-helper"]),
            ("fixture-tools", vec!["fixture-tools"]),
            ("util", vec!["app", "app-helper"]),
        ]
    );

    // The archive holds the binaries (with their .dep-v0, as shipped loose) and the
    // licence and README, and the provenance names it.
    let unpacked = published.dir.parent().unwrap().join("unpacked");
    fs::create_dir_all(&unpacked).unwrap();
    assert!(
        Command::new("tar")
            .arg("-xzf")
            .arg(published.dir.join(archive))
            .current_dir(&unpacked)
            .status()
            .unwrap()
            .success()
    );
    let inside = unpacked.join("fixture-1.2.3-x86_64-unknown-linux-gnu");
    let mut entries: Vec<String> = fs::read_dir(&inside)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    assert_eq!(
        entries,
        ["LICENSE", "README.md", "app", "app-helper", "fixture-tools"]
    );
    assert_eq!(
        fs::read(inside.join("app")).unwrap(),
        fs::read(published.dir.join("app")).unwrap()
    );
    let subjects: Vec<String> =
        statement(&published.dir.join("fixture-1.2.3.intoto.jsonl"))["subject"]
            .as_array()
            .unwrap()
            .iter()
            .map(|subject| subject["name"].as_str().unwrap().to_owned())
            .collect();
    assert_eq!(subjects, ["app", "app-helper", "fixture-tools", archive]);
    let archive_entry = manifest
        .files
        .iter()
        .find(|file| file.name == archive)
        .unwrap();
    assert_eq!(archive_entry.kind, FileKind::Archive);

    // The distributor's check from the pinned root alone, refusing unlisted files.
    let report = verify_pinned(&published.dir, &published.trust_dir);
    assert_eq!(report.verdict(), None, "{}", report.to_text());
    // And an independent Sigstore client.
    sigstore_python_accepts(&published.dir, &published.trust_dir, &manifest);
    // The SBOMs' conformance (NTIA, CISA FSCT3-minimum, BSI TR-03183-2 on SPDX 3).
    conformance_checker_accepts(
        &published.dir,
        &["fixture-1.2.3.spdx.json", "fixture-1.2.3.spdx3.json"],
    );

    // A second run is refused in `check`, before anything is built.
    let error = Release::new(config(&root)).run(&mut Silent).unwrap_err();
    assert_eq!(error.stage(), Stage::Check);
    assert!(
        matches!(error.kind(), ErrorKind::ReleaseExists { .. }),
        "{error}"
    );
    assert!(matches!(error.fix(), Some(Fix::Force { .. })), "{error}");
}

#[test]
fn a_second_release_reports_the_dependency_change_in_its_notes() {
    let (_dir, root) = fixture::repository();
    fixture::small(&root, "0.1.0", &[("dep-a", "1.0.0"), ("dep-gone", "0.3.0")]);
    let first = Release::new(config(&root)).run(&mut Silent).unwrap().dir;
    let notes = fs::read_to_string(first.join("RELEASE-NOTES.md")).unwrap();
    assert!(notes.contains("First release"), "{notes}");
    let manifest = Manifest::read(&first.join("manifest.json")).unwrap();
    let names: Vec<&str> = manifest.crates.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["app", "dep-a", "dep-gone"]);

    // Upgrade dep-a, drop dep-gone, add dep-b.
    fs::remove_dir_all(root.join("dep-gone")).unwrap();
    fixture::small(&root, "0.2.0", &[("dep-a", "1.1.0"), ("dep-b", "0.1.0")]);
    let second = Release::new(config(&root)).run(&mut Silent).unwrap().dir;
    let notes = fs::read_to_string(second.join("RELEASE-NOTES.md")).unwrap();
    assert!(
        notes.contains("## Dependency changes since 0.1.0"),
        "{notes}"
    );
    assert!(
        notes.contains("### Added (1)\n\n- `dep-b` 0.1.0\n"),
        "{notes}"
    );
    assert!(
        notes.contains("### Removed (1)\n\n- `dep-gone` 0.3.0\n"),
        "{notes}"
    );
    assert!(notes.contains("- `dep-a` 1.0.0 → 1.1.0\n"), "{notes}");
    assert!(notes.contains("- `app` 0.1.0 → 0.2.0\n"), "{notes}");
    assert!(first.join("manifest.json").is_file());
}

#[test]
fn the_tables_features_are_built_listed_and_embedded() {
    let (_dir, root) = fixture::repository();
    fixture::small(&root, "0.1.0", &[("dep-a", "1.0.0")]);
    // An optional dependency that only the non-default feature `opt` turns on, and the
    // table asking for that feature.
    fixture::write(
        &root,
        "dep-opt/Cargo.toml",
        "[package]\nname = \"dep-opt\"\nversion = \"2.0.0\"\nedition = \"2024\"\npublish = false\n",
    );
    fixture::write(
        &root,
        "dep-opt/src/lib.rs",
        "pub fn name() -> &'static str { \"dep-opt 2.0.0\" }\n",
    );
    let app = root.join("app/Cargo.toml");
    let text = fs::read_to_string(&app).unwrap()
        + "dep-opt = { path = \"../dep-opt\", optional = true }\n\n[features]\nopt = [\"dep:dep-opt\"]\n";
    fs::write(&app, text).unwrap();
    let main = root.join("app/src/main.rs");
    let text = fs::read_to_string(&main).unwrap().replace(
        "fn main() {\n",
        "fn main() {\n    #[cfg(feature = \"opt\")]\n    println!(\"{}\", dep_opt::name());\n",
    );
    fs::write(&main, text).unwrap();
    let workspace = root.join("Cargo.toml");
    let text = fs::read_to_string(&workspace).unwrap().replace(
        "product = \"fixture\"\n",
        "product = \"fixture\"\nfeatures = [\"opt\"]\n",
    );
    fs::write(&workspace, text).unwrap();
    fixture::lock_and_commit(&root, "the opt feature");

    let published = Release::new(config(&root)).run(&mut Silent).unwrap();
    // Built with the feature...
    let output = Command::new(published.dir.join("app")).output().unwrap();
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("dep-opt 2.0.0"),
        "{output:?}"
    );
    // ...and described with it: the crate set, the SBOM, and `.dep-v0` (which the
    // verifier compares with the SBOMs).
    let manifest = Manifest::read(&published.dir.join("manifest.json")).unwrap();
    let names: Vec<&str> = manifest.crates.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["app", "dep-a", "dep-opt"]);
    let sbom = fs::read_to_string(published.dir.join("fixture-0.1.0.cdx.json")).unwrap();
    assert!(sbom.contains("\"dep-opt\""), "the SBOM lacks dep-opt");
    let report = verify_pinned(&published.dir, &published.trust_dir);
    assert_eq!(report.verdict(), None, "{}", report.to_text());
}

#[test]
fn a_dirty_worktree_is_refused_unless_allowed_and_then_recorded() {
    let (_dir, root) = fixture::repository();
    fixture::small(&root, "0.1.0", &[("dep-a", "1.0.0")]);
    fixture::write(&root, "app/src/extra.rs", "// uncommitted\n");

    let error = Release::new(config(&root)).run(&mut Silent).unwrap_err();
    assert_eq!(error.stage(), Stage::Check);
    assert_eq!(error.fix(), Some(Fix::AllowDirty));
    assert!(error.to_string().contains("app/src/extra.rs"), "{error}");

    let mut allowed = config(&root);
    allowed.allow_dirty = true;
    let published = Release::new(allowed).run(&mut Silent).unwrap();
    let statement = statement(&published.dir.join("fixture-0.1.0.intoto.jsonl"));
    let definition = &statement["predicate"]["buildDefinition"];
    assert_eq!(definition["externalParameters"]["allowDirty"], true);
    assert_eq!(
        definition["externalParameters"]["command"][0],
        "fixture-release"
    );
    assert_eq!(
        definition["resolvedDependencies"][0]["annotations"]["dirtyFiles"][0],
        "app/src/extra.rs"
    );
    let notes = fs::read_to_string(published.dir.join("RELEASE-NOTES.md")).unwrap();
    assert!(notes.contains("uncommitted changes"), "{notes}");
}

#[test]
fn the_workflow_split_accepts_only_the_build_jobs_digests() {
    let (dir, root) = fixture::repository();
    fixture::small(&root, "0.1.0", &[("dep-a", "1.0.0")]);

    // The build job.
    let handover = dir.path().join("handover");
    let sums = Release::new(config(&root))
        .build_only(&handover, &mut Silent)
        .unwrap();
    assert!(sums.ends_with("  app\n"), "{sums}");
    let expected = dir.path().join("expected-sha256sums");
    fs::write(&expected, &sums).unwrap();

    // A tampered hand-over is refused, naming the file.
    let mut prebuilt = config(&root);
    prebuilt.prebuilt = Some(Prebuilt {
        dir: handover.clone(),
        expected_sha256sums: expected,
    });
    let original = fs::read(handover.join("app")).unwrap();
    let mut tampered = original.clone();
    tampered.push(0);
    fs::write(handover.join("app"), &tampered).unwrap();
    let error = Release::new(prebuilt.clone()).run(&mut Silent).unwrap_err();
    assert_eq!(error.stage(), Stage::TakeBuild);
    assert!(error.to_string().contains("tampered"), "{error}");
    assert!(!root.join("dist/0.1.0").exists());

    // The signing job, with the real hand-over.
    fs::write(handover.join("app"), &original).unwrap();
    let published = Release::new(prebuilt).run(&mut Silent).unwrap();
    let manifest = Manifest::read(&published.dir.join("manifest.json")).unwrap();
    let app = manifest
        .files
        .iter()
        .find(|file| file.name == "app")
        .unwrap();
    assert!(sums.starts_with(&app.sha256), "{sums} vs {}", app.sha256);
}

#[test]
fn a_trust_directory_inside_the_workspace_must_be_git_ignored() {
    let (_dir, root) = fixture::repository();
    fixture::small(&root, "0.1.0", &[]);
    let mut config = config(&root);
    config.trust = cordon_dist::TrustSource::Workspace {
        development: root.join(".cordon-dev-trust"),
    };
    // Refused in `check`, before anything is built, with the line to add.
    let error = Release::new(config.clone()).check(&mut Silent).unwrap_err();
    assert_eq!(error.stage(), Stage::Check);
    assert!(
        matches!(error.kind(), ErrorKind::TrustNotIgnored { .. }),
        "{error}"
    );
    assert_eq!(
        error.fix(),
        Some(Fix::IgnoreTrustDir {
            pattern: "/.cordon-dev-trust/".to_owned()
        })
    );
    assert!(error.to_string().contains(".gitignore"), "{error}");
    // Once ignored (and committed), `check` passes; a trust directory outside the
    // workspace needs nothing.
    fs::write(
        root.join(".gitignore"),
        "/target/\n/dist/\n/.cordon-dev-trust/\n",
    )
    .unwrap();
    fixture::git(
        &root,
        &["commit", "--quiet", "-am", "ignore the trust directory"],
    );
    Release::new(config).check(&mut Silent).unwrap();
}
