//! `trusted_root.dsse.json`: a Sigstore `trusted_root.json`, byte for byte, in a DSSE
//! envelope signed by the root CA's key, so that a verifier holding only the root
//! certificate's fingerprint can prove the trusted root a mirror handed it (see
//! docs/trust.md). This module is the envelope's format: rendering, strict parsing, the
//! bytes that are signed ([`pae`]) and the root certificates the payload names. The
//! signature itself is made and checked by the signer's and the verifier's own crypto.
//!
//! Two payloads exist: the **versioned** one (payload type
//! [`VERSIONED_TRUSTED_ROOT_PAYLOAD_TYPE`], a [`RootStatement`] carrying a signed
//! version and expiry around the trusted root's bytes), which `trust init`/`rotate`
//! write, and the **legacy** one (payload type [`SIGNED_TRUSTED_ROOT_PAYLOAD_TYPE`], the
//! trusted root's bytes alone) that releases made before it ship and verifiers still
//! accept.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use serde_json::{Value, json};

use crate::names::SIGNED_TRUSTED_ROOT_PAYLOAD_TYPE;
use crate::root_statement::{
    RootStatement, RootStatementError, VERSIONED_TRUSTED_ROOT_PAYLOAD_TYPE,
};

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
        "payloadType {found:?} is neither {VERSIONED_TRUSTED_ROOT_PAYLOAD_TYPE:?} nor {SIGNED_TRUSTED_ROOT_PAYLOAD_TYPE:?}: not a root-signed trusted root"
    )]
    PayloadType {
        /// What the envelope says, if it says anything.
        found: Option<String>,
    },
    /// `payload` is absent or not base64.
    #[error("\"payload\" is missing or not base64")]
    Payload,
    /// The versioned payload is not a [`RootStatement`].
    #[error(transparent)]
    Statement(#[from] RootStatementError),
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
    /// The exact signed payload: the statement's JSON for a versioned envelope, the
    /// bytes of `trusted_root.json` for a legacy one.
    pub payload: Vec<u8>,
    /// The signed version and expiry (`None`: a legacy envelope, whose version a
    /// verifier derives from the trusted root itself).
    pub statement: Option<RootStatement>,
    /// At least one signature.
    pub signatures: Vec<EnvelopeSignature>,
}

impl SignedTrustedRoot {
    /// A legacy envelope over the bytes of `trusted_root.json` with one signature.
    pub fn new(payload: Vec<u8>, keyid: impl Into<String>, sig: Vec<u8>) -> Self {
        SignedTrustedRoot {
            payload,
            statement: None,
            signatures: vec![EnvelopeSignature {
                keyid: keyid.into(),
                sig,
            }],
        }
    }

    /// A versioned envelope over `statement` with one signature.
    pub fn versioned(statement: RootStatement, keyid: impl Into<String>, sig: Vec<u8>) -> Self {
        SignedTrustedRoot {
            payload: statement.to_json(),
            statement: Some(statement),
            signatures: vec![EnvelopeSignature {
                keyid: keyid.into(),
                sig,
            }],
        }
    }

    /// The envelope's payload type.
    pub fn payload_type(&self) -> &'static str {
        if self.statement.is_some() {
            VERSIONED_TRUSTED_ROOT_PAYLOAD_TYPE
        } else {
            SIGNED_TRUSTED_ROOT_PAYLOAD_TYPE
        }
    }

    /// The exact bytes of `trusted_root.json` the envelope carries.
    pub fn trusted_root_bytes(&self) -> &[u8] {
        match &self.statement {
            Some(statement) => &statement.trusted_root,
            None => &self.payload,
        }
    }

    /// What the root key signs: the DSSE pre-authentication encoding of the payload.
    pub fn signed_bytes(&self) -> Vec<u8> {
        pae(self.payload_type(), &self.payload)
    }

    /// The envelope as pretty JSON with a final newline: the bytes of
    /// `trusted_root.dsse.json`.
    pub fn to_json(&self) -> Vec<u8> {
        let envelope = json!({
            "payloadType": self.payload_type(),
            "payload": STANDARD.encode(&self.payload),
            "signatures": self.signatures.iter().map(|signature| json!({
                "keyid": signature.keyid,
                "sig": STANDARD.encode(&signature.sig),
            })).collect::<Vec<_>>(),
        });
        format!("{envelope:#}\n").into_bytes()
    }

    /// Parses an envelope strictly: the payload type must be the versioned statement's
    /// (whose payload must then be a [`RootStatement`]) or the trusted root's, the
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
        let versioned = match payload_type {
            Some(VERSIONED_TRUSTED_ROOT_PAYLOAD_TYPE) => true,
            Some(SIGNED_TRUSTED_ROOT_PAYLOAD_TYPE) => false,
            _ => {
                return Err(SignedTrustedRootError::PayloadType {
                    found: payload_type.map(str::to_owned),
                });
            }
        };
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
            .collect::<Result<Vec<_>, SignedTrustedRootError>>()?;
        if signatures.is_empty() {
            return Err(SignedTrustedRootError::NoSignatures);
        }
        let statement = if versioned {
            Some(RootStatement::parse(&payload)?)
        } else {
            None
        };
        Ok(SignedTrustedRoot {
            payload,
            statement,
            signatures,
        })
    }

    /// The DER certificate that ends each certificate authority's chain in the payload
    /// (`certificateAuthorities[].certChain.certificates`, last): the candidates for the
    /// pinned root.
    pub fn chain_roots(&self) -> Result<Vec<Vec<u8>>, SignedTrustedRootError> {
        let root: Value = serde_json::from_slice(self.trusted_root_bytes())
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
    fn versioned_envelopes_carry_the_trusted_root_inside_a_signed_statement() {
        let trusted_root = json!({"certificateAuthorities": [
            {"certChain": {"certificates": [{"rawBytes": STANDARD.encode(b"root")}]}},
        ]})
        .to_string()
        .into_bytes();
        let statement = RootStatement {
            version: 4,
            expires: 1_800_000_000,
            trusted_root: trusted_root.clone(),
        };
        let envelope = SignedTrustedRoot::versioned(statement.clone(), "ab", vec![7]);
        let parsed = SignedTrustedRoot::parse(&envelope.to_json()).unwrap();
        assert_eq!(parsed, envelope);
        assert_eq!(parsed.statement, Some(statement));
        assert_eq!(parsed.trusted_root_bytes(), trusted_root);
        assert_eq!(parsed.chain_roots().unwrap(), [b"root".to_vec()]);
        // The signature covers the statement (version and expiry), not only the root.
        let signed = parsed.signed_bytes();
        assert!(
            signed.starts_with(
                format!(
                    "DSSEv1 {} {VERSIONED_TRUSTED_ROOT_PAYLOAD_TYPE} ",
                    VERSIONED_TRUSTED_ROOT_PAYLOAD_TYPE.len()
                )
                .as_bytes()
            )
        );
        assert!(signed.ends_with(&parsed.payload));
        // A versioned payload type over a bare trusted root is refused.
        let mut value: Value = serde_json::from_slice(&envelope.to_json()).unwrap();
        value["payload"] = json!(STANDARD.encode(&trusted_root));
        let error = SignedTrustedRoot::parse(value.to_string().as_bytes()).unwrap_err();
        assert!(
            matches!(error, SignedTrustedRootError::Statement(_)),
            "{error}"
        );
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
