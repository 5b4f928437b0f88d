//! The embedded Certificate Transparency log key and the RFC 6962 precertificate flow.
//!
//! A leaf certificate is first issued as a *precertificate* (its TBS carries the
//! critical poison extension), the CT log checks the issuer's signature on it and
//! returns a signed certificate timestamp (SCT) over the TBS without the poison, and the
//! final certificate embeds that SCT in the SCT-list extension. Verifiers strip the SCT
//! list to get the same TBS back, so the SCT proves the CT key saw this exact
//! certificate. The [`CtLog`] trait is where a real CT log (Fulcio's CTFE) plugs in.

use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};
use x509_cert::der::Encode;

use crate::keys::{self, SigningKey};
use crate::x509::{self, CertError, OID_CT_POISON};

/// A CT log that issues SCTs for precertificates.
pub trait CtLog: std::fmt::Debug {
    /// Returns the serialized SCT (RFC 6962 §3.2, v1) for `precertificate` (DER), issued
    /// by the CA whose DER SubjectPublicKeyInfo is `issuer_spki`.
    fn submit_precertificate(
        &self,
        precertificate: &[u8],
        issuer_spki: &[u8],
        now: SystemTime,
    ) -> Result<Vec<u8>, CertError>;
}

/// The CT log whose key lives in the trust directory.
#[derive(Debug)]
pub struct LocalCtLog<'a> {
    /// The CT log's signing key.
    pub key: &'a SigningKey,
}

impl CtLog for LocalCtLog<'_> {
    fn submit_precertificate(
        &self,
        precertificate: &[u8],
        issuer_spki: &[u8],
        now: SystemTime,
    ) -> Result<Vec<u8>, CertError> {
        let certificate = x509::decode(precertificate)?;
        let refuse = |reason: &str| CertError::Field {
            field: "precertificate",
            reason: reason.to_owned(),
        };
        let tbs_signed = x509::tbs_der(&certificate.tbs_certificate)?;
        let signature = certificate.signature.as_bytes().unwrap_or_default();
        if !keys::verify(issuer_spki, &tbs_signed, signature) {
            return Err(refuse("not signed by the given issuer"));
        }
        let mut tbs = certificate.tbs_certificate;
        let extensions = tbs.extensions.get_or_insert_with(Vec::new);
        let before = extensions.len();
        extensions.retain(|extension| extension.extn_id != OID_CT_POISON);
        if extensions.len() + 1 != before {
            return Err(refuse("it does not carry exactly one CT poison extension"));
        }
        let tbs_der = tbs.to_der().map_err(|source| CertError::Der {
            what: "precertificate TBS",
            source,
        })?;
        let timestamp = u64::try_from(
            now.duration_since(UNIX_EPOCH)
                .map_err(|_| refuse("clock before 1970"))?
                .as_millis(),
        )
        .map_err(|_| refuse("clock overflow"))?;
        let issuer_key_hash: [u8; 32] = Sha256::digest(issuer_spki).into();
        let signed = precert_signed_data(timestamp, &issuer_key_hash, &tbs_der)?;
        let signature = self.key.sign(&signed)?;
        Ok(serialize_sct(&self.key.key_id(), timestamp, &signature))
    }
}

/// The `digitally-signed` input of a v1 precert SCT (RFC 6962 §3.2).
pub(crate) fn precert_signed_data(
    timestamp: u64,
    issuer_key_hash: &[u8; 32],
    tbs_der: &[u8],
) -> Result<Vec<u8>, CertError> {
    let length = u32::try_from(tbs_der.len())
        .ok()
        .filter(|length| *length < (1 << 24))
        .ok_or_else(|| CertError::Field {
            field: "precertificate",
            reason: "TBS longer than 2^24 bytes".to_owned(),
        })?;
    let mut data = Vec::with_capacity(tbs_der.len() + 64);
    data.push(0); // sct_version v1
    data.push(0); // signature_type certificate_timestamp
    data.extend_from_slice(&timestamp.to_be_bytes());
    data.extend_from_slice(&1_u16.to_be_bytes()); // entry_type precert_entry
    data.extend_from_slice(issuer_key_hash);
    data.extend_from_slice(&length.to_be_bytes()[1..]);
    data.extend_from_slice(tbs_der);
    data.extend_from_slice(&0_u16.to_be_bytes()); // no extensions
    Ok(data)
}

/// A serialized v1 SCT.
fn serialize_sct(log_id: &[u8; 32], timestamp: u64, signature: &[u8]) -> Vec<u8> {
    let mut sct = Vec::with_capacity(signature.len() + 48);
    sct.push(0); // v1
    sct.extend_from_slice(log_id);
    sct.extend_from_slice(&timestamp.to_be_bytes());
    sct.extend_from_slice(&0_u16.to_be_bytes()); // extensions
    sct.push(4); // sha256
    sct.push(3); // ecdsa
    sct.extend_from_slice(&u16::try_from(signature.len()).unwrap_or(0).to_be_bytes());
    sct.extend_from_slice(signature);
    sct
}

/// The TLS-encoded SignedCertificateTimestampList holding the given SCTs.
pub(crate) fn sct_list(scts: &[Vec<u8>]) -> Vec<u8> {
    let mut body = Vec::new();
    for sct in scts {
        body.extend_from_slice(&u16::try_from(sct.len()).unwrap_or(0).to_be_bytes());
        body.extend_from_slice(sct);
    }
    let mut list = u16::try_from(body.len())
        .unwrap_or(0)
        .to_be_bytes()
        .to_vec();
    list.extend_from_slice(&body);
    list
}
