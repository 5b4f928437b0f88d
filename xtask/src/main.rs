//! `cargo xtask`: cordon's own driver over the library crates.
//!
//! - `cargo xtask test`: the whole test suite, exactly what CI runs;
//! - `cargo xtask release`: the `cordon-dist` pipeline's command line: builds the shipped
//!   binaries and writes `dist/<version>/`;
//! - `cargo xtask bench-sandbox`: `cordon run -- true` against bwrap and `true`.
//! - `cargo xtask bench-workloads`: file-heavy work bare and in the sandbox, with and
//!   without the creation guard.
//! - `cargo xtask bench-sbom`: cordon's SBOM against cargo-cyclonedx's, with and without
//!   binary hashing.
//! - `cargo xtask repro-check`: builds them twice, differently, and compares the bytes.
//! - `cargo xtask sbom`: the SBOM of one binary; `cargo xtask sbom-accuracy` scores SBOMs
//!   against a real build's unit list.
//! - `cargo xtask third-party`: a real crates.io binary crate released with cordon-dist.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod bench;
mod bench_sbom;
mod bench_workloads;
mod conformance;
mod interop;
mod release;
mod run;
mod sbom;
mod sbom_check;
mod sbom_fixtures;
mod test;
mod third_party;
mod tools;
mod trust;

#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about = "cordon's project driver")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the whole test suite: formatting, clippy, every test, a release smoke run,
    /// and the external validators (installed on first use under target/tools/).
    Test(test::Args),
    /// Build the shipped binaries reproducibly and publish them atomically in
    /// dist/<version>/ with archives, SBOMs, provenance, release notes, manifest.json,
    /// SHA256SUMS and a signature for every file (the cordon-dist pipeline; what ships is
    /// [workspace.metadata.cordon] in Cargo.toml).
    Release(release::Args),
    /// Benchmark `cordon run -- true` against bwrap and bare `true` in interleaved rounds
    /// (needs bubblewrap and util-linux's unshare); prints medians and ratios.
    BenchSandbox(bench::Args),
    /// Time file-heavy workloads (10 000 files, cargo build, untar, git commit, venv)
    /// bare, in the sandbox with the creation guard active, and without it.
    BenchWorkloads(bench_workloads::Args),
    /// Time cordon's SBOM of the shipped binaries (without and with binary hashing)
    /// against cargo-cyclonedx on this workspace, interleaved; prints medians and ratios.
    BenchSbom(bench_sbom::Args),
    /// Build the shipped binaries twice (different directory, CARGO_HOME, TMPDIR, umask,
    /// TZ and time) and fail unless they are byte-identical.
    ReproCheck(release::repro::Args),
    /// Write the SBOM (CycloneDX 1.5/1.6, SPDX 2.3 or SPDX 3.0.1) of one binary: exactly the crates
    /// compiled into it for the target and features.
    Sbom(sbom::Args),
    /// Score SBOMs (cordon's and, with --compare, other generators') against the crates a
    /// real build compiles and links: precision and recall.
    SbomAccuracy(sbom_check::Args),
    /// Release a real third-party crate (hexyl, fetched from crates.io into
    /// target/third-party/ first) with cordon-dist, verify it, and check its SBOM's crate
    /// set against its build's unit list (part of the sbom stage of `cargo xtask test`).
    ThirdParty,
    /// Trust material: `trust init --out DIR`, `trust rotate|show|log --trust DIR`.
    Trust(trust::TrustArgs),
    /// Sign files into FILE.sigstore.json (Sigstore bundle v0.3) with a trust directory,
    /// or keyless (--keyless: Fulcio, Rekor v1/v2 and a TSA named by a signing config).
    Sign(trust::SignArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let root = workspace_root();
    let result = match cli.command {
        Command::Test(args) => test::run(&root, &args),
        Command::BenchSandbox(args) => bench::run(&root, &args),
        Command::BenchWorkloads(args) => bench_workloads::run(&root, &args),
        Command::BenchSbom(args) => bench_sbom::run(&root, &args),
        Command::Release(args) => release::run(&root, &args),
        Command::ReproCheck(args) => release::repro::run(&root, &args),
        Command::Sbom(args) => sbom::run(&root, &args),
        Command::SbomAccuracy(args) => sbom_check::accuracy(&root, &args),
        Command::ThirdParty => third_party::fetch(&root).and_then(|_| third_party::check(&root)),
        Command::Trust(args) => trust::trust(&args),
        Command::Sign(args) => trust::sign(&root, &args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            if let Some(hint) = trust::hint(&error) {
                eprintln!("  fix: {hint}");
            }
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: xtask lives one directory below it.
fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}
