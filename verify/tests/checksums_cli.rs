//! `cordon-verify checksums` on hostile directories: extra files (reported, or refused
//! with `--deny-extra`), symlinks inside and outside, enormous or binary lists.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_cordon-verify");
const HELLO: &str = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";

fn release(dir: &Path) {
    std::fs::write(dir.join("hello.txt"), b"hello\n").unwrap();
    std::fs::write(dir.join("SHA256SUMS"), format!("{HELLO}  hello.txt\n")).unwrap();
}

fn check(dir: &Path, extra: &[&str]) -> (i32, String, String) {
    let output: Output = Command::new(BIN)
        .arg("checksums")
        .arg(dir.join("SHA256SUMS"))
        .args(extra)
        .output()
        .unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn extra_files_are_reported_and_fail_only_with_deny_extra() {
    let dir = tempfile::tempdir().unwrap();
    release(dir.path());
    std::fs::write(dir.path().join("surprise.sh"), b"#!/bin/sh\n").unwrap();
    let (code, stdout, _) = check(dir.path(), &[]);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains("ok      listed     surprise.sh: extra: a file no list names, allowed"),
        "{stdout}"
    );
    let (code, stdout, stderr) = check(dir.path(), &["--deny-extra"]);
    assert_eq!(code, 7, "{stdout}");
    assert_eq!(
        stderr,
        "cordon-verify: FAILED (integrity): surprise.sh: listed: a file no list names (not in the list)\n"
    );
    assert!(
        stdout.contains("verdict: FAILED (1 of 3 checks; exit 7 integrity)"),
        "{stdout}"
    );
}

#[test]
fn the_lists_own_signature_is_not_an_extra_file() {
    let dir = tempfile::tempdir().unwrap();
    release(dir.path());
    // What `cargo xtask release` ships beside SHA256SUMS: its Sigstore bundle.
    std::fs::write(dir.path().join("SHA256SUMS.sigstore.json"), b"{}").unwrap();
    let (code, stdout, stderr) = check(dir.path(), &["--deny-extra"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("verdict: ok (2 checks)"), "{stdout}");
    assert_eq!(stderr, "");
}

#[test]
fn symlinks_are_never_followed_and_escaping_ones_always_fail() {
    let dir = tempfile::tempdir().unwrap();
    release(dir.path());
    std::os::unix::fs::symlink("/etc/passwd", dir.path().join("passwd")).unwrap();
    let (code, _, stderr) = check(dir.path(), &[]);
    assert_eq!(code, 7, "{stderr}");
    assert!(
        stderr.contains("passwd: listed: a symlink to /etc/passwd which points outside"),
        "{stderr}"
    );

    // A listed file that is a symlink (to a file with the right content) fails too.
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(outside.path(), b"hello\n").unwrap();
    std::fs::write(
        dir.path().join("SHA256SUMS"),
        format!("{HELLO}  hello.txt\n"),
    )
    .unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("hello.txt")).unwrap();
    let (code, _, stderr) = check(dir.path(), &[]);
    assert_eq!(code, 7, "{stderr}");
    assert!(
        stderr.contains("hello.txt: sha256: a symlink to"),
        "{stderr}"
    );
    assert!(stderr.contains("outside the directory"), "{stderr}");
}

#[test]
fn enormous_and_binary_lists_are_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let sums = std::fs::File::create(dir.path().join("SHA256SUMS")).unwrap();
    sums.set_len(1 << 30).unwrap(); // sparse
    let (code, _, stderr) = check(dir.path(), &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("larger than the 16777216-byte limit"),
        "{stderr}"
    );
    std::fs::write(dir.path().join("SHA256SUMS"), [0xff, 0xfe, b'\n']).unwrap();
    let (code, _, stderr) = check(dir.path(), &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("not UTF-8"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn a_missing_list_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = check(dir.path(), &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("SHA256SUMS: does not exist"), "{stderr}");
}
