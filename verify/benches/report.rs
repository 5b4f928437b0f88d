//! `cargo bench -p cordon-verify --bench report`: what `cordon-verify report` costs, as a
//! ratio against `cordon-verify release` on the same release measured in the same run
//! (the report runs every check of `release`, then reads the SBOMs, the advisory
//! database and the policy and renders HTML and JSON).
//!
//! 1. A release with the usual small crate set.
//! 2. A release whose SBOM has 500 components (and the binary's embedded list the same
//!    500 crates), with the advisory-db snapshot and cordon's licence policy.
//!
//! The binary is timed end to end (process start, files written). Medians of `BENCH_RUNS`
//! runs (default 9).
#![allow(clippy::unwrap_used)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use support::{Spec, TestCrate, build, usual_crates};

const BIN: &str = env!("CARGO_BIN_EXE_cordon-verify");

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn time(runs: usize, args: &[&str]) -> Duration {
    let run = || {
        let started = Instant::now();
        let output = Command::new(BIN).args(args).output().unwrap();
        let elapsed = started.elapsed();
        assert!(
            output.status.code() == Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        elapsed
    };
    run();
    median((0..runs).map(|_| run()).collect())
}

fn measure(label: &str, spec: &Spec, runs: usize) {
    let release = build(spec);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let db = root.join("audit/tests/data/advisory-db-snapshot");
    let policy = root.join("docs/licence-policy.toml");
    let out = release.temp.path();
    let dir = release.dir.to_str().unwrap();
    let html = out.join("report.html");
    let json = out.join("report.json");
    let baseline = time(
        runs,
        &["release", dir, "--pinned-root", &release.fingerprint],
    );
    let report = time(
        runs,
        &[
            "report",
            dir,
            "--pinned-root",
            &release.fingerprint,
            "--advisory-db",
            db.to_str().unwrap(),
            "--licence-policy",
            policy.to_str().unwrap(),
            "--html",
            html.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
        ],
    );
    println!(
        "{label}: report median {:.1} ms, release (baseline) {:.1} ms, ratio {:.2}x; HTML {} KiB, JSON {} KiB",
        report.as_secs_f64() * 1e3,
        baseline.as_secs_f64() * 1e3,
        report.as_secs_f64() / baseline.as_secs_f64(),
        std::fs::metadata(&html).unwrap().len() / 1024,
        std::fs::metadata(&json).unwrap().len() / 1024,
    );
}

fn main() {
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|runs| runs.parse().ok())
        .unwrap_or(9);
    measure("3 components", &Spec::new("1.0.0", usual_crates()), runs);
    let crates: Vec<TestCrate> = (0..500)
        .map(|index| {
            TestCrate::new(
                &format!("crate-{index:03}"),
                &format!("1.{}.{}", index / 10, index % 10),
                if index % 7 == 0 {
                    "MPL-2.0"
                } else {
                    "MIT OR Apache-2.0"
                },
                &format!("Supplier {index}"),
            )
        })
        .collect();
    measure("500 components", &Spec::new("2.0.0", crates), runs);
}
