//! How `cordon-verify release DIR` reports what it found, over releases built and signed
//! by `support::build`: a defect once, at its root, with what depended on it marked
//! skipped and why; bundles from another trust root in one row with the key ids; one exit
//! class per defect from every subcommand; input errors, help texts and a closed pipe.

use std::path::Path;
use std::process::Command;

mod support;

use support::{Damage, Spec, build, pinned, verify_bin, verify_release_split};

/// The rows of standard output that are about `file` and `check`.
fn rows<'a>(stdout: &'a str, status: &str, check: &str, file: &str) -> Vec<&'a str> {
    let prefix = format!("{status:<8}{check:<10} {file}: ");
    stdout
        .lines()
        .filter(|line| line.starts_with(&prefix))
        .collect()
}

#[test]
fn one_flipped_byte_is_reported_once_and_what_depended_on_it_is_skipped() {
    let release = build(&Spec::two_binaries(Damage::None));
    let binary = release.dir.join("cordon");
    let mut bytes = std::fs::read(&binary).unwrap();
    bytes[100] ^= 0x01;
    std::fs::write(&binary, bytes).unwrap();
    let (code, stdout, stderr) = verify_release_split(&release.dir, &pinned(&release, &[]));
    assert_eq!(code, 7, "{stdout}{stderr}");
    // One failure, at its root.
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("cordon-verify: FAILED (integrity): cordon: sha256: sha256 is"),
        "{stderr}"
    );
    // What needed the binary's bytes says it was skipped, and why.
    let because = "cordon failed its sha256 check (reported above)";
    for (check, reason) in [
        ("manifest", because.to_owned()),
        (
            "signature",
            format!("{because}; its signature was not checked"),
        ),
    ] {
        assert_eq!(
            rows(&stdout, "skipped", check, "cordon"),
            [format!("skipped {check:<10} cordon: {reason}")],
            "{stdout}"
        );
    }
    assert_eq!(
        rows(&stdout, "skipped", "sbom", "cordon-0.1.0.cdx.json"),
        [
            "skipped sbom       cordon-0.1.0.cdx.json: it describes only cordon, which failed its sha256 check (reported above)"
        ],
        "{stdout}"
    );
    let provenance = rows(&stdout, "ok", "provenance", "cordon-0.1.0.intoto.jsonl");
    assert!(
        provenance.len() == 1
            && provenance[0].ends_with("; not checked for cordon (failed its sha256 check)"),
        "{stdout}"
    );
    // No false consequences.
    assert!(!stdout.contains("not in the release"), "{stdout}");
    assert!(!stdout.contains(" or failed its digest check"), "{stdout}");
    assert!(stdout.contains("verdict: FAILED (1 of "), "{stdout}");
}

#[test]
fn a_deleted_bundle_is_an_integrity_failure_and_the_signature_says_it_was_skipped() {
    let release = build(&Spec::two_binaries(Damage::None));
    std::fs::remove_file(release.dir.join("cordon.sigstore.json")).unwrap();
    let (code, stdout, stderr) = verify_release_split(&release.dir, &pinned(&release, &[]));
    assert_eq!(code, 7, "{stdout}{stderr}");
    assert_eq!(
        stderr,
        "cordon-verify: FAILED (integrity): cordon.sigstore.json: sha256: listed but absent\n"
    );
    assert_eq!(
        rows(&stdout, "skipped", "signature", "cordon"),
        [
            "skipped signature  cordon: its bundle cordon.sigstore.json failed its sha256 check (reported above); the signature was not checked"
        ],
        "{stdout}"
    );
}

#[test]
fn bundles_from_another_trust_root_give_one_row_with_the_key_ids() {
    let release = build(&Spec::two_binaries(Damage::None));
    let other = build(&Spec::two_binaries(Damage::None));
    let other_root = other.trust_dir.join("trusted_root.json");
    let (code, stdout, stderr) = verify_release_split(
        &release.dir,
        &["--trusted-root", other_root.to_str().unwrap()],
    );
    assert_eq!(code, 3, "{stdout}{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("signed under a different trust root"),
        "{stderr}"
    );
    // Key ids as `cargo xtask trust show` prints them: sha256:<hex>.
    let log_id = |trust_dir: &Path| {
        let root: serde_json::Value =
            serde_json::from_slice(&std::fs::read(trust_dir.join("trusted_root.json")).unwrap())
                .unwrap();
        use base64::Engine as _;
        let key_id = base64::engine::general_purpose::STANDARD
            .decode(root["tlogs"][0]["logId"]["keyId"].as_str().unwrap())
            .unwrap();
        format!("sha256:{}", hex::encode(key_id))
    };
    for trust_dir in [&release.trust_dir, &other.trust_dir] {
        assert!(stderr.contains(&log_id(trust_dir)), "{stderr}");
    }
    assert!(!stderr.contains("No log key valid"), "{stderr}");
    let skipped = stdout
        .lines()
        .filter(|line| line.contains("signed under the same different trust root"))
        .count();
    assert!(skipped >= 4, "{stdout}");
}

#[test]
fn a_non_dsse_provenance_gets_the_same_exit_code_from_release_and_provenance() {
    let release = build(&Spec::two_binaries(Damage::ProvenanceNotDsse));
    let (code, _, stderr) = verify_release_split(&release.dir, &pinned(&release, &[]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("not a DSSE in-toto statement"), "{stderr}");
    let output = Command::new(verify_bin())
        .arg("provenance")
        .arg(release.dir.join("cordon"))
        .arg("--provenance")
        .arg(release.dir.join("cordon-0.1.0.intoto.jsonl"))
        .args(["--source-uri", "github.com/cordon-dev/cordon"])
        .arg("--trusted-root")
        .arg(release.trust_dir.join("trusted_root.json"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("not a DSSE in-toto statement"), "{stderr}");
}

#[test]
fn a_missing_directory_does_not_exist_and_a_file_is_not_a_directory() {
    let release = build(&Spec::two_binaries(Damage::None));
    let (code, _, stderr) = verify_release_split(&release.dir.join("nope"), &pinned(&release, &[]));
    assert_eq!(code, 2);
    assert!(stderr.contains("nope: input: does not exist"), "{stderr}");
    let (code, _, stderr) =
        verify_release_split(&release.dir.join("cordon"), &pinned(&release, &[]));
    assert_eq!(code, 2);
    assert!(
        stderr.contains("cordon: input: not a directory"),
        "{stderr}"
    );
}

#[test]
fn every_subcommands_help_lists_the_exit_codes_and_release_names_its_required_root() {
    for subcommand in [
        "checksums",
        "verify-bundle",
        "artifact",
        "release",
        "provenance",
    ] {
        let output = Command::new(verify_bin())
            .args([subcommand, "--help"])
            .output()
            .unwrap();
        let help = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{subcommand}");
        assert!(
            help.contains("Exit codes:") && help.contains("7  integrity"),
            "{subcommand}: {help}"
        );
    }
    for subcommand in ["release", "artifact"] {
        let output = Command::new(verify_bin())
            .args([subcommand, "--help"])
            .output()
            .unwrap();
        let help = String::from_utf8_lossy(&output.stdout);
        assert!(
            help.contains("One of `--pinned-root` or `--trusted-root` is required"),
            "{help}"
        );
        // And clap enforces it.
        let output = Command::new(verify_bin())
            .args([subcommand, "x", "--bundle", "b"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2));
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("--pinned-root"),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn json_into_a_closed_pipe_ends_quietly() {
    let release = build(&Spec::two_binaries(Damage::None));
    // A pipe whose reading end is already closed: every write fails with EPIPE, as when
    // `| head` has read what it wanted.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let output = Command::new(verify_bin())
        .arg("release")
        .arg(&release.dir)
        .args(pinned(&release, &["--json"]))
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(stderr, "");
}
