//! Pinned roots: proving a `trusted_root.json` from nothing but the SHA-256 fingerprint
//! of a root certificate the distributor pinned once, out of band.
//!
//! The release ships `trusted_root.dsse.json` (see the release side's docs/trust.md): a
//! DSSE envelope whose payload is the exact bytes of `trusted_root.json` and whose
//! payload type is the trusted-root media type, signed by the root CA's key. It is
//! accepted when a certificate chain inside the payload ends in a certificate whose
//! DER SHA-256 is the pinned fingerprint and that certificate's key signed the
//! envelope's pre-authentication encoding. A mirror can therefore not swap the trust
//! root: it would need the offline root key. A versioned envelope's payload is a signed
//! statement (version, expiry, the trusted root's bytes); a legacy one's is the bare
//! trusted root (see [`crate::rollback`] for what each means to rollback protection).

use std::path::Path;

use cordon_format::SignedTrustedRoot;
use sha2::{Digest, Sha256};
use sigstore_verify::crypto::{VerificationKey, parse_certificate_info};
use sigstore_verify::trust_root::TrustedRoot;
use sigstore_verify::types::{DerCertificate, SignatureBytes};

use crate::exit::{Failure, FailureClass};
use crate::input::{self, MAX_JSON_BYTES};
use crate::rollback::RootVersion;
use crate::signature;

/// A trusted root proven from a pinned root.
#[derive(Debug)]
pub struct ProvenTrustedRoot {
    /// The trusted root.
    pub root: TrustedRoot,
    /// The exact `trusted_root.json` bytes the envelope carries.
    pub bytes: Vec<u8>,
    /// The signed version and expiry; `None` for a legacy envelope.
    pub signed_version: Option<RootVersion>,
}

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

/// Reads `path` (a root-signed trusted root) and proves it from `pinned`.
pub(crate) fn load_signed_trusted_root(
    path: &Path,
    pinned: &[u8; 32],
) -> Result<ProvenTrustedRoot, Failure> {
    let text = input::read_text(path, "signed trusted root", MAX_JSON_BYTES)?;
    open_signed_trusted_root(&text, &path.display().to_string(), pinned)
}

/// `load_signed_trusted_root` over the envelope's text; `origin` names it in errors.
pub fn open_signed_trusted_root(
    text: &str,
    origin: &str,
    pinned: &[u8; 32],
) -> Result<ProvenTrustedRoot, Failure> {
    let bad = |reason: String| {
        Failure::new(
            FailureClass::BadInput,
            format!("signed trusted root {origin}: {reason}"),
        )
    };
    let envelope =
        SignedTrustedRoot::parse(text.as_bytes()).map_err(|error| bad(error.to_string()))?;
    let payload_text = std::str::from_utf8(envelope.trusted_root_bytes())
        .map_err(|_| bad("the payload is not UTF-8 text".to_owned()))?;
    let root = signature::parse_trusted_root(payload_text, &format!("{origin} (payload)"))?;
    let chain_roots = envelope
        .chain_roots()
        .map_err(|error| bad(error.to_string()))?;

    // The pinned certificate: the last of some certificate authority's chain.
    let Some(anchor) = chain_roots
        .iter()
        .find(|der| Sha256::digest(der).as_slice() == pinned)
    else {
        let found: Vec<String> = chain_roots
            .iter()
            .map(|der| format!("sha256:{}", hex::encode(Sha256::digest(der))))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        return Err(Failure::new(
            FailureClass::Signature,
            format!(
                "signed trusted root {origin}: it chains to {}, not to the pinned root sha256:{}; this release was signed under a different trust root than the one you pinned",
                if found.is_empty() {
                    "no root certificate".to_owned()
                } else {
                    found.join(", ")
                },
                hex::encode(pinned)
            ),
        ));
    };
    let info = parse_certificate_info(&DerCertificate::new(anchor.clone())).map_err(|error| {
        bad(format!(
            "the pinned root certificate cannot be parsed: {error}"
        ))
    })?;
    let key = VerificationKey::from_spki(&info.public_key)
        .map_err(|error| bad(format!("the pinned root's key is not usable: {error}")))?;
    let message = envelope.signed_bytes();
    let signed = envelope.signatures.iter().any(|signature| {
        key.verify(&message, &SignatureBytes::new(signature.sig.clone()))
            .is_ok()
    });
    if !signed {
        return Err(Failure::new(
            FailureClass::Signature,
            format!(
                "signed trusted root {origin}: no signature in it verifies with the pinned root's key; the file was altered or signed by another key"
            ),
        ));
    }
    let signed_version = envelope.statement.as_ref().map(|statement| RootVersion {
        version: statement.version,
        expires: Some(statement.expires),
        signed: true,
    });
    Ok(ProvenTrustedRoot {
        root,
        bytes: envelope.trusted_root_bytes().to_vec(),
        signed_version,
    })
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
