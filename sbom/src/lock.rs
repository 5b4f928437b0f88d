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

/// `(name, version, source)` → SHA-256 checksum (lower-case hex) of the `.crate` file.
#[derive(Debug, Default)]
pub(crate) struct Checksums {
    map: BTreeMap<(String, String, String), String>,
}

impl Checksums {
    /// The checksum of a package from a registry, if the lock file records one.
    pub(crate) fn get(&self, name: &str, version: &str, source: &str) -> Option<&str> {
        self.map
            .get(&(name.to_owned(), version.to_owned(), source.to_owned()))
            .map(String::as_str)
    }

    /// `(name, version, checksum)` of every package from a registry (crates.io or
    /// another), in lock-file order of name and version.
    pub(crate) fn registry_packages(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        self.map
            .iter()
            .filter(|((_, _, source), _)| {
                source.starts_with("registry+") || source.starts_with("sparse+")
            })
            .map(|((name, version, _), checksum)| {
                (name.as_str(), version.as_str(), checksum.as_str())
            })
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
        let mut section = Section::Other;
        let mut current: BTreeMap<&str, String> = BTreeMap::new();
        let mut flush = |fields: &mut BTreeMap<&str, String>| {
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
            fields.clear();
        };
        let mut v1 = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if line.starts_with('[') {
                flush(&mut current);
                section = match line {
                    "[[package]]" => Section::Package,
                    "[metadata]" => Section::Metadata,
                    _ => Section::Other,
                };
                continue;
            }
            match section {
                Section::Package => {
                    if let Some((key, value)) = line.split_once(" = ")
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
        flush(&mut current);
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
        Ok(Self { map })
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
