//! SLSA provenance policy: after the Sigstore layer has proven who signed an in-toto
//! statement and that one of its subjects is the artifact, decide whether the statement
//! says what the distributor requires, and which SLSA Build level it proves — the checks
//! of slsa-verifier's `verify-artifact` and `verify-npm-package`, with the signer (the
//! workflow in the certificate) and the builder (`builder.id` in the predicate) kept
//! apart (see [`builder`]).
//!
//! Sources of each claim: the Fulcio certificate's CI extensions (bound to the signing
//! workflow by the OIDC token) and the provenance predicate (written by the builder).
//! When both carry a claim they must agree, and both must agree with the expectation.

mod builder;
pub(crate) mod file;
mod flags;
mod statement;

#[cfg(test)]
use builder::SLSA_GITHUB_GENERATOR_WORKFLOWS;
pub use builder::signer_matches;
use builder::{check_builder, level, signer_role};
pub use flags::parse_workflow_input;
use sigstore_verify::crypto::CertificateInfo;
use statement::Stated;

use crate::exit::{Failure, FailureClass};

/// The OIDC issuer of GitHub Actions workflow identities.
pub const GITHUB_ACTIONS_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// What the distributor requires of the provenance (slsa-verifier's flags, plus the
/// signer, the trigger, the commit and a minimum level).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expectations {
    /// The source repository, as `github.com/OWNER/REPO` (a scheme is tolerated).
    pub source_uri: String,
    /// The tag the artifact must have been built from, without `refs/tags/`.
    pub source_tag: Option<String>,
    /// The branch the artifact must have been built from, without `refs/heads/`.
    pub source_branch: Option<String>,
    /// A semantic version the build's tag must be compatible with (slsa-verifier's
    /// `--source-versioned-tag`: `v1` accepts any `v1.x.y`; see `flags`).
    pub source_versioned_tag: Option<String>,
    /// `workflow_dispatch` inputs the build must have run with, `(KEY, VALUE)`.
    pub workflow_inputs: Vec<(String, String)>,
    /// The commit the artifact must have been built from.
    pub source_commit: Option<String>,
    /// The predicate's `builder.id`: a URI, with `@ref` to pin the ref or without to
    /// accept any.
    pub builder_id: Option<String>,
    /// The signing workflow (the certificate's SAN): exact, or with `*` wildcards that
    /// do not cross the `@` (see [`signer_matches`]).
    pub signer_workflow: Option<String>,
    /// The events allowed to have triggered the build (`push`, `release`, ...); empty:
    /// any.
    pub triggers: Vec<String>,
    /// The lowest SLSA Build level to accept.
    pub min_level: Option<u8>,
    /// An npm package the provenance must name as a subject, `NAME@VERSION`
    /// (`verify-npm-package`'s `--package-name` and `--package-version`).
    pub npm_package: Option<(String, String)>,
    /// CA URIs of the trusted root, besides the public-good Fulcio's, that may certify a
    /// GitHub workflow identity (a private Fulcio); see `authority.rs`.
    pub fulcio_uris: Vec<String>,
}

/// What the verified signing certificate says about the signer (Fulcio's claims; the
/// deprecated GitHub extensions `.1.2`–`.1.6` when the certificate predates the
/// provider-neutral ones).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignerClaims {
    /// The OIDC issuer.
    pub issuer: Option<String>,
    /// The SAN identity: for GitHub Actions, the signing workflow `URI@ref`.
    pub identity: Option<String>,
    /// `.1.9`: the Build Signer URI, which Fulcio sets to the SAN for GitHub Actions.
    pub build_signer_uri: Option<String>,
    /// `.1.11`: `github-hosted` or `self-hosted`.
    pub runner_environment: Option<String>,
    /// `.1.12` (or `.1.5`): the source repository URI.
    pub source_repository_uri: Option<String>,
    /// `.1.14` (or `.1.6`): the source ref.
    pub source_repository_ref: Option<String>,
    /// `.1.13` (or `.1.3`): the source commit.
    pub source_repository_digest: Option<String>,
    /// `.1.20` (or `.1.2`): the event that triggered the build.
    pub build_trigger: Option<String>,
}

impl From<&CertificateInfo> for SignerClaims {
    fn from(certificate: &CertificateInfo) -> Self {
        let claims = &certificate.ci_claims;
        let legacy = &claims.deprecated_github;
        SignerClaims {
            issuer: certificate.issuer.clone(),
            identity: certificate
                .identity
                .as_ref()
                .map(|identity| identity.as_str().to_owned()),
            build_signer_uri: claims.build_signer_uri.clone(),
            runner_environment: claims.runner_environment.clone(),
            source_repository_uri: claims.source_repository_uri.clone().or_else(|| {
                legacy
                    .workflow_repository
                    .as_ref()
                    .map(|repository| format!("https://github.com/{repository}"))
            }),
            source_repository_ref: claims
                .source_repository_ref
                .clone()
                .or_else(|| legacy.workflow_ref.clone()),
            source_repository_digest: claims
                .source_repository_digest
                .clone()
                .or_else(|| legacy.workflow_sha.clone()),
            build_trigger: claims
                .build_trigger
                .clone()
                .or_else(|| legacy.workflow_trigger.clone()),
        }
    }
}

/// What a passing provenance check established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The signing workflow (the certificate's SAN).
    pub signer: String,
    /// The builder id in the provenance.
    pub builder_id: String,
    /// The source repository, `https://github.com/OWNER/REPO`.
    pub source_repository: String,
    /// The source ref, when stated.
    pub source_ref: Option<String>,
    /// The source commit, when stated.
    pub source_commit: Option<String>,
    /// The SLSA Build level proven (1 to 3).
    pub level: u8,
    /// Why that level, in one sentence.
    pub level_reason: String,
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
                "--source-uri {:?}: expected github.com/OWNER/REPO (no tag or path in the URI; use --source-tag or --source-branch)",
                expected.source_uri
            ),
        )
    })?;
    let refs_given = [
        expected.source_tag.is_some(),
        expected.source_branch.is_some(),
        expected.source_versioned_tag.is_some(),
    ];
    if refs_given.iter().filter(|given| **given).count() > 1 {
        return Err(Failure::new(
            FailureClass::BadInput,
            "--source-tag, --source-versioned-tag and --source-branch exclude each other: a build has one ref",
        ));
    }
    let statement = statement::parse(payload)?;
    if let Some((name, version)) = &expected.npm_package {
        let purl = npm_purl(name, version);
        if !statement.subject_names.contains(&purl) {
            return Err(policy(format!(
                "the provenance is about {}, not the package {purl}",
                statement.subject_names.join(", ")
            )));
        }
    }

    // The signer: a GitHub Actions workflow, trusted for a reason (see `builder`).
    let claims = certificate.ok_or_else(|| {
        Failure::new(
            FailureClass::Identity,
            "the provenance is signed with a bare key, not by a CI workflow certificate",
        )
    })?;
    if claims.issuer.as_deref() != Some(GITHUB_ACTIONS_ISSUER) {
        return Err(Failure::new(
            FailureClass::Identity,
            format!(
                "the signing certificate was issued to {:?}, not to a GitHub Actions workflow ({GITHUB_ACTIONS_ISSUER})",
                claims.issuer.as_deref().unwrap_or("no issuer")
            ),
        ));
    }
    let signer = claims.identity.clone().unwrap_or_default();
    if let Some(build_signer) = &claims.build_signer_uri
        && *build_signer != signer
    {
        return Err(Failure::new(
            FailureClass::Identity,
            format!(
                "the certificate's SAN {signer:?} and its Build Signer URI {build_signer:?} differ"
            ),
        ));
    }
    let role = signer_role(&signer, expected, &expected_repository)?;
    check_builder(role, &signer, &statement.builder_id, expected)?;

    // The source repository: every statement of it must be the expected one.
    let mut repositories: Vec<Stated> = Vec::new();
    if let Some(uri) = &claims.source_repository_uri {
        repositories.push(Stated {
            origin: "the certificate",
            value: uri.clone(),
        });
    }
    if statement.repositories.is_empty() {
        return Err(policy(
            "the provenance does not state its source repository (externalParameters.workflow.repository, a git+ resolved dependency, configSource or material)",
        ));
    }
    repositories.extend(statement.repositories.iter().cloned());
    for stated in &repositories {
        if normalize_repository(&stated.value).as_deref() != Some(expected_repository.as_str()) {
            return Err(policy(format!(
                "source repository {:?} (from {}) is not the expected {expected_repository}",
                stated.value, stated.origin
            )));
        }
    }

    // The ref and the commit: every statement must agree.
    let source_ref = agreed(
        "source ref",
        claims.source_repository_ref.as_ref(),
        &statement.refs,
    )?;
    match (&expected.source_tag, &expected.source_branch) {
        (Some(tag), _) => require_ref(source_ref.as_deref(), &format!("refs/tags/{tag}"), "tag")?,
        (_, Some(branch)) => require_ref(
            source_ref.as_deref(),
            &format!("refs/heads/{branch}"),
            "branch",
        )?,
        _ => {}
    }
    if let Some(versioned) = &expected.source_versioned_tag {
        flags::check_versioned_tag(source_ref.as_deref(), versioned)?;
    }
    flags::check_workflow_inputs(payload, &expected.workflow_inputs)?;
    let source_commit = agreed(
        "source commit",
        claims.source_repository_digest.as_ref(),
        &statement.commits,
    )?;
    if let Some(wanted) = &expected.source_commit
        && source_commit.as_deref() != Some(wanted.as_str())
    {
        return Err(policy(format!(
            "built from commit {}, not from the expected {wanted}",
            source_commit.as_deref().unwrap_or("(not stated)")
        )));
    }
    if !expected.triggers.is_empty() {
        let trigger = claims.build_trigger.as_deref().unwrap_or("");
        if !expected.triggers.iter().any(|wanted| wanted == trigger) {
            return Err(policy(format!(
                "triggered by {:?}, not by one of the expected events ({})",
                claims.build_trigger.as_deref().unwrap_or("(not stated)"),
                expected.triggers.join(", ")
            )));
        }
    }

    let (level, level_reason) = level(role, &signer, &statement.builder_id, expected, claims);
    if let Some(minimum) = expected.min_level
        && level < minimum
    {
        return Err(policy(format!(
            "proves SLSA Build L{level}, below the required L{minimum}: {level_reason}"
        )));
    }
    Ok(Verified {
        signer,
        builder_id: statement.builder_id,
        source_repository: expected_repository,
        source_ref,
        source_commit,
        level,
        level_reason,
    })
}

/// The package URL npm writes as the subject name: `pkg:npm/NAME@VERSION`, a scope's
/// `@` written `%40`.
fn npm_purl(name: &str, version: &str) -> String {
    let name = match name.strip_prefix('@') {
        Some(scoped) => format!("%40{scoped}"),
        None => name.to_owned(),
    };
    format!("pkg:npm/{name}@{version}")
}

/// The one value every statement of `what` gives (the certificate's first), or the two
/// that differ.
fn agreed(
    what: &str,
    certified: Option<&String>,
    stated: &[Stated],
) -> Result<Option<String>, Failure> {
    let mut all: Vec<Stated> = certified
        .map(|value| Stated {
            origin: "the certificate",
            value: value.clone(),
        })
        .into_iter()
        .collect();
    all.extend(stated.iter().cloned());
    let Some(first) = all.first() else {
        return Ok(None);
    };
    if let Some(other) = all.iter().find(|other| other.value != first.value) {
        return Err(policy(format!(
            "the {what} is stated twice, differently: {:?} ({}) and {:?} ({})",
            first.value, first.origin, other.value, other.origin
        )));
    }
    Ok(Some(first.value.clone()))
}

fn require_ref(actual: Option<&str>, wanted: &str, kind: &str) -> Result<(), Failure> {
    match actual {
        Some(reference) if reference == wanted => Ok(()),
        Some(reference) => Err(policy(format!(
            "built from {reference:?}, not from the expected {kind} {wanted:?}"
        ))),
        None => Err(policy(format!(
            "the provenance does not state its source ref, so the {kind} {wanted:?} cannot be checked"
        ))),
    }
}

#[cfg(test)]
mod tests;
