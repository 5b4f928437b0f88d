//! cordon's first-use approvals.
//!
//! A command run through `cordon run` with `approvals: {shell: ask}` does not start until
//! a person approved its *shape*. This crate decides what that shape is and whether an
//! approval covers it; it never runs anything and never asks anyone (that is
//! `cordon run`'s gate):
//!
//! - [`shape()`]: the shape from argv, never from a string: wrappers and assignments peeled
//!   off, `sh -c PLAIN` decomposed when two parsers agree, executables resolved through
//!   `PATH`, and the reasons a call may be approved once but never cached;
//! - [`Pattern`]: token-exact prefix plus at most one trailing `*`;
//! - [`decision_hash`]: what a decision is bound to (canonical argv, resolved
//!   executable, cwd, effective policy digest);
//! - [`Store`]: `approvals.json` ("always" approvals), `pending/<id>.json` (requests
//!   and once-grants, expiring), and [`Store::decide`].
//!
//! ```
//! use std::ffi::OsString;
//! use std::path::Path;
//!
//! let argv: Vec<OsString> = ["sh", "-c", "ls && ls -l; echo $(id)"].map(Into::into).into();
//! let shape = cordon_approvals::shape(&argv, Path::new("/"), None);
//! assert!(!shape.cacheable(), "a substitution is never cached");
//! let argv: Vec<OsString> = ["sh", "-c", "ls && ls -l"].map(Into::into).into();
//! let shape = cordon_approvals::shape(&argv, Path::new("/"), None);
//! assert!(shape.cacheable());
//! assert_eq!(shape.commands.len(), 2);
//! ```

mod escape;
mod files;
mod pattern;
mod script;
mod shape;
mod store;
mod wrappers;

use std::io::Read as _;
use std::path::PathBuf;

pub use escape::{is_invisible, join as join_for_display, lossless};
pub use pattern::{CommandPattern, Pattern};
pub use script::{Joiner, ScriptCommand, decompose as decompose_script};
pub use shape::{
    Command, MAX_COMMANDS, MAX_SHOWN_BYTES, Shape, decision_hash, resolve_executable, shape,
};
pub use store::{
    Approval, DEFAULT_APPROVAL_TTL, DEFAULT_REQUEST_TTL, Decided, Decision, Request, RequestState,
    Store, Verdict, check_delta, covering,
};
pub use wrappers::{Unwrapped, unwrap as unwrap_wrappers};

/// Errors of the approvals store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file could not be read or written.
    #[error("{}: cannot {action}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        action: &'static str,
        /// Why.
        source: std::io::Error,
    },
    /// A store file does not parse: nothing it holds is trusted (fail closed).
    #[error("{}:{line}:{column}: the approvals store does not parse ({message}); no approval in it applies until it is fixed or removed (`cordon approvals ls` shows the path; remove the file to start over)", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// The store could not be serialised.
    #[error("cannot encode the approvals store: {0}")]
    Encode(serde_json::Error),
    /// Not a request id.
    #[error("`{0}` is not a request id (hexadecimal, as printed by `cordon run`)")]
    BadId(String),
    /// No such request (never made, used, or expired and swept).
    #[error(
        "no pending approval request `{0}` (it expired, was used, or never existed; run the command again to get a new one)"
    )]
    NoSuchRequest(String),
    /// A capability delta entry that is not understood.
    #[error(
        "capability delta `{0}`: expected `network.allow DESTINATION` or `filesystem.allow_write PATH`"
    )]
    BadDelta(String),
    /// No such stored approval.
    #[error("no stored approval `{0}` (`cordon approvals ls` lists them)")]
    NoSuchApproval(String),
    /// The request expired before an answer.
    #[error(
        "approval request `{request_id}` expired at {expires}; run the command again to get a new one"
    )]
    Expired {
        /// The request.
        request_id: String,
        /// When it expired.
        expires: String,
    },
    /// The request was answered already.
    #[error("approval request `{request_id}` was already answered ({state:?})")]
    AlreadyDecided {
        /// The request.
        request_id: String,
        /// Its state.
        state: RequestState,
    },
    /// "Always" asked for a call whose approval may not be cached.
    #[error("approval request `{request_id}` can be approved once, not always: {reason}")]
    NotCacheable {
        /// The request.
        request_id: String,
        /// Why.
        reason: String,
    },
}

/// `bytes` random bytes from the kernel, as lowercase hex (ids; a failure to read
/// `/dev/urandom` falls back to the clock and pid, which only costs uniqueness).
pub(crate) fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    let read =
        std::fs::File::open("/dev/urandom").and_then(|mut file| file.read_exact(&mut buffer));
    if read.is_err() {
        let seed = format!("{:?}{}", std::time::SystemTime::now(), std::process::id());
        use sha2::Digest as _;
        let digest = sha2::Sha256::digest(seed.as_bytes());
        buffer.copy_from_slice(&digest[..bytes.min(32)]);
    }
    buffer.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests;
