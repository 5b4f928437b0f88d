//! [`Release`]: the pipeline's entry type. [`Release::run`] runs every stage in order;
//! each stage is also a method of its own, so a caller can run part of the pipeline
//! (the release workflow's build job runs [`Release::build_only`], its signing job
//! [`Release::run`] with [`Config::prebuilt`] set).

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use cordon_format::CrateRecord;
use cordon_release::{
    BundleSigner, LeafIdentity, SignOptions, Signer, Statement, now_unix, sha256_file,
};

use crate::build::{self, BuildPlan};
use crate::config::{Config, TrustSource};
use crate::error::{Error, ErrorKind, io};
use crate::keyless::{self, KeylessSettings};
use crate::model::{Built, Checked, Product, Published, ShippedFile, Stage, Workspace};
use crate::progress::{Progress, Reporter};
use crate::publish::{self, Content};
use crate::{handover, source, statement, vex, workspace};

/// One release of one workspace.
///
/// ```no_run
/// use cordon_dist::{Config, Release, Silent};
///
/// let config = Config::new("/src/my-workspace", "/home/me/.local/share/my-dev-trust");
/// let published = Release::new(config).run(&mut Silent)?;
/// println!("published {}", published.dir.display());
/// # Ok::<(), cordon_dist::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Release {
    config: Config,
}

/// The trust directory chosen and this run's signers.
pub struct SigningSetup {
    /// The trust directory.
    pub trust_dir: PathBuf,
    /// Whether a development root was created by this run.
    pub created_development_root: bool,
    /// Whether the trust directory is a development root.
    pub development: bool,
    signer: Signer,
    keyless: Option<Box<dyn BundleSigner>>,
}

impl std::fmt::Debug for SigningSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningSetup")
            .field("trust_dir", &self.trust_dir)
            .field("created_development_root", &self.created_development_root)
            .field("development", &self.development)
            .field("keyless", &self.keyless.is_some())
            .finish_non_exhaustive()
    }
}

impl Release {
    /// A release with `config`.
    pub fn new(config: Config) -> Self {
        Release { config }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Every stage: check, build (or take the pre-built binaries), crates, archive, sbom,
    /// provenance, notes, sign, publish.
    pub fn run(&self, progress: &mut dyn Progress) -> Result<Published, Error> {
        let checked = self.check_for(progress, true)?;
        let built = match &self.config.prebuilt {
            Some(prebuilt) => run_stage(progress, Stage::TakeBuild, |_| {
                handover::take(prebuilt, &checked)
            })?,
            None => self.build(&checked, progress)?,
        };
        let crate_set = self.crates(&checked, progress)?;
        let archives = self.archives(&checked, &built, progress)?;
        let sboms = self.sboms(&checked, &built, &archives, progress)?;
        let statement = self.provenance(&checked, &built, &archives, progress)?;
        let notes = self.notes(&checked, &built, &archives, &crate_set, progress)?;
        let signing = self.sign(&checked, progress)?;
        let content = Content {
            archives: &archives,
            crate_set: &crate_set,
            sboms: &sboms,
            statement: &statement,
            notes: &notes,
            signer: &signing.signer,
            keyless: signing.keyless.as_deref(),
            trust_dir: &signing.trust_dir,
        };
        run_stage(progress, Stage::Publish, |_| {
            let dir = publish::publish(
                &self.config.dist,
                self.config.force,
                &checked,
                &built,
                &content,
            )?;
            let mut published = listing(&dir, &checked.workspace.version)?;
            published.trust_dir = signing.trust_dir.clone();
            published.development_root = signing.development;
            Ok(published)
        })
    }

    /// The build job's half of a split release: check and build, then write the
    /// binaries, `SHA256SUMS` and `build.json` into `out`. Returns the `SHA256SUMS` text,
    /// which the signing job must receive through a channel the build job cannot
    /// rewrite later; it passes it as [`crate::Prebuilt::expected_sha256sums`].
    pub fn build_only(&self, out: &Path, progress: &mut dyn Progress) -> Result<String, Error> {
        let checked = self.check_for(progress, false)?;
        let built = self.build(&checked, progress)?;
        run_stage(progress, Stage::HandOver, |_| {
            handover::write(out, &checked, &built)
        })
    }

    /// `check`: reads the workspace and its `[workspace.metadata.cordon]` table, checks
    /// that the release directory does not exist yet (unless forced), that the worktree
    /// is clean (unless allowed), that the toolchain is the pinned one and that the VEX
    /// document to ship (if any) fits the crate set.
    pub fn check(&self, progress: &mut dyn Progress) -> Result<Checked, Error> {
        self.check_for(progress, true)
    }

    /// `check`, with or without the release directory (a build job publishes nothing).
    fn check_for(&self, progress: &mut dyn Progress, publishes: bool) -> Result<Checked, Error> {
        run_stage(progress, Stage::Check, |stage| {
            let root = &self.config.workspace_root;
            stage.message("reading the workspace");
            let workspace = workspace::read(root)?;
            let existing = self.config.dist.join(&workspace.version);
            if publishes && !self.config.force && fs::symlink_metadata(&existing).is_ok() {
                return Err(ErrorKind::ReleaseExists { path: existing });
            }
            stage.message("checking the worktree");
            let source = source::source(root, workspace.product.repository.as_deref())?;
            source::require_clean(&source, self.config.allow_dirty)?;
            if publishes {
                stage.message("checking that git ignores the trust directory");
                source::require_ignored(root, &self.trust_dir(&workspace.product).0)?;
            }
            stage.message("checking the toolchain");
            let toolchain = source::toolchain(root)?;
            if publishes && let Some(settings) = self.keyless_settings(&workspace)? {
                stage.message("checking the keyless signing settings");
                self.keyless_signing(&workspace)?.preflight(&settings)?;
            }
            let (vex, crate_set) = match self.vex_path(&workspace) {
                Some(path) => {
                    stage.message("checking the VEX document against the crate set");
                    let crates = publish::crate_set(&publish::sbom_build(&workspace))?;
                    let name =
                        cordon_format::names::vex_name(&workspace.product.name, &workspace.version);
                    (Some(vex::check(&path, name, &crates)?), Some(crates))
                }
                None => (None, None),
            };
            Ok(Checked {
                workspace,
                source,
                toolchain,
                vex,
                crate_set,
            })
        })
    }

    /// `build`: the reproducible build into `<target>/release-repro/`, each binary with
    /// its `.dep-v0` section, hashed as it will ship.
    pub fn build(&self, checked: &Checked, progress: &mut dyn Progress) -> Result<Built, Error> {
        run_stage(progress, Stage::Build, |stage| {
            let started_on = now_unix();
            let workspace = &checked.workspace;
            let target_dir = workspace.target_dir.join("release-repro");
            let plan = BuildPlan {
                root: &workspace.root,
                target_dir: target_dir.clone(),
                cargo_home: build::default_cargo_home()?,
                shipped: &workspace.product.binaries,
                features: &workspace.product.features,
                source_date_epoch: checked.source.commit_time,
                offline: false,
                env: Vec::new(),
                umask: None,
            };
            let binaries = build::build(&plan, stage)?;
            let files =
                build::finish_binaries(workspace, &binaries, &target_dir.join("shipped"), stage)?;
            Ok(Built {
                files,
                started_on,
                finished_on: now_unix(),
            })
        })
    }

    /// `crates`: the exact crate set of every shipped binary, as `manifest.json` records it.
    pub fn crates(
        &self,
        checked: &Checked,
        progress: &mut dyn Progress,
    ) -> Result<Vec<CrateRecord>, Error> {
        run_stage(progress, Stage::Crates, |_| match &checked.crate_set {
            Some(crates) => Ok(crates.clone()),
            None => publish::crate_set(&publish::sbom_build(&checked.workspace)),
        })
    }

    /// `archive`: the product's archives of the binaries and included files, in
    /// `<target>/release-repro/archives/`.
    pub fn archives(
        &self,
        checked: &Checked,
        built: &Built,
        progress: &mut dyn Progress,
    ) -> Result<Vec<ShippedFile>, Error> {
        run_stage(progress, Stage::Archive, |_| {
            let out = checked.workspace.target_dir.join("release-repro/archives");
            publish::archives(checked, built, &out)
        })
    }

    /// `sbom`: CycloneDX 1.5 and 1.6 and SPDX 2.3 documents of the binaries and the
    /// archives holding them, as (file name, bytes).
    pub fn sboms(
        &self,
        checked: &Checked,
        built: &Built,
        archives: &[ShippedFile],
        progress: &mut dyn Progress,
    ) -> Result<Vec<(String, Vec<u8>)>, Error> {
        run_stage(progress, Stage::Sbom, |_| {
            publish::sboms(
                &publish::sbom_build(&checked.workspace),
                checked,
                built,
                archives,
            )
        })
    }

    /// `provenance`: the SLSA v1 statement whose subjects are the binaries and archives.
    pub fn provenance(
        &self,
        checked: &Checked,
        built: &Built,
        archives: &[ShippedFile],
        progress: &mut dyn Progress,
    ) -> Result<Statement, Error> {
        run_stage(progress, Stage::Provenance, |_| {
            statement::provenance(&self.config.command, checked, built, archives)
        })
    }

    /// `notes`: `RELEASE-NOTES.md`.
    pub fn notes(
        &self,
        checked: &Checked,
        built: &Built,
        archives: &[ShippedFile],
        crate_set: &[CrateRecord],
        progress: &mut dyn Progress,
    ) -> Result<String, Error> {
        run_stage(progress, Stage::Notes, |_| {
            let files: Vec<&ShippedFile> = built.files.iter().chain(archives).collect();
            statement::release_notes(
                &self.config.dist,
                self.config.advisory_db.as_deref(),
                checked,
                &files,
                crate_set,
            )
        })
    }

    /// `sign`: opens the trust directory (creating a development root on first use when
    /// [`TrustSource::Workspace`] falls back to one) and issues this run's certificate;
    /// with keyless settings, also opens the keyless signer (token and certificate).
    pub fn sign(
        &self,
        checked: &Checked,
        progress: &mut dyn Progress,
    ) -> Result<SigningSetup, Error> {
        run_stage(progress, Stage::Sign, |_| {
            let product = &checked.workspace.product;
            let (trust_dir, development) = self.trust_dir(product);
            let created = if development {
                cordon_release::open_or_init_dev_trust(&trust_dir)?.1
            } else {
                false
            };
            let identity = self.config.identity.as_ref().unwrap_or(&product.identity);
            let leaf = LeafIdentity::from_env_or(&identity.subject, &identity.issuer);
            let signer = Signer::open(&trust_dir, &leaf, &SignOptions::default())?;
            let keyless = match self.keyless_settings(&checked.workspace)? {
                Some(settings) => Some(self.keyless_signing(&checked.workspace)?.open(&settings)?),
                None => None,
            };
            Ok(SigningSetup {
                trust_dir,
                created_development_root: created,
                development,
                signer,
                keyless,
            })
        })
    }
}

impl Release {
    /// The keyless settings of this release: the table's, overridden by the caller's.
    fn keyless_settings(
        &self,
        workspace: &Workspace,
    ) -> Result<Option<KeylessSettings>, ErrorKind> {
        keyless::resolve(
            &workspace.root.join("Cargo.toml"),
            workspace.product.keyless.as_ref(),
            self.config.keyless.as_ref(),
        )
    }

    /// The caller's keyless signer, required once keyless signing is asked for.
    fn keyless_signing(
        &self,
        workspace: &Workspace,
    ) -> Result<&dyn keyless::KeylessSigning, ErrorKind> {
        self.config
            .keyless_signing
            .as_deref()
            .ok_or_else(|| ErrorKind::NoKeylessSigner {
                file: workspace.root.join("Cargo.toml"),
            })
    }

    /// The VEX document to ship: [`Config::vex`], else the table's `vex` (relative to
    /// the workspace root).
    fn vex_path(&self, workspace: &Workspace) -> Option<PathBuf> {
        self.config.vex.clone().or_else(|| {
            workspace
                .product
                .vex
                .as_ref()
                .map(|relative| workspace.root.join(relative))
        })
    }

    /// The trust directory `sign` uses, and whether it is the development root.
    fn trust_dir(&self, product: &Product) -> (PathBuf, bool) {
        match &self.config.trust {
            TrustSource::Dir(dir) => (dir.clone(), false),
            TrustSource::Workspace { .. } if product.trust_dir.is_some() => {
                (product.trust_dir.clone().unwrap_or_default(), false)
            }
            TrustSource::Workspace { development } => (development.clone(), true),
        }
    }
}

/// Runs one stage, telling `progress` and naming the stage in the error.
fn run_stage<T>(
    progress: &mut dyn Progress,
    stage: Stage,
    body: impl FnOnce(&mut Reporter<'_>) -> Result<T, ErrorKind>,
) -> Result<T, Error> {
    progress.started(stage);
    let started = Instant::now();
    let result = body(&mut Reporter { stage, progress });
    progress.finished(stage, started.elapsed(), result.is_ok());
    result.map_err(|kind| Error::new(stage, kind))
}

/// The published directory's files with sizes and digests.
fn listing(dir: &Path, version: &str) -> Result<Published, ErrorKind> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map_err(io("list", dir))?
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut files = Vec::new();
    for name in names {
        let path = dir.join(&name);
        let size = fs::metadata(&path).map_err(io("read", &path))?.len();
        let digest = source::hex(&sha256_file(&path).map_err(io("read", &path))?);
        files.push((name, size, digest));
    }
    Ok(Published {
        dir: dir.to_owned(),
        version: version.to_owned(),
        files,
        trust_dir: PathBuf::new(),
        development_root: false,
    })
}

/// Builds `shipped` of the workspace as the release does, with `plan`'s variations
/// (another directory, `CARGO_HOME`, environment, umask), and finishes the binaries into
/// `out`: what `repro-check`-style comparisons need.
pub fn reproducible_build(
    workspace: &Workspace,
    plan: &BuildPlan<'_>,
    out: &Path,
    progress: &mut dyn Progress,
) -> Result<Vec<ShippedFile>, Error> {
    run_stage(progress, Stage::Build, |stage| {
        let binaries = build::build(plan, stage)?;
        let mut moved = workspace.clone();
        moved.root = plan.root.to_owned();
        build::finish_binaries(&moved, &binaries, out, stage)
    })
}

/// Reads the workspace at `root` (its version, product table and target directory)
/// without the other checks of [`Release::check`].
pub fn read_workspace(root: &Path) -> Result<Workspace, Error> {
    workspace::read(root).map_err(|kind| Error::new(Stage::Check, kind))
}
