//! `cargo bench -p cordon-verify --bench verify`: what verifying costs, as ratios against
//! baselines measured in the same run.
//!
//! 1. Hashing-dominated: a 200 MB artifact signed by cordon's own signer, checked with
//!    `cordon-verify checksums` and `cordon-verify artifact` (signature, chain, SCT,
//!    inclusion proof, checkpoint, streamed digest) against `sha256sum` over the same
//!    file. Target: at most 1.2x.
//! 2. Per bundle: `cordon-verify artifact` on a small file against sigstore-python's
//!    `sigstore verify identity --offline` on the same bundle and trust root (set
//!    `SIGSTORE_PYTHON` to its `sigstore` executable; `target/tools/venv/bin/sigstore` is
//!    used when present), plus the in-process library cost.
//!
//! Medians of repeated runs; set `BENCH_MB` to change the artifact size.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use cordon_release::{InitOptions, LeafIdentity, SignOptions, Signer};
use cordon_verify::{ArtifactInput, ExpectedSigner, TrustSource};

const BIN: &str = env!("CARGO_BIN_EXE_cordon-verify");
const IDENTITY: &str =
    "https://github.com/cordon-dev/cordon/.github/workflows/release.yml@refs/tags/v0.1.0";
const ISSUER: &str = "https://token.actions.githubusercontent.com";

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Runs `command` `runs` times (after one warm-up) and returns the median wall time.
fn time_command(runs: usize, make: impl Fn() -> Command) -> Duration {
    let warm = make().output().unwrap();
    assert!(
        warm.status.success(),
        "{:?}: {}",
        make(),
        String::from_utf8_lossy(&warm.stderr)
    );
    median(
        (0..runs)
            .map(|_| {
                let started = Instant::now();
                let output = make().output().unwrap();
                let elapsed = started.elapsed();
                assert!(output.status.success());
                elapsed
            })
            .collect(),
    )
}

fn write_artifact(path: &Path, megabytes: usize) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut block = vec![0u8; 1 << 20];
    for _ in 0..megabytes {
        for chunk in block.chunks_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
        }
        file.write_all(&block).unwrap();
    }
    file.flush().unwrap();
}

fn artifact_command(file: &Path, bundle: &Path, root: &Path) -> Command {
    let mut command = Command::new(BIN);
    command.args([
        "artifact".as_ref(),
        file.as_os_str(),
        "--bundle".as_ref(),
        bundle.as_os_str(),
        "--trusted-root".as_ref(),
        root.as_os_str(),
        "--cert-identity".as_ref(),
        IDENTITY.as_ref(),
        "--cert-oidc-issuer".as_ref(),
        ISSUER.as_ref(),
    ]);
    command
}

fn sigstore_python() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("SIGSTORE_PYTHON") {
        return Some(PathBuf::from(path));
    }
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/tools/venv/bin/sigstore");
    local.exists().then_some(local)
}

fn main() {
    let megabytes: usize = std::env::var("BENCH_MB")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(200);
    let dir = tempfile::tempdir().unwrap();
    let trust_dir = dir.path().join("trust");
    let mut options = InitOptions::new("cordon bench");
    options.now = SystemTime::now() - Duration::from_secs(86_400);
    cordon_release::init_trust(&trust_dir, &options).unwrap();
    let identity = LeafIdentity {
        subject: IDENTITY.to_owned(),
        issuer: ISSUER.to_owned(),
        source_repository: None,
        source_digest: None,
        source_ref: None,
    };
    let signer = Signer::open(&trust_dir, &identity, &SignOptions::default()).unwrap();
    let root = trust_dir.join("trusted_root.json");

    let release = dir.path().join("release");
    std::fs::create_dir(&release).unwrap();
    let big = release.join("cordon-big");
    write_artifact(&big, megabytes);
    let small = release.join("small.txt");
    std::fs::write(&small, b"a small artifact\n").unwrap();
    let bundles = signer.sign_blobs(&[&big, &small]).unwrap();
    let big_bundle = release.join("cordon-big.sigstore.json");
    let small_bundle = release.join("small.txt.sigstore.json");
    std::fs::write(&big_bundle, &bundles[0]).unwrap();
    std::fs::write(&small_bundle, &bundles[1]).unwrap();
    let sums = Command::new("sha256sum")
        .current_dir(&release)
        .args(["cordon-big"])
        .output()
        .unwrap();
    std::fs::write(release.join("SHA256SUMS"), &sums.stdout).unwrap();

    println!("cordon-verify bench: {megabytes} MB artifact, medians of 7 runs");
    let baseline = time_command(7, || {
        let mut command = Command::new("sha256sum");
        command.arg(&big);
        command
    });
    let checksums = time_command(7, || {
        let mut command = Command::new(BIN);
        command.arg("checksums").arg(release.join("SHA256SUMS"));
        command
    });
    let artifact = time_command(7, || artifact_command(&big, &big_bundle, &root));
    let ratio = |value: Duration| value.as_secs_f64() / baseline.as_secs_f64();
    println!(
        "  sha256sum (baseline)          {:>8.1} ms",
        baseline.as_secs_f64() * 1e3
    );
    println!(
        "  cordon-verify checksums       {:>8.1} ms  {:.2}x",
        checksums.as_secs_f64() * 1e3,
        ratio(checksums)
    );
    println!(
        "  cordon-verify artifact        {:>8.1} ms  {:.2}x  (target <= 1.2x)",
        artifact.as_secs_f64() * 1e3,
        ratio(artifact)
    );

    println!("per-bundle cost (17-byte artifact), medians");
    let process = time_command(21, || artifact_command(&small, &small_bundle, &root));
    println!(
        "  cordon-verify artifact (process)   {:>8.2} ms",
        process.as_secs_f64() * 1e3
    );
    let trusted_root = cordon_verify::load_trusted_root(&TrustSource::File(root))
        .unwrap()
        .root;
    let bundle = cordon_verify::load_bundle(&small_bundle).unwrap();
    let library = median(
        (0..201)
            .map(|_| {
                let started = Instant::now();
                cordon_verify::verify_signature(
                    &trusted_root,
                    &bundle,
                    &ArtifactInput::File(small.clone()),
                    &ExpectedSigner::Identity {
                        identity: IDENTITY.to_owned(),
                        issuer: ISSUER.to_owned(),
                    },
                )
                .unwrap();
                started.elapsed()
            })
            .collect(),
    );
    println!(
        "  cordon_verify library (in-process) {:>8.2} ms",
        library.as_secs_f64() * 1e3
    );
    match sigstore_python() {
        Some(sigstore) => {
            let config = trust_dir.join("client_trust_config.json");
            let python = time_command(7, || {
                let mut command = Command::new(&sigstore);
                command
                    .arg("--trust-config")
                    .arg(&config)
                    .args(["verify", "identity", "--offline", "--bundle"])
                    .arg(&small_bundle)
                    .args(["--cert-identity", IDENTITY, "--cert-oidc-issuer", ISSUER])
                    .arg(&small);
                command
            });
            println!(
                "  sigstore-python verify (process)   {:>8.2} ms",
                python.as_secs_f64() * 1e3
            );
            println!(
                "  ratio sigstore-python / cordon-verify: {:.1}x",
                python.as_secs_f64() / process.as_secs_f64()
            );
        }
        None => println!(
            "  sigstore-python: not found (set SIGSTORE_PYTHON to its `sigstore` executable)"
        ),
    }
}
