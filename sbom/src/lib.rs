//! SBOMs for Rust binaries: exactly the crates compiled into a binary, as CycloneDX 1.5,
//! CycloneDX 1.6 and SPDX 2.3 JSON documents.
//!
//! The crate set is what cargo really compiles and links into the binary for the target
//! and feature set ([`resolve`], cargo's feature resolution evaluated over one `cargo
//! metadata --all-features --filter-platform` call): build dependencies and proc-macros run on the build
//! host and are left out, as are dev-dependencies and dependencies for other platforms.
//! Package details come from the same call, checksums from `Cargo.lock`. Documents ([`document`]) are
//! deterministic: the same inputs give the same bytes.
//!
//! Every component needs an identifier a vulnerability scanner understands; for crates
//! that is a Package URL of type `cargo` ([`purl::cargo_purl`]).
//!
//! ```
//! use cordon_sbom::purl::{cargo_purl, CrateSource};
//!
//! assert_eq!(cargo_purl("serde", "1.0.228", &CrateSource::CratesIo), "pkg:cargo/serde@1.0.228");
//! assert_eq!(
//!     cargo_purl("x", "0.1.0", &CrateSource::Git {
//!         url: "https://github.com/o/x".into(),
//!         rev: "0a1b2c".into(),
//!     }),
//!     "pkg:cargo/x@0.1.0?vcs_url=git%2Bhttps%3A%2F%2Fgithub.com%2Fo%2Fx%400a1b2c",
//! );
//! ```
//!
//! Generating a document for a built binary (needs cargo and a workspace, so not run here):
//!
//! ```no_run
//! use cordon_sbom::{Binary, Build, Format, Options};
//!
//! let build = Build {
//!     manifest_path: "Cargo.toml".into(),
//!     binaries: vec![Binary { package: "cordon-cli".into(), bin: "cordon".into() }],
//!     target: None,
//!     features: vec![],
//!     no_default_features: false,
//! };
//! let bytes = cordon_sbom::document(
//!     &build,
//!     &["target/release/cordon".into()],
//!     Format::CycloneDx16,
//!     &Options::default(),
//! )?;
//! # Ok::<(), cordon_sbom::Error>(())
//! ```

use std::path::PathBuf;

mod binary_digests;
mod crate_digests;
mod cyclonedx;
mod document_bytes;
mod early_evidence;
mod evidence;
mod features;
mod head_start;
mod license;
mod lock;
mod model;
mod notices;
pub mod purl;
mod resolve;
mod spdx;
mod spdx3;
mod statements;
mod supplier;
mod toolchain;

pub use purl::CrateSource;

/// One binary: a `[[bin]]` target of a workspace package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binary {
    /// The workspace package (`cordon-cli`).
    pub package: String,
    /// The binary target's name (`cordon`); empty means the package's only binary.
    pub bin: String,
}

/// A cargo build: the binaries built together by one `cargo build` invocation, for one
/// target and feature set. Binaries built together share cargo's feature unification, so
/// describe them with one `Build`, exactly as they were built.
#[derive(Debug, Clone)]
pub struct Build {
    /// The workspace's (or package's) `Cargo.toml`.
    pub manifest_path: PathBuf,
    /// The binaries; at least one.
    pub binaries: Vec<Binary>,
    /// The target triple; `None` means the host.
    pub target: Option<String>,
    /// `--features` as given to cargo (`feat`, `package/feat`; a value may list several,
    /// separated by commas or spaces).
    pub features: Vec<String>,
    /// `--no-default-features`.
    pub no_default_features: bool,
}

impl Build {
    /// The cargo arguments that select this build's features (`--features a,b`,
    /// `--no-default-features`): what a `cargo build` this document describes passes.
    pub fn cargo_feature_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if !self.features.is_empty() {
            args.push("--features".to_owned());
            args.push(self.features.join(","));
        }
        if self.no_default_features {
            args.push("--no-default-features".to_owned());
        }
        args
    }
}

/// One crate compiled into at least one of the binaries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crate {
    /// The package name.
    pub name: String,
    /// The exact version.
    pub version: String,
    /// Where it came from.
    pub source: CrateSource,
    /// Indices (into [`Resolution::crates`]) of the crates it links, sorted.
    pub dependencies: Vec<usize>,
}

/// The crates linked into one binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinaryCrates {
    /// The binary's package.
    pub package: String,
    /// The binary's name.
    pub bin: String,
    /// Index of the binary's own package in [`Resolution::crates`].
    pub root: usize,
    /// Indices of every crate linked into the binary, its own package included, sorted.
    pub crates: Vec<usize>,
}

/// The exact crate sets of a [`Build`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// The target triple resolved for.
    pub target: String,
    /// Every crate linked into any of the binaries, sorted by name, version and source.
    pub crates: Vec<Crate>,
    /// Per binary, in the order of [`Build::binaries`].
    pub binaries: Vec<BinaryCrates>,
}

/// The crates cargo compiles and links into each binary of `build`: the list a
/// cargo-auditable `.dep-v0` section or a verifier needs.
///
/// # Errors
/// When cargo cannot be run, the lock file is missing, a package or binary is not in the
/// workspace, or the target is unknown.
pub fn resolve(build: &Build) -> Result<Resolution, Error> {
    resolve::resolve(build).map(|resolved| resolved.resolution)
}

/// A document format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    /// CycloneDX 1.5 JSON.
    CycloneDx15,
    /// CycloneDX 1.6 JSON (what BSI TR-03183-2 v2.1 asks for).
    CycloneDx16,
    /// SPDX 2.3 JSON.
    Spdx23,
    /// SPDX 3.0.1 JSON-LD (what BSI TR-03183-2 v2.1 accepts beside CycloneDX 1.6).
    Spdx301,
}

impl Format {
    /// Every format, in a fixed order.
    pub const ALL: [Self; 4] = [
        Self::CycloneDx15,
        Self::CycloneDx16,
        Self::Spdx23,
        Self::Spdx301,
    ];

    /// The name used on command lines: `cyclonedx-1.5`, `cyclonedx-1.6`, `spdx-2.3`,
    /// `spdx-3.0.1`.
    pub fn name(self) -> &'static str {
        match self {
            Self::CycloneDx15 => "cyclonedx-1.5",
            Self::CycloneDx16 => "cyclonedx-1.6",
            Self::Spdx23 => "spdx-2.3",
            Self::Spdx301 => "spdx-3.0.1",
        }
    }

    /// The conventional file suffix: `.cdx.json`, `.spdx.json` or `.spdx3.json` (SPDX 3
    /// JSON-LD has no registered suffix; `.spdx3.json` keeps it apart from SPDX 2).
    pub fn suffix(self) -> &'static str {
        match self {
            Self::CycloneDx15 | Self::CycloneDx16 => ".cdx.json",
            Self::Spdx23 => ".spdx.json",
            Self::Spdx301 => ".spdx3.json",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|format| format.name() == text)
            .ok_or_else(|| Error::UnknownFormat(text.to_owned()))
    }
}

/// Document options beyond the build.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Describe several binaries as one release named this (the primary component); with
    /// one binary and no name, the binary itself is the primary component. Defaults to
    /// the first binary's package name.
    pub release_name: Option<String>,
    /// The release version; defaults to the first binary's package version.
    pub release_version: Option<String>,
    /// Seconds since the Unix epoch for the document's timestamp; defaults to
    /// `SOURCE_DATE_EPOCH`, else the workspace's HEAD commit time.
    pub timestamp: Option<i64>,
    /// Files of the release that package the binaries (archives), described beside them
    /// with their digests; the document then describes a release.
    pub archives: Vec<Archive>,
    /// The SBOM creator's contact: `Name <mail>`, a mail address, or a URL (BSI
    /// TR-03183-2 asks for an e-mail address or URL). Defaults to the owner of the primary
    /// package's `repository` URL.
    pub contact: Option<String>,
}

/// A release file packaging some of the binaries: an archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archive {
    /// Its file name in the release.
    pub file_name: String,
    /// Its SHA-256, lowercase hex.
    pub sha256: String,
    /// Its SHA-512, lowercase hex (BSI TR-03183-2 asks for SHA-512 of deployable files).
    pub sha512: String,
    /// The binaries (by name) it holds.
    pub binaries: Vec<String>,
}

/// The SBOM of the binaries of `build`, built at `built` (one path per binary, in the
/// same order), as `format`.
///
/// # Errors
/// As [`resolve`], and when a built binary cannot be read or no timestamp is available.
pub fn document(
    build: &Build,
    built: &[PathBuf],
    format: Format,
    options: &Options,
) -> Result<Vec<u8>, Error> {
    if built.len() != build.binaries.len() {
        return Err(Error::BuiltMismatch {
            binaries: build.binaries.len(),
            paths: built.len(),
        });
    }
    // While cargo resolves: hash the binaries (each a few tenths of a second), and read
    // the evidence and hash the archives of the registry crates the binaries may link
    // ([`head_start`]).
    let manifest_dir = build
        .manifest_path
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let roots: Vec<&str> = build
        .binaries
        .iter()
        .map(|binary| binary.package.as_str())
        .collect();
    let stop_head_start = std::sync::atomic::AtomicBool::new(false);
    let (resolved, hashes, head_start) = std::thread::scope(|scope| {
        let hashing: Vec<_> = built
            .iter()
            .map(|path| scope.spawn(move || binary_digests::hash_file(path)))
            .collect();
        let stop = &stop_head_start;
        let roots = &roots;
        let head_start =
            scope.spawn(move || head_start::HeadStart::compute(manifest_dir, roots, stop));
        let resolved = resolve::resolve(build);
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let hashes: Result<Vec<_>, Error> = hashing
            .into_iter()
            .zip(built)
            .map(|(handle, path)| {
                handle.join().unwrap_or_else(|_| {
                    Err(Error::Io {
                        path: path.clone(),
                        source: std::io::Error::other("the hashing thread panicked"),
                    })
                })
            })
            .collect();
        // A panic there only loses the head start.
        let head_start = head_start.join().unwrap_or_default();
        (resolved, hashes, head_start)
    });
    let model = model::Model::new(
        build,
        &resolved?,
        &hashes?,
        &head_start.digests,
        &head_start.evidence,
        options,
    )?;
    match format {
        Format::CycloneDx15 => cyclonedx::write(&model, cyclonedx::Version::V1_5),
        Format::CycloneDx16 => cyclonedx::write(&model, cyclonedx::Version::V1_6),
        Format::Spdx23 => spdx::write(&model),
        Format::Spdx301 => spdx3::write(&model),
    }
}

/// Everything that can go wrong, each naming the input and the fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The build names no binary.
    #[error("no binary to describe: name at least one package and binary")]
    NoBinaries,
    /// `built` and `binaries` differ in length.
    #[error("{binaries} binaries but {paths} built paths: give one path per binary")]
    BuiltMismatch {
        /// Number of binaries.
        binaries: usize,
        /// Number of paths.
        paths: usize,
    },
    /// There is no `Cargo.lock`.
    #[error(
        "{}: no Cargo.lock (or it is out of date): an SBOM must describe locked versions; run `cargo generate-lockfile` (or a build) and commit Cargo.lock",
        path.display()
    )]
    NoLockfile {
        /// Where it was expected.
        path: PathBuf,
    },
    /// `Cargo.lock` cannot be read.
    #[error("{}:{line}: {message}; regenerate it with `cargo generate-lockfile`", path.display())]
    Lockfile {
        /// The file.
        path: PathBuf,
        /// The line (0 when not tied to one).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The package is not a workspace member.
    #[error("package `{package}` is not a member of this workspace; members: {}", known.join(", "))]
    UnknownPackage {
        /// The name asked for.
        package: String,
        /// The workspace members.
        known: Vec<String>,
    },
    /// No binary was named, and the package has none or several.
    #[error("package `{package}` has {}: name the binary to describe", if known.is_empty() { "no binary target (it is a library)".to_owned() } else { format!("{} binaries ({})", known.len(), known.join(", ")) })]
    WhichBinary {
        /// The package.
        package: String,
        /// The package's binaries.
        known: Vec<String>,
    },
    /// The package has no such binary.
    #[error("package `{package}` has no binary `{bin}`; its binaries: {}", if known.is_empty() { "none".to_owned() } else { known.join(", ") })]
    UnknownBinary {
        /// The package.
        package: String,
        /// The binary asked for.
        bin: String,
        /// The package's binaries.
        known: Vec<String>,
    },
    /// rustc does not know the target.
    #[error(
        "target `{target}` is unknown to rustc (check the triple with `rustc --print target-list`):\n{message}"
    )]
    UnknownTarget {
        /// The triple.
        target: String,
        /// cargo's message.
        message: String,
    },
    /// The format name is not one of `cyclonedx-1.5`, `cyclonedx-1.6`, `spdx-2.3`,
    /// `spdx-3.0.1`.
    #[error("unknown SBOM format `{0}`: use cyclonedx-1.5, cyclonedx-1.6, spdx-2.3 or spdx-3.0.1")]
    UnknownFormat(String),
    /// A command could not be started.
    #[error("cannot run {command}")]
    Spawn {
        /// The command.
        command: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// `cargo metadata` failed.
    #[error("cargo metadata failed for {}: {message}", manifest.display())]
    Metadata {
        /// The manifest.
        manifest: PathBuf,
        /// cargo's message.
        message: String,
    },
    /// The resolution or a document came out inconsistent (a bug in cordon-sbom).
    #[error("{message}")]
    Tree {
        /// What happened.
        message: String,
    },
    /// A file could not be read.
    #[error("cannot read {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// No timestamp: `SOURCE_DATE_EPOCH` is unset and the workspace has no git HEAD.
    #[error(
        "no timestamp for the SBOM: set SOURCE_DATE_EPOCH (seconds since 1970) or run from a git checkout ({0})"
    )]
    Timestamp(String),
}
