//! The crate-set resolution's cost on this workspace, as medians of interleaved rounds:
//! `cordon_sbom::resolve` (one `cargo metadata --filter-platform` and the feature
//! resolution over it) against the way it was done before, `cargo tree -e
//! normal,no-proc-macro` run concurrently with the same `cargo metadata` (the baseline,
//! measured in the same run). Run: `cargo bench -p cordon-sbom --bench resolve`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cordon_sbom::{Binary, Build};

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root");
    let manifest = root.join("Cargo.toml");
    let build = Build {
        manifest_path: manifest.clone(),
        binaries: vec![
            Binary {
                package: "cordon-cli".into(),
                bin: "cordon".into(),
            },
            Binary {
                package: "cordon-verify".into(),
                bin: "cordon-verify".into(),
            },
        ],
        target: None,
        features: Vec::new(),
        no_default_features: false,
    };
    let target = cordon_sbom::resolve(&build).expect("resolve").target;
    let baseline = || {
        let tree = Command::new("cargo")
            .args([
                "tree",
                "--locked",
                "-e",
                "normal,no-proc-macro",
                "--prefix",
                "depth",
            ])
            .args(["--format", "{p}", "--target", &target])
            .args(["-p", "cordon-cli", "-p", "cordon-verify", "--manifest-path"])
            .arg(&manifest)
            .stdout(Stdio::piped())
            .spawn()
            .expect("cargo tree");
        let metadata = Command::new("cargo")
            .args(["metadata", "--locked", "--all-features"])
            .args(["--format-version", "1"])
            .args(["--filter-platform", &target, "--manifest-path"])
            .arg(&manifest)
            .output()
            .expect("cargo metadata");
        let tree = tree.wait_with_output().expect("cargo tree");
        assert!(metadata.status.success() && tree.status.success());
        std::hint::black_box((metadata.stdout.len(), tree.stdout.len()))
    };
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..15 {
        let started = Instant::now();
        std::hint::black_box(cordon_sbom::resolve(&build).expect("resolve"));
        ours.push(started.elapsed());
        let started = Instant::now();
        baseline();
        theirs.push(started.elapsed());
    }
    let (ours, theirs) = (median(ours), median(theirs));
    println!(
        "resolve (one cargo metadata + feature resolution)   median {:>7.1} ms",
        ours.as_secs_f64() * 1e3
    );
    println!(
        "baseline (cargo tree || cargo metadata, no parsing)  median {:>7.1} ms",
        theirs.as_secs_f64() * 1e3
    );
    println!(
        "ratio resolve / baseline: {:.2}",
        ours.as_secs_f64() / theirs.as_secs_f64()
    );
}
