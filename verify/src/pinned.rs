//! Pinned roots: proving a `trusted_root.json` from nothing but the SHA-256 fingerprint
//! of a root certificate the distributor pinned once, out of band.
//!
//! The release ships `trusted_root.dsse.json` (see the release side's docs/trust.md): a
//! DSSE envelope whose payload is the exact bytes of `trusted_root.json` and whose
//! payload type is the trusted-root media type, signed by the root CA's key. It is
//! accepted when a certificate chain inside the payload ends in a certificate whose
//! DER SHA-256 is the pinned fingerprint and that certificate's key signed the
//! envelope's pre-authentication encoding. A mirror can therefore not swap the trust
//! root: it would need the offline root key.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use sha2::{Digest, Sha256};
use sigstore_verify::crypto::{VerificationKey, parse_certificate_info};
use sigstore_verify::trust_root::TrustedRoot;
use sigstore_verify::types::{DerCertificate, SignatureBytes};

use crate::exit::{Failure, FailureClass};
use crate::input::{self, MAX_JSON_BYTES};
use crate::signature;

/// The DSSE payload type of a root-signed trusted root.
pub const SIGNED_TRUSTED_ROOT_PAYLOAD_TYPE: &str =
    "application/vnd.dev.sigstore.trustedroot+json;version=0.1";

/// The file name of the root-signed trusted root in a release directory.
pub const SIGNED_TRUSTED_ROOT_FILE: &str = "trusted_root.dsse.json";

/// Parses a pinned root fingerprint: 64 hex digits, optionally prefixed `sha256:` and
/// optionally written with colons (as `openssl x509 -fingerprint -sha256` prints it).
pub fn parse_fingerprint(argument: &str) -> Result<[u8; 32], Failure> {
    let trimmed = argument.trim();
    let hex_digits: String = trimmed
        .strip_prefix("sha256:")
        .or_else(|| trimmed.strip_prefix("SHA256:"))
        .unwrap_or(trimmed)
        .chars()
        .filter(|c| *c != ':')
        .collect();
    let mut fingerprint = [0u8; 32];
    if hex_digits.len() != 64 || hex::decode_to_slice(&hex_digits, &mut fingerprint).is_err() {
        return Err(Failure::new(
            FailureClass::BadInput,
            format!(
                "--pinned-root {argument:?}: expected the root certificate's SHA-256 as 64 hex digits"
            ),
        ));
    }
    Ok(fingerprint)
}

/// Reads `path` (a root-signed trusted root) and proves it from `pinned`. Returns the
/// trusted root and the exact `trusted_root.json` bytes it carries.
pub fn load_signed_trusted_root(
    path: &Path,
    pinned: &[u8; 32],
) -> Result<(TrustedRoot, Vec<u8>), Failure> {
    let text = input::read_json_text(path, "signed trusted root", MAX_JSON_BYTES)?;
    open_signed_trusted_root(&text, &path.display().to_string(), pinned)
}

/// [`load_signed_trusted_root`] over the envelope's text; `origin` names it in errors.
pub fn open_signed_trusted_root(
    text: &str,
    origin: &str,
    pinned: &[u8; 32],
) -> Result<(TrustedRoot, Vec<u8>), Failure> {
    let bad = |reason: String| {
        Failure::new(
            FailureClass::BadInput,
            format!("signed trusted root {origin}: {reason}"),
        )
    };
    let envelope = input::parse_json(text, Path::new(origin), "signed trusted root")?;
    let payload_type = envelope
        .get("payloadType")
        .and_then(serde_json::Value::as_str);
    if payload_type != Some(SIGNED_TRUSTED_ROOT_PAYLOAD_TYPE) {
        return Err(bad(format!(
            "payloadType {payload_type:?} is not {SIGNED_TRUSTED_ROOT_PAYLOAD_TYPE:?}: not a root-signed trusted root"
        )));
    }
    let payload = envelope
        .get("payload")
        .and_then(serde_json::Value::as_str)
        .and_then(decode_base64)
        .ok_or_else(|| bad("\"payload\" is missing or not base64".to_owned()))?;
    let payload_text = std::str::from_utf8(&payload)
        .map_err(|_| bad("the payload is not UTF-8 text".to_owned()))?;
    let root = signature::parse_trusted_root(payload_text, &format!("{origin} (payload)"))?;
    let value: serde_json::Value = serde_json::from_str(payload_text)
        .map_err(|error| bad(format!("the payload is not JSON: {error}")))?;

    // The pinned certificate: the last of some certificate authority's chain.
    let anchor = value
        .get("certificateAuthorities")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|ca| ca.pointer("/certChain/certificates")?.as_array()?.last())
        .filter_map(|certificate| certificate.get("rawBytes")?.as_str())
        .filter_map(decode_base64)
        .find(|der| Sha256::digest(der).as_slice() == pinned)
        .ok_or_else(|| {
            Failure::new(
                FailureClass::Signature,
                format!(
                    "signed trusted root {origin}: no certificate chain in it ends in the pinned root {}; this root was not issued by the root you pinned",
                    hex::encode(pinned)
                ),
            )
        })?;
    let info = parse_certificate_info(&DerCertificate::new(anchor)).map_err(|error| {
        bad(format!(
            "the pinned root certificate cannot be parsed: {error}"
        ))
    })?;
    let key = VerificationKey::from_spki(&info.public_key)
        .map_err(|error| bad(format!("the pinned root's key is not usable: {error}")))?;
    let message = pae(SIGNED_TRUSTED_ROOT_PAYLOAD_TYPE, &payload);
    let signatures = envelope
        .get("signatures")
        .and_then(serde_json::Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    if signatures.is_empty() {
        return Err(bad("the envelope has no signatures".to_owned()));
    }
    let signed = signatures.iter().any(|entry| {
        entry
            .get("sig")
            .and_then(serde_json::Value::as_str)
            .and_then(decode_base64)
            .is_some_and(|sig| key.verify(&message, &SignatureBytes::new(sig)).is_ok())
    });
    if !signed {
        return Err(Failure::new(
            FailureClass::Signature,
            format!(
                "signed trusted root {origin}: no signature in it verifies with the pinned root's key; the file was altered or signed by another key"
            ),
        ));
    }
    Ok((root, payload))
}

/// DSSE v1 pre-authentication encoding.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
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
    fn fingerprints_in_the_usual_spellings() {
        let hex = "ab".repeat(32);
        let colons = vec!["AB"; 32].join(":");
        for spelling in [
            hex.clone(),
            format!("sha256:{hex}"),
            colons,
            format!(" {hex}\n"),
        ] {
            assert_eq!(
                parse_fingerprint(&spelling).unwrap(),
                [0xab; 32],
                "{spelling}"
            );
        }
        for bad in ["", "ab", &"zz".repeat(32), &"ab".repeat(33)] {
            assert_eq!(
                parse_fingerprint(bad).unwrap_err().class,
                FailureClass::BadInput
            );
        }
    }

    #[test]
    fn pae_matches_the_dsse_test_vector() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
    }

    #[test]
    fn malformed_envelopes_are_bad_input() {
        let pinned = [0u8; 32];
        for text in [
            "",
            "{",
            "[]",
            r#"{"payloadType": "application/json"}"#,
            r#"{"payloadType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1"}"#,
            r#"{"payloadType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1", "payload": "!!"}"#,
        ] {
            let error = open_signed_trusted_root(text, "t.json", &pinned).unwrap_err();
            assert_eq!(error.class, FailureClass::BadInput, "{text}: {error}");
        }
    }
}
