//! `cordon-verify report DIR`: the procurement report. It runs every check of
//! `cordon-verify release` and adds what a reviewer deciding whether to accept a release
//! needs, all offline: the SBOMs' NTIA minimum elements, the components with their
//! licences and suppliers, RustSec advisories (with VEX), licence-policy verdicts and the
//! dependency diff against a previous release. The result renders as one self-contained
//! HTML page ([`html`]) and as JSON with the same content ([`json`]).
//!
//! Bad input never stops the report: a damaged release, an unreadable advisory database,
//! a bad VEX or policy file each become a reason in the verdict, saying exactly what is
//! wrong. A check that was asked for and could not run rejects the release (fail
//! closed).

mod html;
mod html_parts;
mod json;
mod vex;

use std::path::{Path, PathBuf};

use cordon_audit::sbom::{Ntia, Sbom};
use cordon_audit::{CrateDiff, CrateVersion, Database, LicencePolicy, LicenceVerdict, Verdict};
use cordon_format::names::MANIFEST_FILE;
use cordon_format::{CrateRecord, FileKind, Manifest};

use crate::input::{self, MAX_JSON_BYTES};
use crate::release_dir::{self, Expectations};
use crate::report::{Report, Status};
use crate::signature::TrustSource;

/// What `cordon-verify report` is asked to do beyond `release`'s checks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportOptions {
    /// What the distributor expects of the release (as for `cordon-verify release`).
    pub expectations: Expectations,
    /// A previous release directory to diff the crate set against.
    pub previous: Option<PathBuf>,
    /// A local copy of the RustSec advisory database.
    pub advisory_db: Option<PathBuf>,
    /// A VEX document (OpenVEX or CycloneDX VEX) for the release, applied after the one
    /// the release ships (its statements win where both speak of the same advisory).
    pub vex: Option<PathBuf>,
    /// Leave out the VEX document the release ships.
    pub ignore_release_vex: bool,
    /// A licence policy file.
    pub licence_policy: Option<PathBuf>,
}

/// A part of the report that was asked for, not asked for, or could not be made.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Part<T> {
    /// Not asked for (the flag that enables it).
    NotRequested(&'static str),
    /// Asked for and could not be made: what is wrong.
    Failed(String),
    /// Made.
    Done(T),
}

/// What the manifest says the release is (as given; its signature is a check row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseInfo {
    /// Product name.
    pub name: String,
    /// Version.
    pub version: String,
    /// `git+<url>` of the source repository.
    pub repository: String,
    /// The ref built.
    pub git_ref: String,
    /// The commit built.
    pub commit: String,
    /// Built from a worktree with uncommitted changes.
    pub dirty: bool,
}

/// One SBOM of the release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SbomSummary {
    /// Its file name.
    pub file: String,
    /// Its format, or why it could not be read.
    pub parsed: Result<(String, Ntia), String>,
}

/// One component with its licence verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentRow {
    /// What the SBOM says of it.
    pub component: cordon_audit::sbom::Component,
    /// The policy's verdict, with `--licence-policy`.
    pub licence: Option<LicenceVerdict>,
}

/// One advisory that affects a crate of the release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HitRow {
    /// The advisory.
    pub advisory: cordon_audit::Advisory,
    /// The affected crate.
    pub krate: CrateVersion,
    /// The VEX statement about it.
    pub vex: Option<cordon_audit::VexStatement>,
    /// The document that statement came from (`NAME (shipped in the release)` or
    /// `NAME (--vex)`).
    pub vex_origin: Option<String>,
}

impl HitRow {
    /// True unless VEX takes it off the open list.
    pub fn is_open(&self) -> bool {
        !self.vex.as_ref().is_some_and(|vex| vex.status.suppresses())
    }

    /// True for an open vulnerability (not an informational advisory).
    pub fn blocks(&self) -> bool {
        self.is_open() && self.advisory.kind.is_vulnerability()
    }
}

/// The advisory check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advisories {
    /// The database's name (commit and date).
    pub database: String,
    /// How many crates were checked.
    pub crates_checked: usize,
    /// The hits.
    pub hits: Vec<HitRow>,
    /// The VEX documents applied (origin, format and statement count), when any.
    pub vex: Option<String>,
}

/// The diff against a previous release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changes {
    /// The previous release's version.
    pub previous_version: String,
    /// What changed.
    pub diff: CrateDiff,
    /// `(crate, from, to, advisory labels)` for changes that fixed advisories (with
    /// `--advisory-db`).
    pub fixed: Vec<(String, String, Option<String>, Vec<String>)>,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcurementReport {
    /// The release directory's name (its last path component).
    pub release_dir: String,
    /// How the trusted root was established.
    pub trust: String,
    /// What the manifest says, when it could be read.
    pub release: Part<ReleaseInfo>,
    /// Every row of `cordon-verify release`.
    pub checks: Report,
    /// The SBOMs and their NTIA minimum elements.
    pub sboms: Vec<SbomSummary>,
    /// The SBOM the component list comes from.
    pub components_from: Option<String>,
    /// The components, without the toolchain's.
    pub components: Vec<ComponentRow>,
    /// The Rust toolchain's components (`rustc`, `std`; [`cordon_format::toolchain`]),
    /// shown apart: they are not crates.
    pub toolchain: Vec<ComponentRow>,
    /// Advisories.
    pub advisories: Part<Advisories>,
    /// The licence policy's file name, when it was read.
    pub licence_policy: Part<String>,
    /// The diff against `--previous`.
    pub changes: Part<Changes>,
    /// VEX statements that do not fit the release (a product not in it, a malformed
    /// id), and VEX documents that could not be read.
    pub vex_problems: Vec<String>,
}

/// The verdict and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Accept or reject.
    pub accept: bool,
    /// Why it is rejected (empty when accepted).
    pub reasons: Vec<String>,
    /// What a reviewer should still look at.
    pub attention: Vec<String>,
}

/// The exit code of a release rejected only by policy (an open vulnerability, a denied
/// licence); verification failures keep their own classes (docs/verify.md).
pub const REJECTED_BY_POLICY: u8 = 1;

fn plain_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\', '\0'])
}

fn read_manifest(dir: &Path) -> Result<Manifest, String> {
    let path = dir.join(MANIFEST_FILE);
    let text =
        input::read_text(&path, "manifest", MAX_JSON_BYTES).map_err(|failure| failure.reason)?;
    Manifest::parse(text.as_bytes(), &path).map_err(|error| error.to_string())
}

fn crate_versions(crates: &[CrateRecord]) -> Vec<CrateVersion> {
    crates
        .iter()
        .map(|record| CrateVersion::new(&record.name, &record.version))
        .collect()
}

/// Builds the report for the release in `dir`.
pub fn build(dir: &Path, trust: &TrustSource, options: &ReportOptions) -> ProcurementReport {
    let checks = release_dir::verify(dir, trust, &options.expectations);
    let manifest = read_manifest(dir);
    let release = match &manifest {
        Ok(manifest) => Part::Done(ReleaseInfo {
            name: manifest.name.clone(),
            version: manifest.version.clone(),
            repository: manifest.source.repository.clone(),
            git_ref: manifest.source.git_ref.clone(),
            commit: manifest.source.commit.clone(),
            dirty: manifest.source.dirty,
        }),
        Err(problem) => Part::Failed(problem.clone()),
    };
    let mut sboms = Vec::new();
    let mut parsed_sboms = Vec::new();
    if let Ok(manifest) = &manifest {
        for file in manifest.files.iter().filter(|f| f.kind == FileKind::Sbom) {
            if !plain_name(&file.name) {
                sboms.push(SbomSummary {
                    file: file.name.clone(),
                    parsed: Err("not a plain file name in the release directory".into()),
                });
                continue;
            }
            let path = dir.join(&file.name);
            let parsed = input::read_text(&path, "SBOM", MAX_JSON_BYTES)
                .map_err(|failure| failure.reason)
                .and_then(|text| Sbom::parse(&path, &text).map_err(|e| e.to_string()));
            sboms.push(SbomSummary {
                file: file.name.clone(),
                parsed: parsed
                    .as_ref()
                    .map(|sbom| (sbom.format.clone(), sbom.ntia()))
                    .map_err(Clone::clone),
            });
            if let Ok(sbom) = parsed {
                parsed_sboms.push((file.name.clone(), sbom));
            }
        }
    }
    // Components from the richest SBOM: CycloneDX of the highest version, then SPDX.
    parsed_sboms.sort_by_key(|(_, sbom)| std::cmp::Reverse(sbom.format.clone()));
    let components_from = parsed_sboms.first().map(|(name, _)| name.clone());
    let policy = options.licence_policy.as_ref().map(|path| {
        input::read_text(path, "licence policy", MAX_JSON_BYTES)
            .map_err(|failure| failure.reason)
            .and_then(|text| LicencePolicy::parse(path, &text).map_err(|e| e.to_string()))
    });
    let (toolchain, components): (Vec<ComponentRow>, Vec<ComponentRow>) = parsed_sboms
        .into_iter()
        .next()
        .map(|(_, sbom)| sbom.components)
        .unwrap_or_default()
        .into_iter()
        .map(|component| ComponentRow {
            licence: match &policy {
                Some(Ok(policy)) => Some(
                    policy.evaluate(
                        component
                            .licence_concluded
                            .as_deref()
                            .or(component.licence_declared.as_deref()),
                    ),
                ),
                _ => None,
            },
            component,
        })
        .partition(|row| row.component.toolchain.is_some());
    let licence_policy = match (&policy, &options.licence_policy) {
        (None, _) | (_, None) => Part::NotRequested("--licence-policy FILE"),
        (Some(Ok(_)), Some(path)) => Part::Done(display_name(path)),
        (Some(Err(problem)), _) => Part::Failed(problem.clone()),
    };
    let crates = manifest
        .as_ref()
        .map(|manifest| crate_versions(&manifest.crates))
        .unwrap_or_default();
    let applied_vex = vex::applied(dir, manifest.as_ref().ok(), options, &crates);
    let (advisories, database) = advisories(options, &crates, manifest.is_ok(), &applied_vex);
    let mut vex_problems = applied_vex.problems.clone();
    vex_problems.extend(applied_vex.failure);
    let changes = changes(options, manifest.as_ref().ok(), database.as_ref());
    ProcurementReport {
        release_dir: display_name(dir),
        trust: match trust {
            TrustSource::Pinned { fingerprint, .. } => format!(
                "the root-signed trusted root (trusted_root.dsse.json), proven from the pinned root certificate sha256:{}",
                hex::encode(fingerprint)
            ),
            TrustSource::File(path) => format!("the trusted root file {}", display_name(path)),
            TrustSource::Production => "the embedded Sigstore production root".to_owned(),
            TrustSource::Staging => "the embedded Sigstore staging root".to_owned(),
        },
        release,
        checks,
        sboms,
        components_from,
        components,
        toolchain,
        advisories,
        licence_policy,
        changes,
        vex_problems,
    }
}

/// A path's last component (a reviewer's own paths stay out of the report).
fn display_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    )
}

fn advisories(
    options: &ReportOptions,
    crates: &[CrateVersion],
    manifest_read: bool,
    applied_vex: &vex::AppliedVex,
) -> (Part<Advisories>, Option<Database>) {
    let Some(db) = &options.advisory_db else {
        return (Part::NotRequested("--advisory-db DIR"), None);
    };
    if !manifest_read {
        return (
            Part::Failed(
                "not checked: manifest.json, which lists the crate set, cannot be read".into(),
            ),
            None,
        );
    }
    let database = match Database::load_for(db, crates.iter().map(|c| c.name.as_str())) {
        Ok(database) => database,
        Err(error) => return (Part::Failed(error.to_string()), None),
    };
    if let Some(problem) = &applied_vex.failure {
        return (Part::Failed(problem.clone()), Some(database));
    }
    let vex = applied_vex.document();
    let hits = cordon_audit::hits(&database, crates, vex.as_ref())
        .into_iter()
        .map(|hit| HitRow {
            advisory: hit.advisory.clone(),
            krate: hit.krate.clone(),
            vex: hit.vex.cloned(),
            vex_origin: hit
                .vex
                .zip(vex.as_ref())
                .and_then(|(statement, vex)| applied_vex.origin_of(vex, statement)),
        })
        .collect();
    let part = Part::Done(Advisories {
        database: database.id.to_string(),
        crates_checked: crates.len(),
        hits,
        vex: applied_vex.summary(),
    });
    (part, Some(database))
}

fn changes(
    options: &ReportOptions,
    manifest: Option<&Manifest>,
    database: Option<&Database>,
) -> Part<Changes> {
    let Some(previous_dir) = &options.previous else {
        return Part::NotRequested("--previous DIR");
    };
    let Some(manifest) = manifest else {
        return Part::Failed("not compared: this release's manifest.json cannot be read".into());
    };
    let previous = match read_manifest(previous_dir) {
        Ok(previous) => previous,
        Err(problem) => return Part::Failed(format!("the previous release: {problem}")),
    };
    let diff = cordon_audit::diff(&previous.crates, &manifest.crates);
    let fixed = database
        .map(|database| {
            cordon_audit::fixed_since(
                database,
                &crate_versions(&previous.crates),
                &crate_versions(&manifest.crates),
            )
            .into_iter()
            .map(|fixed| {
                (
                    fixed.name,
                    fixed.from,
                    fixed.to,
                    fixed.advisories.iter().map(|a| a.label()).collect(),
                )
            })
            .collect()
        })
        .unwrap_or_default();
    Part::Done(Changes {
        previous_version: previous.version,
        diff,
        fixed,
    })
}

impl ProcurementReport {
    /// The verdict: accept only when every verification passed, every check asked for
    /// could run, no open vulnerability affects a shipped crate and no component's
    /// licence is denied.
    pub fn decision(&self) -> Decision {
        let mut reasons = Vec::new();
        let mut attention = Vec::new();
        let failed: Vec<String> = self
            .checks
            .rows()
            .iter()
            .filter_map(|row| match &row.status {
                Status::Failed(failure) => Some(format!(
                    "verification failed ({}): {}: {}: {}",
                    failure.class, row.file, row.check, failure.reason
                )),
                _ => None,
            })
            .collect();
        reasons.extend(failed);
        if let Part::Failed(problem) = &self.release {
            reasons.push(format!("manifest.json cannot be read: {problem}"));
        }
        for (what, part) in [
            ("advisory check", self.advisories.failure()),
            ("licence policy", self.licence_policy.failure()),
            ("comparison with --previous", self.changes.failure()),
        ] {
            if let Some(problem) = part {
                reasons.push(format!("the {what} could not run: {problem}"));
            }
        }
        // Keyless bundles left unchecked (a pinned root certifies only cordon's CAs).
        attention.extend(
            self.checks
                .rows()
                .iter()
                .filter_map(|row| match &row.status {
                    crate::report::Status::Skipped(why)
                        if row.check == "keyless" && row.file == "-" =>
                    {
                        Some(why.clone())
                    }
                    _ => None,
                }),
        );
        match &self.advisories {
            Part::Done(advisories) => {
                for hit in &advisories.hits {
                    let line = format!(
                        "{} affects {} {}: {} (fixed in {})",
                        hit.advisory.label(),
                        hit.krate.name,
                        hit.krate.version,
                        hit.advisory.title,
                        hit.advisory.fixed_in()
                    );
                    if hit.blocks() {
                        reasons.push(format!("open vulnerability: {line}"));
                    } else if hit.is_open() {
                        attention.push(format!("{} advisory: {line}", hit.advisory.kind.as_str()));
                    }
                }
            }
            Part::NotRequested(flag) => attention.push(format!(
                "known vulnerabilities were not checked (pass {flag})"
            )),
            Part::Failed(_) => {}
        }
        let verdicts = |wanted: Verdict| {
            self.components
                .iter()
                .chain(&self.toolchain)
                .filter(|row| row.licence.as_ref().is_some_and(|v| v.verdict == wanted))
                .count()
        };
        match &self.licence_policy {
            Part::Done(_) => {
                for row in self.components.iter().chain(&self.toolchain) {
                    if let Some(verdict) = &row.licence
                        && verdict.verdict == Verdict::Denied
                    {
                        reasons.push(format!(
                            "licence denied by policy: {} {}: {}",
                            row.component.name,
                            row.component.version.as_deref().unwrap_or("?"),
                            verdict.reason
                        ));
                    }
                }
                let review = verdicts(Verdict::Review);
                if review > 0 {
                    attention.push(format!("{review} components' licences need review"));
                }
            }
            Part::NotRequested(flag) => {
                attention.push(format!(
                    "licences were not checked against a policy (pass {flag})"
                ));
            }
            Part::Failed(_) => {}
        }
        for sbom in &self.sboms {
            match &sbom.parsed {
                Ok((_, ntia)) if !ntia.conformant() => attention.push(format!(
                    "{} does not have every NTIA minimum element (see SBOM conformance)",
                    sbom.file
                )),
                Ok(_) => {}
                Err(problem) => attention.push(format!("{} cannot be read: {problem}", sbom.file)),
            }
        }
        attention.extend(self.vex_problems.iter().cloned());
        if self.sboms.is_empty() && matches!(self.release, Part::Done(_)) {
            attention.push("the release has no SBOM".to_owned());
        }
        Decision {
            accept: reasons.is_empty(),
            reasons,
            attention,
        }
    }

    /// The process exit code: the verification's class when a check failed, 2 when a
    /// requested input could not be read, [`REJECTED_BY_POLICY`] when only policy
    /// rejects the release, 0 when it is accepted.
    pub fn exit_code(&self) -> u8 {
        let verification = self.checks.exit_code();
        if verification != 0 {
            return verification;
        }
        let decision = self.decision();
        if decision.accept {
            0
        } else if self.advisories.failure().is_some()
            || self.licence_policy.failure().is_some()
            || self.changes.failure().is_some()
            || matches!(self.release, Part::Failed(_))
        {
            crate::exit::FailureClass::BadInput.exit_code()
        } else {
            REJECTED_BY_POLICY
        }
    }

    /// The provenance rows of the verification (source, builder and, where the
    /// verifier states it, the SLSA Build level): what `cordon-verify release` reports.
    pub fn provenance_rows(&self) -> impl Iterator<Item = &crate::report::Row> {
        self.checks
            .rows()
            .iter()
            .filter(|row| row.check == "provenance")
    }

    /// The report as one self-contained HTML page.
    pub fn to_html(&self) -> String {
        html::render(self)
    }

    /// The report as JSON, with the same content as the page.
    pub fn to_json(&self) -> serde_json::Value {
        json::render(self)
    }
}

impl<T> Part<T> {
    fn failure(&self) -> Option<&str> {
        match self {
            Part::Failed(problem) => Some(problem),
            _ => None,
        }
    }
}
