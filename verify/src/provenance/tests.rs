//! Unit tests of the provenance policy over hand-written statements (the real
//! third-party statements are tested end to end in `verify/tests/provenance_cli.rs`).

use super::*;
use cordon_format::names::SLSA_PROVENANCE_V1 as SLSA_V1;
use serde_json::{Value, json};

const BUILDER: &str = "https://github.com/example/.github/.github/workflows/release.yml";
const COMMIT: &str = "8f70009fde0c94ade6ce2a054b94718c819126ec";

fn signer() -> SignerClaims {
    SignerClaims {
        issuer: Some(GITHUB_ACTIONS_ISSUER.to_owned()),
        identity: Some(format!("{BUILDER}@refs/tags/v1.0.0")),
        source_repository_uri: Some("https://github.com/example/tool".to_owned()),
        source_repository_ref: Some("refs/tags/v2.0.0".to_owned()),
        source_repository_digest: Some(COMMIT.to_owned()),
        build_signer_uri: Some(format!("{BUILDER}@refs/tags/v1.0.0")),
        runner_environment: Some("github-hosted".to_owned()),
        build_trigger: Some("push".to_owned()),
    }
}

fn statement() -> Value {
    json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "tool", "digest": {"sha256": "00".repeat(32)}}],
        "predicateType": SLSA_V1,
        "predicate": {
            "buildDefinition": {
                "buildType": "https://actions.github.io/buildtypes/workflow/v1",
                "externalParameters": {"workflow": {
                    "ref": "refs/tags/v2.0.0",
                    "repository": "https://github.com/example/tool",
                    "path": ".github/workflows/release.yml"
                }},
                "resolvedDependencies": [{
                    "uri": "git+https://github.com/example/tool@refs/tags/v2.0.0",
                    "digest": {"gitCommit": COMMIT}
                }]
            },
            "runDetails": {"builder": {"id": format!("{BUILDER}@refs/tags/v1.0.0")}}
        }
    })
}

fn expected() -> Expectations {
    Expectations {
        source_uri: "github.com/example/tool".to_owned(),
        source_tag: Some("v2.0.0".to_owned()),
        builder_id: Some(BUILDER.to_owned()),
        ..Expectations::default()
    }
}

fn run(
    statement: &Value,
    signer: &SignerClaims,
    expected: &Expectations,
) -> Result<Verified, Failure> {
    check(statement.to_string().as_bytes(), Some(signer), expected)
}

fn class_of(statement: &Value, signer: &SignerClaims, expected: &Expectations) -> FailureClass {
    run(statement, signer, expected).unwrap_err().class
}

#[test]
fn a_matching_provenance_passes_and_reports_its_source() {
    let verified = run(&statement(), &signer(), &expected()).unwrap();
    assert_eq!(
        verified.source_repository,
        "https://github.com/example/tool"
    );
    assert_eq!(verified.source_ref.as_deref(), Some("refs/tags/v2.0.0"));
    assert_eq!(verified.source_commit.as_deref(), Some(COMMIT));
    // The builder pinned with its ref passes too.
    let mut pinned = expected();
    pinned.builder_id = Some(format!("{BUILDER}@refs/tags/v1.0.0"));
    run(&statement(), &signer(), &pinned).unwrap();
}

#[test]
fn predicate_and_statement_types_are_checked() {
    let mut wrong = statement();
    wrong["predicateType"] = json!("https://example.com/provenance/v9");
    assert_eq!(
        class_of(&wrong, &signer(), &expected()),
        FailureClass::ProvenancePolicy
    );
    let mut wrong = statement();
    wrong["_type"] = json!("https://example.com/Statement");
    assert_eq!(
        class_of(&wrong, &signer(), &expected()),
        FailureClass::ProvenancePolicy
    );
    let mut wrong = statement();
    wrong["predicate"]["runDetails"] = json!({});
    let error = run(&wrong, &signer(), &expected()).unwrap_err();
    assert!(error.reason.contains("runDetails.builder.id"), "{error}");
}

#[test]
fn the_builder_is_checked_apart_from_the_signer_and_must_agree_with_it() {
    let mut other = expected();
    other.builder_id = Some("https://github.com/evil/x/.github/workflows/r.yml".to_owned());
    assert_eq!(
        class_of(&statement(), &signer(), &other),
        FailureClass::Identity
    );
    let mut other_ref = expected();
    other_ref.builder_id = Some(format!("{BUILDER}@refs/tags/v0.9.0"));
    assert_eq!(
        class_of(&statement(), &signer(), &other_ref),
        FailureClass::Identity
    );
    // A builder id in the provenance that is not the signing workflow.
    let mut forged = statement();
    forged["predicate"]["runDetails"]["builder"]["id"] =
        json!(format!("{BUILDER}@refs/tags/v9.9.9"));
    assert_eq!(
        class_of(&forged, &signer(), &expected()),
        FailureClass::ProvenancePolicy
    );
    // Without --builder-id (or --signer-workflow) only slsa-github-generator's
    // builders and the source repository's own workflows are trusted.
    let mut untrusted = expected();
    untrusted.builder_id = None;
    let error = run(&statement(), &signer(), &untrusted).unwrap_err();
    assert_eq!(error.class, FailureClass::Identity);
    assert!(error.reason.contains("--builder-id"), "{error}");
    let mut named = untrusted.clone();
    named.signer_workflow = Some(format!("{BUILDER}@refs/tags/v*"));
    assert_eq!(run(&statement(), &signer(), &named).unwrap().level, 3);
    let generator =
        format!("{SLSA_GITHUB_GENERATOR_WORKFLOWS}generator_generic_slsa3.yml@refs/tags/v2.1.0");
    let mut trusted_signer = signer();
    trusted_signer.identity = Some(generator.clone());
    trusted_signer.build_signer_uri = None;
    let mut trusted_statement = statement();
    trusted_statement["predicate"]["runDetails"]["builder"]["id"] = json!(generator);
    run(&trusted_statement, &trusted_signer, &untrusted).unwrap();
    // ... at a release tag only.
    let branch =
        format!("{SLSA_GITHUB_GENERATOR_WORKFLOWS}generator_generic_slsa3.yml@refs/heads/main");
    trusted_signer.identity = Some(branch.clone());
    trusted_statement["predicate"]["runDetails"]["builder"]["id"] = json!(branch);
    assert_eq!(
        class_of(&trusted_statement, &trusted_signer, &untrusted),
        FailureClass::Identity
    );
}

#[test]
fn only_github_actions_certificates_can_sign_provenance() {
    let mut human = signer();
    human.issuer = Some("https://accounts.google.com".to_owned());
    assert_eq!(
        class_of(&statement(), &human, &expected()),
        FailureClass::Identity
    );
    let error = check(statement().to_string().as_bytes(), None, &expected()).unwrap_err();
    assert_eq!(error.class, FailureClass::Identity);
}

#[test]
fn the_source_repository_must_match_everywhere_it_is_stated() {
    let mut other = expected();
    other.source_uri = "github.com/example/other".to_owned();
    assert_eq!(
        class_of(&statement(), &signer(), &other),
        FailureClass::ProvenancePolicy
    );
    let mut lying = statement();
    lying["predicate"]["buildDefinition"]["externalParameters"]["workflow"]["repository"] =
        json!("https://github.com/evil/tool");
    assert_eq!(
        class_of(&lying, &signer(), &expected()),
        FailureClass::ProvenancePolicy
    );
    let mut certificate = signer();
    certificate.source_repository_uri = Some("https://github.com/evil/tool".to_owned());
    assert_eq!(
        class_of(&statement(), &certificate, &expected()),
        FailureClass::ProvenancePolicy
    );
    // Stated nowhere in the provenance.
    let mut silent = statement();
    silent["predicate"]["buildDefinition"]["externalParameters"] = json!({});
    silent["predicate"]["buildDefinition"]["resolvedDependencies"] = json!([]);
    assert_eq!(
        class_of(&silent, &signer(), &expected()),
        FailureClass::ProvenancePolicy
    );
    // Accepted spellings of the expectation; a tag in the URI is refused as bad input.
    for spelling in [
        "https://github.com/example/tool",
        "git+https://github.com/example/tool.git",
    ] {
        let mut spelled = expected();
        spelled.source_uri = spelling.to_owned();
        run(&statement(), &signer(), &spelled).unwrap();
    }
    let mut tagged = expected();
    tagged.source_uri = "github.com/example/tool@v2.0.0".to_owned();
    assert_eq!(
        class_of(&statement(), &signer(), &tagged),
        FailureClass::BadInput
    );
}

#[test]
fn tags_and_commits_must_agree() {
    let mut other_tag = expected();
    other_tag.source_tag = Some("v1.0.0".to_owned());
    let error = run(&statement(), &signer(), &other_tag).unwrap_err();
    assert_eq!(error.class, FailureClass::ProvenancePolicy);
    assert!(error.reason.contains("refs/tags/v1.0.0"), "{error}");
    let mut branch = signer();
    branch.source_repository_ref = Some("refs/heads/main".to_owned());
    assert_eq!(
        class_of(&statement(), &branch, &expected()),
        FailureClass::ProvenancePolicy
    );
    let mut commit = signer();
    commit.source_repository_digest = Some("0".repeat(40));
    assert_eq!(
        class_of(&statement(), &commit, &expected()),
        FailureClass::ProvenancePolicy
    );
}

#[test]
fn garbage_payloads_are_bad_input_not_panics() {
    for payload in [&b"not json"[..], b"", b"[]", b"{\"_type\": 7}", b"null"] {
        let error = check(payload, Some(&signer()), &expected()).unwrap_err();
        assert!(
            matches!(
                error.class,
                FailureClass::BadInput | FailureClass::ProvenancePolicy
            ),
            "{error}"
        );
    }
}

#[test]
fn repository_normalisation() {
    assert_eq!(
        normalize_repository("github.com/a/b").as_deref(),
        Some("https://github.com/a/b")
    );
    assert_eq!(
        normalize_repository("https://github.com/a/b/").as_deref(),
        Some("https://github.com/a/b")
    );
    for bad in [
        "gitlab.com/a/b",
        "github.com/a",
        "github.com/a/b/c",
        "github.com/../b",
        "github.com/a/b@v1",
    ] {
        assert_eq!(normalize_repository(bad), None, "{bad}");
    }
}

#[test]
fn the_level_follows_the_signer_and_the_runner() {
    // A reusable workflow the policy names, as its own builder, GitHub-hosted: L3.
    let verified = run(&statement(), &signer(), &expected()).unwrap();
    assert_eq!(verified.level, 3, "{}", verified.level_reason);
    // Self-hosted, or a certificate that does not say: L1, and --min-level refuses it.
    for runner in [Some("self-hosted"), None] {
        let mut claims = signer();
        claims.runner_environment = runner.map(str::to_owned);
        let verified = run(&statement(), &claims, &expected()).unwrap();
        assert_eq!(verified.level, 1, "{runner:?}");
        let mut strict = expected();
        strict.min_level = Some(2);
        let error = run(&statement(), &claims, &strict).unwrap_err();
        assert_eq!(error.class, FailureClass::ProvenancePolicy);
        assert!(error.reason.contains("below the required L2"), "{error}");
    }
    // The project's own workflow, naming the hosted runner as builder: L2.
    let own = "https://github.com/example/tool/.github/workflows/publish.yml@refs/tags/v2.0.0";
    let mut claims = signer();
    claims.identity = Some(own.to_owned());
    claims.build_signer_uri = None;
    let mut npm = statement();
    npm["predicate"]["runDetails"]["builder"]["id"] =
        json!("https://github.com/actions/runner/github-hosted");
    let mut any_builder = expected();
    any_builder.builder_id = None;
    let verified = run(&npm, &claims, &any_builder).unwrap();
    assert_eq!(verified.level, 2, "{}", verified.level_reason);
    // ... but it cannot claim another workflow as its builder.
    let mut forged = statement();
    forged["predicate"]["runDetails"]["builder"]["id"] = json!(format!(
        "{SLSA_GITHUB_GENERATOR_WORKFLOWS}generator_generic_slsa3.yml@refs/tags/v2.1.0"
    ));
    let error = run(&forged, &claims, &any_builder).unwrap_err();
    assert_eq!(error.class, FailureClass::ProvenancePolicy);
    assert!(
        error.reason.contains("neither the workflow that signed it"),
        "{error}"
    );
}

#[test]
fn slsa_v0_2_sources_must_agree_with_each_other() {
    let generator =
        format!("{SLSA_GITHUB_GENERATOR_WORKFLOWS}generator_generic_slsa3.yml@refs/tags/v2.1.0");
    let mut claims = signer();
    claims.identity = Some(generator.clone());
    claims.build_signer_uri = Some(generator.clone());
    let v0_2 = |material_commit: &str| {
        json!({
            "_type": "https://in-toto.io/Statement/v0.1",
            "subject": [],
            "predicateType": "https://slsa.dev/provenance/v0.2",
            "predicate": {
                "builder": {"id": generator},
                "buildType": "https://github.com/slsa-framework/slsa-github-generator/generic@v1",
                "invocation": {"configSource": {
                    "uri": "git+https://github.com/example/tool@refs/tags/v2.0.0",
                    "digest": {"sha1": COMMIT}
                }},
                "materials": [{
                    "uri": "git+https://github.com/example/tool@refs/tags/v2.0.0",
                    "digest": {"sha1": material_commit}
                }]
            }
        })
    };
    let mut untrusting = expected();
    untrusting.builder_id = None;
    let verified = run(&v0_2(COMMIT), &claims, &untrusting).unwrap();
    assert_eq!(verified.level, 3);
    assert_eq!(verified.source_commit.as_deref(), Some(COMMIT));
    let error = run(&v0_2(&"1".repeat(40)), &claims, &untrusting).unwrap_err();
    assert!(error.reason.contains("(materials)"), "{error}");
    // The generator must name itself as the builder.
    let mut other = v0_2(COMMIT);
    other["predicate"]["builder"]["id"] = json!(format!("{generator}x"));
    assert_eq!(
        class_of(&other, &claims, &untrusting),
        FailureClass::ProvenancePolicy
    );
}

#[test]
fn tag_and_branch_expectations_exclude_each_other() {
    let mut both = expected();
    both.source_branch = Some("main".to_owned());
    assert_eq!(
        class_of(&statement(), &signer(), &both),
        FailureClass::BadInput
    );
}

#[test]
fn the_san_and_the_build_signer_uri_must_agree() {
    let mut claims = signer();
    claims.build_signer_uri = Some(format!("{BUILDER}@refs/tags/v9.0.0"));
    let error = run(&statement(), &claims, &expected()).unwrap_err();
    assert_eq!(error.class, FailureClass::Identity);
    assert!(error.reason.contains("Build Signer URI"), "{error}");
}
