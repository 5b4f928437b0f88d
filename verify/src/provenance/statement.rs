//! What an in-toto provenance statement says, read the same way whatever its version:
//! Statement v0.1 or v1 around a SLSA v0.2 or v1 predicate. Each claim about the source
//! (repository, ref, commit) is kept with the field it came from, so that a
//! disagreement can be reported with both places.

use cordon_format::names::{IN_TOTO_STATEMENT_V0_1, IN_TOTO_STATEMENT_V1, SLSA_PROVENANCE_V1};
use serde_json::Value;

use crate::exit::{Failure, FailureClass};

/// The in-toto statement types accepted (v0.1 is what slsa-github-generator and npm
/// still emit).
pub(crate) const STATEMENT_TYPES: [&str; 2] = [IN_TOTO_STATEMENT_V1, IN_TOTO_STATEMENT_V0_1];

/// `predicateType` of SLSA provenance v0.2 (slsa-github-generator's generic generator,
/// npm before 2024).
pub(crate) const SLSA_V0_2: &str = "https://slsa.dev/provenance/v0.2";

/// The SLSA provenance predicate types accepted.
pub(crate) const PREDICATE_TYPES: [&str; 2] = [SLSA_PROVENANCE_V1, SLSA_V0_2];

/// One statement of a claim and the field it was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stated {
    pub(crate) origin: &'static str,
    pub(crate) value: String,
}

/// The claims of a provenance statement the policy checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Statement {
    /// `predicateType`: SLSA v1 or v0.2.
    pub(crate) predicate_type: String,
    /// The builder: `runDetails.builder.id` (v1) or `builder.id` (v0.2).
    pub(crate) builder_id: String,
    /// `buildType`.
    pub(crate) build_type: String,
    /// Every statement of the source repository, as written.
    pub(crate) repositories: Vec<Stated>,
    /// Every statement of the source ref.
    pub(crate) refs: Vec<Stated>,
    /// Every statement of the source commit.
    pub(crate) commits: Vec<Stated>,
    /// The subjects' names.
    pub(crate) subject_names: Vec<String>,
}

fn policy(reason: impl Into<String>) -> Failure {
    Failure::new(FailureClass::ProvenancePolicy, reason)
}

/// Parses the signed statement bytes.
pub(crate) fn parse(payload: &[u8]) -> Result<Statement, Failure> {
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
    let predicate = statement.get("predicate").unwrap_or(&Value::Null);
    let text = |pointer: &str| {
        predicate
            .pointer(pointer)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let mut parsed = Statement {
        predicate_type: predicate_type.to_owned(),
        builder_id: String::new(),
        build_type: String::new(),
        repositories: Vec::new(),
        refs: Vec::new(),
        commits: Vec::new(),
        subject_names: statement
            .get("subject")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|subject| subject.get("name").and_then(Value::as_str))
            .map(str::to_owned)
            .collect(),
    };
    match predicate_type {
        SLSA_PROVENANCE_V1 => {
            parsed.build_type = text("/buildDefinition/buildType")
                .ok_or_else(|| policy("the provenance has no buildDefinition.buildType"))?
                .to_owned();
            if !predicate
                .pointer("/buildDefinition/externalParameters")
                .is_some_and(Value::is_object)
            {
                return Err(policy(
                    "the provenance has no buildDefinition.externalParameters object",
                ));
            }
            parsed.builder_id = text("/runDetails/builder/id")
                .ok_or_else(|| policy("the provenance has no runDetails.builder.id"))?
                .to_owned();
            if let Some(repository) =
                text("/buildDefinition/externalParameters/workflow/repository")
            {
                parsed.repositories.push(Stated {
                    origin: "externalParameters.workflow.repository",
                    value: repository.to_owned(),
                });
            }
            if let Some(reference) = text("/buildDefinition/externalParameters/workflow/ref") {
                parsed.refs.push(Stated {
                    origin: "externalParameters.workflow.ref",
                    value: reference.to_owned(),
                });
            }
            let source = predicate
                .pointer("/buildDefinition/resolvedDependencies")
                .and_then(Value::as_array)
                .and_then(|list| list.iter().find(|d| git_uri(d).is_some()));
            if let Some(dependency) = source {
                parsed.add_git_source("resolvedDependencies", dependency);
            }
        }
        SLSA_V0_2 => {
            parsed.build_type = text("/buildType")
                .ok_or_else(|| policy("the provenance has no buildType"))?
                .to_owned();
            parsed.builder_id = text("/builder/id")
                .ok_or_else(|| policy("the provenance has no builder.id"))?
                .to_owned();
            if let Some(config) = predicate.pointer("/invocation/configSource")
                && git_uri(config).is_some()
            {
                parsed.add_git_source("invocation.configSource", config);
            }
            let material = predicate
                .pointer("/materials")
                .and_then(Value::as_array)
                .and_then(|list| list.iter().find(|d| git_uri(d).is_some()));
            if let Some(material) = material {
                parsed.add_git_source("materials", material);
            }
        }
        other => {
            return Err(policy(format!(
                "predicate type {other:?} is not SLSA provenance (expected {})",
                PREDICATE_TYPES.join(" or ")
            )));
        }
    }
    Ok(parsed)
}

/// A resource descriptor's `git+` URI.
fn git_uri(descriptor: &Value) -> Option<&str> {
    descriptor
        .get("uri")
        .and_then(Value::as_str)
        .filter(|uri| uri.starts_with("git+"))
}

impl Statement {
    /// Records `git+REPO@REF` and its `gitCommit` (or `sha1`) digest.
    fn add_git_source(&mut self, origin: &'static str, descriptor: &Value) {
        let Some(uri) = git_uri(descriptor) else {
            return;
        };
        let (repository, reference) = match uri.split_once('@') {
            Some((repository, reference)) => (repository, Some(reference)),
            None => (uri, None),
        };
        self.repositories.push(Stated {
            origin,
            value: repository.to_owned(),
        });
        if let Some(reference) = reference {
            self.refs.push(Stated {
                origin,
                value: reference.to_owned(),
            });
        }
        let commit = descriptor
            .pointer("/digest/gitCommit")
            .or_else(|| descriptor.pointer("/digest/sha1"))
            .and_then(Value::as_str);
        if let Some(commit) = commit {
            self.commits.push(Stated {
                origin,
                value: commit.to_owned(),
            });
        }
    }
}
