//! cordon's built-in defaults: the secrets nobody reads, and the mandatory write
//! denials (shell start-up files, git hooks and config, editor and agent config, the
//! policy files themselves) that no layer but the global escape hatch can lift.

use std::path::{Path, PathBuf};

use crate::fsview::{FsView, Kind};

/// Secrets below the home directory that are unreadable by default.
pub const HOME_SECRETS: &[&str] = &[
    ".ssh",
    ".aws",
    ".gnupg",
    ".kube",
    ".azure",
    ".config/gcloud",
    ".docker/config.json",
    ".netrc",
    ".git-credentials",
    ".npmrc",
    ".pypirc",
];

/// Secrets in the project directory (`*` = any suffix), unreadable by default.
pub const PROJECT_SECRETS: &[&str] = &[".env*"];

/// Start-up files that run code for the user: protected in the home directory (and in
/// the project when the project is the home directory).
pub const HOME_PROTECTED: &[&str] = &[
    ".bashrc",
    ".bash_profile",
    ".zshrc",
    ".zprofile",
    ".profile",
    ".gitconfig",
    ".config/git",
    ".config/cordon",
];

/// Files and directories in the project that make tools run code: protected.
pub const PROJECT_PROTECTED: &[&str] = &[".gitmodules", ".vscode", ".idea", ".mcp.json", ".cordon"];

/// Directories hidden from the kernel's debugging interfaces.
pub(crate) const KERNEL_HIDDEN: &[&str] = &[
    "/sys/kernel/debug",
    "/sys/kernel/tracing",
    "/sys/fs/bpf",
    "/sys/kernel/security",
];

/// The mandatory write denials for `project`, following `.git` files (worktrees) and
/// `commondir`, and one level of submodules.
pub(crate) fn mandatory_write_denials(
    project: &Path,
    home: Option<&Path>,
    global_policy: Option<&Path>,
    fs: &dyn FsView,
) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(home) = home {
        out.extend(HOME_PROTECTED.iter().map(|name| home.join(name)));
    }
    out.extend(PROJECT_PROTECTED.iter().map(|name| project.join(name)));
    if let Some(global) = global_policy {
        out.push(global.to_path_buf());
    }
    if home == Some(project) {
        out.extend(HOME_PROTECTED.iter().map(|name| project.join(name)));
    }
    out.extend(git_denials(project, fs));
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

    #[test]
    fn plain_repository() {
        let fs = FakeFs::default()
            .dir("/p/.git/hooks")
            .file("/p/.git/config", "");
        let denied = mandatory_write_denials(Path::new("/p"), Some(Path::new("/h")), None, &fs);
        for path in [
            "/p/.git/hooks",
            "/p/.git/config",
            "/p/.mcp.json",
            "/h/.bashrc",
            "/p/.cordon",
        ] {
            assert!(
                denied.contains(&PathBuf::from(path)),
                "{path} in {denied:?}"
            );
        }
        assert!(!denied.contains(&PathBuf::from("/p/.bashrc")));
    }

    #[test]
    fn worktree_and_submodules_are_followed() {
        let fs = FakeFs::default()
            .file("/wt/.git", "gitdir: /main/.git/worktrees/wt\n")
            .file("/main/.git/worktrees/wt/commondir", "../..\n")
            .dir("/main/.git/modules/sub/hooks");
        let denied = mandatory_write_denials(Path::new("/wt"), None, None, &fs);
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
        let denied = mandatory_write_denials(Path::new("/h"), Some(Path::new("/h")), None, &fs);
        assert!(denied.contains(&PathBuf::from("/h/.git")));
        assert!(denied.contains(&PathBuf::from("/h/.profile")));
    }
}
