//! X.509 certificates for the trust chain, built with the RustCrypto `x509-cert` types
//! (already in the tree through the sigstore crates) and signed with [`SigningKey`]:
//! the self-signed root CA, release CAs issued by it, and short-lived Fulcio-style leaf
//! certificates whose single embedded SCT comes from the RFC 6962 precertificate flow
//! ([`crate::ct`]).

use std::str::FromStr;
use std::time::SystemTime;

use sha2::{Digest, Sha256};
use x509_cert::der::asn1::{BitString, Ia5String, ObjectIdentifier, OctetString, Utf8StringRef};
use x509_cert::der::oid::AssociatedOid as _;
use x509_cert::der::{Decode, Encode};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::time::{Time, Validity};
use x509_cert::{Certificate, TbsCertificate};

use crate::keys::{KeyError, SigningKey};

/// ecdsa-with-SHA256.
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
/// id-kp-codeSigning.
const CODE_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3");
/// Fulcio: OIDC issuer (legacy, raw string bytes).
pub(crate) const OID_ISSUER_V1: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.1");
/// Fulcio: OIDC issuer (DER UTF8String).
pub(crate) const OID_ISSUER_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.8");
/// Fulcio: source repository URI.
pub(crate) const OID_SOURCE_REPOSITORY_URI: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.12");
/// Fulcio: source repository digest (commit).
pub(crate) const OID_SOURCE_REPOSITORY_DIGEST: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.13");
/// Fulcio: source repository ref.
pub(crate) const OID_SOURCE_REPOSITORY_REF: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.14");
/// RFC 6962: precertificate poison.
pub(crate) const OID_CT_POISON: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.3");
/// RFC 6962: embedded SCT list.
pub(crate) const OID_CT_SCT_LIST: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");

/// Why a certificate could not be built or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CertError {
    /// DER encoding or decoding failed.
    #[error("X.509 {what}: {source}")]
    Der {
        /// What was being encoded or decoded.
        what: &'static str,
        /// The DER error.
        #[source]
        source: x509_cert::der::Error,
    },
    /// The signing key failed.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A value that cannot go into a certificate.
    #[error("invalid certificate field {field}: {reason}")]
    Field {
        /// The field.
        field: &'static str,
        /// Why.
        reason: String,
    },
}

fn der(what: &'static str) -> impl FnOnce(x509_cert::der::Error) -> CertError {
    move |source| CertError::Der { what, source }
}

/// The subject and identity fields of a leaf certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafIdentity {
    /// The SAN: a URI (e.g. a CI workflow URI) or an e-mail address.
    pub subject: String,
    /// The OIDC issuer URL written to OIDs .1.1 and .1.8.
    pub issuer: String,
    /// Source repository URI (.1.12), when known.
    pub source_repository: Option<String>,
    /// Source commit digest (.1.13), when known.
    pub source_digest: Option<String>,
    /// Source ref (.1.14), when known.
    pub source_ref: Option<String>,
}

/// What a certificate to be issued says.
#[derive(Debug)]
pub(crate) struct CertTemplate<'a> {
    pub subject: Name,
    pub spki_der: &'a [u8],
    pub not_before: SystemTime,
    pub not_after: SystemTime,
    pub extensions: Vec<Extension>,
}

/// The issuing side: its name, key and SPKI.
#[derive(Debug)]
pub(crate) struct Issuer<'a> {
    pub name: Name,
    pub key: &'a SigningKey,
}

/// Parses an RFC 4514 distinguished name such as `CN=cordon root CA,O=cordon`.
pub(crate) fn name(text: &str) -> Result<Name, CertError> {
    Name::from_str(text).map_err(|error| CertError::Field {
        field: "name",
        reason: format!("{text:?}: {error}"),
    })
}

/// RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
fn time(at: SystemTime) -> Result<Time, CertError> {
    match x509_cert::der::asn1::UtcTime::from_system_time(at) {
        Ok(utc) => Ok(Time::UtcTime(utc)),
        Err(_) => x509_cert::der::asn1::GeneralizedTime::from_system_time(at)
            .map(Time::GeneralTime)
            .map_err(der("time")),
    }
}

fn key_identifier(spki_der: &[u8]) -> Result<OctetString, CertError> {
    let digest = Sha256::digest(spki_der);
    OctetString::new(&digest[..20]).map_err(der("key identifier"))
}

fn extension<T: Encode>(
    oid: ObjectIdentifier,
    critical: bool,
    value: &T,
) -> Result<Extension, CertError> {
    let bytes = value.to_der().map_err(der("extension"))?;
    raw_extension(oid, critical, bytes)
}

fn raw_extension(
    oid: ObjectIdentifier,
    critical: bool,
    bytes: Vec<u8>,
) -> Result<Extension, CertError> {
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(bytes).map_err(der("extension value"))?,
    })
}

/// Builds the to-be-signed part of a certificate.
pub(crate) fn tbs(
    template: &CertTemplate<'_>,
    issuer: &Issuer<'_>,
) -> Result<TbsCertificate, CertError> {
    let mut serial = [0_u8; 16];
    aws_lc_rs::rand::fill(&mut serial).map_err(|_| KeyError::Crypto("no randomness"))?;
    serial[0] &= 0x7f;
    serial[0] |= 0x01;
    let spki = SubjectPublicKeyInfoOwned::from_der(template.spki_der).map_err(der("public key"))?;
    let mut extensions = template.extensions.clone();
    extensions.push(extension(
        SubjectKeyIdentifier::OID,
        false,
        &SubjectKeyIdentifier(key_identifier(template.spki_der)?),
    )?);
    extensions.push(extension(
        AuthorityKeyIdentifier::OID,
        false,
        &AuthorityKeyIdentifier {
            key_identifier: Some(key_identifier(issuer.key.spki_der())?),
            ..AuthorityKeyIdentifier::default()
        },
    )?);
    Ok(TbsCertificate {
        version: x509_cert::Version::V3,
        serial_number: SerialNumber::new(&serial).map_err(der("serial"))?,
        signature: signature_algorithm(),
        issuer: issuer.name.clone(),
        validity: Validity {
            not_before: time(template.not_before)?,
            not_after: time(template.not_after)?,
        },
        subject: template.subject.clone(),
        subject_public_key_info: spki,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(extensions),
    })
}

fn signature_algorithm() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: ECDSA_WITH_SHA256,
        parameters: None,
    }
}

/// Signs a TBS certificate, returning the certificate's DER.
pub(crate) fn sign(tbs: TbsCertificate, key: &SigningKey) -> Result<Vec<u8>, CertError> {
    let tbs_der = tbs.to_der().map_err(der("TBS certificate"))?;
    let signature = key.sign(&tbs_der)?;
    let certificate = Certificate {
        tbs_certificate: tbs,
        signature_algorithm: signature_algorithm(),
        signature: BitString::from_bytes(&signature).map_err(der("signature"))?,
    };
    certificate.to_der().map_err(der("certificate"))
}

/// Extensions of a CA certificate (`path_len` 1 for the root, 0 for a release CA).
pub(crate) fn ca_extensions(path_len: u8, code_signing: bool) -> Result<Vec<Extension>, CertError> {
    let mut extensions = vec![
        extension(
            BasicConstraints::OID,
            true,
            &BasicConstraints {
                ca: true,
                path_len_constraint: Some(path_len),
            },
        )?,
        extension(
            KeyUsage::OID,
            true,
            &KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign),
        )?,
    ];
    if code_signing {
        extensions.push(extension(
            ExtendedKeyUsage::OID,
            false,
            &ExtendedKeyUsage(vec![CODE_SIGNING]),
        )?);
    }
    Ok(extensions)
}

/// Extensions of a Fulcio-style leaf certificate (before the SCT list).
pub(crate) fn leaf_extensions(identity: &LeafIdentity) -> Result<Vec<Extension>, CertError> {
    let san_value = Ia5String::new(&identity.subject).map_err(|_| CertError::Field {
        field: "identity",
        reason: format!("{:?} is not ASCII", identity.subject),
    })?;
    let san = if identity.subject.contains("://") {
        GeneralName::UniformResourceIdentifier(san_value)
    } else if identity.subject.contains('@') {
        GeneralName::Rfc822Name(san_value)
    } else {
        return Err(CertError::Field {
            field: "identity",
            reason: format!(
                "{:?} is neither a URI nor an e-mail address",
                identity.subject
            ),
        });
    };
    let mut extensions = vec![
        extension(
            KeyUsage::OID,
            true,
            &KeyUsage(KeyUsages::DigitalSignature.into()),
        )?,
        extension(
            ExtendedKeyUsage::OID,
            false,
            &ExtendedKeyUsage(vec![CODE_SIGNING]),
        )?,
        // The subject is empty, so RFC 5280 wants the SAN critical.
        extension(SubjectAltName::OID, true, &SubjectAltName(vec![san]))?,
        // .1.1 holds the raw issuer string, not DER (Fulcio's legacy encoding).
        raw_extension(OID_ISSUER_V1, false, identity.issuer.as_bytes().to_vec())?,
        utf8_extension(OID_ISSUER_V2, &identity.issuer)?,
    ];
    for (oid, value) in [
        (OID_SOURCE_REPOSITORY_URI, &identity.source_repository),
        (OID_SOURCE_REPOSITORY_DIGEST, &identity.source_digest),
        (OID_SOURCE_REPOSITORY_REF, &identity.source_ref),
    ] {
        if let Some(value) = value {
            extensions.push(utf8_extension(oid, value)?);
        }
    }
    Ok(extensions)
}

fn utf8_extension(oid: ObjectIdentifier, value: &str) -> Result<Extension, CertError> {
    let value = Utf8StringRef::new(value).map_err(der("UTF8String"))?;
    extension(oid, false, &value)
}

/// Adds the precertificate poison (critical, NULL) to a TBS certificate.
pub(crate) fn poison(tbs: &mut TbsCertificate) -> Result<(), CertError> {
    let extension = raw_extension(OID_CT_POISON, true, vec![0x05, 0x00])?;
    tbs.extensions.get_or_insert_with(Vec::new).push(extension);
    Ok(())
}

/// Replaces the poison of a precertificate TBS with the embedded SCT list extension
/// (`sct_list` is the TLS-encoded SignedCertificateTimestampList).
pub(crate) fn embed_sct_list(tbs: &mut TbsCertificate, sct_list: &[u8]) -> Result<(), CertError> {
    let extensions = tbs.extensions.get_or_insert_with(Vec::new);
    extensions.retain(|extension| extension.extn_id != OID_CT_POISON);
    let inner = OctetString::new(sct_list).map_err(der("SCT list"))?;
    extensions.push(extension(OID_CT_SCT_LIST, false, &inner)?);
    Ok(())
}

/// A parsed certificate's TBS, for the CT log to check and strip.
pub(crate) fn decode(der_bytes: &[u8]) -> Result<Certificate, CertError> {
    Certificate::from_der(der_bytes).map_err(der("certificate"))
}

/// The DER SubjectPublicKeyInfo of a certificate.
pub fn certificate_spki(der_bytes: &[u8]) -> Result<Vec<u8>, CertError> {
    decode(der_bytes)?
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(der("public key"))
}

/// The validity window of a certificate.
pub fn certificate_window(der_bytes: &[u8]) -> Result<(SystemTime, SystemTime), CertError> {
    let certificate = decode(der_bytes)?;
    let validity = certificate.tbs_certificate.validity;
    Ok((
        validity.not_before.to_system_time(),
        validity.not_after.to_system_time(),
    ))
}

/// The subject of a certificate as an RFC 4514 string.
pub fn certificate_subject(der_bytes: &[u8]) -> Result<String, CertError> {
    Ok(decode(der_bytes)?.tbs_certificate.subject.to_string())
}

/// SHA-256 of a certificate's DER: its fingerprint.
pub fn fingerprint(der_bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(der_bytes))
}

/// Encodes a TBS certificate.
pub(crate) fn tbs_der(tbs: &TbsCertificate) -> Result<Vec<u8>, CertError> {
    tbs.to_der().map_err(der("TBS certificate"))
}
