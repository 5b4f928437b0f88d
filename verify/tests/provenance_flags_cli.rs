//! `cordon-verify provenance --source-versioned-tag` and `--build-workflow-input` on
//! slsa-verifier's real test data (`tests/data/third_party/`, offline): the generic
//! generator's and the BYOB delegator's `v14` builds match the versioned tags
//! slsa-verifier accepts for them and no others; a branch build matches no versioned
//! tag; and workflow inputs are refused, with the reason, on push-triggered builds,
//! which record none. (The matching of inputs themselves is unit-tested on both
//! predicate layouts in `provenance/flags.rs`: no workflow_dispatch build is in the
//! stored data.)
#![allow(clippy::unwrap_used)]

mod slsa_data;

use std::process::Output;

use slsa_data::provenance;

const EXAMPLE: &str = "github.com/slsa-framework/example-package";
/// The sha256 of slsa-verifier's gha_generic v2.1.0 binary (not copied).
const GENERIC_V14: &str = "sha256:376e7e01348585b6e6643bc6663146b9d525d9b41228bf180eaeb4d4a3706caa";
const GENERIC_FILE: &str = "gha_generic/v2.1.0/binary-linux-amd64-push-v14.intoto.jsonl";
const DELEGATOR: &str = "gha_delegator/v2.1.0/binary-linux-amd64-push-v14";

fn accepted(output: &Output) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}{stderr}");
}

fn rejected(output: &Output, code: i32, reason: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(code), "{stderr}");
    assert!(stderr.contains(reason), "{reason:?} not in {stderr}");
}

#[test]
fn versioned_tags_on_the_generic_generator_and_the_delegator() {
    let delegator_file = format!("{DELEGATOR}.build.slsa");
    for (artifact, file) in [(GENERIC_V14, GENERIC_FILE), (DELEGATOR, &delegator_file)] {
        for tag in ["v14", "v14.0", "v14.0.0"] {
            accepted(&provenance(
                artifact,
                file,
                &["--source-uri", EXAMPLE, "--source-versioned-tag", tag],
            ));
        }
        for (tag, reason) in [
            ("v13", "major version 14, not the 13"),
            ("v14.1", "minor version 0, not the 1"),
            ("v14.0.1", "patch version 0, not the 1"),
        ] {
            rejected(
                &provenance(
                    artifact,
                    file,
                    &["--source-uri", EXAMPLE, "--source-versioned-tag", tag],
                ),
                5,
                reason,
            );
        }
    }
    rejected(
        &provenance(
            GENERIC_V14,
            GENERIC_FILE,
            &["--source-uri", EXAMPLE, "--source-versioned-tag", "14"],
        ),
        2,
        "is not a semantic version",
    );
    // With --source-tag it is one ref too many (clap refuses the pair).
    rejected(
        &provenance(
            GENERIC_V14,
            GENERIC_FILE,
            &[
                "--source-uri",
                EXAMPLE,
                "--source-versioned-tag",
                "v14",
                "--source-tag",
                "v14",
            ],
        ),
        2,
        "cannot be used with",
    );
    // A branch build matches no versioned tag.
    rejected(
        &provenance(
            "bcr/MODULE.bazel",
            "bcr/MODULE.bazel.intoto.jsonl",
            &[
                "--source-uri",
                "github.com/aspect-build/rules_lint",
                "--builder-id",
                "https://github.com/bazel-contrib/publish-to-bcr/.github/workflows/publish.yaml",
                "--source-versioned-tag",
                "v1",
            ],
        ),
        5,
        "built from \"refs/heads/publish-to-bcr\", not from a tag",
    );
}

#[test]
fn workflow_inputs_are_refused_on_builds_that_record_none() {
    let delegator_file = format!("{DELEGATOR}.build.slsa");
    for (artifact, file) in [(GENERIC_V14, GENERIC_FILE), (DELEGATOR, &delegator_file)] {
        rejected(
            &provenance(
                artifact,
                file,
                &[
                    "--source-uri",
                    EXAMPLE,
                    "--build-workflow-input",
                    "release=true",
                ],
            ),
            5,
            "records no workflow inputs (the build was triggered by \"push\"",
        );
    }
    rejected(
        &provenance(
            GENERIC_V14,
            GENERIC_FILE,
            &["--source-uri", EXAMPLE, "--build-workflow-input", "release"],
        ),
        2,
        "is not KEY=VALUE",
    );
}
