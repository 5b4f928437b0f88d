//! RustSec advisories from a local copy of the advisory database
//! (`github.com/rustsec/advisory-db`), for the release notes.
//!
//! Each advisory is `crates/<crate>/RUSTSEC-YYYY-NNNN.md`: a TOML front matter block in a
//! ```` ```toml ```` fence, then markdown whose first `# ` heading is the title. Only what
//! the notes need is read (id, crate, title, date, versions, withdrawn, informational);
//! the `rustsec` crate would bring a git client and an HTTP stack for the same result.

use std::fs;
use std::path::{Path, PathBuf};

use semver::{Version, VersionReq};
use serde::Deserialize;

use crate::crates::CrateRecord;

/// One advisory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advisory {
    /// `RUSTSEC-YYYY-NNNN`.
    pub id: String,
    /// The affected crate.
    pub package: String,
    /// The markdown title.
    pub title: String,
    /// The date it was published (`YYYY-MM-DD`).
    pub date: String,
    /// `unmaintained`, `unsound`, `notice`... for informational advisories.
    pub informational: Option<String>,
    /// Versions that fixed it.
    pub patched: Vec<VersionReq>,
    /// Versions never affected.
    pub unaffected: Vec<VersionReq>,
}

/// An advisory database that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum AdvisoryError {
    /// A file or directory cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The path does not look like an advisory database.
    #[error("{} is not a RustSec advisory database (no crates/ directory); pass a clone of https://github.com/rustsec/advisory-db", path.display())]
    NotADatabase {
        /// The path given.
        path: PathBuf,
    },
    /// An advisory file is malformed.
    #[error("{}: {problem}", path.display())]
    Malformed {
        /// The advisory file.
        path: PathBuf,
        /// What is wrong, and where.
        problem: String,
    },
}

#[derive(Deserialize)]
struct FrontMatter {
    advisory: AdvisoryFields,
    #[serde(default)]
    versions: VersionFields,
}

#[derive(Deserialize)]
struct AdvisoryFields {
    id: String,
    package: String,
    date: toml::Value,
    #[serde(default)]
    informational: Option<String>,
    #[serde(default)]
    withdrawn: Option<toml::Value>,
}

#[derive(Deserialize, Default)]
struct VersionFields {
    #[serde(default)]
    patched: Vec<String>,
    #[serde(default)]
    unaffected: Vec<String>,
}

impl Advisory {
    /// True when `version` of the advisory's crate is affected: neither patched nor
    /// unaffected.
    pub fn affects(&self, version: &Version) -> bool {
        !self
            .patched
            .iter()
            .chain(&self.unaffected)
            .any(|requirement| requirement.matches(version))
    }

    /// Parses one advisory file's text; withdrawn advisories give `None`.
    pub fn parse(path: &Path, text: &str) -> Result<Option<Advisory>, AdvisoryError> {
        let malformed = |problem: String| AdvisoryError::Malformed {
            path: path.to_owned(),
            problem,
        };
        let rest = text.strip_prefix("```toml\n").ok_or_else(|| {
            malformed("does not start with a ```toml front matter block".to_owned())
        })?;
        let end = rest
            .find("\n```")
            .ok_or_else(|| malformed("the ```toml front matter block is never closed".into()))?;
        let front: FrontMatter = toml::from_str(&rest[..=end])
            .map_err(|error| malformed(format!("front matter: {error}")))?;
        if front.advisory.withdrawn.is_some() {
            return Ok(None);
        }
        let requirements = |field: &str, values: &[String]| {
            values
                .iter()
                .map(|value| {
                    VersionReq::parse(value).map_err(|error| {
                        malformed(format!(
                            "[versions] {field}: {value:?} is not a version requirement: {error}"
                        ))
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        };
        let title = rest[end + 4..]
            .lines()
            .find_map(|line| line.strip_prefix("# "))
            .unwrap_or("(untitled)")
            .trim()
            .to_owned();
        let date = match front.advisory.date {
            toml::Value::String(date) => date,
            other => other.to_string(),
        };
        Ok(Some(Advisory {
            id: front.advisory.id,
            package: front.advisory.package,
            title,
            date,
            informational: front.advisory.informational,
            patched: requirements("patched", &front.versions.patched)?,
            unaffected: requirements("unaffected", &front.versions.unaffected)?,
        }))
    }
}

/// Every advisory (not withdrawn) for the crates named in `names`, from the database at
/// `db`. Only `crates/<name>/` directories are read.
pub fn load_for<'a>(
    db: &Path,
    names: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<Advisory>, AdvisoryError> {
    let crates_dir = db.join("crates");
    if !crates_dir.is_dir() {
        return Err(AdvisoryError::NotADatabase {
            path: db.to_owned(),
        });
    }
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| AdvisoryError::Io { path, source }
    };
    let mut advisories = Vec::new();
    let mut names: Vec<&str> = names.into_iter().collect();
    names.sort_unstable();
    names.dedup();
    for name in names {
        let dir = crates_dir.join(name);
        if !dir.is_dir() {
            continue;
        }
        let mut files: Vec<PathBuf> = fs::read_dir(&dir)
            .map_err(io(&dir))?
            .map(|entry| entry.map(|entry| entry.path()))
            .collect::<Result<_, _>>()
            .map_err(io(&dir))?;
        files.retain(|path| path.extension().is_some_and(|extension| extension == "md"));
        files.sort();
        for path in files {
            let text = fs::read_to_string(&path).map_err(io(&path))?;
            if let Some(advisory) = Advisory::parse(&path, &text)? {
                advisories.push(advisory);
            }
        }
    }
    Ok(advisories)
}

/// The (advisory, crate) pairs where the crate's recorded version is affected.
pub fn affecting<'a>(
    advisories: &'a [Advisory],
    crates: &'a [CrateRecord],
) -> Vec<(&'a Advisory, &'a CrateRecord)> {
    let mut hits = Vec::new();
    for record in crates {
        let Ok(version) = Version::parse(&record.version) else {
            continue;
        };
        for advisory in advisories {
            if advisory.package == record.name && advisory.affects(&version) {
                hits.push((advisory, record));
            }
        }
    }
    hits
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"```toml
[advisory]
id = "RUSTSEC-2099-0001"
package = "demo"
date = "2099-01-02"
url = "https://example.invalid/advisory"
categories = ["memory-corruption"]
keywords = ["segfault"]

[versions]
patched = [">= 1.2.3"]
unaffected = ["< 1.0.0"]
```

# Demo crate reads out of bounds

Details.
"#;

    #[test]
    fn parses_front_matter_and_title() {
        let advisory = Advisory::parse(Path::new("x.md"), SAMPLE).unwrap().unwrap();
        assert_eq!(advisory.id, "RUSTSEC-2099-0001");
        assert_eq!(advisory.package, "demo");
        assert_eq!(advisory.title, "Demo crate reads out of bounds");
        assert_eq!(advisory.date, "2099-01-02");
        let affects = |v: &str| advisory.affects(&Version::parse(v).unwrap());
        assert!(affects("1.0.0"));
        assert!(affects("1.2.2"));
        assert!(!affects("1.2.3"));
        assert!(!affects("0.9.0"));
    }

    #[test]
    fn withdrawn_advisories_are_skipped() {
        let text = SAMPLE.replace("[versions]", "withdrawn = \"2099-02-01\"\n\n[versions]");
        assert_eq!(Advisory::parse(Path::new("x.md"), &text).unwrap(), None);
    }

    #[test]
    fn malformed_files_name_the_file_and_problem() {
        let error = Advisory::parse(Path::new("crates/x/bad.md"), "# no front matter")
            .unwrap_err()
            .to_string();
        assert!(error.contains("crates/x/bad.md"), "{error}");
        assert!(error.contains("```toml"), "{error}");
        let text = SAMPLE.replace(">= 1.2.3", "not a version");
        let error = Advisory::parse(Path::new("y.md"), &text)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("patched") && error.contains("not a version"),
            "{error}"
        );
    }

    #[test]
    fn loads_from_a_database_directory() {
        let db = tempfile::tempdir().unwrap();
        fs::create_dir_all(db.path().join("crates/demo")).unwrap();
        fs::write(db.path().join("crates/demo/RUSTSEC-2099-0001.md"), SAMPLE).unwrap();
        let advisories = load_for(db.path(), ["demo", "other"]).unwrap();
        assert_eq!(advisories.len(), 1);
        let crates = [
            CrateRecord {
                name: "demo".into(),
                version: "1.1.0".into(),
                source: None,
                binaries: vec![],
            },
            CrateRecord {
                name: "other".into(),
                version: "1.1.0".into(),
                source: None,
                binaries: vec![],
            },
        ];
        let hits = affecting(&advisories, &crates);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].1.name, "demo");
        assert!(matches!(
            load_for(&db.path().join("crates"), ["demo"]),
            Err(AdvisoryError::NotADatabase { .. })
        ));
    }
}
