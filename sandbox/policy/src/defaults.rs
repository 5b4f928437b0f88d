//! cordon's built-in defaults: the mandatory write denials (the catalog's `protect`
//! list, the git directories' hooks and config, the directory `core.hooksPath` names,
//! the global policy file) that no layer but the global escape hatch can lift. The
//! lists themselves are data, in `catalog.yaml`.

use std::path::{Path, PathBuf};

use crate::catalog;
use crate::fsview::{FsView, Kind};

/// Directories hidden from the kernel's debugging interfaces.
pub(crate) const KERNEL_HIDDEN: &[&str] = &[
    "/sys/kernel/debug",
    "/sys/kernel/tracing",
    "/sys/fs/bpf",
    "/sys/kernel/security",
];

/// A mandatory write denial and why.
pub(crate) type Denial = (PathBuf, String);

/// The mandatory write denials for `project`: the catalog's, the git directories'
/// (following `.git` files of worktrees, `commondir`, and one level of submodules), the
/// hooks directory `core.hooksPath` names, and the global policy file.
pub(crate) fn mandatory_write_denials(
    project: &Path,
    home: Option<&Path>,
    global_policy: Option<&Path>,
    fs: &dyn FsView,
) -> Vec<Denial> {
    let mut out: Vec<Denial> = Vec::new();
    for entry in catalog::builtin().protect {
        for path in entry.paths(project, home) {
            out.push((path, entry.because()));
        }
    }
    if let Some(global) = global_policy {
        out.push((
            global.to_path_buf(),
            "cordon: the global policy file".into(),
        ));
    }
    let git_reason = "git: hooks and config run programs at the user's next git command (https://git-scm.com/docs/githooks)";
    out.extend(
        git_denials(project, fs)
            .into_iter()
            .map(|path| (path, git_reason.to_owned())),
    );
    out.extend(crate::gitconfig::hooks_path_denials(project, home, fs));
    out.extend(crate::loaded_on_cd::loaded_on_cd_denials(project, fs));
    // The first reason for a path wins (the catalog's, which is the most specific).
    // Byte order: `Path`'s own comparison walks components, which costs more than
    // everything else done here.
    out.sort_by(|a, b| {
        a.0.as_os_str()
            .as_encoded_bytes()
            .cmp(b.0.as_os_str().as_encoded_bytes())
    });
    out.dedup_by(|a, b| a.0.as_os_str() == b.0.as_os_str());
    out
}

/// Why cordon's own directories are never writable.
pub(crate) const CORDON_DIRECTORIES_REASON: &str = "cordon: its state (run transcripts and their heads, approvals, network logs) and its configuration (the global policy); a sandboxed command must not forge, erase or create them";

/// cordon's state and configuration directories, as `env` names them and at their
/// defaults below `home` (a command could set the variables differently for the next
/// run): `$XDG_STATE_HOME/cordon`, `~/.local/state/cordon`, `$XDG_CONFIG_HOME/cordon`,
/// `~/.config/cordon`. Mandatory write denials, existing or not.
pub(crate) fn cordon_directories(
    home: Option<&Path>,
    env: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> Vec<PathBuf> {
    let absolute = |name: &str| {
        env(name)
            .map(PathBuf::from)
            .filter(|path| path.is_absolute())
            .map(|path| crate::schema::normalize(&path))
    };
    let mut out: Vec<PathBuf> = [absolute("XDG_STATE_HOME"), absolute("XDG_CONFIG_HOME")]
        .into_iter()
        .flatten()
        .chain(
            home.into_iter()
                .flat_map(|home| [home.join(".local/state"), home.join(".config")]),
        )
        .map(|dir| dir.join("cordon"))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The git paths that must not be written: hooks and config of the repository's git
/// directory and its common directory (worktrees), and of submodules.
fn git_denials(project: &Path, fs: &dyn FsView) -> Vec<PathBuf> {
    let dotgit = project.join(".git");
    let gitdir = match fs.kind(&dotgit) {
        Some(Kind::Dir) => dotgit,
        Some(Kind::File) => match fs.read(&dotgit).as_deref().and_then(parse_gitdir) {
            Some(target) => crate::schema::normalize(&project.join(target)),
            // An unreadable pointer: protect the pointer itself (fail closed).
            None => return vec![dotgit],
        },
        // No repository yet: creating one (with hooks) is what must fail.
        None => return vec![dotgit],
    };
    let common = fs
        .read(&gitdir.join("commondir"))
        .map(|text| crate::schema::normalize(&gitdir.join(text.trim())))
        .unwrap_or_else(|| gitdir.clone());
    let mut out = Vec::new();
    for dir in [&gitdir, &common] {
        out.push(dir.join("hooks"));
        out.push(dir.join("config"));
        // Only read when `extensions.worktreeConfig` is set in the (protected) config, so
        // protecting it when it exists is enough.
        let worktree_config = dir.join("config.worktree");
        if fs.kind(&worktree_config).is_some() {
            out.push(worktree_config);
        }
        if fs.kind(&dir.join("commondir")).is_some() {
            out.push(dir.join("commondir"));
        }
    }
    if fs.kind(&gitdir.join("gitdir")).is_some() {
        out.push(gitdir.join("gitdir"));
    }
    let modules = common.join("modules");
    for module in fs.list(&modules) {
        out.push(modules.join(&module).join("hooks"));
        out.push(modules.join(&module).join("config"));
    }
    out
}

fn parse_gitdir(text: &str) -> Option<&str> {
    text.lines()
        .find_map(|line| line.strip_prefix("gitdir:"))
        .map(str::trim)
        .filter(|target| !target.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fsview::FakeFs;

    fn paths(denials: Vec<Denial>) -> Vec<PathBuf> {
        denials.into_iter().map(|(path, _)| path).collect()
    }

    #[test]
    fn plain_repository() {
        let fs = FakeFs::default()
            .dir("/p/.git/hooks")
            .file("/p/.git/config", "");
        let denied = paths(mandatory_write_denials(
            Path::new("/p"),
            Some(Path::new("/h")),
            None,
            &fs,
        ));
        for path in [
            "/p/.git/hooks",
            "/p/.git/config",
            "/p/.mcp.json",
            "/h/.bashrc",
            "/p/.cordon",
            "/p/.claude",
            "/h/.claude",
            "/p/.envrc",
            "/p/.devcontainer",
            "/p/.bashrc",
            "/h/.local/bin",
            "/h/.config/systemd",
        ] {
            assert!(
                denied.contains(&PathBuf::from(path)),
                "{path} in {denied:?}"
            );
        }
        // Home-only entries are not protected in the project, and the reverse.
        assert!(!denied.contains(&PathBuf::from("/p/.local/bin")));
        assert!(!denied.contains(&PathBuf::from("/h/.envrc")));
    }

    #[test]
    fn worktree_and_submodules_are_followed() {
        let fs = FakeFs::default()
            .file("/wt/.git", "gitdir: /main/.git/worktrees/wt\n")
            .file("/main/.git/worktrees/wt/commondir", "../..\n")
            .dir("/main/.git/modules/sub/hooks");
        let denied = paths(mandatory_write_denials(Path::new("/wt"), None, None, &fs));
        for path in [
            "/main/.git/worktrees/wt/hooks",
            "/main/.git/worktrees/wt/commondir",
            "/main/.git/hooks",
            "/main/.git/config",
            "/main/.git/modules/sub/hooks",
        ] {
            assert!(
                denied.contains(&PathBuf::from(path)),
                "{path} in {denied:?}"
            );
        }
    }

    #[test]
    fn no_repository_protects_dot_git_and_home_project_gets_rc_files() {
        let fs = FakeFs::default().dir("/h");
        let denied = paths(mandatory_write_denials(
            Path::new("/h"),
            Some(Path::new("/h")),
            None,
            &fs,
        ));
        assert!(denied.contains(&PathBuf::from("/h/.git")));
        assert!(denied.contains(&PathBuf::from("/h/.profile")));
    }
}
