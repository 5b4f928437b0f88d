//! Copyright notices: what a notice line is ([`copyright_notice`], used for licence files
//! by [`crate::evidence`] too), and the scan of a crate's other files, read when its
//! licence and notice files hold none ([`crate::evidence`] reads those first): every file
//! under the crate's directory, sorted by path, each line tested by [`copyright_notice`]
//! (source comments included: the comment markers are stripped first).
//!
//! The scan is bounded ([`FILE_BUDGET`] files, [`BYTE_BUDGET`] bytes). Its outcome is one
//! of three, and the documents say which ([`CopyrightOrigin`]):
//! - notices found: they are the copyright text, with the files they came from;
//! - every file read and none holds a notice: SPDX's `NONE` ("the crate's files contain no
//!   copyright statement"), never a guess;
//! - the bound was reached (or a file could not be read) before a notice was found:
//!   `NOASSERTION`, since the unread part may hold one.

use std::path::{Path, PathBuf};

/// At most this many files are read per crate (here and by [`crate::statements`]).
pub(crate) const FILE_BUDGET: usize = 4000;
/// At most this many bytes are read per crate (here and by [`crate::statements`]).
pub(crate) const BYTE_BUDGET: u64 = 32 << 20;
/// At most this many notices are kept per crate (here and by [`crate::evidence`]), each
/// at most [`LINE_LIMIT`] characters.
pub(crate) const NOTICE_LIMIT: usize = 20;
const LINE_LIMIT: usize = 240;

/// What every copyright notice contains (the word, or a mark).
const MARKS: [&str; 5] = ["opyright", "OPYRIGHT", "(c)", "(C)", "©"];

/// Where a component's copyright text came from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) enum CopyrightOrigin {
    /// The crate's licence, notice and copyright files (`licence_files`).
    #[default]
    LicenceFiles,
    /// Other files of the crate, relative to its directory (sorted, deduplicated).
    SourceFiles(Vec<String>),
    /// Every one of the crate's `files` was read: none holds a copyright statement.
    NoneFound { files: usize },
    /// The crate's files were not all read (the bound, or an unreadable file): unknown.
    NotExamined { reason: String },
}

impl CopyrightOrigin {
    /// One sentence for a document's comment or property.
    pub(crate) fn explain(&self, licence_files: &[String]) -> String {
        match self {
            Self::LicenceFiles => format!("copyright: from {}", licence_files.join(", ")),
            Self::SourceFiles(files) => format!(
                "copyright: no notice in its licence files; from its source files {}",
                files.join(", ")
            ),
            Self::NoneFound { files } => format!(
                "copyright: NONE, none of the crate's {files} files holds a copyright statement"
            ),
            Self::NotExamined { reason } => {
                format!("copyright: NOASSERTION, no notice in its licence files and {reason}")
            }
        }
    }
}

/// The SPDX copyright text: the notices, else `NONE` when the crate's files were all read
/// and hold none, else `NOASSERTION`.
pub(crate) fn spdx_text(copyright: Option<&str>, origin: &CopyrightOrigin) -> String {
    match (copyright, origin) {
        (Some(text), _) => text.to_owned(),
        (None, CopyrightOrigin::NoneFound { .. }) => "NONE".to_owned(),
        (None, _) => "NOASSERTION".to_owned(),
    }
}

/// The outcome of a scan: notices (with the origin) or none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scan {
    pub(crate) notices: Vec<String>,
    pub(crate) origin: CopyrightOrigin,
}

/// A crate's files, as [`crate_files`] lists them.
pub(crate) struct CrateFiles {
    /// Every file under the crate directory (not `.git` or `target`), sorted; the listing
    /// stops once it holds more than [`FILE_BUDGET`].
    pub(crate) files: Vec<PathBuf>,
    /// The first directory that could not be listed, relative to the crate.
    pub(crate) unreadable: Option<String>,
}

/// Lists the files under `dir` (not `.git` or `target`), sorted, stopping past
/// [`FILE_BUDGET`] files.
pub(crate) fn crate_files(dir: &Path) -> CrateFiles {
    let mut files: Vec<PathBuf> = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    let mut unreadable: Option<String> = None;
    while let Some(directory) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&directory) else {
            unreadable.get_or_insert_with(|| relative(dir, &directory));
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let name = entry.file_name();
            if kind.is_dir() && name != ".git" && name != "target" {
                pending.push(entry.path());
            } else if kind.is_file() {
                files.push(entry.path());
            }
        }
        if files.len() > FILE_BUDGET {
            break;
        }
    }
    files.sort();
    CrateFiles { files, unreadable }
}

/// Scans the files under `dir` as described in the module documentation.
pub(crate) fn scan(dir: &Path) -> Scan {
    let CrateFiles { files, unreadable } = crate_files(dir);
    let not_examined = |reason: String| Scan {
        notices: Vec::new(),
        origin: CopyrightOrigin::NotExamined { reason },
    };
    if files.len() > FILE_BUDGET {
        return not_examined(format!(
            "it has more than {FILE_BUDGET} files (not all read)"
        ));
    }
    let mut notices: Vec<String> = Vec::new();
    let mut origins: Vec<String> = Vec::new();
    let mut budget = BYTE_BUDGET;
    let mut complete = unreadable.is_none();
    for path in &files {
        let size = std::fs::metadata(path)
            .map(|meta| meta.len())
            .unwrap_or(u64::MAX);
        let Some(rest) = budget.checked_sub(size) else {
            complete = false;
            break;
        };
        budget = rest;
        let Ok(bytes) = std::fs::read(path) else {
            complete = false;
            continue;
        };
        // Most files are valid UTF-8: checked without copying (the lossy decoding is the
        // same text, several times slower).
        let text = match std::str::from_utf8(&bytes) {
            Ok(text) => std::borrow::Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(&bytes),
        };
        // Only lines that open like a notice and hold a word or mark of one are tested
        // in full. (The opening is tested first: a search of whole files for the marks
        // finds `(c)` candidates all over source code.)
        let candidate =
            |line: &str| may_open_notice(line) && MARKS.iter().any(|mark| line.contains(mark));
        for line in text.lines().filter(|line| candidate(line)) {
            if let Some(notice) = copyright_notice(line)
                && !notices.contains(&notice)
                && notices.len() < NOTICE_LIMIT
            {
                notices.push(notice);
                let origin = relative(dir, path);
                if !origins.contains(&origin) {
                    origins.push(origin);
                }
            }
        }
    }
    if !notices.is_empty() {
        return Scan {
            notices,
            origin: CopyrightOrigin::SourceFiles(origins),
        };
    }
    if complete {
        Scan {
            notices,
            origin: CopyrightOrigin::NoneFound { files: files.len() },
        }
    } else {
        not_examined(match unreadable {
            Some(directory) => format!("its directory {directory} could not be read"),
            None => format!("its files exceed {} MiB (not all read)", BYTE_BUDGET >> 20),
        })
    }
}

/// The line without its surrounding whitespace and leading comment markers: the text a
/// notice must open.
fn notice_text(line: &str) -> &str {
    line.trim()
        .trim_start_matches(['#', '*', '/', '-', ';', '!', '%'])
        .trim()
}

/// A cheap test that [`copyright_notice`] needs to pass: the line's text opens with
/// `copyright` or `(c)` in any case, or with `©`. (Only ASCII letters lower-case to these
/// letters, so an ASCII comparison is the same test as `copyright_notice`'s on the
/// lower-cased text.) Lets a scan of megabytes of source skip almost every line.
pub(crate) fn may_open_notice(line: &str) -> bool {
    let text = notice_text(line).as_bytes();
    let opens = |word: &[u8]| {
        text.get(..word.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(word))
    };
    opens(b"copyright") || opens(b"(c)") || text.starts_with("©".as_bytes())
}

/// The line as a copyright notice, whitespace collapsed, or `None`.
pub(crate) fn copyright_notice(line: &str) -> Option<String> {
    let text = notice_text(line);
    let lower = text.to_lowercase();
    let starts =
        lower.starts_with("copyright") || lower.starts_with("(c)") || text.starts_with('©');
    if !starts {
        return None;
    }
    let marked = lower.contains("(c)") || text.contains('©');
    let has_year = text
        .as_bytes()
        .windows(4)
        .any(|window| window.iter().all(u8::is_ascii_digit));
    // `Copyright` needs a year or a mark after it; a line opening with a mark needs a
    // year (licence texts number their clauses `(a)`, `(b)`, `(c)`).
    let word_first = lower.starts_with("copyright");
    if !(has_year || (word_first && marked)) {
        return None;
    }
    const TEMPLATES: [&str; 9] = [
        "[yyyy]",
        "{yyyy}",
        "<year>",
        "[year]",
        "{year}",
        "[name of copyright owner]",
        "<copyright holders>",
        "<owner>",
        "[fullname]",
    ];
    if TEMPLATES.iter().any(|template| lower.contains(template)) {
        return None;
    }
    // Sentences of licence texts about copyright, not notices.
    const PROSE: [&str; 7] = [
        "copyright notice",
        "copyright holder",
        "copyright owner",
        "copyright license",
        "copyright licence",
        "copyright law",
        "copyright and license",
    ];
    if PROSE.iter().any(|phrase| lower.contains(phrase)) {
        return None;
    }
    let collapsed: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    Some(collapsed.chars().take(LINE_LIMIT).collect())
}

/// `path` relative to the crate directory `dir`, with `/` separators (how documents name
/// a crate's files).
pub(crate) fn relative(dir: &Path, path: &Path) -> String {
    path.strip_prefix(dir)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
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
    fn finds_notices_in_source_comments_and_names_the_files() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "Cargo.toml", "[package]\nname = \"x\"\n");
        write(
            dir.path(),
            "src/lib.rs",
            "// Copyright 2019 The X Authors\n// Copyright (c) Jane Doe\n//! docs\nfn f() {}\n",
        );
        write(
            dir.path(),
            "src/inner/mod.rs",
            "/*\n * Copyright (c) Jane Doe\n */\n",
        );
        // Code that mentions copyright is not a notice.
        write(dir.path(), "src/other.rs", "let s = \"Copyright 2020\";\n");
        let scan = scan(dir.path());
        assert_eq!(
            scan.notices,
            ["Copyright (c) Jane Doe", "Copyright 2019 The X Authors"]
        );
        assert_eq!(
            scan.origin,
            CopyrightOrigin::SourceFiles(vec!["src/inner/mod.rs".into(), "src/lib.rs".into()])
        );
    }

    #[test]
    fn none_only_when_every_file_was_read() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "Cargo.toml", "[package]\nname = \"x\"\n");
        write(dir.path(), "src/lib.rs", "//! No notice here (c) at all.\n");
        assert_eq!(
            scan(dir.path()).origin,
            CopyrightOrigin::NoneFound { files: 2 }
        );
        // Too many files to read: unknown, not NONE.
        for index in 0..=FILE_BUDGET {
            write(dir.path(), &format!("many/{index}.rs"), "");
        }
        let scan = scan(dir.path());
        assert!(scan.notices.is_empty());
        assert!(
            matches!(&scan.origin, CopyrightOrigin::NotExamined { reason } if reason.contains("more than 4000 files")),
            "{:?}",
            scan.origin
        );
    }

    #[test]
    fn every_notice_passes_the_cheap_opening_test() {
        let lines = [
            "Copyright 2020 Jane Doe",
            "  // Copyright (c) 2019 The X Authors",
            "# COPYRIGHT 2018 Someone",
            "/* CoPyRiGhT 2017 Mixed */",
            " * (c) 2016 Marked",
            "(C) 2015 Upper",
            "© 2014 Sign",
            "-- ;! % copyright © Jane",
            "\u{a0}Copyright 2013 after a no-break space",
            "CopyrİGHT 2012 dotted capital I",
            "see the copyright 2011 notice",
            "Copyright",
            "(c)",
            "fn f() -> (c) {}",
            "",
        ];
        let notices = lines
            .iter()
            .filter(|line| copyright_notice(line).is_some())
            .count();
        assert!(notices >= 8, "{notices}");
        for line in lines {
            if copyright_notice(line).is_some() {
                assert!(may_open_notice(line), "{line:?}");
            }
        }
        assert!(!may_open_notice("see the copyright 2011 notice"));
        assert!(!may_open_notice("let x = (a, b);"));
        assert!(may_open_notice("\t// (C) 2016"));
    }

    #[test]
    fn notices_are_lines_with_a_year_or_mark() {
        assert_eq!(
            copyright_notice("Copyright (c) 2019 Jane Doe <jane@example.com>").as_deref(),
            Some("Copyright (c) 2019 Jane Doe <jane@example.com>")
        );
        assert_eq!(
            copyright_notice("  # Copyright 2014-2020   The Rust Project Developers").as_deref(),
            Some("Copyright 2014-2020 The Rust Project Developers")
        );
        assert!(copyright_notice("Copyright [yyyy] [name of copyright owner]").is_none());
        assert!(copyright_notice("Copyright (c) <year> <copyright holders>").is_none());
        assert!(copyright_notice("copyright notice and this permission notice 2020").is_none());
        assert!(copyright_notice("Copyright The Authors").is_none());
        assert!(copyright_notice("The Copyright 2020").is_none());
        assert!(copyright_notice("(c) You must retain, in the Source form").is_none());
        assert_eq!(
            copyright_notice("(c) 2021 Someone").as_deref(),
            Some("(c) 2021 Someone")
        );
    }
}
