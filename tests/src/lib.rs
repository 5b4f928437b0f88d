//! Helpers for cordon's end-to-end tests (the tests themselves are in `tests/tests/`).
//!
//! End-to-end tests run the real binaries. Cargo only hands a test the binaries of its
//! own package, so [`binary`] builds the one asked for (a no-op when it is current) with
//! the same cargo that runs the tests, and returns its path.

pub mod network;
pub mod sandbox;

use std::path::PathBuf;
use std::process::Command;

/// Builds `bin` of workspace package `package` in the debug profile and returns its path.
///
/// # Panics
/// When the build fails: an end-to-end test cannot run without its binary.
pub fn binary(package: &str, bin: &str) -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--locked",
            "--quiet",
            "--package",
            package,
            "--bin",
            bin,
        ])
        .current_dir(workspace_root())
        .status()
        .expect("cannot start cargo");
    assert!(status.success(), "cargo build of {bin} failed ({status})");
    target_dir().join("debug").join(bin)
}

/// The workspace root (this crate is one directory below it).
pub fn workspace_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(PathBuf::from).unwrap_or(here)
}

/// Cargo's target directory: `CARGO_TARGET_DIR` when set, else `<workspace>/target`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace_root().join(dir),
        None => workspace_root().join("target"),
    }
}
