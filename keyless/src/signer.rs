//! One keyless signing run: an identity token and an ephemeral P-256 key become a Fulcio
//! certificate once; every file is then signed with that key, logged in the chosen
//! Rekor log(s), timestamped by the chosen TSA(s), and assembled into a bundle v0.3 that
//! is verified with `cordon-verify` against the trusted root before it is returned. A
//! bundle that would not verify for a consumer is never handed out.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use cordon_format::names::{BUNDLE_MEDIA_TYPE, IN_TOTO_PAYLOAD_TYPE};
use cordon_release::SigningKey;
use cordon_verify::{ArtifactInput, ExpectedSigner, TrustedRoot};

use crate::config::Services;
use crate::error::KeylessError;
use crate::http::{Http, HttpOptions};
use crate::oidc::IdentityToken;
use crate::rekor::{self, Entry};
use crate::{fulcio, tsa};

/// Where a keyless run gets its services, trust and identity.
#[derive(Debug, Clone)]
pub struct KeylessOptions {
    /// A Sigstore `signing_config.json` v0.2.
    pub signing_config: PathBuf,
    /// The `trusted_root.json` consumers verify with; every bundle is checked against it.
    pub trusted_root: PathBuf,
    /// A file holding the OIDC identity token; `None` is the ambient CI token.
    pub identity_token: Option<PathBuf>,
    /// Timeouts and retries.
    pub http: HttpOptions,
}

impl KeylessOptions {
    /// Options with the default timeouts and retries.
    pub fn new(signing_config: &Path, trusted_root: &Path, identity_token: Option<&Path>) -> Self {
        Self {
            signing_config: signing_config.to_owned(),
            trusted_root: trusted_root.to_owned(),
            identity_token: identity_token.map(Path::to_owned),
            http: HttpOptions::default(),
        }
    }
}

impl KeylessOptions {
    /// Checks, without asking any service, that a run with these options can start: the
    /// signing config names usable services, the trusted root parses, and an identity
    /// token is at hand (the file, or GitHub Actions' token variables or
    /// `SIGSTORE_ID_TOKEN`). A long build checks this first and opens the signer (token,
    /// 10-minute certificate) only when it is done.
    pub fn preflight(&self) -> Result<(), KeylessError> {
        let now = SystemTime::now();
        Services::from_file(&self.signing_config, unix_seconds(now))?;
        load_root(&self.trusted_root)?;
        match &self.identity_token {
            Some(path) => IdentityToken::from_file(path, now).map(drop),
            None => {
                let set =
                    |name: &str| std::env::var_os(name).is_some_and(|value| !value.is_empty());
                if (set("ACTIONS_ID_TOKEN_REQUEST_URL") && set("ACTIONS_ID_TOKEN_REQUEST_TOKEN"))
                    || set("SIGSTORE_ID_TOKEN")
                {
                    Ok(())
                } else {
                    Err(KeylessError::NoIdentityToken)
                }
            }
        }
    }
}

fn unix_seconds(at: SystemTime) -> i64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
        .try_into()
        .unwrap_or(i64::MAX)
}

fn load_root(path: &Path) -> Result<TrustedRoot, KeylessError> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| KeylessError::Read {
        path: origin.clone(),
        reason: error.to_string(),
    })?;
    cordon_verify::parse_trusted_root(&text, &origin).map_err(|failure| KeylessError::Read {
        path: origin.clone(),
        reason: failure.to_string(),
    })
}

/// A keyless signing run.
#[derive(Debug)]
pub struct KeylessSigner {
    http: Http,
    services: Services,
    key: SigningKey,
    certificate: Vec<u8>,
    root: TrustedRoot,
    root_path: String,
    issuer: String,
}

impl KeylessSigner {
    /// Reads the configuration and trusted root, gets the identity token, and asks
    /// Fulcio for this run's certificate.
    pub fn open(options: &KeylessOptions) -> Result<Self, KeylessError> {
        let now = SystemTime::now();
        let token = match &options.identity_token {
            Some(path) => IdentityToken::from_file(path, now)?,
            None => IdentityToken::ambient(&Http::new(options.http.clone()), now)?,
        };
        Self::with_token(options, &token)
    }

    /// [`KeylessSigner::open`] with a token obtained elsewhere (`identity_token` is not
    /// read).
    pub fn with_token(
        options: &KeylessOptions,
        token: &IdentityToken,
    ) -> Result<Self, KeylessError> {
        let services =
            Services::from_file(&options.signing_config, unix_seconds(SystemTime::now()))?;
        let root_path = options.trusted_root.display().to_string();
        let root = load_root(&options.trusted_root)?;
        let http = Http::new(options.http.clone());
        let (key, _pkcs8) = SigningKey::generate()?;
        let certificate = fulcio::signing_certificate(&http, &services.ca.url, token, &key)?;
        Ok(Self {
            http,
            services,
            key,
            certificate,
            root,
            root_path,
            issuer: token.issuer.clone(),
        })
    }

    /// The services this run uses.
    pub fn services(&self) -> &Services {
        &self.services
    }

    /// The run's leaf certificate, DER.
    pub fn certificate(&self) -> &[u8] {
        &self.certificate
    }

    /// Signs bytes (`messageSignature`); returns the bundle JSON.
    pub fn sign_blob_bytes(&self, bytes: &[u8]) -> Result<String, KeylessError> {
        let digest: [u8; 32] = Sha256::digest(bytes).into();
        let signature = self.key.sign_digest(&digest)?;
        let material = self.evidence(
            Entry::HashedRekord {
                digest: &digest,
                signature: &signature,
            },
            &signature,
        )?;
        let content = json!({
            "messageDigest": {"algorithm": "SHA2_256", "digest": STANDARD.encode(digest)},
            "signature": STANDARD.encode(&signature),
        });
        self.finish(material, "messageSignature", content, digest)
    }

    /// Signs an in-toto statement in a DSSE envelope; returns the bundle JSON.
    pub fn sign_in_toto(&self, statement_json: &[u8]) -> Result<String, KeylessError> {
        let statement: Value = serde_json::from_slice(statement_json).map_err(|error| {
            KeylessError::Local(format!("the in-toto statement is not JSON: {error}"))
        })?;
        let subject_digest = statement
            .pointer("/subject/0/digest/sha256")
            .and_then(Value::as_str)
            .and_then(|text| hex::decode(text).ok())
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .ok_or_else(|| {
                KeylessError::Local(
                    "the in-toto statement's first subject has no sha256 digest".into(),
                )
            })?;
        let pae = cordon_format::pae(IN_TOTO_PAYLOAD_TYPE, statement_json);
        let pae_digest: [u8; 32] = Sha256::digest(&pae).into();
        let signature = self.key.sign(&pae)?;
        let envelope = json!({
            "payload": STANDARD.encode(statement_json),
            "payloadType": IN_TOTO_PAYLOAD_TYPE,
            "signatures": [{"sig": STANDARD.encode(&signature), "keyid": ""}],
        });
        let envelope_json = envelope.to_string();
        let material = self.evidence(
            Entry::Dsse {
                envelope_json: &envelope_json,
                pae_digest: &pae_digest,
                signature: &signature,
            },
            &signature,
        )?;
        self.finish(material, "dsseEnvelope", envelope, subject_digest)
    }

    /// Logs the entry in every chosen log and timestamps the signature at every chosen
    /// TSA: the bundle's `verificationMaterial`.
    fn evidence(&self, entry: Entry<'_>, signature: &[u8]) -> Result<Value, KeylessError> {
        let mut tlog_entries = Vec::new();
        for log in &self.services.tlogs {
            tlog_entries.push(rekor::log_entry(
                &self.http,
                &log.url,
                log.major_api_version,
                entry,
                &self.certificate,
            )?);
        }
        let mut timestamps = Vec::new();
        for authority in &self.services.tsas {
            let response = tsa::timestamp(&self.http, &authority.url, signature)?;
            timestamps.push(json!({"signedTimestamp": STANDARD.encode(response)}));
        }
        let mut timestamp_data = json!({});
        if !timestamps.is_empty() {
            timestamp_data["rfc3161Timestamps"] = Value::Array(timestamps);
        }
        Ok(json!({
            "certificate": {"rawBytes": STANDARD.encode(&self.certificate)},
            "tlogEntries": tlog_entries,
            "timestampVerificationData": timestamp_data,
        }))
    }

    fn finish(
        &self,
        material: Value,
        content_key: &str,
        content: Value,
        artifact_digest: [u8; 32],
    ) -> Result<String, KeylessError> {
        let mut bundle = json!({"mediaType": BUNDLE_MEDIA_TYPE});
        bundle["verificationMaterial"] = material;
        bundle[content_key] = content;
        let text = format!("{bundle:#}\n");
        let self_check = |reason: String| KeylessError::SelfCheck {
            root: self.root_path.clone(),
            reason,
        };
        let parsed = cordon_verify::parse_bundle(&text, "the keyless bundle")
            .map_err(|failure| self_check(failure.to_string()))?;
        cordon_verify::verify_signature(
            &self.root,
            &parsed,
            &ArtifactInput::Sha256(artifact_digest),
            &ExpectedSigner::AnyIdentityFrom {
                issuer: self.issuer.clone(),
            },
        )
        .map_err(|failure| self_check(failure.to_string()))?;
        Ok(text)
    }
}

impl cordon_release::BundleSigner for KeylessSigner {
    fn sign_blob_bytes(&self, bytes: &[u8]) -> Result<String, cordon_release::SignError> {
        KeylessSigner::sign_blob_bytes(self, bytes)
            .map_err(|error| cordon_release::SignError::Other(Box::new(error)))
    }

    fn sign_in_toto(&self, statement_json: &[u8]) -> Result<String, cordon_release::SignError> {
        KeylessSigner::sign_in_toto(self, statement_json)
            .map_err(|error| cordon_release::SignError::Other(Box::new(error)))
    }
}
