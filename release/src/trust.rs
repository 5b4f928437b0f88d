//! Trust material: the offline root CA, the rotating release CAs it issues, the CT-log
//! and transparency-log keys, and the files Sigstore clients load — `trusted_root.json`,
//! its root-signed DSSE envelope `trusted_root.dsse.json`, `signing_config.json` and the
//! ClientTrustConfig `client_trust_config.json` (what sigstore-python's `--trust-config`
//! reads).
//!
//! Layout of a trust directory (keys 0600 in a 0700 `keys/`, the rest public):
//! `trust.json` (names and label), `keys/{root,ctlog,tlog,release-ca-N}.key.pem`,
//! `certs/{root,release-ca-N}.crt.pem`, the four client files above, and `log/` (the
//! embedded transparency log in the C2SP tlog-tiles layout). See docs/trust.md.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use cordon_format::names::{SIGNED_TRUSTED_ROOT_FILE, TRUSTED_ROOT_FILE};
use cordon_format::{RootStatement, SignedTrustedRoot, rfc3339_system_time};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::fsutil::{self, FsError};
use crate::keys::{KeyError, SigningKey};
use crate::x509::{self, CertError, CertTemplate, Issuer};

pub(crate) use cordon_format::names::TRUSTED_ROOT_MEDIA_TYPE;
/// How long before its last release CA expires the development root issues the next
/// (`open_or_init_dev`).
pub const DEV_ROTATE_BEFORE: Duration = Duration::from_secs(14 * DAY);

/// Default validity of a release CA.
pub const DEFAULT_RELEASE_CA_DAYS: u64 = 90;
const ROOT_YEARS: u64 = 10;
const DAY: u64 = 86_400;

/// Why trust material could not be created, read or updated.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrustError {
    /// A filesystem operation failed.
    #[error(transparent)]
    Fs(#[from] FsError),
    /// A key failed.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A certificate failed.
    #[error(transparent)]
    Cert(#[from] CertError),
    /// The directory is not a usable trust directory.
    #[error("{}: {reason}", path.display())]
    Invalid {
        /// The offending file or directory.
        path: PathBuf,
        /// What is wrong and how to fix it.
        reason: String,
    },
}

/// Options for [`init`].
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// Human label written into every name ("cordon", or a development label).
    pub label: String,
    /// The host-like name of the transparency log; also its checkpoint signer name and
    /// (as `https://NAME`) its `baseUrl` in trusted_root.json.
    pub log_name: String,
    /// Validity of each release CA.
    pub release_ca_validity: Duration,
    /// The clock (`SystemTime::now()` outside tests).
    pub now: SystemTime,
}

impl InitOptions {
    /// Defaults for a production trust root named `label`.
    pub fn new(label: &str) -> Self {
        Self {
            label: label.to_owned(),
            log_name: "tlog.cordon.invalid".to_owned(),
            release_ca_validity: Duration::from_secs(DEFAULT_RELEASE_CA_DAYS * DAY),
            now: SystemTime::now(),
        }
    }
}

/// `trust.json`: the names a trust directory was created with.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// Format version (1).
    pub version: u32,
    /// Label of this trust root.
    pub label: String,
    /// Transparency log name (checkpoint signer, `baseUrl` host).
    pub log_name: String,
    /// Release CA validity in seconds, the default for `rotate`.
    pub release_ca_validity_secs: u64,
    /// Creation time, seconds since the epoch.
    pub created: u64,
}

/// A release CA on disk.
#[derive(Debug, Clone)]
pub struct ReleaseCa {
    /// Its number (1, 2, ...).
    pub number: u32,
    /// Its certificate, DER.
    pub certificate: Vec<u8>,
    /// Validity start.
    pub not_before: SystemTime,
    /// Validity end.
    pub not_after: SystemTime,
}

/// An opened trust directory (public material only; keys are loaded on demand).
#[derive(Debug, Clone)]
pub struct TrustDir {
    /// Its path.
    pub dir: PathBuf,
    /// `trust.json`.
    pub manifest: Manifest,
    /// The root certificate, DER.
    pub root_certificate: Vec<u8>,
    /// Release CAs, oldest first.
    pub release_cas: Vec<ReleaseCa>,
}

fn secs(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

fn write_cert(path: &Path, der: &[u8]) -> Result<(), TrustError> {
    fsutil::write_atomic(
        path,
        fsutil::pem_encode("CERTIFICATE", der).as_bytes(),
        0o644,
    )?;
    Ok(())
}

fn read_cert(path: &Path) -> Result<Vec<u8>, TrustError> {
    let text = String::from_utf8(fsutil::read(path)?).unwrap_or_default();
    fsutil::pem_decode("CERTIFICATE", &text).ok_or_else(|| TrustError::Invalid {
        path: path.to_owned(),
        reason: "no PEM CERTIFICATE block; restore it from backup".to_owned(),
    })
}

/// Creates a new trust directory at `dir` (which must not exist or be empty).
pub fn init(dir: &Path, options: &InitOptions) -> Result<TrustDir, TrustError> {
    if dir.join("trust.json").exists() {
        return Err(TrustError::Invalid {
            path: dir.to_owned(),
            reason: "already holds a trust directory; rotate its release CA instead, or choose another directory"
                .to_owned(),
        });
    }
    fsutil::create_dir(dir, 0o755)?;
    fsutil::create_dir(&dir.join("keys"), 0o700)?;
    fsutil::create_dir(&dir.join("certs"), 0o755)?;
    let root_key = SigningKey::create(&dir.join("keys/root.key.pem"))?;
    SigningKey::create(&dir.join("keys/ctlog.key.pem"))?;
    SigningKey::create(&dir.join("keys/tlog.key.pem"))?;
    let root_name = x509::name(&format!("CN={} root CA,O={}", options.label, options.label))?;
    let template = CertTemplate {
        subject: root_name.clone(),
        spki_der: root_key.spki_der(),
        not_before: options.now,
        not_after: options.now + Duration::from_secs(ROOT_YEARS * 365 * DAY),
        extensions: x509::ca_extensions(1, false)?,
    };
    let issuer = Issuer {
        name: root_name,
        key: &root_key,
    };
    let root_der = x509::sign(x509::tbs(&template, &issuer)?, &root_key)?;
    write_cert(&dir.join("certs/root.crt.pem"), &root_der)?;
    let manifest = Manifest {
        version: 1,
        label: options.label.clone(),
        log_name: options.log_name.clone(),
        release_ca_validity_secs: options.release_ca_validity.as_secs(),
        created: secs(options.now),
    };
    let manifest_json = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
    let mut trust = TrustDir {
        dir: dir.to_owned(),
        manifest,
        root_certificate: root_der,
        release_cas: Vec::new(),
    };
    trust.issue_release_ca(options.now, options.release_ca_validity)?;
    // trust.json last: its presence marks a complete directory.
    fsutil::write_atomic(&dir.join("trust.json"), &manifest_json, 0o644)?;
    Ok(trust)
}

/// The label of a development trust root, written into every certificate name.
pub const DEV_LABEL: &str = "cordon DEVELOPMENT trust root NOT FOR RELEASE";

/// Opens the development trust root at `dir` (e.g. `.cordon-dev-trust`),
/// creating it on first use; returns it and whether it was just created. It is labelled
/// [`DEV_LABEL`] in every certificate and names its log `dev-tlog.cordon.invalid`.
pub fn open_or_init_dev(dir: &Path) -> Result<(TrustDir, bool), TrustError> {
    if dir.join("trust.json").exists() {
        let trust = TrustDir::open(dir)?;
        if trust.manifest.label != DEV_LABEL {
            return Err(TrustError::Invalid {
                path: dir.to_owned(),
                reason: "holds a trust directory that is not a development one; pass it explicitly"
                    .to_owned(),
            });
        }
        let mut trust = trust;
        if !trust.rotate_if_expiring(SystemTime::now(), DEV_ROTATE_BEFORE)?
            && trust.signed_root_version()?.is_none()
        {
            // Made before trusted roots carried a signed version: sign one now.
            trust.resign_trusted_root()?;
        }
        return Ok((trust, false));
    }
    let mut options = InitOptions::new(DEV_LABEL);
    options.log_name = "dev-tlog.cordon.invalid".to_owned();
    Ok((init(dir, &options)?, true))
}

impl TrustDir {
    /// Opens an existing trust directory.
    pub fn open(dir: &Path) -> Result<Self, TrustError> {
        let manifest_path = dir.join("trust.json");
        let manifest: Manifest = serde_json::from_slice(&fsutil::read(&manifest_path)?).map_err(|error| {
            TrustError::Invalid {
                path: manifest_path.clone(),
                reason: format!("not a cordon trust manifest ({error}); create a trust directory with `trust::init`"),
            }
        })?;
        let root_certificate = read_cert(&dir.join("certs/root.crt.pem"))?;
        let mut release_cas = Vec::new();
        for number in 1.. {
            let path = dir.join(format!("certs/release-ca-{number}.crt.pem"));
            if !path.exists() {
                break;
            }
            let certificate = read_cert(&path)?;
            let (not_before, not_after) = x509::certificate_window(&certificate)?;
            release_cas.push(ReleaseCa {
                number,
                certificate,
                not_before,
                not_after,
            });
        }
        if release_cas.is_empty() {
            return Err(TrustError::Invalid {
                path: dir.join("certs"),
                reason: "holds no release CA; issue one with `TrustDir::issue_release_ca`"
                    .to_owned(),
            });
        }
        Ok(Self {
            dir: dir.to_owned(),
            manifest,
            root_certificate,
            release_cas,
        })
    }

    /// Path of a key file.
    pub fn key_path(&self, name: &str) -> PathBuf {
        self.dir.join("keys").join(format!("{name}.key.pem"))
    }

    /// The embedded transparency log's directory.
    pub fn log_dir(&self) -> PathBuf {
        self.dir.join("log")
    }

    /// The checkpoint origin line of the embedded log.
    pub fn log_origin(&self) -> String {
        format!("{} - {}", self.manifest.log_name, self.manifest.created)
    }

    /// Issues release CA number N+1, valid from `now` for `validity`, and rewrites the
    /// client files. Earlier CAs stay in trusted_root.json with their own windows.
    pub fn issue_release_ca(
        &mut self,
        now: SystemTime,
        validity: Duration,
    ) -> Result<&ReleaseCa, TrustError> {
        let root_key = SigningKey::load(&self.key_path("root"))?;
        let number = self.release_cas.last().map_or(1, |ca| ca.number + 1);
        let key = SigningKey::create(&self.key_path(&format!("release-ca-{number}")))?;
        let label = &self.manifest.label;
        let template = CertTemplate {
            subject: x509::name(&format!("CN={label} release CA {number},O={label}"))?,
            spki_der: key.spki_der(),
            not_before: now,
            not_after: now + validity,
            extensions: x509::ca_extensions(0, true)?,
        };
        let issuer = Issuer {
            name: x509::decode(&self.root_certificate)?
                .tbs_certificate
                .subject,
            key: &root_key,
        };
        let certificate = x509::sign(x509::tbs(&template, &issuer)?, &root_key)?;
        write_cert(
            &self.dir.join(format!("certs/release-ca-{number}.crt.pem")),
            &certificate,
        )?;
        self.release_cas.push(ReleaseCa {
            number,
            certificate,
            not_before: now,
            not_after: now + validity,
        });
        self.write_client_files(&root_key)?;
        self.release_cas.last().ok_or_else(|| TrustError::Invalid {
            path: self.dir.clone(),
            reason: "no release CA".into(),
        })
    }

    /// Issues the next release CA (for the manifest's default validity) when no release
    /// CA is valid from `now` until `now + margin`: a verifier refuses a trusted root whose
    /// newest release CA has expired, so it must be replaced before. Returns whether it
    /// rotated.
    pub fn rotate_if_expiring(
        &mut self,
        now: SystemTime,
        margin: Duration,
    ) -> Result<bool, TrustError> {
        let covered = self
            .release_cas
            .iter()
            .any(|ca| ca.not_before <= now && now + margin < ca.not_after);
        if covered {
            return Ok(false);
        }
        let validity = Duration::from_secs(self.manifest.release_ca_validity_secs);
        self.issue_release_ca(now, validity)?;
        Ok(true)
    }

    /// Re-signs the client files with the next trusted-root version (same release CAs):
    /// what a publisher runs to turn a legacy envelope into a versioned one, or to
    /// supersede a signed trusted root without issuing a release CA.
    pub fn resign_trusted_root(&mut self) -> Result<u64, TrustError> {
        let root_key = SigningKey::load(&self.key_path("root"))?;
        self.write_client_files(&root_key)
    }

    /// The signed version of the directory's `trusted_root.dsse.json`; `None` for a
    /// legacy envelope (made before versions were signed) or none at all.
    pub fn signed_root_version(&self) -> Result<Option<u64>, TrustError> {
        let path = self.dir.join(SIGNED_TRUSTED_ROOT_FILE);
        if !path.exists() {
            return Ok(None);
        }
        let envelope =
            SignedTrustedRoot::parse(&fsutil::read(&path)?).map_err(|error| TrustError::Invalid {
                path: path.clone(),
                reason: format!(
                    "{error}; the next signed version is one more than this file's, so restore it from the last release you published (its trusted_root.dsse.json), then run `cargo xtask trust resign --trust {}`",
                    self.dir.display()
                ),
            })?;
        Ok(envelope.statement.map(|statement| statement.version))
    }

    /// The newest release CA whose window contains `at`.
    pub fn current_release_ca(&self, at: SystemTime) -> Option<&ReleaseCa> {
        self.release_cas
            .iter()
            .rev()
            .find(|ca| ca.not_before <= at && at < ca.not_after)
    }

    fn public_key(&self, name: &str) -> Result<Vec<u8>, TrustError> {
        Ok(SigningKey::load(&self.key_path(name))?.spki_der().to_vec())
    }

    /// The Sigstore TrustedRoot JSON for this directory.
    pub fn trusted_root_json(&self) -> Result<serde_json::Value, TrustError> {
        let created = rfc3339_system_time(
            SystemTime::UNIX_EPOCH + Duration::from_secs(self.manifest.created),
        );
        let log_key = |spki: &[u8], url: &str| {
            let id: [u8; 32] =
                sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(spki))
                    .into();
            json!({
                "baseUrl": url,
                "hashAlgorithm": "SHA2_256",
                "publicKey": {
                    "rawBytes": STANDARD.encode(spki),
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                    "validFor": {"start": created},
                },
                "logId": {"keyId": STANDARD.encode(id)},
            })
        };
        let label = &self.manifest.label;
        let authorities: Vec<_> = self
            .release_cas
            .iter()
            .map(|ca| {
                json!({
                    "subject": {"organization": label, "commonName": format!("{label} release CA {}", ca.number)},
                    "uri": format!("https://ca.{}", self.manifest.log_name),
                    "certChain": {"certificates": [
                        {"rawBytes": STANDARD.encode(&ca.certificate)},
                        {"rawBytes": STANDARD.encode(&self.root_certificate)},
                    ]},
                    "validFor": {"start": rfc3339_system_time(ca.not_before), "end": rfc3339_system_time(ca.not_after)},
                })
            })
            .collect();
        Ok(json!({
            "mediaType": TRUSTED_ROOT_MEDIA_TYPE,
            "tlogs": [log_key(&self.public_key("tlog")?, &format!("https://{}", self.manifest.log_name))],
            "certificateAuthorities": authorities,
            "ctlogs": [log_key(&self.public_key("ctlog")?, &format!("https://ct.{}", self.manifest.log_name))],
            "timestampAuthorities": [],
        }))
    }

    /// The Sigstore SigningConfig (v0.2) naming this directory's services.
    pub fn signing_config_json(&self) -> serde_json::Value {
        let start = rfc3339_system_time(
            SystemTime::UNIX_EPOCH + Duration::from_secs(self.manifest.created),
        );
        let service = |url: String| json!({"url": url, "majorApiVersion": 1, "validFor": {"start": start}, "operator": self.manifest.label});
        json!({
            "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
            "caUrls": [service(format!("https://ca.{}", self.manifest.log_name))],
            "oidcUrls": [],
            "rekorTlogUrls": [service(format!("https://{}", self.manifest.log_name))],
            "rekorTlogConfig": {"selector": "ANY"},
            "tsaUrls": [],
            "tsaConfig": {"selector": "ANY"},
        })
    }

    /// Rewrites trusted_root.json, its root-signed envelope (the next version: one more
    /// than the envelope it replaces, and at least the number of release CAs, which is
    /// what verifiers derive for legacy envelopes; it expires with the newest release
    /// CA), the signing config and the ClientTrustConfig. Returns the version.
    fn write_client_files(&self, root_key: &SigningKey) -> Result<u64, TrustError> {
        let trusted_root = self.trusted_root_json()?;
        let trusted_root_bytes = format!("{trusted_root:#}\n").into_bytes();
        let version = self
            .signed_root_version()?
            .map_or(0, |previous| previous + 1)
            .max(self.release_cas.len() as u64);
        let expires = self
            .release_cas
            .iter()
            .map(|ca| secs(ca.not_after) as i64)
            .max()
            .unwrap_or_default();
        let statement = RootStatement {
            version,
            expires,
            trusted_root: trusted_root_bytes.clone(),
        };
        let envelope = sign_trusted_root(
            statement,
            root_key,
            &x509::fingerprint(&self.root_certificate),
        )?;
        let signing_config = self.signing_config_json();
        let client = json!({
            "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
            "trustedRoot": trusted_root,
            "signingConfig": signing_config,
        });
        fsutil::write_atomic(
            &self.dir.join(TRUSTED_ROOT_FILE),
            &trusted_root_bytes,
            0o644,
        )?;
        fsutil::write_atomic(
            &self.dir.join(SIGNED_TRUSTED_ROOT_FILE),
            &envelope.to_json(),
            0o644,
        )?;
        fsutil::write_atomic(
            &self.dir.join("signing_config.json"),
            format!("{signing_config:#}\n").as_bytes(),
            0o644,
        )?;
        fsutil::write_atomic(
            &self.dir.join("client_trust_config.json"),
            format!("{client:#}\n").as_bytes(),
            0o644,
        )?;
        Ok(version)
    }

    /// The pinned root: SHA-256 of the root certificate's DER, hex.
    pub fn root_fingerprint(&self) -> String {
        x509::fingerprint(&self.root_certificate)
    }
}

/// The DSSE envelope over the versioned statement (around the exact bytes of
/// trusted_root.json), signed by the root key.
fn sign_trusted_root(
    statement: RootStatement,
    root_key: &SigningKey,
    root_fingerprint: &str,
) -> Result<SignedTrustedRoot, TrustError> {
    let mut envelope = SignedTrustedRoot::versioned(statement, root_fingerprint, Vec::new());
    let signature = root_key.sign(&envelope.signed_bytes())?;
    envelope.signatures[0].sig = signature;
    Ok(envelope)
}

/// Checks a root-signed trusted-root envelope against a pinned root fingerprint and
/// returns the trusted_root.json bytes it carries (see docs/trust.md, "Updating
/// trusted_root.json from an untrusted mirror").
pub fn open_signed_trusted_root(
    envelope_json: &[u8],
    pinned_root_sha256: &str,
) -> Result<Vec<u8>, String> {
    let envelope = SignedTrustedRoot::parse(envelope_json).map_err(|error| error.to_string())?;
    let pinned = pinned_root_sha256.to_ascii_lowercase();
    let anchor = envelope
        .chain_roots()
        .map_err(|error| error.to_string())?
        .into_iter()
        .find(|der| x509::fingerprint(der) == pinned)
        .ok_or("no certificate chain ends in the pinned root")?;
    let spki = x509::certificate_spki(&anchor).map_err(|error| error.to_string())?;
    let message = envelope.signed_bytes();
    let signed = envelope
        .signatures
        .iter()
        .any(|signature| crate::keys::verify(&spki, &message, &signature.sig));
    if !signed {
        return Err("no signature by the pinned root key".to_owned());
    }
    Ok(envelope.trusted_root_bytes().to_vec())
}
