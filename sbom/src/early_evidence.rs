//! The evidence of registry crates ([`crate::evidence`]: licence files, their copyright
//! notices, the concluded licence, and the scan of a crate's other files for a notice when
//! its licence files hold none), read from cargo's unpacked sources
//! (`$CARGO_HOME/registry/src/<index>/<name>-<version>/`) while `cargo metadata` runs
//! ([`crate::head_start`] says which crates and when).
//!
//! This is only a head start, and the documents are the same bytes either way: a crate's
//! result is used only for the same source directory, when the manifest's `license-file`
//! (if any) was among the files read, and the concluded licence only when the `license`
//! field read here from the crate's `Cargo.toml` is the one cargo reports (else it is
//! concluded again from the same files). Everything not read here (path and git crates,
//! another cargo home, the crates not reached before cargo answered) is read when needed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::evidence::{self, Conclusion, Evidence};
use crate::license::{self, Licence};
use crate::notices::Scan;

/// One crate's evidence as read ahead.
#[derive(Debug)]
struct Early {
    read: evidence::Read,
    /// The `license` field read from the crate's `Cargo.toml` and the conclusion for it.
    guess: Option<(String, Option<Conclusion>)>,
    /// The scan of its other files, when its licence files hold no notice.
    scan: Option<Scan>,
}

/// Evidence read ahead, by source directory.
#[derive(Debug, Default)]
pub(crate) struct EarlyEvidence {
    map: HashMap<PathBuf, Early>,
}

impl EarlyEvidence {
    /// Reads the evidence of the registry crate `<name>-<version>` from the first of
    /// `sources` (cargo's unpacked-source directories) that holds it, with the scan of
    /// its other files when its licence files hold no notice. Not unpacked, nothing read:
    /// that only means the work is done later.
    pub(crate) fn add(&mut self, name: &str, version: &str, sources: &[PathBuf]) {
        let directory = format!("{name}-{version}");
        for source in sources {
            let dir = source.join(&directory);
            if !dir.is_dir() || self.map.contains_key(&dir) {
                continue;
            }
            let read = evidence::read(&dir, None, &[]);
            let guess = license_field(&dir.join("Cargo.toml")).map(|field| {
                let concluded = read.conclude(license::normalise(&field).as_ref());
                (field, concluded)
            });
            let scan = read.scan_needed();
            self.map.insert(dir, Early { read, guess, scan });
        }
    }

    /// True when the crate whose source directory is `dir` was read ahead.
    #[cfg(test)]
    pub(crate) fn holds(&self, dir: &Path) -> bool {
        self.map.contains_key(dir)
    }

    /// The evidence of the crate whose source directory is `dir`, as
    /// [`evidence::gather`] gives it: from what was read ahead when that is the same,
    /// else read now.
    pub(crate) fn gather(
        &self,
        dir: &Path,
        licence_file: Option<&Path>,
        parents: &[PathBuf],
        declared_field: Option<&str>,
        declared: Option<&Licence>,
    ) -> Evidence {
        let early = self.map.get(dir).filter(|early| {
            parents.is_empty()
                && licence_file.is_none_or(|file| early.read.considered(&dir.join(file)))
        });
        let Some(early) = early else {
            return evidence::gather(dir, licence_file, parents, declared);
        };
        let concluded = match &early.guess {
            Some((field, concluded)) if Some(field.as_str()) == declared_field => concluded.clone(),
            _ => early.read.conclude(declared),
        };
        early.read.evidence_scanned(concluded, early.scan.clone())
    }
}

/// The `license` of the `[package]` table of a registry crate's `Cargo.toml` (cargo
/// rewrites it on publishing: one `key = "value"` per line), when it is a plain
/// one-line string.
fn license_field(manifest: &Path) -> Option<String> {
    let text = std::fs::read_to_string(manifest).ok()?;
    let mut in_package = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[package]";
            continue;
        }
        if !in_package {
            continue;
        }
        let Some(value) = line.strip_prefix("license") else {
            continue;
        };
        let Some(value) = value.trim_start().strip_prefix('=') else {
            continue;
        };
        let value = value.trim().strip_prefix('"')?.strip_suffix('"')?;
        return (!value.contains(['"', '\\'])).then(|| value.to_owned());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_package_licence_field_only() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = dir.path().join("Cargo.toml");
        std::fs::write(
            &manifest,
            "[package]\nname = \"x\"\nlicense-file = \"COPYING\"\nlicense = \"MIT OR Apache-2.0\"\n\n[dependencies.license]\nversion = \"1\"\n",
        )
        .unwrap();
        assert_eq!(
            license_field(&manifest).as_deref(),
            Some("MIT OR Apache-2.0")
        );
        std::fs::write(
            &manifest,
            "[package]\nname = \"x\"\n[features]\nlicense = \"MIT\"\n",
        )
        .unwrap();
        assert_eq!(license_field(&manifest), None);
        std::fs::write(&manifest, "[package]\nlicense = \"MIT\\\"\"\n").unwrap();
        assert_eq!(license_field(&manifest), None);
    }

    #[test]
    fn uses_the_head_start_only_when_it_is_the_same_evidence() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("x-1.0.0");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(
            dir.join("LICENSE-MIT"),
            spdx::license_id("MIT").unwrap().text(),
        )
        .unwrap();
        std::fs::write(dir.join("COPYING.txt"), "Copyright 2020 Someone\n").unwrap();
        let read = evidence::read(&dir, None, &[]);
        let mut early = EarlyEvidence::default();
        // A wrong guess: the conclusion recorded for "MIT" is deliberately "Zlib", so a
        // result taken from the guess is visible.
        early.map.insert(
            dir.clone(),
            Early {
                scan: read.scan_needed(),
                read,
                guess: Some((
                    "MIT".into(),
                    Some(Conclusion {
                        expression: "Zlib".into(),
                        statements: Vec::new(),
                    }),
                )),
            },
        );
        let mit = license::normalise("MIT").unwrap();
        let taken = early.gather(&dir, None, &[], Some("MIT"), Some(&mit));
        assert_eq!(taken.concluded.as_deref(), Some("Zlib"));
        // Another declared field: concluded again from the files read.
        let both = license::normalise("MIT/Apache-2.0").unwrap();
        let again = early.gather(&dir, None, &[], Some("MIT/Apache-2.0"), Some(&both));
        assert_eq!(again, evidence::gather(&dir, None, &[], Some(&both)));
        // A licence file the head start did not read: everything read now.
        std::fs::write(dir.join("TERMS"), "Copyright 2021 Other\n").unwrap();
        let with_file = early.gather(&dir, Some(Path::new("TERMS")), &[], Some("MIT"), Some(&mit));
        assert_eq!(
            with_file,
            evidence::gather(&dir, Some(Path::new("TERMS")), &[], Some(&mit))
        );
        assert!(with_file.copyright.unwrap().contains("2021 Other"));
        // A licence file it did read: the head start holds.
        let read_file = early.gather(
            &dir,
            Some(Path::new("COPYING.txt")),
            &[],
            Some("MIT"),
            Some(&mit),
        );
        assert_eq!(read_file.concluded.as_deref(), Some("Zlib"));
        // Another directory: read now.
        let other = root.path().join("y-1.0.0");
        std::fs::create_dir(&other).unwrap();
        assert_eq!(
            early.gather(&other, None, &[], Some("MIT"), Some(&mit)),
            evidence::gather(&other, None, &[], Some(&mit))
        );
    }
}
