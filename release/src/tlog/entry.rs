//! Rekor v1 entry bodies (`hashedrekord` 0.0.1 for signed blobs, `dsse` 0.0.1 for DSSE
//! envelopes) and the signed entry timestamp (SET) over them; and Rekor v2's
//! `hashedrekord` 0.0.2, which a Rekor v2 façade over this log stores (no SET: its
//! bundles carry an RFC 3161 timestamp instead).
//!
//! Bodies are JSON with sorted keys and no whitespace, which is what Rekor stores as the
//! entry's canonicalized body and what the Merkle leaf hashes.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::keys::{KeyError, SigningKey};

/// An entry to be logged.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProposedEntry {
    /// A signature over an artifact's SHA-256 digest (`hashedrekord` 0.0.1).
    HashedRekord {
        /// SHA-256 of the artifact.
        digest: [u8; 32],
        /// The DER ECDSA signature.
        signature: Vec<u8>,
        /// The signing certificate, PEM.
        certificate_pem: String,
    },
    /// A DSSE envelope with one signature (`dsse` 0.0.1).
    Dsse {
        /// The envelope's payload bytes.
        payload: Vec<u8>,
        /// The envelope as serialized in the bundle.
        envelope_json: Vec<u8>,
        /// The DER ECDSA signature over the PAE.
        signature: Vec<u8>,
        /// The signing certificate, PEM.
        certificate_pem: String,
    },
    /// A Rekor v2 `hashedrekord` 0.0.2: a signature over a SHA-256 digest (of a blob, or
    /// of a DSSE envelope's PAE) with an ECDSA P-256 certificate.
    HashedRekordV002 {
        /// The SHA-256 digest signed.
        digest: [u8; 32],
        /// The DER ECDSA signature.
        signature: Vec<u8>,
        /// The signing certificate, DER.
        certificate_der: Vec<u8>,
    },
}

impl ProposedEntry {
    /// `(kind, version)` of the entry.
    pub fn kind_version(&self) -> (&'static str, &'static str) {
        match self {
            Self::HashedRekord { .. } => ("hashedrekord", "0.0.1"),
            Self::Dsse { .. } => ("dsse", "0.0.1"),
            Self::HashedRekordV002 { .. } => ("hashedrekord", "0.0.2"),
        }
    }

    /// The canonicalized body.
    pub fn body(&self) -> Vec<u8> {
        let value = match self {
            Self::HashedRekord {
                digest,
                signature,
                certificate_pem,
            } => json!({
                "apiVersion": "0.0.1",
                "kind": "hashedrekord",
                "spec": {
                    "data": {"hash": {"algorithm": "sha256", "value": hex::encode(digest)}},
                    "signature": {
                        "content": STANDARD.encode(signature),
                        "publicKey": {"content": STANDARD.encode(certificate_pem)},
                    },
                },
            }),
            Self::Dsse {
                payload,
                envelope_json,
                signature,
                certificate_pem,
            } => json!({
                "apiVersion": "0.0.1",
                "kind": "dsse",
                "spec": {
                    "envelopeHash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(envelope_json))},
                    "payloadHash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(payload))},
                    "signatures": [{
                        "signature": STANDARD.encode(signature),
                        "verifier": STANDARD.encode(certificate_pem),
                    }],
                },
            }),
            Self::HashedRekordV002 {
                digest,
                signature,
                certificate_der,
            } => json!({
                "apiVersion": "0.0.2",
                "kind": "hashedrekord",
                "spec": {"hashedRekordV002": {
                    "data": {"algorithm": "SHA2_256", "digest": STANDARD.encode(digest)},
                    "signature": {
                        "content": STANDARD.encode(signature),
                        "verifier": {
                            "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                            "x509Certificate": {"rawBytes": STANDARD.encode(certificate_der)},
                        },
                    },
                }},
            }),
        };
        // serde_json's default map is a BTreeMap: keys come out sorted, compactly.
        value.to_string().into_bytes()
    }
}

/// The canonical JSON a signed entry timestamp covers.
pub(crate) fn set_payload(
    body: &[u8],
    integrated_time: i64,
    log_id: &[u8; 32],
    log_index: u64,
) -> Vec<u8> {
    json!({
        "body": STANDARD.encode(body),
        "integratedTime": integrated_time,
        "logID": hex::encode(log_id),
        "logIndex": log_index,
    })
    .to_string()
    .into_bytes()
}

/// Signs a signed entry timestamp.
pub(crate) fn sign_set(
    key: &SigningKey,
    body: &[u8],
    integrated_time: i64,
    log_index: u64,
) -> Result<Vec<u8>, KeyError> {
    key.sign(&set_payload(
        body,
        integrated_time,
        &key.key_id(),
        log_index,
    ))
}
