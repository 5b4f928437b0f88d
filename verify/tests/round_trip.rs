//! Round trips with bundles made by cordon's own signer (`cordon-release`): its
//! interoperability matrix of good and deliberately broken bundles, verified by the real
//! `cordon-verify` binary, with the exit code of each failure class; and the pinned-root
//! path over the root-signed `trusted_root.dsse.json`.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use cordon_interop::{self as interop, Case};
use cordon_release::TrustDir;

const BIN: &str = env!("CARGO_BIN_EXE_cordon-verify");

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn artifact(case: &Case, trust: &[&str]) -> Output {
    let mut args = vec![
        "artifact",
        case.artifact.to_str().unwrap(),
        "--bundle",
        case.bundle.to_str().unwrap(),
    ];
    args.extend_from_slice(trust);
    args.extend_from_slice(&[
        "--cert-identity",
        &case.identity,
        "--cert-oidc-issuer",
        &case.issuer,
    ]);
    run(&args)
}

fn sha256_hex(path: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

/// The exit code a correct verifier gives each case of the matrix, by name fragment.
fn expected_code(case: &Case) -> i32 {
    let name = case.name.as_str();
    if case.accept {
        0
    } else if name.contains("identity") || name.contains("issuer") {
        4
    } else if name.contains("artifact") || name.contains("subject") {
        7
    } else {
        3
    }
}

#[test]
fn the_signers_matrix_gets_the_right_verdict_and_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let cases = interop::write_cases(&dir.path().join("m")).unwrap();
    assert!(cases.iter().filter(|case| case.accept).count() >= 2);
    assert!(cases.iter().filter(|case| !case.accept).count() >= 10);
    let mut wrong = Vec::new();
    for case in &cases {
        let by_file = artifact(
            case,
            &["--trusted-root", case.trusted_root.to_str().unwrap()],
        );
        let digest = format!("sha256:{}", sha256_hex(&case.artifact));
        let by_digest = run(&[
            "verify-bundle",
            "--bundle",
            case.bundle.to_str().unwrap(),
            "--certificate-identity",
            &case.identity,
            "--certificate-oidc-issuer",
            &case.issuer,
            "--trusted-root",
            case.trusted_root.to_str().unwrap(),
            &digest,
        ]);
        for (mode, output) in [("file", &by_file), ("digest", &by_digest)] {
            let code = output.status.code().unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr);
            eprintln!("{} ({mode}): exit {code} {}", case.name, stderr.trim());
            if code != expected_code(case) {
                wrong.push(format!(
                    "{} ({mode}): exit {code}, expected {}: {stderr}",
                    case.name,
                    expected_code(case)
                ));
            }
            assert!(stderr.lines().count() <= 1, "{stderr}");
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn a_pinned_root_proves_the_signed_trusted_root() {
    let dir = tempfile::tempdir().unwrap();
    let cases = interop::write_cases(&dir.path().join("m")).unwrap();
    let trust_dir = dir.path().join("m/trust");
    let fingerprint = TrustDir::open(&trust_dir).unwrap().root_fingerprint();
    let signed = trust_dir.join("trusted_root.dsse.json");
    let good = cases
        .iter()
        .find(|case| case.accept && case.trusted_root.starts_with(&trust_dir))
        .expect("a good case signed under m/trust");
    let pinned = |fingerprint: &str, signed: &Path| {
        artifact(
            good,
            &[
                "--pinned-root",
                fingerprint,
                "--signed-root",
                signed.to_str().unwrap(),
            ],
        )
    };

    let output = pinned(&fingerprint, &signed);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // Another root pinned: the envelope does not chain to it, and the error names the
    // root it does chain to, as `cargo xtask trust show` prints it.
    let output = pinned(&"00".repeat(32), &signed);
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "it chains to sha256:{fingerprint}, not to the pinned root sha256:{}",
            "00".repeat(32)
        )) && stderr.contains("signed under a different trust root"),
        "{stderr}"
    );

    // A mirror edits the trusted root (still valid JSON): the root's signature breaks.
    let mut envelope: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&signed).unwrap()).unwrap();
    let payload = STANDARD
        .decode(envelope["payload"].as_str().unwrap())
        .unwrap();
    let mut edited = payload;
    edited.push(b' ');
    envelope["payload"] = STANDARD.encode(&edited).into();
    let altered = dir.path().join("altered.dsse.json");
    std::fs::write(&altered, envelope.to_string()).unwrap();
    let output = pinned(&fingerprint, &altered);
    assert_eq!(output.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no signature in it verifies"));

    // A bad fingerprint argument and a missing envelope are bad input.
    assert_eq!(pinned("xyz", &signed).status.code(), Some(2));
    assert_eq!(
        pinned(&fingerprint, &dir.path().join("absent.json"))
            .status
            .code(),
        Some(2)
    );
}
