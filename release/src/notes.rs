//! Release notes in markdown: what was built from what, the shipped files, the dependency
//! changes since the previous release (with the advisories each change fixed), and the
//! RustSec advisories that affect it, the database named by its commit and date.

use std::fmt::Write as _;

use cordon_audit::{Advisory, Fixed, Hit};

use crate::crates::{CrateDiff, CrateRecord};

/// Everything the notes say.
#[derive(Debug, Clone)]
pub struct NotesInput<'a> {
    /// Product name.
    pub name: &'a str,
    /// This release's version.
    pub version: &'a str,
    /// `git+<url>` of the repository.
    pub repository: &'a str,
    /// The ref built.
    pub git_ref: &'a str,
    /// The commit built.
    pub commit: &'a str,
    /// Built from a dirty worktree.
    pub dirty: bool,
    /// The commit time, RFC 3339.
    pub commit_time: &'a str,
    /// The shipped files and their sha256.
    pub files: &'a [(String, String)],
    /// The previous release's version and the crate changes since it; `None` for a first
    /// release.
    pub previous: Option<(&'a str, &'a CrateDiff)>,
    /// The advisory check, when an advisory database was given.
    pub advisories: Option<AdvisoryCheck<'a>>,
    /// The VEX document the release carries, when it carries one.
    pub vex: Option<VexNote<'a>>,
}

/// The VEX document a release ships (the `vex` key of `[workspace.metadata.cordon]`).
#[derive(Debug, Clone, Copy)]
pub struct VexNote<'a> {
    /// Its file name in the release directory.
    pub file: &'a str,
    /// `OpenVEX` or `CycloneDX VEX`.
    pub format: &'a str,
    /// How many statements it makes.
    pub statements: usize,
}

/// The result of checking the crate set against an advisory database.
#[derive(Debug, Clone)]
pub struct AdvisoryCheck<'a> {
    /// The database's name: its commit and date (`cordon_audit::DatabaseId`), never the
    /// path it was read from.
    pub database: String,
    /// The advisories that affect a crate of this release, with that crate.
    pub hits: Vec<Hit<'a>>,
    /// The changes since the previous release that fixed advisories.
    pub fixed: Vec<Fixed<'a>>,
}

/// `RUSTSEC-… (CVE-…)` for each advisory, comma-separated.
fn labels(advisories: &[&Advisory]) -> String {
    advisories
        .iter()
        .map(|advisory| advisory.label())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The notes as markdown.
pub fn render(input: &NotesInput<'_>) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(out, "# {} {}\n", input.name, input.version);
    let _ = writeln!(
        out,
        "Built from `{}` at commit `{}` (`{}`, committed {}).",
        input.repository, input.commit, input.git_ref, input.commit_time
    );
    if input.dirty {
        out.push_str(
            "\n**Built from a worktree with uncommitted changes (`--allow-dirty`)**: the \
             binaries are not a build of that commit alone. Do not publish this release.\n",
        );
    }
    out.push_str("\n## Files\n\n| file | sha256 |\n| --- | --- |\n");
    for (name, sha256) in input.files {
        let _ = writeln!(out, "| `{name}` | `{sha256}` |");
    }

    match input.previous {
        None => out.push_str(
            "\n## Dependency changes\n\nFirst release: no previous release was found in the \
             release directory to compare with.\n",
        ),
        Some((previous, diff)) => {
            let _ = writeln!(out, "\n## Dependency changes since {previous}\n");
            if diff.is_empty() {
                out.push_str("None: the same crates at the same versions.\n");
            }
            section(&mut out, "Added", diff.added.iter().map(crate_line));
            let fixed = |name: &str, from: &str| {
                input
                    .advisories
                    .iter()
                    .flat_map(|check| &check.fixed)
                    .find(|fixed| fixed.name == name && fixed.from == from)
                    .map_or_else(String::new, |fixed| {
                        format!(" (fixes {})", labels(&fixed.advisories))
                    })
            };
            section(
                &mut out,
                "Removed",
                diff.removed
                    .iter()
                    .map(|record| crate_line(record) + &fixed(&record.name, &record.version)),
            );
            section(
                &mut out,
                "Upgraded",
                diff.upgraded.iter().map(|change| {
                    format!(
                        "`{}` {} → {}{}",
                        change.name,
                        change.from,
                        change.to,
                        fixed(&change.name, &change.from)
                    )
                }),
            );
            section(
                &mut out,
                "Downgraded",
                diff.downgraded
                    .iter()
                    .map(|change| format!("`{}` {} → {}", change.name, change.from, change.to)),
            );
        }
    }

    out.push_str("\n## Security advisories\n\n");
    if let Some(vex) = &input.vex {
        let _ = writeln!(
            out,
            "This release carries a VEX document, `{}` ({}, {} statements), signed like \
             every file: it says which advisories the release is not affected by, and why. \
             `cordon-verify report` applies it by default.\n",
            vex.file, vex.format, vex.statements
        );
    }
    match &input.advisories {
        None => out.push_str(
            "Not checked: no RustSec advisory database was given (`--advisory-db DIR`).\n",
        ),
        Some(check) if check.hits.is_empty() => {
            let _ = writeln!(
                out,
                "None of the shipped crates is affected by an advisory in {}.",
                check.database
            );
        }
        Some(check) => {
            let _ = writeln!(
                out,
                "Checked against {}. These advisories affect shipped crates:\n",
                check.database
            );
            out.push_str(
                "| advisory | CVE | crate | kind | fixed in | title | VEX |\n\
                 | --- | --- | --- | --- | --- | --- | --- |\n",
            );
            for hit in &check.hits {
                let advisory = hit.advisory;
                let cves: Vec<&str> = advisory.cve_ids().collect();
                let _ = writeln!(
                    out,
                    "| {} ({}) | {} | `{}` {} | {} | {} | {} | {} |",
                    advisory.id,
                    advisory.date,
                    if cves.is_empty() {
                        "-".to_owned()
                    } else {
                        cves.join(", ")
                    },
                    hit.krate.name,
                    hit.krate.version,
                    advisory.kind.as_str(),
                    advisory.fixed_in(),
                    advisory.title.replace('|', "\\|"),
                    vex_cell(hit.vex),
                );
            }
        }
    }
    out
}

/// What the release's VEX says of a hit: its status and justification (or detail),
/// one table cell (pipes escaped, line breaks folded), `-` when it says nothing.
fn vex_cell(statement: Option<&cordon_audit::VexStatement>) -> String {
    let Some(statement) = statement else {
        return "-".to_owned();
    };
    let mut cell = statement.status.as_str().to_owned();
    if let Some(why) = statement
        .justification
        .as_ref()
        .or(statement.detail.as_ref())
    {
        cell.push_str(": ");
        cell.push_str(why);
    }
    cell.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

fn crate_line(record: &CrateRecord) -> String {
    format!("`{}` {}", record.name, record.version)
}

fn section(out: &mut String, title: &str, lines: impl Iterator<Item = String>) {
    let lines: Vec<String> = lines.collect();
    if lines.is_empty() {
        return;
    }
    let _ = writeln!(out, "### {title} ({})\n", lines.len());
    for line in lines {
        let _ = writeln!(out, "- {line}");
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use cordon_audit::{CrateVersion, Database, DatabaseId, fixed_since, hits};

    use super::*;
    use crate::crates::{VersionChange, diff};

    fn record(name: &str, version: &str) -> CrateRecord {
        CrateRecord {
            name: name.into(),
            version: version.into(),
            source: None,
            binaries: vec![],
        }
    }

    fn input<'a>(
        previous: Option<(&'a str, &'a CrateDiff)>,
        advisories: Option<AdvisoryCheck<'a>>,
        files: &'a [(String, String)],
    ) -> NotesInput<'a> {
        NotesInput {
            name: "cordon",
            version: "0.2.0",
            repository: "git+https://github.com/cordon-dev/cordon",
            git_ref: "refs/tags/v0.2.0",
            commit: "0123",
            dirty: false,
            commit_time: "2023-11-14T22:13:20Z",
            files,
            previous,
            advisories,
            vex: None,
        }
    }

    fn database() -> Database {
        let advisory = Advisory::parse(
            Path::new("a.md"),
            "```toml\n[advisory]\nid = \"RUSTSEC-2099-0001\"\npackage = \"a\"\ndate = \"2099-01-01\"\naliases = [\"CVE-2099-1111\", \"GHSA-x\"]\n[versions]\npatched = [\">= 1.1.0\"]\n```\n# Bad | thing\n",
        )
        .unwrap();
        Database {
            id: DatabaseId {
                commit: Some("ab".repeat(20)),
                date: Some("2099-01-02T00:00:00Z".into()),
            },
            advisories: vec![advisory],
        }
    }

    #[test]
    fn first_release_and_unchecked_advisories_say_so() {
        let files = [("cordon".to_owned(), "ab".repeat(32))];
        let text = render(&input(None, None, &files));
        assert!(text.starts_with("# cordon 0.2.0\n"));
        assert!(text.contains(&format!("| `cordon` | `{}` |", "ab".repeat(32))));
        assert!(text.contains("First release"));
        assert!(text.contains("Not checked"));
    }

    #[test]
    fn changes_are_listed_by_kind() {
        let changes = diff(
            &[record("a", "1.0.0"), record("gone", "1.0.0")],
            &[record("a", "1.1.0"), record("new", "0.1.0")],
        );
        assert_eq!(
            changes.upgraded,
            [VersionChange {
                name: "a".into(),
                from: "1.0.0".into(),
                to: "1.1.0".into()
            }]
        );
        let text = render(&input(Some(("0.1.0", &changes)), None, &[]));
        assert!(text.contains("## Dependency changes since 0.1.0"));
        assert!(text.contains("### Added (1)\n\n- `new` 0.1.0\n"));
        assert!(text.contains("### Removed (1)\n\n- `gone` 1.0.0\n"));
        assert!(text.contains("### Upgraded (1)\n\n- `a` 1.0.0 → 1.1.0\n"));
        assert!(!text.contains("Downgraded"));
    }

    #[test]
    fn advisories_are_tabulated_with_cves_and_the_database_commit() {
        let database = database();
        let crates = [CrateVersion::new("a", "1.0.0")];
        let check = AdvisoryCheck {
            database: database.id.to_string(),
            hits: hits(&database, &crates, None),
            fixed: vec![],
        };
        let text = render(&input(None, Some(check), &[]));
        assert!(
            text.contains(&format!(
                "Checked against rustsec/advisory-db at commit {} (2099-01-02T00:00:00Z).",
                "ab".repeat(20)
            )),
            "{text}"
        );
        assert!(
            text.contains(
                "| RUSTSEC-2099-0001 (2099-01-01) | CVE-2099-1111 | `a` 1.0.0 | vulnerability | >=1.1.0 | Bad \\| thing | - |"
            ),
            "{text}"
        );
        assert!(!text.contains("/tmp"), "{text}");
        let vex = cordon_audit::Vex::parse(
            Path::new("v.json"),
            r#"{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [
                {"vulnerability": {"name": "CVE-2099-1111"}, "products": [{"@id": "pkg:cargo/a"}],
                 "status": "not_affected", "justification": "inline_mitigations_already_exist |\n x"}]}"#,
        )
        .unwrap();
        let check = AdvisoryCheck {
            database: database.id.to_string(),
            hits: hits(&database, &crates, Some(&vex)),
            fixed: vec![],
        };
        let mut with_vex = input(None, Some(check), &[]);
        with_vex.vex = Some(VexNote {
            file: "cordon-0.2.0.vex.json",
            format: vex.format,
            statements: 1,
        });
        let text = render(&with_vex);
        assert!(
            text.contains(
                "carries a VEX document, `cordon-0.2.0.vex.json` (OpenVEX, 1 statements)"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "| Bad \\| thing | not_affected: inline_mitigations_already_exist \\| x |\n"
            ),
            "{text}"
        );
        let clean = AdvisoryCheck {
            database: database.id.to_string(),
            hits: vec![],
            fixed: vec![],
        };
        assert!(render(&input(None, Some(clean), &[])).contains("None of the shipped crates"));
    }

    #[test]
    fn upgrades_say_which_advisories_they_fixed() {
        let database = database();
        let previous = [CrateVersion::new("a", "1.0.0")];
        let current = [CrateVersion::new("a", "1.1.0")];
        let changes = diff(&[record("a", "1.0.0")], &[record("a", "1.1.0")]);
        let check = AdvisoryCheck {
            database: database.id.to_string(),
            hits: hits(&database, &current, None),
            fixed: fixed_since(&database, &previous, &current),
        };
        let text = render(&input(Some(("0.1.0", &changes)), Some(check), &[]));
        assert!(
            text.contains("- `a` 1.0.0 → 1.1.0 (fixes RUSTSEC-2099-0001 (CVE-2099-1111))\n"),
            "{text}"
        );
        assert!(
            text.contains("None of the shipped crates is affected"),
            "{text}"
        );
    }
}
