//! `accepted-policy.json`: the digest and a copy of the project's policy file as the user
//! last accepted it (`cordon policy accept`), in the project's state directory.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::{StoreError, files};

/// The file's name in the state directory.
pub const ACCEPTED_POLICY_FILE: &str = "accepted-policy.json";

/// What the user accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcceptedPolicy {
    /// Schema version (1).
    pub version: u32,
    /// The policy file.
    pub path: String,
    /// `sha256:` of its bytes.
    pub digest: String,
    /// Its text.
    pub text: String,
    /// Who accepted it, and when (RFC 3339).
    pub accepted_by: String,
    /// When.
    pub accepted: String,
}

/// `sha256:` of a policy file's text.
pub fn policy_text_digest(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("sha256:{hex}")
}

impl AcceptedPolicy {
    /// The accepted copy in `state_dir`, `None` when nothing was accepted yet.
    pub fn load(state_dir: &Path) -> Result<Option<Self>, StoreError> {
        let path = state_dir.join(ACCEPTED_POLICY_FILE);
        let Some(text) = files::read_optional(&path)? else {
            return Ok(None);
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|error| StoreError::Parse {
                path,
                line: error.line(),
                column: error.column(),
                message: error.to_string(),
            })
    }

    /// Records `text` of `policy` as accepted by `who` now.
    pub fn save(
        state_dir: &Path,
        policy: &Path,
        text: &str,
        who: &str,
    ) -> Result<Self, StoreError> {
        let accepted = AcceptedPolicy {
            version: 1,
            path: policy.display().to_string(),
            digest: policy_text_digest(text),
            text: text.to_owned(),
            accepted_by: who.to_owned(),
            accepted: jiff::Timestamp::now().to_string(),
        };
        let mut json = serde_json::to_string_pretty(&accepted).map_err(StoreError::Encode)?;
        json.push('\n');
        files::write_atomic(&state_dir.join(ACCEPTED_POLICY_FILE), json.as_bytes())?;
        Ok(accepted)
    }
}

/// The change from `old` to `new`, line by line: `- line` gone, `+ line` new (a line
/// multiset difference, in file order; enough to see what a pull changed).
pub fn line_diff(old: &str, new: &str) -> Vec<String> {
    let mut remaining: Vec<&str> = new.lines().collect();
    let mut out = Vec::new();
    for line in old.lines() {
        match remaining.iter().position(|candidate| *candidate == line) {
            Some(index) => {
                remaining.remove(index);
            }
            None => out.push(format!("- {line}")),
        }
    }
    let mut kept: Vec<&str> = old.lines().collect();
    for line in new.lines() {
        match kept.iter().position(|candidate| *candidate == line) {
            Some(index) => {
                kept.remove(index);
            }
            None => out.push(format!("+ {line}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_copies_round_trip_and_diffs_show_the_change() {
        let dir = tempfile::tempdir().unwrap();
        assert!(AcceptedPolicy::load(dir.path()).unwrap().is_none());
        let saved = AcceptedPolicy::save(
            dir.path(),
            Path::new("/p/.cordon/policy.yaml"),
            "version: 1\n",
            "ada",
        )
        .unwrap();
        assert_eq!(
            AcceptedPolicy::load(dir.path()).unwrap(),
            Some(saved.clone())
        );
        assert_eq!(saved.digest, policy_text_digest("version: 1\n"));
        assert_eq!(
            line_diff("version: 1\na: 1\n", "version: 1\nb: 2\n"),
            ["- a: 1", "+ b: 2"]
        );
        std::fs::write(dir.path().join(ACCEPTED_POLICY_FILE), "{").unwrap();
        assert!(matches!(
            AcceptedPolicy::load(dir.path()),
            Err(StoreError::Parse { .. })
        ));
    }
}
