//! `cordon log verify`: walks a transcript's hash chain and compares its end with the
//! head, naming the first record that is wrong (edited, reordered, deleted, truncated).

use std::path::Path;

use crate::TranscriptError;
use crate::event::{GENESIS, Record};
use crate::head::{Head, line_hash};

/// What a verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// Lines read (records, good or bad).
    pub lines: u64,
    /// The head, when it exists and parses.
    pub head: Option<Head>,
    /// The first problem; `None`: the chain is intact and ends where the head says.
    pub problem: Option<Problem>,
}

/// The first thing wrong in a transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The 1-based line of the first bad record (0: the problem is the head itself).
    pub line: u64,
    /// What is wrong, in a sentence.
    pub what: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            f.write_str(&self.what)
        } else {
            write!(f, "line {}: {}", self.line, self.what)
        }
    }
}

/// Verifies the transcript at `path` against the head at `head_path`.
pub fn verify(path: &Path, head_path: &Path) -> Result<Verification, TranscriptError> {
    let bytes =
        std::fs::read(path).map_err(|source| TranscriptError::io(path, "cannot read", source))?;
    let head = match std::fs::read_to_string(head_path) {
        Ok(text) if text.trim().is_empty() => None,
        Ok(text) => Some(
            Head::parse(&text).map_err(|source| TranscriptError::BadHead {
                path: head_path.to_path_buf(),
                source,
            })?,
        ),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => return Err(TranscriptError::io(head_path, "cannot read", source)),
    };
    Ok(verify_bytes(&bytes, head.as_ref()))
}

/// [`verify`] on the transcript's bytes and its head (`None`: missing or empty).
pub fn verify_bytes(bytes: &[u8], head: Option<&Head>) -> Verification {
    let mut lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    let unterminated = lines.pop().filter(|last| !last.is_empty());
    let parsed: Vec<Option<Record>> = lines
        .iter()
        .map(|line| serde_json::from_slice(line).ok())
        .collect();
    let total = lines.len() as u64 + u64::from(unterminated.is_some());
    let found = |problem| Verification {
        lines: total,
        head: head.cloned(),
        problem: Some(problem),
    };
    let mut prev = GENESIS.to_owned();
    for (index, line) in lines.iter().enumerate() {
        let number = index as u64 + 1;
        let expected = index as u64;
        let Some(record) = &parsed[index] else {
            let error = serde_json::from_slice::<Record>(line)
                .err()
                .map_or_else(String::new, |e| e.to_string());
            return found(Problem {
                line: number,
                what: format!("not a transcript record (edited or damaged): {error}"),
            });
        };
        if record.prev != prev {
            let what = if record.seq > expected {
                match parsed[index..]
                    .iter()
                    .position(|r| r.as_ref().is_some_and(|r| r.seq == expected))
                {
                    Some(at) => format!(
                        "records out of order: seq {} is here, seq {expected} comes later (line {})",
                        record.seq,
                        number + at as u64
                    ),
                    None if record.seq == expected + 1 => {
                        format!("the record with seq {expected} was deleted before this line")
                    }
                    None => format!(
                        "the records with seq {expected} to {} were deleted before this line",
                        record.seq - 1
                    ),
                }
            } else if record.seq < expected {
                format!(
                    "seq {} after seq {}: records out of order or duplicated (or the chain was restarted: was the head deleted?)",
                    record.seq,
                    expected - 1
                )
            } else if index == 0 {
                "the first record does not start the chain: records before it were deleted".into()
            } else {
                // The record is where it belongs: the line before it changed.
                return found(Problem {
                    line: number - 1,
                    what: format!("edited: its hash no longer matches the `prev` of line {number}"),
                });
            };
            return found(Problem { line: number, what });
        }
        if record.seq != expected {
            return found(Problem {
                line: number,
                what: format!("edited: seq {} where {expected} belongs", record.seq),
            });
        }
        prev = line_hash(line);
    }
    let records = lines.len() as u64;
    if unterminated.is_some() {
        return found(Problem {
            line: records + 1,
            what: "an incomplete record (no newline): truncated inside a record or cut short by a crash".into(),
        });
    }
    let Some(head) = head else {
        if records == 0 {
            return Verification {
                lines: 0,
                head: None,
                problem: None,
            };
        }
        return found(Problem {
            line: 0,
            what: "the head is missing: whether records were removed from the end cannot be told"
                .into(),
        });
    };
    let problem = if head.count > records {
        Some(Problem {
            line: records,
            what: format!(
                "truncated: the head says {} records, the file ends after {records}",
                head.count
            ),
        })
    } else if head.count < records {
        Some(Problem {
            line: head.count + 1,
            what: format!(
                "records after the head's last ({}): added without cordon, or the head was rolled back",
                head.count
            ),
        })
    } else if head.last != prev {
        Some(Problem {
            line: records,
            what: "edited: the last record's hash does not match the head".into(),
        })
    } else if head.bytes != bytes.len() as u64 {
        Some(Problem {
            line: 0,
            what: format!(
                "the head says the file holds {} bytes, it holds {}",
                head.bytes,
                bytes.len()
            ),
        })
    } else {
        None
    };
    Verification {
        lines: total,
        head: Some(head.clone()),
        problem,
    }
}
