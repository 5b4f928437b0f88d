//! `cargo xtask release`: build the shipped binaries reproducibly and publish
//! `dist/<version>/` with provenance, release notes, a manifest and checksums.
//!
//! What ships is declared by the manifests, not listed here: every binary target of every
//! workspace package that may be published (`publish = false` packages such as xtask and
//! the end-to-end tests are tools, not products).
//!
//! The stages, in order: `check` (worktree clean, toolchain pinned), `build`
//! (`build.rs`), `crates` (the crate set, `crates.rs`), `provenance`, `notes` (the diff
//! against the previous release in `dist/`), `publish` (the atomic release directory). In
//! the release workflow the build runs in one job (`--build-only DIR`) and everything else
//! in another that never sees the build's environment (`--from-build DIR
//! --expect-sha256sums FILE`); see `docs/release.md`.

mod build;
mod crates;
mod pipeline;
mod progress;
pub(crate) mod repro;
mod source;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use cargo_metadata::{Metadata, MetadataCommand, TargetKind};

pub(crate) use build::Shipped;
pub(crate) use pipeline::{Options, release};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Where release directories go.
    #[arg(long, value_name = "DIR")]
    dist: Option<PathBuf>,
    /// Replace an existing dist/<version>/ instead of refusing.
    #[arg(long)]
    force: bool,
    /// Release from a worktree with uncommitted changes (recorded in the provenance).
    #[arg(long)]
    allow_dirty: bool,
    /// No progress display; only errors and the final summary.
    #[arg(long, short)]
    quiet: bool,
    /// A local clone of the RustSec advisory database
    /// (https://github.com/rustsec/advisory-db) to check the crate set against.
    #[arg(long, value_name = "DIR")]
    advisory_db: Option<PathBuf>,
    /// Only build: write the shipped binaries, their SHA256SUMS and build.json to DIR
    /// (the release workflow's build job).
    #[arg(long, value_name = "DIR", conflicts_with = "from_build")]
    build_only: Option<PathBuf>,
    /// Do not build: take the binaries from DIR, written by --build-only (the release
    /// workflow's provenance-and-signing job). Requires --expect-sha256sums.
    #[arg(long, value_name = "DIR", requires = "expect_sha256sums")]
    from_build: Option<PathBuf>,
    /// The build's SHA256SUMS as handed over through a channel the build job cannot
    /// rewrite later (the job's outputs); every binary in --from-build must match it.
    #[arg(long, value_name = "FILE", requires = "from_build")]
    expect_sha256sums: Option<PathBuf>,
}

pub(crate) fn run(root: &Path, args: &Args) -> Result<()> {
    let mut command = vec!["cargo".to_owned(), "xtask".to_owned()];
    command.extend(std::env::args().skip(1));
    let options = Options {
        dist: args.dist.clone().unwrap_or_else(|| root.join("dist")),
        force: args.force,
        allow_dirty: args.allow_dirty,
        quiet: args.quiet,
        advisory_db: args.advisory_db.clone(),
        command,
        prebuilt: match (&args.from_build, &args.expect_sha256sums) {
            (Some(dir), Some(sums)) => Some((dir.clone(), sums.clone())),
            _ => None,
        },
    };
    match &args.build_only {
        Some(out) => pipeline::build_only(root, &options, out),
        None => release(root, &options).map(|_| ()),
    }
}

/// The workspace facts a release needs.
#[derive(Debug)]
pub(crate) struct Workspace {
    pub(crate) version: String,
    pub(crate) shipped: Vec<Shipped>,
    pub(crate) repository: Option<String>,
    pub(crate) target_dir: PathBuf,
}

pub(crate) fn workspace(root: &Path) -> Result<Workspace> {
    let metadata = MetadataCommand::new()
        .manifest_path(root.join("Cargo.toml"))
        .no_deps()
        .other_options(vec!["--locked".to_owned()])
        .exec()
        .context("cannot read the workspace with `cargo metadata --locked`")?;
    let version = workspace_version(&metadata)?;
    let shipped = shipped_binaries(&metadata);
    if shipped.is_empty() {
        bail!("no publishable workspace package has a binary target");
    }
    let repository = metadata
        .workspace_packages()
        .iter()
        .filter(|package| is_published(package))
        .find_map(|package| package.repository.clone());
    Ok(Workspace {
        version,
        shipped,
        repository,
        target_dir: metadata.target_directory.into_std_path_buf(),
    })
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
        [] => bail!("no publishable workspace package"),
        many => bail!(
            "the publishable packages disagree on the version ({}); \
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
