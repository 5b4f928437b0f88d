//! Checkpoints as C2SP signed notes (<https://c2sp.org/signed-note>,
//! <https://c2sp.org/tlog-checkpoint>), in the form Sigstore clients read for a
//! Rekor-v1-style ECDSA log: the signature line is `— <name> base64(key hint ||
//! signature)` where the 4-byte key hint is the first four bytes of the log id
//! (SHA-256 of the log key's DER SubjectPublicKeyInfo) and the signature is ECDSA P-256
//! over the note text.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::keys::{self, KeyError, SigningKey};
use crate::tlog::merkle::Hash;

/// A checkpoint's contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's origin line.
    pub origin: String,
    /// The number of entries.
    pub tree_size: u64,
    /// The Merkle tree hash.
    pub root: Hash,
}

impl Checkpoint {
    /// The note text that is signed.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.tree_size,
            STANDARD.encode(self.root)
        )
    }

    /// The signed note: body, blank line, one signature line by `name`.
    pub fn sign(&self, name: &str, key: &SigningKey) -> Result<String, KeyError> {
        let body = self.body();
        let signature = key.sign(body.as_bytes())?;
        let mut blob = key.key_id()[..4].to_vec();
        blob.extend_from_slice(&signature);
        Ok(format!(
            "{body}\n\u{2014} {name} {}\n",
            STANDARD.encode(blob)
        ))
    }

    /// Parses a signed note and checks that one of its signature lines is by `name`
    /// with the key `spki_der`; other lines (witness cosignatures) are ignored.
    pub fn open(note: &str, name: &str, spki_der: &[u8]) -> Result<Self, String> {
        let (body, signatures) = note
            .split_once("\n\n")
            .ok_or("no blank line between the note text and its signatures")?;
        let body = format!("{body}\n");
        let mut lines = body.lines();
        let origin = lines.next().ok_or("no origin line")?.to_owned();
        let tree_size = lines
            .next()
            .and_then(|line| line.parse().ok())
            .ok_or("the second line is not a tree size")?;
        let root = lines
            .next()
            .and_then(|line| STANDARD.decode(line).ok())
            .and_then(|bytes| Hash::try_from(bytes).ok())
            .ok_or("the third line is not a base64 SHA-256 root hash")?;
        let hint: [u8; 4] = {
            let id =
                sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(spki_der));
            [id[0], id[1], id[2], id[3]]
        };
        let verified = signatures.lines().any(|line| {
            let Some(rest) = line.strip_prefix("\u{2014} ") else {
                return false;
            };
            let Some((signer, blob)) = rest.split_once(' ') else {
                return false;
            };
            let Ok(blob) = STANDARD.decode(blob) else {
                return false;
            };
            signer == name
                && blob.len() > 4
                && blob[..4] == hint
                && keys::verify(spki_der, body.as_bytes(), &blob[4..])
        });
        if !verified {
            return Err(format!("no valid signature by {name:?} with the log key"));
        }
        Ok(Self {
            origin,
            tree_size,
            root,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_open_round_trip_and_tamper() {
        let (key, _) = SigningKey::generate().unwrap();
        let checkpoint = Checkpoint {
            origin: "log.example - 1".to_owned(),
            tree_size: 7,
            root: [9; 32],
        };
        let note = checkpoint.sign("log.example", &key).unwrap();
        assert!(note.starts_with("log.example - 1\n7\n"));
        assert_eq!(
            Checkpoint::open(&note, "log.example", key.spki_der()).unwrap(),
            checkpoint
        );
        let tampered = note.replacen("\n7\n", "\n8\n", 1);
        assert!(Checkpoint::open(&tampered, "log.example", key.spki_der()).is_err());
        assert!(Checkpoint::open(&note, "other", key.spki_der()).is_err());
        // The note parses with sigstore-types too.
        let parsed = sigstore_types::Checkpoint::from_text(&note).unwrap();
        assert_eq!(parsed.tree_size(), 7);
    }
}
