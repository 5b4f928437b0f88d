//! `trusted_root.dsse.json`: a Sigstore `trusted_root.json`, byte for byte, in a DSSE
//! envelope signed by the root CA's key, so that a verifier holding only the root
//! certificate's fingerprint can prove the trusted root a mirror handed it (see
//! docs/trust.md). This module is the envelope's format: rendering, strict parsing, the
//! bytes that are signed ([`pae`]) and the root certificates the payload names. The
//! signature itself is made and checked by the signer's and the verifier's own crypto.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use serde_json::{Value, json};

use crate::names::SIGNED_TRUSTED_ROOT_PAYLOAD_TYPE;

pub use sigstore_types::pae;

/// Why an envelope is not a root-signed trusted root.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignedTrustedRootError {
    /// The envelope is not a JSON object.
    #[error("not a JSON object: {0}")]
    NotJson(String),
    /// `payloadType` is absent or another type.
    #[error(
        "payloadType {found:?} is not {SIGNED_TRUSTED_ROOT_PAYLOAD_TYPE:?}: not a root-signed trusted root"
    )]
    PayloadType {
        /// What the envelope says, if it says anything.
        found: Option<String>,
    },
    /// `payload` is absent or not base64.
    #[error("\"payload\" is missing or not base64")]
    Payload,
    /// The payload is not a JSON trusted root.
    #[error("the payload is not JSON: {0}")]
    PayloadNotJson(String),
    /// No signatures.
    #[error("the envelope has no signatures")]
    NoSignatures,
    /// A signature that is not base64.
    #[error("signatures[{index}].sig is missing or not base64")]
    Signature {
        /// Its position in `signatures`.
        index: usize,
    },
}

/// One signature of the envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeSignature {
    /// The key id hint (the signer writes the root certificate's SHA-256, hex); may be
    /// empty.
    pub keyid: String,
    /// The signature over [`SignedTrustedRoot::signed_bytes`].
    pub sig: Vec<u8>,
}

/// A parsed root-signed trusted root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTrustedRoot {
    /// The exact bytes of `trusted_root.json`.
    pub payload: Vec<u8>,
    /// At least one signature.
    pub signatures: Vec<EnvelopeSignature>,
}

impl SignedTrustedRoot {
    /// An envelope over `payload` with one signature.
    pub fn new(payload: Vec<u8>, keyid: impl Into<String>, sig: Vec<u8>) -> Self {
        SignedTrustedRoot {
            payload,
            signatures: vec![EnvelopeSignature {
                keyid: keyid.into(),
                sig,
            }],
        }
    }

    /// What the root key signs: the DSSE pre-authentication encoding of `payload`.
    pub fn signed_bytes(&self) -> Vec<u8> {
        pae(SIGNED_TRUSTED_ROOT_PAYLOAD_TYPE, &self.payload)
    }

    /// The envelope as pretty JSON with a final newline: the bytes of
    /// `trusted_root.dsse.json`.
    pub fn to_json(&self) -> Vec<u8> {
        let envelope = json!({
            "payloadType": SIGNED_TRUSTED_ROOT_PAYLOAD_TYPE,
            "payload": STANDARD.encode(&self.payload),
            "signatures": self.signatures.iter().map(|signature| json!({
                "keyid": signature.keyid,
                "sig": STANDARD.encode(&signature.sig),
            })).collect::<Vec<_>>(),
        });
        format!("{envelope:#}\n").into_bytes()
    }

    /// Parses an envelope strictly: the payload type must be the trusted root's, the
    /// payload and every signature base64 (standard or URL-safe, as DSSE allows), and
    /// there must be at least one signature.
    pub fn parse(text: &[u8]) -> Result<Self, SignedTrustedRootError> {
        let envelope: Value = serde_json::from_slice(text)
            .map_err(|error| SignedTrustedRootError::NotJson(error.to_string()))?;
        if !envelope.is_object() {
            return Err(SignedTrustedRootError::NotJson(
                "the envelope is not an object".to_owned(),
            ));
        }
        let payload_type = envelope.get("payloadType").and_then(Value::as_str);
        if payload_type != Some(SIGNED_TRUSTED_ROOT_PAYLOAD_TYPE) {
            return Err(SignedTrustedRootError::PayloadType {
                found: payload_type.map(str::to_owned),
            });
        }
        let payload = envelope
            .get("payload")
            .and_then(Value::as_str)
            .and_then(decode_base64)
            .ok_or(SignedTrustedRootError::Payload)?;
        let signatures = envelope
            .get("signatures")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(index, entry)| {
                let sig = entry
                    .get("sig")
                    .and_then(Value::as_str)
                    .and_then(decode_base64)
                    .ok_or(SignedTrustedRootError::Signature { index })?;
                let keyid = entry
                    .get("keyid")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                Ok(EnvelopeSignature { keyid, sig })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if signatures.is_empty() {
            return Err(SignedTrustedRootError::NoSignatures);
        }
        Ok(SignedTrustedRoot {
            payload,
            signatures,
        })
    }

    /// The DER certificate that ends each certificate authority's chain in the payload
    /// (`certificateAuthorities[].certChain.certificates`, last): the candidates for the
    /// pinned root.
    pub fn chain_roots(&self) -> Result<Vec<Vec<u8>>, SignedTrustedRootError> {
        let root: Value = serde_json::from_slice(&self.payload)
            .map_err(|error| SignedTrustedRootError::PayloadNotJson(error.to_string()))?;
        Ok(root
            .get("certificateAuthorities")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|ca| ca.pointer("/certChain/certificates")?.as_array()?.last())
            .filter_map(|certificate| certificate.get("rawBytes")?.as_str())
            .filter_map(decode_base64)
            .collect())
    }
}

/// DSSE verifiers must accept both standard and URL-safe base64.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    STANDARD
        .decode(text)
        .or_else(|_| URL_SAFE.decode(text))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_the_dsse_test_vector() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
    }

    #[test]
    fn rendered_envelopes_parse_back_and_name_their_roots() {
        let payload = json!({"certificateAuthorities": [
            {"certChain": {"certificates": [{"rawBytes": STANDARD.encode(b"leaf")}, {"rawBytes": STANDARD.encode(b"root")}]}},
            {"certChain": {"certificates": [{"rawBytes": STANDARD.encode(b"other")}]}},
        ]})
        .to_string()
        .into_bytes();
        let envelope = SignedTrustedRoot::new(payload.clone(), "ab", vec![1, 2, 3]);
        let parsed = SignedTrustedRoot::parse(&envelope.to_json()).unwrap();
        assert_eq!(parsed, envelope);
        assert_eq!(
            parsed.chain_roots().unwrap(),
            [b"root".to_vec(), b"other".to_vec()]
        );
        assert!(
            parsed.signed_bytes().starts_with(
                b"DSSEv1 57 application/vnd.dev.sigstore.trustedroot+json;version=0.1 "
            )
        );
        assert!(parsed.signed_bytes().ends_with(&payload));
    }

    #[test]
    fn malformed_envelopes_say_what_is_wrong() {
        let kind = SIGNED_TRUSTED_ROOT_PAYLOAD_TYPE;
        for (text, expected) in [
            ("".to_owned(), "not a JSON object"),
            ("[]".to_owned(), "not a JSON object"),
            (
                r#"{"payloadType": "application/json"}"#.to_owned(),
                "payloadType",
            ),
            (format!(r#"{{"payloadType": "{kind}"}}"#), "payload"),
            (
                format!(r#"{{"payloadType": "{kind}", "payload": "!!"}}"#),
                "payload",
            ),
            (
                format!(r#"{{"payloadType": "{kind}", "payload": "e30=", "signatures": []}}"#),
                "no signatures",
            ),
            (
                format!(
                    r#"{{"payloadType": "{kind}", "payload": "e30=", "signatures": [{{"sig": "!"}}]}}"#
                ),
                "signatures[0]",
            ),
        ] {
            let error = SignedTrustedRoot::parse(text.as_bytes()).unwrap_err();
            assert!(error.to_string().contains(expected), "{text}: {error}");
        }
        // URL-safe base64 is accepted, as DSSE requires.
        let url_safe = format!(
            r#"{{"payloadType": "{kind}", "payload": "e30=", "signatures": [{{"sig": "-_8="}}]}}"#
        );
        let parsed = SignedTrustedRoot::parse(url_safe.as_bytes()).unwrap();
        assert_eq!(parsed.signatures[0].sig, [0xfb, 0xff]);
    }
}
