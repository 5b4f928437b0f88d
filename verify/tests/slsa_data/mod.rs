//! slsa-verifier's real test data (`tests/data/third_party/slsa-verifier`) and a runner of
//! `cordon-verify provenance` on it, shared by `provenance_cli.rs` and
//! `provenance_flags_cli.rs`.
#![allow(clippy::unwrap_used, dead_code, unreachable_pub)]

use std::path::PathBuf;
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_cordon-verify");

/// The path of `name` under the slsa-verifier data directory.
pub fn data(name: &str) -> String {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests/data/third_party/slsa-verifier",
        name,
    ]
    .iter()
    .collect();
    path.to_str().unwrap().to_owned()
}

/// Runs `provenance ARTIFACT --provenance PROVENANCE FLAGS...`; the artifact is a file
/// under the data directory or a `sha256:` digest.
pub fn provenance(artifact: &str, file: &str, flags: &[&str]) -> Output {
    let artifact = if artifact.starts_with("sha256:") {
        artifact.to_owned()
    } else {
        data(artifact)
    };
    Command::new(BIN)
        .arg("provenance")
        .arg(artifact)
        .arg("--provenance")
        .arg(data(file))
        .args(flags)
        .output()
        .unwrap()
}
