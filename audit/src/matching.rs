//! The crate set of a release matched against an advisory database: each hit with its
//! CVE ids, the versions that fix it and the VEX statement about it, and which upgrades
//! since a previous release fixed which advisories.

use semver::Version;

use crate::advisory::Advisory;
use crate::database::Database;
use crate::vex::{Vex, VexStatement};

/// One crate of a release: its name and version.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CrateVersion {
    /// The crate's name.
    pub name: String,
    /// Its version, as recorded.
    pub version: String,
}

impl CrateVersion {
    /// A crate at a version.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> CrateVersion {
        CrateVersion {
            name: name.into(),
            version: version.into(),
        }
    }
}

/// An advisory that affects a crate of the release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit<'a> {
    /// The advisory.
    pub advisory: &'a Advisory,
    /// The affected crate.
    pub krate: &'a CrateVersion,
    /// The VEX statement about it, when the release carries one.
    pub vex: Option<&'a VexStatement>,
}

impl Hit<'_> {
    /// True unless a VEX statement says the release is not affected or has it fixed.
    pub fn is_open(&self) -> bool {
        !self
            .vex
            .is_some_and(|statement| statement.status.suppresses())
    }
}

/// Every advisory of `database` that affects a crate of `crates` (by crate, then
/// advisory file), with the VEX statement of `vex` about it. Crates whose version is not
/// semver are skipped (crates.io versions always are).
pub fn hits<'a>(
    database: &'a Database,
    crates: &'a [CrateVersion],
    vex: Option<&'a Vex>,
) -> Vec<Hit<'a>> {
    let mut hits = Vec::new();
    for krate in crates {
        let Ok(version) = Version::parse(&krate.version) else {
            continue;
        };
        for advisory in database.affecting(&krate.name, &version) {
            hits.push(Hit {
                advisory,
                krate,
                vex: vex.and_then(|vex| vex.find(advisory, &krate.name, &krate.version)),
            });
        }
    }
    hits
}

/// A crate change since the previous release that took advisories away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fixed<'a> {
    /// The crate.
    pub name: String,
    /// Its version in the previous release.
    pub from: String,
    /// Its version now; `None` when the crate was removed.
    pub to: Option<String>,
    /// The advisories that affected `from` and do not affect `to`.
    pub advisories: Vec<&'a Advisory>,
}

/// Which changes between `previous` and `current` fixed which advisories: a crate whose
/// previous version was affected and whose current version (or absence) is not.
pub fn fixed_since<'a>(
    database: &'a Database,
    previous: &[CrateVersion],
    current: &[CrateVersion],
) -> Vec<Fixed<'a>> {
    let mut fixed = Vec::new();
    for old in previous {
        let Ok(old_version) = Version::parse(&old.version) else {
            continue;
        };
        if current.contains(old) {
            continue;
        }
        let new_versions: Vec<&CrateVersion> = current
            .iter()
            .filter(|krate| krate.name == old.name)
            .collect();
        // A crate present at several versions: the change is to the nearest newer one.
        let new = new_versions
            .iter()
            .filter_map(|krate| Version::parse(&krate.version).ok().map(|v| (v, *krate)))
            .filter(|(version, _)| *version > old_version)
            .min_by(|a, b| a.0.cmp(&b.0));
        if new.is_none() && !new_versions.is_empty() {
            continue;
        }
        let advisories: Vec<&Advisory> = database
            .affecting(&old.name, &old_version)
            .filter(|advisory| {
                new.as_ref()
                    .is_none_or(|(version, _)| !advisory.affects(version))
            })
            .collect();
        if !advisories.is_empty() {
            fixed.push(Fixed {
                name: old.name.clone(),
                from: old.version.clone(),
                to: new.map(|(_, krate)| krate.version.clone()),
                advisories,
            });
        }
    }
    fixed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::database::DatabaseId;
    use crate::vex::{VexStatement, VexStatus};
    use std::path::Path;

    fn advisory(id: &str, package: &str, patched: &str) -> Advisory {
        Advisory::parse(
            Path::new("a.md"),
            &format!(
                "```toml\n[advisory]\nid = \"{id}\"\npackage = \"{package}\"\ndate = \"2099-01-02\"\naliases = [\"CVE-{id}\"]\n[versions]\npatched = [\"{patched}\"]\n```\n# T\n"
            ),
        )
        .unwrap()
    }

    fn database() -> Database {
        Database {
            id: DatabaseId::default(),
            advisories: vec![
                advisory("A-1", "a", ">= 1.2.0"),
                advisory("A-2", "a", ">= 1.5.0"),
                advisory("B-1", "b", ">= 9.0.0"),
            ],
        }
    }

    #[test]
    fn hits_carry_their_vex_statement() {
        let database = database();
        let crates = [
            CrateVersion::new("a", "1.3.0"),
            CrateVersion::new("b", "1.0.0"),
            CrateVersion::new("c", "1.0.0"),
            CrateVersion::new("a", "not-semver"),
        ];
        let vex = Vex {
            format: "OpenVEX",
            statements: vec![VexStatement {
                vulnerabilities: vec!["CVE-B-1".into()],
                products: vec!["pkg:cargo/b@1.0.0".into()],
                status: VexStatus::NotAffected,
                justification: Some("component_not_present".into()),
                detail: None,
            }],
        };
        let found = hits(&database, &crates, Some(&vex));
        let ids: Vec<(&str, bool)> = found
            .iter()
            .map(|hit| (hit.advisory.id.as_str(), hit.is_open()))
            .collect();
        assert_eq!(ids, [("A-2", true), ("B-1", false)]);
    }

    #[test]
    fn upgrades_and_removals_name_the_advisories_they_fixed() {
        let database = database();
        let previous = [
            CrateVersion::new("a", "1.1.0"),
            CrateVersion::new("b", "1.0.0"),
            CrateVersion::new("same", "1.0.0"),
        ];
        let current = [
            CrateVersion::new("a", "1.4.0"),
            CrateVersion::new("same", "1.0.0"),
        ];
        let fixed = fixed_since(&database, &previous, &current);
        assert_eq!(fixed.len(), 2);
        assert_eq!(fixed[0].name, "a");
        assert_eq!(fixed[0].to.as_deref(), Some("1.4.0"));
        let ids: Vec<&str> = fixed[0].advisories.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["A-1"], "A-2 still affects 1.4.0");
        assert_eq!(fixed[1].name, "b");
        assert_eq!(fixed[1].to, None);
    }
}
