//! The release pipeline's stages, from a clean checkout to a published `dist/<version>/`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use cordon_release::advisories;
use cordon_release::checksums::sha256_file;
use cordon_release::crates::{CrateRecord, diff};
use cordon_release::manifest::{Manifest, previous_release};
use cordon_release::notes::{self, AdvisoryCheck, NotesInput};
use cordon_release::provenance::{
    BUILD_TYPE, BuildDefinition, BuildMetadata, Builder, ExternalParameters, InternalParameters,
    Provenance, ResourceDescriptor, RunDetails, SourceParameters, Statement,
};
use cordon_release::sign::{SignOptions, Signer};
use cordon_release::time::{now_unix, rfc3339_utc};
use cordon_release::x509::LeafIdentity;
use serde_json::json;

use super::auditable;
use super::build::{self, BuildPlan};
use super::handover::take_prebuilt;
use super::progress::{Progress, Stage, human_size};
use super::publish::{Content, crate_set, publish, sbom_build, sboms};
use super::source::{self, Source, Toolchain, hex};
use super::{Workspace, workspace};
use crate::trust::{LOCAL_IDENTITY, LOCAL_ISSUER, trust_dir_or_dev};

/// The product name in release file names.
pub(crate) const PRODUCT: &str = "cordon";

/// How a release runs.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// Where release directories go.
    pub(crate) dist: PathBuf,
    /// Replace an existing release of the same version.
    pub(crate) force: bool,
    /// Go on with a dirty worktree (recorded).
    pub(crate) allow_dirty: bool,
    /// No progress display.
    pub(crate) quiet: bool,
    /// A RustSec advisory-db clone.
    pub(crate) advisory_db: Option<PathBuf>,
    /// The trust directory; `None`: the development root under target/.
    pub(crate) trust: Option<PathBuf>,
    /// The command line as typed, for the provenance.
    pub(crate) command: Vec<String>,
    /// `--from-build DIR --expect-sha256sums FILE`.
    pub(crate) prebuilt: Option<(PathBuf, PathBuf)>,
}

/// A shipped file ready to publish.
#[derive(Debug, Clone)]
pub(crate) struct ShippedFile {
    pub(crate) name: String,
    pub(crate) path: PathBuf,
    pub(crate) sha256: String,
}

/// The output of the build stage.
#[derive(Debug)]
pub(super) struct Built {
    pub(super) files: Vec<ShippedFile>,
    pub(super) started_on: i64,
    pub(super) finished_on: i64,
}

/// What the `check` stage found.
pub(super) struct Checked {
    pub(super) workspace: Workspace,
    pub(super) source: Source,
    pub(super) toolchain: Toolchain,
}

pub(super) fn check(root: &Path, options: &Options, stage: &Stage) -> Result<Checked> {
    stage.message("reading the workspace");
    let workspace = workspace(root)?;
    stage.message("checking the worktree");
    let source = source::source(root, workspace.repository.as_deref())?;
    source.require_clean(options.allow_dirty)?;
    stage.message("checking the toolchain");
    let toolchain = source::toolchain(root)?;
    Ok(Checked {
        workspace,
        source,
        toolchain,
    })
}

/// The reproducible build of the workspace at `root` into its `target/release-repro/`,
/// returning the final shipped files (in `target/release-repro/shipped/`).
pub(crate) fn reproducible_build(
    root: &Path,
    workspace: &Workspace,
    source: &Source,
    plan_env: Vec<(std::ffi::OsString, std::ffi::OsString)>,
    stage: &Stage,
) -> Result<Vec<ShippedFile>> {
    let target_dir = workspace.target_dir.join("release-repro");
    let plan = BuildPlan {
        root,
        target_dir: target_dir.clone(),
        cargo_home: build::default_cargo_home()?,
        shipped: &workspace.shipped,
        source_date_epoch: source.commit_time,
        offline: false,
        env: plan_env,
        umask: None,
    };
    let built = build::build(&plan, stage)?;
    finish_binaries(root, workspace, &built, &target_dir.join("shipped"), stage)
}

/// Copies the built binaries into `out`, adds each one's `.dep-v0` section (the exact
/// crate set of the workspace at `root`), and hashes the final bytes: what ships.
pub(crate) fn finish_binaries(
    root: &Path,
    workspace: &Workspace,
    built: &[(String, PathBuf)],
    out: &Path,
    stage: &Stage,
) -> Result<Vec<ShippedFile>> {
    stage.message("resolving the crate set for .dep-v0");
    let resolution = cordon_sbom::resolve(&sbom_build(root, workspace))?;
    if out.exists() {
        fs::remove_dir_all(out).with_context(|| format!("cannot clear {}", out.display()))?;
    }
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    built
        .iter()
        .map(|(name, path)| {
            let destination = out.join(name);
            fs::copy(path, &destination).with_context(|| {
                format!(
                    "cannot copy {} to {}",
                    path.display(),
                    destination.display()
                )
            })?;
            stage.message(format!("embedding .dep-v0 in {name}"));
            let section = auditable::section_bytes(&auditable::version_info(&resolution, name)?)?;
            auditable::embed(&destination, &section, out)?;
            let section_file = out.join(format!("{name}.dep-v0"));
            fs::remove_file(&section_file)
                .with_context(|| format!("cannot remove {}", section_file.display()))?;
            let sha256 = hex(&sha256_file(&destination)
                .with_context(|| format!("cannot read {}", destination.display()))?);
            Ok(ShippedFile {
                name: name.clone(),
                path: destination,
                sha256,
            })
        })
        .collect()
}

pub(super) fn build_stage(root: &Path, checked: &Checked, stage: &Stage) -> Result<Built> {
    let started_on = now_unix();
    let files = reproducible_build(root, &checked.workspace, &checked.source, Vec::new(), stage)?;
    Ok(Built {
        files,
        started_on,
        finished_on: now_unix(),
    })
}

/// `cargo xtask release`: every stage, ending in a published `dist/<version>/`.
pub(crate) fn release(root: &Path, options: &Options) -> Result<PathBuf> {
    let mut progress = Progress::new("release", options.quiet);
    let checked = progress.stage("check", "see the message above", |stage| {
        check(root, options, stage)
    })?;
    let version = checked.workspace.version.clone();
    let built = match &options.prebuilt {
        Some((dir, sums)) => progress.stage(
            "take-build",
            "hand over the build job's directory and its SHA256SUMS unchanged",
            |_| take_prebuilt(dir, sums, &checked),
        )?,
        None => progress.stage(
            "build",
            "fix what cargo reports above, then run again",
            |stage| build_stage(root, &checked, stage),
        )?,
    };
    let sbom_build = sbom_build(root, &checked.workspace);
    let crate_set = progress.stage(
        "crates",
        "`cargo metadata --locked` and `cargo tree` must succeed in the workspace",
        |_| crate_set(&sbom_build),
    )?;
    let sboms = progress.stage("sbom", "see the SBOM error above", |_| {
        sboms(&sbom_build, &checked, &built)
    })?;
    let statement = progress.stage("provenance", "this is a bug in xtask; report it", |_| {
        let statement = provenance(root, options, &checked, &built)?;
        statement.validate()?;
        Ok(statement)
    })?;
    let notes_text = progress.stage(
        "notes",
        "fix or remove the previous release's manifest.json, or the --advisory-db path",
        |_| release_notes(options, &checked, &built, &crate_set),
    )?;
    let (signer, trust_dir) = progress.stage(
        "trust",
        "pass --trust DIR with a directory made by `cargo xtask trust init`, or remove \
         target/cordon-dev-trust to start a new development root",
        |_| {
            let trust_dir = trust_dir_or_dev(root, options.trust.as_deref())?;
            let identity = LeafIdentity::from_env_or(LOCAL_IDENTITY, LOCAL_ISSUER);
            let signer = Signer::open(&trust_dir, &identity, &SignOptions::default())
                .with_context(|| format!("cannot sign with {}", trust_dir.display()))?;
            Ok((signer, trust_dir))
        },
    )?;
    let published = progress.stage(
        "publish",
        "check that the dist directory is writable; pass --force to replace a release",
        |_| {
            let content = Content {
                crate_set: &crate_set,
                sboms: &sboms,
                statement: &statement,
                notes: &notes_text,
                signer: &signer,
                trust_dir: &trust_dir,
            };
            publish(options, &checked, &built, &content)
        },
    )?;

    let mut summary = format!(
        "\nrelease {version} published in {}\n\n",
        published.display()
    );
    summary.push_str("file                                size        sha256\n");
    let mut names: Vec<_> = fs::read_dir(&published)
        .with_context(|| format!("cannot list {}", published.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.file_name()))
        .collect();
    names.sort();
    for name in names {
        let path = published.join(&name);
        let size = fs::metadata(&path).map(|meta| meta.len()).unwrap_or(0);
        let digest = sha256_file(&path)
            .map(|digest| hex(&digest))
            .unwrap_or_default();
        summary.push_str(&format!(
            "{:<35} {:>10}  {}…\n",
            name.to_string_lossy(),
            human_size(size),
            digest.get(..16).unwrap_or_default()
        ));
    }
    summary.push('\n');
    summary.push_str(&progress.stage_table());
    println!("{summary}");
    Ok(published)
}

fn provenance(
    root: &Path,
    options: &Options,
    checked: &Checked,
    built: &Built,
) -> Result<Statement> {
    let lock = root.join("Cargo.lock");
    let lock_digest =
        hex(&sha256_file(&lock).with_context(|| format!("cannot read {}", lock.display()))?);
    let source = &checked.source;
    let toolchain = &checked.toolchain;
    let (builder_id, invocation_id) = source::builder_identity();
    let mut source_dependency = ResourceDescriptor {
        uri: Some(format!("{}@{}", source.repository, source.git_ref)),
        digest: BTreeMap::from([("gitCommit".to_owned(), source.commit.clone())]),
        ..ResourceDescriptor::default()
    };
    if !source.dirty_files.is_empty() {
        source_dependency
            .annotations
            .insert("dirtyFiles".to_owned(), json!(source.dirty_files));
    }
    Ok(Statement::new(
        built
            .files
            .iter()
            .map(|file| ResourceDescriptor::file(&file.name, &file.sha256))
            .collect(),
        Provenance {
            build_definition: BuildDefinition {
                build_type: BUILD_TYPE.to_owned(),
                external_parameters: ExternalParameters {
                    source: SourceParameters {
                        repository: source.repository.clone(),
                        git_ref: source.git_ref.clone(),
                    },
                    command: options.command.clone(),
                    allow_dirty: !source.dirty_files.is_empty(),
                },
                internal_parameters: InternalParameters {
                    toolchain: cordon_release::provenance::Toolchain {
                        channel: toolchain.channel.clone(),
                        rustc_release: toolchain.release.clone(),
                        host: toolchain.host.clone(),
                        profile: "release".to_owned(),
                        source_date_epoch: source.commit_time,
                        rustflags: build::rustflags_recorded(),
                    },
                },
                resolved_dependencies: vec![
                    source_dependency,
                    ResourceDescriptor {
                        name: Some("Cargo.lock".to_owned()),
                        digest: BTreeMap::from([("sha256".to_owned(), lock_digest)]),
                        ..ResourceDescriptor::default()
                    },
                    ResourceDescriptor {
                        name: Some("rustc".to_owned()),
                        uri: Some(format!("pkg:generic/rustc@{}", toolchain.release)),
                        digest: BTreeMap::from([
                            ("sha256".to_owned(), toolchain.rustc_sha256.clone()),
                            ("gitCommit".to_owned(), toolchain.commit_hash.clone()),
                        ]),
                        annotations: BTreeMap::from([(
                            "version".to_owned(),
                            json!(toolchain.version_line),
                        )]),
                    },
                ],
            },
            run_details: RunDetails {
                builder: Builder { id: builder_id },
                metadata: BuildMetadata {
                    invocation_id,
                    started_on: rfc3339_utc(built.started_on),
                    finished_on: rfc3339_utc(built.finished_on),
                },
            },
        },
    ))
}

fn release_notes(
    options: &Options,
    checked: &Checked,
    built: &Built,
    crate_set: &[CrateRecord],
) -> Result<String> {
    let version = semver::Version::parse(&checked.workspace.version)
        .with_context(|| format!("version {} is not semver", checked.workspace.version))?;
    let previous = match previous_release(&options.dist, &version)? {
        Some((previous_version, path)) => {
            let manifest = Manifest::read(&path)?;
            Some((previous_version.to_string(), manifest.crates))
        }
        None => None,
    };
    let changes = previous
        .as_ref()
        .map(|(previous_version, crates)| (previous_version.as_str(), diff(crates, crate_set)));
    let advisory_list = match &options.advisory_db {
        Some(db) => Some(advisories::load_for(
            db,
            crate_set.iter().map(|record| record.name.as_str()),
        )?),
        None => None,
    };
    let database = options
        .advisory_db
        .as_ref()
        .map(|db| db.display().to_string())
        .unwrap_or_default();
    let check = advisory_list.as_ref().map(|list| AdvisoryCheck {
        database: &database,
        hits: advisories::affecting(list, crate_set),
    });
    let files: Vec<(String, String)> = built
        .files
        .iter()
        .map(|file| (file.name.clone(), file.sha256.clone()))
        .collect();
    let commit_time = rfc3339_utc(checked.source.commit_time);
    Ok(notes::render(&NotesInput {
        name: PRODUCT,
        version: &checked.workspace.version,
        repository: &checked.source.repository,
        git_ref: &checked.source.git_ref,
        commit: &checked.source.commit,
        dirty: !checked.source.dirty_files.is_empty(),
        commit_time: &commit_time,
        files: &files,
        previous: changes
            .as_ref()
            .map(|(previous_version, changes)| (*previous_version, changes)),
        advisories: check,
    }))
}
