//! `cordon-verify verify-bundle` and `artifact`: the conformance-protocol argument
//! handling, digest inputs, and one clear line with the right exit code for every kind
//! of bad input. (Cryptographic verification itself is exercised by the
//! sigstore-conformance suite and by the round-trip tests.)
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_cordon-verify");
const DIGEST: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn code(output: &Output) -> i32 {
    output.status.code().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs `verify-bundle` in keyless mode with `bundle` and an empty artifact.
fn keyless(bundle: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "verify-bundle",
        "--bundle",
        bundle.to_str().unwrap(),
        "--certificate-identity",
        "someone@example.com",
        "--certificate-oidc-issuer",
        "https://issuer.example.com",
    ];
    args.extend_from_slice(extra);
    args.push(DIGEST);
    run(&args)
}

/// A temporary directory holding `b.json` with `contents`.
fn bundle_file(contents: impl AsRef<[u8]>) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("b.json");
    std::fs::write(&bundle, contents).unwrap();
    (dir, bundle)
}

fn assert_bad_input(output: &Output, needle: &str) {
    let text = stderr(output);
    assert_eq!(code(output), 2, "{text}");
    assert_eq!(text.lines().count(), 1, "one line expected: {text}");
    assert!(text.contains(needle), "{needle:?} not in {text}");
    assert!(!text.contains("panicked"), "{text}");
}

#[test]
fn identity_and_key_modes_are_exclusive_and_one_is_required() {
    let (_dir, bundle) = bundle_file("{}");
    let bundle = bundle.to_str().unwrap();
    // Neither mode.
    assert_eq!(
        code(&run(&["verify-bundle", "--bundle", bundle, DIGEST])),
        2
    );
    // Identity without issuer.
    let output = run(&[
        "verify-bundle",
        "--bundle",
        bundle,
        "--certificate-identity",
        "a@example.com",
        DIGEST,
    ]);
    assert_eq!(code(&output), 2);
    // Both modes.
    let output = run(&[
        "verify-bundle",
        "--bundle",
        bundle,
        "--certificate-identity",
        "a@example.com",
        "--certificate-oidc-issuer",
        "https://issuer.example.com",
        "--key",
        "key.pub",
        DIGEST,
    ]);
    assert_eq!(code(&output), 2);
    // --staging and --trusted-root contradict each other.
    let output = run(&[
        "verify-bundle",
        "--staging",
        "--bundle",
        bundle,
        "--key",
        "key.pub",
        "--trusted-root",
        "root.json",
        DIGEST,
    ]);
    assert_eq!(code(&output), 2);
}

#[test]
fn missing_bundle_is_bad_input_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let output = keyless(&dir.path().join("absent.sigstore.json"), &[]);
    assert_bad_input(&output, "absent.sigstore.json: does not exist");
}

#[test]
fn truncated_and_garbage_json_are_bad_input() {
    let (_dir, bundle) =
        bundle_file(r#"{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "verif"#);
    assert_bad_input(&keyless(&bundle, &[]), "truncated JSON at line 1");
    std::fs::write(&bundle, "\u{0}\u{1}garbage").unwrap();
    assert_bad_input(&keyless(&bundle, &[]), "malformed JSON at line 1");
    std::fs::write(&bundle, [0xffu8, 0xfe, 0x00]).unwrap();
    assert_bad_input(&keyless(&bundle, &[]), "not UTF-8");
}

#[test]
fn wrong_or_missing_media_types_are_bad_input() {
    let (dir, bundle) =
        bundle_file(r#"{"mediaType": "application/vnd.dev.sigstore.bundle+json;version=99.9"}"#);
    assert_bad_input(
        &keyless(&bundle, &[]),
        "media type \"application/vnd.dev.sigstore.bundle+json;version=99.9\"",
    );
    std::fs::write(&bundle, r#"{"verificationMaterial": {}}"#).unwrap();
    assert_bad_input(&keyless(&bundle, &[]), "no \"mediaType\" string");
    // A trusted root handed over as the bundle.
    std::fs::write(
        &bundle,
        r#"{"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1"}"#,
    )
    .unwrap();
    assert_bad_input(
        &keyless(&bundle, &[]),
        "is not a Sigstore bundle this verifier knows",
    );
    // A bundle handed over as the trusted root.
    let root = dir.path().join("root.json");
    std::fs::write(
        &root,
        r#"{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"}"#,
    )
    .unwrap();
    assert_bad_input(
        &keyless(&bundle, &["--trusted-root", root.to_str().unwrap()]),
        "is not a Sigstore trusted root this verifier knows",
    );
}

#[test]
fn a_structurally_wrong_bundle_is_bad_input() {
    let (_dir, bundle) = bundle_file(
        r#"{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "verificationMaterial": 7}"#,
    );
    assert_bad_input(&keyless(&bundle, &[]), "not a valid Sigstore bundle");
}

#[test]
fn enormous_documents_are_refused_before_parsing() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("huge.json");
    let file = std::fs::File::create(&bundle).unwrap();
    file.set_len(64 * 1024 * 1024).unwrap(); // sparse: costs no disk
    assert_bad_input(
        &keyless(&bundle, &[]),
        "larger than the 16777216-byte limit",
    );
}

#[test]
fn directories_are_not_bundles() {
    let dir = tempfile::tempdir().unwrap();
    assert_bad_input(&keyless(dir.path(), &[]), "not a regular file");
}

#[test]
fn a_missing_artifact_file_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root.json");
    std::fs::write(
        &root,
        r#"{"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1", "tlogs": [], "certificateAuthorities": [], "ctlogs": [], "timestampAuthorities": []}"#,
    )
    .unwrap();
    let bundle = dir.path().join("b.json");
    std::fs::write(&bundle, MESSAGE_SIGNATURE_BUNDLE).unwrap();
    let output = run(&[
        "artifact",
        dir.path().join("absent.bin").to_str().unwrap(),
        "--bundle",
        bundle.to_str().unwrap(),
        "--trusted-root",
        root.to_str().unwrap(),
        "--cert-identity",
        "a@example.com",
        "--cert-oidc-issuer",
        "https://issuer.example.com",
    ]);
    assert_bad_input(&output, "absent.bin: does not exist");
}

/// A bundle that parses but whose certificate is not DER: its verification must fail
/// without a panic, whether the artifact is a file or a digest.
const MESSAGE_SIGNATURE_BUNDLE: &str = r#"{
  "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
  "verificationMaterial": {
    "certificate": {"rawBytes": "MIIB"},
    "tlogEntries": []
  },
  "messageSignature": {
    "messageDigest": {"algorithm": "SHA2_256", "digest": "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="},
    "signature": "MEUCIQ=="
  }
}"#;

#[test]
fn an_unverifiable_bundle_fails_without_success_for_file_and_digest() {
    let (dir, bundle) = bundle_file(MESSAGE_SIGNATURE_BUNDLE);
    let artifact = dir.path().join("empty");
    std::fs::write(&artifact, b"").unwrap();
    for input in [artifact.to_str().unwrap(), DIGEST] {
        let output = run(&[
            "verify-bundle",
            "--bundle",
            bundle.to_str().unwrap(),
            "--certificate-identity",
            "a@example.com",
            "--certificate-oidc-issuer",
            "https://issuer.example.com",
            input,
        ]);
        let text = stderr(&output);
        assert!([2, 3].contains(&code(&output)), "{input}: {text}");
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.starts_with("cordon-verify: FAILED ("), "{text}");
    }
}
