//! The documents about the build: the SLSA provenance statement and the release notes.

use std::collections::BTreeMap;
use std::path::Path;

use cordon_format::{CrateRecord, Manifest, rfc3339};
use cordon_release::{
    AdvisoryCheck, BuildDefinition, BuildMetadata, Builder, ExternalParameters, InternalParameters,
    NotesInput, Provenance, ResourceDescriptor, RunDetails, SourceParameters, Statement,
    diff_crates, previous_release, sha256_file,
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
                    toolchain: cordon_release::Toolchain {
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
    let changes = previous.as_ref().map(|(previous_version, crates)| {
        (previous_version.as_str(), diff_crates(crates, crate_set))
    });
    let database = match advisory_db {
        Some(db) => Some(load_advisories(db, crate_set)?),
        None => None,
    };
    let current_versions = crate_versions(crate_set);
    let previous_versions = previous
        .as_ref()
        .map(|(_, crates)| crate_versions(crates))
        .unwrap_or_default();
    let check = database.as_ref().map(|database| AdvisoryCheck {
        database: database.id.to_string(),
        hits: cordon_audit::hits(
            database,
            &current_versions,
            checked.vex.as_ref().map(|vex| &vex.document),
        ),
        // Empty for a first release: nothing to compare with.
        fixed: cordon_audit::fixed_since(database, &previous_versions, &current_versions),
    });
    let files: Vec<(String, String)> = files
        .iter()
        .map(|file| (file.name.clone(), file.sha256.clone()))
        .collect();
    let commit_time = rfc3339(checked.source.commit_time);
    Ok(cordon_release::render_notes(&NotesInput {
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
        vex: checked.vex.as_ref().map(|vex| cordon_release::VexNote {
            file: &vex.file_name,
            format: vex.document.format,
            statements: vex.document.statements.len(),
        }),
    }))
}

fn crate_versions(crates: &[CrateRecord]) -> Vec<cordon_audit::CrateVersion> {
    crates
        .iter()
        .map(|record| cordon_audit::CrateVersion::new(&record.name, &record.version))
        .collect()
}

/// The advisories of `db` for the crate set, the database named by its commit and date:
/// read from `db/.git`, and when the commit object is packed its date from `git log`.
fn load_advisories(
    db: &Path,
    crate_set: &[CrateRecord],
) -> Result<cordon_audit::Database, ErrorKind> {
    let mut database =
        cordon_audit::Database::load_for(db, crate_set.iter().map(|record| record.name.as_str()))?;
    if let (Some(commit), None) = (&database.id.commit, &database.id.date) {
        let output = std::process::Command::new("git")
            .arg("-C")
            .arg(db)
            .args([
                "log",
                "-1",
                "--format=%cd",
                "--date=format-local:%Y-%m-%dT%H:%M:%SZ",
                commit,
            ])
            .env("TZ", "UTC")
            .output();
        if let Ok(output) = output
            && output.status.success()
        {
            let date = String::from_utf8_lossy(&output.stdout).trim().to_owned();
            if !date.is_empty() {
                database.id.date = Some(date);
            }
        }
    }
    Ok(database)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn git(dir: &Path, args: &[&str]) -> String {
        let output = Command::new("git")
            .current_dir(dir)
            .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
            .args(args)
            .env("GIT_COMMITTER_DATE", "2024-05-06T07:08:09+02:00")
            .env("GIT_AUTHOR_DATE", "2024-05-06T07:08:09+02:00")
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    }

    /// A fresh clone's commit object is packed: its date comes from `git log`, in UTC.
    #[test]
    fn a_packed_database_is_named_by_commit_and_utc_date() {
        let db = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(db.path().join("crates/demo")).unwrap();
        std::fs::write(
            db.path().join("crates/demo/RUSTSEC-2099-0001.md"),
            "```toml\n[advisory]\nid = \"RUSTSEC-2099-0001\"\npackage = \"demo\"\ndate = \"2099-01-02\"\n```\n# Demo\n",
        )
        .unwrap();
        git(db.path(), &["init", "-q", "-b", "main"]);
        git(db.path(), &["add", "."]);
        git(db.path(), &["commit", "-q", "-m", "one"]);
        git(db.path(), &["gc", "-q", "--prune=now"]);
        let commit = git(db.path(), &["rev-parse", "HEAD"]);
        let crates = [CrateRecord {
            name: "demo".into(),
            version: "1.0.0".into(),
            source: None,
            binaries: vec![],
        }];
        let database = load_advisories(db.path(), &crates).unwrap();
        assert_eq!(
            database.id.to_string(),
            format!("rustsec/advisory-db at commit {commit} (2024-05-06T05:08:09Z)")
        );
        assert_eq!(database.advisories.len(), 1);
    }
}
