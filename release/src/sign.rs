//! Signing: Sigstore bundle v0.3 for blobs (`messageSignature`) and in-toto statements
//! (`dsseEnvelope`), each with a short-lived leaf certificate and a transparency-log
//! entry whose inclusion proof, checkpoint and signed entry timestamp make the bundle
//! verifiable offline.
//!
//! A [`Signer`] is one signing run: it makes an ephemeral P-256 key and asks the current
//! release CA for a Fulcio-style certificate (SAN = the builder identity, OIDC-issuer and
//! source extensions, one embedded SCT from the CT-log key via the precertificate flow).
//! [`CertificateAuthority`] and [`crate::tlog::TransparencyLog`] are the seams where
//! keyless Fulcio and a real Rekor can plug in later.
//!
//! ```no_run
//! use cordon_release::{Signer, SignOptions};
//! use cordon_release::LeafIdentity;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let identity = LeafIdentity::from_env_or("https://example.com/local-release", "https://example.com/oidc");
//! let signer = Signer::open(std::path::Path::new("target/trust"), &identity, &SignOptions::default())?;
//! let bundle_json = signer.sign_blob(std::path::Path::new("dist/cordon"))?;
//! # let _ = bundle_json; Ok(()) }
//! ```

use std::path::Path;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::ct::{self, CtLog, LocalCtLog};
use crate::fsutil::{self, FsError};
use crate::keys::{KeyError, SigningKey};
use crate::tlog::{FileLog, LogError, LoggedEntry, ProposedEntry, TransparencyLog};
use crate::trust::{ReleaseCa, TrustDir, TrustError};
use crate::x509::{self, CertError, CertTemplate, Issuer, LeafIdentity};

use cordon_format::names::BUNDLE_MEDIA_TYPE;
pub(crate) use cordon_format::names::IN_TOTO_PAYLOAD_TYPE;

/// Why signing failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// Trust material is missing or unusable.
    #[error(transparent)]
    Trust(#[from] TrustError),
    /// A key failed.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A certificate failed.
    #[error(transparent)]
    Cert(#[from] CertError),
    /// The transparency log failed.
    #[error(transparent)]
    Log(#[from] LogError),
    /// Reading the artifact failed.
    #[error(transparent)]
    Fs(#[from] FsError),
    /// No release CA is valid now.
    #[error("no release CA in {dir} is valid at {at}; issue the next one (rotate the release CA)")]
    NoCurrentCa {
        /// The trust directory.
        dir: String,
        /// The signing time.
        at: String,
    },
    /// The input is not what was expected.
    #[error("{0}")]
    Input(String),
    /// Another signer behind [`BundleSigner`] failed (the keyless signer: a service's
    /// answer, the identity token, its configuration).
    #[error(transparent)]
    Other(Box<dyn std::error::Error + Send + Sync + 'static>),
    /// The bundle did not round-trip through sigstore-types (a bug).
    #[error("internal error: the bundle does not parse as a Sigstore bundle: {0}")]
    Bundle(String),
}

/// Options of a signing run.
#[derive(Debug, Clone)]
pub struct SignOptions {
    /// The clock; `None` is the system clock.
    pub now: Option<SystemTime>,
    /// Use this release CA (by number) instead of the newest valid one.
    pub release_ca: Option<u32>,
    /// Sign even when the chosen release CA's window does not contain `now`. Only for
    /// checking that verifiers reject such bundles; never in a release.
    pub allow_release_ca_outside_window: bool,
    /// Lifetime of the leaf certificate.
    pub leaf_lifetime: Duration,
}

impl Default for SignOptions {
    fn default() -> Self {
        Self {
            now: None,
            release_ca: None,
            allow_release_ca_outside_window: false,
            leaf_lifetime: Duration::from_secs(600),
        }
    }
}

/// A certificate authority that issues a leaf certificate for a public key.
pub trait CertificateAuthority {
    /// Issues a certificate (DER) for `spki_der` naming `identity`, valid from `now`.
    fn issue(
        &self,
        spki_der: &[u8],
        identity: &LeafIdentity,
        now: SystemTime,
        lifetime: Duration,
    ) -> Result<Vec<u8>, SignError>;
}

/// What turns bytes and in-toto statements into Sigstore bundles: [`Signer`] (the
/// embedded release CA and log) or the keyless signer of `cordon-keyless` (public-good
/// Fulcio, Rekor and a TSA). Callers that only sign hold a `&dyn BundleSigner`.
pub trait BundleSigner {
    /// Signs bytes (`messageSignature`); returns the bundle JSON.
    fn sign_blob_bytes(&self, bytes: &[u8]) -> Result<String, SignError>;
    /// Signs an in-toto statement in a DSSE envelope; returns the bundle JSON.
    fn sign_in_toto(&self, statement_json: &[u8]) -> Result<String, SignError>;
}

impl BundleSigner for Signer {
    fn sign_blob_bytes(&self, bytes: &[u8]) -> Result<String, SignError> {
        Signer::sign_blob_bytes(self, bytes)
    }

    fn sign_in_toto(&self, statement_json: &[u8]) -> Result<String, SignError> {
        Signer::sign_in_toto(self, statement_json)
    }
}

/// The release CA in a trust directory, with its CT log.
#[derive(Debug)]
pub struct LocalCa<'a> {
    ca: ReleaseCa,
    key: SigningKey,
    ct_log: &'a dyn CtLog,
}

impl CertificateAuthority for LocalCa<'_> {
    fn issue(
        &self,
        spki_der: &[u8],
        identity: &LeafIdentity,
        now: SystemTime,
        lifetime: Duration,
    ) -> Result<Vec<u8>, SignError> {
        let not_after = (now + lifetime).min(self.ca.not_after.max(now + Duration::from_secs(1)));
        let template = CertTemplate {
            subject: x509_cert::name::Name::default(),
            spki_der,
            not_before: now,
            not_after,
            extensions: x509::leaf_extensions(identity)?,
        };
        let issuer = Issuer {
            name: x509::decode(&self.ca.certificate)?.tbs_certificate.subject,
            key: &self.key,
        };
        let mut tbs = x509::tbs(&template, &issuer)?;
        let mut precert_tbs = tbs.clone();
        x509::poison(&mut precert_tbs)?;
        let precertificate = x509::sign(precert_tbs, &self.key)?;
        let sct = self
            .ct_log
            .submit_precertificate(&precertificate, self.key.spki_der(), now)?;
        x509::embed_sct_list(&mut tbs, &ct::sct_list(&[sct]))?;
        Ok(x509::sign(tbs, &self.key)?)
    }
}

/// One signing run.
#[derive(Debug)]
pub struct Signer {
    now: SystemTime,
    key: SigningKey,
    certificate: Vec<u8>,
    log: FileLog,
}

impl Signer {
    /// Opens the trust directory, picks the release CA, and issues this run's ephemeral
    /// key a certificate for `identity`.
    pub fn open(
        trust_dir: &Path,
        identity: &LeafIdentity,
        options: &SignOptions,
    ) -> Result<Self, SignError> {
        let trust = TrustDir::open(trust_dir)?;
        let ct_key = SigningKey::load(&trust.key_path("ctlog"))?;
        Self::open_with_ct_log(trust_dir, identity, options, &LocalCtLog { key: &ct_key })
    }

    /// [`Signer::open`] with another CT log (a remote one, or a misbehaving one in the
    /// interoperability tests).
    pub fn open_with_ct_log(
        trust_dir: &Path,
        identity: &LeafIdentity,
        options: &SignOptions,
        ct_log: &dyn CtLog,
    ) -> Result<Self, SignError> {
        let trust = TrustDir::open(trust_dir)?;
        let now = options.now.unwrap_or_else(SystemTime::now);
        let no_ca = || SignError::NoCurrentCa {
            dir: trust_dir.display().to_string(),
            at: cordon_format::rfc3339_system_time(now),
        };
        let ca = match options.release_ca {
            Some(number) => trust
                .release_cas
                .iter()
                .find(|ca| ca.number == number)
                .ok_or_else(|| {
                    SignError::Input(format!(
                        "{} has no release CA number {number}",
                        trust_dir.display()
                    ))
                })?,
            None => trust.current_release_ca(now).ok_or_else(no_ca)?,
        };
        if !(options.allow_release_ca_outside_window
            || (ca.not_before <= now && now < ca.not_after))
        {
            return Err(no_ca());
        }
        let authority = LocalCa {
            key: SigningKey::load(&trust.key_path(&format!("release-ca-{}", ca.number)))?,
            ct_log,
            ca: ca.clone(),
        };
        let (key, _pkcs8) = SigningKey::generate()?;
        let certificate = authority.issue(key.spki_der(), identity, now, options.leaf_lifetime)?;
        let log = FileLog::open(
            &trust.log_dir(),
            SigningKey::load(&trust.key_path("tlog"))?,
            &trust.manifest.log_name,
            &trust.log_origin(),
        )?;
        Ok(Self {
            now,
            key,
            certificate,
            log,
        })
    }

    /// The run's leaf certificate, DER.
    pub fn certificate(&self) -> &[u8] {
        &self.certificate
    }

    /// Signs a file; returns the bundle JSON.
    pub fn sign_blob(&self, path: &Path) -> Result<String, SignError> {
        let bytes = fsutil::read(path)?;
        self.sign_blob_bytes(&bytes)
    }

    /// Signs several files with one log append; returns their bundles in order.
    pub fn sign_blobs(&self, paths: &[&Path]) -> Result<Vec<String>, SignError> {
        let mut digests = Vec::with_capacity(paths.len());
        for path in paths {
            digests.push(Sha256::digest(fsutil::read(path)?).into());
        }
        self.sign_digests(&digests)
    }

    /// Signs bytes; returns the bundle JSON.
    pub fn sign_blob_bytes(&self, bytes: &[u8]) -> Result<String, SignError> {
        let mut bundles = self.sign_digests(&[Sha256::digest(bytes).into()])?;
        bundles
            .pop()
            .ok_or_else(|| SignError::Input("nothing signed".into()))
    }

    fn sign_digests(&self, digests: &[[u8; 32]]) -> Result<Vec<String>, SignError> {
        let certificate_pem = fsutil::pem_encode("CERTIFICATE", &self.certificate);
        let mut signatures = Vec::with_capacity(digests.len());
        let mut proposed = Vec::with_capacity(digests.len());
        for digest in digests {
            // ECDSA over the SHA-256 of the artifact: sign the digest as a prehash.
            let signature = self.key.sign_digest(digest)?;
            proposed.push(ProposedEntry::HashedRekord {
                digest: *digest,
                signature: signature.clone(),
                certificate_pem: certificate_pem.clone(),
            });
            signatures.push(signature);
        }
        let logged = self.log.append(&proposed, self.now)?;
        digests
            .iter()
            .zip(signatures)
            .zip(&logged)
            .map(|((digest, signature), entry)| {
                self.bundle(
                    entry,
                    "messageSignature",
                    json!({
                        "messageDigest": {"algorithm": "SHA2_256", "digest": STANDARD.encode(digest)},
                        "signature": STANDARD.encode(signature),
                    }),
                )
            })
            .collect()
    }

    /// Signs an in-toto statement (JSON) in a DSSE envelope; returns the bundle JSON.
    pub fn sign_in_toto(&self, statement_json: &[u8]) -> Result<String, SignError> {
        let statement: serde_json::Value =
            serde_json::from_slice(statement_json).map_err(|error| {
                SignError::Input(format!("the in-toto statement is not JSON: {error}"))
            })?;
        let statement_type = statement["_type"].as_str().unwrap_or_default();
        if !statement_type.starts_with("https://in-toto.io/Statement/") {
            return Err(SignError::Input(format!(
                "the in-toto statement's _type is {statement_type:?}, not https://in-toto.io/Statement/v1"
            )));
        }
        if statement["subject"].as_array().is_none_or(Vec::is_empty) {
            return Err(SignError::Input(
                "the in-toto statement has no subject".into(),
            ));
        }
        let signature = self
            .key
            .sign(&cordon_format::pae(IN_TOTO_PAYLOAD_TYPE, statement_json))?;
        let envelope = json!({
            "payload": STANDARD.encode(statement_json),
            "payloadType": IN_TOTO_PAYLOAD_TYPE,
            "signatures": [{"keyid": "", "sig": STANDARD.encode(&signature)}],
        });
        let proposed = ProposedEntry::Dsse {
            payload: statement_json.to_vec(),
            envelope_json: envelope.to_string().into_bytes(),
            signature,
            certificate_pem: fsutil::pem_encode("CERTIFICATE", &self.certificate),
        };
        let logged = self.log.append(&[proposed], self.now)?;
        let entry = logged
            .first()
            .ok_or_else(|| SignError::Input("nothing logged".into()))?;
        self.bundle(entry, "dsseEnvelope", envelope)
    }

    fn bundle(
        &self,
        entry: &LoggedEntry,
        content_key: &str,
        content: serde_json::Value,
    ) -> Result<String, SignError> {
        let mut bundle = json!({
            "mediaType": BUNDLE_MEDIA_TYPE,
            "verificationMaterial": {
                "certificate": {"rawBytes": STANDARD.encode(&self.certificate)},
                "tlogEntries": [entry.to_bundle_json()],
                "timestampVerificationData": {},
            },
        });
        bundle[content_key] = content;
        let text = format!("{bundle:#}\n");
        sigstore_types::Bundle::from_json(&text)
            .map_err(|error| SignError::Bundle(error.to_string()))?;
        Ok(text)
    }
}

impl LeafIdentity {
    /// The identity of a GitHub Actions run when `GITHUB_ACTIONS=true` (the workflow
    /// URI, GitHub's OIDC issuer, repository, commit and ref), else `subject`/`issuer`.
    pub fn from_env_or(subject: &str, issuer: &str) -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
        if var("GITHUB_ACTIONS").as_deref() == Some("true")
            && let (Some(server), Some(workflow_ref), Some(repository)) = (
                var("GITHUB_SERVER_URL"),
                var("GITHUB_WORKFLOW_REF"),
                var("GITHUB_REPOSITORY"),
            )
        {
            return Self {
                subject: format!("{server}/{workflow_ref}"),
                issuer: "https://token.actions.githubusercontent.com".to_owned(),
                source_repository: Some(format!("{server}/{repository}")),
                source_digest: var("GITHUB_SHA"),
                source_ref: var("GITHUB_REF"),
            };
        }
        Self {
            subject: subject.to_owned(),
            issuer: issuer.to_owned(),
            source_repository: None,
            source_digest: None,
            source_ref: None,
        }
    }
}
