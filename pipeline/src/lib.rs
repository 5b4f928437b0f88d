//! A Rust workspace's release pipeline: from a clean checkout to a published
//! `dist/<version>/` in which every file is built reproducibly, described (exact
//! CycloneDX and SPDX SBOMs, SLSA v1 provenance, release notes, `manifest.json`), signed
//! (Sigstore bundles chained to one pinned root) and listed in `SHA256SUMS`.
//!
//! One entry type, [`Release`], takes a [`Config`] (the caller's choices: where the
//! workspace and the dist directory are, the trust material, the advisory database, a
//! build job's hand-over) and reports to a [`Progress`]. What ships and how it is named
//! comes from the workspace itself: `[workspace.metadata.cordon]` of the root
//! `Cargo.toml`, read into a [`Product`] with defaults from the workspace (every binary
//! of every publishable package, `package.repository`, the licence files and README).
//!
//! The stages, in order: `check`, `build` (or `take-build` for a hand-over), `crates`,
//! `archive`, `sbom`, `provenance`, `notes`, `sign`, `publish`; each is a method of
//! [`Release`] too. Every error is an [`Error`] naming its [`Stage`], the file involved
//! and, as a [`Fix`], what to do: a caller words the fix in its own vocabulary with
//! [`Error::render`].
//!
//! ```no_run
//! use cordon_dist::{Config, Release, Silent};
//!
//! let mut config = Config::new(".", ".cordon-dev-trust");
//! config.allow_dirty = true;
//! match Release::new(config).run(&mut Silent) {
//!     Ok(published) => println!("{} files in {}", published.files.len(), published.dir.display()),
//!     Err(error) => eprintln!("{error}"),
//! }
//! ```

mod archive;
mod auditable;
mod build;
mod config;
mod error;
mod features;
mod handover;
mod keyless;
mod model;
mod pipeline;
mod progress;
mod publish;
mod source;
mod statement;
mod vex;
mod workspace;

pub use build::{BuildPlan, default_cargo_home};
pub use config::{Config, DEFAULT_BUILD_TYPE, DEFAULT_LOCAL_BUILDER_ID, TrustSource};
pub use error::{Error, ErrorKind, Fix};
pub use features::Features;
pub use keyless::{KeylessRequest, KeylessSettings, KeylessSigning};
pub use model::{
    ArchiveFormat, Built, Checked, Identity, Prebuilt, Product, Published, Shipped, ShippedFile,
    ShippedVex, Source, Stage, Toolchain, Workspace,
};
pub use pipeline::{Release, SigningSetup, read_workspace, reproducible_build};
pub use progress::{Progress, Silent};
