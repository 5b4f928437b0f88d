//! `cordon-verify release DIR` over release directories the test builds and signs with
//! cordon's own signer and trust root: a good release passes; each kind of damage gets
//! its row and its exit code.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

mod support;

use cordon_release::{InitOptions, LeafIdentity, SignOptions, Signer, TrustDir};
use serde_json::json;
use support::{elf_with_deps, hex_sha256};

const BIN: &str = env!("CARGO_BIN_EXE_cordon-verify");
const SCHEMA: &str = "https://github.com/cordon-dev/cordon/blob/main/docs/release.md#manifest-v1";
const WORKFLOW: &str = "https://github.com/cordon-dev/cordon/.github/workflows/release.yml";
const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Damage {
    None,
    SbomHashWrong,
    ProvenanceMissesBinary,
    Unsigned,
    /// The SBOM lists a crate the binary's embedded `.dep-v0` list does not.
    EmbeddedListDiffers,
    /// The provenance is a plain message-signature bundle, not a DSSE statement.
    ProvenanceNotDsse,
    /// The release archive is listed and signed, but not a provenance subject.
    ProvenanceMissesArchive,
}

const ARCHIVE: &str = "cordon-0.1.0-x86_64-unknown-linux-gnu.tar.gz";

struct Release {
    _temp: tempfile::TempDir,
    dir: PathBuf,
    trust_dir: PathBuf,
    fingerprint: String,
}

fn make_release(damage: Damage) -> Release {
    let temp = tempfile::tempdir().unwrap();
    let trust_dir = temp.path().join("trust");
    let mut options = InitOptions::new("cordon test");
    options.now = SystemTime::now() - Duration::from_secs(86_400);
    cordon_release::init_trust(&trust_dir, &options).unwrap();
    let fingerprint = TrustDir::open(&trust_dir).unwrap().root_fingerprint();
    let identity = LeafIdentity {
        subject: format!("{WORKFLOW}@refs/tags/v0.1.0"),
        issuer: "https://token.actions.githubusercontent.com".to_owned(),
        source_repository: Some("https://github.com/cordon-dev/cordon".to_owned()),
        source_digest: Some(COMMIT.to_owned()),
        source_ref: Some("refs/tags/v0.1.0".to_owned()),
    };
    let signer = Signer::open(&trust_dir, &identity, &SignOptions::default()).unwrap();

    let dir = temp.path().join("0.1.0");
    std::fs::create_dir(&dir).unwrap();
    let write = |name: &str, bytes: &[u8]| {
        std::fs::write(dir.join(name), bytes).unwrap();
        hex_sha256(bytes)
    };
    let binary = elf_with_deps(&dir, "cordon", "cordon-cli", &[("dep-a", "1.0.0")]);
    let other = elf_with_deps(
        &dir,
        "cordon-verify",
        "cordon-verify",
        &[("dep-b", "2.0.0")],
    );
    let sbom_dependency = if damage == Damage::EmbeddedListDiffers {
        ("dep-z", "9.9.9")
    } else {
        ("dep-a", "1.0.0")
    };
    let mut subjects = vec![json!({"name": "cordon", "digest": {"sha256": binary}})];
    if damage != Damage::ProvenanceMissesBinary {
        subjects.push(json!({"name": "cordon-verify", "digest": {"sha256": other}}));
    }
    // Not a real tarball: the verifier hashes archives, it does not open them.
    let archive = write(ARCHIVE, b"archive bytes");
    if damage != Damage::ProvenanceMissesArchive {
        subjects.push(json!({"name": ARCHIVE, "digest": {"sha256": archive}}));
    }
    let statement = json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": subjects,
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {
            "buildDefinition": {
                "buildType": "https://github.com/cordon-dev/cordon/blob/main/docs/slsa.md#build-type-release-v1",
                "externalParameters": {"source": {"repository": "git+https://github.com/cordon-dev/cordon", "ref": "refs/tags/v0.1.0"}},
                "resolvedDependencies": [{"uri": "git+https://github.com/cordon-dev/cordon@refs/tags/v0.1.0", "digest": {"gitCommit": COMMIT}}]
            },
            "runDetails": {"builder": {"id": format!("{WORKFLOW}@refs/tags/v0.1.0")}}
        }
    });
    let provenance_bundle = if damage == Damage::ProvenanceNotDsse {
        let statement_file = temp.path().join("statement.json");
        std::fs::write(&statement_file, statement.to_string()).unwrap();
        signer.sign_blob(&statement_file).unwrap()
    } else {
        signer
            .sign_in_toto(statement.to_string().as_bytes())
            .unwrap()
    };
    let provenance = write("cordon-0.1.0.intoto.jsonl", provenance_bundle.as_bytes());
    let sbom_hash = if damage == Damage::SbomHashWrong {
        "00".repeat(32)
    } else {
        binary.clone()
    };
    let sbom = write(
        "cordon.cdx.json",
        json!({"bomFormat": "CycloneDX", "specVersion": "1.6",
        "metadata": {"component": {"type": "application", "name": "cordon",
            "bom-ref": "pkg:cargo/cordon-cli@0.1.0?bin=cordon",
            "hashes": [{"alg": "SHA-256", "content": sbom_hash}]}},
        "components": [{"type": "library", "name": sbom_dependency.0, "version": sbom_dependency.1,
            "bom-ref": format!("pkg:cargo/{}@{}", sbom_dependency.0, sbom_dependency.1)}],
        "dependencies": [
            {"ref": "pkg:cargo/cordon-cli@0.1.0?bin=cordon",
             "dependsOn": [format!("pkg:cargo/{}@{}", sbom_dependency.0, sbom_dependency.1)]}
        ]})
        .to_string()
        .as_bytes(),
    );
    std::fs::copy(
        trust_dir.join("trusted_root.dsse.json"),
        dir.join("trusted_root.dsse.json"),
    )
    .unwrap();
    let mut files = vec![
        ("cordon", binary, "binary", vec![]),
        ("cordon-verify", other, "binary", vec![]),
        (ARCHIVE, archive, "archive", vec![]),
        (
            "cordon-0.1.0.intoto.jsonl",
            provenance,
            "provenance",
            vec!["cordon", "cordon-verify"],
        ),
        ("cordon.cdx.json", sbom, "sbom", vec!["cordon"]),
    ];
    // The provenance is a DSSE bundle itself: no separate bundle.
    let mut signed: Vec<&str> = files
        .iter()
        .filter(|(_, _, kind, _)| *kind != "provenance")
        .map(|(name, ..)| *name)
        .collect();
    if damage == Damage::Unsigned {
        signed.retain(|name| *name != "cordon-verify");
    }
    let paths: Vec<PathBuf> = signed.iter().map(|name| dir.join(name)).collect();
    let bundles = signer
        .sign_blobs(&paths.iter().map(PathBuf::as_path).collect::<Vec<_>>())
        .unwrap();
    let mut bundle_entries = Vec::new();
    for (name, bundle) in signed.iter().zip(&bundles) {
        let bundle_name = format!("{name}.sigstore.json");
        let digest = write(&bundle_name, bundle.as_bytes());
        bundle_entries.push((bundle_name, digest, *name));
    }
    let mut manifest_files: Vec<serde_json::Value> = files
        .drain(..)
        .map(|(name, sha256, kind, describes)| json!({"name": name, "sha256": sha256, "size": 1, "kind": kind, "describes": describes}))
        .collect();
    for (name, sha256, describes) in &bundle_entries {
        manifest_files.push(json!({"name": name, "sha256": sha256, "size": 1, "kind": "signature", "describes": [describes]}));
    }
    let manifest = json!({
        "schema": SCHEMA, "name": "cordon", "version": "0.1.0",
        "source": {"repository": "git+https://github.com/cordon-dev/cordon", "ref": "refs/tags/v0.1.0", "commit": COMMIT, "dirty": false, "sourceDateEpoch": 0},
        "files": manifest_files, "crates": []
    });
    write("manifest.json", format!("{manifest:#}\n").as_bytes());
    let manifest_bundle = signer.sign_blob(&dir.join("manifest.json")).unwrap();
    write("manifest.json.sigstore.json", manifest_bundle.as_bytes());
    let output = Command::new("sha256sum")
        .current_dir(&dir)
        .args([
            "cordon",
            "cordon-verify",
            ARCHIVE,
            "cordon-0.1.0.intoto.jsonl",
            "cordon.cdx.json",
            "trusted_root.dsse.json",
            "manifest.json",
            "manifest.json.sigstore.json",
        ])
        .args(bundle_entries.iter().map(|(name, ..)| name.as_str()))
        .output()
        .unwrap();
    assert!(output.status.success());
    std::fs::write(dir.join("SHA256SUMS"), &output.stdout).unwrap();
    let sums_bundle = signer.sign_blob(&dir.join("SHA256SUMS")).unwrap();
    std::fs::write(dir.join("SHA256SUMS.sigstore.json"), sums_bundle).unwrap();
    Release {
        _temp: temp,
        dir,
        trust_dir,
        fingerprint,
    }
}

fn verify(dir: &Path, args: &[&str]) -> (i32, String) {
    let (code, stdout, stderr) = verify_split(dir, args);
    (code, format!("{stdout}{stderr}"))
}

/// Runs `cordon-verify release DIR ARGS`: exit code, standard output, standard error.
fn verify_split(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let output: Output = Command::new(BIN)
        .arg("release")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    // Failures go to standard error only, one line each.
    assert!(!stdout.contains("cordon-verify: FAILED"), "{stdout}");
    for line in stderr.lines() {
        assert!(line.starts_with("cordon-verify: FAILED ("), "{stderr}");
    }
    (output.status.code().unwrap(), stdout, stderr)
}

fn pinned<'a>(release: &'a Release, more: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["--pinned-root", release.fingerprint.as_str()];
    args.extend_from_slice(more);
    args
}

#[test]
fn a_good_release_passes_every_check() {
    let release = make_release(Damage::None);
    let (code, text) = verify(
        &release.dir,
        &pinned(
            &release,
            &[
                "--source-uri",
                "github.com/cordon-dev/cordon",
                "--source-tag",
                "v0.1.0",
                "--builder-id",
                WORKFLOW,
                "--deny-extra",
            ],
        ),
    );
    assert_eq!(code, 0, "{text}");
    for needle in [
        "ok      root       trusted_root.dsse.json: signed by the pinned root",
        "ok      sha256     cordon:",
        "ok      signature  cordon: cordon.sigstore.json signed by",
        "ok      signature  SHA256SUMS:",
        "ok      signature  manifest.json:",
        "ok      provenance cordon-0.1.0.intoto.jsonl: SLSA v1",
        "covers 2 binaries and 1 archives",
        "; SLSA Build L1: signed with the release's own CA",
        "ok      sbom       cordon.cdx.json: component hashes match cordon; crates equal the embedded lists of cordon (1 crates)",
        "ok      source     manifest.json: ref refs/tags/v0.1.0",
        "verdict: ok",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from\n{text}");
    }
    let output = Command::new(BIN)
        .arg("release")
        .arg(&release.dir)
        .args(pinned(&release, &["--json"]))
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["verdict"], "ok");
    assert_eq!(report["exitCode"], 0);
    assert!(report["rows"].as_array().unwrap().len() > 15);
}

#[test]
fn each_kind_of_damage_gets_its_exit_code() {
    let release = make_release(Damage::None);
    // Another pinned root: signature class.
    let (code, text) = verify(&release.dir, &["--pinned-root", &"11".repeat(32)]);
    assert_eq!(code, 3, "{text}");
    // The expected builder is someone else: identity, named by the provenance row.
    let (code, text) = verify(
        &release.dir,
        &pinned(
            &release,
            &[
                "--builder-id",
                "https://github.com/evil/x/.github/workflows/r.yml",
            ],
        ),
    );
    assert_eq!(code, 4, "{text}");
    assert!(text.contains("is not the expected builder"), "{text}");
    // --builder-id is the provenance's builder only; the signer is --signer-workflow,
    // exact or by tag pattern.
    let (code, text) = verify(
        &release.dir,
        &pinned(
            &release,
            &[
                "--builder-id",
                &format!("{WORKFLOW}@refs/tags/v0.1.0"),
                "--signer-workflow",
                &format!("{WORKFLOW}@refs/tags/v*"),
            ],
        ),
    );
    assert_eq!(code, 0, "{text}");
    let (code, text) = verify(
        &release.dir,
        &pinned(
            &release,
            &["--signer-workflow", &format!("{WORKFLOW}@refs/tags/v0.2.0")],
        ),
    );
    assert_eq!(code, 4, "{text}");
    assert!(
        text.contains("the signer is not the expected one"),
        "{text}"
    );
    // Another tag: provenance policy.
    let (code, text) = verify(&release.dir, &pinned(&release, &["--source-tag", "v9.9.9"]));
    assert_eq!(code, 5, "{text}");
    assert!(text.contains("not from refs/tags/v9.9.9"), "{text}");
    // Extra files: reported, failing only with --deny-extra; an escaping symlink always fails.
    std::fs::write(release.dir.join("README.txt"), b"hi").unwrap();
    let (code, text) = verify(&release.dir, &pinned(&release, &[]));
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("README.txt: extra"), "{text}");
    let (code, _) = verify(&release.dir, &pinned(&release, &["--deny-extra"]));
    assert_eq!(code, 7);
    std::os::unix::fs::symlink("/etc/passwd", release.dir.join("passwd")).unwrap();
    let (code, text) = verify(&release.dir, &pinned(&release, &[]));
    assert_eq!(code, 7, "{text}");
    assert!(text.contains("points outside the directory"), "{text}");
    // A changed binary: integrity.
    std::fs::remove_file(release.dir.join("passwd")).unwrap();
    std::fs::write(release.dir.join("cordon"), b"trojan").unwrap();
    let (code, text) = verify(&release.dir, &pinned(&release, &[]));
    assert_eq!(code, 7, "{text}");
    assert!(
        text.contains("cordon-verify: FAILED (integrity): cordon: sha256: sha256 is"),
        "{text}"
    );
    // A missing listed file: integrity; a missing manifest signature list: still one row each.
    std::fs::remove_file(release.dir.join("cordon-verify")).unwrap();
    let (code, text) = verify(&release.dir, &pinned(&release, &[]));
    assert_eq!(code, 7, "{text}");
    assert!(
        text.contains("FAILED (integrity): cordon-verify: sha256: listed but absent"),
        "{text}"
    );
}

#[test]
fn sbom_provenance_and_unsigned_files_are_caught_even_when_consistently_signed() {
    let (code, text) = {
        let release = make_release(Damage::SbomHashWrong);
        verify(&release.dir, &pinned(&release, &[]))
    };
    assert_eq!(code, 6, "{text}");
    assert!(
        text.contains("its component for cordon has SHA-256"),
        "{text}"
    );
    let (code, text) = {
        let release = make_release(Damage::ProvenanceMissesBinary);
        verify(&release.dir, &pinned(&release, &[]))
    };
    assert_eq!(code, 5, "{text}");
    assert!(text.contains("does not cover cordon-verify"), "{text}");
    let (code, text) = {
        let release = make_release(Damage::ProvenanceMissesArchive);
        verify(&release.dir, &pinned(&release, &[]))
    };
    assert_eq!(code, 5, "{text}");
    assert!(
        text.contains(&format!("does not cover {ARCHIVE}")),
        "{text}"
    );
    let (code, text) = {
        let release = make_release(Damage::Unsigned);
        verify(&release.dir, &pinned(&release, &[]))
    };
    assert_eq!(code, 3, "{text}");
    assert!(text.contains("the file is unsigned"), "{text}");
    let (code, text) = {
        let release = make_release(Damage::EmbeddedListDiffers);
        verify(&release.dir, &pinned(&release, &[]))
    };
    assert_eq!(code, 6, "{text}");
    assert!(
        text.contains(
            "its crates for cordon differ from the list embedded in the binary: \
             1 missing from the SBOM (dep-a@1.0.0), 1 not in the binary (dep-z@9.9.9)"
        ),
        "{text}"
    );
}

#[test]
fn bad_input_is_reported_not_panicked_on() {
    let release = make_release(Damage::None);
    let (code, text) = verify(&release.dir.join("absent"), &pinned(&release, &[]));
    assert_eq!(code, 2, "{text}");
    let (code, _) = verify(&release.dir, &["--pinned-root", "nothex"]);
    assert_eq!(code, 2);
    std::fs::write(release.dir.join("SHA256SUMS"), "garbage\n").unwrap();
    let (code, text) = verify(&release.dir, &pinned(&release, &["--json"]));
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("\"class\": \"bad-input\""), "{text}");
}

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
    let release = make_release(Damage::None);
    let binary = release.dir.join("cordon");
    let mut bytes = std::fs::read(&binary).unwrap();
    bytes[100] ^= 0x01;
    std::fs::write(&binary, bytes).unwrap();
    let (code, stdout, stderr) = verify_split(&release.dir, &pinned(&release, &[]));
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
        rows(&stdout, "skipped", "sbom", "cordon.cdx.json"),
        [
            "skipped sbom       cordon.cdx.json: it describes only cordon, which failed its sha256 check (reported above)"
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
    let release = make_release(Damage::None);
    std::fs::remove_file(release.dir.join("cordon.sigstore.json")).unwrap();
    let (code, stdout, stderr) = verify_split(&release.dir, &pinned(&release, &[]));
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
    let release = make_release(Damage::None);
    let other = make_release(Damage::None);
    let other_root = other.trust_dir.join("trusted_root.json");
    let (code, stdout, stderr) = verify_split(
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
    let release = make_release(Damage::ProvenanceNotDsse);
    let (code, _, stderr) = verify_split(&release.dir, &pinned(&release, &[]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("not a DSSE in-toto statement"), "{stderr}");
    let output = Command::new(BIN)
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
    let release = make_release(Damage::None);
    let (code, _, stderr) = verify_split(&release.dir.join("nope"), &pinned(&release, &[]));
    assert_eq!(code, 2);
    assert!(stderr.contains("nope: input: does not exist"), "{stderr}");
    let (code, _, stderr) = verify_split(&release.dir.join("cordon"), &pinned(&release, &[]));
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
        let output = Command::new(BIN)
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
        let output = Command::new(BIN)
            .args([subcommand, "--help"])
            .output()
            .unwrap();
        let help = String::from_utf8_lossy(&output.stdout);
        assert!(
            help.contains("One of `--pinned-root` or `--trusted-root` is required"),
            "{help}"
        );
        // And clap enforces it.
        let output = Command::new(BIN)
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
    let release = make_release(Damage::None);
    // A pipe whose reading end is already closed: every write fails with EPIPE, as when
    // `| head` has read what it wanted.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let output = Command::new(BIN)
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

#[test]
fn the_root_state_file_refuses_a_rolled_back_trusted_root() {
    let release = make_release(Damage::None);
    let state = release.dir.parent().unwrap().join("state/roots.json");
    let state_arg = state.to_str().unwrap();
    let (code, text) = verify(
        &release.dir,
        &pinned(&release, &["--root-state", state_arg]),
    );
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("version 1 (first seen; recorded)"), "{text}");
    // A newer root (version 5) was accepted before: this one is a rollback.
    std::fs::write(
        &state,
        json!({"roots": {release.fingerprint.as_str(): {"version": 5, "acceptedAt": "2026-01-01T00:00:00Z"}}})
            .to_string(),
    )
    .unwrap();
    let (code, text) = verify(
        &release.dir,
        &pinned(&release, &["--root-state", state_arg]),
    );
    assert_eq!(code, 3, "{text}");
    assert!(
        text.contains("rollback: this trusted root is version 1, older than version 5"),
        "{text}"
    );
    // The publisher rotates (version 2): the newer signed root verifies the old release
    // and is recorded; the release's own version 1 is then a rollback.
    std::fs::remove_file(&state).unwrap();
    let mut trust = TrustDir::open(&release.trust_dir).unwrap();
    trust
        .issue_release_ca(SystemTime::now(), Duration::from_secs(86_400))
        .unwrap();
    let newer = release.trust_dir.join("trusted_root.dsse.json");
    let (code, text) = verify(
        &release.dir,
        &pinned(
            &release,
            &[
                "--root-state",
                state_arg,
                "--signed-root",
                newer.to_str().unwrap(),
            ],
        ),
    );
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("version 2 (first seen; recorded)"), "{text}");
    let (code, text) = verify(
        &release.dir,
        &pinned(&release, &["--root-state", state_arg]),
    );
    assert_eq!(code, 3, "{text}");
    assert!(text.contains("version 1, older than version 2"), "{text}");
    // Without a pinned root there is nothing to key the record on.
    let (code, text) = verify(
        &release.dir,
        &[
            "--trusted-root",
            release
                .trust_dir
                .join("trusted_root.json")
                .to_str()
                .unwrap(),
            "--root-state",
            state_arg,
        ],
    );
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("--root-state keeps versions per pinned root"),
        "{text}"
    );
}
