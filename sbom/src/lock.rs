//! The checksums in `Cargo.lock`.
//!
//! Only what the SBOM needs is read: each `[[package]]`'s `name`, `version`, `source` and
//! `checksum` (lock files v3 and v4), plus the `[metadata]` table of v1 lock files. Cargo
//! writes these files in a fixed, line-oriented form, so a small reader is enough and
//! spares a TOML parser's build time. Path and git packages have no checksum: they are
//! reported without one, never with an invented one.

use std::collections::BTreeMap;
use std::path::Path;

use crate::Error;

/// `(name, version, source)` → SHA-256 checksum (lower-case hex) of the `.crate` file,
/// and the lock file's package graph.
#[derive(Debug, Default)]
pub(crate) struct Checksums {
    map: BTreeMap<(String, String, String), String>,
    /// Every `[[package]]`, in lock-file order.
    packages: Vec<LockedPackage>,
}

/// One `[[package]]` of the lock file, for [`Checksums::reachable_registry_packages`].
#[derive(Debug, Default)]
struct LockedPackage {
    name: String,
    version: String,
    /// `None` for workspace members and other path packages.
    source: Option<String>,
    /// The `dependencies` entries: `name`, `name version` or `name version (source)`.
    dependencies: Vec<String>,
}

impl Checksums {
    /// The checksum of a package from a registry, if the lock file records one.
    pub(crate) fn get(&self, name: &str, version: &str, source: &str) -> Option<&str> {
        self.map
            .get(&(name.to_owned(), version.to_owned(), source.to_owned()))
            .map(String::as_str)
    }

    /// `(name, version, checksum)` of the registry packages reachable in the lock file's
    /// graph from the path packages (workspace members) named `roots`, nearest first.
    /// The graph joins every platform's, feature's and kind's dependencies, so this is a
    /// superset of what a build of the roots links (a root's dev-dependencies among it),
    /// and a small one next to the whole lock file of a workspace of many members.
    pub(crate) fn reachable_registry_packages(&self, roots: &[&str]) -> Vec<(&str, &str, &str)> {
        let mut by_name: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (index, package) in self.packages.iter().enumerate() {
            by_name
                .entry(package.name.as_str())
                .or_default()
                .push(index);
        }
        let mut seen = vec![false; self.packages.len()];
        let mut queue: std::collections::VecDeque<usize> = self
            .packages
            .iter()
            .enumerate()
            .filter(|(_, package)| {
                package.source.is_none() && roots.contains(&package.name.as_str())
            })
            .map(|(index, _)| index)
            .collect();
        for &index in &queue {
            seen[index] = true;
        }
        let mut reachable = Vec::new();
        while let Some(index) = queue.pop_front() {
            let package = &self.packages[index];
            if let Some(source) = &package.source
                && let Some(checksum) = self.map.get(&(
                    package.name.clone(),
                    package.version.clone(),
                    source.clone(),
                ))
            {
                reachable.push((
                    package.name.as_str(),
                    package.version.as_str(),
                    checksum.as_str(),
                ));
            }
            for entry in &package.dependencies {
                let mut parts = entry.splitn(3, ' ');
                let name = parts.next().unwrap_or_default();
                let version = parts.next();
                let source = parts
                    .next()
                    .map(|source| source.trim_start_matches('(').trim_end_matches(')'));
                let candidates = by_name.get(name).map(Vec::as_slice).unwrap_or_default();
                for &candidate in candidates {
                    let locked = &self.packages[candidate];
                    let matches = version.is_none_or(|version| locked.version == version)
                        && source.is_none_or(|source| locked.source.as_deref() == Some(source));
                    if matches && !seen[candidate] {
                        seen[candidate] = true;
                        queue.push_back(candidate);
                    }
                }
            }
        }
        reachable
    }

    /// Reads `path`, naming it and the line in every error.
    pub(crate) fn read(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                Error::NoLockfile {
                    path: path.to_path_buf(),
                }
            } else {
                Error::Io {
                    path: path.to_path_buf(),
                    source,
                }
            }
        })?;
        Self::parse(&text).map_err(|(line, message)| Error::Lockfile {
            path: path.to_path_buf(),
            line,
            message,
        })
    }

    fn parse(text: &str) -> Result<Self, (usize, String)> {
        #[derive(PartialEq)]
        enum Section {
            Package,
            Metadata,
            Other,
        }
        let mut map = BTreeMap::new();
        let mut packages: Vec<LockedPackage> = Vec::new();
        let mut section = Section::Other;
        let mut current: BTreeMap<&str, String> = BTreeMap::new();
        // The entries of the `dependencies = [ … ]` array being read (one per line).
        let mut dependencies: Option<Vec<String>> = None;
        let mut in_dependencies = false;
        let mut flush = |fields: &mut BTreeMap<&str, String>,
                         dependencies: &mut Option<Vec<String>>| {
            if let (Some(name), Some(version), Some(source), Some(checksum)) = (
                fields.get("name"),
                fields.get("version"),
                fields.get("source"),
                fields.get("checksum"),
            ) {
                map.insert(
                    (name.clone(), version.clone(), source.clone()),
                    checksum.clone(),
                );
            }
            if let (Some(name), Some(version)) = (fields.get("name"), fields.get("version")) {
                packages.push(LockedPackage {
                    name: name.clone(),
                    version: version.clone(),
                    source: fields.get("source").cloned(),
                    dependencies: dependencies.take().unwrap_or_default(),
                });
            }
            fields.clear();
            *dependencies = None;
        };
        let mut v1 = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if in_dependencies {
                if line == "]" {
                    in_dependencies = false;
                } else if let Some(entry) = quoted(line.trim_end_matches(',')) {
                    dependencies.get_or_insert_with(Vec::new).push(entry);
                }
                continue;
            }
            if line.starts_with('[') {
                flush(&mut current, &mut dependencies);
                section = match line {
                    "[[package]]" => Section::Package,
                    "[metadata]" => Section::Metadata,
                    _ => Section::Other,
                };
                continue;
            }
            match section {
                Section::Package => {
                    if line == "dependencies = [" {
                        in_dependencies = true;
                        dependencies = Some(Vec::new());
                    } else if let Some((key, value)) = line.split_once(" = ")
                        && let Some(value) = quoted(value)
                    {
                        current.insert(key, value);
                    }
                }
                Section::Metadata => {
                    // "checksum NAME VERSION (SOURCE)" = "HEX"
                    let Some((key, value)) = line.split_once(" = ") else {
                        return Err((index + 1, "expected `\"key\" = \"value\"`".into()));
                    };
                    let (Some(key), Some(value)) = (quoted(key), quoted(value)) else {
                        return Err((index + 1, "expected quoted strings".into()));
                    };
                    v1.push((index + 1, key, value));
                }
                Section::Other => {}
            }
        }
        flush(&mut current, &mut dependencies);
        for (line, key, value) in v1 {
            let Some(rest) = key.strip_prefix("checksum ") else {
                continue;
            };
            let mut parts = rest.splitn(3, ' ');
            let (Some(name), Some(version), Some(source)) =
                (parts.next(), parts.next(), parts.next())
            else {
                return Err((line, format!("cannot read checksum key `{key}`")));
            };
            let source = source.trim_start_matches('(').trim_end_matches(')');
            if value != "<none>" {
                map.insert((name.into(), version.into(), source.into()), value);
            }
        }
        for ((name, version, _), checksum) in &map {
            if checksum.len() != 64 || !checksum.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err((
                    0,
                    format!("the checksum of {name} {version} is not a SHA-256 hex digest"),
                ));
            }
        }
        Ok(Self { map, packages })
    }
}

/// The content of a basic TOML string as cargo writes it (no escapes in these fields).
fn quoted(value: &str) -> Option<String> {
    let inner = value.trim().strip_prefix('"')?.strip_suffix('"')?;
    (!inner.contains('\\')).then(|| inner.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CRATES_IO: &str = "registry+https://github.com/rust-lang/crates.io-index";

    #[test]
    fn reads_v4_checksums_and_skips_path_and_git() {
        let text = format!(
            r#"# This file is automatically @generated by Cargo.
version = 4

[[package]]
name = "a"
version = "0.1.0"
dependencies = [
 "serde",
]

[[package]]
name = "g"
version = "0.2.0"
source = "git+https://github.com/o/g#0123456789abcdef0123456789abcdef01234567"

[[package]]
name = "serde"
version = "1.0.228"
source = "{CRATES_IO}"
checksum = "{}"
"#,
            "ab".repeat(32)
        );
        let sums = Checksums::parse(&text).unwrap();
        assert_eq!(
            sums.get("serde", "1.0.228", CRATES_IO),
            Some("ab".repeat(32).as_str())
        );
        assert_eq!(sums.map.len(), 1);
    }

    #[test]
    fn reaches_registry_packages_from_the_roots_through_path_packages() {
        let sum = |byte: &str| byte.repeat(32);
        let text = format!(
            r#"version = 4

[[package]]
name = "app"
version = "0.1.0"
dependencies = [
 "helper",
 "rand 0.8.5",
]

[[package]]
name = "helper"
version = "0.1.0"
dependencies = [
 "rand 0.9.0 (registry+https://example.com/other-index)",
 "serde",
]

[[package]]
name = "other-member"
version = "0.1.0"
dependencies = [
 "unreached",
]

[[package]]
name = "rand"
version = "0.8.5"
source = "{CRATES_IO}"
checksum = "{a}"

[[package]]
name = "rand"
version = "0.9.0"
source = "registry+https://example.com/other-index"
checksum = "{b}"

[[package]]
name = "rand"
version = "0.9.0"
source = "{CRATES_IO}"
checksum = "{c}"

[[package]]
name = "serde"
version = "1.0.228"
source = "{CRATES_IO}"
checksum = "{d}"

[[package]]
name = "unreached"
version = "1.0.0"
source = "{CRATES_IO}"
checksum = "{e}"
"#,
            a = sum("0a"),
            b = sum("0b"),
            c = sum("0c"),
            d = sum("0d"),
            e = sum("0e"),
        );
        let lock = Checksums::parse(&text).unwrap();
        let reached: Vec<(&str, &str)> = lock
            .reachable_registry_packages(&["app"])
            .into_iter()
            .map(|(name, version, checksum)| {
                assert_eq!(checksum.len(), 64);
                (name, version)
            })
            .collect();
        // Nearest first; the name-and-version entry and the one with a source pick
        // exactly one `rand` each, and crates.io's `rand 0.9.0` is not reached.
        assert_eq!(
            reached,
            [("rand", "0.8.5"), ("rand", "0.9.0"), ("serde", "1.0.228")]
        );
        assert_eq!(
            lock.reachable_registry_packages(&["app"])[1].2,
            sum("0b").as_str()
        );
        assert!(lock.reachable_registry_packages(&["nope"]).is_empty());
    }

    #[test]
    fn reads_v1_metadata_table() {
        let text = format!(
            "[[package]]\nname = \"x\"\nversion = \"1.0.0\"\nsource = \"{CRATES_IO}\"\n\n[metadata]\n\"checksum x 1.0.0 ({CRATES_IO})\" = \"{}\"\n",
            "01".repeat(32)
        );
        let sums = Checksums::parse(&text).unwrap();
        assert_eq!(
            sums.get("x", "1.0.0", CRATES_IO),
            Some("01".repeat(32).as_str())
        );
    }

    #[test]
    fn rejects_a_malformed_checksum() {
        let text = format!(
            "[[package]]\nname = \"x\"\nversion = \"1.0.0\"\nsource = \"{CRATES_IO}\"\nchecksum = \"nothex\"\n"
        );
        assert!(Checksums::parse(&text).is_err());
    }
}
