//! The pipeline's one error type: which stage failed, what went wrong with which file,
//! and what fixes it, as data ([`Fix`]) so each caller can word the fix in its own
//! vocabulary (command-line flags, config fields).

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::model::Stage;

/// A failed release stage.
#[derive(Debug, thiserror::Error)]
#[error("stage `{stage}` failed: {kind}{}", self.fix().map(|fix| format!("\n  fix: {fix}")).unwrap_or_default())]
pub struct Error {
    stage: Stage,
    #[source]
    kind: Box<ErrorKind>,
}

impl Error {
    pub(crate) fn new(stage: Stage, kind: impl Into<ErrorKind>) -> Self {
        Error {
            stage,
            kind: Box::new(kind.into()),
        }
    }

    /// The stage that failed.
    pub fn stage(&self) -> Stage {
        self.stage
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// What fixes it, when the pipeline knows.
    pub fn fix(&self) -> Option<Fix> {
        self.kind.fix()
    }

    /// The message with the fix worded by `word` (for example as command-line flags)
    /// instead of [`Fix`]'s own wording, which names [`crate::Config`] fields.
    pub fn render(&self, word: impl Fn(&Fix) -> String) -> String {
        let mut text = format!("stage `{}` failed: {}", self.stage, self.kind);
        if let Some(fix) = self.fix() {
            text.push_str("\n  fix: ");
            text.push_str(&word(&fix));
        }
        text
    }
}

/// What went wrong, naming the file or command involved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A filesystem operation failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done ("read", "create", ...).
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// An external command (git, rustc, cargo, objcopy) failed or printed nonsense.
    #[error("{command}: {problem}")]
    Command {
        /// The command as run.
        command: String,
        /// What happened: its exit status and stderr, or why it could not start.
        problem: String,
        /// What fixes it, when known.
        fix: Option<Fix>,
    },
    /// The workspace cannot be released as it is (`Cargo.toml`, `rust-toolchain.toml`,
    /// versions).
    #[error("{}: {problem}", file.display())]
    Workspace {
        /// The file to change.
        file: PathBuf,
        /// What is wrong.
        problem: String,
        /// What fixes it.
        fix: Option<Fix>,
    },
    /// A key of the `[workspace.metadata.cordon]` table is invalid.
    #[error("{}: [workspace.metadata.cordon] {key}: {problem}", file.display())]
    Config {
        /// The `Cargo.toml`.
        file: PathBuf,
        /// The key.
        key: String,
        /// What is wrong and what is expected.
        problem: String,
    },
    /// The VEX document to ship does not parse or does not fit the release.
    #[error(
        "{}: the VEX document cannot ship with this release: {}",
        file.display(),
        problems.join("; ")
    )]
    Vex {
        /// The VEX document.
        file: PathBuf,
        /// Each problem, naming its statement and the fix.
        problems: Vec<String>,
    },
    /// The worktree has uncommitted changes.
    #[error(
        "the worktree has uncommitted changes ({}) and commit {commit} is what would be recorded",
        shown(files)
    )]
    Dirty {
        /// The changed paths.
        files: Vec<String>,
        /// The HEAD commit.
        commit: String,
    },
    /// The trust directory lies inside the workspace and git does not ignore it.
    #[error(
        "{} holds signing keys inside the workspace and git does not ignore it: its keys could be \
         committed, and once it exists every later release is refused as a dirty worktree",
        path.display()
    )]
    TrustNotIgnored {
        /// The trust directory.
        path: PathBuf,
        /// The line that ignores it, relative to the workspace root (`/.cordon-dev-trust/`).
        pattern: String,
    },
    /// The release directory exists already.
    #[error("{} already exists: a published release is never replaced silently", path.display())]
    ReleaseExists {
        /// The existing `dist/<version>/`.
        path: PathBuf,
    },
    /// The pre-built binaries of a hand-over do not match what the build job reported.
    #[error("{}: {problem}", path.display())]
    HandOver {
        /// The file or directory at fault.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// Crate resolution or SBOM writing failed.
    #[error(transparent)]
    Sbom(#[from] cordon_sbom::Error),
    /// Writing the release directory failed.
    #[error(transparent)]
    Output(#[from] cordon_release::OutputError),
    /// Signing failed.
    #[error(transparent)]
    Sign(#[from] cordon_release::SignError),
    /// The trust directory cannot be opened or created.
    #[error(transparent)]
    Trust(#[from] cordon_release::TrustError),
    /// A previous release's manifest cannot be read.
    #[error(transparent)]
    Manifest(#[from] cordon_release::ManifestError),
    /// The advisory database cannot be read.
    #[error(transparent)]
    Advisories(#[from] cordon_audit::AuditError),
    /// The provenance this pipeline wrote fails its own validation (a bug).
    #[error("the provenance statement is invalid (a bug in cordon-dist): {0}")]
    Provenance(#[from] cordon_release::ProvenanceError),
    /// Keyless signing is asked for, but the caller supplies no keyless signer.
    #[error(
        "keyless signing is asked for (`keyless` in [workspace.metadata.cordon] of {}, or \
         Config::keyless) but this program supplies no keyless signer \
         (Config::keyless_signing)",
        file.display()
    )]
    NoKeylessSigner {
        /// The workspace's `Cargo.toml`.
        file: PathBuf,
    },
    /// JSON serialisation failed (a bug).
    #[error("cannot serialise {what}: {source}")]
    Json {
        /// What was being serialised.
        what: &'static str,
        /// serde's error.
        source: serde_json::Error,
    },
}

fn shown(files: &[String]) -> String {
    let mut shown: Vec<&str> = files.iter().take(10).map(String::as_str).collect();
    if files.len() > shown.len() {
        shown.push("...");
    }
    shown.join(", ")
}

impl ErrorKind {
    /// What fixes it, when known.
    pub fn fix(&self) -> Option<Fix> {
        match self {
            ErrorKind::Command { fix, .. } | ErrorKind::Workspace { fix, .. } => fix.clone(),
            ErrorKind::Config { key, .. } => Some(Fix::EditConfig { key: key.clone() }),
            ErrorKind::Dirty { .. } => Some(Fix::AllowDirty),
            ErrorKind::Vex { file, .. } => Some(Fix::EditVex { file: file.clone() }),
            ErrorKind::TrustNotIgnored { pattern, .. } => Some(Fix::IgnoreTrustDir {
                pattern: pattern.clone(),
            }),
            ErrorKind::ReleaseExists { path } => Some(Fix::Force { path: path.clone() }),
            ErrorKind::Output(cordon_release::OutputError::AlreadyExists { path }) => {
                Some(Fix::Force { path: path.clone() })
            }
            ErrorKind::HandOver { .. } => Some(Fix::HandOverUnchanged),
            ErrorKind::Sign(cordon_release::SignError::NoCurrentCa { dir, .. }) => {
                Some(Fix::RotateReleaseCa {
                    trust_dir: PathBuf::from(dir),
                })
            }
            ErrorKind::Trust(_)
            | ErrorKind::Sign(cordon_release::SignError::Trust(_))
            | ErrorKind::Sign(cordon_release::SignError::Key(_)) => Some(Fix::TrustDir),
            _ => None,
        }
    }
}

/// What fixes an error, as data: [`fmt::Display`] words it for a library caller (naming
/// [`crate::Config`] fields); a command-line tool words it with its own flags.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fix {
    /// Replace the existing release (`Config::force`).
    Force {
        /// The existing release directory.
        path: PathBuf,
    },
    /// Commit or stash the changes, or release anyway (`Config::allow_dirty`, recorded).
    AllowDirty,
    /// Correct a key of `[workspace.metadata.cordon]`.
    EditConfig {
        /// The key.
        key: String,
    },
    /// Correct the VEX document's statements (each problem says how), or ship none.
    EditVex {
        /// The VEX document.
        file: PathBuf,
    },
    /// Set `repository` in `[workspace.package]` (or the metadata table).
    SetRepository,
    /// Pin the toolchain in `rust-toolchain.toml`, or build with the pinned one.
    PinToolchain,
    /// Fix the build errors cargo printed.
    FixBuild,
    /// Install binutils, which provides `objcopy`.
    InstallObjcopy,
    /// Hand the build job's directory and checksums over unchanged.
    HandOverUnchanged,
    /// Give a usable trust directory (or start a new development one).
    TrustDir,
    /// Make git ignore the trust directory inside the workspace.
    IgnoreTrustDir {
        /// The `.gitignore` line (`/.cordon-dev-trust/`).
        pattern: String,
    },
    /// Issue a new release CA in the trust directory.
    RotateReleaseCa {
        /// The trust directory.
        trust_dir: PathBuf,
    },
}

impl fmt::Display for Fix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fix::Force { path } => write!(
                f,
                "bump the version, or set `Config::force` to replace {}",
                path.display()
            ),
            Fix::AllowDirty => f.write_str(
                "commit or stash the changes, or set `Config::allow_dirty` (recorded in the \
                 provenance; such a release is not a build of the commit alone)",
            ),
            Fix::EditConfig { key } => write!(
                f,
                "correct `{key}` in [workspace.metadata.cordon] of the workspace's Cargo.toml \
                 (docs/release.md lists the keys)"
            ),
            Fix::EditVex { file } => write!(
                f,
                "correct the statements named above in {} (each problem says what to write), \
                 or remove `vex` from [workspace.metadata.cordon] (or `Config::vex`)",
                file.display()
            ),
            Fix::SetRepository => f.write_str(
                "set `repository` in [workspace.package] (or [workspace.metadata.cordon]) of \
                 Cargo.toml: the provenance names the source repository",
            ),
            Fix::PinToolchain => f.write_str(
                "pin `[toolchain] channel` in rust-toolchain.toml and build through rustup \
                 without RUSTUP_TOOLCHAIN or a `+toolchain` override (`rustup show` explains \
                 which toolchain is active and why)",
            ),
            Fix::FixBuild => f.write_str("fix what cargo reports above, then run again"),
            Fix::InstallObjcopy => f.write_str(
                "install binutils, which provides objcopy (Debian: apt-get install binutils)",
            ),
            Fix::HandOverUnchanged => f.write_str(
                "hand over the build job's directory and its SHA256SUMS unchanged, from the \
                 same commit",
            ),
            Fix::IgnoreTrustDir { pattern } => write!(
                f,
                "add the line `{pattern}` to the workspace's .gitignore and commit it (or keep \
                 the trust directory outside the workspace: `Config::trust`)"
            ),
            Fix::TrustDir => f.write_str(
                "set `Config::trust` to a working trust directory \
                 (cordon_release::init_trust creates one)",
            ),
            Fix::RotateReleaseCa { trust_dir } => write!(
                f,
                "issue a new release CA in {} (cordon_release::TrustDir::issue_release_ca)",
                trust_dir.display()
            ),
        }
    }
}

/// `map_err` helper: an I/O error on `path` as an [`ErrorKind::Io`].
pub(crate) fn io(
    action: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(io::Error) -> ErrorKind {
    let path = path.into();
    move |source| ErrorKind::Io {
        action,
        path,
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fix_is_worded_by_the_caller_or_in_config_terms() {
        let error = Error::new(
            Stage::Check,
            ErrorKind::ReleaseExists {
                path: PathBuf::from("dist/1.0.0"),
            },
        );
        assert_eq!(
            error.to_string(),
            "stage `check` failed: dist/1.0.0 already exists: a published release is never \
             replaced silently\n  fix: bump the version, or set `Config::force` to replace \
             dist/1.0.0"
        );
        let worded = error.render(|fix| match fix {
            Fix::Force { .. } => "pass --force".to_owned(),
            other => other.to_string(),
        });
        assert!(worded.ends_with("\n  fix: pass --force"), "{worded}");
        let no_fix = Error::new(
            Stage::Publish,
            ErrorKind::Json {
                what: "x",
                source: serde_json::from_str::<u8>("nope").unwrap_err(),
            },
        );
        assert!(!no_fix.to_string().contains("fix:"), "{no_fix}");
    }
}
