//! The release pipeline's stages, from a clean checkout to a published `dist/<version>/`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use cordon_release::advisories;
use cordon_release::checksums::sha256_file;
use cordon_release::crates::{CrateRecord, diff};
use cordon_release::manifest::{
    FileKind, MANIFEST_FILE, MANIFEST_SCHEMA, Manifest, ManifestFile, ManifestSource,
    previous_release,
};
use cordon_release::notes::{self, AdvisoryCheck, NotesInput};
use cordon_release::output::StagedDir;
use cordon_release::provenance::{
    BUILD_TYPE, BuildDefinition, BuildMetadata, Builder, ExternalParameters, InternalParameters,
    Provenance, ResourceDescriptor, RunDetails, SourceParameters, Statement,
};
use cordon_release::time::{now_unix, rfc3339_utc};
use serde_json::json;

use super::build::{self, BuildPlan};
use super::progress::{Progress, Stage, human_size};
use super::source::{self, Source, Toolchain, hex};
use super::{Workspace, crates, workspace};

/// The product name in release file names.
pub(crate) const PRODUCT: &str = "cordon";
/// The record `--build-only` writes beside the binaries.
const BUILD_RECORD: &str = "build.json";

/// How a release runs.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// Where release directories go.
    pub(crate) dist: PathBuf,
    /// Replace an existing release of the same version.
    pub(crate) force: bool,
    /// Go on with a dirty worktree (recorded).
    pub(crate) allow_dirty: bool,
    /// No progress display.
    pub(crate) quiet: bool,
    /// A RustSec advisory-db clone.
    pub(crate) advisory_db: Option<PathBuf>,
    /// The command line as typed, for the provenance.
    pub(crate) command: Vec<String>,
    /// `--from-build DIR --expect-sha256sums FILE`.
    pub(crate) prebuilt: Option<(PathBuf, PathBuf)>,
}

/// A shipped file ready to publish.
#[derive(Debug, Clone)]
pub(crate) struct ShippedFile {
    pub(crate) name: String,
    pub(crate) path: PathBuf,
    pub(crate) sha256: String,
}

/// The output of the build stage.
#[derive(Debug)]
struct Built {
    files: Vec<ShippedFile>,
    started_on: i64,
    finished_on: i64,
}

struct Checked {
    workspace: Workspace,
    source: Source,
    toolchain: Toolchain,
}

fn check(root: &Path, options: &Options, stage: &Stage) -> Result<Checked> {
    stage.message("reading the workspace");
    let workspace = workspace(root)?;
    stage.message("checking the worktree");
    let source = source::source(root, workspace.repository.as_deref())?;
    source.require_clean(options.allow_dirty)?;
    stage.message("checking the toolchain");
    let toolchain = source::toolchain(root)?;
    Ok(Checked {
        workspace,
        source,
        toolchain,
    })
}

/// The reproducible build of the workspace at `root` into its `target/release-repro/`,
/// returning the final shipped files (in `target/release-repro/shipped/`).
pub(crate) fn reproducible_build(
    root: &Path,
    workspace: &Workspace,
    source: &Source,
    plan_env: Vec<(std::ffi::OsString, std::ffi::OsString)>,
    stage: &Stage,
) -> Result<Vec<ShippedFile>> {
    let target_dir = workspace.target_dir.join("release-repro");
    let plan = BuildPlan {
        root,
        target_dir: target_dir.clone(),
        cargo_home: build::default_cargo_home()?,
        shipped: &workspace.shipped,
        source_date_epoch: source.commit_time,
        offline: false,
        env: plan_env,
        umask: None,
    };
    let built = build::build(&plan, stage)?;
    finish_binaries(&built, &target_dir.join("shipped"))
}

/// Copies the built binaries into `out` (the bytes that ship) and hashes them.
pub(crate) fn finish_binaries(built: &[(String, PathBuf)], out: &Path) -> Result<Vec<ShippedFile>> {
    if out.exists() {
        fs::remove_dir_all(out).with_context(|| format!("cannot clear {}", out.display()))?;
    }
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    built
        .iter()
        .map(|(name, path)| {
            let destination = out.join(name);
            fs::copy(path, &destination).with_context(|| {
                format!(
                    "cannot copy {} to {}",
                    path.display(),
                    destination.display()
                )
            })?;
            let sha256 = hex(&sha256_file(&destination)
                .with_context(|| format!("cannot read {}", destination.display()))?);
            Ok(ShippedFile {
                name: name.clone(),
                path: destination,
                sha256,
            })
        })
        .collect()
}

/// `cargo xtask release --build-only OUT`: check and build, then write the binaries,
/// `SHA256SUMS` and `build.json` to `out` and print the checksums on stdout.
pub(crate) fn build_only(root: &Path, options: &Options, out: &Path) -> Result<()> {
    let mut progress = Progress::new("release", options.quiet);
    let checked = progress.stage("check", "see the message above", |stage| {
        check(root, options, stage)
    })?;
    let built = progress.stage(
        "build",
        "fix what cargo reports above, then run again",
        |stage| build_stage(root, &checked, stage),
    )?;
    progress.stage(
        "hand-over",
        "check that the output directory is writable",
        |_| {
            fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
            let mut sums = String::new();
            for file in &built.files {
                fs::copy(&file.path, out.join(&file.name))
                    .with_context(|| format!("cannot copy {} into {}", file.name, out.display()))?;
                sums.push_str(&format!("{}  {}\n", file.sha256, file.name));
            }
            let record = json!({
                "commit": checked.source.commit,
                "startedOn": rfc3339_utc(built.started_on),
                "finishedOn": rfc3339_utc(built.finished_on),
            });
            write_atomically(&out.join(BUILD_RECORD), format!("{record:#}\n").as_bytes())?;
            write_atomically(&out.join("SHA256SUMS"), sums.as_bytes())?;
            print!("{sums}");
            Ok(())
        },
    )?;
    Ok(())
}

fn build_stage(root: &Path, checked: &Checked, stage: &Stage) -> Result<Built> {
    let started_on = now_unix();
    let files = reproducible_build(root, &checked.workspace, &checked.source, Vec::new(), stage)?;
    Ok(Built {
        files,
        started_on,
        finished_on: now_unix(),
    })
}

/// Takes the binaries of a `--build-only` run, checking them against the checksums the
/// build job handed over.
fn take_prebuilt(dir: &Path, expected: &Path, checked: &Checked) -> Result<Built> {
    let expected_text = fs::read_to_string(expected)
        .with_context(|| format!("cannot read {}", expected.display()))?;
    let mut expected_sums = BTreeMap::new();
    for (index, line) in expected_text.lines().enumerate() {
        let Some((digest, name)) = line.split_once("  ") else {
            bail!(
                "{}:{}: not a `<sha256>  <name>` line",
                expected.display(),
                index + 1
            );
        };
        expected_sums.insert(name.to_owned(), digest.to_owned());
    }
    let wanted: Vec<&str> = checked
        .workspace
        .shipped
        .iter()
        .map(|binary| binary.bin.as_str())
        .collect();
    let listed: Vec<&str> = expected_sums.keys().map(String::as_str).collect();
    let mut wanted_sorted = wanted.clone();
    wanted_sorted.sort_unstable();
    if listed != wanted_sorted {
        bail!(
            "{} lists {listed:?} but this workspace ships {wanted_sorted:?}",
            expected.display()
        );
    }
    let record_path = dir.join(BUILD_RECORD);
    let record: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(&record_path)
            .with_context(|| format!("cannot read {}", record_path.display()))?,
    )
    .with_context(|| format!("{} is not JSON", record_path.display()))?;
    if record["commit"] != checked.source.commit.as_str() {
        bail!(
            "{} was built from commit {} but this checkout is {}",
            dir.display(),
            record["commit"],
            checked.source.commit
        );
    }
    let mut files = Vec::new();
    for name in wanted {
        let path = dir.join(name);
        let sha256 =
            hex(&sha256_file(&path).with_context(|| format!("cannot read {}", path.display()))?);
        if expected_sums.get(name) != Some(&sha256) {
            bail!(
                "{} has sha256 {sha256}, but the build job reported {}: the hand-over was \
                 tampered with or mixed up",
                path.display(),
                expected_sums.get(name).map_or("nothing", String::as_str)
            );
        }
        files.push(ShippedFile {
            name: name.to_owned(),
            path,
            sha256,
        });
    }
    Ok(Built {
        files,
        started_on: parse_time_field(&record, "startedOn"),
        finished_on: parse_time_field(&record, "finishedOn"),
    })
}

/// The build record holds RFC 3339 strings; keep them as given by re-parsing only the
/// shape `YYYY-MM-DDThh:mm:ssZ`, falling back to now.
fn parse_time_field(record: &serde_json::Value, field: &str) -> i64 {
    record[field]
        .as_str()
        .and_then(parse_rfc3339)
        .unwrap_or_else(now_unix)
}

fn parse_rfc3339(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if bytes.len() != 20 || bytes[19] != b'Z' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| text.get(range)?.parse::<i64>().ok();
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    // Days from civil (Howard Hinnant), the inverse of cordon_release::time.
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    Some(days * 86_400 + hour * 3600 + minute * 60 + second)
}

/// `cargo xtask release`: every stage, ending in a published `dist/<version>/`.
pub(crate) fn release(root: &Path, options: &Options) -> Result<PathBuf> {
    let mut progress = Progress::new("release", options.quiet);
    let checked = progress.stage("check", "see the message above", |stage| {
        check(root, options, stage)
    })?;
    let version = checked.workspace.version.clone();
    let built = match &options.prebuilt {
        Some((dir, sums)) => progress.stage(
            "take-build",
            "hand over the build job's directory and its SHA256SUMS unchanged",
            |_| take_prebuilt(dir, sums, &checked),
        )?,
        None => progress.stage(
            "build",
            "fix what cargo reports above, then run again",
            |stage| build_stage(root, &checked, stage),
        )?,
    };
    let crate_set = progress.stage(
        "crates",
        "`cargo metadata --locked` must succeed in the workspace",
        |_| crates::crate_set(root, &checked.toolchain.host, &checked.workspace.shipped),
    )?;
    let statement = progress.stage("provenance", "this is a bug in xtask; report it", |_| {
        let statement = provenance(root, options, &checked, &built)?;
        statement.validate()?;
        Ok(statement)
    })?;
    let notes_text = progress.stage(
        "notes",
        "fix or remove the previous release's manifest.json, or the --advisory-db path",
        |_| release_notes(options, &checked, &built, &crate_set),
    )?;
    let published = progress.stage(
        "publish",
        "check that the dist directory is writable; pass --force to replace a release",
        |_| {
            publish(
                options,
                &checked,
                &built,
                &crate_set,
                &statement,
                &notes_text,
            )
        },
    )?;

    let mut summary = format!(
        "\nrelease {version} published in {}\n\n",
        published.display()
    );
    summary.push_str("file                                size        sha256\n");
    let mut names: Vec<_> = fs::read_dir(&published)
        .with_context(|| format!("cannot list {}", published.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.file_name()))
        .collect();
    names.sort();
    for name in names {
        let path = published.join(&name);
        let size = fs::metadata(&path).map(|meta| meta.len()).unwrap_or(0);
        let digest = sha256_file(&path)
            .map(|digest| hex(&digest))
            .unwrap_or_default();
        summary.push_str(&format!(
            "{:<35} {:>10}  {}…\n",
            name.to_string_lossy(),
            human_size(size),
            digest.get(..16).unwrap_or_default()
        ));
    }
    summary.push('\n');
    summary.push_str(&progress.stage_table());
    println!("{summary}");
    Ok(published)
}

fn provenance(
    root: &Path,
    options: &Options,
    checked: &Checked,
    built: &Built,
) -> Result<Statement> {
    let lock = root.join("Cargo.lock");
    let lock_digest =
        hex(&sha256_file(&lock).with_context(|| format!("cannot read {}", lock.display()))?);
    let source = &checked.source;
    let toolchain = &checked.toolchain;
    let (builder_id, invocation_id) = source::builder_identity();
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
    Ok(Statement::new(
        built
            .files
            .iter()
            .map(|file| ResourceDescriptor::file(&file.name, &file.sha256))
            .collect(),
        Provenance {
            build_definition: BuildDefinition {
                build_type: BUILD_TYPE.to_owned(),
                external_parameters: ExternalParameters {
                    source: SourceParameters {
                        repository: source.repository.clone(),
                        git_ref: source.git_ref.clone(),
                    },
                    command: options.command.clone(),
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
                    started_on: rfc3339_utc(built.started_on),
                    finished_on: rfc3339_utc(built.finished_on),
                },
            },
        },
    ))
}

fn release_notes(
    options: &Options,
    checked: &Checked,
    built: &Built,
    crate_set: &[CrateRecord],
) -> Result<String> {
    let version = semver::Version::parse(&checked.workspace.version)
        .with_context(|| format!("version {} is not semver", checked.workspace.version))?;
    let previous = match previous_release(&options.dist, &version)? {
        Some((previous_version, path)) => {
            let manifest = Manifest::read(&path)?;
            Some((previous_version.to_string(), manifest.crates))
        }
        None => None,
    };
    let changes = previous
        .as_ref()
        .map(|(previous_version, crates)| (previous_version.as_str(), diff(crates, crate_set)));
    let advisory_list = match &options.advisory_db {
        Some(db) => Some(advisories::load_for(
            db,
            crate_set.iter().map(|record| record.name.as_str()),
        )?),
        None => None,
    };
    let database = options
        .advisory_db
        .as_ref()
        .map(|db| db.display().to_string())
        .unwrap_or_default();
    let check = advisory_list.as_ref().map(|list| AdvisoryCheck {
        database: &database,
        hits: advisories::affecting(list, crate_set),
    });
    let files: Vec<(String, String)> = built
        .files
        .iter()
        .map(|file| (file.name.clone(), file.sha256.clone()))
        .collect();
    let commit_time = rfc3339_utc(checked.source.commit_time);
    Ok(notes::render(&NotesInput {
        name: PRODUCT,
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

/// The release directory, in a staging directory renamed into place at the end.
fn publish(
    options: &Options,
    checked: &Checked,
    built: &Built,
    crate_set: &[CrateRecord],
    statement: &Statement,
    notes_text: &str,
) -> Result<PathBuf> {
    let version = &checked.workspace.version;
    let mut staged = StagedDir::create(&options.dist, version)
        .with_context(|| format!("cannot stage a release in {}", options.dist.display()))?;
    let mut index = Index::default();
    for file in &built.files {
        staged
            .copy_file(&file.name, &file.path, true)
            .with_context(|| format!("cannot copy the built {}", file.name))?;
        index.add(&staged, &file.name, FileKind::Binary, Vec::new())?;
    }
    let shipped_names: Vec<String> = built.files.iter().map(|file| file.name.clone()).collect();

    let provenance_name = format!("{PRODUCT}-{version}.provenance.json");
    let mut statement_json = serde_json::to_vec_pretty(statement)?;
    statement_json.push(b'\n');
    staged.write_file(&provenance_name, &statement_json)?;
    index.add(
        &staged,
        &provenance_name,
        FileKind::Provenance,
        shipped_names,
    )?;

    let notes_name = "RELEASE-NOTES.md";
    staged.write_file(notes_name, notes_text.as_bytes())?;
    index.add(&staged, notes_name, FileKind::Notes, Vec::new())?;

    let manifest = Manifest {
        schema: MANIFEST_SCHEMA.to_owned(),
        name: PRODUCT.to_owned(),
        version: version.clone(),
        source: ManifestSource {
            repository: checked.source.repository.clone(),
            git_ref: checked.source.git_ref.clone(),
            commit: checked.source.commit.clone(),
            dirty: !checked.source.dirty_files.is_empty(),
            source_date_epoch: checked.source.commit_time,
        },
        files: index.files,
        crates: crate_set.to_vec(),
    };
    staged.write_file(MANIFEST_FILE, &manifest.to_json())?;
    staged.write_checksums("SHA256SUMS")?;
    Ok(staged.publish(options.force)?)
}

/// The files written so far, for `manifest.json`.
#[derive(Debug, Default)]
struct Index {
    files: Vec<ManifestFile>,
}

impl Index {
    fn add(
        &mut self,
        staged: &StagedDir,
        name: &str,
        kind: FileKind,
        describes: Vec<String>,
    ) -> Result<()> {
        let digest = staged
            .checksums()
            .iter()
            .find(|(file, _)| *file == name)
            .map(|(_, digest)| hex(digest))
            .with_context(|| format!("{name} was not written"))?;
        let size = staged.file_size(name)?;
        self.files.push(ManifestFile {
            name: name.to_owned(),
            sha256: digest,
            size,
            kind,
            describes,
        });
        Ok(())
    }
}

/// Writes `path` through a temporary file and a rename.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let temporary = path.with_extension("partial");
    fs::write(&temporary, bytes)
        .and_then(|()| fs::rename(&temporary, path))
        .with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_parsing_inverts_formatting() {
        for seconds in [0, 951_782_400, 1_700_000_000, 4_107_542_399] {
            assert_eq!(parse_rfc3339(&rfc3339_utc(seconds)), Some(seconds));
        }
        assert_eq!(parse_rfc3339("2023-11-14 22:13:20"), None);
    }
}
