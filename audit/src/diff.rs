//! The difference between two releases' crate sets (as `manifest.json` records them),
//! which the next release's notes and `cordon-verify report --previous` show.

use std::collections::{BTreeMap, BTreeSet};

use cordon_format::CrateRecord;

/// A version change of one crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionChange {
    /// The crate.
    pub name: String,
    /// Its version in the previous release.
    pub from: String,
    /// Its version now.
    pub to: String,
}

/// What changed between two crate sets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrateDiff {
    /// Crates (name and version) only in the new set.
    pub added: Vec<CrateRecord>,
    /// Crates only in the old set.
    pub removed: Vec<CrateRecord>,
    /// Crates whose version went up.
    pub upgraded: Vec<VersionChange>,
    /// Crates whose version went down.
    pub downgraded: Vec<VersionChange>,
}

impl CrateDiff {
    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.upgraded.is_empty()
            && self.downgraded.is_empty()
    }
}

/// The difference from `previous` to `current`. A crate present in several versions is
/// matched version by version: versions in both sets are unchanged, the remaining old and
/// new versions are paired in ascending order as version changes, and whatever is left
/// over is added or removed.
pub fn diff(previous: &[CrateRecord], current: &[CrateRecord]) -> CrateDiff {
    let group = |records: &[CrateRecord]| {
        let mut by_name: BTreeMap<String, BTreeMap<String, CrateRecord>> = BTreeMap::new();
        for record in records {
            by_name
                .entry(record.name.clone())
                .or_default()
                .insert(record.version.clone(), record.clone());
        }
        by_name
    };
    let old = group(previous);
    let new = group(current);
    let names: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    let empty = BTreeMap::new();
    let mut result = CrateDiff::default();
    for name in names {
        let old_versions = old.get(name).unwrap_or(&empty);
        let new_versions = new.get(name).unwrap_or(&empty);
        let mut gone: Vec<&CrateRecord> = old_versions
            .iter()
            .filter(|(version, _)| !new_versions.contains_key(*version))
            .map(|(_, record)| record)
            .collect();
        let mut came: Vec<&CrateRecord> = new_versions
            .iter()
            .filter(|(version, _)| !old_versions.contains_key(*version))
            .map(|(_, record)| record)
            .collect();
        gone.sort_by(|a, b| compare_versions(&a.version, &b.version));
        came.sort_by(|a, b| compare_versions(&a.version, &b.version));
        let paired = gone.len().min(came.len());
        for (from, to) in gone.iter().zip(&came) {
            let change = VersionChange {
                name: name.clone(),
                from: from.version.clone(),
                to: to.version.clone(),
            };
            if compare_versions(&to.version, &from.version).is_lt() {
                result.downgraded.push(change);
            } else {
                result.upgraded.push(change);
            }
        }
        result
            .removed
            .extend(gone[paired..].iter().map(|record| (*record).clone()));
        result
            .added
            .extend(came[paired..].iter().map(|record| (*record).clone()));
    }
    result
}

/// Semver order when both parse, text order otherwise.
fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    match (semver::Version::parse(a), semver::Version::parse(b)) {
        (Ok(a), Ok(b)) => a.cmp(&b),
        _ => a.cmp(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, version: &str) -> CrateRecord {
        CrateRecord {
            name: name.into(),
            version: version.into(),
            source: None,
            binaries: vec!["app".into()],
        }
    }

    #[test]
    fn added_removed_upgraded_downgraded() {
        let previous = [
            record("same", "1.0.0"),
            record("gone", "0.1.0"),
            record("up", "1.9.0"),
            record("down", "2.0.0"),
        ];
        let current = [
            record("same", "1.0.0"),
            record("new", "0.3.0"),
            record("up", "1.10.0"),
            record("down", "1.5.0"),
        ];
        let diff = diff(&previous, &current);
        assert_eq!(diff.added, [record("new", "0.3.0")]);
        assert_eq!(diff.removed, [record("gone", "0.1.0")]);
        assert_eq!(
            diff.upgraded,
            [VersionChange {
                name: "up".into(),
                from: "1.9.0".into(),
                to: "1.10.0".into()
            }]
        );
        assert_eq!(diff.downgraded.len(), 1);
        assert_eq!(diff.downgraded[0].to, "1.5.0");
    }

    #[test]
    fn several_versions_of_one_crate() {
        let previous = [record("g", "0.2.0"), record("g", "0.3.0")];
        let current = [
            record("g", "0.3.0"),
            record("g", "0.2.1"),
            record("g", "0.4.0"),
        ];
        let diff = diff(&previous, &current);
        // 0.3.0 is unchanged; 0.2.0 -> 0.2.1 pairs up; 0.4.0 is new.
        assert_eq!(diff.upgraded.len(), 1);
        assert_eq!(diff.upgraded[0].from, "0.2.0");
        assert_eq!(diff.upgraded[0].to, "0.2.1");
        assert_eq!(diff.added, [record("g", "0.4.0")]);
        assert!(diff.removed.is_empty());
    }

    #[test]
    fn identical_sets_have_no_diff() {
        let set = [record("a", "1.0.0")];
        assert!(diff(&set, &set).is_empty());
    }
}
