//! `cordon-verify release DIR` over release directories the test builds and signs with
//! cordon's own signer and trust root (`support::build`): a good release passes; each kind
//! of damage gets its row and its exit code; a rolled-back trusted root is refused.
//! How failures are reported (once, at their root) is `release_cli_reporting.rs`.

use std::process::Command;
use std::time::{Duration, SystemTime};

mod support;

use cordon_release::TrustDir;
use serde_json::json;
use support::{ARCHIVE, Damage, Spec, WORKFLOW, build, pinned, verify_bin, verify_release};

#[test]
fn a_good_release_passes_every_check() {
    let release = build(&Spec::two_binaries(Damage::None));
    let (code, text) = verify_release(
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
        "ok      sbom       cordon-0.1.0.cdx.json: component hashes match cordon; crates equal the embedded lists of cordon (1 crates)",
        "ok      source     manifest.json: ref refs/tags/v0.1.0",
        "verdict: ok",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from\n{text}");
    }
    let output = Command::new(verify_bin())
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
    let release = build(&Spec::two_binaries(Damage::None));
    // Another pinned root: signature class.
    let (code, text) = verify_release(&release.dir, &["--pinned-root", &"11".repeat(32)]);
    assert_eq!(code, 3, "{text}");
    // The expected builder is someone else: identity, named by the provenance row.
    let (code, text) = verify_release(
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
    let (code, text) = verify_release(
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
    let (code, text) = verify_release(
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
    let (code, text) = verify_release(&release.dir, &pinned(&release, &["--source-tag", "v9.9.9"]));
    assert_eq!(code, 5, "{text}");
    assert!(text.contains("not from refs/tags/v9.9.9"), "{text}");
    // Extra files: reported, failing only with --deny-extra; an escaping symlink always fails.
    std::fs::write(release.dir.join("README.txt"), b"hi").unwrap();
    let (code, text) = verify_release(&release.dir, &pinned(&release, &[]));
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("README.txt: extra"), "{text}");
    let (code, _) = verify_release(&release.dir, &pinned(&release, &["--deny-extra"]));
    assert_eq!(code, 7);
    std::os::unix::fs::symlink("/etc/passwd", release.dir.join("passwd")).unwrap();
    let (code, text) = verify_release(&release.dir, &pinned(&release, &[]));
    assert_eq!(code, 7, "{text}");
    assert!(text.contains("points outside the directory"), "{text}");
    // A changed binary: integrity.
    std::fs::remove_file(release.dir.join("passwd")).unwrap();
    std::fs::write(release.dir.join("cordon"), b"trojan").unwrap();
    let (code, text) = verify_release(&release.dir, &pinned(&release, &[]));
    assert_eq!(code, 7, "{text}");
    assert!(
        text.contains("cordon-verify: FAILED (integrity): cordon: sha256: sha256 is"),
        "{text}"
    );
    // A missing listed file: integrity; a missing manifest signature list: still one row each.
    std::fs::remove_file(release.dir.join("cordon-verify")).unwrap();
    let (code, text) = verify_release(&release.dir, &pinned(&release, &[]));
    assert_eq!(code, 7, "{text}");
    assert!(
        text.contains("FAILED (integrity): cordon-verify: sha256: listed but absent"),
        "{text}"
    );
}

#[test]
fn sbom_provenance_and_unsigned_files_are_caught_even_when_consistently_signed() {
    let (code, text) = {
        let release = build(&Spec::two_binaries(Damage::SbomHashWrong));
        verify_release(&release.dir, &pinned(&release, &[]))
    };
    assert_eq!(code, 6, "{text}");
    assert!(
        text.contains("its component for cordon has SHA-256"),
        "{text}"
    );
    let (code, text) = {
        let release = build(&Spec::two_binaries(Damage::ProvenanceMissesBinary));
        verify_release(&release.dir, &pinned(&release, &[]))
    };
    assert_eq!(code, 5, "{text}");
    assert!(text.contains("does not cover cordon-verify"), "{text}");
    let (code, text) = {
        let release = build(&Spec::two_binaries(Damage::ProvenanceMissesArchive));
        verify_release(&release.dir, &pinned(&release, &[]))
    };
    assert_eq!(code, 5, "{text}");
    assert!(
        text.contains(&format!("does not cover {ARCHIVE}")),
        "{text}"
    );
    let (code, text) = {
        let release = build(&Spec::two_binaries(Damage::Unsigned));
        verify_release(&release.dir, &pinned(&release, &[]))
    };
    assert_eq!(code, 3, "{text}");
    assert!(text.contains("the file is unsigned"), "{text}");
    let (code, text) = {
        let release = build(&Spec::two_binaries(Damage::EmbeddedListDiffers));
        verify_release(&release.dir, &pinned(&release, &[]))
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
    let release = build(&Spec::two_binaries(Damage::None));
    let (code, text) = verify_release(&release.dir.join("absent"), &pinned(&release, &[]));
    assert_eq!(code, 2, "{text}");
    let (code, _) = verify_release(&release.dir, &["--pinned-root", "nothex"]);
    assert_eq!(code, 2);
    std::fs::write(release.dir.join("SHA256SUMS"), "garbage\n").unwrap();
    let (code, text) = verify_release(&release.dir, &pinned(&release, &["--json"]));
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("\"class\": \"bad-input\""), "{text}");
}

#[test]
fn the_root_state_file_refuses_a_rolled_back_trusted_root() {
    let release = build(&Spec::two_binaries(Damage::None));
    let state = release.dir.parent().unwrap().join("state/roots.json");
    let state_arg = state.to_str().unwrap();
    let (code, text) = verify_release(
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
    let (code, text) = verify_release(
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
    let (code, text) = verify_release(
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
    let (code, text) = verify_release(
        &release.dir,
        &pinned(&release, &["--root-state", state_arg]),
    );
    assert_eq!(code, 3, "{text}");
    assert!(text.contains("version 1, older than version 2"), "{text}");
    // Without a pinned root there is nothing to key the record on.
    let (code, text) = verify_release(
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
