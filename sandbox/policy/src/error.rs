//! What can be wrong with a policy, each case naming the file, the place and the fix.

use std::path::PathBuf;

/// A policy that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The file could not be read.
    #[error("{}: cannot read: {error}", file.display())]
    Read {
        /// The file.
        file: PathBuf,
        /// Why (part of the message, so not also a `source()`, which would print it
        /// twice in an error chain).
        error: std::io::Error,
    },
    /// The file is not valid for the schema.
    #[error("{}:{line}:{column}: {message}\n  hint: {hint}", file.display())]
    Syntax {
        /// The file.
        file: PathBuf,
        /// 1-based line (0 when unknown).
        line: usize,
        /// 1-based column (0 when unknown).
        column: usize,
        /// The parser's message.
        message: String,
        /// What to do about it.
        hint: String,
    },
    /// The file declares a schema version this cordon does not know.
    #[error("{}: schema version {found} is not supported\n  hint: this cordon reads `version: 1`", file.display())]
    Version {
        /// The file.
        file: PathBuf,
        /// The version it declares.
        found: u32,
    },
    /// A value that parses but cannot be used (a bad path, a key in the wrong layer).
    #[error("{origin}: {message}\n  hint: {hint}")]
    Invalid {
        /// The file (or `flags`).
        origin: String,
        /// What is wrong.
        message: String,
        /// What to do about it.
        hint: String,
    },
}
