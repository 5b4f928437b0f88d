//! `core.hooksPath`: the directory git runs hooks from when it is set. When it points
//! into the project (husky's `.husky/_`, a `.githooks` directory), the hooks there run
//! at the user's next commit outside the sandbox, so that directory is a mandatory
//! write denial like `.git/hooks`. The value is read from the files git reads it from
//! (system, global, the repository's `config` and `config.worktree`), following
//! `include.path` and `includeIf.*.path` (conditions are not evaluated: every included
//! file counts, which can only protect more).
//!
//! The parser reads the project's own (untrusted) config, so it never fails and never
//! allocates more than the file's size: anything it does not understand is skipped.

use std::path::{Path, PathBuf};

use crate::defaults::Denial;
use crate::fsview::{FsView, Kind};
use crate::schema::normalize;

/// Included files are followed this deep (git's own limit is 10).
const MAX_INCLUDE_DEPTH: usize = 10;

/// One `key = value` of a git config file: its section and key lower-cased as git
/// compares them, its subsection (`[remote "origin"]`: case kept; the old
/// `[section.sub]` form: lower-cased), and its value as written (see [`Setting::value`]).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Setting {
    pub(crate) section: String,
    pub(crate) subsection: Option<String>,
    pub(crate) key: String,
    /// The value as written, trimmed (`true` for a key without `=`).
    pub(crate) raw: String,
}

impl Setting {
    /// The value as git reads it: quotes removed, escapes resolved, a trailing comment
    /// cut.
    pub(crate) fn value(&self) -> String {
        unquote(&self.raw)
    }
}

/// Parses git config text into its settings, skipping what it cannot read: the one
/// reader of git config text (`core.hooksPath` here, the keys that run programs in
/// [`crate::nested::program_keys`]).
pub(crate) fn parse(text: &str) -> Vec<Setting> {
    let mut out = Vec::new();
    let mut section = String::new();
    let mut subsection: Option<String> = None;
    let mut lines = text.lines();
    while let Some(raw) = lines.next() {
        let mut line = raw.trim().to_owned();
        // A backslash at the end continues the value on the next line.
        while line.ends_with('\\') {
            line.pop();
            match lines.next() {
                Some(next) => line.push_str(next.trim_start()),
                None => break,
            }
        }
        let mut rest = line.as_str();
        if let Some(inner) = rest.strip_prefix('[') {
            let Some((header, tail)) = inner.split_once(']') else {
                continue;
            };
            (section, subsection) = parse_header(header);
            rest = tail.trim_start();
            if rest.is_empty() {
                continue;
            }
        }
        if rest.starts_with('#') || rest.starts_with(';') || rest.is_empty() {
            continue;
        }
        let (key, value) = match rest.split_once('=') {
            Some((key, value)) => (key.trim(), value.trim()),
            None => (rest.trim(), "true"),
        };
        if key.is_empty() || section.is_empty() {
            continue;
        }
        out.push(Setting {
            section: section.clone(),
            subsection: subsection.clone(),
            key: key.to_ascii_lowercase(),
            raw: value.to_owned(),
        });
    }
    out
}

/// `section "sub"` or `section.sub` (the old form) → lower-cased section and subsection.
fn parse_header(header: &str) -> (String, Option<String>) {
    let header = header.trim();
    if let Some((name, quoted)) = header.split_once(char::is_whitespace) {
        let sub = quoted.trim().trim_matches('"').replace("\\\"", "\"");
        return (name.to_ascii_lowercase(), Some(sub));
    }
    match header.split_once('.') {
        Some((name, sub)) => (name.to_ascii_lowercase(), Some(sub.to_ascii_lowercase())),
        None => (header.to_ascii_lowercase(), None),
    }
}

/// A value with quotes removed, escapes resolved and a trailing comment cut.
fn unquote(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut quoted = false;
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => quoted = !quoted,
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(other) => out.push(other),
                None => {}
            },
            '#' | ';' if !quoted => break,
            _ => out.push(c),
        }
    }
    out.trim_end().to_owned()
}

/// A git path value: `~/x` below the home directory, a relative one below `base`.
fn expand(value: &str, base: &Path, home: Option<&Path>) -> Option<PathBuf> {
    if value.is_empty() {
        return None;
    }
    let path = if let Some(rest) = value.strip_prefix("~/") {
        home?.join(rest)
    } else {
        base.join(value)
    };
    Some(normalize(&path))
}

/// Collects `core.hooksPath` values of `file` and the files it includes, as
/// (hooks directory, the file that set it).
fn collect(
    file: &Path,
    project: &Path,
    home: Option<&Path>,
    fs: &dyn FsView,
    depth: usize,
    out: &mut Vec<(PathBuf, PathBuf)>,
) {
    if depth > MAX_INCLUDE_DEPTH {
        return;
    }
    let Some(text) = fs.read(file) else {
        return;
    };
    let dir = file.parent().unwrap_or(Path::new("/"));
    for setting in parse(&text) {
        match (setting.section.as_str(), setting.key.as_str()) {
            ("core", "hookspath") => {
                // Relative to where hooks run: the top of the working tree.
                if let Some(path) = expand(&setting.value(), project, home) {
                    out.push((path, file.to_path_buf()));
                }
            }
            ("include" | "includeif", "path") => {
                if let Some(included) = expand(&setting.value(), dir, home) {
                    collect(&included, project, home, fs, depth + 1, out);
                }
            }
            _ => {}
        }
    }
}

/// The hooks directories `core.hooksPath` names for `project`, as mandatory denials.
/// Paths in `/tmp` are skipped: the sandbox's `/tmp` is its own.
pub(crate) fn hooks_path_denials(
    project: &Path,
    home: Option<&Path>,
    fs: &dyn FsView,
) -> Vec<Denial> {
    let mut files = vec![PathBuf::from("/etc/gitconfig")];
    if let Some(home) = home {
        files.push(home.join(".config/git/config"));
        files.push(home.join(".gitconfig"));
    }
    let dotgit = project.join(".git");
    let gitdir = match fs.kind(&dotgit) {
        Some(Kind::Dir) => Some(dotgit),
        Some(Kind::File) => fs.read(&dotgit).and_then(|text| {
            text.lines()
                .find_map(|line| line.strip_prefix("gitdir:"))
                .map(|target| normalize(&project.join(target.trim())))
        }),
        None => None,
    };
    if let Some(gitdir) = gitdir {
        let common = fs
            .read(&gitdir.join("commondir"))
            .map(|text| normalize(&gitdir.join(text.trim())))
            .unwrap_or_else(|| gitdir.clone());
        files.push(common.join("config"));
        files.push(gitdir.join("config.worktree"));
    }
    let mut found = Vec::new();
    for file in &files {
        collect(file, project, home, fs, 0, &mut found);
    }
    found
        .into_iter()
        .filter(|(path, _)| !path.starts_with("/tmp") && path != Path::new("/"))
        .map(|(path, file)| {
            let reason = format!(
                "git: core.hooksPath in {} (git runs hooks from here at the user's next commit)",
                file.display()
            );
            (path, reason)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fsview::FakeFs;

    #[test]
    fn parses_sections_quotes_comments_and_continuations() {
        let settings = parse(
            "[core]\n\thooksPath = \".husky/_\" # husky\n[includeIf \"gitdir:~/w/\"]\n path = ../extra ; c\n[Core] bare\n[alias]\n x = !echo \\\n   hi\n",
        );
        assert_eq!(
            settings[0],
            Setting {
                section: "core".into(),
                subsection: None,
                key: "hookspath".into(),
                raw: "\".husky/_\" # husky".into()
            }
        );
        assert_eq!(settings[0].value(), ".husky/_");
        assert_eq!(settings[1].section, "includeif");
        assert_eq!(settings[1].subsection.as_deref(), Some("gitdir:~/w/"));
        assert_eq!(settings[1].value(), "../extra");
        assert_eq!(
            (settings[2].key.as_str(), settings[2].value().as_str()),
            ("bare", "true")
        );
        assert_eq!(settings[3].value(), "!echo hi");
    }

    #[test]
    fn garbage_never_panics() {
        for text in ["[", "[core", "=", "\"", "\\", "[a]\n=\\", "[\u{e9}]x=\"\\"] {
            let _ = parse(text);
        }
    }

    #[test]
    fn hooks_path_is_found_in_the_repository_global_and_included_files() {
        let fs = FakeFs::default()
            .file(
                "/p/.git/config",
                "[core]\n\thooksPath = .husky/_\n[include]\n\tpath = more.conf\n",
            )
            .file("/p/.git/more.conf", "[core]\nhooksPath=/p/.githooks\n")
            .file("/h/.gitconfig", "[core]\n hooksPath = ~/hooks\n")
            .file("/h/.config/git/config", "[core]\n hooksPath = /tmp/x\n");
        let found: Vec<PathBuf> = hooks_path_denials(Path::new("/p"), Some(Path::new("/h")), &fs)
            .into_iter()
            .map(|(path, _)| path)
            .collect();
        for path in ["/p/.husky/_", "/p/.githooks", "/h/hooks"] {
            assert!(found.contains(&PathBuf::from(path)), "{path} in {found:?}");
        }
        assert!(
            !found.iter().any(|path| path.starts_with("/tmp")),
            "{found:?}"
        );
    }

    #[test]
    fn include_cycles_end() {
        let fs = FakeFs::default().file(
            "/p/.git/config",
            "[include]\npath = config\n[core]\nhooksPath = h\n",
        );
        let found = hooks_path_denials(Path::new("/p"), None, &fs);
        assert_eq!(found.len(), MAX_INCLUDE_DEPTH + 1);
    }
}
