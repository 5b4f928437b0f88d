//! `cordon-verify provenance` on real third-party provenance (slsa-verifier's test data,
//! `tests/data/third_party/`): each file is accepted with the flags that describe it,
//! reports the SLSA Build level it proves, and is rejected — with the exit code and the
//! reason named — when the source repository, ref, builder or signer workflow is not
//! the expected one. Offline: the files carry their Rekor SETs and proofs and chain to
//! the public-good root embedded in the binary.
#![allow(clippy::unwrap_used)]

mod slsa_data;

use std::process::{Command, Output};

use slsa_data::{BIN, data, provenance};

const EXAMPLE: &str = "github.com/slsa-framework/example-package";
const GENERATOR: &str =
    "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/";
/// The sha256 of slsa-verifier's gha_generic v2.1.0 binary (1.4 MB, not copied).
const GENERIC_V14: &str = "sha256:376e7e01348585b6e6643bc6663146b9d525d9b41228bf180eaeb4d4a3706caa";
/// The sha256 of its gha_generic v2.0.0 binary, the subject of `valid-v0.3`.
const GENERIC_V200: &str =
    "sha256:2892146b063a94cb4a4318c0e98d38af12dcf2b1e29237486b58463b59607bbd";

/// Asserts success at `level`; returns the line.
fn accepted(output: &Output, level: u8) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!("SLSA Build L{level} ")),
        "not L{level}: {stdout}"
    );
    stdout
}

/// Asserts one failure line with exit `code` containing `reason`.
fn rejected(output: &Output, code: i32, reason: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(code), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(reason), "{reason:?} not in {stderr}");
}

#[test]
fn generic_generator_bundle_v0_3_statement_v0_1_slsa_v0_2() {
    let file = "gha_generic/v2.1.0/binary-linux-amd64-push-v14.intoto.jsonl";
    let line = accepted(
        &provenance(
            GENERIC_V14,
            file,
            &["--source-uri", EXAMPLE, "--source-tag", "v14"],
        ),
        3,
    );
    assert!(
        line.contains("commit 4d329c75e7ec1725f7c9ce917a8799d408d06be3"),
        "{line}"
    );
    accepted(
        &provenance(
            GENERIC_V14,
            file,
            &[
                "--source-uri",
                EXAMPLE,
                "--min-level",
                "3",
                "--trigger",
                "push",
                "--source-commit",
                "4d329c75e7ec1725f7c9ce917a8799d408d06be3",
                "--builder-id",
                &format!("{GENERATOR}generator_generic_slsa3.yml@refs/tags/v2.1.0"),
            ],
        ),
        3,
    );
    rejected(
        &provenance(
            GENERIC_V14,
            file,
            &["--source-uri", "github.com/slsa-framework/other"],
        ),
        5,
        "is not the expected https://github.com/slsa-framework/other",
    );
    rejected(
        &provenance(
            GENERIC_V14,
            file,
            &["--source-uri", EXAMPLE, "--source-tag", "v13"],
        ),
        5,
        "not from the expected tag \"refs/tags/v13\"",
    );
    rejected(
        &provenance(
            GENERIC_V14,
            file,
            &["--source-uri", EXAMPLE, "--source-branch", "main"],
        ),
        5,
        "not from the expected branch \"refs/heads/main\"",
    );
    rejected(
        &provenance(
            GENERIC_V14,
            file,
            &["--source-uri", EXAMPLE, "--trigger", "release"],
        ),
        5,
        "triggered by \"push\"",
    );
    rejected(
        &provenance(
            GENERIC_V14,
            file,
            &["--source-uri", EXAMPLE, "--source-commit", "0"],
        ),
        5,
        "not from the expected 0",
    );
    rejected(
        &provenance(
            GENERIC_V14,
            file,
            &[
                "--source-uri",
                EXAMPLE,
                "--builder-id",
                &format!("{GENERATOR}builder_go_slsa3.yml"),
            ],
        ),
        4,
        "is not the expected builder",
    );
    rejected(
        &provenance(
            GENERIC_V14,
            file,
            &[
                "--source-uri",
                EXAMPLE,
                "--signer-workflow",
                &format!("{GENERATOR}generator_generic_slsa3.yml@refs/tags/v1.*"),
            ],
        ),
        4,
        "not by the expected signer",
    );
    // Another artifact: the subject does not match (integrity).
    rejected(
        &provenance(GENERIC_V200, file, &["--source-uri", EXAMPLE]),
        7,
        "artifact hash does not match any subject",
    );
}

#[test]
fn byob_delegator_signs_for_the_trusted_reusable_workflow() {
    let artifact = "gha_delegator/v2.1.0/binary-linux-amd64-push-v14";
    let file = "gha_delegator/v2.1.0/binary-linux-amd64-push-v14.build.slsa";
    let trw = "https://github.com/slsa-framework/example-trw/.github/workflows/builder_high-perms_slsa3.yml";
    // The signer is the delegator, the builder the TRW: --builder-id names the TRW.
    let line = accepted(
        &provenance(
            artifact,
            file,
            &[
                "--source-uri",
                EXAMPLE,
                "--builder-id",
                trw,
                "--source-tag",
                "v14",
            ],
        ),
        3,
    );
    assert!(line.contains("signed by https://github.com/slsa-framework/slsa-github-generator/.github/workflows/delegator_generic_slsa3.yml@refs/tags/v2.1.0"), "{line}");
    // Unnamed TRW: accepted (as slsa-verifier does) but only L2.
    accepted(&provenance(artifact, file, &["--source-uri", EXAMPLE]), 2);
    rejected(
        &provenance(
            artifact,
            file,
            &["--source-uri", EXAMPLE, "--min-level", "3"],
        ),
        5,
        "below the required L3",
    );
    // Before the split, --builder-id had to match the signer too: that is gone, but a
    // wrong builder is still refused.
    rejected(
        &provenance(
            artifact,
            file,
            &[
                "--source-uri",
                EXAMPLE,
                "--builder-id",
                &format!("{GENERATOR}delegator_generic_slsa3.yml"),
            ],
        ),
        4,
        "is not the expected builder",
    );
    rejected(
        &provenance(
            artifact,
            file,
            &[
                "--source-uri",
                "github.com/slsa-framework/example-trw",
                "--builder-id",
                trw,
            ],
        ),
        5,
        "is not the expected https://github.com/slsa-framework/example-trw",
    );
}

#[test]
fn maven_and_gradle_builders_behind_the_low_permission_delegator() {
    for (kind, builder) in [
        ("maven", "builder_maven_slsa3.yml"),
        ("gradle", "builder_gradle_slsa3.yml"),
    ] {
        let artifact = format!("gha_{kind}/v2.1.0/binary-linux-amd64-push-v14");
        let file = format!("{artifact}.build.slsa");
        let builder_id = format!("{GENERATOR}{builder}");
        accepted(
            &provenance(
                &artifact,
                &file,
                &["--source-uri", EXAMPLE, "--builder-id", &builder_id],
            ),
            3,
        );
        // slsa-github-generator's own builders count as named without the flag.
        accepted(
            &provenance(
                &artifact,
                &file,
                &["--source-uri", EXAMPLE, "--source-tag", "v14"],
            ),
            3,
        );
        rejected(
            &provenance(
                &artifact,
                &file,
                &[
                    "--source-uri",
                    EXAMPLE,
                    "--builder-id",
                    &format!("{builder_id}@refs/tags/v2.0.0"),
                ],
            ),
            4,
            "is not the expected builder",
        );
        rejected(
            &provenance(
                &artifact,
                &file,
                &["--source-uri", EXAMPLE, "--source-branch", "main"],
            ),
            5,
            "not from the expected branch",
        );
    }
}

#[test]
fn container_based_builder() {
    let artifact = "gha_container-based/v2.1.0/binary-linux-amd64-push-v14";
    let file = format!("{artifact}.intoto.build.slsa");
    accepted(&provenance(artifact, &file, &["--source-uri", EXAMPLE]), 3);
    rejected(
        &provenance(
            artifact,
            &file,
            &[
                "--source-uri",
                EXAMPLE,
                "--signer-workflow",
                &format!("{GENERATOR}generator_generic_slsa3.yml@*"),
            ],
        ),
        4,
        "not by the expected signer",
    );
}

#[test]
fn npm_provenance_is_signed_by_the_publish_workflow_and_built_by_the_runner() {
    let artifact = "npm/gha/provenance-npm-test-cli-v1-prega.tgz";
    let file = "npm/gha/provenance-npm-test-cli-v1-prega.tgz.json";
    let sigstore_js = "github.com/sigstore/sigstore-js";
    let line = accepted(
        &provenance(
            artifact,
            file,
            &[
                "--source-uri",
                sigstore_js,
                "--source-branch",
                "main",
                "--builder-id",
                "https://github.com/actions/runner/github-hosted",
            ],
        ),
        2,
    );
    assert!(
        line.contains("publish attestation"),
        "the unchecked npm attestation is named: {line}"
    );
    // verify-npm-package's package name and version: the subject's purl.
    accepted(
        &provenance(
            artifact,
            file,
            &[
                "--source-uri",
                sigstore_js,
                "--package-name",
                "sigstore",
                "--package-version",
                "2.3.1",
            ],
        ),
        2,
    );
    rejected(
        &provenance(
            artifact,
            file,
            &[
                "--source-uri",
                sigstore_js,
                "--package-name",
                "sigstore",
                "--package-version",
                "2.3.2",
            ],
        ),
        5,
        "not the package pkg:npm/sigstore@2.3.2",
    );
    // The publishing workflow pinned, by pattern.
    accepted(
        &provenance(
            artifact,
            file,
            &[
                "--source-uri",
                sigstore_js,
                "--signer-workflow",
                "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/*",
            ],
        ),
        2,
    );
    rejected(
        &provenance(
            artifact,
            file,
            &["--source-uri", sigstore_js, "--source-tag", "v2.3.1"],
        ),
        5,
        "not from the expected tag",
    );
    rejected(
        &provenance(
            artifact,
            file,
            &[
                "--source-uri",
                sigstore_js,
                "--signer-workflow",
                "https://github.com/sigstore/sigstore-js/.github/workflows/publish.yml@*",
            ],
        ),
        4,
        "not by the expected signer",
    );
    // Another repository's package: its workflow is not trusted for this source.
    rejected(
        &provenance(
            artifact,
            file,
            &["--source-uri", "github.com/sigstore/sigstore-python"],
        ),
        4,
        "nor a workflow of https://github.com/sigstore/sigstore-python",
    );
    rejected(
        &provenance(
            artifact,
            file,
            &["--source-uri", sigstore_js, "--min-level", "3"],
        ),
        5,
        "below the required L3",
    );
    // A broken signature in the provenance bundle.
    rejected(
        &provenance(
            artifact,
            "npm/gha/provenance-npm-test-cli-v1-prega-invalidsigprov.tgz.json",
            &["--source-uri", sigstore_js],
        ),
        3,
        "signature",
    );
    // SLSA v0.2 in a bundle v0.1 (npm's first format), builder `actions/runner`.
    accepted(
        &provenance(
            "npm/gha/supreme-googles-cli-v02-tag.tgz",
            "npm/gha/supreme-googles-cli-v02-tag.tgz.json",
            &[
                "--source-uri",
                "github.com/trishankatdatadog/supreme-goggles",
                "--source-tag",
                "v1.0.5",
                "--trigger",
                "release",
            ],
        ),
        2,
    );
    // The wrong package for the provenance.
    rejected(
        &provenance(
            "npm/gha/supreme-googles-cli-v02-tag.tgz",
            file,
            &["--source-uri", sigstore_js],
        ),
        7,
        "does not match any subject",
    );
}

#[test]
fn github_artifact_attestation_from_a_reusable_workflow() {
    let rules_lint = "github.com/aspect-build/rules_lint";
    let publish = "https://github.com/bazel-contrib/publish-to-bcr/.github/workflows/publish.yaml";
    let file = "bcr/MODULE.bazel.intoto.jsonl";
    accepted(
        &provenance(
            "bcr/MODULE.bazel",
            file,
            &[
                "--source-uri",
                rules_lint,
                "--builder-id",
                publish,
                "--source-branch",
                "publish-to-bcr",
            ],
        ),
        3,
    );
    accepted(
        &provenance(
            "bcr/MODULE.bazel",
            file,
            &[
                "--source-uri",
                rules_lint,
                "--signer-workflow",
                &format!("{publish}@refs/tags/v*"),
            ],
        ),
        3,
    );
    // Without naming it, another repository's workflow is not trusted.
    rejected(
        &provenance("bcr/MODULE.bazel", file, &["--source-uri", rules_lint]),
        4,
        "pass --signer-workflow",
    );
    // The same statement signed by another repository's workflow.
    rejected(
        &provenance(
            "bcr/MODULE.bazel",
            "bcr/MODULE-wrong-signer.bazel.intoto.jsonl",
            &["--source-uri", rules_lint, "--builder-id", publish],
        ),
        4,
        "signed by workflow \"https://github.com/loosebazooka/aa-test/",
    );
}

#[test]
fn branch_builds_of_the_generator_need_the_signer_named() {
    let file = "gha_bundle/valid-v0.3.intoto.sigstore";
    rejected(
        &provenance(GENERIC_V200, file, &["--source-uri", EXAMPLE]),
        4,
        "neither a trusted slsa-github-generator builder at a release tag",
    );
    accepted(
        &provenance(
            GENERIC_V200,
            file,
            &[
                "--source-uri",
                EXAMPLE,
                "--source-branch",
                "main",
                "--signer-workflow",
                &format!("{GENERATOR}generator_generic_slsa3.yml@refs/heads/main"),
            ],
        ),
        3,
    );
}

#[test]
fn old_formats_are_read_or_refused_with_the_reason() {
    // Bundle v0.1 (SET only): the signature verifies, then the draft predicate is refused.
    rejected(
        &provenance(
            "sha256:975a0582b8c9607f3f20a6b8cfef01b25823e68c5c3658e6e1ccaaced2a3255d",
            "gha_bundle/valid.intoto.sigstore",
            &[
                "--source-uri",
                "github.com/slsa-framework/slsa-github-generator",
            ],
        ),
        5,
        "is not SLSA provenance",
    );
    // A bare DSSE envelope needs its Rekor entry, which only an online lookup finds.
    rejected(
        &provenance(
            "binary-linux-amd64-multi-subject-first",
            "binary-linux-amd64-multi-subject-first.intoto.jsonl",
            &["--source-uri", EXAMPLE],
        ),
        2,
        "carries no transparency-log entry",
    );
}

#[test]
fn a_github_identity_is_believed_only_from_fulcio() {
    // The public-good root with its Fulcio CAs under another name: the same chain, but
    // the root no longer says the CA is a Fulcio.
    let mut root: serde_json::Value =
        serde_json::from_str(sigstore_verify::trust_root::SIGSTORE_PRODUCTION_TRUSTED_ROOT)
            .unwrap();
    for ca in root["certificateAuthorities"].as_array_mut().unwrap() {
        ca["uri"] = serde_json::json!("https://ca.example.test");
    }
    let dir = tempfile::tempdir().unwrap();
    let root_file = dir.path().join("trusted_root.json");
    std::fs::write(&root_file, root.to_string()).unwrap();
    let root_file = root_file.to_str().unwrap();
    let flags = [
        "--source-uri",
        "github.com/aspect-build/rules_lint",
        "--builder-id",
        "https://github.com/bazel-contrib/publish-to-bcr/.github/workflows/publish.yaml",
        "--trusted-root",
        root_file,
    ];
    rejected(
        &provenance("bcr/MODULE.bazel", "bcr/MODULE.bazel.intoto.jsonl", &flags),
        4,
        "not by a Fulcio instance",
    );
    let mut named = flags.to_vec();
    named.extend(["--fulcio-uri", "https://ca.example.test"]);
    accepted(
        &provenance("bcr/MODULE.bazel", "bcr/MODULE.bazel.intoto.jsonl", &named),
        3,
    );
}

#[test]
fn json_lines_use_the_bundle_about_the_artifact() {
    // Two attestations in one file, as `gh attestation download` writes them: the
    // generic generator's (another artifact) first, then the delegator's.
    let dir = tempfile::tempdir().unwrap();
    let lines = dir.path().join("attestations.jsonl");
    let read = |name: &str| std::fs::read_to_string(data(name)).unwrap();
    std::fs::write(
        &lines,
        format!(
            "{}\n{}\n",
            read("gha_generic/v2.1.0/binary-linux-amd64-push-v14.intoto.jsonl").trim(),
            read("gha_delegator/v2.1.0/binary-linux-amd64-push-v14.build.slsa").trim()
        ),
    )
    .unwrap();
    let run = |flags: &[&str]| {
        Command::new(BIN)
            .arg("provenance")
            .arg(data("gha_delegator/v2.1.0/binary-linux-amd64-push-v14"))
            .arg("--provenance")
            .arg(&lines)
            .args(flags)
            .output()
            .unwrap()
    };
    let line = accepted(&run(&["--source-uri", EXAMPLE]), 2);
    assert!(line.contains("delegator_generic_slsa3.yml"), "{line}");
    // A failing policy is reported for the bundle about this artifact, not as the other
    // bundle's subject mismatch.
    rejected(
        &run(&["--source-uri", EXAMPLE, "--source-tag", "v13"]),
        5,
        "not from the expected tag",
    );
}
