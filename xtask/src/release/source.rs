//! Facts about what is being built: the git commit, its time, the ref, whether the
//! worktree is dirty, the pinned toolchain and the builder's identity.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use cordon_release::checksums::sha256_file;
use cordon_release::provenance::LOCAL_BUILDER_ID;

/// The source tree being released.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    /// `git rev-parse HEAD`.
    pub(crate) commit: String,
    /// The commit time (Unix seconds): `SOURCE_DATE_EPOCH`.
    pub(crate) commit_time: i64,
    /// The ref built: `GITHUB_REF` in GitHub Actions, else the checked-out branch, else
    /// `HEAD`.
    pub(crate) git_ref: String,
    /// `git+<url>`.
    pub(crate) repository: String,
    /// Paths with uncommitted changes (`git status --porcelain`), untracked included.
    pub(crate) dirty_files: Vec<String>,
}

/// Reads the source facts of the git worktree at `root`. `manifest_repository` is the
/// workspace's `package.repository`, used outside GitHub Actions.
pub(crate) fn source(root: &Path, manifest_repository: Option<&str>) -> Result<Source> {
    let commit = git(root, &["rev-parse", "--verify", "HEAD"])
        .context("the release needs a git checkout with at least one commit")?;
    let commit_time: i64 = git(root, &["log", "-1", "--format=%ct", "HEAD"])?
        .parse()
        .context("`git log --format=%ct` did not print a number")?;
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
            None => bail!(
                "set `repository` in [workspace.package] of Cargo.toml: the provenance names \
                 the source repository"
            ),
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

impl Source {
    /// Fails on a dirty worktree unless `allow_dirty`.
    pub(crate) fn require_clean(&self, allow_dirty: bool) -> Result<()> {
        if self.dirty_files.is_empty() || allow_dirty {
            return Ok(());
        }
        let shown: Vec<&str> = self
            .dirty_files
            .iter()
            .take(10)
            .map(String::as_str)
            .collect();
        bail!(
            "the worktree has uncommitted changes ({}{}): commit or stash them, or pass \
             --allow-dirty (recorded in the provenance; such a release is not a build of \
             commit {})",
            shown.join(", "),
            if self.dirty_files.len() > shown.len() {
                ", ..."
            } else {
                ""
            },
            self.commit
        )
    }
}

/// The compiler, checked against `rust-toolchain.toml`.
#[derive(Debug, Clone)]
pub(crate) struct Toolchain {
    /// The pinned channel.
    pub(crate) channel: String,
    /// `rustc -vV` `release:`.
    pub(crate) release: String,
    /// `rustc -vV` `host:`.
    pub(crate) host: String,
    /// `rustc -vV` `commit-hash:`.
    pub(crate) commit_hash: String,
    /// `rustc -V`.
    pub(crate) version_line: String,
    /// SHA-256 of the `rustc` executable in the sysroot.
    pub(crate) rustc_sha256: String,
}

/// The toolchain cargo will use in `root`, failing unless it is the one
/// `rust-toolchain.toml` pins.
pub(crate) fn toolchain(root: &Path) -> Result<Toolchain> {
    let pin_path = root.join("rust-toolchain.toml");
    let pin_text = fs::read_to_string(&pin_path).with_context(|| {
        format!(
            "cannot read {}: a release needs a pinned toolchain",
            pin_path.display()
        )
    })?;
    let pin: toml::Table = toml::from_str(&pin_text)
        .with_context(|| format!("{} is not valid TOML", pin_path.display()))?;
    let channel = pin
        .get("toolchain")
        .and_then(|toolchain| toolchain.get("channel"))
        .and_then(toml::Value::as_str)
        .with_context(|| format!("{}: [toolchain] channel is missing", pin_path.display()))?
        .to_owned();
    let verbose = output(Command::new("rustc").arg("-vV").current_dir(root))?;
    let field = |name: &str| {
        verbose
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .map(|value| value.trim().to_owned())
            .with_context(|| format!("`rustc -vV` printed no {name} line"))
    };
    let release = field("release:")?;
    if release != channel {
        bail!(
            "cargo uses rustc {release} here but {} pins {channel}: run through rustup without \
             RUSTUP_TOOLCHAIN or a `+toolchain` override (`rustup show` explains which \
             toolchain is active and why)",
            pin_path.display()
        );
    }
    let sysroot = output(
        Command::new("rustc")
            .args(["--print", "sysroot"])
            .current_dir(root),
    )?;
    let rustc_path = PathBuf::from(sysroot.trim()).join("bin/rustc");
    let rustc_sha256 = hex(&sha256_file(&rustc_path)
        .with_context(|| format!("cannot read {}", rustc_path.display()))?);
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
/// `GITHUB_WORKFLOW_REF`) and run URL in GitHub Actions, else [`LOCAL_BUILDER_ID`] and a
/// random `urn:uuid:`.
pub(crate) fn builder_identity() -> (String, String) {
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
                u64::from(std::process::id()) << 16
                    ^ cordon_release::time::now_unix().unsigned_abs()
            )
        });
    (LOCAL_BUILDER_ID.to_owned(), format!("urn:uuid:{uuid}"))
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn git(root: &Path, args: &[&str]) -> Result<String> {
    output(Command::new("git").args(args).current_dir(root)).map(|text| text.trim().to_owned())
}

fn output(command: &mut Command) -> Result<String> {
    let shown = format!("{command:?}");
    let out = command
        .output()
        .with_context(|| format!("cannot start {shown}"))?;
    if !out.status.success() {
        bail!(
            "{shown} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    String::from_utf8(out.stdout).with_context(|| format!("{shown} printed non-UTF-8"))
}
