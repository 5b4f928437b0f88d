//! Which certificate authority of the trusted root issued a bundle's signing
//! certificate, and the rule that binds identities to authorities.
//!
//! Sigstore clients trust every CA of a trusted root for every identity, so in a root
//! that lists both the public-good Fulcio and cordon's release CAs, a certificate from
//! cordon's CA claiming a GitHub workflow identity would verify as if Fulcio had issued
//! it (keyless.md §5.2). cordon-verify closes that: a GitHub workflow identity in
//! third-party provenance is believed only from a Fulcio instance (the CA's `uri` in the
//! trusted root), and a cordon release's signatures only from a release CA of the
//! pinned root (its chain ends at the pinned root certificate).

use sha2::{Digest, Sha256};
use sigstore_verify::trust_root::{CertificateAuthority, TrustedRoot};
use sigstore_verify::types::{Bundle, VerificationMaterialContent};
use x509_cert::Certificate;
use x509_cert::der::{Decode, Encode};
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, SubjectKeyIdentifier};

use crate::exit::{Failure, FailureClass};

/// The public-good Fulcio instances (production and staging), as trusted roots name
/// them.
pub(crate) const PUBLIC_GOOD_FULCIO: [&str; 2] =
    ["https://fulcio.sigstore.dev", "https://fulcio.sigstage.dev"];

/// Which authorities may have issued the signing certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Authority {
    /// A Fulcio instance: the public-good ones, or these CA URIs of the trusted root
    /// (a private Fulcio, a test stand-in).
    Fulcio(Vec<String>),
    /// A release CA whose chain ends at the root certificate with this SHA-256 (the
    /// pinned root).
    PinnedRoot([u8; 32]),
    /// Any CA of the trusted root but a Fulcio: the public-good ones or these CA URIs
    /// (a release's own signatures verified against a `trusted_root.json` trusted as is,
    /// which may also hold Fulcio for the release's keyless bundles).
    NotFulcio(Vec<String>),
}

fn identity(reason: String) -> Failure {
    Failure::new(FailureClass::Identity, reason)
}

/// The DER of the bundle's signing certificate, when it has one.
fn leaf(bundle: &Bundle) -> Option<&[u8]> {
    match &bundle.verification_material.content {
        VerificationMaterialContent::Certificate(certificate) => {
            Some(certificate.raw_bytes.as_bytes())
        }
        VerificationMaterialContent::X509CertificateChain { certificates } => {
            certificates.first().map(|c| c.raw_bytes.as_bytes())
        }
        _ => None,
    }
}

fn subject_key_id(certificate: &Certificate) -> Option<Vec<u8>> {
    let (_, ski) = certificate
        .tbs_certificate
        .get::<SubjectKeyIdentifier>()
        .ok()??;
    Some(ski.0.as_bytes().to_vec())
}

/// The CA of `root` that issued the bundle's certificate: the CA whose first
/// certificate's subject is the leaf's issuer and, when both carry one, whose subject
/// key id is the leaf's authority key id.
pub(crate) fn issuing_authority<'a>(
    root: &'a TrustedRoot,
    bundle: &Bundle,
) -> Option<&'a CertificateAuthority> {
    let leaf = Certificate::from_der(leaf(bundle)?).ok()?;
    let issuer = leaf.tbs_certificate.issuer.to_der().ok()?;
    let authority_key = leaf
        .tbs_certificate
        .get::<AuthorityKeyIdentifier>()
        .ok()
        .flatten()
        .and_then(|(_, aki)| aki.key_identifier)
        .map(|id| id.as_bytes().to_vec());
    root.certificate_authorities.iter().find(|ca| {
        let Some(first) = ca.cert_chain.certificates.first() else {
            return false;
        };
        let Ok(certificate) = Certificate::from_der(first.raw_bytes.as_bytes()) else {
            return false;
        };
        let same_subject =
            certificate.tbs_certificate.subject.to_der().ok() == Some(issuer.clone());
        let same_key = match (&authority_key, subject_key_id(&certificate)) {
            (Some(wanted), Some(have)) => *wanted == have,
            _ => true,
        };
        same_subject && same_key
    })
}

/// Whether the CA at `uri` is a Fulcio: a public-good one or one of `extra`.
pub(crate) fn is_fulcio(uri: &str, extra: &[String]) -> bool {
    PUBLIC_GOOD_FULCIO.contains(&uri) || extra.iter().any(|known| known == uri)
}

/// The SHA-256 of the last certificate of a CA's chain (its root).
fn chain_root_sha256(ca: &CertificateAuthority) -> Option<[u8; 32]> {
    let last = ca.cert_chain.certificates.last()?;
    Some(Sha256::digest(last.raw_bytes.as_bytes()).into())
}

/// Checks that `bundle`'s certificate (already verified against `root`) was issued by
/// an authority `allowed` admits; a bundle signed with a bare key passes (the caller's
/// policy refuses keys where it must).
pub(crate) fn check(
    root: &TrustedRoot,
    bundle: &Bundle,
    allowed: &Authority,
) -> Result<(), Failure> {
    if leaf(bundle).is_none() {
        return Ok(());
    }
    let Some(ca) = issuing_authority(root, bundle) else {
        return Err(identity(
            "the signing certificate's issuer is none of the trusted root's certificate authorities".to_owned(),
        ));
    };
    let named = format!(
        "{} ({})",
        ca.uri,
        ca.subject
            .common_name
            .as_deref()
            .unwrap_or("no common name")
    );
    match allowed {
        Authority::Fulcio(extra) => {
            if is_fulcio(&ca.uri, extra) {
                Ok(())
            } else {
                Err(identity(format!(
                    "the GitHub workflow identity was certified by the CA {named}, not by a Fulcio instance: such an identity is believed only from Fulcio (pass --fulcio-uri {} if that CA is a Fulcio you trust)",
                    ca.uri
                )))
            }
        }
        Authority::PinnedRoot(fingerprint) => {
            if chain_root_sha256(ca).as_ref() == Some(fingerprint) {
                Ok(())
            } else {
                Err(identity(format!(
                    "certified by the CA {named}, which is not a release CA of the pinned root sha256:{}",
                    hex::encode(fingerprint)
                )))
            }
        }
        Authority::NotFulcio(extra) => {
            if is_fulcio(&ca.uri, extra) {
                Err(identity(format!(
                    "certified by the {}Fulcio {named}: a release's own signatures come from its release CA (keyless bundles are <file>.keyless.sigstore.json)",
                    if extra.contains(&ca.uri) {
                        ""
                    } else {
                        "public-good "
                    }
                )))
            } else {
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sigstore_verify::trust_root::SIGSTORE_PRODUCTION_TRUSTED_ROOT;

    fn github_bundle() -> Bundle {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/third_party/slsa-verifier/bcr/MODULE.bazel.intoto.jsonl");
        Bundle::from_json(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn production() -> TrustedRoot {
        serde_json::from_str(SIGSTORE_PRODUCTION_TRUSTED_ROOT).unwrap()
    }

    #[test]
    fn the_issuing_ca_is_found_by_subject_and_key_id() {
        let root = production();
        let bundle = github_bundle();
        let ca = issuing_authority(&root, &bundle).unwrap();
        assert_eq!(ca.uri, "https://fulcio.sigstore.dev");
        // Of the two public-good Fulcio entries, the one with the intermediate.
        assert_eq!(ca.cert_chain.certificates.len(), 2);
        check(&root, &bundle, &Authority::Fulcio(Vec::new())).unwrap();
    }

    #[test]
    fn identities_are_bound_to_their_authority() {
        let root = production();
        let bundle = github_bundle();
        let fulcio_root = issuing_authority(&root, &bundle)
            .and_then(chain_root_sha256)
            .unwrap();
        check(&root, &bundle, &Authority::PinnedRoot(fulcio_root)).unwrap();
        let error = check(&root, &bundle, &Authority::PinnedRoot([7; 32])).unwrap_err();
        assert_eq!(error.class, FailureClass::Identity);
        assert!(
            error
                .reason
                .contains("not a release CA of the pinned root sha256:0707"),
            "{error}"
        );
        let error = check(&root, &bundle, &Authority::NotFulcio(Vec::new())).unwrap_err();
        assert!(
            error
                .reason
                .contains("public-good Fulcio https://fulcio.sigstore.dev"),
            "{error}"
        );
        // The same CA under another name is not a Fulcio unless named.
        let mut renamed = production();
        for ca in &mut renamed.certificate_authorities {
            ca.uri = "https://ca.example.test".to_owned();
        }
        let error = check(&renamed, &bundle, &Authority::Fulcio(Vec::new())).unwrap_err();
        assert!(error.reason.contains("not by a Fulcio instance"), "{error}");
        assert!(
            error
                .reason
                .contains("--fulcio-uri https://ca.example.test"),
            "{error}"
        );
        check(
            &renamed,
            &bundle,
            &Authority::Fulcio(vec!["https://ca.example.test".to_owned()]),
        )
        .unwrap();
        // A CA list without the issuer: refused.
        let mut empty = production();
        empty.certificate_authorities.clear();
        let error = check(&empty, &bundle, &Authority::NotFulcio(Vec::new())).unwrap_err();
        assert!(
            error
                .reason
                .contains("none of the trusted root's certificate authorities"),
            "{error}"
        );
    }
}
