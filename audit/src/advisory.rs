//! One RustSec advisory file (`crates/<crate>/RUSTSEC-YYYY-NNNN.md` in
//! `github.com/rustsec/advisory-db`): a TOML front matter block in a ```` ```toml ````
//! fence, then markdown whose first `# ` heading is the title.
//!
//! What a hit needs is read: id, crate, title, date, `aliases` (CVE and GHSA ids),
//! `informational` (`unmaintained`, `unsound`, `notice`), `withdrawn`, CVSS, and the
//! `[versions]` `patched` / `unaffected` requirements. Other keys (`references`,
//! `categories`, `[affected]` functions...) are allowed and ignored.

use std::path::Path;

use semver::{Version, VersionReq};
use serde::Deserialize;

use crate::error::AuditError;

/// What kind of advisory it is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// A vulnerability (no `informational` key).
    Vulnerability,
    /// `informational = "unmaintained"`.
    Unmaintained,
    /// `informational = "unsound"`.
    Unsound,
    /// `informational = "notice"`.
    Notice,
    /// Another informational kind, as written.
    Other(String),
}

impl Kind {
    fn from_informational(value: Option<&str>) -> Kind {
        match value {
            None => Kind::Vulnerability,
            Some("unmaintained") => Kind::Unmaintained,
            Some("unsound") => Kind::Unsound,
            Some("notice") => Kind::Notice,
            Some(other) => Kind::Other(other.to_owned()),
        }
    }

    /// The word shown in notes and reports: `vulnerability`, `unmaintained`...
    pub fn as_str(&self) -> &str {
        match self {
            Kind::Vulnerability => "vulnerability",
            Kind::Unmaintained => "unmaintained",
            Kind::Unsound => "unsound",
            Kind::Notice => "notice",
            Kind::Other(other) => other,
        }
    }

    /// True for a vulnerability, false for informational advisories.
    pub fn is_vulnerability(&self) -> bool {
        *self == Kind::Vulnerability
    }
}

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
    /// Other ids of the same issue: `CVE-…`, `GHSA-…`.
    pub aliases: Vec<String>,
    /// Vulnerability or an informational kind.
    pub kind: Kind,
    /// The date it was withdrawn, for withdrawn advisories (they match nothing).
    pub withdrawn: Option<String>,
    /// The CVSS vector, when given.
    pub cvss: Option<String>,
    /// The advisory's URL (`url`), when given.
    pub url: Option<String>,
    /// Versions that fixed it, as written.
    pub patched: Vec<VersionReq>,
    /// Versions never affected, as written.
    pub unaffected: Vec<VersionReq>,
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
    aliases: Vec<String>,
    #[serde(default)]
    informational: Option<String>,
    #[serde(default)]
    withdrawn: Option<toml::Value>,
    #[serde(default)]
    cvss: Option<String>,
    #[serde(default)]
    url: Option<String>,
}

#[derive(Deserialize, Default)]
struct VersionFields {
    #[serde(default)]
    patched: Vec<String>,
    #[serde(default)]
    unaffected: Vec<String>,
}

fn value_text(value: toml::Value) -> String {
    match value {
        toml::Value::String(text) => text,
        other => other.to_string(),
    }
}

impl Advisory {
    /// True when `version` of the advisory's crate is affected: the advisory is not
    /// withdrawn and the version is neither patched nor unaffected.
    pub fn affects(&self, version: &Version) -> bool {
        self.withdrawn.is_none()
            && !self
                .patched
                .iter()
                .chain(&self.unaffected)
                .any(|requirement| requirement.matches(version))
    }

    /// The CVE ids among the aliases.
    pub fn cve_ids(&self) -> impl Iterator<Item = &str> {
        self.aliases
            .iter()
            .map(String::as_str)
            .filter(|alias| alias.starts_with("CVE-"))
    }

    /// True when `id` names this advisory: its id or one of its aliases.
    pub fn is_named(&self, id: &str) -> bool {
        self.id == id || self.aliases.iter().any(|alias| alias == id)
    }

    /// The fixed versions as written (`>= 1.2.3`), comma-separated; `none` when no
    /// version is patched (typical of unmaintained crates).
    pub fn fixed_in(&self) -> String {
        if self.patched.is_empty() {
            return "none".to_owned();
        }
        self.patched
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" or ")
    }

    /// The id and its CVE aliases: `RUSTSEC-2024-0001 (CVE-2024-1234)`.
    pub fn label(&self) -> String {
        let cves: Vec<&str> = self.cve_ids().collect();
        if cves.is_empty() {
            self.id.clone()
        } else {
            format!("{} ({})", self.id, cves.join(", "))
        }
    }

    /// Parses one advisory file's text (`path` names it in errors).
    pub fn parse(path: &Path, text: &str) -> Result<Advisory, AuditError> {
        let malformed = |problem: String| AuditError::Malformed {
            path: path.to_owned(),
            problem,
        };
        let text = text.replace("\r\n", "\n");
        let rest = text.strip_prefix("```toml\n").ok_or_else(|| {
            malformed(
                "line 1: does not start with a ```toml front matter block (the advisory-db \
                 layout)"
                    .to_owned(),
            )
        })?;
        let end = rest
            .find("\n```")
            .ok_or_else(|| malformed("the ```toml front matter block is never closed".into()))?;
        let front: FrontMatter = toml::from_str(&rest[..=end]).map_err(|error| {
            let line = error
                .span()
                .map(|span| 2 + rest[..span.start].matches('\n').count());
            let place = line.map_or_else(String::new, |line| format!("line {line}: "));
            malformed(format!("{place}front matter: {}", error.message()))
        })?;
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
        let fields = front.advisory;
        Ok(Advisory {
            kind: Kind::from_informational(fields.informational.as_deref()),
            id: fields.id,
            package: fields.package,
            title,
            date: value_text(fields.date),
            aliases: fields.aliases,
            withdrawn: fields.withdrawn.map(value_text),
            cvss: fields.cvss,
            url: fields.url,
            patched: requirements("patched", &front.versions.patched)?,
            unaffected: requirements("unaffected", &front.versions.unaffected)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const SAMPLE: &str = r#"```toml
[advisory]
id = "RUSTSEC-2099-0001"
package = "demo"
date = "2099-01-02"
url = "https://example.invalid/advisory"
categories = ["memory-corruption"]
keywords = ["segfault"]
aliases = ["CVE-2099-1234", "GHSA-aaaa-bbbb-cccc"]
cvss = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"

[affected]
functions = { "demo::read" = ["< 1.2.3"] }

[versions]
patched = [">= 1.2.3"]
unaffected = ["< 1.0.0"]
```

# Demo crate reads out of bounds

Details.
"#;

    #[test]
    fn parses_front_matter_aliases_and_title() {
        let advisory = Advisory::parse(Path::new("x.md"), SAMPLE).unwrap();
        assert_eq!(advisory.id, "RUSTSEC-2099-0001");
        assert_eq!(advisory.package, "demo");
        assert_eq!(advisory.title, "Demo crate reads out of bounds");
        assert_eq!(advisory.date, "2099-01-02");
        assert_eq!(advisory.kind, Kind::Vulnerability);
        assert_eq!(advisory.cve_ids().collect::<Vec<_>>(), ["CVE-2099-1234"]);
        assert_eq!(advisory.label(), "RUSTSEC-2099-0001 (CVE-2099-1234)");
        assert_eq!(advisory.fixed_in(), ">=1.2.3");
        assert!(advisory.is_named("GHSA-aaaa-bbbb-cccc"));
        let affects = |v: &str| advisory.affects(&Version::parse(v).unwrap());
        assert!(affects("1.0.0"));
        assert!(affects("1.2.2"));
        assert!(!affects("1.2.3"));
        assert!(!affects("0.9.0"));
    }

    #[test]
    fn withdrawn_advisories_affect_nothing() {
        let text = SAMPLE.replace("[affected]", "withdrawn = \"2099-02-01\"\n\n[affected]");
        let advisory = Advisory::parse(Path::new("x.md"), &text).unwrap();
        assert_eq!(advisory.withdrawn.as_deref(), Some("2099-02-01"));
        assert!(!advisory.affects(&Version::new(1, 1, 0)));
    }

    #[test]
    fn informational_kinds_are_read() {
        for (word, kind) in [
            ("unmaintained", Kind::Unmaintained),
            ("unsound", Kind::Unsound),
            ("notice", Kind::Notice),
            ("weird", Kind::Other("weird".into())),
        ] {
            let text = SAMPLE.replace(
                "aliases =",
                &format!("informational = \"{word}\"\naliases ="),
            );
            let advisory = Advisory::parse(Path::new("x.md"), &text).unwrap();
            assert_eq!(advisory.kind, kind);
            assert_eq!(advisory.kind.as_str(), word);
            assert!(!advisory.kind.is_vulnerability());
        }
    }

    #[test]
    fn no_patched_version_reads_as_none() {
        let text = SAMPLE.replace("patched = [\">= 1.2.3\"]", "patched = []");
        let advisory = Advisory::parse(Path::new("x.md"), &text).unwrap();
        assert_eq!(advisory.fixed_in(), "none");
        assert!(advisory.affects(&Version::new(9, 0, 0)));
    }

    #[test]
    fn malformed_files_name_the_file_line_and_problem() {
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
        let text = SAMPLE.replace("package = \"demo\"", "package = demo");
        let error = Advisory::parse(Path::new("z.md"), &text)
            .unwrap_err()
            .to_string();
        assert!(error.contains("z.md: line 4:"), "{error}");
    }
}
