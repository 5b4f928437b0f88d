//! End-to-end tests of the release pipeline on a small fixture workspace (path
//! dependencies only, so it builds offline in seconds).

use std::fs;
use std::path::Path;
use std::process::Command;

use cordon_release::manifest::{FileKind, Manifest};

use super::{Options, release};

fn write(root: &Path, relative: &str, text: &str) {
    let path = root.join(relative);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

fn git(root: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args([
            "-c",
            "user.name=fixture",
            "-c",
            "user.email=fixture@example.invalid",
        ])
        .args(args)
        .current_dir(root)
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?} failed");
}

fn library(root: &Path, name: &str, version: &str) {
    write(
        root,
        &format!("{name}/Cargo.toml"),
        &format!(
            "[package]\nname = \"{name}\"\nversion = \"{version}\"\nedition = \"2024\"\npublish = false\n"
        ),
    );
    write(
        root,
        &format!("{name}/src/lib.rs"),
        &format!("pub fn name() -> &'static str {{ \"{name} {version}\" }}\n"),
    );
}

/// The fixture at `version`, its binary depending on `deps`; committed.
fn fixture(root: &Path, version: &str, deps: &[(&str, &str)]) {
    let pin = fs::read_to_string(crate::workspace_root().join("rust-toolchain.toml")).unwrap();
    write(root, "rust-toolchain.toml", &pin);
    write(root, ".gitignore", "/target/\n/dist/\n");
    write(
        root,
        "Cargo.toml",
        &format!(
            "[workspace]\nresolver = \"3\"\nmembers = [\"app\"]\n\n[workspace.package]\n\
             version = \"{version}\"\nrepository = \"https://example.invalid/fixture\"\n\n\
             [profile.release]\ncodegen-units = 1\n"
        ),
    );
    let mut manifest = String::from(
        "[package]\nname = \"app\"\nversion.workspace = true\nedition = \"2024\"\n\
         repository.workspace = true\n\n[dependencies]\n",
    );
    let mut main = String::from("fn main() {\n");
    for (name, dep_version) in deps {
        library(root, name, dep_version);
        manifest.push_str(&format!("{name} = {{ path = \"../{name}\" }}\n"));
        main.push_str(&format!(
            "    println!(\"{{}}\", {}::name());\n",
            name.replace('-', "_")
        ));
    }
    main.push_str("}\n");
    write(root, "app/Cargo.toml", &manifest);
    write(root, "app/src/main.rs", &main);
    let status = Command::new("cargo")
        .args(["generate-lockfile", "--offline", "--quiet"])
        .current_dir(root)
        .status()
        .unwrap();
    assert!(status.success());
    git(root, &["add", "-A"]);
    git(root, &["commit", "--quiet", "-m", version]);
}

fn options(root: &Path) -> Options {
    Options {
        dist: root.join("dist"),
        force: false,
        allow_dirty: false,
        quiet: true,
        advisory_db: None,
        trust: None,
        command: vec!["cargo".into(), "xtask".into(), "release".into()],
        prebuilt: None,
    }
}

#[test]
fn a_second_release_reports_the_dependency_change_in_its_notes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    git(root, &["init", "--quiet"]);

    fixture(root, "0.1.0", &[("dep-a", "1.0.0"), ("dep-gone", "0.3.0")]);
    let first = release(root, &options(root)).unwrap();
    let notes = fs::read_to_string(first.join("RELEASE-NOTES.md")).unwrap();
    assert!(notes.contains("First release"), "{notes}");
    let manifest = Manifest::read(&first.join("manifest.json")).unwrap();
    let names: Vec<&str> = manifest.crates.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["app", "dep-a", "dep-gone"]);
    assert!(
        manifest
            .files
            .iter()
            .any(|f| f.kind == FileKind::Binary && f.name == "app")
    );

    // Upgrade dep-a, drop dep-gone, add dep-b.
    fs::remove_dir_all(root.join("dep-gone")).unwrap();
    fixture(root, "0.2.0", &[("dep-a", "1.1.0"), ("dep-b", "0.1.0")]);
    let second = release(root, &options(root)).unwrap();
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
    assert!(notes.contains("### Upgraded (2)\n"), "{notes}");
    assert!(notes.contains("- `dep-a` 1.0.0 → 1.1.0\n"), "{notes}");
    assert!(notes.contains("- `app` 0.1.0 → 0.2.0\n"), "{notes}");

    // The first release is untouched and a third run of 0.2.0 is refused.
    assert!(first.join("manifest.json").is_file());
    let error = release(root, &options(root)).unwrap_err();
    assert!(format!("{error:#}").contains("already exists"), "{error:#}");
}

#[test]
fn a_dirty_worktree_is_refused_unless_allowed_and_then_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    git(root, &["init", "--quiet"]);
    fixture(root, "0.1.0", &[("dep-a", "1.0.0")]);
    write(root, "app/src/extra.rs", "// uncommitted\n");

    let error = release(root, &options(root)).unwrap_err();
    let message = format!("{error:#}");
    assert!(message.contains("stage `check`"), "{message}");
    assert!(
        message.contains("app/src/extra.rs") && message.contains("--allow-dirty"),
        "{message}"
    );

    let mut allowed = options(root);
    allowed.allow_dirty = true;
    let published = release(root, &allowed).unwrap();
    let bundle: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(published.join("cordon-0.1.0.intoto.jsonl")).unwrap(),
    )
    .unwrap();
    use base64::Engine as _;
    let payload = base64::engine::general_purpose::STANDARD
        .decode(bundle["dsseEnvelope"]["payload"].as_str().unwrap())
        .unwrap();
    let statement: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    let definition = &statement["predicate"]["buildDefinition"];
    assert_eq!(definition["externalParameters"]["allowDirty"], true);
    assert_eq!(
        definition["resolvedDependencies"][0]["annotations"]["dirtyFiles"][0],
        "app/src/extra.rs"
    );
    assert_eq!(statement["subject"][0]["name"], "app");
    let notes = fs::read_to_string(published.join("RELEASE-NOTES.md")).unwrap();
    assert!(notes.contains("uncommitted changes"), "{notes}");
}

#[test]
fn the_workflow_split_accepts_only_the_build_jobs_digests() {
    let dir = tempfile::tempdir().unwrap();
    let root = &dir.path().join("source");
    fs::create_dir_all(root).unwrap();
    git(root, &["init", "--quiet"]);
    fixture(root, "0.1.0", &[("dep-a", "1.0.0")]);

    // The build job.
    let handover = dir.path().join("handover");
    super::handover::build_only(root, &options(root), &handover).unwrap();
    let expected = dir.path().join("expected-sha256sums");
    fs::copy(handover.join("SHA256SUMS"), &expected).unwrap();
    let sums = fs::read_to_string(&expected).unwrap();
    assert!(sums.ends_with("  app\n"), "{sums}");

    // A tampered hand-over is refused, naming the file.
    let mut prebuilt = options(root);
    prebuilt.prebuilt = Some((handover.clone(), expected));
    let original = fs::read(handover.join("app")).unwrap();
    let mut tampered = original.clone();
    tampered.push(0);
    fs::write(handover.join("app"), &tampered).unwrap();
    let error = format!("{:#}", release(root, &prebuilt).unwrap_err());
    assert!(
        error.contains("stage `take-build`") && error.contains("tampered"),
        "{error}"
    );
    assert!(!root.join("dist/0.1.0").exists());

    // The signing job, with the real hand-over.
    fs::write(handover.join("app"), &original).unwrap();
    let published = release(root, &prebuilt).unwrap();
    let manifest = Manifest::read(&published.join("manifest.json")).unwrap();
    let app = manifest
        .files
        .iter()
        .find(|file| file.name == "app")
        .unwrap();
    assert!(sums.starts_with(&app.sha256), "{sums} vs {}", app.sha256);
}
