//! `cargo xtask`: cordon's own driver over the library crates.
//!
//! - `cargo xtask test`: the whole test suite, exactly what CI runs;
//! - `cargo xtask release`: builds the shipped binaries and writes `dist/<version>/`;
//! - `cargo xtask bench-sandbox`: `cordon run -- true` against bwrap and `true`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod bench;
mod release;
mod run;
mod test;
mod tools;

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
    /// Benchmark `cordon run -- true` against bwrap and bare `true` (needs hyperfine and
    /// bubblewrap); prints medians and ratios.
    BenchSandbox(bench::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let root = workspace_root();
    let result = match cli.command {
        Command::Test(args) => test::run(&root, &args),
        Command::Release(args) => release::run(&root, &args).map(|_| ()),
        Command::BenchSandbox(args) => bench::run(&root, &args),
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
