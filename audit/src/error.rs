//! The one error type of cordon-audit: every variant names the file and, where there is
//! one, the line.

use std::path::PathBuf;

/// An input that cannot be read or is malformed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// A file or directory cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The path does not look like an advisory database.
    #[error("{} is not a RustSec advisory database (no crates/ directory); pass a clone of https://github.com/rustsec/advisory-db", path.display())]
    NotADatabase {
        /// The path given.
        path: PathBuf,
    },
    /// A file is malformed; `problem` says what and where (`line N: ...`).
    #[error("{}: {problem}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong, and where.
        problem: String,
    },
}

impl AuditError {
    pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> AuditError {
        let path = path.to_owned();
        move |source| AuditError::Io { path, source }
    }
}

/// The 1-based line of byte offset `at` in `text`.
pub(crate) fn line_of(text: &str, at: usize) -> usize {
    1 + text
        .get(..at)
        .map_or(0, |before| before.matches('\n').count())
}
