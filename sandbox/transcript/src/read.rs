//! Reading a transcript back for `cordon log show`: records in file order, each with
//! its line number; a line that is not a record is an error naming it.

use std::path::Path;

use crate::event::Record;

/// A transcript that cannot be read back.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file cannot be read.
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A line is not a record.
    #[error("{}:{line}: not a transcript record ({source}); `cordon log verify` tells whether it was edited", path.display())]
    Record {
        /// The file.
        path: std::path::PathBuf,
        /// The 1-based line.
        line: usize,
        /// The parse error.
        source: serde_json::Error,
    },
}

/// Every record of the transcript at `path`, with its 1-based line number; a missing
/// file has none.
pub fn read_records(path: &Path) -> Result<Vec<(usize, Record)>, ReadError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(ReadError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    bytes
        .split(|b| *b == b'\n')
        .enumerate()
        .filter(|(_, line)| !line.is_empty())
        .map(|(index, line)| {
            serde_json::from_slice(line)
                .map(|record| (index + 1, record))
                .map_err(|source| ReadError::Record {
                    path: path.to_path_buf(),
                    line: index + 1,
                    source,
                })
        })
        .collect()
}
