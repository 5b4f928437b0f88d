//! The data the stages hand each other: a leaf module that imports no other module of
//! the crate, so the stages depend on it and never on each other's internals.

use std::fmt;
use std::path::PathBuf;

/// A stage of the pipeline, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Stage {
    /// The workspace, its configuration, the worktree, the toolchain, the dist directory.
    Check,
    /// The reproducible build and the `.dep-v0` sections.
    Build,
    /// Taking a build job's binaries (the hand-over's second half).
    TakeBuild,
    /// Writing a build job's binaries for the signing job (the hand-over's first half).
    HandOver,
    /// The exact crate set of every binary.
    Crates,
    /// The `.tar.gz` archives.
    Archive,
    /// CycloneDX and SPDX documents.
    Sbom,
    /// The SLSA provenance statement.
    Provenance,
    /// The release notes.
    Notes,
    /// Opening the trust directory and issuing this run's certificate.
    Sign,
    /// Signing every file and writing the release directory.
    Publish,
}

impl Stage {
    /// The stage's name: `check`, `build`, `take-build`, ...
    pub fn name(self) -> &'static str {
        match self {
            Stage::Check => "check",
            Stage::Build => "build",
            Stage::TakeBuild => "take-build",
            Stage::HandOver => "hand-over",
            Stage::Crates => "crates",
            Stage::Archive => "archive",
            Stage::Sbom => "sbom",
            Stage::Provenance => "provenance",
            Stage::Notes => "notes",
            Stage::Sign => "sign",
            Stage::Publish => "publish",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A binary the release ships: a `[[bin]]` target of a workspace package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shipped {
    /// The package.
    pub package: String,
    /// The binary target's name, which is also its file name in the release.
    pub bin: String,
}

/// The archive formats a release can ship.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ArchiveFormat {
    /// A deterministic gzip-compressed tar (`<product>-<version>-<target>.tar.gz`).
    TarGz,
}

impl ArchiveFormat {
    /// The file suffix and configuration name: `tar.gz`.
    pub fn suffix(self) -> &'static str {
        match self {
            ArchiveFormat::TarGz => "tar.gz",
        }
    }
}

/// The signing identity written into this run's leaf certificate outside GitHub Actions
/// (in GitHub Actions the workflow's identity is used).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The certificate's subject alternative name (a URI).
    pub subject: String,
    /// The OIDC issuer recorded in the certificate.
    pub issuer: String,
}

/// What a workspace releases and how it is named: `[workspace.metadata.cordon]` of the
/// root `Cargo.toml`, with defaults from the workspace (see `docs/release.md`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Product {
    /// The product name in file names (`<product>-<version>.cdx.json`, archives).
    pub name: String,
    /// The binaries that ship, sorted by name.
    pub binaries: Vec<Shipped>,
    /// The archives to make of the binaries and [`Product::include`].
    pub archives: Vec<ArchiveFormat>,
    /// Files (relative to the workspace root) packed into every archive beside the
    /// binaries: licence files and the README by default.
    pub include: Vec<PathBuf>,
    /// The source repository URL (`https://...`), from the table or `package.repository`.
    pub repository: Option<String>,
    /// The SBOM creator's contact (`sbom-contact`: `Name <mail>`, a mail address or an
    /// `https://` URL); defaults to [`Product::repository`].
    pub sbom_contact: Option<String>,
    /// The signing identity outside GitHub Actions.
    pub identity: Identity,
    /// The trust directory to sign with when the caller names none (absolute).
    pub trust_dir: Option<PathBuf>,
    /// The SLSA `buildType` URI recorded in the provenance.
    pub build_type: String,
    /// The `builder.id` of a release run anywhere but a recognised CI workflow.
    pub local_builder_id: String,
    /// The `keyless` table (absolute paths): sign keyless too.
    pub keyless: Option<crate::KeylessRequest>,
    /// The `vex` key: a VEX document in the repository (relative to the root) to ship.
    pub vex: Option<PathBuf>,
    /// The `features` and `default-features` keys: the cargo features built with.
    pub features: crate::Features,
}

/// The workspace facts a release needs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Workspace {
    /// The workspace root (the directory of the root `Cargo.toml`).
    pub root: PathBuf,
    /// The version every publishable package carries.
    pub version: String,
    /// The product configuration (`[workspace.metadata.cordon]` with the defaults).
    pub product: Product,
    /// cargo's target directory.
    pub target_dir: PathBuf,
}

/// The source tree being released.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Source {
    /// `git rev-parse HEAD`.
    pub commit: String,
    /// The commit time (Unix seconds): `SOURCE_DATE_EPOCH`.
    pub commit_time: i64,
    /// The ref built: `GITHUB_REF` in GitHub Actions, else the checked-out branch, else
    /// `HEAD`.
    pub git_ref: String,
    /// `git+<url>`.
    pub repository: String,
    /// Paths with uncommitted changes (`git status --porcelain`), untracked included.
    pub dirty_files: Vec<String>,
}

/// The compiler, checked against `rust-toolchain.toml`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Toolchain {
    /// The pinned channel.
    pub channel: String,
    /// `rustc -vV` `release:`.
    pub release: String,
    /// `rustc -vV` `host:`: the target the release is built for.
    pub host: String,
    /// `rustc -vV` `commit-hash:`.
    pub commit_hash: String,
    /// `rustc -V`.
    pub version_line: String,
    /// SHA-256 of the `rustc` executable in the sysroot.
    pub rustc_sha256: String,
}

/// What the `check` stage found.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Checked {
    /// The workspace and its product configuration.
    pub workspace: Workspace,
    /// The source commit.
    pub source: Source,
    /// The toolchain.
    pub toolchain: Toolchain,
    /// The VEX document to ship, checked against the crate set.
    pub vex: Option<ShippedVex>,
    /// The crate set, when `check` already resolved it (to check the VEX): the `crates`
    /// stage reuses it instead of resolving again.
    pub(crate) crate_set: Option<Vec<cordon_format::CrateRecord>>,
}

/// A VEX document the release ships, as read and checked in `check`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ShippedVex {
    /// Its name in the release directory (`<product>-<version>.vex.json`).
    pub file_name: String,
    /// Where it was read from.
    pub source: PathBuf,
    /// Its bytes, shipped unchanged.
    pub bytes: Vec<u8>,
    /// Its statements.
    pub document: cordon_audit::Vex,
}

/// A file ready to publish, with the digest of its final bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShippedFile {
    /// Its name in the release directory.
    pub name: String,
    /// Where it is now.
    pub path: PathBuf,
    /// Lowercase hex SHA-256.
    pub sha256: String,
}

/// The output of the build stage (or of taking a build job's output).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Built {
    /// The binaries, with their `.dep-v0` sections, in the order of
    /// [`Product::binaries`].
    pub files: Vec<ShippedFile>,
    /// When the build started (Unix seconds).
    pub started_on: i64,
    /// When it finished.
    pub finished_on: i64,
}

/// A build job's output handed to the signing job: the directory
/// [`crate::Release::build_only`] wrote,
/// and the `SHA256SUMS` the build job reported through a channel it cannot rewrite later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prebuilt {
    /// The directory with the binaries and `build.json`.
    pub dir: PathBuf,
    /// The expected `SHA256SUMS`.
    pub expected_sha256sums: PathBuf,
}

/// A published release.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Published {
    /// `dist/<version>/`.
    pub dir: PathBuf,
    /// The version.
    pub version: String,
    /// Every file of the directory with its size and digest, sorted by name.
    pub files: Vec<(String, u64, String)>,
    /// The trust directory that signed it.
    pub trust_dir: PathBuf,
    /// Whether that is a development root (not for release).
    pub development_root: bool,
}
