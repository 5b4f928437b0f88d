//! Sigstore bundle verification: loading trusted roots and bundles strictly, running
//! sigstore-rust's offline verifier, and sorting its errors into cordon's failure classes.
//!
//! The cryptography (certificate chain, SCT, signature, inclusion proof, checkpoint,
//! signed entry timestamp, RFC 3161 timestamps) is `sigstore-verify`'s; this module adds
//! size caps, media-type checks, streaming of large artifacts and one-line reasons.

use std::io::Read;
use std::path::{Path, PathBuf};

use sigstore_verify::trust_root::{
    SIGSTORE_PRODUCTION_TRUSTED_ROOT, SIGSTORE_STAGING_TRUSTED_ROOT,
};
use sigstore_verify::types::{Bundle, DerPublicKey, Sha256Hash, SignatureContent};
use sigstore_verify::{
    PublicKeyVerificationPolicy, VerificationPolicy, VerificationResult, Verifier,
};

pub use sigstore_verify::trust_root::TrustedRoot;

use crate::exit::{Failure, FailureClass};
use crate::input::{self, ArtifactInput, MAX_JSON_BYTES};

pub(crate) use cordon_format::names::{
    BUNDLE_MEDIA_TYPES, IN_TOTO_PAYLOAD_TYPE, TRUSTED_ROOT_MEDIA_TYPES,
};

/// Where the trusted root comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrustSource {
    /// The Sigstore public-good production root embedded in this binary.
    Production,
    /// The Sigstore staging root embedded in this binary.
    Staging,
    /// A `trusted_root.json` file, trusted as is.
    File(PathBuf),
    /// A root-signed `trusted_root.dsse.json`, proven from the pinned root certificate's
    /// SHA-256 (see [`crate::open_signed_trusted_root`]).
    Pinned {
        /// The pinned root certificate's SHA-256.
        fingerprint: [u8; 32],
        /// The root-signed trusted root.
        signed_root: PathBuf,
    },
}

/// A trusted root and where it came from.
#[derive(Debug)]
pub struct LoadedRoot {
    /// The trusted root.
    pub root: TrustedRoot,
    /// For [`TrustSource::Pinned`], the exact `trusted_root.json` bytes the envelope
    /// carries.
    pub signed_bytes: Option<Vec<u8>>,
    /// For [`TrustSource::Pinned`], the signed version and expiry (`None`: a legacy
    /// envelope, or another source).
    pub signed_version: Option<crate::rollback::RootVersion>,
    /// How it was established, for a report row.
    pub description: String,
}

/// Loads a trusted root: embedded, a file (size and media type checked first), or a
/// root-signed file proven from a pinned fingerprint.
pub fn load_trusted_root(source: &TrustSource) -> Result<LoadedRoot, Failure> {
    let (text, origin) = match source {
        TrustSource::Production => (
            SIGSTORE_PRODUCTION_TRUSTED_ROOT.to_owned(),
            "the embedded Sigstore production root".to_owned(),
        ),
        TrustSource::Staging => (
            SIGSTORE_STAGING_TRUSTED_ROOT.to_owned(),
            "the embedded Sigstore staging root".to_owned(),
        ),
        TrustSource::File(path) => (
            input::read_text(path, "trusted root", MAX_JSON_BYTES)?,
            format!("trusted root {}", path.display()),
        ),
        TrustSource::Pinned {
            fingerprint,
            signed_root,
        } => {
            let proven = crate::pinned::load_signed_trusted_root(signed_root, fingerprint)?;
            return Ok(LoadedRoot {
                root: proven.root,
                signed_bytes: Some(proven.bytes),
                signed_version: proven.signed_version,
                description: format!(
                    "signed by the pinned root sha256:{}",
                    hex::encode(fingerprint)
                ),
            });
        }
    };
    Ok(LoadedRoot {
        root: parse_trusted_root(&text, &origin)?,
        signed_bytes: None,
        signed_version: None,
        description: match source {
            TrustSource::File(_) => "given with --trusted-root, trusted as is".to_owned(),
            _ => origin,
        },
    })
}

/// Parses a trusted root's JSON; `origin` names it in errors.
pub fn parse_trusted_root(text: &str, origin: &str) -> Result<TrustedRoot, Failure> {
    let value: serde_json::Value = input::parse_json_named(text, origin)?;
    check_media_type(
        &value,
        &TRUSTED_ROOT_MEDIA_TYPES,
        origin,
        "a Sigstore trusted root",
    )?;
    let root: TrustedRoot = serde_json::from_value(value).map_err(|error| {
        Failure::new(
            FailureClass::BadInput,
            format!("{origin}: not a valid trusted root: {error}"),
        )
    })?;
    Ok(root)
}

/// Reads and parses a Sigstore bundle, checking size and media type first.
pub fn load_bundle(path: &Path) -> Result<Bundle, Failure> {
    let text = input::read_text(path, "bundle", MAX_JSON_BYTES)?;
    parse_bundle(&text, &format!("bundle {}", path.display()))
}

/// Parses a bundle's JSON; `origin` names it in errors.
pub fn parse_bundle(text: &str, origin: &str) -> Result<Bundle, Failure> {
    let value: serde_json::Value = input::parse_json_named(text, origin)?;
    check_media_type(&value, &BUNDLE_MEDIA_TYPES, origin, "a Sigstore bundle")?;
    Bundle::from_json(text).map_err(|error| {
        Failure::new(
            FailureClass::BadInput,
            format!("{origin}: not a valid Sigstore bundle: {error}"),
        )
    })
}

fn check_media_type(
    value: &serde_json::Value,
    accepted: &[&str],
    origin: &str,
    expected: &str,
) -> Result<(), Failure> {
    match value.get("mediaType").and_then(serde_json::Value::as_str) {
        Some(media_type) if accepted.contains(&media_type) => Ok(()),
        Some(media_type) => Err(Failure::new(
            FailureClass::BadInput,
            format!(
                "{origin}: media type {media_type:?} is not {expected} this verifier knows (expected one of {})",
                accepted.join(", ")
            ),
        )),
        None => Err(Failure::new(
            FailureClass::BadInput,
            format!("{origin}: no \"mediaType\" string: this is not {expected}"),
        )),
    }
}

/// Who must have signed.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ExpectedSigner {
    /// A Fulcio-style certificate with exactly this SAN identity and OIDC issuer.
    Identity {
        /// The SAN (email, URI or other name) the certificate must carry.
        identity: String,
        /// The OIDC issuer the certificate must carry.
        issuer: String,
    },
    /// Any certificate identity from this OIDC issuer; the caller checks the identity
    /// itself afterwards (provenance policy does this with the builder id).
    AnyIdentityFrom {
        /// The OIDC issuer the certificate must carry.
        issuer: String,
    },
    /// Any certificate the trusted root's CAs issued (the root is the release's own, so
    /// every certificate it issues is a release signer), optionally with exactly this
    /// SAN identity. The caller checks the identity against its policy afterwards.
    AnyFromRoot {
        /// The SAN the certificate must carry, when known exactly.
        identity: Option<String>,
    },
    /// A managed key (PEM SubjectPublicKeyInfo) instead of a certificate.
    Key(PathBuf),
}

/// Verifies `bundle` over `artifact` with `root`, requiring `signer`.
///
/// A file artifact is streamed (constant memory) unless the signing scheme needs the
/// whole message, in which case it is read into memory.
pub fn verify(
    root: &TrustedRoot,
    bundle: &Bundle,
    artifact: &ArtifactInput,
    signer: &ExpectedSigner,
) -> Result<VerificationResult, Failure> {
    if let Some(foreign) = foreign_root(root, bundle) {
        return Err(foreign);
    }
    let verifier = Verifier::new(root).map_err(|error| {
        Failure::new(
            FailureClass::BadInput,
            format!("the trusted root cannot be used: {error}"),
        )
    })?;
    match signer {
        ExpectedSigner::Identity { identity, issuer } => {
            let policy = VerificationPolicy::new(identity.as_str(), issuer.as_str());
            run(&verifier, bundle, artifact, &policy)
        }
        ExpectedSigner::AnyIdentityFrom { issuer } => {
            let policy = VerificationPolicy::any_identity().require_issuer(issuer.as_str());
            run(&verifier, bundle, artifact, &policy)
        }
        ExpectedSigner::AnyFromRoot { identity } => {
            let mut policy = VerificationPolicy::any_identity();
            if let Some(identity) = identity {
                policy = policy.require_identity(identity.as_str());
            }
            run(&verifier, bundle, artifact, &policy)
        }
        ExpectedSigner::Key(path) => {
            let pem = input::read_text(path, "public key", 1024 * 1024)?;
            let key = DerPublicKey::from_pem(&pem).map_err(|error| {
                Failure::new(
                    FailureClass::BadInput,
                    format!(
                        "public key {}: not a PEM public key: {error}",
                        path.display()
                    ),
                )
            })?;
            if !matches!(
                bundle.verification_material.content,
                sigstore_verify::types::VerificationMaterialContent::PublicKey(_)
            ) {
                return Err(Failure::new(
                    FailureClass::Identity,
                    "the bundle is signed with a certificate, not with the given managed key",
                ));
            }
            run(
                &verifier,
                bundle,
                artifact,
                &PublicKeyVerificationPolicy::new(key),
            )
        }
    }
}

fn run<P: sigstore_verify::Policy>(
    verifier: &Verifier,
    bundle: &Bundle,
    artifact: &ArtifactInput,
    policy: &P,
) -> Result<VerificationResult, Failure> {
    let result = match artifact {
        ArtifactInput::Sha256(digest) => verifier.verify(Sha256Hash::new(*digest), bundle, policy),
        ArtifactInput::File(path) => {
            let (file, _) = input::open_regular(path, "artifact")?;
            match verifier.verify_reader(
                std::io::BufReader::with_capacity(256 * 1024, file),
                bundle,
                policy,
            ) {
                Err(sigstore_verify::Error::UnsupportedArtifact(_)) => {
                    // Some schemes (Ed25519) sign the whole message: read it.
                    let (file, _) = input::open_regular(path, "artifact")?;
                    let mut bytes = Vec::new();
                    std::io::BufReader::new(file)
                        .read_to_end(&mut bytes)
                        .map_err(|error| {
                            Failure::new(
                                FailureClass::BadInput,
                                format!("artifact {}: cannot be read: {error}", path.display()),
                            )
                        })?;
                    verifier.verify(bytes.as_slice(), bundle, policy)
                }
                other => other,
            }
        }
    };
    result.map_err(|error| classify(&error))
}

/// Sorts a `sigstore-verify` error into a failure class with a one-line reason.
pub(crate) fn classify(error: &sigstore_verify::Error) -> Failure {
    use sigstore_verify::Error;
    let class = match error {
        Error::IdentityMismatch { .. } | Error::IssuerMismatch { .. } => FailureClass::Identity,
        Error::ArtifactMismatch(_) => FailureClass::Integrity,
        // A log proof that contradicts its own checkpoint is tampered evidence, not a
        // malformed file.
        Error::Bundle(
            sigstore_verify::bundle::Error::CheckpointRootMismatch
            | sigstore_verify::bundle::Error::LogIndexOutOfRange { .. },
        ) => FailureClass::Signature,
        Error::ArtifactRead(_)
        | Error::UnsupportedArtifact(_)
        | Error::InvalidBundle(_)
        | Error::UnsupportedBundle(_)
        | Error::Types(_)
        | Error::Bundle(_) => FailureClass::BadInput,
        // A signature, a certificate chain, an SCT, a log proof, a timestamp, or trust
        // material that cannot vouch for them: the evidence does not verify.
        _ => FailureClass::Signature,
    };
    let what = match class {
        FailureClass::Identity => "the signer is not the expected one",
        FailureClass::Integrity => "the bundle was made for other content",
        FailureClass::BadInput => "the bundle cannot be verified",
        _ => "the signature evidence does not verify",
    };
    Failure::new(class, format!("{what}: {error}"))
}

/// The log key ids a bundle's transparency-log entries name, when none of them is a log
/// of `root`: the bundle was signed under a different trust root, and every other check
/// would only fail for that one reason. Key ids are shown as `cargo xtask trust show`
/// prints them, `sha256:<hex>`.
pub(crate) fn foreign_root(root: &TrustedRoot, bundle: &Bundle) -> Option<Failure> {
    let known: Vec<&[u8]> = root
        .tlogs
        .iter()
        .map(|log| log.log_id.key_id.as_bytes())
        .collect();
    let named: Vec<&[u8]> = bundle
        .verification_material
        .tlog_entries
        .iter()
        .map(|entry| entry.log_id.key_id.as_bytes())
        .collect();
    if named.is_empty() || named.iter().any(|id| known.contains(id)) {
        return None;
    }
    let show = |ids: &[&[u8]]| {
        let mut shown: Vec<String> = ids
            .iter()
            .map(|id| format!("sha256:{}", hex::encode(id)))
            .collect();
        shown.dedup();
        if shown.is_empty() {
            "none".to_owned()
        } else {
            shown.join(", ")
        }
    };
    Some(Failure::new(
        FailureClass::Signature,
        format!(
            "signed under a different trust root: its log entry is from the log with key id {}, and the trusted root's logs are {}",
            show(&named),
            show(&known)
        ),
    ))
}

/// The in-toto statement a provenance bundle signs. A bundle that signs a plain message,
/// or a DSSE payload of another type, is not provenance: bad input, whichever
/// subcommand reads it.
pub fn in_toto_payload(bundle: &Bundle) -> Result<&[u8], Failure> {
    let Some((payload_type, payload)) = dsse_payload(bundle) else {
        return Err(Failure::new(
            FailureClass::BadInput,
            "the bundle signs a plain message, not a DSSE in-toto statement: it is not provenance",
        ));
    };
    if payload_type != IN_TOTO_PAYLOAD_TYPE {
        return Err(Failure::new(
            FailureClass::BadInput,
            format!(
                "DSSE payload type {payload_type:?} is not an in-toto statement ({IN_TOTO_PAYLOAD_TYPE}): it is not provenance"
            ),
        ));
    }
    Ok(payload)
}

/// The DSSE envelope's in-toto statement bytes, when the bundle signs one.
pub fn dsse_payload(bundle: &Bundle) -> Option<(&str, &[u8])> {
    match &bundle.content {
        SignatureContent::DsseEnvelope(envelope) => {
            Some((envelope.payload_type.as_str(), envelope.payload.as_bytes()))
        }
        _ => None,
    }
}
