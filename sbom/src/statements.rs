//! Licence *statements* in a crate's own files, read when its licence files do not carry
//! the text of every licence its declared expression names ([`crate::evidence`] tries the
//! texts first):
//! - an `SPDX-License-Identifier:` line in any of the crate's files names the licences and
//!   exceptions of the expression after it;
//! - the licence section of a top-level README (a heading naming a licence or licensing,
//!   down to the next heading), and a `Licensed under …` sentence in any of the crate's
//!   files (that line and the next two, as source-file headers wrap it), name a licence by
//!   its SPDX identifier or by its full name on the SPDX licence list (`Apache License,
//!   Version 2.0` reads as `Apache License 2.0`), compared word by word, ignoring case,
//!   punctuation and the words `the`, `version` and `v`; a name followed by `only` or `or
//!   later` is another licence and does not count.
//!
//! The files are read in path order and the scan is bounded like the copyright scan
//! ([`crate::notices`]): what was not read supports nothing. Each licence found is
//! recorded with the file that named it, so the document says where the conclusion came
//! from.

use std::path::Path;

use spdx::expression::ExprNode;
use spdx::{AdditionItem, Expression, LicenseItem};

use crate::notices;

/// Lines of a `Licensed under` sentence read with it.
const SENTENCE_LINES: usize = 3;

/// Words left out when names are compared.
const FILLER: [&str; 3] = ["the", "version", "v"];

/// What the crate's files state about its licences: one statement per place found.
#[derive(Debug, Default)]
pub(crate) struct Statements {
    /// (file relative to the crate's directory, the identifiers of an
    /// `SPDX-License-Identifier:` line).
    identifiers: Vec<(String, Vec<String>)>,
    /// (file relative to the crate's directory, the words of a licence section or
    /// sentence).
    prose: Vec<(String, Vec<String>)>,
}

impl Statements {
    /// Reads the statements of the crate whose source directory is `dir`.
    pub(crate) fn read(dir: &Path) -> Self {
        let mut statements = Self::default();
        let files = notices::crate_files(dir).files;
        if files.len() > notices::FILE_BUDGET {
            // Nothing is read: the statements found would depend on which files happened
            // to be read.
            return statements;
        }
        let mut budget = notices::BYTE_BUDGET;
        for path in files {
            let Ok(metadata) = std::fs::metadata(&path) else {
                continue;
            };
            let Some(rest) = budget.checked_sub(metadata.len()) else {
                continue;
            };
            budget = rest;
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            let text = String::from_utf8_lossy(&bytes);
            let label = notices::relative(dir, &path);
            let top_level_readme =
                path.parent() == Some(dir) && label.to_ascii_lowercase().starts_with("readme");
            if top_level_readme {
                for section in licence_sections(&text) {
                    statements.prose.push((label.clone(), words(&section)));
                }
            }
            let lower = text.to_ascii_lowercase();
            if !lower.contains("spdx-license-identifier:") && !lower.contains("licensed under") {
                continue;
            }
            let lines: Vec<&str> = text.lines().collect();
            for (index, line) in lines.iter().enumerate() {
                let lower = line.to_ascii_lowercase();
                if let Some(at) = lower.find("spdx-license-identifier:") {
                    let rest = &line[at + "spdx-license-identifier:".len()..];
                    if let Some(ids) = identifiers(rest) {
                        statements.identifiers.push((label.clone(), ids));
                    }
                } else if lower.contains("licensed under") {
                    let sentence = lines[index..]
                        .iter()
                        .take(SENTENCE_LINES)
                        .copied()
                        .collect::<Vec<_>>()
                        .join(" ");
                    statements.prose.push((label.clone(), words(&sentence)));
                }
            }
        }
        statements
    }

    /// The first file (in path order, identifier lines first) that names the licence or
    /// exception `id` (an SPDX identifier) whose full name is `full_name`.
    pub(crate) fn naming(&self, id: &str, full_name: &str) -> Option<&str> {
        if let Some((file, _)) = self
            .identifiers
            .iter()
            .find(|(_, ids)| ids.iter().any(|named| named == id))
        {
            return Some(file);
        }
        let names = [words(id), words(full_name)];
        self.prose
            .iter()
            .find(|(_, text)| names.iter().any(|name| names_licence(text, name)))
            .map(|(file, _)| file.as_str())
    }
}

/// The licences and exceptions of the expression at the start of `text` (what follows
/// `SPDX-License-Identifier:`), or `None` when it is not an SPDX expression.
fn identifiers(text: &str) -> Option<Vec<String>> {
    let expression = text
        .trim()
        .trim_end_matches("*/")
        .trim_end_matches("-->")
        .trim()
        .trim_end_matches(['"', '\'', ',', ';'])
        .trim();
    let parsed = Expression::parse_mode(expression, crate::license::MODE).ok()?;
    let mut ids = Vec::new();
    for node in parsed.iter() {
        if let ExprNode::Req(requirement) = node {
            if let LicenseItem::Spdx { id, .. } = &requirement.req.license {
                ids.push(id.name.to_owned());
            }
            if let Some(AdditionItem::Spdx(exception)) = &requirement.req.addition {
                ids.push(exception.name.to_owned());
            }
        }
    }
    Some(ids)
}

/// True when `name` (words) occurs in `text` (words) and is not followed by `only` or
/// `or later` (which make it another licence).
fn names_licence(text: &[String], name: &[String]) -> bool {
    if name.is_empty() || text.len() < name.len() {
        return false;
    }
    (0..=text.len() - name.len()).any(|start| {
        let end = start + name.len();
        text[start..end] == *name
            && !matches!(
                (
                    text.get(end).map(String::as_str),
                    text.get(end + 1).map(String::as_str)
                ),
                (Some("only"), _) | (Some("or"), Some("later"))
            )
    })
}

/// The lower-case words (runs of letters and digits) of `text`, without [`FILLER`].
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .filter(|word| !FILLER.contains(&word.as_str()))
        .collect()
}

/// The licence sections of a README: from a heading whose text names a licence or
/// licensing (`License`, `Licence`, `Licensing`) to the next heading. Headings are
/// Markdown `#` lines, lines underlined with `=` or `-`, and reStructuredText-style
/// underlined lines alike.
fn licence_sections(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let is_underline = |line: &str| {
        let line = line.trim();
        line.len() >= 3 && (line.bytes().all(|b| b == b'=') || line.bytes().all(|b| b == b'-'))
    };
    // (index of the heading's text line, lines the heading occupies)
    let heading = |index: usize| -> Option<usize> {
        let line = lines[index].trim();
        if line.starts_with('#') {
            Some(1)
        } else if !line.is_empty()
            && !is_underline(line)
            && lines.get(index + 1).is_some_and(|next| is_underline(next))
        {
            Some(2)
        } else {
            None
        }
    };
    let mut sections = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        let Some(height) = heading(index) else {
            index += 1;
            continue;
        };
        let title = lines[index].to_ascii_lowercase();
        index += height;
        if !title.contains("licen") {
            continue;
        }
        let mut body = vec![title];
        while index < lines.len() && heading(index).is_none() {
            body.push(lines[index].to_owned());
            index += 1;
        }
        sections.push(body.join("\n"));
    }
    sections
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn readme_licence_section_names_licences_by_full_name_or_identifier() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "README.md",
            "# cms\n\nSee the Apache-2.0 docs.\n\n## License\n\nLicensed under either of:\n\n- [Apache License, Version 2.0](http://www.apache.org/licenses/LICENSE-2.0)\n- [MIT license](http://opensource.org/licenses/MIT)\n\n## Contribution\n\nBSD-3-Clause mentioned elsewhere.\n",
        );
        let statements = Statements::read(dir.path());
        assert_eq!(
            statements.naming("Apache-2.0", "Apache License 2.0"),
            Some("README.md")
        );
        assert_eq!(statements.naming("MIT", "MIT License"), Some("README.md"));
        // Outside the licence section: not a statement.
        assert_eq!(
            statements.naming(
                "BSD-3-Clause",
                "BSD 3-Clause \"New\" or \"Revised\" License"
            ),
            None
        );
    }

    #[test]
    fn underlined_headings_and_bare_identifiers() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "README",
            "x\n=\n\nLicense\n-------\n\nApache-2.0\n\nMore\n----\nMIT\n",
        );
        let statements = Statements::read(dir.path());
        assert_eq!(
            statements.naming("Apache-2.0", "Apache License 2.0"),
            Some("README")
        );
        assert_eq!(statements.naming("MIT", "MIT License"), None);
    }

    #[test]
    fn source_headers_and_identifier_lines() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "src/a.rs",
            "// Copyright 2020 X\n//\n// Licensed under the Apache License, Version 2.0 (the \"License\");\n// you may not use this file except in compliance with the License.\n",
        );
        write(
            dir.path(),
            "src/b.c",
            "/* SPDX-License-Identifier: MIT OR Zlib */\n",
        );
        write(dir.path(), "src/c.rs", "// Licensed under GPL-2.0 only\n");
        let statements = Statements::read(dir.path());
        assert_eq!(
            statements.naming("Apache-2.0", "Apache License 2.0"),
            Some("src/a.rs")
        );
        assert_eq!(statements.naming("MIT", "MIT License"), Some("src/b.c"));
        assert_eq!(statements.naming("Zlib", "zlib License"), Some("src/b.c"));
        // `GPL-2.0 only` is another licence than GPL-2.0(-or-later).
        assert_eq!(
            statements.naming("GPL-2.0", "GNU General Public License v2.0 only"),
            None
        );
        // A README below the top level has no licence section for the crate.
        write(
            dir.path(),
            "vendor/README.md",
            "## License\n\nBSD-2-Clause\n",
        );
        assert_eq!(
            Statements::read(dir.path())
                .naming("BSD-2-Clause", "BSD 2-Clause \"Simplified\" License"),
            None
        );
    }

    #[test]
    fn a_readme_without_licence_section_states_nothing() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "README.md",
            "# utf8-chars\n\nMIT and Apache-2.0 are nice.\n",
        );
        let statements = Statements::read(dir.path());
        assert_eq!(statements.naming("MIT", "MIT License"), None);
        assert_eq!(statements.naming("Apache-2.0", "Apache License 2.0"), None);
    }

    #[test]
    fn a_conclusion_takes_texts_first_then_statements_never_the_field_alone() {
        let dir = tempfile::tempdir().unwrap();
        let mit = spdx::license_id("MIT").unwrap().text();
        write(dir.path(), "LICENSE", mit);
        let both = crate::license::normalise("MIT/Apache-2.0").unwrap();
        // Only the MIT text and no statement naming Apache-2.0 (arraydeque's case).
        write(
            dir.path(),
            "README.md",
            "## License\n\nLicensed under MIT license ([LICENSE-MIT](LICENSE-MIT))\n",
        );
        let read = crate::evidence::read(dir.path(), None, &[]);
        assert_eq!(read.conclude(Some(&both)), None);
        // The README's licence section names both: Apache-2.0 from the statement.
        write(
            dir.path(),
            "README.md",
            "## License\n\nLicensed under either of Apache License, Version 2.0 or MIT license.\n",
        );
        let read = crate::evidence::read(dir.path(), None, &[]);
        let conclusion = read.conclude(Some(&both)).unwrap();
        assert_eq!(conclusion.expression, "MIT OR Apache-2.0");
        assert_eq!(
            conclusion.statements,
            [("Apache-2.0".to_owned(), "README.md".to_owned())]
        );
        assert!(
            crate::evidence::statements_explained(&conclusion.statements)
                .unwrap()
                .ends_with("Apache-2.0 in README.md")
        );
        // Texts alone: no statement recorded.
        let mit_only = crate::license::normalise("MIT").unwrap();
        assert_eq!(read.conclude(Some(&mit_only)).unwrap().statements, []);
        // No licence file at all (the sigstore crates): statements can carry it all.
        let bare = tempfile::tempdir().unwrap();
        write(
            bare.path(),
            "README.md",
            "# x\n\n## License\n\nApache-2.0\n",
        );
        let apache = crate::license::normalise("Apache-2.0").unwrap();
        let read = crate::evidence::read(bare.path(), None, &[]);
        assert_eq!(
            read.conclude(Some(&apache)).unwrap().statements,
            [("Apache-2.0".to_owned(), "README.md".to_owned())]
        );
        // A licence no file names stays unconcluded.
        assert_eq!(read.conclude(Some(&both)), None);
    }
}
