//! RFC 3161 timestamps: a DER `TimeStampReq` over SHA-256 of the signature (what every
//! Sigstore client timestamps), a random 64-bit nonce and `certReq`; the answer's status,
//! message imprint and nonce are checked before its `TimeStampResp` DER goes into the
//! bundle. The TSA's signature and certificate chain are checked against the trusted
//! root when the finished bundle is verified.

use der::asn1::{Any, ObjectIdentifier, OctetString, OctetStringRef, UintRef};
use der::{Decode, Encode, Reader, SliceReader, Tag, Tagged};
use sha2::{Digest, Sha256};

use crate::error::KeylessError;
use crate::http::{Body, Http};

const SERVICE: &str = "the timestamp authority";
const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");

/// Timestamps `signature` at the TSA endpoint `url`; returns the `TimeStampResp` DER.
pub fn timestamp(http: &Http, url: &str, signature: &[u8]) -> Result<Vec<u8>, KeylessError> {
    let imprint: [u8; 32] = Sha256::digest(signature).into();
    let mut nonce = [0u8; 8];
    aws_lc_rs::rand::fill(&mut nonce)
        .map_err(|_| KeylessError::Local("no randomness for the TSA nonce".into()))?;
    nonce[0] &= 0x7f;
    nonce[0] |= 0x01; // positive and full width, so the DER is unambiguous
    let request = request_der(&imprint, &nonce)
        .map_err(|error| KeylessError::Local(format!("cannot encode the TSA request: {error}")))?;
    let answer = http.send(
        SERVICE,
        "POST",
        url,
        &[("Accept", "application/timestamp-reply")],
        Body::Raw("application/timestamp-query", &request),
    )?;
    let invalid = |reason: String| KeylessError::Protocol {
        service: SERVICE.into(),
        url: url.to_owned(),
        reason,
    };
    if answer.status == 409 {
        return Err(invalid(
            "HTTP 409 is not an answer to a timestamp request".into(),
        ));
    }
    check_response(&answer.body, &imprint, &nonce).map_err(invalid)?;
    Ok(answer.body)
}

fn request_der(imprint: &[u8; 32], nonce: &[u8; 8]) -> der::Result<Vec<u8>> {
    let algorithm = x509_cert::spki::AlgorithmIdentifierOwned {
        oid: SHA256,
        parameters: Some(Any::null()),
    };
    let message_imprint = MessageImprint {
        hash_algorithm: algorithm,
        hashed_message: OctetString::new(imprint.to_vec())?,
    };
    let request = TimeStampReq {
        version: 1,
        message_imprint,
        nonce: UintRef::new(nonce)?,
        cert_req: true,
    };
    request.to_der()
}

#[derive(der::Sequence)]
struct MessageImprint {
    hash_algorithm: x509_cert::spki::AlgorithmIdentifierOwned,
    hashed_message: OctetString,
}

#[derive(der::Sequence)]
struct TimeStampReq<'a> {
    version: u8,
    message_imprint: MessageImprint,
    nonce: UintRef<'a>,
    cert_req: bool,
}

/// Checks a `TimeStampResp`: status granted, the token's TSTInfo over `imprint` with
/// `nonce`. Public for the fuzz target (`keyless/fuzz`).
pub fn check_response(der_bytes: &[u8], imprint: &[u8; 32], nonce: &[u8]) -> Result<(), String> {
    let bad = |what: &str, error: der::Error| format!("{what}: {error}");
    let mut reader = SliceReader::new(der_bytes).map_err(|e| bad("not DER", e))?;
    let (status_info, token) = reader
        .sequence(|inner| {
            let status_info: Any = inner.decode()?;
            let token: Option<Any> = if inner.is_finished() {
                None
            } else {
                Some(inner.decode()?)
            };
            Ok((status_info, token))
        })
        .map_err(|e| bad("not a TimeStampResp", e))?;
    let status = SliceReader::new(status_info.value())
        .and_then(|mut inner| inner.decode::<u8>())
        .map_err(|e| bad("the PKIStatusInfo has no status", e))?;
    if status > 1 {
        return Err(format!(
            "the request was refused (PKIStatus {status}; 0 and 1 mean granted)"
        ));
    }
    let token = token.ok_or("status granted but no timeStampToken")?;
    let content_info =
        cms::content_info::ContentInfo::from_der(&token.to_der().map_err(|e| bad("token", e))?)
            .map_err(|e| bad("the token is not a CMS ContentInfo", e))?;
    let signed_data: cms::signed_data::SignedData = content_info
        .content
        .decode_as()
        .map_err(|e| bad("the token is not CMS SignedData", e))?;
    let tst_info = signed_data
        .encap_content_info
        .econtent
        .ok_or("the token carries no TSTInfo")?;
    let tst_info = tst_info
        .decode_as::<OctetStringRef<'_>>()
        .map_err(|e| bad("the TSTInfo is not wrapped in an OCTET STRING", e))?;
    let fields = SliceReader::new(tst_info.as_bytes())
        .and_then(|mut inner| {
            inner.sequence(|seq| {
                let mut fields = Vec::new();
                while !seq.is_finished() {
                    fields.push(seq.decode::<Any>()?);
                }
                Ok(fields)
            })
        })
        .map_err(|e| bad("the TSTInfo does not parse", e))?;
    // version, policy, messageImprint, serialNumber, genTime, then optional fields.
    let answered_imprint = fields
        .get(2)
        .and_then(|field| field.decode_as::<MessageImprint>().ok())
        .ok_or("the TSTInfo has no messageImprint")?;
    if answered_imprint.hash_algorithm.oid != SHA256
        || answered_imprint.hashed_message.as_bytes() != imprint
    {
        return Err("the timestamp is over another message imprint than the one asked for".into());
    }
    let answered_nonce = fields
        .iter()
        .skip(5)
        .find(|field| field.tag() == Tag::Integer)
        .ok_or("the TSTInfo has no nonce though one was sent")?;
    let strip = |bytes: &[u8]| -> Vec<u8> {
        let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
        bytes[first..].to_vec()
    };
    if strip(answered_nonce.value()) != strip(nonce) {
        return Err(format!(
            "the nonce {} is not the one sent ({}): the answer is not for this request",
            hex::encode(answered_nonce.value()),
            hex::encode(nonce)
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_request_is_der_with_the_imprint_and_nonce() {
        let der = super::request_der(&[7; 32], &[0x11; 8]).unwrap();
        assert_eq!(der[0], 0x30);
        assert!(der.windows(32).any(|window| window == [7; 32]));
        assert!(der.windows(8).any(|window| window == [0x11; 8]));
        assert!(der.ends_with(&[0x01, 0x01, 0xff]), "certReq TRUE last");
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        let error =
            super::check_response(b"\x30\x05\x30\x03\x02\x01\x02", &[0; 32], &[1]).unwrap_err();
        assert!(error.contains("refused"), "{error}");
        assert!(super::check_response(b"nope", &[0; 32], &[1]).is_err());
    }
}
