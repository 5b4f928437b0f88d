//! Who may sign provenance and what the builder id may then be: the split between the
//! signer (the workflow in the Fulcio certificate) and the builder (`builder.id` in the
//! predicate), and the SLSA Build level the pair can prove.
//!
//! The shapes met in practice (slsa-verifier's testdata):
//! - slsa-github-generator's generators (generic, container, Go, container-based) sign
//!   as themselves and write their own workflow as `builder.id`;
//! - its delegators (BYOB: `delegator_generic_slsa3.yml`, `delegator_lowperms-generic`)
//!   sign for a trusted reusable workflow, which is the `builder.id` (the Maven and
//!   Gradle builders, or a third party's);
//! - GitHub artifact attestations from a reusable workflow sign as that workflow and
//!   name it as `builder.id`;
//! - npm provenance and attestations from a project's own workflow sign as that
//!   workflow and name the runner, `https://github.com/actions/runner/github-hosted`.

use super::{Expectations, SignerClaims, builder_matches};
use crate::exit::{Failure, FailureClass};

/// Where slsa-github-generator's trusted reusable workflows live.
pub(crate) const SLSA_GITHUB_GENERATOR_WORKFLOWS: &str =
    "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/";

/// slsa-github-generator's builders that generate their own provenance.
const GENERATORS: [&str; 4] = [
    "generator_generic_slsa3.yml",
    "generator_container_slsa3.yml",
    "builder_go_slsa3.yml",
    "builder_container-based_slsa3.yml",
];

/// slsa-github-generator's delegators: they sign for a trusted reusable workflow (BYOB).
const DELEGATORS: [&str; 2] = [
    "delegator_generic_slsa3.yml",
    "delegator_lowperms-generic_slsa3.yml",
];

/// The builder ids of a GitHub-hosted runner (npm provenance, GitHub attestations from
/// a project's own workflow; the second is npm's SLSA v0.2 spelling).
pub(crate) const GITHUB_HOSTED_RUNNER_IDS: [&str; 2] = [
    "https://github.com/actions/runner/github-hosted",
    "https://github.com/actions/runner",
];

/// Why the signing workflow is trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignerRole {
    /// An slsa-github-generator generator at a release tag.
    Generator,
    /// An slsa-github-generator delegator at a release tag (BYOB).
    Delegator,
    /// A workflow the caller named (`--signer-workflow`, or `--builder-id` naming the
    /// signing workflow itself).
    Named,
    /// A workflow of the source repository itself.
    SourceWorkflow,
}

/// The file name of an slsa-github-generator workflow `san` names, when it is one of
/// `names` at a release tag (`@refs/tags/v…`).
fn generator_workflow<'a>(san: &'a str, names: &[&str]) -> Option<&'a str> {
    let rest = san.strip_prefix(SLSA_GITHUB_GENERATOR_WORKFLOWS)?;
    let (name, _) = rest.split_once("@refs/tags/v")?;
    names.contains(&name).then_some(name)
}

/// Whether `san` matches a signer expectation: exactly, or — when the expectation
/// contains `*` — with each `*` standing for any run of characters but `@` (so
/// `https://github.com/o/r/.github/workflows/release.yml@refs/tags/v*` pins the
/// workflow and accepts any tag starting with `v`).
pub fn signer_matches(san: &str, expected: &str) -> bool {
    if !expected.contains('*') {
        return san == expected;
    }
    let mut parts = expected.split('*');
    let Some(first) = parts.next() else {
        return false;
    };
    let Some(mut rest) = san.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    for (index, part) in parts.iter().enumerate() {
        let last = index + 1 == parts.len();
        let found = if last {
            rest.len()
                .checked_sub(part.len())
                .filter(|&at| rest.is_char_boundary(at) && rest[at..] == **part)
        } else {
            rest.find(part)
        };
        let Some(at) = found else {
            return false;
        };
        if rest[..at].contains('@') {
            return false;
        }
        rest = &rest[at + part.len()..];
    }
    rest.is_empty()
}

/// Decides why the workflow `san` may sign provenance for `source_repository`, or
/// refuses it (identity).
pub(crate) fn signer_role(
    san: &str,
    expected: &Expectations,
    source_repository: &str,
) -> Result<SignerRole, Failure> {
    let known = if generator_workflow(san, &GENERATORS).is_some() {
        Some(SignerRole::Generator)
    } else if generator_workflow(san, &DELEGATORS).is_some() {
        Some(SignerRole::Delegator)
    } else {
        None
    };
    if let Some(pattern) = &expected.signer_workflow {
        if !signer_matches(san, pattern) {
            return Err(Failure::new(
                FailureClass::Identity,
                format!("signed by workflow {san:?}, not by the expected signer {pattern:?}"),
            ));
        }
        return Ok(known.unwrap_or(SignerRole::Named));
    }
    if let Some(role) = known {
        return Ok(role);
    }
    if san.starts_with(&format!("{source_repository}/.github/workflows/")) {
        return Ok(SignerRole::SourceWorkflow);
    }
    if let Some(builder) = &expected.builder_id
        && builder_matches(san, builder)
    {
        return Ok(SignerRole::Named);
    }
    Err(Failure::new(
        FailureClass::Identity,
        format!(
            "signed by workflow {san:?}, which is neither a trusted slsa-github-generator builder at a release tag nor a workflow of {source_repository}; pass --signer-workflow (or --builder-id, for a reusable workflow that is its own builder) to trust it"
        ),
    ))
}

/// Checks the predicate's `builder_id` against the signer's role and the expectation.
pub(crate) fn check_builder(
    role: SignerRole,
    san: &str,
    builder_id: &str,
    expected: &Expectations,
) -> Result<(), Failure> {
    if let Some(wanted) = &expected.builder_id
        && !builder_matches(builder_id, wanted)
    {
        return Err(Failure::new(
            FailureClass::Identity,
            format!(
                "builder id {builder_id:?} in the provenance is not the expected builder {wanted:?} (signed by {san:?})"
            ),
        ));
    }
    let policy = |reason: String| Failure::new(FailureClass::ProvenancePolicy, reason);
    match role {
        SignerRole::Generator if builder_id != san => Err(policy(format!(
            "builder id {builder_id:?} in the provenance is not the workflow that signed it ({san:?})"
        ))),
        SignerRole::Delegator if !is_workflow(builder_id) => Err(policy(format!(
            "builder id {builder_id:?} is not a GitHub reusable workflow at a ref, which is what the delegator {san:?} signs for"
        ))),
        SignerRole::Named | SignerRole::SourceWorkflow
            if builder_id != san && !GITHUB_HOSTED_RUNNER_IDS.contains(&builder_id) =>
        {
            Err(policy(format!(
                "builder id {builder_id:?} is neither the workflow that signed it ({san:?}) nor GitHub's hosted runner"
            )))
        }
        _ => Ok(()),
    }
}

/// `https://github.com/OWNER/REPO/.github/workflows/FILE@REF`.
fn is_workflow(id: &str) -> bool {
    id.strip_prefix("https://github.com/")
        .and_then(|rest| rest.split_once("/.github/workflows/"))
        .is_some_and(|(repository, file)| {
            repository.split('/').count() == 2 && file.split_once('@').is_some()
        })
}

/// The SLSA Build level the signer, builder and runner prove, and why.
pub(crate) fn level(
    role: SignerRole,
    san: &str,
    builder_id: &str,
    expected: &Expectations,
    claims: &SignerClaims,
) -> (u8, String) {
    match claims.runner_environment.as_deref() {
        Some("github-hosted") => {}
        Some(other) => {
            return (
                1,
                format!("built on a {other} runner, which is not a hosted build platform"),
            );
        }
        None => {
            return (
                1,
                "the certificate does not state the runner environment (issued before Fulcio recorded it), so a hosted build cannot be proven".to_owned(),
            );
        }
    }
    match role {
        SignerRole::Generator => (
            3,
            format!(
                "signed by slsa-github-generator's trusted builder {san}, which generates provenance in a job the build cannot reach"
            ),
        ),
        SignerRole::Delegator
            if expected.builder_id.is_some()
                || builder_id.starts_with(SLSA_GITHUB_GENERATOR_WORKFLOWS) =>
        {
            (
                3,
                format!(
                    "the delegator {san} attested for the trusted reusable workflow {builder_id}"
                ),
            )
        }
        SignerRole::Delegator => (
            2,
            format!(
                "the delegator attested for the reusable workflow {builder_id}, which the policy does not name (pass --builder-id to trust it as an L3 builder)"
            ),
        ),
        SignerRole::Named if builder_id == san => (
            3,
            format!("the builder {san} is a reusable workflow the policy names"),
        ),
        SignerRole::Named | SignerRole::SourceWorkflow => (
            2,
            format!(
                "GitHub-hosted, but signed by {san}, which is not a builder the policy names as isolated from the build"
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signer_patterns_match_whole_identities_and_stop_at_the_ref() {
        let release = "https://github.com/o/r/.github/workflows/release.yml@refs/tags/v1.2.0";
        assert!(signer_matches(release, release));
        assert!(!signer_matches(
            release,
            "https://github.com/o/r/.github/workflows/release.yml"
        ));
        assert!(signer_matches(
            release,
            "https://github.com/o/r/.github/workflows/release.yml@refs/tags/v*"
        ));
        assert!(signer_matches(
            release,
            "https://github.com/o/*/.github/workflows/release.yml@*"
        ));
        assert!(!signer_matches(
            release,
            "https://github.com/o/r/.github/workflows/release.yml@refs/heads/*"
        ));
        // `*` does not cross the `@`: the workflow path cannot be swapped.
        assert!(!signer_matches(
            "https://github.com/o/r/.github/workflows/evil.yml@x/release.yml@refs/tags/v1",
            "https://github.com/o/r/.github/workflows/*release.yml@refs/tags/v*"
        ));
        assert!(!signer_matches("x", "https://*"));
    }

    #[test]
    fn generators_and_delegators_are_trusted_at_release_tags_only() {
        let at = |name: &str, reference: &str| {
            format!("{SLSA_GITHUB_GENERATOR_WORKFLOWS}{name}@{reference}")
        };
        assert!(
            generator_workflow(
                &at("generator_generic_slsa3.yml", "refs/tags/v2.1.0"),
                &GENERATORS
            )
            .is_some()
        );
        assert!(
            generator_workflow(
                &at("generator_generic_slsa3.yml", "refs/heads/main"),
                &GENERATORS
            )
            .is_none()
        );
        assert!(
            generator_workflow(
                &at("delegator_generic_slsa3.yml", "refs/tags/v2.1.0"),
                &DELEGATORS
            )
            .is_some()
        );
        assert!(
            generator_workflow(
                &at("x/generator_generic_slsa3.yml", "refs/tags/v2.1.0"),
                &GENERATORS
            )
            .is_none()
        );
        assert!(is_workflow(
            "https://github.com/a/b/.github/workflows/c.yml@refs/tags/v1"
        ));
        assert!(!is_workflow(
            "https://github.com/a/.github/workflows/c.yml@refs/tags/v1"
        ));
        assert!(!is_workflow(
            "https://github.com/actions/runner/github-hosted"
        ));
    }
}
