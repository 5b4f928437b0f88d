//! The VEX documents the report applies: the one the release ships (a `manifest.json`
//! file of kind `vex`, signed like every file, applied by default) and a reviewer's
//! `--vex FILE`, which adds to it — its statements come after the release's, so where
//! both speak of the same advisory and crate the reviewer's wins (OpenVEX's "the later
//! statement holds"). `--ignore-release-vex` leaves the shipped one out. Each document
//! is checked against the release's crate set: a statement naming a product that is not
//! in the release, or a malformed vulnerability id, is reported, never silently ignored.

use std::path::Path;

use cordon_audit::{CrateVersion, Vex, VexStatement};
use cordon_format::{FileKind, Manifest};

use super::{ReportOptions, display_name, plain_name};
use crate::input::{self, MAX_JSON_BYTES};

/// The VEX statements in force, each with the document it came from.
#[derive(Debug, Clone, Default)]
pub(super) struct AppliedVex {
    /// Every statement, the release's first, then `--vex`'s.
    pub(super) merged: Vec<VexStatement>,
    /// For each statement of `merged`, where it came from.
    pub(super) origins: Vec<String>,
    /// One line per document: where it came from, its format and statement count.
    pub(super) documents: Vec<String>,
    /// What does not fit the release, naming the document and statement.
    pub(super) problems: Vec<String>,
    /// A document that could not be read (a VEX asked for and unusable).
    pub(super) failure: Option<String>,
}

impl AppliedVex {
    /// The merged statements as one document, for `cordon_audit::hits`.
    pub(super) fn document(&self) -> Option<Vex> {
        (!self.documents.is_empty()).then(|| Vex {
            format: "merged",
            statements: self.merged.clone(),
        })
    }

    /// Where `statement` (one of [`AppliedVex::document`]'s, by position) came from.
    pub(super) fn origin_of(&self, document: &Vex, statement: &VexStatement) -> Option<String> {
        document
            .statements
            .iter()
            .position(|candidate| std::ptr::eq(candidate, statement))
            .and_then(|index| self.origins.get(index).cloned())
    }

    /// The document summary the report shows (`None`: no VEX applied).
    pub(super) fn summary(&self) -> Option<String> {
        (!self.documents.is_empty()).then(|| self.documents.join("; "))
    }

    fn add(
        &mut self,
        origin: String,
        summary_origin: Option<&str>,
        vex: Vex,
        crates: &[CrateVersion],
    ) {
        for problem in vex.problems(crates) {
            self.problems.push(format!("VEX {origin}: {problem}"));
        }
        self.documents.push(match summary_origin {
            Some(label) => format!(
                "{label}: {} ({} statements)",
                vex.format,
                vex.statements.len()
            ),
            None => format!("{} ({} statements)", vex.format, vex.statements.len()),
        });
        self.origins
            .extend(std::iter::repeat_n(origin, vex.statements.len()));
        self.merged.extend(vex.statements);
    }
}

/// Reads the release's VEX (unless ignored) and `--vex`, checked against `crates`.
pub(super) fn applied(
    dir: &Path,
    manifest: Option<&Manifest>,
    options: &ReportOptions,
    crates: &[CrateVersion],
) -> AppliedVex {
    let mut applied = AppliedVex::default();
    if !options.ignore_release_vex
        && let Some(manifest) = manifest
    {
        for file in manifest.files_of(FileKind::Vex) {
            let origin = format!("{} (shipped in the release)", file.name);
            if !plain_name(&file.name) {
                applied.failure = Some(format!(
                    "{origin}: not a plain file name in the release directory"
                ));
                continue;
            }
            match read(&dir.join(&file.name)) {
                Ok(vex) => {
                    let label = format!("{} (shipped in the release, signed)", file.name);
                    applied.add(origin, Some(&label), vex, crates);
                }
                Err(problem) => applied.failure = Some(format!("{origin}: {problem}")),
            }
        }
    }
    if let Some(path) = &options.vex {
        let origin = format!("{} (--vex)", display_name(path));
        match read(path) {
            Ok(vex) => {
                let summary = (!applied.documents.is_empty()).then_some(origin.as_str());
                let summary = summary.map(str::to_owned);
                applied.add(origin, summary.as_deref(), vex, crates);
            }
            Err(problem) => applied.failure = Some(problem),
        }
    }
    applied
}

fn read(path: &Path) -> Result<Vex, String> {
    input::read_text(path, "VEX document", MAX_JSON_BYTES)
        .map_err(|failure| failure.reason)
        .and_then(|text| Vex::parse(path, &text).map_err(|error| error.to_string()))
}
