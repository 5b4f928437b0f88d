//! Where the policy layers live on disk: the user's global file (XDG aware) and the
//! project's file.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::error::PolicyError;
use crate::plan::{Layer, under};
use crate::schema::PolicyFile;

/// The files a policy is layered from, for one project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyLocations {
    /// The user's global policy: `$XDG_CONFIG_HOME/cordon/policy.yaml`, else
    /// `$HOME/.config/cordon/policy.yaml`. `None` when neither variable gives an
    /// absolute path (the XDG specification says relative values are to be ignored).
    pub global: Option<PathBuf>,
    /// The project's policy: `<project>/.cordon/policy.yaml`.
    pub project: PathBuf,
}

impl PolicyLocations {
    /// Finds the policy files for `project_dir`, reading the environment through `env`
    /// (pass `|k| std::env::var_os(k)` for the real one) so callers and tests decide.
    pub fn discover(project_dir: &Path, env: impl Fn(&str) -> Option<OsString>) -> Self {
        let absolute = |name: &str| {
            env(name)
                .map(PathBuf::from)
                .filter(|path| path.is_absolute())
        };
        let config_home = absolute("XDG_CONFIG_HOME")
            .or_else(|| absolute("HOME").map(|home| home.join(".config")));
        PolicyLocations {
            global: config_home.map(|dir| dir.join("cordon").join("policy.yaml")),
            project: project_dir.join(".cordon").join("policy.yaml"),
        }
    }
}

/// cordon's per-project state directory: `$XDG_STATE_HOME/cordon/<project-name>-<hash>`
/// (`$HOME/.local/state` when the variable is unset or relative). It holds the network
/// decision log, the transcript and its head, and the approvals; every sandbox sees its
/// parent read-only (a mandatory write denial), including when it does not exist yet.
/// `None` when neither variable gives an absolute path.
pub fn state_dir(project: &Path, env: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let name = project
        .file_name()
        .map_or_else(|| "root".into(), |n| n.to_string_lossy().into_owned());
    let hash = fnv1a(project.as_os_str().as_encoded_bytes());
    Some(state_home(env)?.join(format!("{name}-{hash:016x}")))
}

/// `$XDG_STATE_HOME/cordon` (`$HOME/.local/state/cordon`): the parent of every project's
/// state directory.
pub fn state_home(env: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let absolute = |name: &str| {
        env(name)
            .map(PathBuf::from)
            .filter(|path| path.is_absolute())
    };
    let state = absolute("XDG_STATE_HOME")
        .or_else(|| absolute("HOME").map(|home| home.join(".local/state")))?;
    Some(state.join("cordon"))
}

/// FNV-1a, 64 bits: a stable name for a project directory (not a security boundary).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// What made a directory the project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectMarker {
    /// A `.git` directory or file (a repository, worktree or submodule top level).
    Git,
    /// A `.cordon/` directory.
    Cordon,
}

impl std::fmt::Display for ProjectMarker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ProjectMarker::Git => "git repository's top level",
            ProjectMarker::Cordon => "directory with a .cordon/ policy directory",
        })
    }
}

/// The project for a command started in `cwd` (absolute, normalized): the nearest
/// directory at or above `cwd` that holds `.git` or `.cordon/`, or `cwd` itself when
/// there is none. The search never reaches the home directory or `/` from below them:
/// a dotfiles repository in `~` must not turn the home directory into the project
/// (started in `~` itself, the home directory is the project, which resolution refuses
/// unless allowed).
pub fn find_project(
    cwd: &Path,
    home: Option<&Path>,
    fs: &dyn crate::FsView,
) -> (PathBuf, Option<ProjectMarker>) {
    for dir in cwd.ancestors() {
        let stop = dir == Path::new("/") || (Some(dir) == home && dir != cwd);
        if stop {
            break;
        }
        if fs.kind(&dir.join(".git")).is_some() {
            return (dir.to_path_buf(), Some(ProjectMarker::Git));
        }
        if fs.kind(&dir.join(".cordon")) == Some(crate::Kind::Dir) {
            return (dir.to_path_buf(), Some(ProjectMarker::Cordon));
        }
    }
    (cwd.to_path_buf(), None)
}

/// Refuses a project that is `/`, the home directory or an ancestor of it (everything
/// the user's session runs from would be writable) unless a trusted layer says
/// `allow_home_project`; the persistence places stay protected either way.
pub(crate) fn check_project_is_not_home(
    project: &Path,
    home: Option<&Path>,
    ordered: &[(Layer, String, &PolicyFile)],
) -> Result<(), PolicyError> {
    let what = if project == Path::new("/") {
        "the root directory"
    } else if home == Some(project) {
        "your home directory"
    } else if home.is_some_and(|home| under(home, project)) {
        "an ancestor of your home directory"
    } else {
        return Ok(());
    };
    if ordered
        .iter()
        .any(|(layer, _, file)| layer.trusted() && file.allow_home_project)
    {
        return Ok(());
    }
    Err(PolicyError::Invalid {
        origin: project.display().to_string(),
        message: format!(
            "the project is {what}: the command could write everything below it (programs in ~/.local/bin, systemd user units, the files other projects run)"
        ),
        hint: "start cordon in the project's directory or pass --project DIR; if you mean it, pass --allow-home-project or set `allow_home_project: true` in the global policy (persistence places such as ~/.local/bin stay read-only)".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FakeFs;

    #[test]
    fn the_project_is_the_nearest_repository_or_cordon_directory_below_home() {
        let fs = FakeFs::default()
            .dir("/home/u/.git")
            .dir("/home/u/src/app/.git")
            .dir("/home/u/src/app/crates/a/src")
            .dir("/home/u/src/tool/.cordon")
            .dir("/home/u/src/tool/bin")
            .dir("/home/u/notes/x")
            .dir("/srv/work/sub");
        let home = Some(Path::new("/home/u"));
        let find = |cwd: &str| find_project(Path::new(cwd), home, &fs);
        assert_eq!(
            find("/home/u/src/app/crates/a/src"),
            (PathBuf::from("/home/u/src/app"), Some(ProjectMarker::Git))
        );
        assert_eq!(
            find("/home/u/src/tool/bin"),
            (
                PathBuf::from("/home/u/src/tool"),
                Some(ProjectMarker::Cordon)
            )
        );
        // The dotfiles repository in ~ is not climbed to.
        assert_eq!(
            find("/home/u/notes/x"),
            (PathBuf::from("/home/u/notes/x"), None)
        );
        // Started in ~ itself: ~ (refused later unless allowed).
        assert_eq!(
            find("/home/u"),
            (PathBuf::from("/home/u"), Some(ProjectMarker::Git))
        );
        assert_eq!(
            find("/srv/work/sub"),
            (PathBuf::from("/srv/work/sub"), None)
        );
    }

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<OsString> {
        move |name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| OsString::from(value))
        }
    }

    #[test]
    fn xdg_config_home_wins_over_home() {
        let found = PolicyLocations::discover(
            Path::new("/p"),
            env_of(&[("XDG_CONFIG_HOME", "/cfg"), ("HOME", "/home/u")]),
        );
        assert_eq!(found.global, Some(PathBuf::from("/cfg/cordon/policy.yaml")));
    }

    #[test]
    fn relative_xdg_config_home_is_ignored() {
        let found = PolicyLocations::discover(
            Path::new("/p"),
            env_of(&[("XDG_CONFIG_HOME", "cfg"), ("HOME", "/home/u")]),
        );
        assert_eq!(
            found.global,
            Some(PathBuf::from("/home/u/.config/cordon/policy.yaml"))
        );
    }

    #[test]
    fn no_home_means_no_global_layer() {
        let found = PolicyLocations::discover(Path::new("/p"), env_of(&[("HOME", "")]));
        assert_eq!(found.global, None);
        assert_eq!(found.project, PathBuf::from("/p/.cordon/policy.yaml"));
    }
}
