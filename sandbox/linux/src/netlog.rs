//! Where proxy mode's decision log goes: `--net-log FILE`, by default
//! `$XDG_STATE_HOME/cordon/<project>-<hash>/net.jsonl` (`~/.local/state` when the variable
//! is unset), and the check that the sandbox cannot write it: the file must not be visible
//! writable in the sandbox's view.

use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Path, PathBuf};

use cordon_policy::{Mount, Plan};

use crate::SandboxError;

/// The default log file for `project`, from the caller's environment (`None` when neither
/// `XDG_STATE_HOME` nor `HOME` is set to an absolute path).
pub fn default_log_path(
    project: &Path,
    var: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> Option<PathBuf> {
    Some(cordon_policy::state_dir(project, var)?.join("net.jsonl"))
}

/// How a host path appears in the sandbox's view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    /// Not at all (under a private tmpfs or a hidden directory).
    Hidden,
    ReadOnly,
    Writable,
}

/// Refuses a log `path` that the sandbox could write: one below a writable bind of the
/// view (the project, an `allow_write` path). The mounts are replayed in order, as the
/// view is built: the last mount over the path or one of its parents decides.
pub(crate) fn check_not_writable_inside(mounts: &[Mount], path: &Path) -> Result<(), SandboxError> {
    let mut seen = Seen::Hidden;
    for mount in mounts {
        let (over, state) = match mount {
            Mount::ReadOnlyHost => (Path::new("/"), Seen::ReadOnly),
            Mount::PrivateTmp { path } | Mount::HideDir { path, .. } => {
                (path.as_path(), Seen::Hidden)
            }
            Mount::HideFile { path, .. } => (path.as_path(), Seen::Hidden),
            Mount::MinimalDev => (Path::new("/dev"), Seen::Hidden),
            Mount::FreshProc => (Path::new("/proc"), Seen::Hidden),
            Mount::Bind { path, writable, .. } => (
                path.as_path(),
                if *writable {
                    Seen::Writable
                } else {
                    Seen::ReadOnly
                },
            ),
        };
        if path.starts_with(over) {
            seen = state;
        }
    }
    if seen == Seen::Writable {
        return Err(SandboxError::Setup(format!(
            "the network log {} would be writable inside the sandbox; give `--net-log` a file outside the project and the writable paths (see `cordon policy explain`)",
            path.display()
        )));
    }
    Ok(())
}

/// True when `path` (its directory's symbolic links resolved) would be writable in the
/// sandbox's view under `plan`: below a writable bind that nothing read-only or hidden
/// covers. For files that record what the sandbox did (the transcript), which must not
/// be.
pub fn writable_inside(plan: &Plan, path: &Path) -> bool {
    check_not_writable_inside(&plan.mounts, path).is_err()
}

/// Makes the log's directory (0700) and returns the log path with its directory's
/// symbolic links resolved, checked against the view.
pub(crate) fn prepare(plan: &Plan, path: &Path) -> Result<PathBuf, SandboxError> {
    let fail = |what: &str, e: std::io::Error| {
        SandboxError::Setup(format!("network log {}: {what}: {e}", path.display()))
    };
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(SandboxError::Setup(format!(
            "network log {}: not a file path",
            path.display()
        )));
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| fail("cannot make its directory", e))?;
    let real = dir
        .canonicalize()
        .map_err(|e| fail("cannot resolve its directory", e))?
        .join(name);
    check_not_writable_inside(&plan.mounts, &real)?;
    Ok(real)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    #[test]
    fn the_default_is_in_the_xdg_state_directory_and_stable_per_project() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| OsString::from(v))
            }
        };
        let project = Path::new("/src/app");
        let xdg =
            default_log_path(project, env(&[("XDG_STATE_HOME", "/st"), ("HOME", "/h")])).unwrap();
        assert!(xdg.starts_with("/st/cordon"), "{}", xdg.display());
        assert!(xdg.to_string_lossy().ends_with("/net.jsonl"));
        let home = default_log_path(
            project,
            env(&[("XDG_STATE_HOME", "relative"), ("HOME", "/h")]),
        )
        .unwrap();
        assert_eq!(
            home.strip_prefix("/h/.local/state").unwrap(),
            xdg.strip_prefix("/st").unwrap()
        );
        let other = default_log_path(Path::new("/src/other/app"), env(&[("HOME", "/h")])).unwrap();
        assert_ne!(other, home, "two projects named alike get two logs");
        assert_eq!(default_log_path(project, env(&[])), None);
    }

    fn bind(path: &str, writable: bool) -> Mount {
        Mount::Bind {
            path: PathBuf::from(path),
            writable,
            because: cordon_policy::Provenance {
                layer: cordon_policy::Layer::Flags,
                origin: "--allow-write".into(),
            },
        }
    }

    #[test]
    fn a_log_the_sandbox_could_write_is_refused() {
        let view = [
            Mount::ReadOnlyHost,
            Mount::PrivateTmp {
                path: "/tmp".into(),
            },
            bind("/src/app", true),
            bind("/src/app/.git", false),
            bind("/home/u/.cache", true),
        ];
        for writable in ["/src/app/net.jsonl", "/home/u/.cache/cordon/net.jsonl"] {
            let error = check_not_writable_inside(&view, Path::new(writable)).unwrap_err();
            assert!(error.to_string().contains("--net-log"), "{error}");
        }
        for safe in [
            "/home/u/.local/state/cordon/x/net.jsonl",
            "/tmp/net.jsonl",
            "/src/app/.git/net.jsonl",
        ] {
            check_not_writable_inside(&view, Path::new(safe)).unwrap();
        }
    }
}
