//! The documents about the build: the SLSA provenance statement and the release notes.

use std::collections::BTreeMap;
use std::path::Path;

use cordon_format::{CrateRecord, Manifest, rfc3339};
use cordon_release::advisories;
use cordon_release::checksums::sha256_file;
use cordon_release::crates::diff;
use cordon_release::manifest::previous_release;
use cordon_release::notes::{self, AdvisoryCheck, NotesInput};
use cordon_release::provenance::{
    BuildDefinition, BuildMetadata, Builder, ExternalParameters, InternalParameters, Provenance,
    ResourceDescriptor, RunDetails, SourceParameters, Statement,
};
use serde_json::json;

use crate::build;
use crate::error::{ErrorKind, io};
use crate::model::{Built, Checked, ShippedFile};
use crate::source::{self, hex};

/// The SLSA v1 statement about the binaries of `built` and the `archives`, validated.
pub(crate) fn provenance(
    command: &[String],
    checked: &Checked,
    built: &Built,
    archives: &[ShippedFile],
) -> Result<Statement, ErrorKind> {
    let lock = checked.workspace.root.join("Cargo.lock");
    let lock_digest = hex(&sha256_file(&lock).map_err(io("read", &lock))?);
    let source = &checked.source;
    let toolchain = &checked.toolchain;
    let product = &checked.workspace.product;
    let (builder_id, invocation_id) = source::builder_identity(&product.local_builder_id);
    let mut source_dependency = ResourceDescriptor {
        uri: Some(format!("{}@{}", source.repository, source.git_ref)),
        digest: BTreeMap::from([("gitCommit".to_owned(), source.commit.clone())]),
        ..ResourceDescriptor::default()
    };
    if !source.dirty_files.is_empty() {
        source_dependency
            .annotations
            .insert("dirtyFiles".to_owned(), json!(source.dirty_files));
    }
    let statement = Statement::new(
        built
            .files
            .iter()
            .chain(archives)
            .map(|file| ResourceDescriptor::file(&file.name, &file.sha256))
            .collect(),
        Provenance {
            build_definition: BuildDefinition {
                build_type: product.build_type.clone(),
                external_parameters: ExternalParameters {
                    source: SourceParameters {
                        repository: source.repository.clone(),
                        git_ref: source.git_ref.clone(),
                    },
                    command: command.to_vec(),
                    allow_dirty: !source.dirty_files.is_empty(),
                },
                internal_parameters: InternalParameters {
                    toolchain: cordon_release::provenance::Toolchain {
                        channel: toolchain.channel.clone(),
                        rustc_release: toolchain.release.clone(),
                        host: toolchain.host.clone(),
                        profile: "release".to_owned(),
                        source_date_epoch: source.commit_time,
                        rustflags: build::rustflags_recorded(),
                    },
                },
                resolved_dependencies: vec![
                    source_dependency,
                    ResourceDescriptor {
                        name: Some("Cargo.lock".to_owned()),
                        digest: BTreeMap::from([("sha256".to_owned(), lock_digest)]),
                        ..ResourceDescriptor::default()
                    },
                    ResourceDescriptor {
                        name: Some("rustc".to_owned()),
                        uri: Some(format!("pkg:generic/rustc@{}", toolchain.release)),
                        digest: BTreeMap::from([
                            ("sha256".to_owned(), toolchain.rustc_sha256.clone()),
                            ("gitCommit".to_owned(), toolchain.commit_hash.clone()),
                        ]),
                        annotations: BTreeMap::from([(
                            "version".to_owned(),
                            json!(toolchain.version_line),
                        )]),
                    },
                ],
            },
            run_details: RunDetails {
                builder: Builder { id: builder_id },
                metadata: BuildMetadata {
                    invocation_id,
                    started_on: rfc3339(built.started_on),
                    finished_on: rfc3339(built.finished_on),
                },
            },
        },
    );
    statement.validate()?;
    Ok(statement)
}

/// `RELEASE-NOTES.md`: source, files, the dependency diff against the newest older
/// release in `dist`, and the advisories of `advisory_db` that affect the crate set.
pub(crate) fn release_notes(
    dist: &Path,
    advisory_db: Option<&Path>,
    checked: &Checked,
    files: &[&ShippedFile],
    crate_set: &[CrateRecord],
) -> Result<String, ErrorKind> {
    let manifest_path = checked.workspace.root.join("Cargo.toml");
    let version = semver::Version::parse(&checked.workspace.version).map_err(|error| {
        ErrorKind::Workspace {
            file: manifest_path,
            problem: format!(
                "version {} is not semver: {error}",
                checked.workspace.version
            ),
            fix: None,
        }
    })?;
    let previous = match previous_release(dist, &version)? {
        Some((previous_version, path)) => {
            let manifest = Manifest::read(&path)?;
            Some((previous_version.to_string(), manifest.crates))
        }
        None => None,
    };
    let changes = previous
        .as_ref()
        .map(|(previous_version, crates)| (previous_version.as_str(), diff(crates, crate_set)));
    let advisory_list = match advisory_db {
        Some(db) => Some(advisories::load_for(
            db,
            crate_set.iter().map(|record| record.name.as_str()),
        )?),
        None => None,
    };
    let database = advisory_db
        .map(|db| db.display().to_string())
        .unwrap_or_default();
    let check = advisory_list.as_ref().map(|list| AdvisoryCheck {
        database: &database,
        hits: advisories::affecting(list, crate_set),
    });
    let files: Vec<(String, String)> = files
        .iter()
        .map(|file| (file.name.clone(), file.sha256.clone()))
        .collect();
    let commit_time = rfc3339(checked.source.commit_time);
    Ok(notes::render(&NotesInput {
        name: &checked.workspace.product.name,
        version: &checked.workspace.version,
        repository: &checked.source.repository,
        git_ref: &checked.source.git_ref,
        commit: &checked.source.commit,
        dirty: !checked.source.dirty_files.is_empty(),
        commit_time: &commit_time,
        files: &files,
        previous: changes
            .as_ref()
            .map(|(previous_version, changes)| (*previous_version, changes)),
        advisories: check,
    }))
}
