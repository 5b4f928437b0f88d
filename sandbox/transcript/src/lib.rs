//! cordon's run transcript: one JSON Lines record per event of a `cordon run` (the run's
//! start with its argv, policy digest and sandbox tiers; every relaxation granted or
//! refused; approvals; the denials the sandbox observed; the run's end), in the
//! project's state directory (`$XDG_STATE_HOME/cordon/<project>-<hash>/transcript.jsonl`).
//!
//! Tamper evidence: every record carries the hash of the line before it, and the chain's
//! head (record count, last hash, file length) is kept in `transcript.head`; neither is
//! writable from inside any sandbox. [`verify`] walks the chain and names the first bad
//! record. This is evidence against the sandboxed command, not against the user's own
//! account: a process outside the sandbox running as the user can rewrite both files.
//!
//! ```
//! use cordon_transcript::{DenialCounts, Event, RunEnd, Transcript, verify};
//! let dir = tempfile::tempdir().unwrap();
//! let (path, head) = (dir.path().join("t.jsonl"), dir.path().join("t.head"));
//! let mut transcript = Transcript::open(&path, &head).unwrap();
//! transcript
//!     .append(Event::RunEnd(RunEnd {
//!         exit_code: Some(0),
//!         signal: None,
//!         error: None,
//!         duration_ms: 3,
//!         denials: DenialCounts::default(),
//!         relaxations_granted: 0,
//!         relaxations_refused: 0,
//!     }))
//!     .unwrap();
//! transcript.flush().unwrap();
//! assert_eq!(verify(&path, &head).unwrap().problem, None);
//! ```

mod escape;
mod event;
mod head;
mod read;
mod verify;
mod writer;

use std::path::{Path, PathBuf};

pub use escape::{display_lossless, for_display, lossless, lossless_bytes};
pub use event::{
    ApprovalEvent, ApprovalScope, ApprovalState, DenialCounts, DenialEvent, Event, FORMAT_VERSION,
    GENESIS, GateSetting, LayerRef, PolicyChangeEvent, Record, RelaxationEvent, RunEnd, RunStart,
    Source,
};
pub use head::{Head, line_hash};
pub use read::{ReadError, read_records};
pub use verify::{Problem, Verification, verify, verify_bytes};
pub use writer::{RecordId, Transcript};

/// The transcript's file name in the state directory.
pub const TRANSCRIPT_FILE: &str = "transcript.jsonl";
/// The head's file name in the state directory.
pub const HEAD_FILE: &str = "transcript.head";

/// What can go wrong with a transcript.
#[derive(Debug, thiserror::Error)]
pub enum TranscriptError {
    /// A file operation failed.
    #[error("{}: {what}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done.
        what: &'static str,
        /// The error.
        source: std::io::Error,
    },
    /// The path exists and is not a regular file (a symbolic link, a directory...).
    #[error("{}: not a regular file; the transcript and its head must be plain files (remove it or pass --transcript FILE)", .0.display())]
    NotAFile(PathBuf),
    /// The head file is not a head.
    #[error("{}: not a transcript head ({source}); it was edited or damaged: `cordon log verify` tells what else changed; move it and the transcript aside to start a new one", path.display())]
    BadHead {
        /// The head file.
        path: PathBuf,
        /// The parse error.
        source: serde_json::Error,
    },
    /// A record could not be encoded.
    #[error("cannot encode a transcript record: {0}")]
    Encode(serde_json::Error),
    /// Neither `XDG_STATE_HOME` nor `HOME` names an absolute directory.
    #[error(
        "no place for the transcript: neither XDG_STATE_HOME nor HOME is set to an absolute path; set one or pass --transcript FILE"
    )]
    NoStateDir,
}

impl TranscriptError {
    pub(crate) fn io(path: &Path, what: &'static str, source: std::io::Error) -> Self {
        TranscriptError::Io {
            path: path.to_path_buf(),
            what,
            source,
        }
    }
}

/// The project's state directory, `$XDG_STATE_HOME/cordon/<project-name>-<hash>`
/// (`~/.local/state` when the variable is unset), from this process's environment: the
/// transcript, its head, the network log and the approvals live there.
pub fn state_dir(project: &Path) -> Result<PathBuf, TranscriptError> {
    cordon_policy::state_dir(project, |name| std::env::var_os(name))
        .ok_or(TranscriptError::NoStateDir)
}

/// `sha256:` of the effective policy: what the plan decided, as JSON
/// ([`cordon_policy::Plan::write_policy_json`]: `cordon policy explain --json` without the
/// caller's `cwd`, `env` and `env_removed`, so the same policy has the same digest from any
/// directory and environment; the environment rules are in, set values by length only).
/// The text is hashed as it is serialized, never held: every run computes this.
pub fn policy_digest(plan: &cordon_policy::Plan) -> String {
    use sha2::Digest as _;
    /// Feeds what is written to a SHA-256.
    struct Hashing(sha2::Sha256);
    impl std::io::Write for Hashing {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.update(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut hashing = Hashing(sha2::Sha256::new());
    match plan.write_policy_json(&mut hashing) {
        Ok(()) => format!("sha256:{}", hex::encode(hashing.0.finalize())),
        // The same text `to_json` falls back to.
        Err(error) => line_hash(format!("{{\"error\": \"{error}\"}}").as_bytes()),
    }
}

#[cfg(test)]
mod tests;
