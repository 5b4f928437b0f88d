//! The transparency log: what a signer logs its signatures in, and what the bundle's
//! `tlogEntries` are made from.
//!
//! [`TransparencyLog`] is the seam: [`FileLog`] (the embedded, file-backed,
//! Rekor-v1-style log) implements it today; an uploader to a real Rekor
//! (`POST /api/v1/log/entries`, or v2) would implement it the same way.

pub(crate) mod entry;
pub mod merkle;
pub(crate) mod note;
pub(crate) mod store;
pub(crate) mod tiles;

use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

pub use entry::ProposedEntry;
pub use store::FileLog;

use crate::fsutil::FsError;
use crate::keys::KeyError;

/// Why the log could not append or answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// A filesystem operation failed.
    #[error(transparent)]
    Fs(#[from] FsError),
    /// Signing failed.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The stored log is inconsistent.
    #[error("transparency log is corrupt: {0}")]
    Corrupt(String),
    /// A request outside what the log holds.
    #[error("transparency log: {0}")]
    Range(String),
}

/// A log that appends entries and returns everything a bundle needs to verify them
/// offline.
pub trait TransparencyLog {
    /// Appends `entries` (in order) as of `now`; returns them logged, with proofs
    /// against a checkpoint that covers them all.
    fn append(
        &self,
        entries: &[ProposedEntry],
        now: SystemTime,
    ) -> Result<Vec<LoggedEntry>, LogError>;
}

/// A logged entry with its promise and proof.
#[derive(Debug, Clone)]
pub struct LoggedEntry {
    /// Position in the log.
    pub log_index: u64,
    /// SHA-256 of the log key's DER SPKI.
    pub log_id: [u8; 32],
    /// Entry kind (`hashedrekord`, `dsse`).
    pub kind: &'static str,
    /// Entry version (`0.0.1`).
    pub version: &'static str,
    /// When the log integrated it (seconds since the epoch).
    pub integrated_time: i64,
    /// The canonicalized body.
    pub body: Vec<u8>,
    /// The signed entry timestamp.
    pub signed_entry_timestamp: Vec<u8>,
    /// The tree size the proof is against.
    pub tree_size: u64,
    /// The root hash at that size.
    pub root: merkle::Hash,
    /// The audit path.
    pub proof: Vec<merkle::Hash>,
    /// The signed checkpoint note at that size.
    pub checkpoint: String,
}

impl LoggedEntry {
    /// The entry as a Sigstore bundle `TransparencyLogEntry` (JSON). A Rekor v2 entry
    /// (version 0.0.2) carries no integrated time and no promise, as Rekor v2 answers.
    pub fn to_bundle_json(&self) -> serde_json::Value {
        let mut entry = self.to_v1_bundle_json();
        if self.version == "0.0.2"
            && let Some(map) = entry.as_object_mut()
        {
            map.remove("integratedTime");
            map.remove("inclusionPromise");
        }
        entry
    }

    fn to_v1_bundle_json(&self) -> serde_json::Value {
        json!({
            "logIndex": self.log_index.to_string(),
            "logId": {"keyId": STANDARD.encode(self.log_id)},
            "kindVersion": {"kind": self.kind, "version": self.version},
            "integratedTime": self.integrated_time.to_string(),
            "inclusionPromise": {"signedEntryTimestamp": STANDARD.encode(&self.signed_entry_timestamp)},
            "inclusionProof": {
                "logIndex": self.log_index.to_string(),
                "rootHash": STANDARD.encode(self.root),
                "treeSize": self.tree_size.to_string(),
                "hashes": self.proof.iter().map(|hash| STANDARD.encode(hash)).collect::<Vec<_>>(),
                "checkpoint": {"envelope": self.checkpoint},
            },
            "canonicalizedBody": STANDARD.encode(&self.body),
        })
    }
}
