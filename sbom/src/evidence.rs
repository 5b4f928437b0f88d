//! What a crate's own files say, read from its source directory (cargo's registry `src`
//! directory for registry crates, the checkout for git crates, the workspace for path
//! crates): the copyright notices in its licence, notice and copyright files, whether
//! those files carry the licences its declared expression names (then the expression is
//! also the *concluded* licence), and the SHA-512 of its `.crate` archive from cargo's
//! download cache once that archive's SHA-256 matches `Cargo.lock`.
//!
//! The rules, documented in `docs/sbom.md`:
//! - licence files are the top-level files whose names start with `LICENSE`, `LICENCE`,
//!   `COPYING`, `COPYRIGHT`, `NOTICE` or `UNLICENSE` (any case), the files of a `LICENSES/`
//!   (REUSE) or `.licenses/` directory, and the manifest's `license-file`; for a path crate, also those of each directory up to the workspace
//!   root (a workspace keeps one `LICENSE` for its members);
//! - a copyright notice is a line of those files that starts with `Copyright` followed
//!   somewhere by a year or a `(c)`/`©` mark, or starts with `(c)` or `©` and names a year, and is not a licence's template line
//!   (`[yyyy]`, `<year>`, `[name of copyright owner]`) or a sentence about copyright;
//! - when those files hold no notice, the crate's other files are read the same way
//!   ([`crate::notices`]: their notices, or `NONE` when every file was read and holds none);
//! - a licence is supported when one licence file contains at least [`SUPPORT`] of the
//!   word pairs of the SPDX licence list's text of it (exceptions likewise); a
//!   `LicenseRef-` cannot be checked and is never supported.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use sha2::{Digest, Sha256};
use spdx::expression::ExprNode;
use spdx::{AdditionItem, Expression, LicenseItem};

use crate::license::Licence;
use crate::notices::{self, CopyrightOrigin};
use crate::statements::Statements;

/// The share of a reference licence text's word pairs a licence file must contain.
pub(crate) const SUPPORT: f64 = 0.8;

/// Licence files larger than this are not read (no licence text is that long).
const FILE_LIMIT: u64 = 1 << 20;

const NAME_PREFIXES: [&str; 6] = [
    "license",
    "licence",
    "copying",
    "copyright",
    "notice",
    "unlicense",
];

/// What the files of one crate say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Evidence {
    /// Copyright notices, one per line, in file-name order, deduplicated.
    pub(crate) copyright: Option<String>,
    /// Where `copyright` came from (or why there is none): [`crate::notices`].
    pub(crate) copyright_origin: CopyrightOrigin,
    /// The declared expression, when the crate's files carry every licence it names.
    pub(crate) concluded: Option<String>,
    /// (licence or exception, file) for each licence of `concluded` that no licence file
    /// carries the text of but a statement in the file names ([`crate::statements`]).
    pub(crate) licence_statements: Vec<(String, String)>,
    /// The licence files read, relative to the crate's directory (for the document's
    /// record of where the evidence came from).
    pub(crate) licence_files: Vec<String>,
}

/// Reads the evidence of the crate whose source directory is `dir`. `parents` are further
/// directories whose licence files count too (a path crate's workspace).
pub(crate) fn gather(
    dir: &Path,
    licence_file: Option<&Path>,
    parents: &[PathBuf],
    declared: Option<&Licence>,
) -> Evidence {
    let read = read(dir, licence_file, parents);
    let concluded = read.conclude(declared);
    read.evidence(concluded)
}

/// A crate's licence files as read and the copyright notices in them: what [`gather`]
/// needs but the declared licence (and the scan of its other files when those hold no
/// notice, done by [`Read::evidence`]), so it can be read before cargo names the licence
/// ([`crate::early_evidence`]).
#[derive(Debug, Clone)]
pub(crate) struct Read {
    /// The crate's source directory.
    dir: PathBuf,
    /// (label relative to the crate's directory, text) of each licence file, in order.
    files: Vec<(String, String)>,
    /// The paths of those files.
    paths: BTreeSet<PathBuf>,
    /// The copyright notices of those files.
    notices: Vec<String>,
}

/// Reads the licence files of the crate whose source directory is `dir` (and of
/// `parents`), and their copyright notices.
pub(crate) fn read(dir: &Path, licence_file: Option<&Path>, parents: &[PathBuf]) -> Read {
    let mut files: Vec<(String, String)> = Vec::new();
    let mut seen: BTreeSet<PathBuf> = BTreeSet::new();
    let mut add = |path: PathBuf, label: String| {
        if seen.insert(path.clone())
            && let Some(text) = read_small(&path)
        {
            files.push((label, text));
        }
    };
    let directories = std::iter::once(dir).chain(parents.iter().map(PathBuf::as_path));
    for (depth, directory) in directories.enumerate() {
        for name in licence_file_names(directory) {
            let label = format!("{}{name}", "../".repeat(depth));
            add(directory.join(&name), label);
        }
    }
    if let Some(file) = licence_file {
        add(dir.join(file), file.display().to_string());
    }
    let mut notices: Vec<String> = Vec::new();
    for (_, text) in &files {
        for line in text.lines() {
            if let Some(notice) = notices::copyright_notice(line)
                && !notices.contains(&notice)
                && notices.len() < notices::NOTICE_LIMIT
            {
                notices.push(notice);
            }
        }
    }
    Read {
        dir: dir.to_path_buf(),
        files,
        paths: seen,
        notices,
    }
}

impl Read {
    /// True when the file at `path` was considered (read, or tried and found too large or
    /// unreadable).
    pub(crate) fn considered(&self, path: &Path) -> bool {
        self.paths.contains(path)
    }

    /// The declared expression, when the crate's files carry every licence and exception
    /// it names: its text in a licence file, else a statement naming it
    /// ([`crate::statements`], read only then).
    pub(crate) fn conclude(&self, declared: Option<&Licence>) -> Option<Conclusion> {
        let licence = declared?;
        let texts: Vec<&str> = self.files.iter().map(|(_, text)| text.as_str()).collect();
        let missing = not_carried(&licence.expression, &texts)?;
        let mut statements = Vec::new();
        if !missing.is_empty() {
            let found = Statements::read(&self.dir);
            for (id, full_name) in missing {
                let file = found.naming(&id, full_name)?;
                statements.push((id, file.to_owned()));
            }
        }
        Some(Conclusion {
            expression: licence.expression.clone(),
            statements,
        })
    }

    /// The evidence, with `concluded` from [`Read::conclude`].
    pub(crate) fn evidence(&self, concluded: Option<Conclusion>) -> Evidence {
        self.evidence_scanned(concluded, self.scan_needed())
    }

    /// The scan of the crate's other files (bounded) that its evidence needs when its
    /// licence files hold no notice, else `None`.
    pub(crate) fn scan_needed(&self) -> Option<notices::Scan> {
        self.notices.is_empty().then(|| notices::scan(&self.dir))
    }

    /// [`Read::evidence`] with the scan from [`Read::scan_needed`] done beforehand.
    pub(crate) fn evidence_scanned(
        &self,
        concluded: Option<Conclusion>,
        scan: Option<notices::Scan>,
    ) -> Evidence {
        let (concluded, licence_statements) = concluded
            .map(|conclusion| (Some(conclusion.expression), conclusion.statements))
            .unwrap_or_default();
        // No notice in the licence files: the crate's other files, bounded.
        let (notices, copyright_origin) = if self.notices.is_empty() {
            let scan = scan.unwrap_or_else(|| notices::scan(&self.dir));
            (scan.notices, scan.origin)
        } else {
            (self.notices.clone(), CopyrightOrigin::LicenceFiles)
        };
        Evidence {
            copyright: (!notices.is_empty()).then(|| notices.join("\n")),
            copyright_origin,
            concluded,
            licence_statements,
            licence_files: self.files.iter().map(|(label, _)| label.clone()).collect(),
        }
    }
}

/// A concluded licence and where the licences of it that no licence file carries were
/// stated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Conclusion {
    pub(crate) expression: String,
    /// (licence or exception, file naming it); empty when licence texts carry them all.
    pub(crate) statements: Vec<(String, String)>,
}

/// How a concluded licence was reached, for a document's comment or property: `None`
/// when every licence of it is carried by a licence file's text (the licence files say
/// it), else which statement named which licence.
pub(crate) fn statements_explained(statements: &[(String, String)]) -> Option<String> {
    (!statements.is_empty()).then(|| {
        let named: Vec<String> = statements
            .iter()
            .map(|(id, file)| format!("{id} in {file}"))
            .collect();
        format!(
            "concluded licence: the declared expression; no licence text of the crate carries these, statements in its files name them: {}",
            named.join(", ")
        )
    })
}

/// The licence-like file names of `dir`, relative to it, sorted: top-level files named
/// like licences, and every file of a licence directory (REUSE's `LICENSES/`, or
/// `.licenses/`).
fn licence_file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for (name, is_file) in entries(dir) {
        let lower = name.to_ascii_lowercase();
        if is_file && NAME_PREFIXES.iter().any(|prefix| lower.starts_with(prefix)) {
            names.push(name);
        } else if !is_file && LICENCE_DIRS.contains(&lower.as_str()) {
            names.extend(
                entries(&dir.join(&name))
                    .into_iter()
                    .filter(|(_, is_file)| *is_file)
                    .map(|(file, _)| format!("{name}/{file}")),
            );
        }
    }
    names.sort();
    names
}

/// Directories whose every file is a licence text.
const LICENCE_DIRS: [&str; 4] = ["licenses", "licences", ".licenses", ".licences"];

/// (name, is a regular file) of the entries of `dir` (none when it cannot be read).
fn entries(dir: &Path) -> Vec<(String, bool)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let kind = entry.file_type().ok()?;
            Some((entry.file_name().into_string().ok()?, kind.is_file()))
        })
        .collect()
}

fn read_small(path: &Path) -> Option<String> {
    let metadata = std::fs::metadata(path).ok()?;
    if !metadata.is_file() || metadata.len() > FILE_LIMIT {
        return None;
    }
    let bytes = std::fs::read(path).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// True when every licence and exception `expression` names is carried by one of `files`.
#[cfg(test)]
pub(crate) fn supported(expression: &str, files: &[&str]) -> bool {
    not_carried(expression, files).is_some_and(|missing| missing.is_empty())
}

/// The licences and exceptions `expression` names whose text none of `files` carries,
/// as (SPDX identifier, full name), or `None` when the expression cannot be checked (not
/// valid, or naming a `LicenseRef-`).
fn not_carried(expression: &str, files: &[&str]) -> Option<Vec<(String, &'static str)>> {
    let parsed = Expression::parse_mode(expression, crate::license::MODE).ok()?;
    let file_words: Vec<Vec<Cow<'_, str>>> = files.iter().map(|text| words(text)).collect();
    let file_pairs: Vec<HashSet<(&str, &str)>> = file_words
        .iter()
        .map(|words| {
            words
                .windows(2)
                .map(|pair| (pair[0].as_ref(), pair[1].as_ref()))
                .collect()
        })
        .collect();
    let carried = |reference: &'static str| {
        let wanted = reference_pairs(reference);
        !wanted.is_empty()
            && file_pairs.iter().any(|have| {
                let found = wanted
                    .iter()
                    .filter(|(first, second)| have.contains(&(first.as_str(), second.as_str())))
                    .count();
                found as f64 >= SUPPORT * wanted.len() as f64
            })
    };
    let mut missing: Vec<(String, &'static str)> = Vec::new();
    for node in parsed.iter() {
        let ExprNode::Req(requirement) = node else {
            continue;
        };
        match &requirement.req.license {
            LicenseItem::Spdx { id, .. } => {
                if !carried(id.text()) {
                    missing.push((id.name.to_owned(), id.full_name));
                }
            }
            LicenseItem::Other(_) => return None,
        }
        match &requirement.req.addition {
            Some(AdditionItem::Spdx(exception)) if !carried(exception.text()) => {
                missing.push((exception.name.to_owned(), exception.name));
            }
            Some(AdditionItem::Other(_)) => return None,
            _ => {}
        }
    }
    missing.dedup();
    Some(missing)
}

/// The distinct adjacent word pairs ([`words`]) of a text of the SPDX licence list,
/// computed once per process: the same few reference texts (Apache-2.0, MIT) are compared
/// with nearly every crate's files.
fn reference_pairs(text: &'static str) -> Arc<Vec<(String, String)>> {
    type Cache = Mutex<HashMap<&'static str, Arc<Vec<(String, String)>>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Cache::default);
    if let Some(pairs) = cache.lock().ok().and_then(|map| map.get(text).cloned()) {
        return pairs;
    }
    let words = words(text);
    let distinct: BTreeSet<(&str, &str)> = words
        .windows(2)
        .map(|pair| (pair[0].as_ref(), pair[1].as_ref()))
        .collect();
    let pairs = Arc::new(
        distinct
            .into_iter()
            .map(|(first, second)| (first.to_owned(), second.to_owned()))
            .collect(),
    );
    if let Ok(mut map) = cache.lock() {
        map.insert(text, Arc::clone(&pairs));
    }
    pairs
}

/// The lower-case words of `text` (runs of letters and digits), borrowed when already
/// lower-case ASCII.
fn words(text: &str) -> Vec<Cow<'_, str>> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(|word| {
            if word
                .bytes()
                .all(|byte| byte.is_ascii() && !byte.is_ascii_uppercase())
            {
                Cow::Borrowed(word)
            } else {
                Cow::Owned(word.to_lowercase())
            }
        })
        .collect()
}

/// The `.crate` archive of a registry crate whose sources cargo unpacked into
/// `<registry>/src/<index>/<name>-<version>/`: `<registry>/cache/<index>/<name>-<version>.crate`.
pub(crate) fn cached_crate(source_dir: &Path) -> Option<PathBuf> {
    let name = source_dir.file_name()?.to_str()?;
    let index = source_dir.parent()?;
    let registry = index.parent()?.parent()?;
    Some(
        registry
            .join("cache")
            .join(index.file_name()?)
            .join(format!("{name}.crate")),
    )
}

/// The SHA-512 of the `.crate` at `path`, when its SHA-256 is `sha256` (lower-case hex).
pub(crate) fn crate_sha512(path: &Path, sha256: &str) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    if hex::encode(Sha256::digest(&bytes)) != sha256 {
        return None;
    }
    Some(hex::encode(sha2::Sha512::digest(&bytes)))
}

/// A registry crate's `.crate` archive.
#[derive(Debug, Clone)]
pub(crate) struct CrateFile {
    pub(crate) file_name: String,
    pub(crate) sha256: String,
    pub(crate) sha512: String,
}

/// The directories from `dir`'s parent up to `root` (nearest first), when `dir` is inside
/// `root`: a path crate's workspace, whose licence files cover its members.
pub(crate) fn workspace_parents(dir: &Path, root: &Path) -> Vec<PathBuf> {
    if !dir.starts_with(root) {
        return Vec::new();
    }
    dir.ancestors()
        .skip(1)
        .take_while(|ancestor| ancestor.starts_with(root))
        .map(Path::to_path_buf)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIT: &str = "MIT License\n\nCopyright (c) 2019 Jane Doe <jane@example.com>\n\nPermission is hereby granted, free of charge, to any person obtaining a copy\nof this software and associated documentation files (the \"Software\"), to deal\nin the Software without restriction, including without limitation the rights\nto use, copy, modify, merge, publish, distribute, sublicense, and/or sell\ncopies of the Software, and to permit persons to whom the Software is\nfurnished to do so, subject to the following conditions:\n\nThe above copyright notice and this permission notice shall be included in all\ncopies or substantial portions of the Software.\n\nTHE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR\nIMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,\nFITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE\nAUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER\nLIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,\nOUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE\nSOFTWARE.\n";

    #[test]
    fn a_licence_is_supported_only_by_its_own_text() {
        assert!(supported("MIT", &[MIT]));
        assert!(!supported("Apache-2.0", &[MIT]));
        assert!(!supported("MIT OR Apache-2.0", &[MIT]));
        let apache = spdx::license_id("Apache-2.0").unwrap().text();
        assert!(supported("MIT OR Apache-2.0", &[MIT, apache]));
        assert!(supported("MIT/Apache-2.0", &[apache, MIT]));
        assert!(!supported("ISC", &[MIT, apache]));
        assert!(!supported("LicenseRef-Vendor OR MIT", &[MIT]));
        assert!(!supported("MIT", &[]));
        let llvm = spdx::exception_id("LLVM-exception").unwrap().text();
        assert!(!supported("Apache-2.0 WITH LLVM-exception", &[apache]));
        let combined = format!("{apache}\n\n{llvm}");
        assert!(supported("Apache-2.0 WITH LLVM-exception", &[&combined]));
    }

    #[test]
    fn gathers_from_files_and_parents() {
        let root = tempfile::tempdir().unwrap();
        let member = root.path().join("member");
        std::fs::create_dir(&member).unwrap();
        std::fs::write(root.path().join("LICENSE-MIT"), MIT).unwrap();
        std::fs::write(member.join("COPYRIGHT"), "Copyright 2024 Member Authors\n").unwrap();
        std::fs::write(
            member.join("README.md"),
            "Copyright 1999 not a licence file\n",
        )
        .unwrap();
        std::fs::create_dir(member.join("LICENSES")).unwrap();
        std::fs::write(
            member.join("LICENSES/Apache-2.0.txt"),
            spdx::license_id("Apache-2.0").unwrap().text(),
        )
        .unwrap();
        let declared = crate::license::normalise("MIT").unwrap();
        let both = crate::license::normalise("MIT OR Apache-2.0").unwrap();
        let evidence = gather(&member, None, &[root.path().to_path_buf()], Some(&both));
        assert_eq!(
            evidence.concluded.as_deref(),
            Some("MIT OR Apache-2.0"),
            "{evidence:?}"
        );
        let evidence = gather(&member, None, &[root.path().to_path_buf()], Some(&declared));
        assert_eq!(
            evidence.copyright.as_deref(),
            Some("Copyright 2024 Member Authors\nCopyright (c) 2019 Jane Doe <jane@example.com>")
        );
        assert_eq!(evidence.concluded.as_deref(), Some("MIT"));
        assert_eq!(
            evidence.licence_files,
            ["COPYRIGHT", "LICENSES/Apache-2.0.txt", "../LICENSE-MIT"]
        );
        let alone = gather(&member, None, &[], Some(&declared));
        assert_eq!(alone.concluded, None);
    }

    #[test]
    fn cached_crate_path() {
        assert_eq!(
            cached_crate(Path::new("/c/registry/src/index.x-1/serde-1.0.0")),
            Some(PathBuf::from(
                "/c/registry/cache/index.x-1/serde-1.0.0.crate"
            ))
        );
    }
}
