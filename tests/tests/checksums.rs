//! A release directory written by `cordon-release` is accepted by coreutils'
//! `sha256sum -c` and by `cordon-verify checksums`, and a corrupted one is rejected by
//! both, with cordon-verify's documented exit code.

// A panic is how a test reports failure.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::Path;
use std::process::Command;

use cordon_e2e::binary;
use cordon_release::StagedDir;

fn publish_sample(dist: &Path) -> std::path::PathBuf {
    let mut staged = StagedDir::create(dist, "9.9.9").unwrap();
    staged.write_file("tool", &vec![0xAB; 300 * 1024]).unwrap();
    staged.write_file("notes.md", b"# notes\n").unwrap();
    staged.write_checksums("SHA256SUMS").unwrap();
    staged.publish(false).unwrap()
}

fn sha256sum_check(dir: &Path) -> bool {
    Command::new("sha256sum")
        .args(["--check", "--strict", "--quiet", "SHA256SUMS"])
        .current_dir(dir)
        .status()
        .expect("sha256sum (coreutils) is installed")
        .success()
}

#[test]
fn release_output_verifies_with_sha256sum_and_cordon_verify() {
    let dist = tempfile::tempdir().unwrap();
    let release = publish_sample(dist.path());
    assert!(sha256sum_check(&release));

    let output = Command::new(binary("cordon-verify", "cordon-verify"))
        .arg("checksums")
        .arg(release.join("SHA256SUMS"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("ok      sha256     tool: "), "{stdout}");
    assert!(stdout.contains("verdict: ok (3 checks)"), "{stdout}");
}

#[test]
fn a_changed_byte_fails_both_checkers() {
    let dist = tempfile::tempdir().unwrap();
    let release = publish_sample(dist.path());
    let tool = release.join("tool");
    let mut bytes = fs::read(&tool).unwrap();
    bytes[1000] ^= 1;
    fs::write(&tool, bytes).unwrap();
    assert!(!sha256sum_check(&release));

    let output = Command::new(binary("cordon-verify", "cordon-verify"))
        .arg("checksums")
        .arg(release.join("SHA256SUMS"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(7), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cordon-verify: FAILED (integrity): tool: sha256: sha256 is"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("verdict: FAILED (1 of 3 checks; exit 7 integrity)"),
        "{stdout}"
    );
}

#[test]
fn a_malformed_list_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let sums = dir.path().join("SHA256SUMS");
    fs::write(&sums, "not a checksum line\n").unwrap();
    let output = Command::new(binary("cordon-verify", "cordon-verify"))
        .arg("checksums")
        .arg(&sums)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("line 1: expected"), "{stderr}");
}
