//! Git repositories nested in the project (clones that are not submodules), and the
//! git configuration keys that make git run a program.
//!
//! A nested repository's hooks and config run code at the user's next `git` command in
//! it, like the project's own, so resolution protects them the same way. Finding them
//! must not make start-up grow with the project, so the search is bounded: breadth
//! first, [`MAX_DEPTH`] levels of directories, at most [`MAX_DIRS`] directories and
//! [`MAX_ENTRIES`] entries, never into `.git`, `node_modules` or `target`. [`NestedSearch::complete`]
//! says whether the directory budget lasted; `cordon policy explain` and `cordon run
//! --print-plan` say so (not every run: agents found the note noisy).
//! Repositories made during a run are found the same way afterwards, and the keys of
//! [`program_keys`] in their config are reported.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::fsview::FsView;

/// Directory levels the search looks at: the project and two below it, so repositories
/// down to `<project>/a/b/.git` are found.
pub const MAX_DEPTH: usize = 3;
/// Directories the search looks at at most (one `stat` each; a directory whose link
/// count says it has no subdirectory holds no `.git` directory and is not listed).
pub const MAX_DIRS: usize = 64;
/// Directory entries the search reads at most, over all directories it lists.
pub const MAX_ENTRIES: usize = 2048;
/// Directory names the search never enters (git's own data, package and build trees).
const SKIPPED: &[&str] = &[".git", "node_modules", "target"];

/// What the bounded search found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NestedSearch {
    /// The git directories of the repositories found (`<repo>/.git`, or where a `.git`
    /// file points, with a linked worktree's common directory), the project's own
    /// `.git` directory excluded (but followed when the project's `.git` is a file).
    pub git_dirs: Vec<PathBuf>,
    /// Directories looked at.
    pub listed: usize,
    /// False when the bound stopped the search before it saw every directory.
    pub complete: bool,
}

/// Finds the repositories nested in `project` within the bounds (see the module doc).
/// A repository is a listed directory with a `.git` directory in it: the listing says so
/// without a `stat` per entry. A `.git` *file* (linked worktrees, submodule checkouts)
/// is followed to the git directory it names and that directory's common directory,
/// inside the project or outside it.
pub fn find_nested_repos(project: &Path, fs: &dyn FsView) -> NestedSearch {
    let mut found = NestedSearch {
        complete: true,
        ..NestedSearch::default()
    };
    let mut queue: VecDeque<(PathBuf, usize)> = VecDeque::from([(project.to_path_buf(), 0)]);
    let mut entries_left = MAX_ENTRIES;
    while let Some((dir, depth)) = queue.pop_front() {
        if found.listed == MAX_DIRS {
            found.complete = false;
            break;
        }
        found.listed += 1;
        // A `.git` *file* (a linked worktree, a submodule's checkout) names the git
        // directory its hooks and config live in, wherever that is: followed, for the
        // project's own too. One open per directory looked at, bounded like the rest.
        for git_dir in linked_git_dirs(&dir, fs) {
            if !found.git_dirs.contains(&git_dir) {
                found.git_dirs.push(git_dir);
            }
        }
        if depth > 0 && fs.dir_links(&dir) == Some(2) {
            continue;
        }
        let (children, read, all) = fs.subdirs(&dir, entries_left);
        entries_left -= read;
        found.complete &= all;
        if depth > 0 && children.iter().any(|name| name == ".git") {
            found.git_dirs.push(dir.join(".git"));
        }
        if depth + 1 < MAX_DEPTH {
            for name in children {
                if !SKIPPED.contains(&name.as_str()) {
                    queue.push_back((dir.join(name), depth + 1));
                }
            }
        }
    }
    found.git_dirs.sort();
    found
}

/// The git directories a `.git` file in `dir` leads to: the one its `gitdir:` line names
/// (relative to `dir` unless absolute) and, for a linked worktree, the repository's common
/// directory its `commondir` file names (relative to the git directory), where the hooks
/// and the shared config are. Empty when `dir/.git` is not such a file.
fn linked_git_dirs(dir: &Path, fs: &dyn FsView) -> Vec<PathBuf> {
    let Some(text) = fs.read(&dir.join(".git")) else {
        return Vec::new();
    };
    let Some(target) = text
        .lines()
        .find_map(|line| line.strip_prefix("gitdir:"))
        .map(str::trim)
        .filter(|target| !target.is_empty())
    else {
        return Vec::new();
    };
    let git_dir = normalise(&dir.join(target));
    let mut dirs = vec![git_dir.clone()];
    if let Some(common) = fs.read(&git_dir.join("commondir")) {
        let common = common.trim();
        if !common.is_empty() {
            dirs.push(normalise(&git_dir.join(common)));
        }
    }
    dirs
}

/// `a/b/../c` → `a/c`, lexically (the rules are matched by path; a git directory named
/// with `..` must be protected under its plain name).
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The hooks git ships in every new repository (`*.sample`, never run) are the only
/// entries of a hooks directory that are not hooks.
pub fn is_sample_hook(name: &str) -> bool {
    name.ends_with(".sample")
}

/// The entries of a git config text that make git run a program, as `key = value`
/// lines (section and key lower-cased as git compares them, subsection kept).
///
/// Covers: `core.fsmonitor`, `core.hooksPath`, `core.sshCommand`, `core.pager`,
/// `core.editor`, `core.askPass`, `core.gitProxy`, `sequence.editor`, `diff.external`,
/// `pager.*`, `alias.* = !...`, `credential.helper` and `credential.*.helper`,
/// `gpg.program` and `gpg.*.program`, `filter.*.clean|smudge|process`,
/// `diff.*.textconv|command`, `merge.*.driver`, `difftool.*.cmd`, `mergetool.*.cmd`,
/// `remote.*.uploadpack|receivepack`, `uploadpack.packObjectsHook`, `web.browser`,
/// `browser.*.cmd`, `man.*.cmd`, and every `include.path` and `includeIf.*.path` (an
/// included file can set any of these).
pub fn program_keys(text: &str) -> Vec<String> {
    crate::gitconfig::parse(text)
        .into_iter()
        .filter(|setting| {
            runs_a_program(
                &setting.section,
                setting.subsection.as_deref(),
                &setting.key,
                &setting.raw,
            )
        })
        .map(|setting| {
            let name = match &setting.subsection {
                Some(sub) => format!("{}.{sub}.{}", setting.section, setting.key),
                None => format!("{}.{}", setting.section, setting.key),
            };
            format!("{name} = {}", setting.raw)
        })
        .collect()
}

fn runs_a_program(section: &str, subsection: Option<&str>, key: &str, value: &str) -> bool {
    match (section, subsection.is_some(), key) {
        (
            "core",
            false,
            "fsmonitor" | "hookspath" | "sshcommand" | "pager" | "editor" | "askpass" | "gitproxy",
        ) => !(key == "fsmonitor" && matches!(value, "false" | "0" | "no" | "off" | "")),
        ("sequence", false, "editor") | ("diff", false, "external") => true,
        ("pager", _, _) => true,
        ("alias", false, _) => value.trim_start_matches('"').starts_with('!'),
        ("credential", _, "helper") => !value.is_empty(),
        ("gpg", _, "program") => true,
        ("filter", true, "clean" | "smudge" | "process") => true,
        ("diff", true, "textconv" | "command") => true,
        ("merge", true, "driver") => true,
        ("difftool" | "mergetool" | "browser" | "man", true, "cmd" | "path") => true,
        ("remote", true, "uploadpack" | "receivepack") => true,
        ("uploadpack", false, "packobjectshook") => true,
        ("web", false, "browser") => true,
        ("include", false, "path") | ("includeif", true, "path") => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fsview::FakeFs;

    #[test]
    fn nested_clones_are_found_within_the_bounds() {
        let fs = FakeFs::default()
            .dir("/p/.git/hooks")
            .dir("/p/top/.git/hooks")
            .dir("/p/vendor/lib/.git/hooks")
            .dir("/p/node_modules/x/.git")
            .dir("/p/a/b/c/.git");
        let found = find_nested_repos(Path::new("/p"), &fs);
        assert_eq!(
            found.git_dirs,
            [
                PathBuf::from("/p/top/.git"),
                PathBuf::from("/p/vendor/lib/.git")
            ]
        );
        assert!(found.complete, "{found:?}");
    }

    #[test]
    fn the_directory_bound_stops_the_search() {
        let mut fs = FakeFs::default();
        for index in 0..MAX_DIRS + 5 {
            fs = fs.dir(&format!("/p/d{index:03}/sub"));
        }
        let found = find_nested_repos(Path::new("/p"), &fs);
        assert_eq!(found.listed, MAX_DIRS);
        assert!(!found.complete);
    }

    #[test]
    fn program_running_keys_are_reported_and_others_not() {
        let config = "[core]\n\trepositoryformatversion = 0\n\tfsmonitor = ./evil.sh\n\
            \tbare = false\n[core]\n\tfsmonitor = false\n[alias]\n\tst = status\n\
            \tx = \"!sh -c 'curl evil'\"\n[filter \"lfs\"]\n\tsmudge = git-lfs smudge %f\n\
            [diff \"bin\"]\n\ttextconv = ./conv\n[includeIf \"gitdir:~/\"]\n\tpath = /tmp/x\n\
            [credential]\n\thelper = store\n[remote \"origin\"]\n\turl = x\n\
            # [core] pager = commented\n[Core] HooksPath = \\\n  hooks\n[sequence] editor=vi\n";
        let keys = program_keys(config);
        assert_eq!(
            keys,
            [
                "core.fsmonitor = ./evil.sh",
                "alias.x = \"!sh -c 'curl evil'\"",
                "filter.lfs.smudge = git-lfs smudge %f",
                "diff.bin.textconv = ./conv",
                "includeif.gitdir:~/.path = /tmp/x",
                "credential.helper = store",
                "core.hookspath = hooks",
                "sequence.editor = vi",
            ]
        );
        assert!(program_keys("garbage [ without = end\n=\n[]\nx").is_empty());
    }
}
