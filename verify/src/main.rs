//! `cordon-verify`: checks a downloaded release offline before it is packaged or served.
//!
//! Thin glue over the `cordon_verify` library; exit codes are documented in
//! [`cordon_verify::exit`].

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use cordon_verify::checksums::{ChecksumList, Outcome};
use cordon_verify::exit::FailureClass;

/// Verify cordon releases offline: checksums, and (as they land) signatures, provenance
/// and SBOMs against a pinned root.
#[derive(Debug, Parser)]
#[command(name = "cordon-verify", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check every file listed in a SHA256SUMS file against the files beside it.
    ///
    /// Exit 0 when all match, 7 when a file differs or is absent, 2 when the list
    /// cannot be read or parsed.
    Checksums {
        /// The SHA256SUMS file; the files it lists are looked up in its directory.
        sums: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Checksums { sums } => checksums(&sums),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(class) => ExitCode::from(class.exit_code()),
    }
}

fn checksums(sums: &std::path::Path) -> Result<(), FailureClass> {
    let text = std::fs::read_to_string(sums).map_err(|error| {
        eprintln!("cordon-verify: cannot read {}: {error}", sums.display());
        FailureClass::BadInput
    })?;
    let list = ChecksumList::parse(&text).map_err(|error| {
        eprintln!("cordon-verify: {}: {error}", sums.display());
        FailureClass::BadInput
    })?;
    let dir = match sums.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    };
    let results = list.check(&dir);
    let failed = results
        .iter()
        .filter(|checked| !matches!(checked.outcome, Outcome::Ok))
        .count();
    for checked in &results {
        println!("{checked}");
    }
    if failed == 0 {
        println!("verdict: ok ({} files)", results.len());
        Ok(())
    } else {
        println!("verdict: FAILED ({failed} of {} files)", results.len());
        Err(FailureClass::Integrity)
    }
}
