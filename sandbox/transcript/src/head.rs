//! The chain head: how many records the transcript holds, the hash of the last one and
//! the file's length after it, kept in a separate file (`transcript.head`) that, like
//! the transcript, no sandbox can write.

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::event::GENESIS;

/// The head file's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// Records in the transcript.
    pub count: u64,
    /// `sha256:` of the last record's line ([`GENESIS`] when there is none).
    pub last: String,
    /// The transcript's length in bytes after the last record.
    pub bytes: u64,
}

impl Default for Head {
    fn default() -> Self {
        Head {
            count: 0,
            last: GENESIS.to_owned(),
            bytes: 0,
        }
    }
}

impl Head {
    /// Parses a head file's text.
    pub fn parse(text: &str) -> Result<Head, serde_json::Error> {
        serde_json::from_str(text.trim_end())
    }

    /// The head file's text (one JSON line).
    pub fn to_line(&self) -> String {
        let mut line = serde_json::json!({
            "count": self.count,
            "last": self.last,
            "bytes": self.bytes,
        })
        .to_string();
        line.push('\n');
        line
    }
}

/// `sha256:` of one line's bytes (without its newline): what the next record's `prev`
/// and the head's `last` hold.
pub fn line_hash(line: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(line)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_survives_its_own_text() {
        let head = Head {
            count: 3,
            last: line_hash(b"x"),
            bytes: 900,
        };
        assert_eq!(Head::parse(&head.to_line()).ok(), Some(head));
        assert!(Head::parse("{\"count\":1}").is_err());
        assert_eq!(
            line_hash(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
