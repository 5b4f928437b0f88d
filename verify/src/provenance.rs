//! SLSA v1 provenance policy: after the Sigstore layer has proven who signed an in-toto
//! statement and that one of its subjects is the artifact, decide whether the statement
//! says what the distributor requires — the checks of slsa-verifier's `verify-artifact`
//! for GitHub-built artifacts: predicate type, builder identity, source repository, tag.
//!
//! Sources of each claim: the Fulcio certificate's CI extensions (bound to the signing
//! workflow by the OIDC token) and the provenance predicate (written by the builder).
//! When both carry a claim they must agree, and both must agree with the expectation.

use cordon_format::names::{IN_TOTO_STATEMENT_V0_1, IN_TOTO_STATEMENT_V1, SLSA_PROVENANCE_V1};
use serde_json::Value;
use sigstore_verify::crypto::CertificateInfo;

use crate::exit::{Failure, FailureClass};

/// The in-toto statement types accepted around a SLSA v1 predicate (v0.1 is what
/// slsa-github-generator's builders still emit).
pub(crate) const STATEMENT_TYPES: [&str; 2] = [IN_TOTO_STATEMENT_V1, IN_TOTO_STATEMENT_V0_1];

/// The SLSA v1 provenance predicate type.
pub(crate) const SLSA_V1: &str = SLSA_PROVENANCE_V1;

/// The OIDC issuer of GitHub Actions workflow identities.
pub const GITHUB_ACTIONS_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// Where slsa-github-generator's trusted reusable workflows live: without `--builder-id`,
/// only these builders (at a release tag) are trusted, as slsa-verifier does.
pub(crate) const SLSA_GITHUB_GENERATOR_WORKFLOWS: &str =
    "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/";

/// What the distributor requires of the provenance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectations {
    /// The source repository, as `github.com/OWNER/REPO` (a scheme is tolerated).
    pub source_uri: String,
    /// The tag the artifact must have been built from, without `refs/tags/`.
    pub source_tag: Option<String>,
    /// The builder: a workflow URI, with `@ref` to pin the ref or without to accept any.
    pub builder_id: Option<String>,
}

/// What the verified signing certificate says about the signer (Fulcio's claims).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignerClaims {
    /// The OIDC issuer.
    pub issuer: Option<String>,
    /// The SAN identity: for GitHub Actions, the signing workflow `URI@ref`.
    pub identity: Option<String>,
    /// `1.3.6.1.4.1.57264.1.12`: the source repository URI.
    pub source_repository_uri: Option<String>,
    /// `1.3.6.1.4.1.57264.1.14`: the source ref.
    pub source_repository_ref: Option<String>,
    /// `1.3.6.1.4.1.57264.1.13`: the source commit.
    pub source_repository_digest: Option<String>,
}

impl From<&CertificateInfo> for SignerClaims {
    fn from(certificate: &CertificateInfo) -> Self {
        let claims = &certificate.ci_claims;
        SignerClaims {
            issuer: certificate.issuer.clone(),
            identity: certificate
                .identity
                .as_ref()
                .map(|identity| identity.as_str().to_owned()),
            source_repository_uri: claims.source_repository_uri.clone(),
            source_repository_ref: claims.source_repository_ref.clone(),
            source_repository_digest: claims.source_repository_digest.clone(),
        }
    }
}

/// What a passing provenance check established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The builder id in the provenance (which the signing certificate matches).
    pub builder_id: String,
    /// The source repository, `https://github.com/OWNER/REPO`.
    pub source_repository: String,
    /// The source ref, when stated.
    pub source_ref: Option<String>,
    /// The source commit, when stated.
    pub source_commit: Option<String>,
}

fn policy(reason: impl Into<String>) -> Failure {
    Failure::new(FailureClass::ProvenancePolicy, reason)
}

/// Normalises `github.com/o/r`, `https://github.com/o/r`, `git+https://github.com/o/r`
/// (and a trailing `.git` or `/`) to `https://github.com/o/r`.
pub fn normalize_repository(uri: &str) -> Option<String> {
    let rest = uri.strip_prefix("git+").unwrap_or(uri);
    let rest = rest.strip_prefix("https://").unwrap_or(rest);
    let rest = rest.trim_end_matches('/');
    let rest = rest.strip_suffix(".git").unwrap_or(rest);
    let path = rest.strip_prefix("github.com/")?;
    let mut parts = path.split('/');
    let (Some(owner), Some(repo), None) = (parts.next(), parts.next(), parts.next()) else {
        return None;
    };
    let valid = |part: &str| {
        !part.is_empty()
            && part != "."
            && part != ".."
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    (valid(owner) && valid(repo)).then(|| format!("https://github.com/{owner}/{repo}"))
}

/// Whether a builder id matches an expectation: exactly, or — when the expectation has
/// no `@ref` — up to the `@`.
pub fn builder_matches(actual: &str, expected: &str) -> bool {
    actual == expected
        || (!expected.contains('@')
            && actual
                .split_once('@')
                .is_some_and(|(path, _)| path == expected))
}

/// Checks the in-toto statement `payload` (already signature-verified, signed by the
/// holder of `certificate`) against `expected`.
pub fn check(
    payload: &[u8],
    certificate: Option<&SignerClaims>,
    expected: &Expectations,
) -> Result<Verified, Failure> {
    let expected_repository = normalize_repository(&expected.source_uri).ok_or_else(|| {
        Failure::new(
            FailureClass::BadInput,
            format!(
                "--source-uri {:?}: expected github.com/OWNER/REPO (no tag or path in the URI; use --source-tag)",
                expected.source_uri
            ),
        )
    })?;
    let statement: Value = serde_json::from_slice(payload).map_err(|error| {
        Failure::new(
            FailureClass::BadInput,
            format!("the signed statement is not JSON: {error}"),
        )
    })?;
    let statement_type = statement.get("_type").and_then(Value::as_str).unwrap_or("");
    if !STATEMENT_TYPES.contains(&statement_type) {
        return Err(policy(format!(
            "statement type {statement_type:?} is not an in-toto Statement (expected {})",
            STATEMENT_TYPES.join(" or ")
        )));
    }
    let predicate_type = statement
        .get("predicateType")
        .and_then(Value::as_str)
        .unwrap_or("");
    if predicate_type != SLSA_V1 {
        return Err(policy(format!(
            "predicate type {predicate_type:?} is not SLSA provenance v1 ({SLSA_V1})"
        )));
    }
    let predicate = statement.get("predicate").unwrap_or(&Value::Null);
    let field = |pointer: &str| predicate.pointer(pointer);
    let text = |pointer: &str| {
        field(pointer)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    if text("/buildDefinition/buildType").is_none() {
        return Err(policy("the provenance has no buildDefinition.buildType"));
    }
    if !field("/buildDefinition/externalParameters").is_some_and(Value::is_object) {
        return Err(policy(
            "the provenance has no buildDefinition.externalParameters object",
        ));
    }
    let builder_id = text("/runDetails/builder/id")
        .ok_or_else(|| policy("the provenance has no runDetails.builder.id"))?
        .to_owned();

    // The signer: a GitHub Actions workflow, trusted as the builder.
    let certificate = certificate.ok_or_else(|| {
        Failure::new(
            FailureClass::Identity,
            "the provenance is signed with a bare key, not by a CI workflow certificate",
        )
    })?;
    if certificate.issuer.as_deref() != Some(GITHUB_ACTIONS_ISSUER) {
        return Err(Failure::new(
            FailureClass::Identity,
            format!(
                "the signing certificate was issued to {:?}, not to a GitHub Actions workflow ({GITHUB_ACTIONS_ISSUER})",
                certificate.issuer.as_deref().unwrap_or("no issuer")
            ),
        ));
    }
    let signer = certificate.identity.clone().unwrap_or_default();
    match &expected.builder_id {
        Some(expected_builder) => {
            if !builder_matches(&signer, expected_builder) {
                return Err(Failure::new(
                    FailureClass::Identity,
                    format!(
                        "signed by workflow {signer:?}, not by the expected builder {expected_builder:?}"
                    ),
                ));
            }
            if !builder_matches(&builder_id, expected_builder) {
                return Err(policy(format!(
                    "builder id {builder_id:?} in the provenance is not the expected {expected_builder:?}"
                )));
            }
        }
        None => {
            let trusted = signer
                .strip_prefix(SLSA_GITHUB_GENERATOR_WORKFLOWS)
                .is_some_and(|rest| {
                    rest.split_once("@refs/tags/v")
                        .is_some_and(|(name, _)| !name.contains('/'))
                });
            if !trusted {
                return Err(Failure::new(
                    FailureClass::Identity,
                    format!(
                        "signed by workflow {signer:?}, which is not a trusted slsa-github-generator builder; pass --builder-id to trust it"
                    ),
                ));
            }
        }
    }
    if builder_id != signer {
        return Err(policy(format!(
            "builder id {builder_id:?} in the provenance is not the workflow that signed it ({signer:?})"
        )));
    }

    // The source repository.
    let claims = certificate;
    let mut repositories: Vec<(&str, String)> = Vec::new();
    if let Some(uri) = &claims.source_repository_uri {
        repositories.push(("the certificate", uri.clone()));
    }
    if let Some(uri) = text("/buildDefinition/externalParameters/workflow/repository") {
        repositories.push(("externalParameters.workflow.repository", uri.to_owned()));
    }
    let source_dependency = predicate
        .pointer("/buildDefinition/resolvedDependencies")
        .and_then(Value::as_array)
        .and_then(|dependencies| {
            dependencies.iter().find(|dependency| {
                dependency
                    .get("uri")
                    .and_then(Value::as_str)
                    .is_some_and(|uri| uri.starts_with("git+"))
            })
        });
    let dependency_uri = source_dependency
        .and_then(|dependency| dependency.get("uri"))
        .and_then(Value::as_str);
    let (dependency_repository, dependency_ref) = match dependency_uri {
        Some(uri) => match uri.split_once('@') {
            Some((repository, reference)) => (Some(repository), Some(reference)),
            None => (Some(uri), None),
        },
        None => (None, None),
    };
    if let Some(repository) = dependency_repository {
        repositories.push(("resolvedDependencies", repository.to_owned()));
    }
    if repositories.len() < 2 {
        return Err(policy(
            "the provenance does not state its source repository (externalParameters.workflow.repository or a git+ resolved dependency)",
        ));
    }
    for (origin, uri) in &repositories {
        if normalize_repository(uri).as_deref() != Some(expected_repository.as_str()) {
            return Err(policy(format!(
                "source repository {uri:?} (from {origin}) is not the expected {expected_repository}"
            )));
        }
    }

    // The ref: every statement of it must agree.
    let mut references: Vec<(&str, String)> = Vec::new();
    if let Some(reference) = &claims.source_repository_ref {
        references.push(("the certificate", reference.clone()));
    }
    if let Some(reference) = text("/buildDefinition/externalParameters/workflow/ref") {
        references.push(("externalParameters.workflow.ref", reference.to_owned()));
    }
    if let Some(reference) = dependency_ref {
        references.push(("resolvedDependencies", reference.to_owned()));
    }
    if let Some((origin, first)) = references.first()
        && let Some((other_origin, other)) = references.iter().find(|(_, other)| other != first)
    {
        return Err(policy(format!(
            "the source ref is stated twice, differently: {first:?} ({origin}) and {other:?} ({other_origin})"
        )));
    }
    let source_ref = references.first().map(|(_, reference)| reference.clone());
    if let Some(tag) = &expected.source_tag {
        let wanted = format!("refs/tags/{tag}");
        match &source_ref {
            Some(reference) if *reference == wanted => {}
            Some(reference) => {
                return Err(policy(format!(
                    "built from {reference:?}, not from the expected tag {wanted:?}"
                )));
            }
            None => {
                return Err(policy(format!(
                    "the provenance does not state its source ref, so tag {tag:?} cannot be checked"
                )));
            }
        }
    }

    // The commit: the certificate and the provenance must agree.
    let provenance_commit = source_dependency
        .and_then(|dependency| dependency.pointer("/digest/gitCommit"))
        .and_then(Value::as_str);
    if let (Some(certified), Some(stated)) = (&claims.source_repository_digest, provenance_commit)
        && certified != stated
    {
        return Err(policy(format!(
            "the provenance names commit {stated}, the certificate commit {certified}"
        )));
    }
    let source_commit = claims
        .source_repository_digest
        .clone()
        .or_else(|| provenance_commit.map(str::to_owned));

    Ok(Verified {
        builder_id,
        source_repository: expected_repository,
        source_ref,
        source_commit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const BUILDER: &str = "https://github.com/example/.github/.github/workflows/release.yml";
    const COMMIT: &str = "8f70009fde0c94ade6ce2a054b94718c819126ec";

    fn signer() -> SignerClaims {
        SignerClaims {
            issuer: Some(GITHUB_ACTIONS_ISSUER.to_owned()),
            identity: Some(format!("{BUILDER}@refs/tags/v1.0.0")),
            source_repository_uri: Some("https://github.com/example/tool".to_owned()),
            source_repository_ref: Some("refs/tags/v2.0.0".to_owned()),
            source_repository_digest: Some(COMMIT.to_owned()),
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
        wrong["predicateType"] = json!("https://slsa.dev/provenance/v0.2");
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
    fn the_builder_must_be_the_expected_signer_and_agree_with_the_provenance() {
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
        // Without --builder-id only slsa-github-generator's builders are trusted.
        let mut untrusted = expected();
        untrusted.builder_id = None;
        let error = run(&statement(), &signer(), &untrusted).unwrap_err();
        assert_eq!(error.class, FailureClass::Identity);
        assert!(error.reason.contains("pass --builder-id"), "{error}");
        let generator = format!(
            "{SLSA_GITHUB_GENERATOR_WORKFLOWS}generator_generic_slsa3.yml@refs/tags/v2.1.0"
        );
        let mut trusted_signer = signer();
        trusted_signer.identity = Some(generator.clone());
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
}
