//! SLSA v1.0 build provenance in an in-toto Statement v1, as plain serde data.
//!
//! The shapes follow `in-toto/attestation` `spec/v1/statement.md` and
//! `slsa-framework/slsa` `releases/v1.0:spec/provenance.md`. cordon's own build type,
//! [`BUILD_TYPE`], fixes what `externalParameters` and `internalParameters` hold; it is
//! documented in `docs/slsa.md`, which a verifier should read before trusting a field.
//!
//! ```
//! use std::collections::BTreeMap;
//! use cordon_release::*;
//!
//! let statement = Statement::new(
//!     vec![ResourceDescriptor::file("cordon", "ab".repeat(32))],
//!     Provenance {
//!         build_definition: BuildDefinition {
//!             build_type: BUILD_TYPE.to_owned(),
//!             external_parameters: ExternalParameters {
//!                 source: SourceParameters {
//!                     repository: "git+https://github.com/cordon-dev/cordon".to_owned(),
//!                     git_ref: "refs/tags/v0.1.0".to_owned(),
//!                 },
//!                 command: vec!["cargo".into(), "xtask".into(), "release".into()],
//!                 allow_dirty: false,
//!             },
//!             internal_parameters: InternalParameters::default(),
//!             resolved_dependencies: vec![],
//!         },
//!         run_details: RunDetails {
//!             builder: Builder { id: LOCAL_BUILDER_ID.to_owned() },
//!             metadata: BuildMetadata::default(),
//!         },
//!     },
//! );
//! statement.validate()?;
//! let json = serde_json::to_string(&statement)?;
//! assert!(json.starts_with(r#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"cordon""#));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

pub use cordon_format::names::{
    IN_TOTO_PAYLOAD_TYPE, IN_TOTO_STATEMENT_V1 as STATEMENT_TYPE, SLSA_PROVENANCE_V1,
};
/// cordon's build type: a release made by cordon's pipeline (`cordon-dist`; see `docs/slsa.md`).
pub const BUILD_TYPE: &str =
    "https://github.com/cordon-dev/cordon/blob/main/docs/slsa.md#build-type-release-v1";
/// `builder.id` of a release run anywhere but the release workflow: a developer machine
/// or any CI job that is not `.github/workflows/release.yml`. SLSA Build L1 at most.
pub const LOCAL_BUILDER_ID: &str =
    "https://github.com/cordon-dev/cordon/blob/main/docs/slsa.md#builder-local-v1";

/// An in-toto Statement v1 whose predicate is SLSA provenance v1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    /// Always [`STATEMENT_TYPE`].
    #[serde(rename = "_type")]
    pub statement_type: String,
    /// The artifacts this provenance is about, matched by digest.
    pub subject: Vec<ResourceDescriptor>,
    /// Always [`SLSA_PROVENANCE_V1`].
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    /// The provenance itself.
    pub predicate: Provenance,
}

/// An in-toto ResourceDescriptor: a named thing with digests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceDescriptor {
    /// A name (for subjects: the file name in the release directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A URI locating or identifying the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// Algorithm (`sha256`, `gitCommit`, ...) to lowercase hex digest.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub digest: BTreeMap<String, String>,
    /// Free-form facts about the resource.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, serde_json::Value>,
}

impl ResourceDescriptor {
    /// A file by name and sha256 (lowercase hex).
    pub fn file(name: impl Into<String>, sha256_hex: impl Into<String>) -> Self {
        ResourceDescriptor {
            name: Some(name.into()),
            digest: BTreeMap::from([("sha256".to_owned(), sha256_hex.into())]),
            ..Self::default()
        }
    }
}

/// The SLSA v1 predicate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provenance {
    /// What was built, from what, how.
    pub build_definition: BuildDefinition,
    /// Who built it and when.
    pub run_details: RunDetails,
}

/// `buildDefinition`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildDefinition {
    /// [`BUILD_TYPE`].
    pub build_type: String,
    /// Everything the person or workflow starting the release chose.
    pub external_parameters: ExternalParameters,
    /// What the builder chose itself.
    pub internal_parameters: InternalParameters,
    /// The source commit, `Cargo.lock` and the compiler.
    pub resolved_dependencies: Vec<ResourceDescriptor>,
}

/// `externalParameters` of [`BUILD_TYPE`]: complete, so a verifier can reject anything
/// it does not expect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExternalParameters {
    /// The source repository and ref.
    pub source: SourceParameters,
    /// The exact release command, one argument per element.
    pub command: Vec<String>,
    /// True when the worktree had uncommitted changes and `--allow-dirty` let the release
    /// go on: the binaries are then not a build of the recorded commit alone.
    pub allow_dirty: bool,
}

/// `externalParameters.source`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SourceParameters {
    /// `git+<url>` of the repository.
    pub repository: String,
    /// The git ref built (`refs/tags/v1.2.3`, `refs/heads/main`), or `HEAD` when detached.
    #[serde(rename = "ref")]
    pub git_ref: String,
}

/// `internalParameters` of [`BUILD_TYPE`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InternalParameters {
    /// The toolchain and the flags that make the build reproducible.
    pub toolchain: Toolchain,
}

/// The compiler and reproducibility settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Toolchain {
    /// The channel `rust-toolchain.toml` pins.
    pub channel: String,
    /// `rustc -vV`'s `release` line.
    pub rustc_release: String,
    /// The host (and target) triple.
    pub host: String,
    /// The cargo profile (`release`).
    pub profile: String,
    /// `SOURCE_DATE_EPOCH` (the commit time).
    pub source_date_epoch: i64,
    /// The rustc flags, with machine-specific paths written as `${WORKSPACE}`,
    /// `${CARGO_HOME}` and `${TARGET_DIR}`.
    pub rustflags: Vec<String>,
}

/// `runDetails`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunDetails {
    /// Who ran the build.
    pub builder: Builder,
    /// When, and which run.
    pub metadata: BuildMetadata,
}

/// `runDetails.builder`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Builder {
    /// The builder's identity: the release workflow's URI in CI, [`LOCAL_BUILDER_ID`]
    /// otherwise. The sole determiner of the SLSA Build level a verifier may grant.
    pub id: String,
}

/// `runDetails.metadata`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildMetadata {
    /// Unique per run: the workflow run URL in CI, a random `urn:uuid:` locally.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub invocation_id: String,
    /// RFC 3339 UTC start of the build.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub started_on: String,
    /// RFC 3339 UTC end of the build.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub finished_on: String,
}

/// What is wrong with a statement.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProvenanceError {
    /// A required field is missing or has the wrong constant.
    #[error("provenance field {field} is {problem}")]
    Field {
        /// The JSON path of the field.
        field: String,
        /// What is wrong.
        problem: String,
    },
}

fn field_error(field: impl Into<String>, problem: impl Into<String>) -> ProvenanceError {
    ProvenanceError::Field {
        field: field.into(),
        problem: problem.into(),
    }
}

impl Statement {
    /// A Statement v1 with a SLSA v1 predicate.
    pub fn new(subject: Vec<ResourceDescriptor>, predicate: Provenance) -> Self {
        Statement {
            statement_type: STATEMENT_TYPE.to_owned(),
            subject,
            predicate_type: SLSA_PROVENANCE_V1.to_owned(),
            predicate,
        }
    }

    /// Checks what the specs require: the constants, at least one subject, every subject
    /// named once with a 64-hex-digit lowercase sha256, a build type and a builder id,
    /// and lowercase hex in every digest.
    pub fn validate(&self) -> Result<(), ProvenanceError> {
        if self.statement_type != STATEMENT_TYPE {
            return Err(field_error("_type", format!("not {STATEMENT_TYPE}")));
        }
        if self.predicate_type != SLSA_PROVENANCE_V1 {
            return Err(field_error(
                "predicateType",
                format!("not {SLSA_PROVENANCE_V1}"),
            ));
        }
        if self.subject.is_empty() {
            return Err(field_error("subject", "empty"));
        }
        let mut names = BTreeSet::new();
        for (index, subject) in self.subject.iter().enumerate() {
            let place = format!("subject[{index}]");
            let Some(name) = &subject.name else {
                return Err(field_error(format!("{place}.name"), "missing"));
            };
            if !names.insert(name.as_str()) {
                return Err(field_error(
                    format!("{place}.name"),
                    format!("a duplicate of {name:?}"),
                ));
            }
            match subject.digest.get("sha256") {
                Some(hex) if is_lower_hex(hex, 64) => {}
                Some(_) => {
                    return Err(field_error(
                        format!("{place}.digest.sha256"),
                        "not 64 lowercase hex digits",
                    ));
                }
                None => return Err(field_error(format!("{place}.digest.sha256"), "missing")),
            }
        }
        let definition = &self.predicate.build_definition;
        if definition.build_type.is_empty() {
            return Err(field_error("predicate.buildDefinition.buildType", "empty"));
        }
        if self.predicate.run_details.builder.id.is_empty() {
            return Err(field_error("predicate.runDetails.builder.id", "empty"));
        }
        for (index, dependency) in definition.resolved_dependencies.iter().enumerate() {
            for (algorithm, value) in &dependency.digest {
                if !is_lower_hex(value, 0) {
                    return Err(field_error(
                        format!(
                            "predicate.buildDefinition.resolvedDependencies[{index}].digest.{algorithm}"
                        ),
                        "not lowercase hex",
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Lowercase hex of exactly `len` digits (any non-zero length when `len` is 0).
fn is_lower_hex(value: &str, len: usize) -> bool {
    (if len == 0 {
        !value.is_empty()
    } else {
        value.len() == len
    }) && value
        .bytes()
        .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Statement {
        Statement::new(
            vec![
                ResourceDescriptor::file("cordon", "a".repeat(64)),
                ResourceDescriptor::file("cordon-verify", "b".repeat(64)),
            ],
            Provenance {
                build_definition: BuildDefinition {
                    build_type: BUILD_TYPE.to_owned(),
                    external_parameters: ExternalParameters {
                        source: SourceParameters {
                            repository: "git+https://github.com/cordon-dev/cordon".to_owned(),
                            git_ref: "refs/tags/v0.1.0".to_owned(),
                        },
                        command: vec!["cargo".into(), "xtask".into(), "release".into()],
                        allow_dirty: true,
                    },
                    internal_parameters: InternalParameters {
                        toolchain: Toolchain {
                            channel: "1.95.0".into(),
                            rustc_release: "1.95.0".into(),
                            host: "x86_64-unknown-linux-gnu".into(),
                            profile: "release".into(),
                            source_date_epoch: 1_700_000_000,
                            rustflags: vec!["--remap-path-prefix=${WORKSPACE}=.".into()],
                        },
                    },
                    resolved_dependencies: vec![ResourceDescriptor {
                        uri: Some(
                            "git+https://github.com/cordon-dev/cordon@refs/tags/v0.1.0".into(),
                        ),
                        digest: BTreeMap::from([("gitCommit".into(), "c".repeat(40))]),
                        ..ResourceDescriptor::default()
                    }],
                },
                run_details: RunDetails {
                    builder: Builder {
                        id: LOCAL_BUILDER_ID.to_owned(),
                    },
                    metadata: BuildMetadata {
                        invocation_id: "urn:uuid:0".into(),
                        started_on: "2023-11-14T22:13:20Z".into(),
                        finished_on: "2023-11-14T22:14:20Z".into(),
                    },
                },
            },
        )
    }

    #[test]
    fn serialises_with_the_spec_field_names() {
        let value = serde_json::to_value(sample()).unwrap();
        assert_eq!(value["_type"], STATEMENT_TYPE);
        assert_eq!(value["predicateType"], SLSA_PROVENANCE_V1);
        assert_eq!(value["subject"][1]["digest"]["sha256"], "b".repeat(64));
        let definition = &value["predicate"]["buildDefinition"];
        assert_eq!(definition["buildType"], BUILD_TYPE);
        assert_eq!(
            definition["externalParameters"]["source"]["ref"],
            "refs/tags/v0.1.0"
        );
        assert_eq!(definition["externalParameters"]["allowDirty"], true);
        assert_eq!(
            definition["internalParameters"]["toolchain"]["sourceDateEpoch"],
            1_700_000_000
        );
        assert_eq!(
            definition["resolvedDependencies"][0]["digest"]["gitCommit"],
            "c".repeat(40)
        );
        let run = &value["predicate"]["runDetails"];
        assert_eq!(run["builder"]["id"], LOCAL_BUILDER_ID);
        assert_eq!(run["metadata"]["startedOn"], "2023-11-14T22:13:20Z");
        // Absent optional fields are left out, not written as null.
        assert!(value["subject"][0].get("uri").is_none());
    }

    #[test]
    fn round_trips_and_validates() {
        let statement = sample();
        statement.validate().unwrap();
        let text = serde_json::to_string(&statement).unwrap();
        let back: Statement = serde_json::from_str(&text).unwrap();
        assert_eq!(back, statement);
    }

    #[test]
    fn unknown_external_parameters_are_rejected_on_reading() {
        let mut value = serde_json::to_value(sample()).unwrap();
        value["predicate"]["buildDefinition"]["externalParameters"]["extra"] = 1.into();
        assert!(serde_json::from_value::<Statement>(value).is_err());
    }

    #[test]
    fn validation_catches_each_broken_field() {
        type Breaker = fn(&mut Statement);
        let cases: Vec<(Breaker, &str)> = vec![
            (
                |s| s.statement_type = "https://in-toto.io/Statement/v0.1".into(),
                "_type",
            ),
            (
                |s| s.predicate_type = "https://slsa.dev/provenance/v0.2".into(),
                "predicateType",
            ),
            (|s| s.subject.clear(), "subject"),
            (|s| s.subject[0].name = None, "subject[0].name"),
            (
                |s| s.subject[1].name = Some("cordon".into()),
                "subject[1].name",
            ),
            (|s| s.subject[0].digest.clear(), "subject[0].digest.sha256"),
            (
                |s| {
                    s.subject[0].digest.insert("sha256".into(), "A".repeat(64));
                },
                "subject[0].digest.sha256",
            ),
            (
                |s| s.predicate.build_definition.build_type.clear(),
                "buildType",
            ),
            (|s| s.predicate.run_details.builder.id.clear(), "builder.id"),
            (
                |s| {
                    s.predicate.build_definition.resolved_dependencies[0]
                        .digest
                        .insert("gitCommit".into(), "xyz".into());
                },
                "resolvedDependencies[0].digest.gitCommit",
            ),
        ];
        for (breaks, field) in cases {
            let mut statement = sample();
            breaks(&mut statement);
            let error = statement.validate().unwrap_err().to_string();
            assert!(error.contains(field), "{error} does not name {field}");
        }
    }
}
