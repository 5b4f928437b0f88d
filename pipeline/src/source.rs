//! Facts about what is being built: the git commit, its time, the ref, whether the
//! worktree is dirty, the pinned toolchain and the builder's identity.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use cordon_release::sha256_file;

use crate::error::{ErrorKind, Fix, io};
use crate::model::{Source, Toolchain};

/// Reads the source facts of the git worktree at `root`. `manifest_repository` is the
/// workspace's `package.repository`, used outside GitHub Actions.
pub(crate) fn source(root: &Path, manifest_repository: Option<&str>) -> Result<Source, ErrorKind> {
    let commit = git(root, &["rev-parse", "--verify", "HEAD"]).map_err(|error| match error {
        ErrorKind::Command {
            command, problem, ..
        } => ErrorKind::Command {
            command,
            problem: format!("{problem} (a release needs a git checkout with at least one commit)"),
            fix: None,
        },
        other => other,
    })?;
    let time_text = git(root, &["log", "-1", "--format=%ct", "HEAD"])?;
    let commit_time: i64 = time_text.parse().map_err(|_| ErrorKind::Command {
        command: "git log -1 --format=%ct HEAD".to_owned(),
        problem: format!("printed {time_text:?}, not a number"),
        fix: None,
    })?;
    let git_ref = match (
        std::env::var("GITHUB_ACTIONS").as_deref(),
        std::env::var("GITHUB_REF"),
    ) {
        (Ok("true"), Ok(github_ref)) if !github_ref.is_empty() => github_ref,
        _ => git(root, &["symbolic-ref", "-q", "HEAD"]).unwrap_or_else(|_| "HEAD".to_owned()),
    };
    let repository = match (
        std::env::var("GITHUB_SERVER_URL"),
        std::env::var("GITHUB_REPOSITORY"),
    ) {
        (Ok(server), Ok(repository)) if !server.is_empty() && !repository.is_empty() => {
            format!("git+{server}/{repository}")
        }
        _ => match manifest_repository {
            Some(url) => format!("git+{url}"),
            None => {
                return Err(ErrorKind::Workspace {
                    file: root.join("Cargo.toml"),
                    problem: "no repository URL: the provenance names the source repository"
                        .to_owned(),
                    fix: Some(Fix::SetRepository),
                });
            }
        },
    };
    // Not trimmed: the first line's leading status column is significant.
    let status = output(
        Command::new("git")
            .args(["status", "--porcelain=v1", "--untracked-files=all"])
            .current_dir(root),
    )?;
    let dirty_files = status
        .lines()
        .filter_map(|line| line.get(3..))
        .map(str::to_owned)
        .collect();
    Ok(Source {
        commit,
        commit_time,
        git_ref,
        repository,
        dirty_files,
    })
}

/// Fails when `trust_dir` lies inside the worktree at `root` and git does not ignore it
/// (`git check-ignore`: a tracked directory is not ignored either). A trust directory
/// outside the worktree needs nothing.
pub(crate) fn require_ignored(root: &Path, trust_dir: &Path) -> Result<(), ErrorKind> {
    let absolute = |path: &Path| -> PathBuf {
        let path = if path.is_absolute() {
            path.to_owned()
        } else {
            std::env::current_dir().unwrap_or_default().join(path)
        };
        // The trust directory may not exist yet: canonicalise its nearest existing
        // ancestor and keep the rest as written.
        let mut existing = path.as_path();
        let mut rest = Vec::new();
        while !existing.exists() {
            match (existing.parent(), existing.file_name()) {
                (Some(parent), Some(name)) => {
                    rest.push(name.to_owned());
                    existing = parent;
                }
                _ => break,
            }
        }
        let mut resolved = fs::canonicalize(existing).unwrap_or_else(|_| existing.to_owned());
        resolved.extend(rest.iter().rev());
        resolved
    };
    let (root, trust) = (absolute(root), absolute(trust_dir));
    let Ok(relative) = trust.strip_prefix(&root) else {
        return Ok(());
    };
    if relative.as_os_str().is_empty() {
        return Ok(());
    }
    let relative = relative.to_string_lossy().into_owned();
    let status = Command::new("git")
        .args(["check-ignore", "-q", "--"])
        .arg(format!("{relative}/"))
        .current_dir(&root)
        .status()
        .map_err(|error| ErrorKind::Command {
            command: "git check-ignore".to_owned(),
            problem: error.to_string(),
            fix: None,
        })?;
    match status.code() {
        Some(0) => Ok(()),
        Some(1) => Err(ErrorKind::TrustNotIgnored {
            path: trust,
            pattern: format!("/{relative}/"),
        }),
        _ => Err(ErrorKind::Command {
            command: format!("git check-ignore -q -- {relative}/"),
            problem: format!("failed ({status})"),
            fix: None,
        }),
    }
}

/// Fails on a dirty worktree unless `allow_dirty`.
pub(crate) fn require_clean(source: &Source, allow_dirty: bool) -> Result<(), ErrorKind> {
    if source.dirty_files.is_empty() || allow_dirty {
        return Ok(());
    }
    Err(ErrorKind::Dirty {
        files: source.dirty_files.clone(),
        commit: source.commit.clone(),
    })
}

/// The toolchain cargo will use in `root`, failing unless it is the one
/// `rust-toolchain.toml` pins.
pub(crate) fn toolchain(root: &Path) -> Result<Toolchain, ErrorKind> {
    let pin_path = root.join("rust-toolchain.toml");
    let pin_problem = |problem: String| ErrorKind::Workspace {
        file: pin_path.clone(),
        problem,
        fix: Some(Fix::PinToolchain),
    };
    let pin_text = fs::read_to_string(&pin_path).map_err(|error| {
        pin_problem(format!(
            "cannot be read ({error}): a release needs a pinned toolchain"
        ))
    })?;
    let pin: toml::Table = toml::from_str(&pin_text)
        .map_err(|error| pin_problem(format!("is not valid TOML: {error}")))?;
    let channel = pin
        .get("toolchain")
        .and_then(|toolchain| toolchain.get("channel"))
        .and_then(toml::Value::as_str)
        .ok_or_else(|| pin_problem("[toolchain] channel is missing".to_owned()))?
        .to_owned();
    let verbose = output(Command::new("rustc").arg("-vV").current_dir(root))?;
    let field = |name: &str| {
        verbose
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .map(|value| value.trim().to_owned())
            .ok_or_else(|| ErrorKind::Command {
                command: "rustc -vV".to_owned(),
                problem: format!("printed no {name} line"),
                fix: None,
            })
    };
    let release = field("release:")?;
    if release != channel {
        return Err(pin_problem(format!(
            "pins {channel}, but cargo uses rustc {release} here"
        )));
    }
    let sysroot = output(
        Command::new("rustc")
            .args(["--print", "sysroot"])
            .current_dir(root),
    )?;
    let rustc_path = PathBuf::from(sysroot.trim()).join("bin/rustc");
    let rustc_sha256 = hex(&sha256_file(&rustc_path).map_err(io("read", &rustc_path))?);
    Ok(Toolchain {
        channel,
        host: field("host:")?,
        commit_hash: field("commit-hash:")?,
        version_line: verbose.lines().next().unwrap_or_default().to_owned(),
        release,
        rustc_sha256,
    })
}

/// Who is building: the GitHub workflow's identity (`https://github.com/` + the
/// `GITHUB_WORKFLOW_REF`) and run URL in GitHub Actions, else `local_builder_id` and a
/// random `urn:uuid:`.
pub(crate) fn builder_identity(local_builder_id: &str) -> (String, String) {
    let var = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
    if var("GITHUB_ACTIONS").as_deref() == Some("true")
        && let (Some(server), Some(workflow_ref), Some(repository), Some(run_id)) = (
            var("GITHUB_SERVER_URL"),
            var("GITHUB_WORKFLOW_REF"),
            var("GITHUB_REPOSITORY"),
            var("GITHUB_RUN_ID"),
        )
    {
        let attempt = var("GITHUB_RUN_ATTEMPT").unwrap_or_else(|| "1".to_owned());
        return (
            format!("{server}/{workflow_ref}"),
            format!("{server}/{repository}/actions/runs/{run_id}/attempts/{attempt}"),
        );
    }
    // The kernel's random UUID: no dependency for 16 random bytes.
    let uuid = fs::read_to_string("/proc/sys/kernel/random/uuid")
        .map(|text| text.trim().to_owned())
        .unwrap_or_else(|_| {
            format!(
                "00000000-0000-4000-8000-{:012x}",
                u64::from(std::process::id()) << 16 ^ cordon_release::now_unix().unsigned_abs()
            )
        });
    (local_builder_id.to_owned(), format!("urn:uuid:{uuid}"))
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn git(root: &Path, args: &[&str]) -> Result<String, ErrorKind> {
    output(Command::new("git").args(args).current_dir(root)).map(|text| text.trim().to_owned())
}

/// Runs `command` and returns its stdout; any failure names the command.
pub(crate) fn output(command: &mut Command) -> Result<String, ErrorKind> {
    let shown = format!("{command:?}");
    let failed = |problem: String| ErrorKind::Command {
        command: shown.clone(),
        problem,
        fix: None,
    };
    let out = command
        .output()
        .map_err(|error| failed(format!("cannot start: {error}")))?;
    if !out.status.success() {
        return Err(failed(format!(
            "failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    String::from_utf8(out.stdout).map_err(|_| failed("printed non-UTF-8".to_owned()))
}
