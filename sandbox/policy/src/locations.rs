//! Where the policy layers live on disk: the user's global file (XDG aware) and the
//! project's file.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

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

#[cfg(test)]
mod tests {
    use super::*;

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
