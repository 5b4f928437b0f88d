//! A real open-source workspace that is not ours released through `cordon-dist`: hexyl
//! (a binary crate from crates.io, 0.16.0), its published sources and `Cargo.lock`.
//!
//! - [`fetch`] (the setup, run by the `sbom` stage of `cargo xtask test` before the check
//!   and by `cargo xtask third-party`; the only step that uses the network) asks cargo for
//!   the crate through a scratch manifest, copies its unpacked sources from
//!   `$CARGO_HOME/registry/src/` into `target/third-party/hexyl-0.16.0/`, and fetches the
//!   crates its own `Cargo.lock` pins.
//! - [`check`] (offline) copies those sources into a scratch git repository, adds what an
//!   adopter adds (a `[workspace.metadata.cordon]` table, the toolchain pin, a
//!   `.gitignore`), releases it with the library exactly as `pipeline/examples/xtask.rs`
//!   does, verifies the release with `cordon-verify release --pinned-root --deny-extra`,
//!   and holds its CycloneDX SBOM's crate set to precision = recall = 1.0 against the
//!   unit list of a real `cargo check --target <host>` of the same sources (the units the
//!   build compiles).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use cordon_release::{FileKind, Manifest};
use cordon_sbom::{Binary, Build};

use crate::run;
use crate::sbom::checked_units;
use crate::sbom_check::{document_set, print_score, score, unit_set};

/// The crate and version released.
const CRATE: &str = "hexyl";
const VERSION: &str = "0.16.0";

/// `target/third-party/hexyl-0.16.0`.
fn source_dir(root: &Path) -> PathBuf {
    root.join("target/third-party")
        .join(format!("{CRATE}-{VERSION}"))
}

/// Fetches the crate's sources and its locked dependencies (see the module doc); does
/// nothing when they are there already.
pub(crate) fn fetch(root: &Path) -> Result<PathBuf> {
    let source = source_dir(root);
    let stamp = source.join(".cordon-fetched");
    if stamp.is_file() {
        return Ok(source);
    }
    eprintln!(
        "third-party: fetching {CRATE} {VERSION} from crates.io into {}",
        source.display()
    );
    let scratch = tempfile::tempdir().context("cannot create a scratch directory")?;
    let manifest = scratch.path().join("Cargo.toml");
    fs::create_dir_all(scratch.path().join("src"))?;
    fs::write(scratch.path().join("src/lib.rs"), "")?;
    fs::write(
        &manifest,
        format!(
            "[package]\nname = \"third-party-fetch\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n\
             [dependencies]\n{CRATE} = \"={VERSION}\"\n\n[workspace]\n"
        ),
    )?;
    run::status(
        run::command("cargo", scratch.path())
            .args(["fetch", "--manifest-path"])
            .arg(&manifest),
    )
    .with_context(|| format!("cannot fetch {CRATE} {VERSION} from crates.io"))?;
    let unpacked = registry_source(&format!("{CRATE}-{VERSION}"))?;
    if source.exists() {
        fs::remove_dir_all(&source)
            .with_context(|| format!("cannot remove {}", source.display()))?;
    }
    copy_tree(&unpacked, &source)?;
    // The crates its own lock file pins (not those the scratch manifest resolved): from a
    // copy made a workspace of its own, since target/ lies inside this workspace.
    let copy = scratch.path().join("locked");
    copy_tree(&source, &copy)?;
    adopt_manifest(&copy)?;
    run::status(
        run::command("cargo", &copy)
            .args(["fetch", "--locked", "--manifest-path"])
            .arg(copy.join("Cargo.toml")),
    )
    .with_context(|| format!("cannot fetch the crates {CRATE}'s Cargo.lock pins"))?;
    fs::write(&stamp, VERSION).with_context(|| format!("cannot write {}", stamp.display()))?;
    Ok(source)
}

/// `$CARGO_HOME/registry/src/<index>/NAME`.
fn registry_source(name: &str) -> Result<PathBuf> {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
        .context("neither CARGO_HOME nor HOME is set")?;
    let registry = cargo_home.join("registry/src");
    for index in
        fs::read_dir(&registry).with_context(|| format!("cannot list {}", registry.display()))?
    {
        let candidate = index?.path().join(name);
        if candidate.join("Cargo.toml").is_file() {
            return Ok(candidate);
        }
    }
    bail!(
        "cargo fetched {name} but it is not unpacked under {}",
        registry.display()
    )
}

/// `cp -R FROM TO`, creating TO's parent first.
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    run::status(
        run::command("cp", Path::new("/"))
            .args(["-R", "--no-preserve=ownership"])
            .arg(from)
            .arg(to),
    )
}

/// What an adopter adds to the manifest: a workspace of its own and the metadata table.
fn adopt_manifest(dir: &Path) -> Result<()> {
    let path = dir.join("Cargo.toml");
    let mut text =
        fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    text.push_str(&format!(
        "\n[workspace]\n\n[workspace.metadata.cordon]\nproduct = \"{CRATE}\"\n"
    ));
    fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
}

fn git(dir: &Path, args: &[&str]) -> Result<()> {
    run::status(
        run::command("git", dir)
            .args([
                "-c",
                "user.name=third-party",
                "-c",
                "user.email=third-party@example.invalid",
            ])
            .args(args),
    )
}

/// Releases the fetched crate and checks the release (see the module doc). Offline.
pub(crate) fn check(root: &Path) -> Result<()> {
    let source = source_dir(root);
    if !source.join(".cordon-fetched").is_file() {
        bail!(
            "{} is missing: `cargo xtask third-party` (or the sbom stage of `cargo xtask test`) fetches it from crates.io first",
            source.display()
        );
    }
    let scratch = tempfile::tempdir().context("cannot create a scratch directory")?;
    let work = scratch.path().join(CRATE);
    copy_tree(&source, &work)?;
    fs::remove_file(work.join(".cordon-fetched"))?;
    adopt_manifest(&work)?;
    fs::copy(
        root.join("rust-toolchain.toml"),
        work.join("rust-toolchain.toml"),
    )
    .context("cannot copy rust-toolchain.toml")?;
    fs::write(work.join(".gitignore"), "/target/\n/dist/\n")?;
    git(&work, &["init", "--quiet"])?;
    git(&work, &["add", "-A"])?;
    git(
        &work,
        &[
            "commit",
            "--quiet",
            "-m",
            "hexyl with a cordon metadata table",
        ],
    )?;

    // The release, as the example xtask makes it.
    let trust_dir = scratch.path().join("dev-trust");
    let mut config = cordon_dist::Config::new(&work, &trust_dir);
    config.command = vec!["cargo".into(), "xtask".into(), "third-party".into()];
    let published = cordon_dist::Release::new(config)
        .run(&mut cordon_dist::Silent)
        .with_context(|| format!("cordon-dist cannot release {CRATE} {VERSION}"))?;

    // The distributor's check, with the workspace's own verifier.
    let pinned = cordon_release::TrustDir::open(&trust_dir)
        .with_context(|| format!("cannot open {}", trust_dir.display()))?
        .root_fingerprint();
    run::status(
        run::command("cargo", root)
            .args([
                "run",
                "--quiet",
                "--locked",
                "-p",
                "cordon-verify",
                "--",
                "release",
            ])
            .arg(&published.dir)
            .args(["--pinned-root", &pinned, "--deny-extra"]),
    )
    .with_context(|| format!("cordon-verify rejects the release of {CRATE}"))?;

    // The SBOM's crate set against the build's unit list (`cargo check`: the same units).
    let manifest = work.join("Cargo.toml");
    let mut build = Build {
        manifest_path: manifest.clone(),
        binaries: vec![Binary {
            package: CRATE.to_owned(),
            bin: CRATE.to_owned(),
        }],
        target: None,
        features: Vec::new(),
        no_default_features: false,
    };
    let target = cordon_sbom::resolve(&build)?.target;
    build.target = Some(target.clone());
    let artifacts = checked_units(&build, &["--offline"])?;
    let truth = unit_set(&artifacts, &manifest, &target)?;
    let sbom = published.dir.join(format!("{CRATE}-{VERSION}.cdx.json"));
    // The release's archives are described beside the crates (files with digests), not
    // as crates: leave them out of the comparison.
    let manifest_path = published.dir.join("manifest.json");
    let release_manifest = Manifest::read(&manifest_path)
        .with_context(|| format!("cannot read {}", manifest_path.display()))?;
    let archives: Vec<&str> = release_manifest
        .files
        .iter()
        .filter(|file| file.kind == FileKind::Archive)
        .map(|file| file.name.as_str())
        .collect();
    let mut listed = document_set(&sbom)?;
    listed.retain(|(name, _)| !archives.contains(&name.as_str()));
    let result = score(&listed, &truth);
    print_score(&format!("{CRATE} {VERSION} (third-party)"), &result);
    if result.precision < 1.0 || result.recall < 1.0 {
        bail!(
            "the SBOM of {CRATE}'s release ({}) does not match its build's unit list",
            sbom.display()
        );
    }
    Ok(())
}
