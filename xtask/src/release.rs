//! `cargo xtask release`: build the shipped binaries and publish `dist/<version>/`.
//!
//! What ships is declared by the manifests, not listed here: every binary target of every
//! workspace package that may be published (`publish = false` packages such as xtask and
//! the end-to-end tests are tools, not products).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use cargo_metadata::{Metadata, MetadataCommand, TargetKind};
use cordon_release::output::StagedDir;

use crate::run;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Where release directories go.
    #[arg(long, value_name = "DIR")]
    dist: Option<PathBuf>,
    /// Replace an existing dist/<version>/ instead of refusing.
    #[arg(long)]
    force: bool,
}

/// A binary the release ships.
#[derive(Debug)]
struct Shipped {
    package: String,
    bin: String,
}

pub(crate) fn run(root: &Path, args: &Args) -> Result<PathBuf> {
    let dist = args.dist.clone().unwrap_or_else(|| root.join("dist"));
    release(root, &dist, args.force)
}

/// Builds and publishes the release into `dist/<version>/`; returns that directory.
pub(crate) fn release(root: &Path, dist: &Path, force: bool) -> Result<PathBuf> {
    let metadata = MetadataCommand::new()
        .manifest_path(root.join("Cargo.toml"))
        .no_deps()
        .other_options(vec!["--locked".to_owned()])
        .exec()
        .context("release: cannot read the workspace with `cargo metadata`")?;
    let version = workspace_version(&metadata)?;
    let shipped = shipped_binaries(&metadata);
    if shipped.is_empty() {
        bail!("release: no workspace package ships a binary");
    }

    eprintln!("release {version}: building {} binaries", shipped.len());
    let mut build = run::command("cargo", root);
    build.args(["build", "--release", "--locked"]);
    for binary in &shipped {
        build.args(["--package", &binary.package, "--bin", &binary.bin]);
    }
    run::status(&mut build).context("release: the build failed (see cargo's output above)")?;

    let built_dir = metadata.target_directory.as_std_path().join("release");
    let mut staged = StagedDir::create(dist, &version)
        .with_context(|| format!("release: cannot stage {}", dist.display()))?;
    for binary in &shipped {
        let built = built_dir.join(&binary.bin);
        staged
            .copy_file(&binary.bin, &built, true)
            .with_context(|| format!("release: cannot copy the built {}", binary.bin))?;
    }
    staged
        .write_checksums("SHA256SUMS")
        .context("release: cannot write SHA256SUMS")?;
    let sums = staged.checksums().clone();
    let published = staged.publish(force).with_context(|| {
        format!("release: cannot publish {version} (pass --force to replace an existing one)")
    })?;

    eprintln!("release {version}: published {}", published.display());
    for line in sums.render().lines() {
        eprintln!("  {line}");
    }
    eprintln!("  SHA256SUMS");
    Ok(published)
}

/// The single version every shipped package carries.
fn workspace_version(metadata: &Metadata) -> Result<String> {
    let mut versions: Vec<String> = metadata
        .workspace_packages()
        .iter()
        .filter(|package| is_published(package))
        .map(|package| package.version.to_string())
        .collect();
    versions.sort();
    versions.dedup();
    match versions.as_slice() {
        [version] => Ok(version.clone()),
        [] => bail!("release: no publishable workspace package"),
        many => bail!(
            "release: the publishable packages disagree on the version ({}); \
             set them all through [workspace.package] version",
            many.join(", ")
        ),
    }
}

fn is_published(package: &cargo_metadata::Package) -> bool {
    package
        .publish
        .as_ref()
        .is_none_or(|registries| !registries.is_empty())
}

fn shipped_binaries(metadata: &Metadata) -> Vec<Shipped> {
    let mut shipped: Vec<Shipped> = metadata
        .workspace_packages()
        .iter()
        .filter(|package| is_published(package))
        .flat_map(|package| {
            package
                .targets
                .iter()
                .filter(|target| target.kind.contains(&TargetKind::Bin))
                .map(|target| Shipped {
                    package: package.name.to_string(),
                    bin: target.name.clone(),
                })
        })
        .collect();
    shipped.sort_by(|a, b| a.bin.cmp(&b.bin));
    shipped
}
