//! `cargo xtask`: cordon's own driver over the library crates.
//!
//! - `cargo xtask test`: the whole test suite, exactly what CI runs;
//! - `cargo xtask release`: builds the shipped binaries and writes `dist/<version>/`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod interop;
mod release;
mod run;
mod test;
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
    /// Build the shipped binaries with --locked and publish them atomically, with a
    /// SHA256SUMS, in dist/<version>/.
    Release(release::Args),
    /// Trust material: `trust init --out DIR`, `trust rotate --trust DIR`, `trust show --trust DIR`.
    Trust(trust::TrustArgs),
    /// Sign files into FILE.sigstore.json (Sigstore bundle v0.3) with a trust directory.
    Sign(trust::SignArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let root = workspace_root();
    let result = match cli.command {
        Command::Test(args) => test::run(&root, &args),
        Command::Release(args) => release::run(&root, &args).map(|_| ()),
        Command::Trust(args) => trust::trust(&args),
        Command::Sign(args) => trust::sign(&root, &args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: xtask lives one directory below it.
fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}
